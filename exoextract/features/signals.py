"""Every signal of a star: the strongest, then its transits taken out and the search again.

Kepler's threshold-crossing events are what classifiers learn from, and a star can have
several planets: the search goes on up to ``max_signals`` signals, each one a row of
``signals.parquet`` with its own per-signal columns (``bls_``, ``tls_``, ``vet_``, views),
all measured at that signal's final ephemeris (:func:`describe`). A row of
``features.parquet`` is one of these signals, or its candidate measured at its catalog
ephemeris (:mod:`exoextract.features.match`).

1. **Periodic signals.** A search is the box search, TLS around its peaks and, for a
   detection, the vetting at TLS's ephemeris. A detection (TLS's SDE at least 9, TLS's usual
   threshold, and the depth beyond what correlated noise reaches on this baseline; with TLS
   off, that depth alone) is looked at transit by transit
   (:func:`exoextract.science.vetting.transit_events`). When its transits agree it is a
   periodic signal (at a multiple of the searched period where every transit in between fell
   in a gap: the data cannot tell them apart, ``signal_aliases`` counts the shorter periods);
   its transits are taken out (one duration either side of each centre) and the search runs
   again on what is left. When one event carries it — a single transit with data, two whose
   depths differ by more than 30 % and 5 sigma (two different objects: Kepler-90's g and h
   at 114.6 d), or three or more as uneven as the vetting's rule — the deepest event is a
   **single event** (if 10 sigma or more against the correlated noise at its duration),
   taken out alone, and the search runs again. The periodic search stops at the first
   detection below the threshold.
2. **Single events and pairs.** What is left is then searched for single transit-like dips
   (boxes of 1-16 hours, 10 sigma against the correlated noise at their duration, away from
   gaps). Two of one depth (within 30 %) and duration (within a factor 1.5) are one signal
   with two transits — periods beyond half the baseline, which the periodic search does not
   reach — at the shortest period the data allow (no data at the transits it predicts in
   between); it is vetted at that ephemeris, its detection statistic the two events'
   combined SNR (at least 10 in place of the SDE). Events left unpaired are single events:
   a mid-time, duration and depth, no period, never flagged.
3. **Each signal described** at its final ephemeris with the other signals' transits taken
   out (another planet's transit is not this one's eclipse): the per-signal families'
   ``at`` (a signal that TLS's search found at its period keeps that fit). A later signal at
   an earlier one's period and phase is the same signal and is dropped; at its period and
   another phase it is the earlier one's secondary eclipse. Only signals are rows: a
   detection that no transit carries is taken out of the search unreported.

A star's later signals each cost one more search, no more than its first: a later search
fits TLS's templates around its strongest peak only (the first weighs up to
``tls_candidates``), stops at the box search when its strongest peak is under SDE 6 (TLS's
templates never lifted a box peak from under 7.4 to 9 in ``make bench-science``'s later
searches), and vets only a detection (TLS's SDE at least 9). ``make bench-real`` prints
the first search's seconds beside each later one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from exoextract import features
from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable, bls, fp, tls
from exoextract.features import vet as vet_rules
from exoextract.features.vet import (
    DEPTH_SNR_MIN,
    SDE_MIN,
    SECONDARY_MAX,
    best_ephemeris,
    red_snr_threshold,
)
from exoextract.science.periods import longest_period
from exoextract.science.vetting import Events, transit_events
from exoextract.settings import Settings

SCOPE = "star"
COLUMNS = (
    Column("signals_found", "count", "Signals found on the star (signals.parquet), every kind."),
    Column("signals_single", "count", "Of those, single events (one transit, no period)."),
    Column(
        "signals_searches",
        "count",
        "Searches run after the first to find them (seconds_signals is their cost).",
    ),
)
SIGNAL_COLUMNS = (
    Column("signal", "", "The signal's number on its star: 1 is the first found."),
    Column(
        "signal_kind",
        "text",
        "periodic (the periodic search), pair (two events of one depth, their period from "
        "their separation) or single (one event, no period).",
        kind="text",
    ),
    Column("signal_period", "d", "Period (NaN for a single event)."),
    Column("signal_t0", "d (mission time: BTJD or BKJD)", "Mid-time of the first transit."),
    Column("signal_duration", "d", "Transit duration."),
    Column("signal_depth", "relative flux", "Depth: whole-box mean below the level around it."),
    Column(
        "signal_snr",
        "",
        "Depth over its uncertainty with correlated noise counted (all transits together).",
    ),
    Column("signal_events", "count", "Transits with data."),
    Column(
        "signal_aliases",
        "count",
        "Shorter periods (the period over 2, 3, ...) the data allow as well: every transit "
        "they add falls in a gap. The longest is reported.",
    ),
    Column(
        "signal_searched_period",
        "d",
        "The period the search found it at: the signal's period over the number of "
        "transits that fell in gaps between two seen (equal to signal_period unless the "
        "data allow the shorter one too; NaN for a pair or a single event).",
    ),
)
SEARCH_FAMILIES = ("bls", "tls")  # a search's own; the vetting decides what it found
CUT_DURATIONS = 1.0  # taken out before the next search: this many durations either side
SAME_PERIOD = 0.01  # two signals within 1 % in period ...
EVENT_SNR_MIN = 10.0  # a single event, against correlated noise at its duration
PAIR_EVENT_SNR_MIN = 7.0  # each event of a pair
PAIR_SNR_MIN = 10.0  # a pair's combined SNR, its detection statistic in place of the SDE
DEPTHS_DIFFER = 0.3  # two events this much apart in depth (of the deeper) are two objects
DEPTHS_DIFFER_SIGMA = 5.0  # ... and this many sigma
DURATION_RATIO_MAX = 1.5  # a pair's durations agree within this factor
UNEVEN_CHI2, UNEVEN_SPREAD = 5.0, 0.5  # the vetting's "one or two events carry it" rule
EVENT_DURATIONS_HOURS = (1.0, 1.5, 2.0, 3.0, 4.5, 6.0, 8.0, 10.0, 13.0, 16.0)
EVENT_STEP = 1.0 / 3.0  # single-event boxes every third of a duration
EVENT_COVERAGE = 0.8  # of the points a box should hold, for an event to count
EVENT_LIMIT = 12  # the strongest events looked at for pairs
REFINE_PERIODS = 201  # trial periods of a pair's refinement
LATER_TLS_CANDIDATES = 1  # a later search fits TLS around its strongest peak only
REACH_SDE_MIN = 6.0  # a later search's box SDE below this stops it (see _within_reach)
PAIR_NOTE = (
    "a pair of single events: no search over periods reached it (its detection statistic is "
    "the pair's combined SNR)"
)


@dataclass
class Signal:
    """One signal of a star: its ephemeris, the search that found it (``search``: that
    search's columns; ``factor``: the signal's period over the searched one) and, once
    described, its per-signal columns (``row``)."""

    kind: str
    period: float
    t0: float
    duration: float
    depth: float
    snr: float
    events: int
    row: dict[str, Any] = field(default_factory=dict)
    detection: float = math.nan  # a pair's combined SNR (its detection statistic)
    aliases: int = 0
    search: dict[str, Any] = field(default_factory=dict)
    statistics: dict[str, float] = field(default_factory=dict)
    factor: int = 1
    source: str = ""
    candidate: str | None = None  # the key of the catalog candidate it is (match)

    def columns(self, number: int) -> dict[str, Any]:
        searched = self.period / self.factor if self.kind == "periodic" else math.nan
        return {
            "signal": float(number),
            "signal_kind": self.kind,
            "signal_period": self.period,
            "signal_t0": self.t0,
            "signal_duration": self.duration,
            "signal_depth": self.depth,
            "signal_snr": self.snr,
            "signal_events": float(self.events),
            "signal_aliases": float(self.aliases),
            "signal_searched_period": searched,
            **self.row,
        }

    def ephemeris(self) -> Ephemeris:
        """Where its per-signal families measure it."""
        if self.kind == "single":
            return Ephemeris(math.nan, self.t0, self.duration, "single")
        if self.kind == "pair":
            statistic = ("pair SNR", self.detection, PAIR_SNR_MIN)
            return Ephemeris(self.period, self.t0, self.duration, "pair", {}, PAIR_NOTE, statistic)
        note = ""
        if self.factor > 1:
            note = (
                f"the search found it at {self.period / self.factor:.5f} d; the data allow "
                f"{self.factor} times that (the transits between fell in gaps): its "
                "detection statistics are that search's"
            )
        return Ephemeris(self.period, self.t0, self.duration, self.source, self.statistics, note)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    """Find and describe the star's signals; their rows go to ``ctx.shared['signals']``
    (and the Signal records to ``ctx.shared['found']``), the counts to the star's row."""
    settings = ctx.settings
    searches: list[int] = []
    found = find(ctx, search_families(settings), max(1, settings.max_signals), searches)
    found = describe(ctx, found, measured_families(settings))
    ctx.shared["found"] = found
    ctx.shared["signals"] = [s.columns(i + 1) for i, s in enumerate(found)]
    return {
        "signals_found": float(len(found)),
        "signals_single": float(sum(s.kind == "single" for s in found)),
        "signals_searches": float(len(searches)),
    }


def search_families(settings: Settings) -> list[features.Family]:
    """What a search runs: the box search and TLS where enabled; the vetting always (it
    decides what a search found)."""
    names = {f.name for f in features.enabled(settings) if f.name in SEARCH_FAMILIES}
    return [f for f in features.FAMILIES if f.name in names or f.name == "vet"]


def measured_families(settings: Settings) -> list[features.Family]:
    """The per-signal families measured at each signal: the enabled ones, and the vetting
    always (a signal's depth and significance are its measurements)."""
    return [
        f for f in features.FAMILIES if f.per_signal and (f.is_enabled(settings) or f.name == "vet")
    ]


def find(
    ctx: FeatureContext,
    families: Sequence[features.Family],
    limit: int,
    searches: list[int] | None = None,
) -> list[Signal]:
    """Every signal, at most ``limit`` (see the module doc), not yet described. Each search
    run after the first is counted in ``searches``."""
    searches = [] if searches is None else searches
    found: list[Signal] = []
    search = ctx
    started = time.perf_counter()
    row = _run(ctx, families)
    ctx.shared["first_search"] = row  # what the search saw first, for the benches and why-nots
    ctx.shared["first_search_seconds"] = time.perf_counter() - started
    first = best_ephemeris(row)
    if first is not None:  # what a star without signals says of its first search
        statistic = row.get("tls_sde" if first[3] else "bls_sde", math.nan)
        ctx.shared["first_peak"] = (first[0], float(statistic))
    baseline = float(ctx.time.max() - ctx.time.min())
    later = _later_settings(ctx.settings, baseline)
    for _ in range(2 * limit + 1):
        if len(found) >= limit:
            return [s for s in found if s.kind != "hidden"]
        ephemeris = best_ephemeris(row)
        if ephemeris is None or not _detected(row, baseline):
            break
        period, t0, duration, uses_tls = ephemeris
        events = transit_events(search.time, search.flux_for(period)[0], period, t0, duration)
        if _periodic(events):
            factor, t0 = _longest_period(events, period)
            signal = Signal(
                "periodic",
                period * factor,
                t0,
                duration,
                row.get("vet_depth", math.nan),
                row.get("vet_depth_snr_red", math.nan),
                events.depths.size,
                search=row,
                statistics=_statistics(search, row, period, factor),
                factor=factor,
                source="tls" if uses_tls else "bls",
            )
            found.append(signal)
        else:
            deepest = int(np.nanargmax(events.snr)) if events.depths.size else -1
            event = None
            if deepest >= 0 and events.snr[deepest] >= EVENT_SNR_MIN:
                event = _refined(search, float(events.centres[deepest]), duration)
            if event is not None:
                found.append(_single(event))
            else:  # nothing to report: take the detection out unreported and look further
                found.append(Signal("hidden", period, t0, duration, math.nan, math.nan, 0))
        search = ctx.without(_cutter(found), later)
        if later is None:
            break
        searches.append(len(found))
        if not _within_reach(search):
            break
        row = _run(search, families)
    periodic = [s for s in found if s.kind == "periodic"]
    singles = [Event(s.t0, s.duration, s.depth, s.snr) for s in found if s.kind == "single"]
    around = ctx.without(_cutter(periodic))  # every event in, the periodic signals out
    return periodic + _events_and_pairs(search, around, limit - len(periodic), singles)


def _statistics(
    search: FeatureContext, row: dict[str, Any], period: float, factor: int
) -> dict[str, float]:
    """The detection statistics of a periodic signal: its search's SDEs at the searched
    period (the box spectrum's, TLS's), its uncertainty scaled to the reported period."""
    out = {name: float(row.get(name, math.nan)) for name in tls.DETECTION}
    out["tls_period_uncertainty"] *= factor
    try:
        spectrum = bls.search_spectrum(search)
    except NotComputable:
        out.update(bls_sde=math.nan, bls_n_periods=math.nan)
    else:
        out.update(bls_sde=spectrum.sde_at(period), bls_n_periods=float(spectrum.size))
    return out


def describe(
    star: FeatureContext, found: list[Signal], families: Sequence[features.Family]
) -> list[Signal]:
    """Each signal's per-signal columns at its final ephemeris, measured with the other
    signals' transits taken out; a signal whose other transits were another signal's
    becomes a single event; one at an earlier signal's period and phase is dropped."""
    for index, signal in enumerate(found):
        if signal.kind == "single":
            continue
        rest = _others(found, index)
        others = star.without(_cutter(rest)) if rest else star  # alone: nothing to take out
        flux = others.flux_for(signal.period)[0]
        events = transit_events(others.time, flux, signal.period, signal.t0, signal.duration)
        if events.depths.size <= 1:  # its other transits were another signal's
            signal.events = 0
            if events.depths.size == 1:
                found[index] = _single(
                    Event(
                        float(events.centres[0]),
                        signal.duration,
                        float(events.depths[0]),
                        float(events.snr[0]),
                    )
                )
            continue
        signal.aliases = aliases(
            star.time, signal.period, signal.t0, signal.duration, list(events.centres)
        )
        signal.row = _measured(others, signal, families)
        signal.depth = signal.row.get("vet_depth", math.nan)
        signal.snr = signal.row.get("vet_depth_snr_red", math.nan)
        signal.events = int(signal.row.get("vet_n_transits", 0) or 0)
    kept = _distinct([s for s in found if s.events > 0])
    for index, signal in enumerate(kept):
        if signal.kind == "single":
            rest = _others(kept, index)
            others = star.without(_cutter(rest)) if rest else star
            signal.row = measure(others, families, signal.ephemeris())
    _eclipses(kept)
    singles = [Event(s.t0, s.duration, s.depth, s.snr) for s in kept if s.kind == "single"]
    for signal in kept:
        if signal.events == 2 and signal.row.get("vet_transit_like") == 1.0:
            mine = Event(signal.t0, signal.duration, signal.depth, signal.snr)
            if any(_alike(mine, other) for other in singles):
                signal.row.update(
                    vet_transit_like=0.0,
                    vet_reason="a single event on the star is like its two transits: which "
                    "two belong together is not known",
                )
    return kept


def _others(found: list[Signal], index: int) -> list[Signal]:
    """The signals whose transits are taken out when ``found[index]`` is described: every
    earlier one (the search that found it had them out) and the later ones that are
    transits (:func:`_transits`)."""
    return [*found[:index], *(s for s in found[index + 1 :] if _transits(s))]


def _transits(signal: Signal) -> bool:
    """Whether a later signal's transits are taken out when an earlier one is described: not
    a periodic signal its search judged a star's wave (a sinusoid at P/2, P or 2P, or the
    spots' rotation): cutting a wave's troughs takes data and leaves the rest biased, and
    its "transits" are not another object's to keep out of this one's vetting."""
    if signal.kind != "periodic":
        return True
    metrics = {k[4:]: v for k, v in signal.search.items() if k.startswith("vet_")}
    return not (vet_rules.wave(metrics) or vet_rules.on_rotation(metrics))


def _measured(
    others: FeatureContext, signal: Signal, families: Sequence[features.Family]
) -> dict[str, Any]:
    """A periodic signal's or pair's per-signal columns: a signal TLS's search found at its
    period keeps that fit (its columns from the search); the rest is measured at its
    ephemeris."""
    ephemeris = signal.ephemeris()
    keep_fit = signal.kind == "periodic" and signal.source == "tls" and signal.factor == 1
    chosen = [f for f in families if not (keep_fit and f.name == "tls")]
    row = measure(others, chosen, ephemeris)
    if keep_fit and any(f.name == "tls" for f in families):
        family = next(f for f in features.FAMILIES if f.name == "tls")
        row.update({c.name: signal.search.get(c.name, math.nan) for c in family.columns})
        row.update(ephemeris.detected(tls.DETECTION))
        row[family.reason_column] = str(signal.search.get(family.reason_column) or "")
    return row


def measure(
    ctx: FeatureContext, families: Sequence[features.Family], ephemeris: Ephemeris
) -> dict[str, Any]:
    """The per-signal families at one ephemeris, the flag settled by the false-positive
    flags (:func:`exoextract.features.fp.settle`)."""
    row = features.measure(ctx, list(families), ephemeris)
    fp.settle(row)
    return row


def _distinct(found: list[Signal]) -> list[Signal]:
    """Without a later signal at an earlier one's period (or a multiple of it) and phase:
    the same transits, found twice."""
    kept: list[Signal] = []
    for signal in found:
        if signal.kind != "single" and any(_same(signal, earlier) for earlier in kept):
            continue
        kept.append(signal)
    return kept


def _same(later: Signal, earlier: Signal) -> bool:
    """Whether every transit of ``later`` is one of ``earlier``'s: its period a whole
    multiple of the earlier's, at its phase (another planet in resonance is not: its
    transits fall between)."""
    if earlier.kind == "single":
        return False
    ratio = later.period / earlier.period
    if round(ratio) < 1 or abs(ratio - round(ratio)) > SAME_PERIOD * ratio:
        return False
    offset = (later.t0 - earlier.t0 + 0.5 * earlier.period) % earlier.period
    return abs(offset - 0.5 * earlier.period) < 0.5 * min(later.duration, earlier.duration)


def _later_settings(settings: Settings, baseline: float) -> Settings | None:
    """The later searches' settings: periods with three transits at least (a third of the
    baseline); two-transit signals come from the pairs of single events, found once every
    periodic signal is out of the way (a pair search would else take one planet's transit
    and another's for one signal). TLS fits its templates around the search's strongest
    peak only (``LATER_TLS_CANDIDATES``). None when no period is that short."""
    longest = min(longest_period(settings, baseline), baseline / 3)
    if longest <= settings.period_min:
        return None
    candidates = min(settings.tls_candidates, LATER_TLS_CANDIDATES)
    return replace(settings, period_max=longest, tls_candidates=candidates)


def _within_reach(search: FeatureContext) -> bool:
    """Whether the later search's strongest box peak could become a detection once TLS
    fits it (fast mode; :func:`exoextract.features.tls.box_sde`): below ``REACH_SDE_MIN``
    the search stops there, without its families."""
    if search.settings.tls_mode != "fast" or not search.settings.run_tls:
        return True
    try:
        return tls.box_sde(search) >= REACH_SDE_MIN
    except NotComputable:
        return False


def _eclipses(found: Sequence[Signal]) -> None:
    """Two signals at one period (within 1 %), at different phases: the later is the
    earlier's secondary eclipse, and the earlier an eclipsing binary if that eclipse is
    deeper than the vetting's tenth of its depth, or deeper than a planet's occultation can
    be (:mod:`exoextract.features.planet`) by three uncertainties."""
    for j, later in enumerate(found):
        if later.kind == "single":
            continue
        for i, first in enumerate(found[:j]):
            if first.kind == "single" or abs(later.period / first.period - 1.0) > SAME_PERIOD:
                continue
            metrics = {k[4:]: v for k, v in first.row.items() if k.startswith("vet_")}
            if vet_rules.wave(metrics) or vet_rules.on_rotation(metrics):
                break  # a star's wave: its other dips are the wave's, not an eclipse
            phase = ((later.t0 - first.t0) / first.period) % 1.0
            why = f"at signal {i + 1}'s period, at phase {phase:.2f}: its secondary eclipse"
            later.row.update(vet_transit_like=0.0, vet_reason=why)
            if "fp_stellar_eclipse" in later.row:
                fp.raise_flag(later.row, "stellar_eclipse", why)
            limit = float(first.row.get("planet_secondary_max", math.nan))
            error = later.depth / later.snr if later.snr > 0 else math.nan
            too_deep = (later.depth - limit) / error > fp.SECONDARY_EXCESS_MAX
            if later.depth > SECONDARY_MAX * first.depth or too_deep:
                why = (
                    f"signal {j + 1} is its secondary eclipse (phase {phase:.2f}, "
                    f"{later.depth / first.depth:.2f} of the depth"
                    + (", deeper than a planet's occultation can be" if too_deep else "")
                    + "): an eclipsing binary"
                )
                if "fp_stellar_eclipse" in first.row:
                    fp.raise_flag(first.row, "stellar_eclipse", why)
                elif first.row.get("vet_transit_like") == 1.0:
                    first.row.update(vet_transit_like=0.0, vet_reason=why)
            break


def _detected(row: dict[str, Any], baseline: float) -> bool:
    """A detection worth a signal: TLS's SDE at its usual threshold and the depth beyond
    what correlated noise reaches on this baseline (the vetting's own two thresholds); with
    TLS off, the depth alone (confirmed by the vetting's own measurement)."""
    red = row.get("vet_depth_snr_red", math.nan)
    if not red >= red_snr_threshold(baseline):
        return False
    sde = row.get("tls_sde", math.nan)
    if "tls_sde" in row and not math.isnan(row.get("tls_period", math.nan)):
        return bool(sde >= SDE_MIN)
    return bool(row.get("vet_depth_snr", math.nan) >= DEPTH_SNR_MIN)


def _longest_period(events: Events, period: float) -> tuple[int, float]:
    """(factor, t0): the transits that have data fall at every ``factor``-th epoch, so the
    signal is reported at ``factor`` times the searched period: the transits in between
    fell in gaps, the data cannot tell the two apart, and the longer period predicts no
    transit that was not seen."""
    centres = np.sort(events.centres)
    steps = np.rint((centres - centres[0]) / period).astype(np.int64)
    common = int(np.gcd.reduce(steps[1:])) if steps.size > 1 else 1
    return max(common, 1), float(centres[0])


def _run(ctx: FeatureContext, families: Sequence[features.Family]) -> dict[str, Any]:
    """A search's families; the vetting only when TLS's SDE reaches the threshold (or TLS
    is off): below it the search ends there, unreported."""
    searching = [f for f in families if f.name in SEARCH_FAMILIES]
    row = features.compute(ctx, searching)
    tls_ran = any(f.name == "tls" for f in searching)
    if not tls_ran or row.get("tls_sde", math.nan) >= SDE_MIN:
        row.update(features.compute(ctx, [f for f in families if f not in searching]))
    return row


def _cutter(signals: Sequence[Signal]) -> Callable[[np.ndarray], np.ndarray]:
    """Flags the points within ``CUT_DURATIONS`` durations of any of the signals' transits."""

    def cut(time: np.ndarray) -> np.ndarray:
        inside = np.zeros(time.size, dtype=bool)
        for s in signals:
            half = CUT_DURATIONS * s.duration
            if s.kind == "single" or not math.isfinite(s.period):
                inside |= np.abs(time - s.t0) < half
            else:
                inside |= np.abs((time - s.t0 + 0.5 * s.period) % s.period - 0.5 * s.period) < half
        return inside

    return cut


def _periodic(events: Events) -> bool:
    """Whether the transits agree (see the module doc); False when one event carries it."""
    depths = events.depths
    if depths.size < 2:
        return False
    if depths.size == 2:
        low, high = sorted(float(d) for d in depths)
        if low <= 0:
            return False
        apart = high - low
        sigma = events.scatter * math.sqrt(2.0) if events.scatter > 0 else 0.0
        return not (apart >= DEPTHS_DIFFER * high and apart >= DEPTHS_DIFFER_SIGMA * sigma)
    mean = float(np.mean(depths))
    if not (mean > 0 and events.scatter > 0):
        return True
    chi2 = float(np.sum(((depths - mean) / events.scatter) ** 2) / (depths.size - 1))
    spread = float(np.std(depths)) / mean
    return not (chi2 >= UNEVEN_CHI2 and spread >= UNEVEN_SPREAD)


def _single(event: Event) -> Signal:
    return Signal("single", math.nan, event.t0, event.duration, event.depth, event.snr, 1)


def _refined(search: FeatureContext, centre: float, duration: float) -> Event | None:
    """The single event near ``centre``: the box of 1-16 hours that stands out most
    within two durations of it."""
    flux = search.flux_for(math.inf)[0]
    near = single_events(search.time, flux, 1, (centre - 2 * duration, centre + 2 * duration))
    return near[0] if near else None


# ---------------------------------------------------------------- events and pairs
@dataclass(frozen=True)
class Event:
    t0: float
    duration: float
    depth: float
    snr: float


def single_events(
    time: np.ndarray,
    flux: np.ndarray,
    limit: int = EVENT_LIMIT,
    around: tuple[float, float] | None = None,
    snr_min: float = EVENT_SNR_MIN,
) -> list[Event]:
    """Transit-like dips of 1-16 hours (centred within ``around``, if given), each at least
    ``snr_min`` against the scatter of means of its duration, well covered by data,
    strongest first, not overlapping."""
    order = np.argsort(time)
    t, f = time[order], flux[order]
    if t.size < 50:
        return []
    level = float(np.median(f))
    cadence = float(np.median(np.diff(t)))
    point = 1.4826 * float(np.median(np.abs(np.diff(f)))) / math.sqrt(2.0)
    sums = np.concatenate([[0.0], np.cumsum(f)])
    candidates: list[Event] = []
    for hours in EVENT_DURATIONS_HOURS:
        duration = hours / 24.0
        expected = duration / cadence
        if expected < 3:
            continue
        # never below white noise: the flattening takes out slow wiggles, and with them the
        # scatter of long means, so long boxes would otherwise look more significant
        scatter = max(_scatter_of_means(t, f, duration), point / math.sqrt(expected))
        if not scatter > 0:
            continue
        start, stop = around if around is not None else (t[0] + duration, t[-1] - duration)
        centres = np.arange(max(start, t[0] + duration), min(stop, t[-1] - duration),
                            EVENT_STEP * duration)  # fmt: skip
        low = np.searchsorted(t, centres - 0.5 * duration)
        high = np.searchsorted(t, centres + 0.5 * duration)
        counts = high - low
        nearby = np.searchsorted(t, centres + 2 * duration) - np.searchsorted(
            t, centres - 2 * duration
        )
        covered = (counts >= EVENT_COVERAGE * expected) & (nearby >= EVENT_COVERAGE * 4 * expected)
        with np.errstate(invalid="ignore", divide="ignore"):
            depth = level - (sums[high] - sums[low]) / counts
        snr = np.where(covered, depth / scatter, -np.inf)
        for index in np.nonzero(snr >= snr_min)[0]:
            candidates.append(
                Event(float(centres[index]), duration, float(depth[index]), float(snr[index]))
            )
    chosen: list[Event] = []
    for event in sorted(candidates, key=lambda e: -e.snr):
        if all(abs(event.t0 - c.t0) > max(event.duration, c.duration) for c in chosen):
            chosen.append(event)
            if len(chosen) >= limit:
                break
    return chosen


def _scatter_of_means(t: np.ndarray, f: np.ndarray, duration: float) -> float:
    index = np.floor((t - t[0]) / duration).astype(np.int64)
    counts = np.bincount(index)
    sums = np.bincount(index, weights=f)
    full = counts >= max(2, 0.5 * float(np.median(counts[counts > 0])))
    if full.sum() < 5:
        return math.nan
    means = sums[full] / counts[full]
    return 1.4826 * float(np.median(np.abs(means - np.median(means))))


def _events_and_pairs(
    search: FeatureContext, around: FeatureContext, left: int, known: Sequence[Event]
) -> list[Signal]:
    """Pairs of consistent events (two-transit signals), then the unpaired events: those
    the periodic search found (``known``, taken out of ``search``) and those found here.
    A pair is refined on ``around``, the star without the periodic signals' transits."""
    time, flux = search.time, search.flux_for(math.inf)[0]
    events = [*known, *single_events(time, flux, snr_min=PAIR_EVENT_SNR_MIN)]
    time = np.concatenate([time, _times_of(known, search)])
    out: list[Signal] = []
    used: set[int] = set()
    pairs = sorted(
        (
            (math.hypot(a.snr, b.snr), i, j, period)
            for i, a in enumerate(events)
            for j, b in enumerate(events)
            if i < j
            and _alike(a, b)
            and not _ambiguous(events, i, j)
            and (period := _pair_period(time, a, b)) is not None
        ),
        reverse=True,
    )
    for snr, i, j, period in pairs:
        if i in used or j in used or len(out) >= left:
            continue
        used |= {i, j}
        first = min(events[i], events[j], key=lambda e: e.t0)
        duration = 0.5 * (events[i].duration + events[j].duration)
        refined = _refine_pair(around, period, first.t0, duration)
        out.append(Signal("pair", *refined, math.nan, math.nan, 2, detection=snr, source="pair"))
    for index, event in enumerate(events):
        if index not in used and event.snr >= EVENT_SNR_MIN and len(out) < left:
            out.append(_single(event))
    return out


def _refine_pair(
    search: FeatureContext, period: float, t0: float, duration: float
) -> tuple[float, float, float]:
    """The pair's (period, t0, duration) refined by astropy's BLS on the unbinned flux near
    the events' own (their centres are known to a third of a duration)."""
    from astropy.timeseries import BoxLeastSquares

    flux, err = search.flux_for(period)
    model = BoxLeastSquares(search.time, flux, dy=err)
    periods = np.linspace(period - 1.5 * duration, period + 1.5 * duration, REFINE_PERIODS)
    durations = duration * np.array([0.5, 0.7, 0.85, 1.0, 1.2])
    durations = durations[durations < 0.5 * periods.min()]
    result = model.power(periods, durations, objective="likelihood")
    best = int(np.nanargmax(np.asarray(result.power, dtype=float)))
    return (
        float(result.period[best]),
        float(result.transit_time[best]),
        float(result.duration[best]),
    )


def _times_of(events: Sequence[Event], search: FeatureContext) -> np.ndarray:
    """Stand-in times where earlier single events were taken out (so that their places
    count as covered by data when a pair's other transits are looked for)."""
    cadence = float(np.median(np.diff(np.sort(search.time)))) if search.time.size > 1 else 0.02
    spans = [np.arange(e.t0 - e.duration, e.t0 + e.duration, cadence) for e in events]
    return np.concatenate(spans) if spans else np.array([])


def _ambiguous(events: Sequence[Event], i: int, j: int) -> bool:
    """Whether a third event is like either of the pair: with three or more dips of one
    depth and duration (an active star's), which two belong together is not known."""
    return any(
        _alike(events[k], events[i]) or _alike(events[k], events[j])
        for k in range(len(events))
        if k not in (i, j)
    )


def _alike(a: Event, b: Event) -> bool:
    deeper = max(a.depth, b.depth)
    longer, shorter = max(a.duration, b.duration), min(a.duration, b.duration)
    return (
        abs(a.depth - b.depth) < DEPTHS_DIFFER * deeper and longer <= DURATION_RATIO_MAX * shorter
    )


def _pair_period(time: np.ndarray, a: Event, b: Event) -> float | None:
    """The events' separation, if every other transit a period that long predicts falls in
    the data's gaps (else they are not one planet's); shorter periods the data allow too
    are its aliases (:func:`aliases`)."""
    first, second = sorted((a, b), key=lambda e: e.t0)
    separation = second.t0 - first.t0
    duration = max(a.duration, b.duration)
    if _unseen(time, separation, first.t0, duration, (first.t0, second.t0)):
        return separation
    return None


def aliases(
    time: np.ndarray, period: float, t0: float, duration: float, seen: Sequence[float]
) -> int:
    """How many shorter periods (period / k) put every transit they predict, other than
    those ``seen``, in the data's gaps: the data cannot tell them from ``period``."""
    count = 0
    for k in range(2, max(2, int(period / (2 * duration))) + 1):
        count += int(_unseen(time, period / k, t0, duration, seen))
    return count


def _unseen(
    time: np.ndarray, period: float, t0: float, duration: float, seen: Sequence[float]
) -> bool:
    """Whether every transit of this ephemeris within the data, but those ``seen``,
    falls where there is no data."""
    first = math.ceil((time.min() - t0) / period)
    last = math.floor((time.max() - t0) / period)
    for n in range(first, last + 1):
        centre = t0 + n * period
        if any(abs(centre - s) < 0.5 * duration for s in seen):
            continue
        if np.any(np.abs(time - centre) < 0.5 * duration):
            return False
    return True
