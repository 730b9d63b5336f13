"""``exoextract export``: a finished run's table as one CSV or Parquet file for pandas or
scikit-learn, with the identity, the label and the input catalog's own columns kept beside
the chosen feature families, and optionally the targets that did not succeed; or, with
``signals``, its signals table (one row per signal, the unit classifiers learn from).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from exoextract import features
from exoextract.errors import InputError, RunDirError
from exoextract.run.checkpoint import atomic_write_bytes, write_parquet
from exoextract.run.status import run_status
from exoextract.star.extract import SOURCE_COLUMNS

FORMATS = ("csv", "parquet")
# Column groups that are not feature families but may be picked with --columns.
EXTRA_GROUPS = {
    "timing": "seconds spent per stage and family (seconds_*)",
    "source": "files read, re-downloaded and left out (n_files, n_redownloaded, ...unreadable)",
}
IDENTITY = ("target_id", "candidate", "label")
OUTCOME = ("status", "error_type", "message", "attempts", "exit_code")


@dataclass
class Exported:
    """What :func:`export_run` wrote."""

    path: Path
    format: str
    rows: int
    columns: int
    failures: int


def export_run(
    run_dir: str | Path,
    path: str | Path,
    fmt: str | None = None,
    include_failures: bool = False,
    groups: Sequence[str] | None = None,
    signals: bool = False,
    partial: bool = False,
) -> Exported:
    """Write a run's features (and failures), or its signals, to one CSV or Parquet file.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    path : str or Path
        The file to write (replaced atomically).
    fmt : {"csv", "parquet"}, optional
        Default: from ``path``'s suffix.
    include_failures : bool, default False
        Add the targets that did not succeed, with ``status``, ``error_type``, ``message``.
    groups : sequence of str, optional
        Keep only these feature families (``bls``, ``tls``, ``vet``, ...) beside the
        identity, label and catalog columns.
    signals : bool, default False
        Export the signals table (one row per signal) instead of the features.
    partial : bool, default False
        For a run that is not complete: the stars it has finished (the run is untouched).

    Returns
    -------
    Exported
        The path, format, and the numbers of rows, columns and failures written.

    Raises
    ------
    RunDirError
        The run is not complete (without ``partial``) or has no signals table.
    InputError
        An unknown format or family, or ``signals`` with ``include_failures``.

    Examples
    --------
    >>> written = export_run(run_dir, tmp / "features.csv", groups=["bls", "tls"])
    >>> written.format, written.rows
    ('csv', 2)
    """
    run_dir, path = Path(run_dir), Path(path)
    fmt = _format(path, fmt)
    with _finished_tables(run_dir, partial, "export what is done with --partial") as (folder, _):
        return _export(folder / "features.parquet", run_dir, path, fmt, include_failures,
                       groups, signals, folder / "failures.parquet")  # fmt: skip


@dataclass
class RunTables:
    """A run's three tables, as pandas DataFrames."""

    features: pd.DataFrame  # one row per candidate that succeeded
    signals: pd.DataFrame  # one row per signal found on each star (empty in older runs)
    failures: pd.DataFrame  # one row per target that did not succeed, with the reason
    complete: bool  # False: only the stars finished so far (``partial=True``)


def read_tables(run_dir: str | Path, partial: bool = False) -> RunTables:
    """Read a run's tables into memory.

    Parameters
    ----------
    run_dir : str or Path
        The run's folder (``exoextract run --out``, or ``RunResult.run_dir``).
    partial : bool, default False
        For a run that is not complete: the stars it has finished, merged from its
        checkpoints (the run folder is left as it is). Without it such a run is refused.

    Returns
    -------
    RunTables
        ``features``, ``signals`` and ``failures`` DataFrames and whether the run was
        complete.

    Raises
    ------
    RunDirError
        Not a run folder; not complete and ``partial`` is False; nothing finished yet.

    Examples
    --------
    >>> tables = read_tables(run_dir)
    >>> tables.complete, len(tables.features), tables.failures.empty
    (True, 2, True)
    """
    with _finished_tables(Path(run_dir), partial, "read what is done with partial=True") as (
        folder,
        complete,
    ):
        signals = folder / "signals.parquet"
        failures = folder / "failures.parquet"
        return RunTables(
            features=pd.read_parquet(folder / "features.parquet"),
            signals=pd.read_parquet(signals) if signals.exists() else pd.DataFrame(),
            failures=pd.read_parquet(failures) if failures.exists() else pd.DataFrame(),
            complete=complete,
        )


@contextlib.contextmanager
def _finished_tables(run_dir: Path, partial: bool, how: str) -> Iterator[tuple[Path, bool]]:
    """(the folder holding a run's tables, whether the run is complete): the run folder
    itself, or, with ``partial``, a temporary folder with the tables of the stars an
    unfinished run has finished (the run untouched); an unfinished run without ``partial``
    is refused, ``how`` saying how to take what is done."""
    state = run_status(run_dir)
    if state.features_path is not None:
        yield state.features_path.parent, True
        return
    if not partial:
        raise RunDirError(
            f"{run_dir} is not complete ({sum(state.star_counts.values())} of {state.stars} "
            f"stars, {state.state}) — finish it with `exoextract resume {run_dir}`, or {how}"
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="exoextract-partial-") as tmp:
        _merge_finished(run_dir, Path(tmp))
        yield Path(tmp), False


def _merge_finished(run_dir: Path, into: Path) -> Any:
    """The tables of the stars a run has finished, written into ``into``."""
    from exoextract.run.folder import RunFolder
    from exoextract.run.merge import merge
    from exoextract.run.plan import read_input

    folder = RunFolder.open(run_dir)
    if not folder.input_path.exists():
        raise RunDirError(f"{run_dir}: its input {folder.input_path} is gone — put it back")
    targets = read_input(folder.input_path, folder.settings)
    frame = folder.store.load()
    if frame.empty:
        raise RunDirError(f"{run_dir} has no finished star yet — nothing to export")
    frame = frame[frame["key"].isin({t.key for t in targets.targets})]
    return merge(into, frame, targets, folder.settings, folder.run_id)


def _export(
    features_path: Path,
    run_dir: Path,
    path: Path,
    fmt: str,
    include_failures: bool,
    groups: Sequence[str] | None,
    signals: bool,
    failures_path: Path,
) -> Exported:
    if signals and include_failures:
        raise InputError(
            "--signals and --include-failures do not go together — a target that did not "
            "succeed has no signals; export them in two files"
        )
    source = features_path
    if signals:
        source = features_path.parent / "signals.parquet"
        if not source.exists():
            raise RunDirError(
                f"{run_dir} has no signals.parquet (it was made before signals were kept) — "
                "run it again to find every signal of each star"
            )
    table = pd.read_parquet(source)
    table = select(table, groups)
    failures = 0
    if include_failures:
        bad = pd.read_parquet(failures_path)
        failures = len(bad)
        table = pd.concat(
            [table.assign(status="ok"), bad.drop(columns=["line"], errors="ignore")],
            ignore_index=True,
        )
        table = table[_ordered(list(table.columns), OUTCOME)]
    hint = f"check that {path.parent} exists and is writable"
    if fmt == "parquet":
        write_parquet(path, table, hint)
    else:
        blob = _csv(table).encode()
        atomic_write_bytes(path, lambda handle: handle.write(blob), hint)
    return Exported(path, fmt, len(table), len(table.columns), failures)


def select(table: pd.DataFrame, groups: Sequence[str] | None) -> pd.DataFrame:
    """Keep identity, catalog and match columns (what each row is), plus the chosen groups'
    columns (all when None)."""
    if not groups:
        return table
    families = {f.name: f for f in features.FAMILIES}
    unknown = [g for g in groups if g not in families and g not in EXTRA_GROUPS]
    if unknown:
        raise InputError(
            f"unknown column group(s) {', '.join(unknown)} — choose from "
            f"{', '.join([*families, *EXTRA_GROUPS])}"
        )
    owned: dict[str, str] = {}
    for family in features.FAMILIES:
        for spec in (*family.columns, features.reason_spec(family)):
            owned[spec.name] = family.name
    for name in features.timing_columns():
        owned[name] = "timing"
    for name in SOURCE_COLUMNS:
        owned[name] = "source"
    wanted = {*groups, "match"}
    keep = [c for c in table.columns if c not in owned or owned[c] in wanted]
    return table[keep]


def _format(path: Path, fmt: str | None) -> str:
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise InputError(
            f"cannot tell the format of {path.name} — name it .csv or .parquet, "
            "or pass --format csv|parquet"
        )
    return chosen


def _ordered(columns: Sequence[str], after_identity: Sequence[str]) -> list[str]:
    head = [c for c in IDENTITY if c in columns]
    middle = [c for c in after_identity if c in columns]
    return [*head, *middle, *(c for c in columns if c not in head and c not in middle)]


def _csv(table: pd.DataFrame) -> str:
    """CSV with list columns (the AstroNet views) as JSON arrays in one cell."""
    table = table.copy()
    for column in table.columns:
        if table[column].dtype == object and table[column].map(_is_sequence).any():
            table[column] = table[column].map(_json_cell)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue()


def _is_sequence(value: Any) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str | bytes)


def _json_cell(value: Any) -> Any:
    if not _is_sequence(value):
        return value
    return json.dumps([None if math.isnan(float(x)) else float(x) for x in value])
