"""Run many small tasks in a worker pool that no single task can break.

Built on pebble's ``ProcessPool`` (a timed-out task's worker is killed; a dead worker fails
only its own future) with what a long batch needs on top of it:

* every task ends as one :class:`Outcome` (``ok``, ``failed``, ``no_data``, ``timed_out``,
  ``crashed``, ``memory_exceeded``, ``quarantined``) instead of an exception;
* transient failures are retried with exponential backoff and jitter; a task that kills
  its worker ``quarantine_after`` times is quarantined rather than retried again;
* the process group of every vanished worker is killed, so processes a task started die
  with it;
* a watchdog rebuilds a pool that stops making progress (pebble can deadlock when a worker
  dies holding its channel lock) and, after ``pool_rebuilds`` rebuilds, finishes in a
  sequential fallback that still runs one fresh, time-limited process per task;
* :meth:`Supervisor.stop` (wired to Ctrl-C and SIGTERM by the runner) stops scheduling,
  gives running tasks ``stop_grace`` seconds, then kills them; a second call kills at once.

The task function must be a top-level function taking one picklable payload and returning a
mapping with a ``status`` key (see :mod:`exoextract.worker`).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import multiprocessing
import os
import random
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from pebble import ProcessExpired, ProcessPool
from pebble.common import types as pebble_types

from exoextract.isolation import (
    WorkerConfig,
    describe_exit,
    kill_group,
    pop_memory_marker,
    worker_init,
)

TERMINAL = ("ok", "failed", "no_data", "timed_out", "crashed", "memory_exceeded", "quarantined")


@dataclass(frozen=True)
class Policy:
    """How hard the supervisor tries; built from :class:`~exoextract.settings.Settings`."""

    workers: int = 1
    timeout: float = 600.0
    retries: int = 2
    backoff_base: float = 2.0
    backoff_max: float = 60.0
    max_tasks_per_worker: int = 25
    quarantine_after: int = 2
    pool_rebuilds: int = 2
    kill_grace: float = 3.0
    stop_grace: float = 10.0
    max_memory: int | None = None
    preload: tuple[str, ...] = ()
    start_method: str = "forkserver"
    tick: float = 0.2
    stall_margin: float = 10.0


@dataclass
class Outcome:
    """How one task ended; failed tasks are results too."""

    key: str
    status: str
    attempts: int
    seconds: float
    error_type: str | None = None
    message: str | None = None
    exit_code: int | None = None
    data: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class _Job:
    key: str
    payload: Any
    attempts: int = 0
    kills: int = 0
    seconds: float = 0.0
    not_before: float = 0.0
    started: float = 0.0


@dataclass
class SupervisorStats:
    """What happened to the pool itself, for the summary and the manifest."""

    rebuilds: int = 0
    sequential_fallback: bool = False
    retries: int = 0
    reaped_groups: int = 0
    events: list[str] = field(default_factory=list)


class Supervisor:
    """Feed tasks through a pebble pool and yield one :class:`Outcome` per task."""

    def __init__(
        self,
        function: Callable[[Any], Mapping[str, Any]],
        policy: Policy,
        log: Callable[[str], None] | None = None,
        attempt_hook: Callable[[Any, int], Any] | None = None,
    ) -> None:
        self.function = function
        self.policy = policy
        self.stats = SupervisorStats()
        self._log_sink = log
        self._attempt_hook = attempt_hook
        self._stop_signum: int | None = None
        self._stop_deadline = float("inf")
        self._lock = threading.Lock()
        self._known_workers: set[int] = set()
        self._marker_dir = tempfile.mkdtemp(prefix="exoextract-markers-")
        pebble_types.CONSTS.term_timeout = policy.kill_grace

    # ------------------------------------------------------------------ public
    @property
    def stopped_by(self) -> int | None:
        """The signal that stopped the run, or None if it ran to the end."""
        return self._stop_signum

    def stop(self, signum: int) -> None:
        """First call: drain within ``stop_grace``; second call: kill now. Signal-safe."""
        with self._lock:
            now = time.monotonic()
            if self._stop_signum is None:
                self._stop_signum = signum
                self._stop_deadline = now + self.policy.stop_grace
            else:
                self._stop_deadline = now

    def run(self, tasks: Iterable[tuple[str, Any]]) -> Iterator[Outcome]:
        """Yield an outcome per finished task; tasks left when stopped are not yielded."""
        pending: deque[_Job] = deque(_Job(key, payload) for key, payload in tasks)
        delayed: list[tuple[float, int, _Job]] = []
        counter = itertools.count()
        inflight: dict[Future[Any], _Job] = {}
        sequential = self.stats.sequential_fallback
        pool = self._new_pool(sequential)
        last_progress = time.monotonic()
        try:
            while pending or delayed or inflight:
                now = time.monotonic()
                if self._stop_signum is not None and (not inflight or now >= self._stop_deadline):
                    break
                while delayed and delayed[0][0] <= now:
                    pending.appendleft(heapq.heappop(delayed)[2])
                capacity = 1 if sequential else self.policy.workers + 1
                while pending and len(inflight) < capacity and self._stop_signum is None:
                    job = pending.popleft()
                    if not inflight:
                        last_progress = now
                    inflight[self._submit(pool, job)] = job
                if not inflight:
                    wake = delayed[0][0] - now if delayed else self.policy.tick
                    time.sleep(min(max(wake, 0.0), self.policy.tick))
                    continue
                done, _ = wait(
                    list(inflight), timeout=self.policy.tick, return_when="FIRST_COMPLETED"
                )
                for future in done:
                    job = inflight.pop(future)
                    last_progress = time.monotonic()
                    outcome = self._settle(future, job)
                    if outcome is not None:
                        yield outcome
                        continue
                    if job.not_before > time.monotonic():
                        heapq.heappush(delayed, (job.not_before, next(counter), job))
                    else:
                        pending.append(job)
                if sequential and done:
                    self._discard_pool(pool)
                    pool = self._new_pool(sequential)
                self._reap_vanished_workers(pool)
                stalled_for = time.monotonic() - last_progress
                if inflight and stalled_for > self._stall_limit():
                    for job in inflight.values():
                        job.attempts -= 1  # the pool failed, not the task
                    pending.extendleft(reversed(list(inflight.values())))
                    inflight.clear()
                    self._discard_pool(pool)
                    sequential = self._after_stall(stalled_for)
                    pool = self._new_pool(sequential)
                    last_progress = time.monotonic()
        finally:
            self._discard_pool(pool)

    def close(self) -> None:
        shutil.rmtree(self._marker_dir, ignore_errors=True)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pool
    def _new_pool(self, sequential: bool) -> ProcessPool:
        context = multiprocessing.get_context(self.policy.start_method)
        if self.policy.start_method == "forkserver" and self.policy.preload:
            context.set_forkserver_preload(list(self.policy.preload))
        config = WorkerConfig(marker_dir=self._marker_dir, max_memory=self.policy.max_memory)
        return ProcessPool(
            max_workers=1 if sequential else self.policy.workers,
            max_tasks=1 if sequential else self.policy.max_tasks_per_worker,
            initializer=worker_init,
            initargs=(config,),
            context=context,
        )

    def _submit(self, pool: ProcessPool, job: _Job) -> Future[Any]:
        job.attempts += 1
        job.started = time.monotonic()
        payload = job.payload
        if self._attempt_hook is not None:
            payload = self._attempt_hook(payload, job.attempts)
        return pool.schedule(self.function, args=(payload,), timeout=self.policy.timeout)

    def _discard_pool(self, pool: ProcessPool) -> None:
        """Stop a pool without trusting it: kill its workers' groups, then let pebble tidy."""
        for pid in self._worker_pids(pool) | self._known_workers:
            if kill_group(pid):
                self.stats.reaped_groups += 1
        self._known_workers = set()
        pool.stop()
        joiner = threading.Thread(target=pool.join, daemon=True)
        joiner.start()
        joiner.join(timeout=self.policy.kill_grace + 5)

    @staticmethod
    def _worker_pids(pool: ProcessPool) -> set[int]:
        """Pids of this pool's live workers (pebble keys its workers by pid).

        Liveness is probed with signal 0 rather than ``Process.is_alive()``, which would
        race pebble's own thread for the forkserver's exit-status pipe.
        """
        try:
            pids = list(pool._pool_manager.worker_manager.workers)
        except AttributeError:  # another pebble layout: nothing to track
            return set()
        return {pid for pid in pids if _pid_alive(pid)}

    def _reap_vanished_workers(self, pool: ProcessPool) -> None:
        """Kill what is left of the process group of every worker that has gone."""
        alive = self._worker_pids(pool)
        for pid in self._known_workers - alive:
            if kill_group(pid):
                self.stats.reaped_groups += 1
        self._known_workers = alive

    def _stall_limit(self) -> float:
        return self.policy.timeout + self.policy.kill_grace + self.policy.stall_margin

    def _after_stall(self, stalled_for: float) -> bool:
        self.stats.rebuilds += 1
        if self.stats.rebuilds > self.policy.pool_rebuilds:
            self.stats.sequential_fallback = True
            self._log(
                f"pool made no progress for {stalled_for:.0f} s after "
                f"{self.policy.pool_rebuilds} rebuild(s); finishing sequentially, "
                "one time-limited process per target"
            )
            return True
        self._log(
            f"pool made no progress for {stalled_for:.0f} s; rebuilt it "
            f"({self.stats.rebuilds}/{self.policy.pool_rebuilds}), resubmitted unfinished targets"
        )
        return False

    # ------------------------------------------------------------------ outcomes
    def _settle(self, future: Future[Any], job: _Job) -> Outcome | None:
        """Turn a finished future into a final outcome, or schedule a retry (None)."""
        job.seconds += time.monotonic() - job.started
        try:
            result = future.result()
        except CancelledError:
            job.attempts -= 1
            return None
        except FutureTimeout:
            return self._retry_or_end(
                job,
                "timed_out",
                "Timeout",
                f"no result after {self.policy.timeout:g} s; worker killed",
                None,
                True,
            )
        except ProcessExpired as expired:
            return self._worker_died(job, expired)
        except MemoryError as error:
            return self._end(job, "memory_exceeded", "MemoryError", str(error) or "out of memory")
        except Exception as error:  # pebble's pickling problems and remote tracebacks
            return self._end(job, "failed", type(error).__name__, _one_line(str(error)))
        if not isinstance(result, Mapping) or result.get("status") not in TERMINAL:
            return self._end(
                job,
                "failed",
                "BadWorkerResult",
                f"task returned {type(result).__name__}, not an outcome mapping",
            )
        status = result["status"]
        if status == "ok":
            return self._end(job, "ok", None, None, data=result.get("data"))
        return self._retry_or_end(
            job,
            status,
            result.get("error_type"),
            result.get("message"),
            None,
            bool(result.get("transient")),
            data=result.get("data"),
        )

    def _worker_died(self, job: _Job, expired: ProcessExpired) -> Outcome | None:
        job.kills += 1
        code = expired.exitcode
        memory = pop_memory_marker(self._marker_dir, expired.pid)
        if memory is not None:
            rss, cap = memory
            return self._end(
                job,
                "memory_exceeded",
                "MemoryCapExceeded",
                f"worker reached {rss / 2**20:.0f} MiB resident, over the "
                f"{cap / 2**20:.0f} MiB cap; killed",
                code,
            )
        how = describe_exit(code)
        if job.kills >= self.policy.quarantine_after:
            return self._end(
                job,
                "quarantined",
                "WorkerKilled",
                f"killed its worker {job.kills} times (last: {how}); not retried again",
                code,
            )
        return self._retry_or_end(job, "crashed", "WorkerDied", f"worker died ({how})", code, True)

    def _retry_or_end(
        self,
        job: _Job,
        status: str,
        error_type: str | None,
        message: str | None,
        exit_code: int | None,
        transient: bool,
        data: Mapping[str, Any] | None = None,
    ) -> Outcome | None:
        if transient and job.attempts <= self.policy.retries and self._stop_signum is None:
            delay = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (job.attempts - 1))
            delay *= random.uniform(0.5, 1.5)
            job.not_before = time.monotonic() + delay
            self.stats.retries += 1
            self._log(
                f"{job.key}: {status} ({_one_line(message or '')}); retry "
                f"{job.attempts}/{self.policy.retries} in {delay:.1f} s"
            )
            return None
        return self._end(job, status, error_type, message, exit_code, data)

    @staticmethod
    def _end(
        job: _Job,
        status: str,
        error_type: str | None,
        message: str | None,
        exit_code: int | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Outcome:
        return Outcome(
            job.key,
            status,
            job.attempts,
            round(job.seconds, 3),
            error_type,
            message,
            exit_code,
            data,
        )

    def _log(self, message: str) -> None:
        self.stats.events.append(message)
        if self._log_sink is not None:
            self._log_sink(message)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if os.path.isdir(self._marker_dir):
                shutil.rmtree(self._marker_dir, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
