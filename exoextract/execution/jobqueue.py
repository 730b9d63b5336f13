"""The jobs of one run on their way through an executor, whichever executor it is.

Both executors (the local pool and the Dask cluster) keep the same books: jobs waiting to
start, jobs waiting out a retry delay, jobs still being prepared by an upstream stage (the
archive's searches and downloads), and how each try settles (through the shared
:class:`~exoextract.execution.attempts.Retrier`). An executor only submits what
:meth:`JobQueue.next` gives it, says what each try came to (:meth:`JobQueue.settle`), and
waits on its own futures plus :meth:`JobQueue.futures`.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from exoextract.execution.attempts import Attempt, Job, Outcome, Retrier, Stage, Upstream

PREFETCH: Stage = "prefetch"  # the stage of a job still in the archive stage's hands
COMPUTE: Stage = "compute"


class JobQueue:
    """Pending jobs, retry delays, an optional upstream stage, and settling tries."""

    def __init__(
        self,
        tasks: Iterable[tuple[str, Any]],
        retrier: Retrier,
        upstream: Upstream | None = None,
    ) -> None:
        self.retrier = retrier
        self.upstream = upstream
        self.pending: deque[Job] = deque()
        self._delayed: list[tuple[float, int, Job]] = []
        self._counter = itertools.count()
        for key, payload in tasks:
            if upstream is not None:
                upstream.add(Job(key, payload, stage=PREFETCH))
            else:
                self.pending.append(Job(key, payload))

    # ------------------------------------------------------------------ the executor's side
    def pump(self, submitting: bool = True) -> list[Outcome]:
        """Move due retries to the front, let the upstream work; its finished targets."""
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            self.pending.appendleft(heapq.heappop(self._delayed)[2])
        if self.upstream is None:
            return []
        self.upstream.pump(submitting)
        return self.upstream.ended()

    def next(self) -> Job | None:
        """The next job to submit: retries and waiting jobs first, then prepared ones."""
        if self.pending:
            return self.pending.popleft()
        if self.upstream is not None:
            job = self.upstream.take()
            if job is not None:
                job.stage, job.not_before = COMPUTE, 0.0
            return job
        return None

    def settle(self, job: Job, attempt: Attempt, timeout: float | None = None) -> Outcome | None:
        """The job's final outcome, or None when it was put back for another try."""
        outcome = self.retrier.settle(job, attempt, timeout)
        if outcome is not None:
            return outcome
        result = attempt.result
        if self.upstream is not None and isinstance(result, Mapping) and result.get("refetch"):
            job.stage = PREFETCH  # its cached files went bad: the archive stage fetches them
            self.upstream.refetch(job)
        elif job.not_before > time.monotonic():
            heapq.heappush(self._delayed, (job.not_before, next(self._counter), job))
        else:
            self.pending.append(job)
        return None

    def put_back(self, jobs: Iterable[Job]) -> None:
        """Jobs taken back from a failed pool (not their fault): first in line again."""
        self.pending.extendleft(reversed(list(jobs)))

    def futures(self) -> list[Future[Any]]:
        return self.upstream.futures() if self.upstream is not None else []

    @property
    def finished(self) -> bool:
        upstream_busy = self.upstream is not None and self.upstream.busy
        return not self.pending and not self._delayed and not upstream_busy

    def seconds_to_next(self, tick: float) -> float:
        """How long an idle executor may sleep before something is due."""
        if not self._delayed:
            return tick
        return min(max(self._delayed[0][0] - time.monotonic(), 0.0), tick)

    def close(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
