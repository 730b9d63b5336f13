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
import datetime as dt
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from exoextract import __version__, features, plugins
from exoextract.attempts import Outcome, Policy
from exoextract.checkpoint import CheckpointStore, write_json, write_parquet
from exoextract.errors import InputError, RunDirError
from exoextract.extract import OUTCOME_COLUMNS, SOURCE_COLUMNS, reserved_columns
from exoextract.progress import NullProgress, Progress
from exoextract.resources import default_workers
from exoextract.settings import (
    Settings,
    result_differences,
    result_fingerprint,
    settings_from_dict,
)
from exoextract.sources import get_source
from exoextract.supervisor import Prefetch, Supervisor
from exoextract.targets import Target, TargetList, read_targets
from exoextract.task import Candidate, Task

MANIFEST = "manifest.json"
FORMAT = 1
RETRYABLE = ("failed", "timed_out", "crashed", "memory_exceeded", "quarantined")


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
    failures: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    rebuilds: int = 0
    sequential_fallback: bool = False
    interrupted_by: int | None = None

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
            "computed_this_session": self.computed,
            "previously_done": self.previously_done,
            "elapsed_seconds": round(self.elapsed, 2),
            "workers": self.workers,
            "pool_rebuilds": self.rebuilds,
            "sequential_fallback": self.sequential_fallback,
            "features_path": str(self.features_path) if self.features_path else None,
            "failures_path": str(self.failures_path) if self.failures_path else None,
            "failures": self.failures,
            "warnings": self.warnings,
            "events": self.events,
        }


# ---------------------------------------------------------------------- entry points
def start_run(
    csv_path: str | Path,
    settings: Settings,
    out_dir: str | Path | None = None,
    progress: Progress | None = None,
    runs_root: str | Path = "runs",
) -> RunResult:
    """Start a new run of ``csv_path`` into ``out_dir`` (default runs/<time>-<name>)."""
    targets = _read(csv_path, settings)
    run_dir = Path(out_dir) if out_dir else _new_run_dir(Path(runs_root), Path(csv_path))
    if (run_dir / MANIFEST).exists():
        raise RunDirError(
            f"{run_dir} already holds a run — continue it with "
            f"`exoextract resume {run_dir}` or choose another --out"
        )
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RunDirError(f"{run_dir} is not empty — choose another --out")
    prepared = _prepare(targets, settings, Path(csv_path).resolve().parent, os.getcwd())
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "run_id": uuid.uuid4().hex[:12],
        "created": _now(),
        "exoextract_version": __version__,
        "input": {
            "path": str(Path(csv_path).resolve()),
            "sha256": targets.sha256,
            "rows": len(targets),
            "id_column": targets.id_column,
        },
        "settings": settings.to_dict(),
        "result_fingerprint": result_fingerprint(settings),
        "plugin_path": os.getcwd(),
        "status": "running",
        "sessions": [],
    }
    write_json(run_dir / MANIFEST, manifest, f"check that {run_dir} is writable")
    return _execute(
        run_dir, manifest, targets, settings, prepared, progress or NullProgress(), retry=()
    )


def resume_run(
    run_dir: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
    retry_failed: bool = False,
    progress: Progress | None = None,
    runs_root: str | Path = "runs",
) -> RunResult:
    """Continue a run: nothing checkpointed is recomputed; each target ends up once."""
    run_dir = Path(run_dir) if run_dir else latest_run(Path(runs_root))
    manifest = load_manifest(run_dir)
    old = settings_from_dict(manifest["settings"])
    settings = _apply_overrides(old, overrides or {})
    changed = result_differences(old, settings)
    if changed and not force:
        raise RunDirError(
            f"{run_dir}: resuming with different {', '.join(changed)} would mix two "
            "configurations in one table — drop those options, or pass --force"
        )
    csv_path = Path(manifest["input"]["path"])
    if not csv_path.exists():
        raise RunDirError(f"{run_dir}: its input {csv_path} is gone — put it back to resume")
    targets = _read(csv_path, settings)
    if targets.sha256 != manifest["input"]["sha256"] and not force:
        raise RunDirError(
            f"{run_dir}: input {csv_path} changed since the run started — restore it, or "
            "pass --force to continue with the new file (finished targets are kept)"
        )
    prepared = _prepare(targets, settings, csv_path.parent, manifest.get("plugin_path"))
    manifest["settings"] = settings.to_dict()
    manifest["result_fingerprint"] = result_fingerprint(settings)
    manifest["input"].update(sha256=targets.sha256, rows=len(targets))
    return _execute(
        run_dir,
        manifest,
        targets,
        settings,
        prepared,
        progress or NullProgress(),
        retry=RETRYABLE if retry_failed else (),
    )


def _read(csv_path: str | Path, settings: Settings) -> TargetList:
    return read_targets(
        csv_path, settings.mission, settings.column_mapping(), settings.skip_bad_rows
    )


def latest_run(runs_root: Path) -> Path:
    """The run folder under ``runs_root`` whose manifest changed last."""
    manifests = sorted(runs_root.glob(f"*/{MANIFEST}"), key=lambda p: p.stat().st_mtime)
    if not manifests:
        raise RunDirError(
            f"no run found under {runs_root}/ — give the run folder: exoextract resume RUN_DIR"
        )
    return manifests[-1].parent


def load_manifest(run_dir: Path) -> dict[str, Any]:
    import json

    path = run_dir / MANIFEST
    if not path.exists():
        raise RunDirError(f"{run_dir} is not a run folder (no {MANIFEST}) — check the path")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RunDirError(
            f"{path} is unreadable ({error}) — it is not a run you can resume"
        ) from None
    if manifest.get("format") != FORMAT:
        raise RunDirError(f"{run_dir} was written by an incompatible exoextract version")
    return manifest


# ---------------------------------------------------------------------- the work
@dataclass
class _Prepared:
    """What is checked before a run folder is touched: files located, plugins probed."""

    located: Mapping[str, tuple[str, ...]]
    workers: int
    warnings: list[str]


def _prepare(
    targets: TargetList, settings: Settings, base_dir: Path, plugin_path: str | None
) -> _Prepared:
    """Start-up checks that can fail on user error, before any state is written."""
    for spec in settings.extra_features:
        plugins.load(spec, plugin_path)
    stars = [replace(star[0], key=star[0].target_id) for star in _stars(targets.targets)]
    located = get_source(settings.source).locate(stars, settings, base_dir)
    workers = settings.workers or default_workers(settings.max_memory_per_worker)
    warnings = list(targets.warnings)
    if settings.extra_features and targets.targets:
        warnings.extend(
            _probe_plugins(settings, targets.targets[0], plugin_path, _policy(settings, 1))
        )
    return _Prepared(located, workers, warnings)


def _execute(
    run_dir: Path,
    manifest: dict[str, Any],
    targets: TargetList,
    settings: Settings,
    prepared: _Prepared,
    progress: Progress,
    retry: Sequence[str],
) -> RunResult:
    started = time.monotonic()
    store = CheckpointStore(run_dir)
    store.remove_temporaries()
    done = store.done_keys(retry)
    keys = [t.key for t in targets.targets]
    previously_done = sum(1 for k in keys if k in done)
    stars = _stars(targets.targets)
    if settings.schedule == "biggest-first":
        stars = biggest_first(stars, prepared.located)
    chunks = _plan(stars, settings.chunk_size)
    workers = prepared.workers
    session = {"started": _now(), "workers": workers, "pid": os.getpid()}
    manifest["sessions"].append(session)
    manifest["status"] = "running"
    _record_progress(manifest, chunks, done)
    _save_manifest(run_dir, manifest)

    plugin_path = manifest.get("plugin_path")
    todo: list[tuple[int, list[Target]]] = []
    for index, chunk in enumerate(chunks):
        for star in chunk:
            left = [t for t in star if t.key not in done]
            if left:
                todo.append((index, left))
    policy = _policy(settings, workers)
    interrupted: int | None = None
    computed = 0
    warnings = list(prepared.warnings)
    events: list[str] = []
    sup = Supervisor(
        _task_function(),
        policy,
        log=progress.log,
        attempt_hook=_with_attempt,
        prefetch=_prefetch_stage(settings, workers),
    )
    stars_done = sum(1 for chunk in chunks for star in chunk if all(t.key in done for t in star))
    progress.start(sum(len(c) for c in chunks), stars_done, workers, str(run_dir))
    try:
        tasks = [
            (star[0].target_id, _task(star, settings, prepared.located, plugin_path))
            for _, star in todo
        ]
        chunk_of = {star[0].target_id: i for i, star in todo}
        rows_of = {star[0].target_id: star for _, star in todo}
        remaining = Counter(chunk_of.values())
        buffers: dict[int, list[dict[str, Any]]] = {}
        with _signals_to(sup):
            for outcome in sup.run(tasks):
                computed += 1
                progress.advance(outcome)
                for note in (outcome.data or {}).get("notes") or ():
                    warnings.append(f"{outcome.key}: {note}")
                index = chunk_of[outcome.key]
                buffers.setdefault(index, []).extend(
                    _row(outcome, target) for target in rows_of[outcome.key]
                )
                remaining[index] -= 1
                if remaining[index] == 0:
                    rows = buffers.pop(index)
                    store.write(index, rows)
                    done.update(r["key"] for r in rows)
                    _chunk_finished(manifest, len(rows))
                    _save_manifest(run_dir, manifest)
            interrupted = sup.stopped_by
        for index in sorted(buffers):  # partly finished chunks of an interrupted run
            rows = buffers.pop(index)
            store.write(index, rows)
            done.update(r["key"] for r in rows)
    finally:
        progress.finish()
        events.extend(sup.stats.events)
        sup.close()
        session.update(
            ended=_now(),
            computed=computed,
            rebuilds=sup.stats.rebuilds,
            sequential_fallback=sup.stats.sequential_fallback,
            events=events,
        )
        with contextlib.suppress(Exception):
            _record_progress(manifest, chunks, done)
            manifest["status"] = "interrupted"
            _save_manifest(run_dir, manifest)

    frame = store.load()
    frame = frame[frame["key"].isin(set(keys))]
    complete = interrupted is None and set(frame["key"]) >= set(keys)
    result = RunResult(
        run_dir=run_dir,
        run_id=manifest["run_id"],
        total=len(keys),
        counts=dict(Counter(frame["status"])),
        computed=computed,
        previously_done=previously_done,
        elapsed=time.monotonic() - started,
        complete=complete,
        workers=workers,
        warnings=warnings,
        events=events,
        rebuilds=sup.stats.rebuilds,
        sequential_fallback=sup.stats.sequential_fallback,
        interrupted_by=interrupted,
    )
    if complete:
        _merge(run_dir, frame, targets, settings, result)
    manifest["status"] = "complete" if complete else "interrupted"
    manifest["updated"] = _now()
    _save_manifest(run_dir, manifest)
    write_json(run_dir / "summary.json", result.to_dict(), store.hint)
    return result


def _task_function() -> Any:
    from exoextract.worker import run_task

    return run_task


def _with_attempt(task: Task, attempt: int) -> Task:
    return replace(task, attempt=attempt)


def _prefetch_stage(settings: Settings, workers: int) -> Prefetch | None:
    """Downloads in their own pool, ahead of the CPU workers (sources that download)."""
    if settings.offline or not hasattr(get_source(settings.source), "prefetch"):
        return None
    from exoextract.worker import run_prefetch

    return Prefetch(
        function=run_prefetch,
        attach=_attach_downloads,
        workers=settings.max_downloads,
        timeout=settings.download_timeout,
        ahead=2 * workers + settings.max_downloads,
    )


def _attach_downloads(task: Task, data: Mapping[str, Any]) -> Task:
    return replace(
        task,
        paths=tuple(data.get("paths") or ()),
        notes=task.notes + tuple(data.get("notes") or ()),
        repaired=task.repaired + int(data.get("repaired") or 0),
    )


def _policy(settings: Settings, workers: int) -> Policy:
    os.environ["EXOEXTRACT_TLS_BACKEND"] = settings.tls_backend
    return Policy(
        workers=workers,
        timeout=settings.timeout,
        retries=settings.retries,
        backoff_base=settings.backoff_base,
        backoff_max=settings.backoff_max,
        max_tasks_per_worker=settings.max_tasks_per_worker,
        quarantine_after=settings.quarantine_after,
        pool_rebuilds=settings.pool_rebuilds,
        kill_grace=settings.kill_grace,
        stop_grace=settings.stop_grace,
        stall_margin=settings.stall_margin,
        max_memory=settings.max_memory_per_worker,
        preload=("exoextract.preload",),
    )


def _task(
    star: list[Target],
    settings: Settings,
    located: Mapping[str, tuple[str, ...]],
    plugin_path: str | None,
) -> Task:
    first = star[0]
    return Task(
        key=first.target_id,
        target_id=first.target_id,
        mission=first.mission,
        number=first.number,
        settings=settings,
        candidates=tuple(
            Candidate(
                key=t.key,
                period=t.period,
                t0=t.t0,
                duration=t.duration,
                depth=t.depth,
                row=dict(t.row),
            )
            for t in star
        ),
        paths=tuple(located.get(first.target_id, ())),
        plugin_path=plugin_path,
    )


def _row(outcome: Outcome, target: Target) -> dict[str, Any]:
    """One checkpoint row: a candidate (or star) with its star's outcome."""
    row: dict[str, Any] = {
        "key": target.key,
        "target_id": target.target_id,
        "candidate": target.candidate,
        "status": outcome.status,
        "error_type": outcome.error_type,
        "message": outcome.message,
        "attempts": outcome.attempts,
        "seconds": outcome.seconds,
        "exit_code": outcome.exit_code,
    }
    rows = (outcome.data or {}).get("rows") or {}
    row.update(rows.get(target.key) or {})
    return row


def tasks_for(
    targets: Sequence[Target],
    settings: Settings,
    plugin_path: str | None = None,
    located: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Task]:
    """The tasks a run would submit for ``targets``: one per star, its candidates inside.

    ``located`` maps a star's ``target_id`` to its light-curve files (local source).
    """
    return [_task(star, settings, located or {}, plugin_path) for star in _stars(targets)]


def star_task(run_dir: str | Path, name: str) -> tuple[Task, list[Target]]:
    """The task a run would submit for the star of ``name`` (a target id or candidate, in
    any spacing or case: 'TIC 100', 'tic100', 'TOI-185.01'), and its rows."""
    run_dir = Path(run_dir)
    manifest = load_manifest(run_dir)
    settings = settings_from_dict(manifest["settings"])
    csv_path = Path(manifest["input"]["path"])
    if not csv_path.exists():
        raise RunDirError(f"{run_dir}: its input {csv_path} is gone — put it back to plot a star")
    targets = _read(csv_path, settings)
    wanted = _plain(name)
    matches = [
        t
        for t in targets.targets
        if wanted in {_plain(t.key), _plain(t.target_id), _plain(t.candidate or "")}
    ]
    if not matches:
        known = ", ".join(t.key for t in targets.targets[:5])
        raise InputError(
            f"{name!r} is not a target of {run_dir} — give a target id or candidate from its "
            f"input (e.g. {known})"
        )
    star = [t for t in targets.targets if t.target_id == matches[0].target_id]
    located = get_source(settings.source).locate(
        [replace(star[0], key=star[0].target_id)], settings, csv_path.parent
    )
    return _task(star, settings, located, manifest.get("plugin_path")), matches


def _plain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch == ".")


def _stars(targets: Sequence[Target]) -> list[list[Target]]:
    """Rows grouped by star, in order of first appearance: one task, one read per star."""
    groups: dict[str, list[Target]] = {}
    for target in targets:
        groups.setdefault(target.target_id, []).append(target)
    return list(groups.values())


def biggest_first(
    stars: Sequence[list[Target]], located: Mapping[str, tuple[str, ...]]
) -> list[list[Target]]:
    """Stars with the most light-curve bytes first (stable: unknown sizes keep their order).

    A run that ends on one long star leaves every other worker idle; started first, the
    long stars overlap with the short ones (longest-processing-time-first scheduling).
    Sizes are known only where files are (the local source); the output keeps the input's
    order whatever the schedule."""

    def size(star: list[Target]) -> int:
        total = 0
        for path in located.get(star[0].target_id, ()):
            with contextlib.suppress(OSError):
                total += os.path.getsize(path)
        return total

    return sorted(stars, key=lambda star: -size(star))


def _plan(stars: Sequence[list[Target]], size: int) -> list[list[list[Target]]]:
    return [list(stars[i : i + size]) for i in range(0, len(stars), size)]


def _record_progress(
    manifest: dict[str, Any], chunks: list[list[list[Target]]], done: set[str]
) -> dict[str, int]:
    """Counters of the plan (computed once per session); the manifest holds only these, so
    rewriting it after each chunk costs the same at chunk 10 as at chunk 10,000."""
    sizes = [sum(len(star) for star in chunk) for chunk in chunks]
    finished = [sum(1 for star in chunk for t in star if t.key in done) for chunk in chunks]
    progress = {
        "chunks": len(chunks),
        "chunks_done": sum(1 for n, f in zip(sizes, finished, strict=True) if f == n),
        "targets": sum(sizes),
        "targets_done": sum(finished),
    }
    manifest["progress"] = progress
    manifest.pop("chunks", None)  # 0.1 listed every chunk's keys here
    manifest.pop("checkpoint_files", None)
    return progress


def _chunk_finished(manifest: dict[str, Any], rows: int) -> None:
    progress = manifest["progress"]
    progress["chunks_done"] += 1
    progress["targets_done"] += rows


def _save_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    manifest["updated"] = _now()
    write_json(
        run_dir / MANIFEST, manifest, f"free some disk space, then run: exoextract resume {run_dir}"
    )


@contextlib.contextmanager
def _signals_to(sup: Supervisor) -> Iterator[None]:
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


# ---------------------------------------------------------------------- merging
def _merge(
    run_dir: Path, frame: pd.DataFrame, targets: TargetList, settings: Settings, result: RunResult
) -> None:
    """Write features.parquet and failures.parquet: each row of the input exactly once."""
    order = {t.key: i for i, t in enumerate(targets.targets)}
    frame = frame.assign(_order=frame["key"].map(order)).sort_values("_order")
    identity = _identity_frame(targets)
    passthrough = _passthrough_frame(targets, result)
    kinds = {c.name: c.kind for c in features.column_specs(settings)}
    feature_cols = list(kinds)
    timing = features.timing_columns(settings)
    known = (
        set(feature_cols) | set(OUTCOME_COLUMNS) | set(SOURCE_COLUMNS) | set(timing) | {"_order"}
    )
    extra = [c for c in frame.columns if c not in known]
    ok = frame[frame["status"] == "ok"]
    table = pd.concat(
        [
            identity.loc[ok["key"]].reset_index(drop=True).drop(columns=["line"]),
            passthrough.loc[ok["key"]].reset_index(drop=True),
        ],
        axis=1,
    )
    columns: dict[str, Any] = {}
    for column in [*feature_cols, *SOURCE_COLUMNS, *timing, *extra]:
        values = ok[column] if column in ok else pd.Series([None] * len(ok))
        series = pd.Series(values).reset_index(drop=True)
        kind = kinds.get(column, "float")
        if kind == "text":
            columns[column] = series.fillna("").astype(str)
        elif kind == "list":
            columns[column] = pd.Series(
                [
                    None
                    if v is None or (isinstance(v, float) and pd.isna(v))
                    else [float(x) for x in v]
                    for v in series
                ],
                dtype=object,
            )
        else:
            columns[column] = pd.to_numeric(series, errors="coerce").astype("float64")
    table = pd.concat([table, pd.DataFrame(columns)], axis=1)
    meta = {
        "schema_version": features.SCHEMA_VERSION,
        "run_id": result.run_id,
        "settings_fingerprint": result_fingerprint(settings),
    }
    hint = f"free disk space, then resume {run_dir}"
    result.features_path = run_dir / "features.parquet"
    write_parquet(result.features_path, table, hint, meta)

    bad = frame[frame["status"] != "ok"]
    outcome_cols = ["status", "error_type", "message", "attempts", "seconds", "exit_code"]
    failures = pd.concat(
        [
            identity.loc[bad["key"]].reset_index(drop=True),
            bad.reindex(columns=outcome_cols).reset_index(drop=True),
            passthrough.loc[bad["key"]].reset_index(drop=True),
        ],
        axis=1,
    )
    failures["attempts"] = pd.to_numeric(failures["attempts"]).astype("Int64")
    failures["exit_code"] = pd.to_numeric(failures["exit_code"]).astype("Int64")
    result.failures_path = run_dir / "failures.parquet"
    write_parquet(result.failures_path, failures, hint, meta)
    shown = ["target_id", "status", "error_type", "message", "attempts", "exit_code"]
    result.failures = [
        {str(k): (None if pd.isna(v) else v) for k, v in rec.items()}
        for rec in failures[shown].head(50).to_dict("records")
    ]
    if "known_reason" in table:
        for key, reason in zip(ok["key"], table["known_reason"], strict=True):
            target = targets.targets[order[key]]
            if reason and (target.period is not None or target.t0 is not None):
                result.warnings.append(
                    f"line {target.line}: {key}: known ephemeris not measured ({reason})"
                )


def _identity_frame(targets: TargetList) -> pd.DataFrame:
    """target_id, then candidate and label when the input has them, and the line."""
    data: dict[str, list[Any]] = {"target_id": [t.target_id for t in targets.targets]}
    if targets.has_candidates:
        data["candidate"] = [t.candidate for t in targets.targets]
    if targets.has_labels:
        data["label"] = [t.label for t in targets.targets]
    data["line"] = [t.line for t in targets.targets]
    return pd.DataFrame(data, index=[t.key for t in targets.targets])


def _passthrough_frame(targets: TargetList, result: RunResult) -> pd.DataFrame:
    """The input's other columns, typed, indexed by key; renamed if they clash."""
    reserved = reserved_columns() - {"candidate", "label"} | {"target_id", "line"}
    if targets.has_candidates:
        reserved.add("candidate")
    if targets.has_labels:
        reserved.add("label")
    rename = {}
    for name in targets.columns:
        if name in reserved:
            rename[name] = f"input_{name}"
            result.warnings.append(
                f"input column {name!r} clashes with an output column; kept as {rename[name]!r}"
            )
    data = {rename.get(c, c): [t.row.get(c) for t in targets.targets] for c in targets.columns}
    frame = pd.DataFrame(data, index=[t.key for t in targets.targets])
    for column in frame.columns:
        if (
            frame[column].map(lambda v: isinstance(v, int) and not isinstance(v, bool)).any()
            and frame[column].map(lambda v: v is None or isinstance(v, int)).all()
        ):
            frame[column] = frame[column].astype("Int64")
    return frame


# ---------------------------------------------------------------------- helpers
def _probe_plugins(
    settings: Settings, sample: Target, plugin_path: str | None, policy: Policy
) -> list[str]:
    """Run the plugins once, supervised, on a synthetic star to learn their columns."""
    from exoextract.worker import probe_plugins

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


def _new_run_dir(root: Path, csv_path: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{stamp}-{csv_path.stem}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stamp}-{csv_path.stem}-{n}"
    return candidate


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
