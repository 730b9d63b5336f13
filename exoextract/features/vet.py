"""Vetting metrics at a signal's ephemeris: is it a planet's transit train?

A per-signal family (:func:`at`): every signal of a star and every candidate row is vetted
at its own ephemeris, with the star's other signals' transits taken out (another planet's
transit is not this one's secondary eclipse). Within a search for signals, :func:`compute`
vets the search's best ephemeris (TLS's if it ran, else BLS's) to decide whether it is a
detection. Planet or not: odd/even depths, secondary eclipses, transit shape, sinusoidal
variability at P/2, P and 2P, phase coverage — see :mod:`exoextract.science.vetting` for
the algorithms. Columns are prefixed ``vet_``; ``vet_uses_tls`` says whose ephemeris was
used. A single event (no period) has its depth, significance and shape; the metrics that
need a period are NaN and it is never flagged.

``vet_transit_like`` is a quick candidate flag, the detection rule that ``make
bench-science`` validates: TLS's SDE of at least 9, the dip confirmed by the vetting's own
depth measurement (at least 3.5 sigma), the whole-box depth beyond what correlated noise
reaches on a baseline this long (``vet_depth_snr_red`` at least 6.0 on a Kepler quarter,
growing like sqrt(2 ln N) with the number of independent trials N, which grows with the
square of the baseline: 6.7 on two years, 6.9 on four; without it a quarter of the
multi-year quiet stars in the benchmark were flagged), no sinusoid at P/2, P or 2P with a
quarter of the dip's depth or more (a variable star's wave that survived flattening;
planets in the benchmark stay below 0.17 of their depth, such waves above 0.35), odd and
even transits within 5 sigma of each other, no second eclipse deeper than a tenth of the
transit at more than 5 sigma (an eclipsing binary; a hot Jupiter's occultation is a few
percent), and at least 3 transits with data. Long baselines add three rules, for the
spotted stars that dominate real tables: per-transit depths may not differ both beyond
correlated noise (``vet_depth_chi2_red`` >= 5) and by half the depth (``vet_depth_spread``
>= 0.5) — one or two events carrying the signal is a spot's residual, not an orbit; a
period within 2 % of the star's rotation, half or twice it (``vet_rotation_match``, from
the Lomb-Scargle period of the unflattened flux) on a star whose modulation is at least
half the dip's depth is a spot feature; and two transits are enough only with more
evidence: consistent depths (spread < 0.3), a correlated-noise SNR 1.5 times the
threshold, no sinusoid left above a tenth of the depth, and a depth under 3 % (deeper, the
two events may be an eclipsing binary's two eclipses at twice the period: in the benchmark
two binaries seen twice a year apart were flagged before this bound); and a transit of at
least 1.5 cadences (shorter, it is a dip of one or two points, which noise makes at every
short period). A classifier trained on the
other columns should do better; the flag is for triage.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable
from exoextract.features.variability import strongest_period
from exoextract.science.periods import lomb_scargle_peak
from exoextract.science.vetting import at_ephemeris, at_event, metric_columns, odd_even_sigma

SCOPE = "signal"
SINGLE_REASON = "a single event: no period to vet"

REASON_DOC = (
    "Why vet_transit_like is what it is: every rule that failed (with the measured value and "
    "the threshold), or, for a flagged signal, what it passed with; why the vet columns are "
    "NaN when they are."
)
SDE_MIN = 9.0
RED_SNR_AT_QUARTER = 6.0  # correlated-noise depth SNR needed on 89 days of data
RED_SNR_TRIALS_AT_QUARTER = 8270.0 * 89.0**2  # exp(RED_SNR_AT_QUARTER**2 / 2)
DEPTH_SNR_MIN = 3.5  # benchmark planets at SNR 10 measure 4.1-8.9 (central half of transit)
SECONDARY_MAX = 0.1  # of the primary depth: a hot Jupiter's occultation is a few percent
SIN_TO_DEPTH_MAX = 0.25  # planets in the benchmark stay below 0.17, surviving waves above 0.35
ODD_EVEN_MAX = 5.0
TRANSITS_MIN = 3
# Per-transit depths inconsistent beyond correlated noise AND by half the depth or more: one
# or two events carry the signal (a spot's residual dip). High-SNR planets whose transits
# differ only by sampling reach chi2 > 5 with a spread of 0.1-0.3, so both are required.
CHI2_RED_MAX = 5.0
SPREAD_MAX = 0.5
# Two transits are enough only with more evidence: consistent depths, a correlated-noise
# SNR 1.5 times the threshold and no sinusoid left at P/2, P or 2P.
TWO_TRANSIT_RED_FACTOR = 1.5
TWO_TRANSIT_SPREAD_MAX = 0.3
TWO_TRANSIT_SIN_MAX = 0.1
TWO_TRANSIT_DEPTH_MAX = 0.03  # deeper, two events may be a binary's two eclipses at 2P
# A period within 2 % of the star's rotation (Lomb-Scargle of the unflattened flux), half or
# twice it, on a star whose modulation is at least half the dip's depth: a spot feature.
ROTATION_MATCH_MAX = 0.02
ROTATION_TO_DEPTH_MIN = 0.5
ROTATION_MULTIPLES = (0.5, 1.0, 2.0)
ROTATION_MAX_DAYS = 45.0  # slower "rotations" are Kepler's quarters and other systematics
# A transit shorter than this many cadences is one or two points: noise makes such dips at
# every short period (on a quarter of Kepler, a 40-minute "transit" train at 0.57 d passed
# every other rule on a star Kepler never made a KOI of).
RESOLVED_CADENCES = 1.5

COLUMNS = (
    Column(
        "vet_uses_tls",
        "",
        "1 if measured at TLS's fit, 0 at BLS's, a pair's or the catalog's ephemeris.",
    ),
    Column(
        "vet_transit_like",
        "",
        f"1 if TLS SDE >= {SDE_MIN:g}, measured depth SNR >= {DEPTH_SNR_MIN:g}, correlated-"
        f"noise depth SNR >= {RED_SNR_AT_QUARTER:g} on 89 days (more on longer baselines), "
        "sinusoid "
        f"amplitudes < {SIN_TO_DEPTH_MAX:g} x depth, "
        f"odd/even < {ODD_EVEN_MAX:g} sigma, no secondary eclipse (> {SECONDARY_MAX:g} x "
        f"depth at > {ODD_EVEN_MAX:g} sigma), >= {TRANSITS_MIN} transits with data (2 with "
        "more evidence), per-transit depths consistent (not chi2_red >= "
        f"{CHI2_RED_MAX:g} with spread >= {SPREAD_MAX:g}) and the period not on a spotted "
        "star's rotation (rotation_match >= "
        f"{ROTATION_MATCH_MAX:g} or rotation_to_depth < {ROTATION_TO_DEPTH_MIN:g}), a transit "
        f"of at least {RESOLVED_CADENCES:g} cadences, and no false-positive flag (fp_); else 0 "
        "(NaN without TLS).",
    ),
    Column(
        "vet_rotation_period",
        "d",
        "Strongest Lomb-Scargle period of the unflattened flux out of transit (a spotted "
        "star's rotation or half of it).",
    ),
    Column(
        "vet_rotation_match",
        "",
        "Smallest relative distance of the signal's period from 1/2, 1 or 2 times that "
        "period (0: the signal lines up with the rotation).",
    ),
    Column(
        "vet_rotation_to_depth",
        "",
        "Semi-amplitude of that modulation over the transit depth.",
    ),
    Column(
        "vet_odd_even_sigma_unflagged",
        "sigma",
        "Odd/even difference over the transits no flagged cadence touches (NaN when none is "
        "touched or too few remain); where it is under 5, a larger vet_odd_even_sigma is the "
        "spacecraft's, not a binary's.",
    ),
    Column(
        "vet_duration_cadences",
        "count",
        f"The transit's duration in cadences (under {RESOLVED_CADENCES:g}: unresolved).",
    ),
    *metric_columns("vet_", "at the signal's ephemeris"),
)


def red_snr_threshold(baseline: float) -> float:
    """Correlated-noise depth SNR a transit needs: the largest that noise alone reaches
    grows like sqrt(2 ln N) with the number of independent trials N (periods x phases,
    so the square of the baseline); 6.0 on a Kepler quarter, 6.7 on two years of Kepler,
    6.9 on four."""
    trials = RED_SNR_TRIALS_AT_QUARTER / 89.0**2 * max(baseline, 1.0) ** 2
    return math.sqrt(2.0 * math.log(trials))


def transit_like(
    results: dict[str, Any], metrics: dict[str, float], baseline: float = 89.0
) -> float:
    """The documented candidate flag (see the module docstring). ``metrics`` may carry
    ``rotation_match`` and ``rotation_to_depth`` (the vet family's rotation columns)."""
    return decide(results, metrics, baseline)[0]


def decide(
    results: dict[str, Any],
    metrics: dict[str, float],
    baseline: float = 89.0,
    detection: tuple[str, float, float] | None = None,
) -> tuple[float, str]:
    """The flag and why: every rule that failed, or what the signal passed with.
    ``detection`` (name, value, threshold) stands in for TLS's SDE where no search over
    periods found the signal (two single events paired)."""
    name, value, threshold = detection or ("tls_sde", results.get("tls_sde"), SDE_MIN)
    if not isinstance(value, float) or not math.isfinite(value):
        return math.nan, "no TLS detection statistic (TLS off or failed)"
    failed = [why for rule in _RULES if (why := rule(value, metrics, baseline))]
    if value < threshold:
        failed.insert(0, f"{name} {value:.1f} < {threshold:g}")
    if failed:
        return 0.0, "; ".join(failed)
    transits = metrics.get("n_transits", math.nan)
    label = "SDE" if name == "tls_sde" else name
    return 1.0, (
        f"passed every rule: {label} {value:.1f}, depth_snr_red {metrics['depth_snr_red']:.1f}"
        f" >= {red_snr_threshold(baseline):.1f}, {transits:.0f} transits"
    )


def _confirmed(sde: float, m: dict[str, float], baseline: float) -> str:
    value = m.get("depth_snr", math.nan)
    return "" if value >= DEPTH_SNR_MIN else f"depth_snr {value:.1f} < {DEPTH_SNR_MIN:g}"


def _beyond_noise(sde: float, m: dict[str, float], baseline: float) -> str:
    value, threshold = m.get("depth_snr_red", math.nan), red_snr_threshold(baseline)
    return "" if value >= threshold else f"depth_snr_red {value:.1f} < {threshold:.1f}"


def _wave(sde: float, m: dict[str, float], baseline: float) -> str:
    wave = m.get("sin_to_depth", math.nan)
    if math.isfinite(wave) and wave >= SIN_TO_DEPTH_MAX:
        return f"a sinusoid at P/2, P or 2P: sin_to_depth {wave:.2f} >= {SIN_TO_DEPTH_MAX:g}"
    return ""


def _odd_even(sde: float, m: dict[str, float], baseline: float) -> str:
    value = m.get("odd_even_sigma", math.nan)
    clean = m.get("odd_even_sigma_unflagged", math.nan)
    if math.isfinite(value) and value >= ODD_EVEN_MAX:
        if math.isfinite(clean) and clean < ODD_EVEN_MAX:
            return ""  # the transits no flagged cadence touches agree: the spacecraft's
        return f"odd and even depths differ by {value:.1f} sigma >= {ODD_EVEN_MAX:g}"
    return ""


def _eclipse(sde: float, m: dict[str, float], baseline: float) -> str:
    found = _significant_secondary(m)
    return f"a secondary eclipse ({found})" if found else ""


def _enough(sde: float, m: dict[str, float], baseline: float) -> str:
    transits = m.get("n_transits", 0.0)
    if transits >= TRANSITS_MIN:
        return ""
    if transits != 2:
        return f"{transits:.0f} transit(s) with data < {TRANSITS_MIN}"
    red, threshold = m.get("depth_snr_red", math.nan), red_snr_threshold(baseline)
    spread, wave = m.get("depth_spread", math.nan), m.get("sin_to_depth", math.nan)
    depth = m.get("depth", math.nan)
    missing = []
    if not red >= TWO_TRANSIT_RED_FACTOR * threshold:
        missing.append(f"depth_snr_red {red:.1f} < {TWO_TRANSIT_RED_FACTOR * threshold:.1f}")
    if not spread < TWO_TRANSIT_SPREAD_MAX:
        missing.append(f"depth_spread {spread:.2f} >= {TWO_TRANSIT_SPREAD_MAX:g}")
    if not (math.isfinite(wave) and wave < TWO_TRANSIT_SIN_MAX):
        missing.append(f"sin_to_depth {wave:.2f} >= {TWO_TRANSIT_SIN_MAX:g}")
    if not depth < TWO_TRANSIT_DEPTH_MAX:
        missing.append(f"depth {depth:.3f} >= {TWO_TRANSIT_DEPTH_MAX:g}")
    return "2 transits without more evidence (" + ", ".join(missing) + ")" if missing else ""


def _uneven(sde: float, m: dict[str, float], baseline: float) -> str:
    chi2, spread = m.get("depth_chi2_red", math.nan), m.get("depth_spread", math.nan)
    if math.isfinite(chi2) and chi2 >= CHI2_RED_MAX and spread >= SPREAD_MAX:
        return (
            f"uneven transit depths: depth_chi2_red {chi2:.1f} >= {CHI2_RED_MAX:g} and "
            f"depth_spread {spread:.2f} >= {SPREAD_MAX:g}"
        )
    return ""


def _on_rotation(sde: float, m: dict[str, float], baseline: float) -> str:
    match = m.get("rotation_match", math.nan)
    spots = m.get("rotation_to_depth", math.nan)
    rotation = m.get("rotation_period", math.nan)
    if (
        match < ROTATION_MATCH_MAX
        and spots >= ROTATION_TO_DEPTH_MIN
        and rotation <= ROTATION_MAX_DAYS
    ):
        return (
            f"the period lines up with the star's rotation ({rotation:.2f} d; spots "
            f"{spots:.1f} x the depth)"
        )
    return ""


def wave(metrics: dict[str, float]) -> bool:
    """Whether the metrics show a star's wave rather than transits (a sinusoid at P/2, P or
    2P with a quarter of the depth or more)."""
    return bool(_wave(math.nan, metrics, 0.0))


def on_rotation(metrics: dict[str, float]) -> bool:
    """Whether the period lines up with a spotted star's rotation (the vetting's rule)."""
    return bool(_on_rotation(math.nan, metrics, 0.0))


def _resolved(sde: float, m: dict[str, float], baseline: float) -> str:
    cadences = m.get("duration_cadences", math.nan)
    if math.isfinite(cadences) and cadences < RESOLVED_CADENCES:
        return (
            f"a transit {cadences:.1f} cadences long (< {RESOLVED_CADENCES:g}): a dip of one or "
            "two points, unresolved"
        )
    return ""


_RULES = (
    _confirmed,
    _beyond_noise,
    _wave,
    _odd_even,
    _eclipse,
    _enough,
    _uneven,
    _on_rotation,
    _resolved,
)


def rotation_metrics(
    period: float, depth: float, rotation: tuple[float, float, float] | None
) -> dict[str, float]:
    """How the signal's period stands to the star's rotation (see the columns)."""
    if rotation is None or not (period > 0):
        return {"rotation_period": math.nan, "rotation_match": math.nan,
                "rotation_to_depth": math.nan}  # fmt: skip
    rotation_period, _, amplitude = rotation
    match = min(abs(period / (k * rotation_period) - 1.0) for k in ROTATION_MULTIPLES)
    ratio = amplitude / depth if depth > 0 else math.inf
    return {"rotation_period": rotation_period, "rotation_match": match,
            "rotation_to_depth": ratio}  # fmt: skip


def _significant_secondary(metrics: dict[str, float]) -> str:
    """A second dip, at phase 0.5 or elsewhere, deeper than a tenth of the transit and 5
    sigma: where and how deep ("" if none)."""
    depth = metrics.get("depth", math.nan)
    if not (math.isfinite(depth) and depth > 0):
        return ""
    for name, where in (("secondary", "at phase 0.5"), ("secondary_best", "elsewhere")):
        value = metrics.get(f"{name}_depth", math.nan)
        snr = metrics.get(f"{name}_snr", math.nan)
        if (
            math.isfinite(value)
            and math.isfinite(snr)
            and value > SECONDARY_MAX * depth
            and snr > ODD_EVEN_MAX
        ):
            return f"{where}, {value / depth:.2f} of the depth at {snr:.1f} sigma"
    return ""


def best_ephemeris(results: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """(period, t0, duration, uses_tls) of the strongest blind detection, if any."""
    for prefix, uses_tls in (("tls", 1.0), ("bls", 0.0)):
        values = [results.get(f"{prefix}_{name}") for name in ("period", "t0", "duration")]
        if (
            all(isinstance(v, float) and math.isfinite(v) and v != 0 for v in values[::2])
            and isinstance(values[1], float)
            and math.isfinite(values[1])
        ):
            period, t0, duration = (float(v) for v in values)  # type: ignore[arg-type]
            return period, t0, duration, uses_tls
    return None


def star_rotation(
    ctx: FeatureContext, period: float, t0: float, duration: float
) -> tuple[float, float, float] | None:
    """The star's modulation measured out of transit (a deep transit train would otherwise
    be its own 'rotation'); the shared periodogram when the transits are too few to matter.
    Once per ephemeris (the search's vetting and its signal's ask for the same)."""
    raw_time, raw_flux = ctx.raw_time, ctx.raw_flux
    if raw_time is None or raw_flux is None:
        return strongest_period(ctx)

    def build() -> tuple[float, float, float] | None:
        offset = np.abs((raw_time - t0 + 0.5 * period) % period - 0.5 * period)
        away = offset > duration
        return lomb_scargle_peak(raw_time[away], raw_flux[away])

    result: tuple[float, float, float] | None = ctx.memo(
        f"star_rotation {period!r} {t0!r} {duration!r}", build
    )
    return result


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    """The vetting at one ephemeris; the flag decided with the detection statistic of the
    search that found it (TLS's SDE, or a pair's combined SNR)."""
    if ctx.time.size < ctx.settings.min_points:
        raise NotComputable(f"only {ctx.time.size} cleaned points")
    period, t0, duration = ephemeris.period, ephemeris.t0, ephemeris.duration
    uses_tls = 1.0 if ephemeris.source == "tls" else 0.0
    if ephemeris.single:
        values = at_event(ctx.time, ctx.flux_for(math.inf)[0], t0, duration)
        return {
            "vet_uses_tls": uses_tls,
            "vet_transit_like": math.nan,
            "vet_reason": SINGLE_REASON,
            "vet_duration_cadences": _cadences(ctx, duration),
            **{f"vet_{k}": v for k, v in values.items()},
        }
    flux = ctx.flux_for(period)[0]
    values = at_ephemeris(ctx.time, flux, period, t0, duration)
    if values["n_transits"] == 0:
        raise NotComputable("no data inside any transit of this ephemeris")
    rotation = rotation_metrics(period, values["depth"], star_rotation(ctx, period, t0, duration))
    rotation["duration_cadences"] = _cadences(ctx, duration)
    rotation["odd_even_sigma_unflagged"] = _unflagged_odd_even(ctx, ephemeris, flux)
    baseline = float(ctx.time.max() - ctx.time.min())
    flag, why = decide(
        {"tls_sde": float(ephemeris.detection.get("tls_sde", math.nan))},
        {**values, **rotation},
        baseline,
        ephemeris.statistic,
    )
    return {
        "vet_uses_tls": uses_tls,
        "vet_transit_like": flag,
        "vet_reason": why,
        **{f"vet_{k}": v for k, v in rotation.items()},
        **{f"vet_{k}": v for k, v in values.items()},
    }


def compute(ctx: FeatureContext) -> dict[str, Any]:
    if ctx.time.size < ctx.settings.min_points:
        raise NotComputable(f"only {ctx.time.size} cleaned points")
    found = best_ephemeris(ctx.results)
    if found is None:
        raise NotComputable("no blind-search period to vet (BLS and TLS off or failed)")
    period, t0, duration, uses_tls = found
    values = at_ephemeris(ctx.time, ctx.flux_for(period)[0], period, t0, duration)
    rotation = rotation_metrics(period, values["depth"], star_rotation(ctx, period, t0, duration))
    rotation["duration_cadences"] = _cadences(ctx, duration)
    flag, why = decide(ctx.results, {**values, **rotation}, float(ctx.time.max() - ctx.time.min()))
    return {
        "vet_uses_tls": uses_tls,
        "vet_transit_like": flag,
        "vet_reason": why,
        **{f"vet_{k}": v for k, v in rotation.items()},
        **{f"vet_{k}": v for k, v in values.items()},
    }


def _unflagged_odd_even(ctx: FeatureContext, ephemeris: Ephemeris, flux: Any) -> float:
    """The odd/even difference over the transits no flagged cadence touches (NaN when none
    is touched, or fewer than two odd and two even transits remain)."""
    from exoextract.features.quality import touched

    bad = touched(ctx.facts, ephemeris)
    if not bad.size:
        return math.nan
    epoch = np.floor((ctx.time - ephemeris.t0) / ephemeris.period + 0.5).astype(np.int64)
    inside = np.abs(ctx.time - ephemeris.t0 - epoch * ephemeris.period) < 0.5 * ephemeris.duration
    kept = ~np.isin(epoch, bad)
    good = np.unique(epoch[inside & kept])
    if np.count_nonzero(good % 2 == 1) < 2 or np.count_nonzero(good % 2 == 0) < 2:
        return math.nan
    return odd_even_sigma(
        ctx.time[kept], flux[kept], ephemeris.period, ephemeris.t0, ephemeris.duration
    )


def _cadences(ctx: FeatureContext, duration: float) -> float:
    cadence = float(getattr(ctx.cleaned, "cadence", math.nan))
    return duration / cadence if cadence > 0 else math.nan
