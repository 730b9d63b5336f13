"""Runs: plan chunks, supervise the work, checkpoint every chunk, resume, merge.

``start_run`` and ``resume_run`` are what the CLI calls, and what a notebook can call; both
return a :class:`RunResult`. A run folder holds::

    manifest.json        run id, settings, input file and hash, chunk plan and states
    checkpoints/         chunk-NNNNN-SSSS.parquet, one per finished chunk (or part of one)
    features.parquet     one row per successful target, label columns kept (when complete)
    failures.parquet     one row per target that did not succeed (when complete)
    summary.json         the run's summary, as ``--json`` prints it
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exoextract import plugins
from exoextract.archive.stage import ArchiveStage
from exoextract.errors import InputError, RunDirError, WorkersUnavailable
from exoextract.execution.attempts import Executor, Policy
from exoextract.execution.policy import policy_for, warm_workers, workers_note
from exoextract.execution.supervisor import Supervisor
from exoextract.run.checkpoint import checkpoint_rows
from exoextract.run.folder import (
    MANIFEST,
    SUMMARY,
    RunFolder,
    chunk_finished,
    latest_run,
    load_manifest,
    new_run_dir,
)
from exoextract.run.mainguard import check_main_module
from exoextract.run.merge import merge, warm
from exoextract.run.one_star import star_task
from exoextract.run.plan import (
    biggest_first,
    group_stars,
    plan_chunks,
    read_input,
    task_for,
    tasks_for,
)
from exoextract.run.progress import NullProgress, Progress
from exoextract.settings import Settings, result_differences
from exoextract.sources import get_source
from exoextract.star.entry import run_task
from exoextract.star.extract import reserved_columns
from exoextract.star.task import Candidate, Task
from exoextract.targets import Target, TargetList

if TYPE_CHECKING:
    from exoextract.execution.dask_cluster import DaskExecutor

RETRYABLE = ("failed", "timed_out", "crashed", "memory_exceeded", "quarantined")
# Kept importable from here (notebooks and scripts used them before the split).
__all__ = [
    "MANIFEST",
    "RunResult",
    "biggest_first",
    "chunk_finished",
    "latest_run",
    "load_manifest",
    "resume_run",
    "star_task",
    "start_run",
    "tasks_for",
]


@dataclass
class RunResult:
    """What a run did, for the summary table, ``--json`` and notebooks."""

    run_dir: Path
    run_id: str
    total: int
    counts: dict[str, int]
    computed: int
    previously_done: int
    elapsed: float
    complete: bool
    workers: int
    features_path: Path | None = None
    failures_path: Path | None = None
    signals_path: Path | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    rebuilds: int = 0
    sequential_fallback: bool = False
    interrupted_by: int | None = None
    archive: dict[str, int] = field(default_factory=dict)  # API calls, files, bytes
    stars: int = 0  # the stars of the input (``total`` counts its rows: candidates)
    star_counts: dict[str, int] = field(default_factory=dict)  # each star's status
    stars_previously_done: int = 0

    @property
    def ok(self) -> int:
        return self.counts.get("ok", 0)

    @property
    def not_ok(self) -> int:
        return sum(n for s, n in self.counts.items() if s != "ok")

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "run_id": self.run_id,
            "complete": self.complete,
            "interrupted_by": signal.Signals(self.interrupted_by).name
            if self.interrupted_by
            else None,
            "total": self.total,
            "counts": dict(sorted(self.counts.items())),
            "stars": self.stars,
            "star_counts": dict(sorted(self.star_counts.items())),
            "computed_this_session": self.computed,
            "previously_done": self.previously_done,
            "stars_previously_done": self.stars_previously_done,
            "elapsed_seconds": round(self.elapsed, 2),
            "workers": self.workers,
            "pool_rebuilds": self.rebuilds,
            "sequential_fallback": self.sequential_fallback,
            "features_path": str(self.features_path) if self.features_path else None,
            "failures_path": str(self.failures_path) if self.failures_path else None,
            "signals_path": str(self.signals_path) if self.signals_path else None,
            "failures": self.failures,
            "warnings": self.warnings,
            "events": self.events,
            "archive": self.archive,
        }


# ---------------------------------------------------------------------- entry points
def start_run(
    csv_path: str | Path,
    settings: Settings,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    runs_root: str | Path = "runs",
) -> RunResult:
    """Start a new run: read the targets, plan the chunks, compute every star in the
    supervised pool, checkpoint each finished chunk and merge the tables at the end.

    Parameters
    ----------
    csv_path : str or Path
        The target CSV (a TOI or KOI table as downloaded, or one id per row).
    settings : Settings
        From :func:`load_settings` (a preset by name, a TOML file, overrides).
    out_dir : str or Path, optional
        The run folder to create; it must not hold another run. Default:
        ``runs_root/<time>-<csv name>``.
    progress : Progress, optional
        Where progress goes (the CLI's bar or plain lines); default: nowhere.
    runs_root : str or Path, default "runs"
        The parent of the default run folder.

    Returns
    -------
    RunResult
        Counts by status in rows (candidates) and in stars, the tables' paths, warnings
        and whether the run is complete.

    Raises
    ------
    InputError
        The CSV or the settings are unusable (the message says what to fix).
    RunDirError
        ``out_dir`` is taken by another run, or is a file.
    CheckpointError
        A checkpoint could not be written (disk full); finished chunks are kept.
    WorkersUnavailable
        No worker process could be started; finished targets are kept.

    Examples
    --------
    >>> settings = load_settings("default", {"source": "synthetic", "workers": 1})
    >>> result = start_run(targets_csv, settings, out_dir=tmp / "first")
    >>> result.complete, result.counts, result.stars
    (True, {'ok': 2}, 2)
    """
    policy = policy_for(settings)
    if settings.executor == "local":
        check_main_module(policy.start_method)
    warm_workers(settings, policy)
    targets = read_input(csv_path, settings)
    run_dir = Path(out_dir) if out_dir else new_run_dir(Path(runs_root), Path(csv_path))
    RunFolder.check_free(run_dir)
    plugin_path = os.getcwd()
    prepared = _prepare(targets, settings, policy, Path(csv_path).resolve().parent, plugin_path)
    try:
        folder = RunFolder.create(run_dir, Path(csv_path), targets, settings, plugin_path)
    except BaseException:
        prepared.close()
        raise
    return _execute(folder, targets, settings, prepared, progress or NullProgress(), retry=())


def resume_run(
    run_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
    runs_root: str | Path = "runs",
) -> RunResult:
    """Continue a run where it stopped: nothing checkpointed is computed again, and every
    target ends up once in the tables.

    Parameters
    ----------
    run_dir : str or Path, optional
        The run folder; default: the latest run under ``runs_root``.
    overrides : mapping, optional
        Settings to change for the rest of the run (workers, timeout, ...). Settings that
        change results are refused unless ``force``.
    force : bool, default False
        Resume with result-changing settings anyway, or a complete run again.
    retry_failed : bool, default False
        Also compute again the targets that did not succeed.
    progress : Progress, optional
        Where progress goes; default: nowhere.
    runs_root : str or Path, default "runs"
        Where to look for the latest run.

    Returns
    -------
    RunResult
        As :func:`start_run`'s; ``computed`` counts only what this call computed.

    Raises
    ------
    RunDirError
        Not a run folder, its input is gone, or the settings differ (without ``force``).

    Examples
    --------
    >>> again = resume_run(run_dir)  # a complete run: answered from its summary
    >>> again.complete, again.computed
    (True, 0)
    """
    started = time.monotonic()
    folder = RunFolder.open(Path(run_dir) if run_dir else latest_run(Path(runs_root)))
    run_dir = folder.path
    old = folder.settings
    settings = _apply_overrides(old, overrides or {})
    changed = result_differences(old, settings)
    if changed and not force:
        raise RunDirError(
            f"{run_dir}: resuming with different {', '.join(changed)} would mix two "
            "configurations in one table — drop those options, or pass --force"
        )
    csv_path = folder.input_path
    if not csv_path.exists():
        raise RunDirError(f"{run_dir}: its input {csv_path} is gone — put it back to resume")
    if not retry_failed and not force:
        finished = _finished(folder, started)
        if finished is not None:
            return finished
    policy = policy_for(settings)
    if settings.executor == "local":
        check_main_module(policy.start_method)
    warm_workers(settings, policy)
    targets = read_input(csv_path, settings)
    if targets.sha256 != folder.input_sha256 and not force:
        raise RunDirError(
            f"{run_dir}: input {csv_path} changed since the run started — restore it, or "
            "pass --force to continue with the new file (finished targets are kept)"
        )
    prepared = _prepare(targets, settings, policy, csv_path.parent, folder.plugin_path)
    folder.adopt(settings, targets)
    return _execute(
        folder,
        targets,
        settings,
        prepared,
        progress or NullProgress(),
        retry=RETRYABLE if retry_failed else (),
    )


# ---------------------------------------------------------------------- the work
@dataclass
class _Prepared:
    """What is checked before a run folder is touched: files located, plugins probed."""

    located: Mapping[str, tuple[str, ...]]
    policy: Policy
    warnings: list[str]
    cluster: DaskExecutor | None = None  # connected (--executor dask), reached before any write

    def close(self) -> None:
        """Give back a cluster that will not be used (the run could not start)."""
        if self.cluster is not None:
            self.cluster.close()


def _prepare(
    targets: TargetList,
    settings: Settings,
    policy: Policy,
    base_dir: Path,
    plugin_path: str | None,
) -> _Prepared:
    """Start-up checks that can fail on user error, before any state is written."""
    for spec in settings.extra_features:
        plugins.load(spec, plugin_path)
    firsts = [replace(star[0], key=star[0].target_id) for star in group_stars(targets.targets)]
    located = get_source(settings.source).locate(firsts, settings, base_dir)
    warnings = list(targets.warnings)
    note = workers_note(settings)
    if note:
        warnings.append(note)
    if settings.extra_features and targets.targets:
        warnings.extend(_probe_plugins(settings, targets.targets[0], plugin_path, policy))
    cluster = None
    if settings.executor == "dask":
        from exoextract.execution.dask_cluster import DaskExecutor

        cluster = DaskExecutor(run_task, policy, settings.scheduler, attempt_hook=_with_attempt)
        cluster.connect()
    return _Prepared(located, policy, warnings, cluster)


def _execute(
    folder: RunFolder,
    targets: TargetList,
    settings: Settings,
    prepared: _Prepared,
    progress: Progress,
    retry: Sequence[str],
) -> RunResult:
    started = time.monotonic()
    done = folder.done_keys(retry)
    keys = [t.key for t in targets.targets]
    previously_done = sum(1 for k in keys if k in done)  # rows
    stars = group_stars(targets.targets)
    if settings.schedule == "biggest-first":
        stars = biggest_first(stars, prepared.located)
    chunks = plan_chunks(stars, settings.chunk_size)
    policy = prepared.policy
    workers = policy.workers
    folder.begin_session(chunks, done, workers)

    todo = [
        (index, left)
        for index, chunk in enumerate(chunks)
        for star in chunk
        if (left := [t for t in star if t.key not in done])
    ]
    interrupted: int | None = None
    unavailable: list[WorkersUnavailable] = []  # no worker could be started: ends the run
    computed = 0
    warnings = list(prepared.warnings)
    events: list[str] = []
    sup: Executor
    if prepared.cluster is not None:
        prepared.cluster.set_log(progress.log)
        sup = prepared.cluster
    else:
        sup = Supervisor(run_task, policy, log=progress.log, attempt_hook=_with_attempt)
    stage = _archive_stage(settings, policy, sup, progress.log)
    stars_done = sum(1 for chunk in chunks for star in chunk if all(t.key in done for t in star))
    threading.Thread(target=warm, name="exoextract-merge-warm", daemon=True).start()
    progress.start(
        sum(len(c) for c in chunks), stars_done, workers, str(folder.path), rows=len(keys)
    )
    archive: dict[str, int] = {}
    release = stage.release if stage is not None and not settings.keep_files else None
    checkpoints = _Checkpoints(folder, todo, done, release)
    try:
        tasks = [
            (star[0].target_id, task_for(star, settings, prepared.located, folder.plugin_path))
            for _, star in todo
        ]
        with _signals_to(sup), _keeping(unavailable):
            for outcome in sup.run(tasks):
                computed += 1
                progress.advance(outcome)
                notes = (outcome.data or {}).get("notes") or ()
                warnings += [f"{outcome.key}: {note}" for note in notes]
                checkpoints.add(outcome)
            interrupted = sup.stopped_by
        checkpoints.save_partial()  # partly finished chunks of an interrupted run
    finally:
        progress.finish()
        events.extend(sup.stats.events)
        sup.close()
        archive = stage.counts() if stage is not None else {}
        folder.end_session(
            done,
            {
                "computed": computed,
                "rebuilds": sup.stats.rebuilds,
                "sequential_fallback": sup.stats.sequential_fallback,
                "events": events,
                **({"archive": archive} if archive else {}),
            },
        )

    result = _result(
        folder, targets, settings, sup.stats, interrupted, stars_done,
        RunResult(
            run_dir=folder.path, run_id=folder.run_id, total=len(keys), counts={},
            computed=computed, previously_done=previously_done,
            elapsed=time.monotonic() - started, complete=False, workers=workers,
            warnings=warnings, events=events, archive=archive, stars=len(stars),
        ),
    )  # fmt: skip
    if unavailable:
        raise unavailable[0]
    return result


def _result(
    folder: RunFolder,
    targets: TargetList,
    settings: Settings,
    stats: Any,
    interrupted: int | None,
    stars_done: int,
    result: RunResult,
) -> RunResult:
    """The run's result from its checkpoints: complete when every row has one (and no
    signal stopped it), then merged into its tables; the run folder told either way."""
    keys = [t.key for t in targets.targets]
    frame = folder.store.load()
    frame = frame[frame["key"].isin(set(keys))]
    complete = interrupted is None and set(frame["key"]) >= set(keys)
    result = replace(
        result,
        counts=dict(Counter(frame["status"])),
        complete=complete,
        rebuilds=stats.rebuilds,
        sequential_fallback=stats.sequential_fallback,
        interrupted_by=interrupted,
        star_counts=star_counts(frame),
        stars_previously_done=stars_done,
    )
    if complete:
        merged = merge(folder.path, frame, targets, settings, folder.run_id)
        result.features_path = merged.features_path
        result.signals_path = merged.signals_path
        result.failures_path = merged.failures_path
        result.failures = merged.failures
        result.warnings.extend(merged.warnings)
    folder.finish(complete, result.to_dict())
    return result


class _Checkpoints:
    """The finished stars of each chunk, held until the chunk is whole and then written as
    its checkpoint (and, without ``keep_files``, their downloaded files released)."""

    def __init__(
        self,
        folder: RunFolder,
        todo: list[tuple[int, list[Target]]],
        done: set[str],
        release: Callable[[list[str]], None] | None,
    ) -> None:
        self.folder, self.done, self.release = folder, done, release
        self.chunk_of = {star[0].target_id: i for i, star in todo}
        self.rows_of = {star[0].target_id: star for _, star in todo}
        self.remaining = Counter(self.chunk_of.values())
        self.buffers: dict[int, list[dict[str, Any]]] = {}
        self.ended: dict[int, list[str]] = {}  # the stars of each chunk in the buffers

    def add(self, outcome: Any) -> None:
        index = self.chunk_of[outcome.key]
        self.buffers.setdefault(index, []).extend(
            checkpoint_rows(outcome, self.rows_of[outcome.key])
        )
        self.ended.setdefault(index, []).append(outcome.key)
        self.remaining[index] -= 1
        if self.remaining[index] == 0:
            self._write(index, self.folder.chunk_done)

    def save_partial(self) -> None:
        """What is finished of the chunks an interruption left unfinished."""
        for index in sorted(self.buffers):
            self._write(index, self.folder.save_partial)

    def _write(self, index: int, write: Callable[[int, list[dict[str, Any]]], Any]) -> None:
        rows = self.buffers.pop(index)
        write(index, rows)
        self.done.update(r["key"] for r in rows)
        if self.release is not None:  # checkpointed: the star's files may go
            self.release(self.ended.pop(index, []))


@contextlib.contextmanager
def _keeping(caught: list[WorkersUnavailable]) -> Iterator[None]:
    """Hold a :class:`WorkersUnavailable` until the finished targets of unfinished chunks
    are saved and the run folder says where the run stands; it is raised after."""
    try:
        yield
    except WorkersUnavailable as error:
        caught.append(error)


def _finished(folder: RunFolder, started: float) -> RunResult | None:
    """A complete run whose input is unchanged, as its summary says it ended: nothing to
    read, plan or merge again (None when the run needs the full path)."""
    import hashlib
    import json

    if folder.state != "complete":
        return None
    try:
        digest = hashlib.sha256(folder.input_path.read_bytes()).hexdigest()
        summary = json.loads((folder.path / SUMMARY).read_text())
    except (OSError, ValueError):
        return None
    if digest != folder.input_sha256 or not summary.get("complete"):
        return None
    paths = {
        key: Path(summary[key]) if summary.get(key) else None
        for key in ("features_path", "failures_path", "signals_path")
    }
    if not all(path is not None and path.exists() for path in paths.values()):
        return None
    return RunResult(
        run_dir=folder.path,
        run_id=folder.run_id,
        total=int(summary["total"]),
        counts=dict(summary["counts"]),
        computed=0,
        previously_done=int(summary["total"]),
        elapsed=time.monotonic() - started,
        complete=True,
        workers=int(summary.get("workers") or 0),
        features_path=paths["features_path"],
        failures_path=paths["failures_path"],
        signals_path=paths["signals_path"],
        failures=list(summary.get("failures") or []),
        warnings=["the run was already complete: nothing to do"],
        archive=dict(summary.get("archive") or {}),
        stars=int(summary.get("stars") or 0),
        star_counts=dict(summary.get("star_counts") or {}),
        stars_previously_done=int(summary.get("stars") or 0),
    )


def star_counts(frame: Any) -> dict[str, int]:
    """Stars by status (a star's rows share its outcome; the first row's counts)."""
    if frame.empty or "target_id" not in frame:
        return {}
    return dict(Counter(frame.drop_duplicates("target_id")["status"]))


def _with_attempt(task: Task, attempt: int) -> Task:
    return replace(task, attempt=attempt)


def _archive_stage(
    settings: Settings, policy: Policy, sup: Executor, log: Callable[[str], None]
) -> ArchiveStage | None:
    """Searches and downloads ahead of the executor, for the archive source online. On a
    Dask cluster only the searches: each worker downloads its own target's files."""
    if settings.source != "mast" or settings.offline:
        return None
    from exoextract.archive.options import stage_config

    local = isinstance(sup, Supervisor)
    config = stage_config(settings, policy.workers, download=local)
    stage = ArchiveStage(config, policy, sup.stats, log)
    sup.upstream = stage
    return stage


@contextlib.contextmanager
def _signals_to(sup: Executor) -> Iterator[None]:
    """Route SIGINT/SIGTERM to the supervisor while it runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: object) -> None:
        sup.stop(signum)

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# ---------------------------------------------------------------------- helpers
def _probe_plugins(
    settings: Settings, sample: Target, plugin_path: str | None, policy: Policy
) -> list[str]:
    """Run the plugins once, supervised, on a synthetic star to learn their columns."""
    from exoextract.star.entry import probe_plugins

    task = Task(
        key="plugin-probe",
        target_id="probe",
        mission="TESS",
        number=0,
        settings=settings,
        candidates=(Candidate(key="plugin-probe", row=dict(sample.row)),),
        plugin_path=plugin_path,
    )
    probe_policy = replace(policy, workers=1, retries=0, timeout=min(policy.timeout, 120.0))
    with Supervisor(probe_plugins, probe_policy) as sup:
        outcomes = list(sup.run([("plugin-probe", task)]))
    if not outcomes or not outcomes[0].ok:
        why = outcomes[0].message if outcomes else "interrupted"
        return [
            f"could not try the extra features on a test star ({why}); "
            "their columns are checked per target instead"
        ]
    columns = list((outcomes[0].data or {}).get("columns", []))
    clash = sorted(set(columns) & reserved_columns())
    if clash:
        raise InputError(
            f"extra feature column(s) {', '.join(clash)} clash with built-in "
            "columns — rename them in your plugin"
        )
    return []


def _apply_overrides(old: Settings, overrides: Mapping[str, Any]) -> Settings:
    from exoextract.settings import load_settings

    base = {k: v for k, v in old.to_dict().items()}
    base.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(None, base)
