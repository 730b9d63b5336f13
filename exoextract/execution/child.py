"""A task process started with ``subprocess``, for a process that may not use
``multiprocessing`` children: a Dask worker is a daemonic process by default (dask-jobqueue,
dask-gateway, Coiled and the Kubernetes operator all start them so), and daemonic processes
may not start ``multiprocessing`` children, but may start any program.

:class:`Child` keeps one such process and gives it one task at a time, with the local pool's
guarantees: the process leads its own session (so a kill takes everything the task started
with it), polices its own resident memory and its parent's life (:func:`worker_init`), and
is killed at the time limit (SIGTERM to its group, then SIGKILL after ``kill_grace``). A try
comes back as an :class:`~exoextract.execution.attempts.Attempt`; a process that died or
timed out is replaced by a fresh one for the next task, and one is recycled after
``max_tasks`` tasks. Tasks and results cross two pipes as pickles (``multiprocessing.connection``
framing), so the task's own output on stdout and stderr goes where the parent's goes. A new process
imports what a task needs (:mod:`exoextract.execution.preload`) before it says it is ready: the
time limit counts the task, not the imports.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from exoextract.execution.attempts import Attempt
from exoextract.execution.isolation import WorkerConfig, describe_exit, pop_memory_marker

START_TIMEOUT = 300.0  # seconds a new process has to import and load its kernels


class Child:
    """One task process, reused across tasks until it fails or has run ``max_tasks``."""

    def __init__(
        self,
        config: WorkerConfig,
        kill_grace: float,
        max_tasks: int = 0,
        env: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.config = config
        self.kill_grace = kill_grace
        self.max_tasks = max_tasks
        self.env = env  # added to the process's environment when it starts
        self.tasks = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def run(
        self, function: Callable[[Any], Mapping[str, Any]], payload: Any, timeout: float
    ) -> Attempt:
        """One try of ``function(payload)`` in the child process."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        assert self._send is not None and self._receive is not None
        self.tasks += 1
        try:
            self._send.send_bytes(pickle.dumps((function, payload)))
        except (OSError, pickle.PicklingError) as error:
            died = self._died()
            return died or Attempt("error", error_type=type(error).__name__, message=str(error))
        if not self._receive.poll(timeout):
            self.close(kill=True)
            return Attempt("timeout")
        try:
            kind, value = pickle.loads(self._receive.recv_bytes())
        except (EOFError, OSError, pickle.UnpicklingError):
            return self._died() or Attempt("died", how="its process ended without an answer")
        if self.max_tasks and self.tasks >= self.max_tasks:
            self.close()
        if kind == "result":
            return Attempt("result", result=value)
        if kind == "memory_error":
            return Attempt("memory_error", message=value)
        error_type, message = value
        return Attempt("error", error_type=error_type, message=message)

    def close(self, kill: bool = False) -> None:
        """End the child: a kill takes its whole session down (SIGTERM, then SIGKILL)."""
        process, self._process = self._process, None
        for end in (self._send, self._receive):
            if end is not None:
                with contextlib.suppress(OSError):
                    end.close()
        self._send = self._receive = None
        if process is None:
            return
        if kill:
            _signal_group(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=self.kill_grace)
        _signal_group(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    # ------------------------------------------------------------------ internals
    def _start(self) -> None:
        self.close(kill=True)
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        code = "from exoextract.execution.child import main; main()"
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, str(task_r), str(result_w)],
            pass_fds=(task_r, result_w),
            start_new_session=True,
            env={**os.environ, **dict(self.env)},
        )
        os.close(task_r)
        os.close(result_w)
        self._send = Connection(task_w, readable=False)
        self._receive = Connection(result_r, writable=False)
        self._send.send_bytes(pickle.dumps(self.config))
        if not self._receive.poll(START_TIMEOUT) or self._receive.recv_bytes() != b"ready":
            raise OSError("the task process did not start")
        self.tasks = 0

    def _died(self) -> Attempt | None:
        """The try's end when the process is gone: how it ended, and whether our memory cap
        ended it."""
        process = self._process
        if process is None:
            return None
        try:
            code = process.wait(timeout=self.kill_grace + 5)
        except subprocess.TimeoutExpired:
            return None
        pid = process.pid
        self.close()
        return Attempt(
            "died",
            exit_code=code,
            how=describe_exit(code),
            memory=pop_memory_marker(self.config.marker_dir, pid),
        )


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def main() -> None:
    """The child's side: police itself, then run tasks until the pipe closes."""
    from exoextract.execution.isolation import limit_threads_env, worker_init

    limit_threads_env()
    receive = Connection(int(sys.argv[1]), writable=False)
    send = Connection(int(sys.argv[2]), readable=False)
    config: WorkerConfig = pickle.loads(receive.recv_bytes())
    worker_init(config)
    import exoextract.execution.preload  # noqa: F401  the heavy imports and kernels, before any clock

    send.send_bytes(b"ready")
    while True:
        try:
            function, payload = pickle.loads(receive.recv_bytes())
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("result", function(payload))
        except MemoryError as error:
            answer = ("memory_error", str(error) or "out of memory")
        except Exception as error:
            answer = ("error", (type(error).__name__, str(error)))
        try:
            blob = pickle.dumps(answer)
        except Exception as error:  # a result that cannot cross the pipe fails its task
            blob = pickle.dumps(("error", (type(error).__name__, f"unpicklable result: {error}")))
        send.send_bytes(blob)
