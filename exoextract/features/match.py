"""Which signal a candidate row is: its catalog ephemeris matched to a blind signal, or
measured where the catalog says it is.

A row of ``features.parquet`` is one candidate (a TOI, a KOI, a K2 candidate, a row of a
plain target list). Its per-signal columns (``bls_``, ``tls_``, ``vet_``, views) describe
that candidate, never another object of its star:

* **signal**: one of the star's signals (``signals.parquet``) is the candidate, and the row
  holds that signal's columns, value for value. A signal matches when its period is the
  catalog's (within 1 % where the catalog gives an epoch, else within twice the transit
  duration over the baseline, at least 0.1 %), or a multiple of it that the data allow (the
  catalog's transits between fell in gaps: ``match_factor`` 2, 3, ...), or a half or third
  of it with the catalog's transits on the signal's (``match_factor`` 1/2, 1/3: the
  catalog's period is a multiple, an eclipsing binary's two eclipses for instance); and,
  where the catalog gives an epoch, when every transit of the longer of the two ephemerides
  falls within a transit duration of one of the shorter's. A catalog period measured on
  fewer transits than the data hold can drift further than that across them: a signal at
  the catalog's period (as close as a catalog without an epoch must be) whose own ephemeris
  puts a transit within a duration of the catalog's epoch, inside the data, is the
  candidate too (``match_epoch_offset`` says how far the catalog's ephemeris drifted,
  ``match_reason`` says so). A single event matches a
  transit the catalog's ephemeris predicts (or, without a catalog epoch, when it is the one
  single event on the star that the catalog's period allows). Each signal is one
  candidate's at most: candidates and signals are paired closest first (same period before
  a multiple, then by epoch and period error). A row whose input names no ephemeris (a
  plain target list) is the star's strongest signal, signal 1.
* **catalog**: no signal is the candidate (below the detection threshold, or rejected by the
  search's own rules), and the catalog gives a period and an epoch: every per-signal family
  is measured at the catalog's ephemeris (its duration, or a Sun-like star's at that period
  where the catalog has none), on the light curve without the star's signals' transits, as
  Kepler's data validation fits a known KOI: BLS and TLS refined on the points around the
  catalog's transits, the vetting and the views at that ephemeris. The detection statistics
  (``bls_sde``, ``tls_sde``, ...) are the first search's at the catalog period.
* **none**: neither can be done (no ephemeris to match or measure, or several candidates of
  the star without one); the per-signal columns are NaN and ``match_reason`` says why.

``known_`` columns, beside these, measure every candidate at its exact catalog ephemeris on
the whole light curve.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exoextract import features
from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable, bls, tls
from exoextract.features.signals import Signal, _cutter, _unseen, measure
from exoextract.science.search.durations import physical_duration
from exoextract.science.vetting import FAR_EPOCH_DAYS

SCOPE = "candidate"
REASON_DOC = (
    "How the row's candidate was found among the star's signals (which signal, how close), "
    "or why it was measured at its catalog ephemeris, or why neither."
)
COLUMNS = (
    Column(
        "match",
        "text",
        "signal: the row is the star's signal match_signal (signals.parquet), value for "
        "value; catalog: no signal is the candidate and every per-signal column is measured "
        "at the catalog's ephemeris; none: neither (per-signal columns NaN).",
        kind="text",
    ),
    Column("match_signal", "", "The signal's number on its star (NaN unless match is signal)."),
    Column(
        "match_factor",
        "",
        "The signal's period over the catalog's: 1; 2, 3, ... where the signal is at a "
        "multiple of it the data allow; 0.5, 0.33 where the catalog's is a multiple of the "
        "signal's. NaN without both periods.",
    ),
    Column(
        "match_period_error",
        "",
        "The relative period error: abs(signal period / (match_factor x catalog period) - 1).",
    ),
    Column(
        "match_epoch_offset",
        "durations",
        "The largest distance, signed, of the longer ephemeris' transits from the shorter's "
        "(the catalog's and the signal's), in transit durations; NaN without a catalog epoch. "
        "Beyond 1 only where the catalog's period drifts from a signal on its epoch.",
    ),
)
PERIOD_TOLERANCE = 0.01  # with a catalog epoch: the epochs across the data decide
PERIOD_RESOLUTION = 2.0  # without one: within this many durations of drift over the baseline
PERIOD_FLOOR = 1e-3
MULTIPLES = (2, 3, 4, 5)  # a signal at these times the catalog's period (gaps between)
FRACTIONS = (2, 3)  # ... or at the catalog's period over these (with a catalog epoch)


@dataclass(frozen=True)
class Link:
    """A signal that can be a candidate, and how close it is."""

    signal: int  # index among the star's signals
    factor: float
    period_error: float
    epoch_offset: float  # durations; NaN without a catalog epoch
    weak: bool = False  # a single event matched by the catalog period alone
    drift: float = math.nan  # days the catalog's period drifts over the data (on its epoch)

    @property
    def score(self) -> float:
        multiple = 0.0 if not math.isfinite(self.factor) or self.factor == 1 else 1.0
        epoch = abs(self.epoch_offset) if math.isfinite(self.epoch_offset) else 0.5
        error = self.period_error / PERIOD_TOLERANCE if math.isfinite(self.period_error) else 0
        drifted = 1.0 if math.isfinite(self.drift) else 0.0
        return multiple + epoch + error + (2.0 if self.weak else 0.0) + drifted


@dataclass
class Described:
    """A candidate row's match columns and the per-signal columns it carries."""

    columns: dict[str, Any]
    per_signal: dict[str, Any] = field(default_factory=dict)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    return describe(ctx).columns


def describe(ctx: FeatureContext) -> Described:
    """The row of ``ctx.candidate`` (computed once per candidate and kept)."""
    candidate = ctx.candidate
    if candidate is None:
        raise NotComputable("no candidate")
    memo: dict[str, Described] = ctx.shared.setdefault("described", {})
    if candidate.key not in memo:
        memo[candidate.key] = _describe(ctx, candidate)
    return memo[candidate.key]


def _describe(ctx: FeatureContext, candidate: Any) -> Described:
    families = [f for f in features.enabled(ctx.settings) if f.per_signal]
    found: list[Signal] = list(ctx.shared.get("found") or ())
    rows: list[dict[str, Any]] = list(ctx.shared.get("signals") or ())
    links = assignment(ctx)
    link = links.get(candidate.key)
    if link is not None:
        signal = found[link.signal]
        number = link.signal + 1
        row = rows[link.signal]
        return Described(
            _columns("signal", number, link, _signal_reason(candidate, signal, number, link)),
            {c.name: row.get(c.name, features.empty(c)) for c in _specs(families)},
        )
    ephemeris, why = _catalog_ephemeris(ctx, candidate, found)
    if ephemeris is None:
        blank = features.blank(families, why)
        first = ctx.shared.get("first_search") or {}
        for family in families:  # where the search itself could not run, its own reason
            if first.get(family.reason_column) and not found:
                blank[family.reason_column] = str(first[family.reason_column])
        return Described(_columns("none", reason=why), blank)
    others = _without_signals(ctx, found, ephemeris)
    measured = measure(others, families, ephemeris)
    return Described(_columns("catalog", reason=why), measured)


def assignment(ctx: FeatureContext) -> dict[str, Link]:
    """Each candidate's signal (by key), closest pairs first, a signal to one candidate."""

    def build() -> dict[str, Link]:
        candidates = list(ctx.shared.get("candidates") or ())
        found: list[Signal] = list(ctx.shared.get("found") or ())
        if not found:
            return {}
        plain = [c for c in candidates if _plain(c)]
        if len(candidates) == 1 and plain:  # the star's only row, no ephemeris: signal 1
            return {candidates[0].key: Link(0, math.nan, math.nan, math.nan)}
        baseline = float(ctx.time.max() - ctx.time.min())
        options = [
            (link.score, i, c.key, link)
            for c in candidates
            for i, signal in enumerate(found)
            if (link := _link(c, signal, i, ctx.time, baseline)) is not None
        ]
        weak = _ambiguous(options)
        chosen: dict[str, Link] = {}
        taken: set[int] = set()
        for _, index, key, link in sorted(options, key=lambda o: (o[0], o[1])):
            if key in chosen or index in taken or key in weak:
                continue
            chosen[key] = link
            taken.add(index)
        return chosen

    result: dict[str, Link] = ctx.memo("assignment", build)
    return result


def _ambiguous(options: Sequence[tuple[float, int, str, Link]]) -> set[str]:
    """Candidates whose only links are single events matched by period alone, and more
    than one of them: which event is theirs cannot be told."""
    by_key: dict[str, list[Link]] = {}
    for _, _, key, link in options:
        by_key.setdefault(key, []).append(link)
    return {key for key, links in by_key.items() if all(x.weak for x in links) and len(links) > 1}


def _plain(candidate: Any) -> bool:
    return candidate.period is None and candidate.t0 is None


def _link(
    candidate: Any, signal: Signal, index: int, time: np.ndarray, baseline: float
) -> Link | None:
    """Whether ``signal`` can be ``candidate`` (see the module doc), and how close."""
    period, t0 = candidate.period, _usable_epoch(candidate, time)
    duration = max(signal.duration, candidate.duration or 0.0)
    nan = math.nan
    if signal.kind == "single":
        if t0 is not None:
            offset = signal.t0 - t0 if period is None else _signed(signal.t0 - t0, period)
            return Link(index, nan, nan, offset / duration) if abs(offset) <= duration else None
        if period is not None and _unseen(time, period, signal.t0, duration, [signal.t0]):
            return Link(index, nan, nan, nan, weak=True)
        return None
    if period is None:
        if t0 is None:
            return None
        offset = _signed(t0 - signal.t0, signal.period)
        return Link(index, nan, nan, offset / duration) if abs(offset) <= duration else None
    tolerance = PERIOD_TOLERANCE if t0 is not None else _resolved(duration, baseline)
    factors = [1.0, *map(float, MULTIPLES)] + (
        [1.0 / k for k in FRACTIONS] if t0 is not None else []
    )
    seen = _seen(time, signal.period, signal.t0, signal.duration)
    for factor in factors:
        error = abs(signal.period / (factor * period) - 1.0)
        if error > tolerance:
            continue
        if factor > 1 and not _unseen(time, period, signal.t0, duration, seen):
            continue  # the catalog's transits between have data: not the same object
        offset = nan
        if t0 is not None:
            offset = _worst_offset(time, candidate, t0, signal, seen, factor)
            if not abs(offset) <= duration:
                if factor == 1 and _on_epoch(time, t0, signal, duration, baseline, error):
                    # the catalog's period, not the candidate, is off
                    return Link(index, factor, error, offset / duration, drift=offset)
                continue
        return Link(index, factor, error, offset / duration)
    return None


def _resolved(duration: float, baseline: float) -> float:
    """The period error a catalog without an epoch may have: this many durations of drift
    over the baseline, at least PERIOD_FLOOR, at most PERIOD_TOLERANCE."""
    return min(PERIOD_TOLERANCE, max(PERIOD_FLOOR, PERIOD_RESOLUTION * duration / baseline))


def _on_epoch(
    time: np.ndarray, t0: float, signal: Signal, duration: float, baseline: float, error: float
) -> bool:
    """Whether a signal at the catalog's period whose transits drift from the catalog's
    ephemeris is still the candidate: its own ephemeris puts a transit within a duration of
    the catalog's epoch, which lies within the data (where the catalog's ephemeris is
    known best), and the periods agree as closely as a catalog without an epoch must."""
    if not float(time.min()) - duration <= t0 <= float(time.max()) + duration:
        return False
    on_it = abs(_signed(t0 - signal.t0, signal.period)) <= duration
    return error <= _resolved(duration, baseline) and on_it


def _worst_offset(
    time: np.ndarray, candidate: Any, t0: float, signal: Signal, seen: list[float], factor: float
) -> float:
    """The largest distance (signed, days) of the longer ephemeris' transits from the
    shorter's: the signal's seen transits from the catalog's when the signal's period is
    the longer, the catalog's transits with data from the signal's otherwise."""
    if factor >= 1:
        offsets = [_signed(c - t0, candidate.period) for c in seen]
    else:
        duration = candidate.duration or signal.duration
        offsets = [
            _signed(c - signal.t0, signal.period)
            for c in _seen(time, candidate.period, t0, duration)
        ]
    return max(offsets, key=abs) if offsets else math.nan


def _seen(time: np.ndarray, period: float, t0: float, duration: float) -> list[float]:
    """The transit centres of an ephemeris that have data within half a duration."""
    offset = (time - t0 + 0.5 * period) % period - 0.5 * period
    epochs = np.unique(np.rint((time[np.abs(offset) < 0.5 * duration] - t0) / period))
    return [float(t0 + n * period) for n in epochs]


def _signed(delta: float, period: float) -> float:
    return (delta + 0.5 * period) % period - 0.5 * period


def _usable_epoch(candidate: Any, time: np.ndarray) -> float | None:
    """The catalog epoch, unless it is decades from the data (another time system)."""
    t0 = candidate.t0
    if t0 is None or not time.size or abs(t0 - float(np.median(time))) > FAR_EPOCH_DAYS:
        return None
    return float(t0)


def _catalog_ephemeris(
    ctx: FeatureContext, candidate: Any, found: list[Signal]
) -> tuple[Ephemeris | None, str]:
    """Where to measure an unmatched candidate, and why (or None and why not)."""
    rows = ctx.shared.get("candidates") or ()
    period, t0 = candidate.period, _usable_epoch(candidate, ctx.time)
    if period is None and t0 is None:
        if not found and len(rows) <= 1:
            return None, _no_signal(ctx)
        return None, (
            f"the catalog gives no period or epoch and the star has {len(rows)} rows: which "
            "signal is this one cannot be told"
        )
    if period is None:
        return None, "no signal at the catalog's epoch, and no catalog period to measure it at"
    near = f"no signal at the catalog's {period:.5f} d (nor a multiple the data allow)"
    if t0 is None:
        if candidate.t0 is not None:
            return None, f"{near}; its epoch {candidate.t0:.1f} is decades from the data"
        weak = [i for i, s in enumerate(found) if s.kind == "single"]
        if weak and any(
            _unseen(ctx.time, period, found[i].t0, found[i].duration, [found[i].t0]) for i in weak
        ):
            return None, (
                f"single events on the star allow the catalog's {period:.5f} d and the catalog "
                "gives no epoch to tell which is its transit"
            )
        return None, f"{near}; the catalog gives no epoch to measure it at"
    duration = candidate.duration
    notes = [f"{near} at its epoch: measured at the catalog's ephemeris"]
    if duration is None or not duration > 0:
        duration = float(physical_duration(period))
        notes.append(f"a Sun-like star's duration at that period ({duration * 24:.1f} h)")
    first = t0 + period * math.ceil((float(ctx.time.min()) - 0.5 * duration - t0) / period)
    ephemeris = Ephemeris(period, first, duration, "catalog", _detection(ctx, period))
    if not np.any(ephemeris.near(ctx.time, 0.5)):
        return None, "the catalog's ephemeris puts no transit where the light curve has data"
    close = [
        i + 1
        for i, s in enumerate(found)
        if s.kind != "single" and abs(s.period / period - 1.0) < PERIOD_TOLERANCE
    ]
    if close:
        notes.append(f"signal {close[0]} is at that period but not at its transits")
    return ephemeris, "; ".join(notes)


def _detection(ctx: FeatureContext, period: float) -> dict[str, float]:
    """The first search's statistics at a catalog period (NaN where it did not reach it or
    did not run)."""
    out: dict[str, float] = {}
    if any(key in ctx.shared for key in ("box_spectrum", "bls_full_spectrum")):
        try:
            spectrum = bls.search_spectrum(ctx)
        except NotComputable:
            pass
        else:
            out.update(bls_sde=spectrum.sde_at(period), bls_n_periods=float(spectrum.size))
    searched = any(k in ctx.shared for k in ("box_spectrum", "tls_full_spectrum"))
    if ctx.settings.run_tls and searched:
        with contextlib.suppress(NotComputable):
            out.update(tls.detection_at(ctx, period))
    return out


def _without_signals(
    ctx: FeatureContext, found: list[Signal], ephemeris: Ephemeris
) -> FeatureContext:
    """The star without its signals' transits, but for the points of the candidate's own."""
    if not found:
        return ctx
    signals = _cutter(found)
    return ctx.without(lambda time: signals(time) & ~ephemeris.near(time, 1.0))


def _no_signal(ctx: FeatureContext) -> str:
    """Why a plain row has no signal: none found (with the first search's strongest peak)."""
    period, sde = ctx.shared.get("first_peak", (math.nan, math.nan))
    if math.isfinite(period):
        return (
            f"no signal on the star (the first search's strongest peak: SDE {sde:.1f} at "
            f"{period:.4f} d, not a detection)"
        )
    return "no signal on the star"


def _columns(
    kind: str, number: int | None = None, link: Link | None = None, reason: str = ""
) -> dict[str, Any]:
    nan = math.nan
    return {
        "match": kind,
        "match_signal": float(number) if number is not None else nan,
        "match_factor": link.factor if link else nan,
        "match_period_error": link.period_error if link else nan,
        "match_epoch_offset": link.epoch_offset if link else nan,
        "match_reason": reason,
    }


def _signal_reason(candidate: Any, signal: Signal, number: int, link: Link) -> str:
    if _plain(candidate):
        return f"the input gives no ephemeris: the star's strongest signal, signal {number}"
    epoch = (
        f", its transits {link.epoch_offset:+.2f} durations from the catalog's"
        if math.isfinite(link.epoch_offset)
        else ", epoch not checked (none in the catalog)"
    )
    if signal.kind == "single":
        if link.weak:
            return (
                f"signal {number}: the one single event the catalog's {candidate.period:.4f} d "
                "allows (the catalog gives no epoch to check it by)"
            )
        return (
            f"signal {number}: a single event where the catalog's ephemeris puts a transit{epoch}"
        )
    if not math.isfinite(link.factor):
        return f"signal {number}: at the catalog's epoch (the catalog gives no period){epoch}"
    at = f"signal {number} at {signal.period:.5f} d"
    if link.factor == 1:
        error = 100 * link.period_error
        if math.isfinite(link.drift):
            return (
                f"{at}, {error:.4f} % from the catalog's {candidate.period:.6f} d, a transit "
                f"at the catalog's epoch; away from it the catalog's period drifts up to "
                f"{link.epoch_offset:+.2f} durations ({24 * link.drift:+.2f} h) from the "
                "signal's transits: the signal's period is the better one"
            )
        return f"{at}, {error:.3f} % from the catalog's {candidate.period:.5f} d{epoch}"
    if link.factor > 1:
        return (
            f"{at} = {link.factor:.0f} x the catalog's {candidate.period:.5f} d (the catalog's "
            f"transits between fell in the data's gaps){epoch}"
        )
    return (
        f"{at} = 1/{1 / link.factor:.0f} of the catalog's {candidate.period:.5f} d (the "
        f"catalog's period is a multiple of the signal's){epoch}"
    )


def _specs(families: Sequence[features.Family]) -> list[Column]:
    specs: list[Column] = []
    for family in families:
        specs += [*family.columns, features.reason_spec(family)]
    return specs
