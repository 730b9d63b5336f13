"""How the tries of one target become its one outcome: the policy every executor shares.

An executor (the local pool in :mod:`exoextract.execution.supervisor`, the Dask cluster in
:mod:`exoextract.execution.dask_cluster`) runs tries and reports each as an
:class:`Attempt`: the task returned a result mapping, ran out of time, its process died
(and whether our memory cap killed it), or something else raised. :class:`Retrier` decides: the
final :class:`Outcome`, or another try after an exponential, jittered backoff (transient failures
only), with a target that killed its process ``quarantine_after`` times quarantined instead.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

Status = Literal[
    "ok", "failed", "no_data", "timed_out", "crashed", "memory_exceeded", "quarantined"
]
"""How a target ended (the ``status`` column of checkpoints and failures.parquet)."""
TERMINAL: tuple[Status, ...] = get_args(Status)

Stage = Literal["prefetch", "compute"]
"""Where a job is: in the archive stage's hands, or waiting for (or on) a CPU worker."""

AttemptKind = Literal["result", "timeout", "died", "memory_error", "error", "cancelled"]
"""What one try came to (see :class:`Attempt`)."""


@dataclass(frozen=True)
class Policy:
    """How hard an executor tries; built from :class:`~exoextract.settings.Settings`."""

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
    # Environment the worker processes start with (the preload reads it): set where the
    # forkserver or task process starts, never in the caller's process by the caller.
    preload_env: tuple[tuple[str, str], ...] = ()
    start_method: str = "forkserver"
    tick: float = 0.2
    stall_margin: float = 10.0


@dataclass
class Outcome:
    """How one task ended; failed tasks are results too. ``transient`` says whether the
    last failure was of a kind worth trying again later (a resume with --retry-failed)."""

    key: str
    status: Status
    attempts: int
    seconds: float
    error_type: str | None = None
    message: str | None = None
    exit_code: int | None = None
    data: Mapping[str, Any] | None = None
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Job:
    """A target on its way through an executor: its tries so far."""

    key: str
    payload: Any
    stage: Stage = "compute"
    attempts: int = 1
    kills: int = 0
    seconds: float = 0.0
    not_before: float = 0.0
    started: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """What one try came to.

    ``kind``: ``result`` (the task returned ``result``), ``timeout`` (killed at the time
    limit), ``died`` (its process ended: ``exit_code``, ``how``, and ``memory`` = (resident,
    cap) bytes when our cap killed it), ``memory_error`` (a MemoryError reached us),
    ``error`` (anything else raised around the task: ``error_type``, ``message``) or
    ``cancelled`` (the executor took it back; try again, not counted).
    """

    kind: AttemptKind
    result: Any = None
    exit_code: int | None = None
    how: str | None = None
    memory: tuple[int, int] | None = None
    error_type: str | None = None
    message: str | None = None


@dataclass
class RunStats:
    """What happened to the executor itself, for the summary and the manifest."""

    rebuilds: int = 0
    sequential_fallback: bool = False
    retries: int = 0
    reaped_groups: int = 0
    events: list[str] = field(default_factory=list)


class Stopping:
    """Ctrl-C / SIGTERM for an executor: the first stop lets running tries finish within
    ``grace`` seconds (nothing new starts); a second one stops now. Signal-safe."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.signum: int | None = None
        self.deadline = float("inf")
        self._lock = threading.Lock()
        self._calls = 0
        self._said = 0

    def stop(self, signum: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._calls += 1
            if self.signum is None:
                self.signum = signum
                self.deadline = now + self.grace
            else:
                self.deadline = now

    def news(self, running: int) -> str | None:
        """The line to show once after each stop (not from the signal handler: printing
        there can collide with the progress output), or None."""
        if self._calls == self._said:
            return None
        self._said = self._calls
        if self._said == 1 and running:
            return (
                f"stopping: {running} running star(s) get {self.grace:.0f} s to finish and be "
                "checkpointed, nothing new starts; press Ctrl-C again to stop at once (their "
                "work is lost, everything finished is kept)"
            )
        return "stopping now: checkpointing what finished"

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def now(self, busy: bool) -> bool:
        """Whether to leave the run loop: stopped, and nothing running or grace over."""
        return self.signum is not None and (not busy or time.monotonic() >= self.deadline)


class Executor(Protocol):
    """What the runner needs of an executor: the local pool and the Dask cluster both are."""

    stats: RunStats
    upstream: Upstream | None  # a stage preparing jobs (the archive's), set before run()

    @property
    def stopped_by(self) -> int | None: ...

    def stop(self, signum: int) -> None: ...

    def run(self, tasks: Iterable[tuple[str, Any]]) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


class Retrier:
    """The retry, backoff, quarantine and classification policy, in one place."""

    def __init__(
        self,
        policy: Policy,
        stats: RunStats,
        log: Callable[[str], None],
        stopping: Callable[[], bool],
    ) -> None:
        self.policy = policy
        self.stats = stats
        self.log = log
        self.stopping = stopping

    def settle(self, job: Job, attempt: Attempt, timeout: float | None = None) -> Outcome | None:
        """The job's final outcome, or None to try it again (not before ``job.not_before``)."""
        timeout = self.policy.timeout if timeout is None else timeout
        if attempt.kind == "cancelled":
            return None
        if attempt.kind == "timeout":
            where = " (download)" if job.stage == "prefetch" else ""
            message = f"no result after {timeout:g} s{where}; worker killed"
            return self.retry_or_end(job, "timed_out", "Timeout", message, None, True)
        if attempt.kind == "died":
            return self._died(job, attempt)
        if attempt.kind == "memory_error":
            return end(job, "memory_exceeded", "MemoryError", attempt.message or "out of memory")
        if attempt.kind == "error":
            return end(job, "failed", attempt.error_type, one_line(attempt.message or ""))
        result = attempt.result
        if not isinstance(result, Mapping) or result.get("status") not in TERMINAL:
            return end(
                job,
                "failed",
                "BadWorkerResult",
                f"task returned {type(result).__name__}, not an outcome mapping",
            )
        if result["status"] == "ok":
            return end(job, "ok", None, None, data=result.get("data"))
        return self.retry_or_end(
            job,
            result["status"],
            result.get("error_type"),
            result.get("message"),
            None,
            bool(result.get("transient")),
            data=result.get("data"),
        )

    def _died(self, job: Job, attempt: Attempt) -> Outcome | None:
        job.kills += 1
        if attempt.memory is not None:
            rss, cap = attempt.memory
            return end(
                job,
                "memory_exceeded",
                "MemoryCapExceeded",
                f"worker reached {rss / 2**20:.0f} MiB resident, over the "
                f"{cap / 2**20:.0f} MiB cap; killed",
                attempt.exit_code,
            )
        how = attempt.how or f"exit code {attempt.exit_code}"
        if job.kills >= self.policy.quarantine_after:
            return end(
                job,
                "quarantined",
                "WorkerKilled",
                f"killed its worker {job.kills} times (last: {how}); not retried again",
                attempt.exit_code,
            )
        return self.retry_or_end(
            job, "crashed", "WorkerDied", f"worker died ({how})", attempt.exit_code, True
        )

    def retry_or_end(
        self,
        job: Job,
        status: Status,
        error_type: str | None,
        message: str | None,
        exit_code: int | None,
        transient: bool,
        data: Mapping[str, Any] | None = None,
    ) -> Outcome | None:
        if transient and job.attempts <= self.policy.retries and not self.stopping():
            delay = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (job.attempts - 1))
            delay *= random.uniform(0.5, 1.5)
            job.not_before = time.monotonic() + delay
            self.stats.retries += 1
            self.log(
                f"{job.key}: {status} ({one_line(message or '')}); retry "
                f"{job.attempts}/{self.policy.retries} in {delay:.1f} s"
            )
            job.attempts += 1
            return None
        return end(job, status, error_type, message, exit_code, data, transient)


def end(
    job: Job,
    status: Status,
    error_type: str | None,
    message: str | None,
    exit_code: int | None = None,
    data: Mapping[str, Any] | None = None,
    transient: bool = False,
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
        transient,
    )


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Upstream(Protocol):
    """A stage that prepares jobs before they can run (searches and downloads)."""

    def add(self, job: Job) -> None: ...

    def pump(self, submitting: bool) -> None: ...

    def take(self) -> Job | None: ...

    def ended(self) -> list[Outcome]: ...

    def refetch(self, job: Job) -> None: ...

    def futures(self) -> list[Future[Any]]: ...

    @property
    def busy(self) -> bool: ...

    def close(self) -> None: ...


def attempt_from_error(error: BaseException) -> Attempt:
    """What a try that raised ``error`` around its task came to: ``memory_error`` for a
    MemoryError, ``error`` (its type and message) for anything else."""
    if isinstance(error, MemoryError):
        return Attempt("memory_error", message=str(error) or "out of memory")
    return Attempt("error", error_type=type(error).__name__, message=str(error))
