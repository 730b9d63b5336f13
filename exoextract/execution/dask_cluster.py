"""The same run on a Dask cluster (``--executor dask``), with the local pool's guarantees.

Dask cannot kill a running task, so each try runs inside the Dask worker in a task process
of its own (:func:`attempt_in_worker`, :class:`~exoextract.execution.child.Child`): its own session
(a kill takes everything the target started), the resident-memory cap, the time limit that
kills it and its children, and one BLAS/numba thread. The process is started with
``subprocess``, which default Dask workers (daemonic processes, as dask-jobqueue,
dask-gateway, Coiled and the Kubernetes operator start them) may do, and kept for the
worker thread's next target unless it failed. Each try comes back as an
:class:`~exoextract.execution.attempts.Attempt`; the client decides what it means with the same
:class:`~exoextract.execution.attempts.Retrier` as the local pool (transient failures retried with
backoff, quarantine after ``quarantine_after`` process deaths). Dask's own retries are off.

A Dask worker that dies (SIGKILL, out of memory, a node lost) takes no target with it:
the scheduler hands its queued targets to other workers; a target that was running there is
reported as ``KilledWorker`` (the scheduler's ``allowed-failures`` is set to 0 on a local
cluster) and counts as a death of its own process. The client (the ``exoextract`` process)
alone writes checkpoints, the manifest and the tables; workers only return rows.

With the archive source, the searches are batched on the client (the archive stage without
its downloads), so the cluster does not query the archive once per target; each worker then
downloads its own target's files into its cache, holding one of ``max_downloads`` leases
of a cluster-wide Dask semaphore while it does: the archive sees at most ``max_downloads``
connections from the whole cluster.

Without a scheduler address a ``LocalCluster`` of ``workers`` processes is started here,
with Dask's defaults for its workers; any running cluster works as it is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from exoextract.errors import InputError
from exoextract.execution.attempts import (
    Attempt,
    Job,
    Outcome,
    Policy,
    Retrier,
    RunStats,
    Stopping,
    Upstream,
    attempt_from_error,
)
from exoextract.execution.child import Child
from exoextract.execution.isolation import WorkerConfig
from exoextract.execution.jobqueue import JobQueue

if TYPE_CHECKING:
    from exoextract.star.task import Task

ARCHIVE_LEASES = "exoextract-archive"  # the cluster-wide semaphore of archive connections
CONNECT_ENV = "EXOEXTRACT_DASK_CONNECT_TIMEOUT"  # seconds to reach a scheduler
CONNECT_SECONDS = 20.0  # ... when that is not set


def require_distributed() -> Any:
    """The distributed package, or a one-line InputError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise InputError(
            "--executor dask needs the Dask extra — install it with "
            "pip install 'exoextract[dask]' (make install does)"
        ) from None
    return distributed


def attempt_in_worker(
    function: Callable[[Any], Mapping[str, Any]], payload: Any, policy: Policy, key: str
) -> dict[str, Any]:
    """One try of ``function(payload)``, run inside a Dask worker in a child process with
    the local pool's isolation (:class:`~exoextract.execution.child.Child`: started with
    ``subprocess``, so default, daemonic Dask workers may run it); returns an
    :class:`Attempt` as a plain dict."""
    if getattr(payload, "products", None):
        payload, failure = _download_here(payload)
        if failure is not None:
            return asdict(Attempt("result", result=failure))
    child = _child(policy)
    attempt = child.run(function, payload, policy.timeout)
    return asdict(attempt)


_children = threading.local()  # one task process per Dask worker thread


def _child(policy: Policy) -> Child:
    """This worker thread's task process (made on first use, kept across targets)."""
    child: Child | None = getattr(_children, "child", None)
    if (
        child is None
        or child.config.max_memory != policy.max_memory
        or child.env != policy.preload_env
    ):
        if child is not None:
            child.close(kill=True)
        config = WorkerConfig(
            marker_dir=_marker_dir(), max_memory=policy.max_memory, supervisor_pid=os.getpid()
        )
        child = Child(config, policy.kill_grace, policy.max_tasks_per_worker, policy.preload_env)
        _children.child = child
    return child


def _marker_dir() -> str:
    folder = getattr(_children, "markers", None)
    if folder is None:
        folder = tempfile.mkdtemp(prefix="exoextract-dask-markers-")
        _children.markers = folder
    return str(folder)


def _download_here(task: Task) -> tuple[Task, dict[str, Any] | None]:
    """The target's files into this worker's cache, holding one of the cluster's
    ``max_downloads`` archive leases (a Dask semaphore) while it downloads."""
    from distributed import Semaphore

    from exoextract.archive.direct import fetch_one
    from exoextract.star.entry import guarded

    settings = task.settings
    files: list[Any] = []

    def work() -> dict[str, Any]:
        with Semaphore(max_leases=settings.max_downloads, name=ARCHIVE_LEASES):
            files.append(
                fetch_one(settings, task.target_id, task.mission, task.number, task.products)
            )
        return {}

    result = guarded(work)
    if result["status"] != "ok":
        return task, result
    got = files[0]
    return replace(
        task,
        paths=tuple(got.paths),
        products=(),
        notes=task.notes + tuple(got.notes),
        repaired=task.repaired + got.repaired,
    ), None


class DaskExecutor:
    """Feed tasks to a Dask cluster and yield one :class:`Outcome` per task."""

    def __init__(
        self,
        function: Callable[[Any], Mapping[str, Any]],
        policy: Policy,
        scheduler: str | None = None,
        log: Callable[[str], None] | None = None,
        attempt_hook: Callable[[Any, int], Any] | None = None,
    ) -> None:
        require_distributed()
        self.function = function
        self.policy = policy
        self.scheduler = scheduler
        self.stats = RunStats()
        self._log_sink = log
        self._attempt_hook = attempt_hook
        self._stopping = Stopping(policy.stop_grace)
        self.retrier = Retrier(policy, self.stats, self._log, lambda: self._stopping.requested)
        self._client: Any = None
        self._cluster: Any = None
        self._threads = policy.workers
        self.upstream: Upstream | None = None  # the archive's searches, batched here
        self._threads_checked = 0.0
        self._finished = threading.Event()  # set by Dask when any submitted try ends

    # ------------------------------------------------------------------ public
    @property
    def stopped_by(self) -> int | None:
        return self._stopping.signum

    def stop(self, signum: int) -> None:
        """First call: stop submitting, let running targets finish within ``stop_grace``;
        second call: cancel them now. Signal-safe."""
        self._stopping.stop(signum)

    def set_log(self, log: Callable[[str], None]) -> None:
        self._log_sink = log

    def connect(self) -> None:
        """Start the local cluster or reach the scheduler (InputError with what to check)."""
        if self._client is not None:
            return
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            # Set for this process, not a block: the nannies read it again when they
            # restart a worker that died.
            dask.config.set({"distributed.scheduler.allowed-failures": 0})
            self._cluster = LocalCluster(
                n_workers=self.policy.workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=0,  # the per-target cap applies in each target's process
                dashboard_address=None,
                silence_logs=logging.ERROR,
                host="127.0.0.1",
            )
            self._client = Client(self._cluster, set_as_default=False)
            self._log(f"started a local Dask cluster of {self.policy.workers} worker(s)")
            return
        seconds = float(os.environ.get(CONNECT_ENV) or CONNECT_SECONDS)
        try:
            self._client = Client(self.scheduler, timeout=f"{seconds:g}s", set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise InputError(
                f"cannot reach the Dask scheduler at {self.scheduler} ({_first_line(error)}) "
                "— check that it runs, the address and port, and the firewall"
            ) from None
        self._log(f"connected to the Dask scheduler at {self.scheduler}")

    def run(self, tasks: Iterable[tuple[str, Any]]) -> Iterator[Outcome]:
        """Yield an outcome per finished task; tasks left when stopped are not yielded."""
        from distributed import KilledWorker

        self.connect()
        client = self._client
        queue = JobQueue(tasks, self.retrier, self.upstream)
        inflight: dict[Any, Job] = {}
        limit = self.policy.timeout + self.policy.kill_grace + self.policy.stall_margin + 30.0
        try:
            while not queue.finished or inflight:
                # whether to stop, read before the news: a second Ctrl-C between the two
                # is said now and acted on at the next turn, never acted on unsaid
                stop = self._stopping.now(bool(inflight))
                if (news := self._stopping.news(len(inflight))) is not None:
                    self._log(news)
                if stop:
                    break
                yield from queue.pump(submitting=not self._stopping.requested)
                if not self._stopping.requested:
                    capacity = self._capacity() + 1
                    while len(inflight) < capacity and (job := queue.next()) is not None:
                        inflight[self._submit(job)] = job
                upstream = queue.futures()
                if not inflight and not upstream:
                    time.sleep(queue.seconds_to_next(self.policy.tick))
                    continue
                if not any(f.done() for f in [*inflight, *upstream]):
                    self._finished.wait(self.policy.tick)
                self._finished.clear()
                for future in [f for f in inflight if f.done()]:
                    job = inflight.pop(future)
                    job.seconds += time.monotonic() - job.started
                    outcome = queue.settle(job, self._attempt(future, KilledWorker))
                    if outcome is not None:
                        yield outcome
                for future, job in list(inflight.items()):  # a worker that never answers
                    if time.monotonic() - job.started > limit:
                        inflight.pop(future)
                        future.cancel()
                        job.seconds += time.monotonic() - job.started
                        self._log(f"{job.key}: no answer from Dask for {limit:.0f} s; cancelled")
                        outcome = queue.settle(job, Attempt("timeout"))
                        if outcome is not None:
                            yield outcome
        finally:
            if inflight:
                with contextlib.suppress(Exception):
                    client.cancel(list(inflight), force=True)
            queue.close()

    def close(self) -> None:
        """Close the client, and the local cluster with its workers and their targets."""
        for resource in (self._client, self._cluster):
            if resource is not None:
                with contextlib.suppress(Exception):
                    resource.close(timeout=10)
        self._client = self._cluster = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _submit(self, job: Job) -> Any:
        job.started = time.monotonic()
        payload = job.payload
        if self._attempt_hook is not None:
            payload = self._attempt_hook(payload, job.attempts)
        future = self._client.submit(
            attempt_in_worker,
            self.function,
            payload,
            self.policy,
            job.key,
            key=f"exoextract-{uuid.uuid4().hex[:8]}-{job.attempts}",
            pure=False,
            retries=0,
        )
        future.add_done_callback(lambda _: self._finished.set())
        return future

    def _attempt(self, future: Any, killed_worker: type[BaseException]) -> Attempt:
        if future.status == "cancelled":
            return Attempt("cancelled")
        error = future.exception()
        if error is None:
            try:
                attempt = Attempt(**future.result())
            except (TypeError, ValueError) as bad:
                return Attempt("error", error_type="BadWorkerResult", message=str(bad))
            return attempt
        if isinstance(error, killed_worker):
            return Attempt("died", how="its Dask worker died while running it (KilledWorker)")
        return attempt_from_error(error)

    def _capacity(self) -> int:
        """Threads of the cluster's workers (asked at most every 2 s: workers come and go)."""
        now = time.monotonic()
        if now - self._threads_checked > 2.0:
            self._threads_checked = now
            with contextlib.suppress(Exception):
                self._threads = max(sum(self._client.nthreads().values()), 1)
        return self._threads

    def _log(self, message: str) -> None:
        self.stats.events.append(message)
        if self._log_sink is not None:
            self._log_sink(message)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
