"""Box Least Squares (astropy) on a bounded, physically spaced period grid.

astropy's ``autopower`` spaces frequencies for the shortest duration at the longest
period over the whole baseline: 78 million periods for four years of Kepler (FACTS.md).
Here the frequency step follows the shortest plausible transit at each period, so the
phase drift over the baseline stays below a fraction of a transit everywhere, and the
longest period is capped at half the baseline (two transits) unless set.
"""

from __future__ import annotations

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

    At frequency f the step is ``q / (oversample * baseline)`` in cycles, with q the
    shortest plausible duration at that period (never below the shortest trial
    duration), so a transit cannot slip between two trial periods.
    """
    f_min, f_max = 1.0 / period_max, 1.0 / period_min
    freqs = []
    f = f_min
    while f <= f_max:
        freqs.append(f)
        period = 1.0 / f
        q = max(shortest_duration, MIN_DURATION_FRACTION * float(physical_duration(period)))
        f += q / (oversample * baseline * period)
    return np.sort(1.0 / np.asarray(freqs))


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
    result = model.power(periods, durations, objective="likelihood")
    power = np.asarray(result.power, dtype=float)
    best = int(np.nanargmax(power))
    spread = float(np.nanstd(power))
    depth = float(result.depth[best])
    depth_err = float(result.depth_err[best])
    period, duration = float(result.period[best]), float(result.duration[best])
    t0 = float(result.transit_time[best])
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
        "bls_period": float(result.period[best]),
        "bls_t0": float(result.transit_time[best]),
        "bls_duration": float(result.duration[best]),
        "bls_depth": depth,
        "bls_depth_err": depth_err,
        "bls_snr": depth / depth_err if depth_err > 0 else np.nan,
        "bls_log_likelihood": float(result.log_likelihood[best]),
        "bls_sde": (power[best] - float(np.nanmean(power))) / spread if spread > 0 else np.nan,
        "bls_n_periods": int(periods.size),
    }
