"""The end of a run: every checkpointed row joined, in the input's order, into
features.parquet (successful rows, with the input's identity, label and catalog columns)
and failures.parquet (the others, with their reasons)."""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exoextract import features
from exoextract.run.checkpoint import SIGNALS_COLUMN, write_parquet
from exoextract.settings import Settings, result_fingerprint
from exoextract.star.extract import OUTCOME_COLUMNS, SOURCE_COLUMNS, reserved_columns
from exoextract.star.rows import CANDIDATE_KEY
from exoextract.targets import TargetList

# the only columns the run-wide ephemeris match changes (settle() included); a row that is a
# signal takes them from its signal
VERDICT_COLUMNS = (
    "fp_ephemeris_match",
    "fp_ephemeris_match_reason",
    "vet_transit_like",
    "vet_reason",
)


@dataclass
class Merged:
    """What :func:`merge` wrote, and what the user should hear about it."""

    features_path: Path
    signals_path: Path
    failures_path: Path
    failures: list[dict[str, Any]]  # the first 50, for the summary
    warnings: list[str] = field(default_factory=list)


def warm() -> None:
    """Import what merging needs (every feature family, for their columns). The runner
    calls it in a thread while the workers compute, so the end of a small run does not wait
    for these imports. An error here is left to the merge itself to report."""
    with contextlib.suppress(Exception):
        reserved_columns()


def merge(
    run_dir: Path, frame: pd.DataFrame, targets: TargetList, settings: Settings, run_id: str
) -> Merged:
    """Write features.parquet, signals.parquet and failures.parquet: each row of the input
    exactly once."""
    order = {t.key: i for i, t in enumerate(targets.targets)}
    frame = frame.assign(_order=frame["key"].map(order)).sort_values("_order")
    identity = _identity_frame(targets)
    warnings: list[str] = []
    passthrough = _passthrough_frame(targets, warnings)
    ok = frame[frame["status"] == "ok"]
    table = pd.concat(
        [
            identity.loc[ok["key"]].reset_index(drop=True).drop(columns=["line"]),
            passthrough.loc[ok["key"]].reset_index(drop=True),
            _feature_columns(ok, frame, settings),
        ],
        axis=1,
    )
    signals = signals_frame(ok, targets, settings)
    if "fp_ephemeris_match" in table and "fp_ephemeris_match" in signals:
        table, signals = ephemeris_matches(table, signals, settings)
    meta = {
        "schema_version": features.SCHEMA_VERSION,
        "run_id": run_id,
        "settings_fingerprint": result_fingerprint(settings),
    }
    hint = f"free disk space, then resume {run_dir}"
    features_path = run_dir / "features.parquet"
    write_parquet(features_path, table, hint, meta)
    signals_path = run_dir / "signals.parquet"
    write_parquet(signals_path, signals, hint, meta)
    failures = _failures(frame[frame["status"] != "ok"], identity, passthrough)
    failures_path = run_dir / "failures.parquet"
    write_parquet(failures_path, failures, hint, meta)
    shown = ["target_id", "status", "error_type", "message", "attempts", "exit_code"]
    first_failures = [
        {str(k): (None if pd.isna(v) else v) for k, v in rec.items()}
        for rec in failures[shown].head(50).to_dict("records")
    ]
    warnings += _unmeasured_ephemerides(ok, table, targets, order)
    return Merged(features_path, signals_path, failures_path, first_failures, warnings)


def _feature_columns(ok: pd.DataFrame, frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The successful rows' feature, source, timing and plugin columns, each typed by its
    declaration (text, list of floats, float64)."""
    kinds = {c.name: c.kind for c in features.column_specs(settings)}
    feature_cols = list(kinds)
    kinds["files_unreadable"] = "text"
    timing = features.timing_columns(settings)
    known = (
        set(feature_cols)
        | set(OUTCOME_COLUMNS)
        | set(SOURCE_COLUMNS)
        | set(timing)
        | {"_order", SIGNALS_COLUMN}
    )
    extra = [c for c in frame.columns if c not in known]
    names = list(dict.fromkeys([*feature_cols, *SOURCE_COLUMNS, *timing, *extra]))
    rows = ok.reindex(columns=names).reset_index(drop=True)  # a column no row has: NaN
    # the float columns converted as one block (a column at a time cost a small run 0.05 s)
    floats = [c for c in names if kinds.get(c, "float") == "float"]
    block = rows[floats]
    loose = [c for c in floats if block[c].dtype.kind not in "fiub"]  # text, objects
    if loose:
        block = block.assign(**{c: pd.to_numeric(block[c], errors="coerce") for c in loose})
    block = block.astype("float64")
    columns: dict[str, Any] = {}
    for column in names:
        kind = kinds.get(column, "float")
        if kind == "float":
            columns[column] = block[column]
        elif kind == "text":
            columns[column] = rows[column].fillna("").astype(str)
        else:  # a list of floats
            columns[column] = pd.Series(
                [
                    None
                    if v is None or (isinstance(v, float) and pd.isna(v))
                    else [float(x) for x in v]
                    for v in rows[column]
                ],
                dtype=object,
            )
    return pd.DataFrame(columns)


def _failures(bad: pd.DataFrame, identity: pd.DataFrame, passthrough: pd.DataFrame) -> pd.DataFrame:
    """One row per target that did not succeed: identity, outcome, the input's columns."""
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
    return failures


def _unmeasured_ephemerides(
    ok: pd.DataFrame, table: pd.DataFrame, targets: TargetList, order: dict[str, int]
) -> list[str]:
    """A warning per input row whose catalog ephemeris could not be measured, with why."""
    if "known_reason" not in table:
        return []
    warnings = []
    for key, reason in zip(ok["key"], table["known_reason"], strict=True):
        target = targets.targets[order[key]]
        if reason and (target.period is not None or target.t0 is not None):
            warnings.append(f"line {target.line}: {key}: known ephemeris not measured ({reason})")
    return warnings


def ephemeris_matches(
    table: pd.DataFrame, signals: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``fp_ephemeris_match`` across the run's stars (:mod:`exoextract.science.ephemeris_match`) on
    the signals and the rows measured at their catalog ephemeris; a row that is a signal
    takes its signal's verdict (and flag), value for value."""
    from exoextract.features.fp import settle
    from exoextract.science.ephemeris_match import match, transits_of

    stars = table.drop_duplicates("target_id").set_index("target_id")
    place = ["star_ra", "star_dec", "star_mag", "time_span"]

    def star_of(target_id: str) -> dict[str, Any]:
        if target_id not in stars.index:
            return {}
        return {c: stars.at[target_id, c] for c in place if c in stars.columns}

    found = []
    signal_records: list[dict[str, Any]] = signals.to_dict("records")  # type: ignore[assignment]
    for index, record in enumerate(signal_records):
        star = star_of(record["target_id"])
        name = f"{record['target_id']} signal {record['signal']}"
        found.append(transits_of(("signal", index), record["target_id"], name,
                                 {**record, **star}, _span(record, star)))  # fmt: skip
    row_records: list[dict[str, Any]] = table.to_dict("records")  # type: ignore[assignment]
    for index, record in enumerate(row_records):
        if record.get("match") == "catalog":
            name = f"{record.get('candidate') or record['target_id']} (catalog ephemeris)"
            found.append(transits_of(("row", index), record["target_id"], name, record,
                                     _span(record, record)))  # fmt: skip
    verdicts = match(found, settings.ephemeris_match_arcsec)
    for (kind, index), verdict in verdicts.items():
        target = signal_records[index] if kind == "signal" else row_records[index]
        target["fp_ephemeris_match"] = verdict.flag
        target["fp_ephemeris_match_reason"] = verdict.reason
        settle(target)
    by_signal = {(r["target_id"], r["signal"]): r for r in signal_records}
    for record in row_records:
        if record.get("match") == "signal":
            signal = by_signal.get((record["target_id"], record.get("match_signal")))
            if signal is not None:
                record.update({c: signal[c] for c in VERDICT_COLUMNS if c in signal})
    new_table, new_signals = table.copy(), signals.copy()
    for frame, records in ((new_table, row_records), (new_signals, signal_records)):
        for column in VERDICT_COLUMNS:
            if column in frame:
                values = pd.Series([r.get(column) for r in records], index=frame.index)
                frame[column] = values.astype(frame[column].dtype)
    return new_table, new_signals


def _span(record: dict[str, Any], star: dict[str, Any]) -> tuple[float, float]:
    """The span of the star's data a signal's epochs are checked across (from its first
    transit over the star's time span)."""
    t0 = record.get("signal_t0", record.get("tls_t0", record.get("bls_t0", math.nan)))
    try:
        start, span = float(t0), float(star.get("time_span", math.nan))
    except (TypeError, ValueError):
        return math.nan, math.nan
    return start, start + span if math.isfinite(span) else start


def signal_specs(settings: Settings) -> list[features.Column]:
    """The columns of signals.parquet after the identity: the signal's own, then those of
    every per-signal family that ran."""
    from exoextract.features import signals

    specs = list(signals.SIGNAL_COLUMNS)
    for family in features.enabled(settings):
        if family.per_signal:
            specs += [*family.columns, features.reason_spec(family)]
    return specs


def signals_frame(ok: pd.DataFrame, targets: TargetList, settings: Settings) -> pd.DataFrame:
    """One row per signal of every successful star, in the input's order, with the
    candidate (and its label) that the worker matched to it (:mod:`exoextract.features.match`)."""
    specs = signal_specs(settings)
    by_key = {target.key: target for target in targets.targets}
    records: list[dict[str, Any]] = []
    blobs = ok[SIGNALS_COLUMN] if SIGNALS_COLUMN in ok else [None] * len(ok)
    for target_id, blob in zip(ok["target_id"], blobs, strict=True):
        if not isinstance(blob, str) or not blob:
            continue
        for found in json.loads(blob):
            match = by_key.get(str(found.get(CANDIDATE_KEY)))
            record: dict[str, Any] = {"target_id": str(target_id)}
            if targets.has_candidates:
                record["candidate"] = match.candidate if match else None
            if targets.has_labels:
                record["label"] = match.label if match else None
            records.append({**record, **found})
    identity = ["target_id"]
    identity += ["candidate"] if targets.has_candidates else []
    identity += ["label"] if targets.has_labels else []
    frame = pd.DataFrame.from_records(records, columns=[*identity, *(c.name for c in specs)])
    for spec in specs:
        if spec.kind == "text":
            frame[spec.name] = frame[spec.name].fillna("").astype(str)
        elif spec.kind == "float":
            frame[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce").astype("float64")
    frame["signal"] = frame["signal"].astype("Int64")
    return frame


def _identity_frame(targets: TargetList) -> pd.DataFrame:
    """target_id, then candidate and label when the input has them, and the line."""
    data: dict[str, list[Any]] = {"target_id": [t.target_id for t in targets.targets]}
    if targets.has_candidates:
        data["candidate"] = [t.candidate for t in targets.targets]
    if targets.has_labels:
        data["label"] = [t.label for t in targets.targets]
    data["line"] = [t.line for t in targets.targets]
    return pd.DataFrame(data, index=[t.key for t in targets.targets])


def _passthrough_frame(targets: TargetList, warnings: list[str]) -> pd.DataFrame:
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
            warnings.append(
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
