"""``exoextract check``: the invariants a finished run's tables keep, checked on its folder.

A row of ``features.parquet`` is one candidate and a row of ``signals.parquet`` one signal
(:mod:`exoextract.features.match`, :mod:`exoextract.features.signals`); these hold on every
run, and a test runs this check on every run folder the suite makes:

* every row of ``signals.parquet`` is a signal: a kind, an epoch and a duration, a period
  unless it is a single event, at least one transit with data; numbered 1, 2, ... on its
  star, as many as the star's ``signals_found``;
* a signal row agrees with itself: ``bls_period``, ``tls_period`` and ``signal_period``
  within 0.1 % of each other (a signal reported at a multiple of the searched period names
  it in ``signal_searched_period``), or NaN with the family's reason;
* no star has the same signal twice (one period, or a multiple, at one epoch);
* a candidate row is what its ``match`` says: ``signal``, every per-signal column equal to
  that signal's; ``catalog``, its periods within 0.1 % of the catalog's; ``none``, every
  per-signal number NaN and a reason; a signal that names a candidate is that candidate's
  row's signal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exoextract import features
from exoextract.errors import RunDirError
from exoextract.run.status import run_status

AGREE = 1e-3  # a signal row's periods agree within this fraction
KINDS = ("periodic", "pair", "single")
SHOWN = 50  # problems listed at most


@dataclass
class Checked:
    """What :func:`check_run` found: the problems (empty: every invariant holds)."""

    run_dir: Path
    rows: int
    signals: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_run(run_dir: str | Path) -> Checked:
    """Check a finished run's features.parquet and signals.parquet (see the module doc)."""
    run_dir = Path(run_dir)
    state = run_status(run_dir)
    if state.features_path is None:
        raise RunDirError(
            f"{run_dir} is not complete ({state.done} of {state.total} targets, {state.state}) "
            f"— finish it with `exoextract resume {run_dir}`, then check it"
        )
    rows = pd.read_parquet(state.features_path)
    path = state.features_path.parent / "signals.parquet"
    if not path.exists():
        raise RunDirError(
            f"{run_dir} has no signals.parquet (it was made before signals were kept) — run "
            "it again to check its tables"
        )
    signals = pd.read_parquet(path)
    problems = [*check_signals(signals), *check_rows(rows, signals)]
    return Checked(run_dir, len(rows), len(signals), problems)


def per_signal_columns(table: pd.DataFrame) -> list[str]:
    """The per-signal families' columns (and reasons) present in ``table``."""
    names: list[str] = []
    for family in features.FAMILIES:
        if family.per_signal:
            for spec in (*family.columns, features.reason_spec(family)):
                if spec.name in table.columns:
                    names.append(spec.name)
    return names


def check_signals(signals: pd.DataFrame) -> list[str]:
    """The signal rows' own invariants."""
    problems: list[str] = []
    for target_id, star in signals.groupby("target_id", sort=False):
        numbers = [int(n) for n in star["signal"]]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{target_id}: signals numbered {numbers}, not 1..{len(numbers)}")
        records = star.to_dict("records")
        for record in records:
            problems += [f"{target_id} signal {record['signal']}: {p}" for p in _signal(record)]
        for i, later in enumerate(records):
            for earlier in records[:i]:
                if _same(later, earlier):
                    problems.append(
                        f"{target_id}: signals {earlier['signal']} and {later['signal']} are "
                        f"the same transits ({_num(earlier['signal_period'])} d)"
                    )
    return problems


def _signal(record: Mapping[Any, Any]) -> Iterable[str]:
    kind = record.get("signal_kind")
    if kind not in KINDS:
        yield f"kind {kind!r} is none of {', '.join(KINDS)}"
        return
    for name in ("signal_t0", "signal_duration"):
        if not _finite(record.get(name)):
            yield f"no {name}"
    if not (record.get("signal_events") or 0) >= 1:
        yield "no transit with data"
    period = record.get("signal_period")
    if kind == "single":
        if _finite(period):
            yield f"a single event with a period ({_num(period)} d)"
        for name in ("bls_period", "tls_period"):
            if _finite(record.get(name)):
                yield f"a single event with {name} {_num(record[name])}"
        return
    if not _finite(period):
        yield f"a {kind} signal without a period"
        return
    for name in ("bls_period", "tls_period"):
        if name not in record:
            continue
        value = record[name]
        reason = str(record.get(name.replace("_period", "_reason")) or "")
        if not _finite(value):
            if not reason:
                yield f"{name} NaN without a reason"
        elif abs(value / period - 1) > AGREE:
            yield f"{name} {_num(value)} against signal_period {_num(period)}"


def _same(later: Mapping[Any, Any], earlier: Mapping[Any, Any]) -> bool:
    """Whether the later signal's transits are all the earlier one's: its period a whole
    multiple of the earlier's (the same, most often), at its epoch."""
    period = _float(earlier.get("signal_period"))
    ratio = _float(later.get("signal_period")) / period
    if not math.isfinite(ratio) or round(ratio) < 1 or abs(ratio - round(ratio)) > AGREE * ratio:
        return False
    offset = (_float(later["signal_t0"]) - _float(earlier["signal_t0"])) % period
    offset = min(offset, period - offset)
    durations = (_float(later["signal_duration"]), _float(earlier["signal_duration"]))
    return offset < 0.5 * min(durations)


def check_rows(rows: pd.DataFrame, signals: pd.DataFrame) -> list[str]:
    """Each candidate row against its match and the signals of its star."""
    if "match" not in rows.columns:
        return []
    columns = per_signal_columns(rows)
    numbers = [c for c in columns if not c.endswith("_reason") and rows[c].dtype != object]
    by_signal: dict[tuple[str, int], Mapping[Any, Any]] = {
        (str(r["target_id"]), int(r["signal"])): r for r in signals.to_dict("records")
    }
    counts = signals.groupby("target_id").size().to_dict() if len(signals) else {}
    problems: list[str] = []
    claimed: dict[tuple[str, int], str] = {}
    for row in rows.to_dict("records"):
        star = str(row["target_id"])
        name = str(row.get("candidate") or star)
        found = _float(row.get("signals_found"))
        if math.isfinite(found) and int(found) != counts.get(star, 0):
            problems.append(
                f"{name}: signals_found {int(found)}, signals.parquet has {counts.get(star, 0)}"
            )
        match = row["match"]
        if match == "signal":
            number = _float(row["match_signal"])
            key = (star, int(number) if math.isfinite(number) else -1)
            signal = by_signal.get(key)
            if signal is None:
                problems.append(f"{name}: match_signal {row['match_signal']} is no signal")
                continue
            claimed[key] = name
            for column in columns:
                if column in signal and not _equal(row[column], signal[column]):
                    problems.append(
                        f"{name}: {column} {_show(row[column])} but signal {key[1]} "
                        f"has {_show(signal[column])}"
                    )
        elif match == "catalog":
            catalog = _float(row.get("known_period"))
            for column in ("bls_period", "tls_period"):
                value = _float(row.get(column))
                if abs(value / catalog - 1) > AGREE:  # False where either is NaN
                    problems.append(
                        f"{name}: measured at the catalog's ephemeris, {column} "
                        f"{_num(value)} against the catalog's {_num(catalog)}"
                    )
        elif match == "none":
            if not str(row.get("match_reason") or ""):
                problems.append(f"{name}: match none without a reason")
            measured = [c for c in numbers if _finite(row.get(c))]
            if measured:
                problems.append(f"{name}: match none, yet {', '.join(measured[:3])} measured")
        else:
            problems.append(f"{name}: match {match!r} is none of signal, catalog, none")
    if "candidate" in signals.columns:
        for record in signals.to_dict("records"):
            key = (str(record["target_id"]), int(record["signal"]))
            named = record.get("candidate")
            if named and claimed.get(key) != named:
                problems.append(
                    f"{key[0]} signal {key[1]} names {named}, whose row is "
                    f"{'another signal' if named in claimed.values() else 'not this signal'}"
                )
    return problems


def _equal(a: Any, b: Any) -> bool:
    if _is_list(a) or _is_list(b):
        if not (_is_list(a) and _is_list(b)) or len(a) != len(b):
            return a is None and b is None
        return all(_equal(float(x), float(y)) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) or isinstance(b, str):
        return str(a or "") == str(b or "")
    if _finite(a) and _finite(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return not _finite(a) and not _finite(b)


def _is_list(value: Any) -> bool:
    return value is not None and hasattr(value, "__len__") and not isinstance(value, str)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any) -> str:
    return f"{float(value):.6g}" if _finite(value) else "NaN"


def _show(value: Any) -> str:
    if _is_list(value):
        return f"[{len(value)} values]"
    return _num(value) if not isinstance(value, str) else repr(value[:40])
