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
mapping with a ``status`` key (see :mod:`exoextract.star.entry`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pebble import ProcessPool
from pebble.common import types as pebble_types

from exoextract.errors import WorkersUnavailable
from exoextract.execution.attempts import (
    TERMINAL,
    Job,
    Outcome,
    Policy,
    Retrier,
    RunStats,
    Stopping,
    Upstream,
)
from exoextract.execution.isolation import (
    WorkerConfig,
    attempt_from_future,
    kill_group,
    memory_readable,
    worker_init,
)
from exoextract.execution.jobqueue import JobQueue

__all__ = [
    "TERMINAL",
    "Outcome",
    "Policy",
    "Supervisor",
    "SupervisorStats",
    "missing_pebble_internals",
]
START_RETRY_DELAYS = (1.0, 3.0)  # seconds before a new pool, after one failed to start
INTERNALS_WARNING = (
    "pebble's internals changed ({missing}): workers that vanish are no longer reaped and "
    "the kill grace is pebble's own — install pebble<5.3 (what exoextract is tested with)"
)


def missing_pebble_internals(pool: ProcessPool | None = None) -> list[str]:
    """The private pebble names the supervisor relies on that this pebble lacks.

    ``CONSTS.term_timeout`` (the grace between SIGTERM and SIGKILL of a timed-out worker)
    and, given a started pool, ``_pool_manager.worker_manager.workers`` (the live workers'
    pids, for killing the process groups of workers that vanished)."""
    missing = []
    if not hasattr(getattr(pebble_types, "CONSTS", None), "term_timeout"):
        missing.append("pebble.common.types.CONSTS.term_timeout")
    if pool is not None:
        manager = getattr(getattr(pool, "_pool_manager", None), "worker_manager", None)
        if not isinstance(getattr(manager, "workers", None), dict):
            missing.append("ProcessPool._pool_manager.worker_manager.workers")
    return missing


class _Stage:
    """A pool and the jobs in flight in it, with the time of its last finished job."""

    def __init__(self, pool: ProcessPool) -> None:
        self.pool = pool
        self.inflight: dict[Future[Any], Job] = {}
        self.last_progress = time.monotonic()

    def submit(self, job: Job, future: Future[Any]) -> None:
        if not self.inflight:
            self.last_progress = time.monotonic()
        self.inflight[future] = job

    def finish(self, future: Future[Any]) -> Job:
        self.last_progress = time.monotonic()
        return self.inflight.pop(future)

    def stalled_for(self) -> float:
        return time.monotonic() - self.last_progress

    def stalled(self, limit: float) -> bool:
        return bool(self.inflight) and self.stalled_for() > limit

    def drain(self) -> list[Job]:
        """Take back every job in flight (the pool failed, not the jobs)."""
        jobs = list(self.inflight.values())
        self.inflight.clear()
        return jobs

    def restart(self, pool: ProcessPool) -> None:
        self.pool = pool
        self.last_progress = time.monotonic()


SupervisorStats = RunStats  # the name before the executors shared it


class Supervisor:
    """Feed tasks through a pebble pool and yield one :class:`Outcome` per task."""

    def __init__(
        self,
        function: Callable[[Any], Mapping[str, Any]],
        policy: Policy,
        log: Callable[[str], None] | None = None,
        attempt_hook: Callable[[Any, int], Any] | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.function = function
        self.policy = policy
        self.upstream = upstream
        self.stats = RunStats()
        self._log_sink = log
        self._attempt_hook = attempt_hook
        self._stopping = Stopping(policy.stop_grace)
        self._known_workers: set[int] = set()
        self._marker_dir = tempfile.mkdtemp(prefix="exoextract-markers-")
        self._internals_checked = False
        self._failed_starts = 0  # pools in a row whose workers could not be started
        self.retrier = Retrier(policy, self.stats, self._log, lambda: self._stopping.requested)
        if policy.max_memory is not None and not memory_readable():
            message = (
                "resident memory cannot be read on this platform: the memory cap "
                "(max_memory_per_worker) is off — rely on the timeout instead"
            )
            self._log(f"warning: {message}")
        if not missing_pebble_internals():
            pebble_types.CONSTS.term_timeout = policy.kill_grace

    # ------------------------------------------------------------------ public
    @property
    def stopped_by(self) -> int | None:
        """The signal that stopped the run, or None if it ran to the end."""
        return self._stopping.signum

    def stop(self, signum: int) -> None:
        """First call: drain within ``stop_grace``; second call: kill now. Signal-safe."""
        self._stopping.stop(signum)

    def run(self, tasks: Iterable[tuple[str, Any]]) -> Iterator[Outcome]:
        """Yield an outcome per finished task; tasks left when stopped are not yielded."""
        queue = JobQueue(tasks, self.retrier, self.upstream)
        compute = _Stage(self._new_pool(self.stats.sequential_fallback))
        try:
            while not queue.finished or compute.inflight:
                # whether to stop, read before the news: a second Ctrl-C between the two
                # is said now and acted on at the next turn, never acted on unsaid
                stop = self._stopping.now(bool(compute.inflight))
                if (news := self._stopping.news(len(compute.inflight))) is not None:
                    self._log(news)
                if stop:
                    break
                yield from queue.pump(submitting=not self._stopping.requested)
                if not self._stopping.requested:
                    sequential = self.stats.sequential_fallback
                    capacity = 1 if sequential else self.policy.workers + 1
                    while len(compute.inflight) < capacity and (job := queue.next()) is not None:
                        try:
                            future = self._schedule(compute.pool, job)
                        except BrokenProcessPool as error:  # its workers could not start
                            queue.put_back([job])
                            self._discard_pool(compute.pool)
                            self._after_failed_start(error)
                            compute.restart(self._new_pool(self.stats.sequential_fallback))
                            break
                        self._failed_starts = 0
                        compute.submit(job, future)
                futures = list(compute.inflight) + queue.futures()
                if not futures:
                    time.sleep(queue.seconds_to_next(self.policy.tick))
                    continue
                done, _ = wait(futures, timeout=self.policy.tick, return_when="FIRST_COMPLETED")
                computed = False
                for future in done:
                    if future not in compute.inflight:
                        continue  # the upstream's own: it settles them when pumped
                    computed = True
                    job = compute.finish(future)
                    outcome = self._settle(future, job, queue)
                    if outcome is not None:
                        yield outcome
                if self.stats.sequential_fallback and computed:  # one fresh process per task
                    self._discard_pool(compute.pool)
                    compute.pool = self._new_pool(True)
                self._reap_vanished_workers([compute.pool])
                if compute.stalled(self._stall_limit(self.policy.timeout)):
                    queue.put_back(compute.drain())
                    self._discard_pool(compute.pool)
                    sequential = self._after_stall(compute.stalled_for())
                    compute.restart(self._new_pool(sequential))
        finally:
            self._discard_pool(compute.pool)
            queue.close()

    def close(self) -> None:
        shutil.rmtree(self._marker_dir, ignore_errors=True)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pool
    def _new_pool(self, sequential: bool) -> ProcessPool:
        context = _worker_context(self.policy)
        config = WorkerConfig(
            marker_dir=self._marker_dir,
            max_memory=self.policy.max_memory,
            supervisor_pid=os.getpid(),
        )
        return ProcessPool(
            max_workers=1 if sequential else self.policy.workers,
            max_tasks=1 if sequential else self.policy.max_tasks_per_worker,
            initializer=worker_init,
            initargs=(config,),
            context=context,
        )

    def _schedule(self, pool: ProcessPool, job: Job) -> Future[Any]:
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

    def _worker_pids(self, pool: ProcessPool) -> set[int]:
        """Pids of this pool's live workers (pebble keys its workers by pid).

        Liveness is probed with signal 0 rather than ``Process.is_alive()``, which would
        race pebble's own thread for the forkserver's exit-status pipe.
        """
        if not self._internals_checked:
            self._internals_checked = True
            missing = missing_pebble_internals(pool)
            if missing:
                message = INTERNALS_WARNING.format(missing=", ".join(missing))
                self._log(f"warning: {message}")
        try:
            pids = list(pool._pool_manager.worker_manager.workers)
        except AttributeError:  # another pebble layout (said once above): nothing to track
            return set()
        return {pid for pid in pids if _pid_alive(pid)}

    def _reap_vanished_workers(self, pools: list[ProcessPool]) -> None:
        """Kill what is left of the process group of every worker that has gone."""
        alive: set[int] = set()
        for pool in pools:
            alive |= self._worker_pids(pool)
        for pid in self._known_workers - alive:
            if kill_group(pid):
                self.stats.reaped_groups += 1
        self._known_workers = alive

    def _stall_limit(self, timeout: float) -> float:
        return timeout + self.policy.kill_grace + self.policy.stall_margin

    def _after_failed_start(self, error: BaseException) -> None:
        """A pool whose worker processes could not be started (the forkserver died, no
        memory or processes left): wait and try again, then end the run with one line
        (:class:`WorkersUnavailable`) instead of a traceback or a hang."""
        self._failed_starts += 1
        cause = error.__cause__ or error.__context__ or error
        why = f"{type(cause).__name__}: {str(cause).strip() or 'no message'}"
        if self._failed_starts > len(START_RETRY_DELAYS):
            raise WorkersUnavailable(
                f"the worker processes could not be started ({why}, "
                f"{self._failed_starts} tries) — the machine may be out of memory or "
                "processes: close other programs or use fewer --workers, then "
                "exoextract resume; finished chunks are kept"
            )
        delay = START_RETRY_DELAYS[self._failed_starts - 1]
        self._log(
            f"warning: worker processes could not be started ({why}); trying again in {delay:g} s"
        )
        time.sleep(delay)

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
    def _settle(self, future: Future[Any], job: Job, queue: JobQueue) -> Outcome | None:
        """Turn a finished future into a final outcome, or requeue the job (None)."""
        job.seconds += time.monotonic() - job.started
        return queue.settle(job, attempt_from_future(future, self._marker_dir))

    def _log(self, message: str) -> None:
        self.stats.events.append(message)
        if self._log_sink is not None:
            self._log_sink(message)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if os.path.isdir(self._marker_dir):
                shutil.rmtree(self._marker_dir, ignore_errors=True)


def warm_up(policy: Policy) -> None:
    """Start the forkserver now, its preload (the heavy imports and kernels) running while
    this process reads the input and plans: the first worker then forks from a warm server
    instead of waiting for it."""
    if policy.start_method != "forkserver":
        return
    from multiprocessing import forkserver

    _worker_context(policy)
    with contextlib.suppress(OSError, ValueError):
        forkserver.ensure_running()


def _worker_context(policy: Policy) -> multiprocessing.context.BaseContext:
    """The multiprocessing context the pool's workers start from. For the forkserver, its
    preload modules and the environment they read, set here, where the server starts (a
    server already running keeps the environment it started with)."""
    context = multiprocessing.get_context(policy.start_method)
    if policy.start_method == "forkserver":
        os.environ.update(dict(policy.preload_env))
        if policy.preload:
            context.set_forkserver_preload(list(policy.preload))
    return context


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
