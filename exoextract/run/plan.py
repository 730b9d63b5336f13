"""The plan of a run: rows grouped by star (one task, one read per star), the order of the
stars, the chunks they are checkpointed in, and the task a star becomes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exoextract.errors import ArchiveUnreachable, InputError, RunDirError, TransientError
from exoextract.execution.attempts import Outcome
from exoextract.run.folder import RunFolder
from exoextract.settings import Settings
from exoextract.sources import get_source
from exoextract.star.task import Candidate, Task
from exoextract.targets import Target, TargetList, read_targets

if TYPE_CHECKING:
    from exoextract.archive.inventory import Inventory

SIGNALS_COLUMN = "signals_json"  # a checkpoint column: the star's signals, on its first row


def read_input(csv_path: str | Path, settings: Settings) -> TargetList:
    return read_targets(
        csv_path, settings.mission, settings.column_mapping(), settings.skip_bad_rows
    )


def group_stars(targets: Sequence[Target]) -> list[list[Target]]:
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


def plan_chunks(stars: Sequence[list[Target]], size: int) -> list[list[list[Target]]]:
    return [list(stars[i : i + size]) for i in range(0, len(stars), size)]


def task_for(
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


def tasks_for(
    targets: Sequence[Target],
    settings: Settings,
    plugin_path: str | None = None,
    located: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Task]:
    """The tasks a run would submit for ``targets``: one per star, its candidates inside.

    ``located`` maps a star's ``target_id`` to its light-curve files (local source).
    """
    return [task_for(star, settings, located or {}, plugin_path) for star in group_stars(targets)]


def checkpoint_rows(outcome: Outcome, star: Sequence[Target]) -> list[dict[str, Any]]:
    """A star's checkpoint rows, one per candidate; the first also carries the star's
    signals (as JSON: ``signals.parquet`` is built from them when the run completes)."""
    rows = [checkpoint_row(outcome, target) for target in star]
    found = (outcome.data or {}).get("signals")
    if rows and found:
        rows[0][SIGNALS_COLUMN] = json.dumps(found)
    return rows


def checkpoint_row(outcome: Outcome, target: Target) -> dict[str, Any]:
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


def star_task(run_dir: str | Path, name: str) -> tuple[Task, list[Target]]:
    """The task a run would submit for the star of ``name`` (a target id or candidate, in
    any spacing or case: 'TIC 100', 'tic100', 'TOI-185.01'), and its rows."""
    run_dir = Path(run_dir)
    folder = RunFolder.open(run_dir)
    settings = folder.settings
    csv_path = folder.input_path
    if not csv_path.exists():
        raise RunDirError(f"{run_dir}: its input {csv_path} is gone — put it back to plot a star")
    targets = read_input(csv_path, settings)
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
    return task_for(star, settings, located, folder.plugin_path), matches


def archive_plan(
    csv_path: str | Path, settings: Settings, measure: bool = True, urls: Path | None = None
) -> Inventory:
    """``exoextract plan``: search every star of the CSV in batches, as a run would, and
    estimate the run (see :mod:`exoextract.archive.inventory`); ``urls``: write the
    download addresses of the files not yet cached, one per line."""
    from exoextract.archive.inventory import take_inventory
    from exoextract.archive.options import stage_config
    from exoextract.execution.policy import local_workers

    targets = read_input(csv_path, settings)
    stars = [(s[0].target_id, s[0].mission, s[0].number) for s in group_stars(targets.targets)]
    workers = local_workers(settings)
    try:
        inventory = take_inventory(stars, settings, workers, measure)
    except TransientError as error:
        where = settings.mast_url or "mast.stsci.edu"
        first = ": ".join((str(error).splitlines() or [""])[0].split(": ")[:2])[:120]
        raise ArchiveUnreachable(
            f"the archive at {where} could not be reached ({first}) — check the network "
            "(or --mast-url), then run plan again"
        ) from None
    inventory.warnings[:0] = list(targets.warnings)
    config = stage_config(settings, workers)
    inventory.keep_files = settings.keep_files
    inventory.in_flight = workers + config.ahead + settings.chunk_size  # chunk: checkpoint
    inventory.disk_free = _free_bytes(config.cache_root)
    if urls is not None:
        try:
            urls.write_text("".join(f"{u}\n" for u in inventory.urls(settings)))
        except OSError as error:
            raise InputError(
                f"cannot write {urls}: {error.strerror or error} — choose another --urls file"
            ) from None
    return inventory


def _free_bytes(path: Path) -> int | None:
    """Free bytes on the disk that holds ``path`` (its nearest existing parent)."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def _plain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch == ".")
