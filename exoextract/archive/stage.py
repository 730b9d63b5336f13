"""The archive stage: batched searches and downloads, ahead of the CPU workers.

It sits upstream of an executor (:class:`~exoextract.execution.jobqueue.JobQueue`): the
executor hands it every target and takes back, one at a time, targets whose files are all
in the cache — biggest first — or their outcome when the archive has nothing (``no_data``) or kept
failing. The executor never knows that anything was downloaded.

All talking to the archive happens in a small pool of ``max_downloads`` processes, one
connection each: a search of up to ``search_batch`` targets (two API calls) or one file
transfer at a time, with a time limit that kills the process (``download_timeout``). So
``max_downloads`` bounds every connection of the run, searches included. Searches run
ahead while there are fewer than ``ahead`` targets searched and not yet downloading;
downloads start with the biggest searched target while fewer than ``ahead`` targets are
downloading or waiting for a CPU. A failed search of many targets is split in two and
both halves are tried again (never failing the targets as a whole); one target's search
or one file that keeps failing fails that target, with the retry policy of the run.
A 429 or 503 answer pauses every archive process (:class:`~exoextract.archive.client.Gate`).

``download=False`` (the Dask executor) stops after the search: targets go on carrying their
products and each Dask worker downloads its own target's files.
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
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pebble import ProcessPool

from exoextract.archive import records
from exoextract.archive.client import Connection, Gate
from exoextract.archive.products import Product, Request
from exoextract.archive.search import Found, target_name
from exoextract.execution.attempts import (
    Attempt,
    Job,
    Outcome,
    Policy,
    Retrier,
    RunStats,
    Status,
    end,
)
from exoextract.execution.isolation import WorkerConfig, attempt_from_future, kill_group

JobKind = Literal["search", "file"]  # a batch search, or one file's transfer
SEARCH: JobKind = "search"
FILE: JobKind = "file"


@dataclass
class _Target:
    job: Job
    name: str = ""
    found: Found | None = None
    waiting: set[str] = field(default_factory=set)  # files still to arrive
    started: bool = False
    notes: list[str] = field(default_factory=list)
    repaired: int = 0

    @property
    def size(self) -> int:
        return self.found.size if self.found else 0


@dataclass(frozen=True)
class StageConfig:
    """The stage's part of the settings."""

    connection: Connection
    request: Request
    cache_root: Path
    slots: int  # max_downloads: archive processes, hence connections
    batch: int  # search_batch
    timeout: float  # download_timeout, per search or file
    search_days: float  # mast_search_days
    ahead: int
    download: bool = True


class ArchiveStage:
    """Searches in batches and downloads within the connection budget (see module doc)."""

    def __init__(
        self,
        config: StageConfig,
        policy: Policy,
        stats: RunStats,
        log: Callable[[str], None],
    ) -> None:
        self.config = config
        self.policy = policy
        self.stats = stats
        self._sink = log
        self.retrier = Retrier(policy, stats, self.log, lambda: False)
        self.gate_value = multiprocessing.get_context(policy.start_method).Value("d", 0.0)
        self.gate = Gate(self.gate_value)
        self.api_calls = 0
        self.files_downloaded = 0
        self.bytes_downloaded = 0
        self.fetched: dict[str, list[Path]] = {}  # files this run downloaded, per target
        self.files_released = 0
        self.bytes_released = 0
        self._targets: dict[str, _Target] = {}
        self._search_queue: deque[str] = deque()
        self._split: deque[list[str]] = deque()  # halves of failed searches, kept apart
        self._to_start: list[tuple[int, int, str]] = []  # (-size, order, key): biggest first
        self._files: deque[tuple[str, Product]] = deque()
        self._ready: list[tuple[int, int, str]] = []
        self._ended: list[Outcome] = []
        self._delayed: list[tuple[float, int, JobKind, Any]] = []
        self._inflight: dict[Future[Any], tuple[JobKind, Any, float]] = {}
        self._order = itertools.count()
        self._marker_dir = tempfile.mkdtemp(prefix="exoextract-archive-")
        self._pool: ProcessPool | None = None
        self._last_progress = time.monotonic()

    def log(self, message: str) -> None:
        """Into the run's events (the summary, the manifest) and its progress output."""
        self.stats.events.append(message)
        self._sink(message)

    # ------------------------------------------------------------------ upstream protocol
    def add(self, job: Job) -> None:
        task = job.payload
        target = _Target(job)
        self._targets[job.key] = target
        if task.mission is None:
            self._end(
                target,
                "no_data",
                "NoDataError",
                f"{job.key}: no mission — add a mission column or --mission",
            )
            return
        target.name = target_name(task.mission, task.number)
        found = records.load(
            self.config.cache_root,
            task.mission,
            self.config.request,
            target.name,
            self.config.search_days,
        )
        if found is None:
            self._search_queue.append(job.key)
        else:
            self._found(target, found)

    def pump(self, submitting: bool) -> None:
        self._settle_finished()
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, kind, item = heapq.heappop(self._delayed)
            if kind == SEARCH:
                self._split.append(item)
            else:
                self._files.appendleft(item)
        self._check_stall()
        if submitting and self.gate.remaining() == 0:
            self._submit()

    def take(self) -> Job | None:
        while self._ready:
            key = heapq.heappop(self._ready)[2]
            target = self._targets.pop(key, None)
            if target is None:
                continue
            task = target.job.payload
            if self.config.download and target.found is not None:
                paths = tuple(str(p.path(self.config.cache_root)) for p in target.found.products)
                target.job.payload = replace(
                    task,
                    paths=paths,
                    notes=task.notes + tuple(target.notes),
                    repaired=task.repaired + target.repaired,
                )
            elif target.found is not None:
                target.job.payload = replace(task, products=target.found.products)
            return target.job
        return None

    def release(self, keys: Iterable[str]) -> None:
        """Delete the files this run downloaded for these targets (``--no-keep-files``,
        once their checkpoint is written); files cached before the run stay."""
        for key in keys:
            for path in self.fetched.pop(key, ()):
                try:
                    size = path.stat().st_size
                    path.unlink()
                except OSError:
                    continue  # gone already, or not ours to delete: the cache cleaner's job
                self.files_released += 1
                self.bytes_released += size

    def ended(self) -> list[Outcome]:
        out, self._ended = self._ended, []
        return out

    def refetch(self, job: Job) -> None:
        """A compute try found a cached file bad (moved aside): fetch what is missing."""
        target = _Target(job, repaired=1)
        self._targets[job.key] = target
        task = job.payload
        target.name = target_name(task.mission, task.number)
        found = records.load(
            self.config.cache_root, task.mission, self.config.request, target.name, 1e9
        )
        if found is None:
            self._search_queue.append(job.key)
        else:
            target.notes.append("a cached file was unreadable; downloaded again")
            self._found(target, found, not_before=job.not_before)

    def futures(self) -> list[Future[Any]]:
        return list(self._inflight)

    def counts(self) -> dict[str, int]:
        """What the run asked of the archive: API requests, files and bytes downloaded."""
        return {
            "api_calls": self.api_calls,
            "files": self.files_downloaded,
            "bytes": self.bytes_downloaded,
            **(
                {"files_released": self.files_released, "bytes_released": self.bytes_released}
                if self.files_released
                else {}
            ),
        }

    @property
    def busy(self) -> bool:
        return bool(self._targets) or bool(self._ended)

    def close(self) -> None:
        if self._pool is not None:
            self._discard_pool(self._pool)
            self._pool = None
        shutil.rmtree(self._marker_dir, ignore_errors=True)

    # ------------------------------------------------------------------ bookkeeping
    def _found(self, target: _Target, found: Found, not_before: float = 0.0) -> None:
        target.found = found
        key = target.job.key
        if found.missing is not None:
            self._end(target, "no_data", "NoDataError", found.missing)
            return
        if not self.config.download:
            self._make_ready(target)
            return
        absent = records.missing_files(found, self.config.cache_root)
        target.waiting = {p.filename for p in absent}
        if not absent:
            self._make_ready(target)
        elif not_before > time.monotonic():
            target.started = True
            for product in absent:
                heapq.heappush(self._delayed, (not_before, next(self._order), FILE, (key, product)))
        else:
            heapq.heappush(self._to_start, (-target.size, next(self._order), key))

    def _make_ready(self, target: _Target) -> None:
        heapq.heappush(self._ready, (-target.size, next(self._order), target.job.key))

    def _end(self, target: _Target, status: Status, error_type: str | None, message: str) -> None:
        self._targets.pop(target.job.key, None)
        self._ended.append(end(target.job, status, error_type, message))

    def _fail(self, target: _Target, attempt: Attempt, kind: JobKind, item: Any) -> None:
        """One target's search or file failed: retry it later, or end the target."""
        outcome = self.retrier.settle(target.job, attempt, self.config.timeout)
        if outcome is not None:
            self._targets.pop(target.job.key, None)
            self._ended.append(outcome)
            return
        heapq.heappush(self._delayed, (target.job.not_before, next(self._order), kind, item))

    # ------------------------------------------------------------------ submitting
    def _submit(self) -> None:
        searching = sum(1 for kind, _, _ in self._inflight.values() if kind == SEARCH)
        while len(self._inflight) < self.config.slots:
            searched = len(self._to_start) + len(self._files)
            if (self._search_queue or self._split) and (
                (searching == 0 and (searched < self.config.ahead or not self.config.download))
                or not (self._files or self._can_start())
            ):
                batch = self._next_batch()
                if batch is not None:
                    self._schedule(SEARCH, batch)
                    searching += 1
            elif self._files:
                key, product = self._files.popleft()
                if key in self._targets:
                    self._schedule(FILE, (key, product))
            elif self._can_start():
                key = heapq.heappop(self._to_start)[2]
                target = self._targets.get(key)
                if target is not None and target.found is not None:
                    target.started = True
                    self._files.extend(
                        (key, p) for p in target.found.products if p.filename in target.waiting
                    )
            else:
                break

    def _can_start(self) -> bool:
        if not self._to_start:
            return False
        active = sum(1 for t in self._targets.values() if t.started and t.waiting)
        return active + len(self._ready) < self.config.ahead

    def _next_batch(self) -> tuple[str, list[tuple[str, int]]] | None:
        """A failed search's half as it is, or up to ``batch`` waiting targets of the
        first waiting target's mission; None when every waiting target has ended."""
        while self._split:
            keys = [k for k in self._split.popleft() if k in self._targets]
            if keys:
                first = self._targets[keys[0]].job.payload.mission
                return first, [(k, self._targets[k].job.payload.number) for k in keys]
        while self._search_queue and self._search_queue[0] not in self._targets:
            self._search_queue.popleft()
        if not self._search_queue:
            return None
        first = self._targets[self._search_queue[0]].job.payload.mission
        batch: list[tuple[str, int]] = []
        others: deque[str] = deque()
        while self._search_queue and len(batch) < self.config.batch:
            key = self._search_queue.popleft()
            target = self._targets.get(key)
            if target is None:
                continue
            if target.job.payload.mission == first:
                batch.append((key, target.job.payload.number))
            else:
                others.append(key)
        self._search_queue.extendleft(reversed(others))
        return first, batch

    def _schedule(self, kind: JobKind, item: Any) -> None:
        from exoextract.archive import jobs as worker

        if self._pool is None:
            self._pool = self._new_pool()
        if kind == SEARCH:
            mission, batch = item
            job: Any = worker.SearchJob(
                self.config.connection,
                self.config.request,
                str(self.config.cache_root),
                mission,
                tuple(batch),
            )
            function: Any = worker.run_search
        else:
            product = item[1]
            job = worker.FileJob(
                self.config.connection, str(self.config.cache_root), product, self.config.timeout
            )
            function = worker.run_transfer
        if not self._inflight:
            self._last_progress = time.monotonic()
        future = self._pool.schedule(function, args=(job,), timeout=self.config.timeout)
        self._inflight[future] = (kind, item, time.monotonic())

    # ------------------------------------------------------------------ settling
    def _settle_finished(self) -> None:
        for future in [f for f in self._inflight if f.done()]:
            kind, item, started = self._inflight.pop(future)
            self._last_progress = time.monotonic()
            attempt = attempt_from_future(future)
            if kind == SEARCH:
                self._settle_search(item, attempt, started)
            else:
                self._settle_file(item, attempt, started)

    def _settle_search(
        self, item: tuple[str, list[tuple[str, int]]], attempt: Attempt, started: float
    ) -> None:
        mission, batch = item
        seconds = time.monotonic() - started
        result = attempt.result if attempt.kind == "result" else None
        if isinstance(result, Mapping) and result.get("status") == "ok":
            data = result.get("data") or {}
            self.api_calls += int(data.get("calls") or 0)
            answers = data.get("found") or {}
            for key, _ in batch:
                target = self._targets.get(key)
                if target is None:
                    continue
                target.job.seconds += seconds / len(batch)
                answer = answers.get(key)
                if answer is None:  # cannot happen with a well-formed answer; search again
                    self._search_queue.append(key)
                else:
                    self._found(target, Found.from_dict(answer))
            return
        if isinstance(result, Mapping):
            self.api_calls += int((result.get("data") or {}).get("calls") or 0)
        if attempt.kind == "cancelled":
            self._split.appendleft([key for key, _ in batch])
            return
        if len(batch) > 1:
            half = len(batch) // 2
            why = _why(attempt)
            self.log(
                f"search of {len(batch)} {mission} targets failed ({why}); "
                "split in two and tried again"
            )
            delay = self.policy.backoff_base * random.uniform(0.5, 1.5)
            for part in (batch[:half], batch[half:]):
                heapq.heappush(
                    self._delayed,
                    (time.monotonic() + delay, next(self._order), SEARCH, [k for k, _ in part]),
                )
            return
        key = batch[0][0]
        target = self._targets.get(key)
        if target is not None:
            target.job.seconds += seconds
            self._fail(target, attempt, SEARCH, [key])

    def _settle_file(self, item: tuple[str, Product], attempt: Attempt, started: float) -> None:
        key, product = item
        target = self._targets.get(key)
        result = attempt.result if attempt.kind == "result" else None
        if target is None:
            return  # the target already ended (another of its files failed for good)
        target.job.seconds += time.monotonic() - started
        if attempt.kind == "cancelled":
            self._files.appendleft(item)
            return
        if isinstance(result, Mapping) and result.get("status") == "ok":
            data = result.get("data") or {}
            self.files_downloaded += 1
            self.bytes_downloaded += int(data.get("bytes") or 0)
            self.fetched.setdefault(key, []).append(product.path(self.config.cache_root))
            target.notes.extend(data.get("notes") or ())
            target.repaired += int(data.get("repaired") or 0)
            target.waiting.discard(product.filename)
            if not target.waiting:
                self._make_ready(target)
            return
        self._fail(target, attempt, FILE, item)

    # ------------------------------------------------------------------ the pool
    def _new_pool(self) -> ProcessPool:
        from exoextract.archive import jobs as worker

        context = multiprocessing.get_context(self.policy.start_method)
        config = WorkerConfig(
            marker_dir=self._marker_dir,
            max_memory=self.policy.max_memory,
            supervisor_pid=os.getpid(),
        )
        return ProcessPool(
            max_workers=self.config.slots,
            max_tasks=0,
            initializer=worker.init,
            initargs=(config, self.gate_value),
            context=context,
        )

    def _check_stall(self) -> None:
        limit = self.config.timeout + self.policy.kill_grace + self.policy.stall_margin
        if not self._inflight or time.monotonic() - self._last_progress < limit:
            return
        self.log(
            f"archive processes made no progress for {limit:.0f} s; restarted them and "
            "gave back their work"
        )
        for kind, item, _ in self._inflight.values():
            if kind == SEARCH:
                self._split.appendleft([key for key, _ in item[1]])
            else:
                self._files.appendleft(item)
        self._inflight.clear()
        if self._pool is not None:
            self._discard_pool(self._pool)
        self._pool = None
        self._last_progress = time.monotonic()

    def _discard_pool(self, pool: ProcessPool) -> None:
        with contextlib.suppress(Exception):
            manager = pool._pool_manager.worker_manager
            for pid in list(manager.workers):
                kill_group(pid)
        pool.stop()
        joiner = threading.Thread(target=pool.join, daemon=True)
        joiner.start()
        joiner.join(timeout=self.policy.kill_grace + 5)


def _why(attempt: Attempt) -> str:
    if attempt.kind == "result" and isinstance(attempt.result, Mapping):
        return str(attempt.result.get("message") or attempt.result.get("error_type"))
    if attempt.kind == "died":
        return f"its process died ({attempt.how})"
    if attempt.kind == "timeout":
        return "no answer in time; process killed"
    return attempt.message or attempt.kind
