"""Box Least Squares (astropy) on a bounded, physically spaced period grid.

astropy's ``autopower`` spaces frequencies for the shortest duration at the longest
period over the whole baseline: 78 million periods for four years of Kepler (FACTS.md).
Here the frequency step follows the transit duration expected at each period (half a
Sun-like transit, at least the shortest trial box), so the phase drift over the baseline
stays below a fraction of a transit everywhere, and the longest period is capped at half
the baseline (two transits) unless set. The search runs one period octave at a time with
only the trial durations plausible there (0.35 to 2.5 times a Sun-like transit): long
periods are not binned at 1-hour resolution. Both levers were kept only because the
injection benchmark (``make bench-science``) showed no loss of recall; on two years of
Kepler data they cut BLS from 102 s to 43 s.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable

COLUMNS = (
    Column("bls_period", "d", "Period of the highest BLS log-likelihood peak."),
    Column("bls_t0", "d (mission time: BTJD or BKJD)", "Mid-time of the first transit."),
    Column("bls_duration", "d", "Best box duration among the trial durations."),
    Column("bls_depth", "relative flux", "Box depth (fractional flux decrement)."),
    Column("bls_depth_err", "relative flux", "Uncertainty of the box depth."),
    Column("bls_snr", "", "Depth divided by its uncertainty."),
    Column(
        "bls_log_likelihood", "", "BLS power: log-likelihood of the best box model over a constant."
    ),
    Column("bls_sde", "", "Signal detection efficiency: (peak - mean) / std of the spectrum."),
    Column("bls_depth_odd", "relative flux", "Box depth of odd-numbered transits."),
    Column("bls_depth_even", "relative flux", "Box depth of even-numbered transits."),
    Column("bls_odd_even_sigma", "sigma", "Odd/even depth difference over its uncertainty."),
    Column(
        "bls_harmonic_delta_log_likelihood",
        "",
        "Log-likelihood of a sinusoid at this period minus that of the box (above zero: "
        "a variable star fits better than a transit).",
    ),
    Column("bls_n_transits", "count", "Transits at this ephemeris with data in them."),
    Column("bls_n_periods", "count", "Trial periods searched."),
)

MIN_DURATION_FRACTION = 0.35  # grazing or small-star transits: a third of the central one
GRID_DURATION_FRACTION = 0.5  # grid spacing: drift < 1/oversample of half a Sun-like transit
MAX_DURATION_FACTOR = 2.5  # evolved stars: up to 2.5 times a Sun-like star's


def physical_duration(period: np.ndarray | float) -> np.ndarray | float:
    """Central transit duration of a Sun-like star at this period, days (13 h at 1 yr)."""
    return 13.0 / 24.0 * (np.asarray(period) / 365.25) ** (1.0 / 3.0)


def period_grid(
    baseline: float,
    period_min: float,
    period_max: float,
    shortest_duration: float,
    oversample: float,
) -> np.ndarray:
    """Ascending trial periods, uniform in phase drift rather than in frequency.

    At frequency f the step is ``q / (oversample * baseline)`` in cycles, with q half the
    central duration of a Sun-like star's transit at that period (never below the shortest
    trial duration), so a transit cannot slip between two trial periods.
    """
    f_min, f_max = 1.0 / period_max, 1.0 / period_min
    freqs = []
    f = f_min
    while f <= f_max:
        freqs.append(f)
        period = 1.0 / f
        q = max(shortest_duration, GRID_DURATION_FRACTION * float(physical_duration(period)))
        f += q / (oversample * baseline * period)
    return np.sort(1.0 / np.asarray(freqs))


def plausible_durations(durations: np.ndarray, p_low: float, p_high: float) -> np.ndarray:
    """Trial durations a transit can have at periods in [p_low, p_high] (shorter than p_low)."""
    low = MIN_DURATION_FRACTION * float(physical_duration(p_low))
    high = MAX_DURATION_FACTOR * float(physical_duration(p_high))
    usable = durations[durations < p_low]
    keep = usable[(usable >= low) & (usable <= high)]
    if keep.size == 0 and usable.size:  # keep the one nearest to a Sun-like transit
        middle = float(physical_duration(np.sqrt(p_low * p_high)))
        keep = usable[[int(np.argmin(np.abs(usable - middle)))]]
    return keep


def segmented_power(
    model: Any, periods: np.ndarray, durations: np.ndarray
) -> dict[str, np.ndarray]:
    """BLS one period octave at a time, each with only its plausible durations.

    astropy bins each folded light curve at the shortest trial duration, so searching long
    periods with 1-hour boxes costs bins nobody needs; per octave, the shortest box grows
    with the period and the search over a long baseline gets several times cheaper.
    """
    edges = np.geomspace(
        periods[0],
        periods[-1] * (1 + 1e-9),
        max(2, int(np.ceil(np.log2(periods[-1] / periods[0]))) + 1),
    )
    parts: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "period",
            "power",
            "depth",
            "depth_err",
            "duration",
            "transit_time",
            "log_likelihood",
        )
    }
    for low, high in itertools.pairwise(edges):
        chosen = periods[(periods >= low) & (periods < high)]
        if chosen.size == 0:
            continue
        trial = plausible_durations(durations, float(chosen[0]), float(chosen[-1]))
        if trial.size == 0:
            continue
        result = model.power(chosen, trial, objective="likelihood")
        for key, values in parts.items():
            values.append(np.asarray(getattr(result, key), dtype=float))
    if not parts["period"]:
        raise NotComputable("no trial duration fits any trial period")
    return {key: np.concatenate(values) for key, values in parts.items()}


def search_limits(
    time: np.ndarray, period_min: float, period_max: float | None
) -> tuple[float, float, float]:
    baseline = float(time.max() - time.min())
    longest = baseline / 2.0 if period_max is None else min(period_max, baseline)
    return baseline, period_min, longest


def compute(ctx: FeatureContext) -> dict[str, Any]:
    from astropy.timeseries import BoxLeastSquares

    settings = ctx.settings
    time, flux, err = ctx.time, ctx.flux, ctx.flux_err
    if time.size < settings.min_points:
        raise NotComputable(f"only {time.size} cleaned points (min_points={settings.min_points})")
    baseline, pmin, pmax = search_limits(time, settings.period_min, settings.period_max)
    if pmax <= pmin:
        raise NotComputable(f"baseline {baseline:.2f} d too short for periods above {pmin} d")
    durations = np.array(sorted(settings.bls_durations_hours)) / 24.0
    durations = durations[durations < pmin]
    if durations.size == 0:
        raise NotComputable("every trial duration is longer than the shortest period")
    periods = period_grid(baseline, pmin, pmax, float(durations[0]), settings.bls_oversample)
    model = BoxLeastSquares(time, flux, dy=err)
    result = segmented_power(model, periods, durations)
    power = result["power"]
    best = int(np.nanargmax(power))
    spread = float(np.nanstd(power))
    depth = float(result["depth"][best])
    depth_err = float(result["depth_err"][best])
    period, duration = float(result["period"][best]), float(result["duration"][best])
    t0 = float(result["transit_time"][best])
    stats = model.compute_stats(period, duration, t0)
    odd, odd_err = (float(v) for v in stats["depth_odd"])
    even, even_err = (float(v) for v in stats["depth_even"])
    odd_even_err = float(np.hypot(odd_err, even_err))
    return {
        "bls_depth_odd": odd,
        "bls_depth_even": even,
        "bls_odd_even_sigma": abs(odd - even) / odd_even_err if odd_even_err > 0 else np.nan,
        "bls_harmonic_delta_log_likelihood": float(stats["harmonic_delta_log_likelihood"]),
        "bls_n_transits": int(np.sum(np.asarray(stats["per_transit_count"]) > 0)),
        "bls_period": period,
        "bls_t0": t0,
        "bls_duration": duration,
        "bls_depth": depth,
        "bls_depth_err": depth_err,
        "bls_snr": depth / depth_err if depth_err > 0 else np.nan,
        "bls_log_likelihood": float(result["log_likelihood"][best]),
        "bls_sde": (power[best] - float(np.nanmean(power))) / spread if spread > 0 else np.nan,
        "bls_n_periods": int(periods.size),
    }
