"""Process hygiene for worker processes: groups, kills, memory caps, parent death.

Each worker makes itself the leader of a new process group, so that everything a task
starts (TLS can start its own processes) can be killed with the worker in one ``killpg``.
A small monitor thread inside the worker enforces the resident-memory cap and notices a
dead supervisor; the supervisor side reaps the group of any worker that disappeared.
Memory and process-group checks use psutil, so the cap works on macOS as on Linux; the
parent-death signal (prctl) and the pidfd watch are Linux's, and elsewhere the monitor
notices a dead supervisor by polling its pid. Where resident memory cannot be read at all,
:func:`memory_readable` says so and the supervisor warns once that the cap is off.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import threading
import time
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from exoextract.execution.attempts import Attempt, attempt_from_error

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
)
PR_SET_PDEATHSIG = 1


# The TLS search backend whose kernels the preload loads (the run's --tls-backend).
TLS_BACKEND_ENV = "EXOEXTRACT_TLS_BACKEND"
LIGHTKURVE_ENV = "EXOEXTRACT_PRELOAD_LIGHTKURVE"  # "1": the workers' preload imports lightkurve


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker needs to police itself; picklable, set once per pool."""

    marker_dir: str
    max_memory: int | None = None
    poll_seconds: float = 0.02
    supervisor_pid: int = 0


def limit_threads_env() -> None:
    """One thread for BLAS, OpenMP and numba in this process and its children.

    Must run before numpy/numba are imported to take full effect; threadpoolctl covers
    libraries that were already loaded.
    """
    for name in THREAD_ENV:
        os.environ[name] = "1"
    os.environ["TLS_PERSISTENT_POOL"] = "0"
    os.environ["JOBLIB_MULTIPROCESSING"] = "0"  # sklearn (via lightkurve) must not fork


def worker_init(config: WorkerConfig) -> None:
    """Pool initializer: own process group, die with the parent, cap memory, 1 thread."""
    limit_threads_env()
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _set_parent_death_signal(signal.SIGTERM)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _kill_own_group)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # threadpoolctl missing or a library refused: env vars still apply
        pass
    # numba reads NUMBA_NUM_THREADS at import (preload sets it first); calling
    # numba.set_num_threads here would start its threading layer and leak a semaphore.
    monitor = threading.Thread(
        target=_monitor,
        args=(config, os.getppid(), _watch(config.supervisor_pid)),
        name="exoextract-monitor",
        daemon=True,
    )
    monitor.start()


def _kill_own_group(signum: int, frame: object) -> None:
    """SIGTERM in a worker: take down everything the task started, then ourselves."""
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(128 + signum)


def _set_parent_death_signal(signum: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass


def _watch(pid: int) -> int | None:
    """A pidfd for the supervisor: readable once it has exited, immune to pid reuse.

    The worker's parent is the forkserver, which only exits when every process holding its
    'alive' pipe is gone — workers included — so the parent alone cannot tell us that the
    supervisor died (SIGKILL, a dead notebook); the supervisor itself must be watched.
    """
    if pid <= 0 or not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def _gone(pidfd: int | None, pid: int) -> bool:
    if pidfd is not None:
        readable, _, _ = select.select([pidfd], [], [], 0)
        return bool(readable)
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _monitor(config: WorkerConfig, parent: int, supervisor: int | None) -> None:
    """Kill this worker's group if the supervisor or parent is gone, or memory passes the cap."""
    pid = os.getpid()
    tick = 0
    while True:
        time.sleep(config.poll_seconds)
        tick += 1
        if os.getppid() != parent or _gone(supervisor, config.supervisor_pid):
            os.killpg(os.getpgrp(), signal.SIGKILL)
        if config.max_memory is None:
            continue
        rss = rss_bytes(pid)
        if tick % 25 == 0:  # the whole group (task children) twice a second
            rss = group_rss_bytes(os.getpgrp())
        if rss > config.max_memory:
            write_memory_marker(config.marker_dir, pid, rss, config.max_memory)
            os.killpg(os.getpgrp(), signal.SIGKILL)


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 if it is gone or cannot be read)."""
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except (psutil.Error, OSError):
        return 0


def memory_readable() -> bool:
    """Whether this platform lets a process read its own resident memory."""
    return rss_bytes(os.getpid()) > 0


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid``."""
    members: list[int] = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid:
                members.append(pid)
        except OSError:
            continue
    return members


def group_rss_bytes(pgid: int) -> int:
    return sum(rss_bytes(pid) for pid in group_members(pgid))


def kill_group(pgid: int) -> bool:
    """SIGKILL a process group; True if anything was there to kill."""
    if pgid <= 1 or pgid == os.getpgrp():
        return False
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def write_memory_marker(marker_dir: str, pid: int, rss: int, cap: int) -> None:
    path = Path(marker_dir) / f"{pid}.memory"
    with contextlib.suppress(OSError):
        path.write_text(f"{rss} {cap}\n")


def pop_memory_marker(marker_dir: str, pid: int | None) -> tuple[int, int] | None:
    """(rss, cap) if the worker ``pid`` killed itself for memory, and forget it."""
    if pid is None:
        return None
    path = Path(marker_dir) / f"{pid}.memory"
    try:
        rss, cap = (int(x) for x in path.read_text().split())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):
        path.unlink()
    return rss, cap


def describe_exit(code: int | None) -> str:
    """'exit code 1' or 'signal SIGSEGV' from a multiprocessing exit code."""
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def attempt_from_future(future: Future[Any], marker_dir: str | None = None) -> Attempt:
    """What one try in a pebble pool came to: its result, cancelled, timed out, died (how,
    and whether our memory cap killed it: its marker in ``marker_dir``), or what it raised
    (:func:`~exoextract.execution.attempts.attempt_from_error`)."""
    from pebble import ProcessExpired

    try:
        return Attempt("result", result=future.result())
    except CancelledError:
        return Attempt("cancelled")
    except FutureTimeout:
        return Attempt("timeout")
    except ProcessExpired as expired:
        memory = pop_memory_marker(marker_dir, expired.pid) if marker_dir else None
        return Attempt(
            "died", exit_code=expired.exitcode, how=describe_exit(expired.exitcode), memory=memory
        )
    except Exception as error:  # pebble's pickling problems and remote tracebacks
        return attempt_from_error(error)
