"""One star of a run, as the task its run would submit, and the rows the run stored for it:
for ``plot`` and the report's diagnostic sheets, which redraw a star from its light curve
with the run's settings and show the run's own numbers."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from exoextract.errors import InputError, RunDirError
from exoextract.run.checkpoint import SIGNALS_COLUMN, CheckpointStore
from exoextract.run.folder import RunFolder
from exoextract.run.plan import read_input, task_for
from exoextract.sources import get_source
from exoextract.star.task import Task
from exoextract.targets import Target


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


def stored_rows(
    run_dir: str | Path, keys: list[str]
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]] | None:
    """The rows the run checkpointed for a star's ``keys`` (its candidates) and the star's
    signals, as :func:`exoextract.star.rows.star_rows` gave them to the run; None unless
    every key finished ``ok`` (a failed or unfinished star is recomputed instead)."""
    found = CheckpointStore(Path(run_dir)).rows_of(keys)
    if set(found) != set(keys) or any(row.get("status") != "ok" for row in found.values()):
        return None
    signals: list[dict[str, Any]] = []
    for row in found.values():
        text = row.pop(SIGNALS_COLUMN, None)
        if isinstance(text, str):
            signals = json.loads(text)
    if not signals and any(row.get("match") == "signal" for row in found.values()):
        return None  # a checkpoint from before signals were stored with it: recompute
    return found, signals


def merged_verdicts(
    run_dir: str | Path, target: Target, row: dict[str, Any], signals: list[dict[str, Any]]
) -> None:
    """Give a star's ``row`` (the one of ``target``) and its ``signals``, in place, the
    verdicts the run's merge wrote into its tables across its stars
    (:data:`~exoextract.run.merge.VERDICT_COLUMNS`: the ephemeris match, and the vetting
    flag it can turn), where the run has written them: a worker's row cannot know that
    another star of the run has its period and epoch. A row that is a signal takes its
    signal's, as in the tables."""
    import pandas as pd

    from exoextract.run.merge import VERDICT_COLUMNS

    run_dir = Path(run_dir)
    tables = run_dir / "signals.parquet", run_dir / "features.parquet"
    if not all(path.is_file() for path in tables):
        return  # not merged yet: the worker's verdicts are all there is
    only = [("target_id", "==", target.target_id)]
    merged_signals = pd.read_parquet(tables[0], filters=only)
    by_number = {int(r["signal"]): r for r in merged_signals.to_dict("records")}
    for found in signals:
        merged = by_number.get(int(found.get("signal", 0)))
        if merged is not None:
            found.update({c: merged[c] for c in VERDICT_COLUMNS if c in merged})
    if row.get("match") == "signal":
        chosen = [s for s in signals if s.get("signal") == row.get("match_signal")]
        if chosen:
            row.update({c: chosen[0][c] for c in VERDICT_COLUMNS if c in chosen[0]})
        return
    rows = pd.read_parquet(tables[1], filters=only)
    if "candidate" in rows.columns and target.candidate is not None:
        rows = rows[rows["candidate"] == target.candidate]
    if len(rows) == 1:
        merged_row = rows.iloc[0]
        row.update({c: merged_row[c] for c in VERDICT_COLUMNS if c in merged_row.index})


def _plain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch == ".")
