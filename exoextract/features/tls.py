"""Transit Least Squares (transitleastsquares 2.0.4), one thread, inside the worker.

``use_threads=1`` always: with more, TLS starts its own persistent process pool, which
oversubscribes the CPUs under our workers and can hang in forked processes (FACTS.md).
The search backend is the ``tls_backend`` setting (see the README for the measured choice).
Every scalar field of TLS's result is kept; depths are reported as fractional decrements
(TLS's ``depth`` is the in-transit flux level, so ``tls_depth`` = 1 - depth), and the
per-transit arrays are summarised.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable

COLUMNS = (
    Column("tls_period", "d", "Period of the highest signal detection efficiency (SDE)."),
    Column("tls_period_uncertainty", "d", "Half width at half maximum of the SDE peak."),
    Column("tls_t0", "d (mission time: BTJD or BKJD)", "Mid-time of the first transit."),
    Column("tls_duration", "d", "Transit duration of the best template."),
    Column("tls_depth", "relative flux", "1 - in-transit flux of the best model."),
    Column("tls_depth_mean", "relative flux", "1 - mean in-transit flux of all transits."),
    Column("tls_depth_mean_err", "relative flux", "Its standard error."),
    Column("tls_depth_odd", "relative flux", "1 - mean in-transit flux, odd transits."),
    Column("tls_depth_odd_err", "relative flux", "Its standard error."),
    Column("tls_depth_even", "relative flux", "1 - mean in-transit flux, even transits."),
    Column("tls_depth_even_err", "relative flux", "Its standard error."),
    Column("tls_odd_even_mismatch", "sigma", "Odd/even depth difference, in sigma (TLS)."),
    Column("tls_sde", "", "Signal detection efficiency of the best period."),
    Column("tls_sde_raw", "", "SDE before TLS's spectrum detrending."),
    Column("tls_chi2_min", "", "Minimum chi-squared of the search."),
    Column("tls_chi2red_min", "", "Minimum reduced chi-squared."),
    Column("tls_snr", "", "Signal-to-noise ratio of the stacked transits."),
    Column("tls_snr_per_transit_mean", "", "Mean SNR of single transits."),
    Column("tls_snr_per_transit_min", "", "Smallest single-transit SNR (with data)."),
    Column("tls_snr_per_transit_max", "", "Largest single-transit SNR."),
    Column("tls_snr_pink_per_transit_mean", "", "Mean single-transit SNR with red noise."),
    Column("tls_transit_depth_std", "relative flux", "Scatter of the single-transit depths."),
    Column("tls_rp_rs", "", "Planet-to-star radius ratio implied by the depth."),
    Column("tls_transit_count", "count", "Transits expected within the baseline."),
    Column("tls_distinct_transit_count", "count", "Transits with data in them."),
    Column("tls_empty_transit_count", "count", "Expected transits without data."),
    Column("tls_in_transit_count", "count", "Points inside transits."),
    Column("tls_after_transit_count", "count", "Points just after transits."),
    Column("tls_before_transit_count", "count", "Points just before transits."),
    Column("tls_fap", "", "False alarm probability of the SDE (TLS's calibration)."),
    Column("tls_n_periods", "count", "Trial periods searched."),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    from transitleastsquares import transitleastsquares

    settings = ctx.settings
    time, flux, err = ctx.time, ctx.flux, ctx.flux_err
    if time.size < settings.min_points:
        raise NotComputable(f"only {time.size} cleaned points (min_points={settings.min_points})")
    baseline = float(time.max() - time.min())
    period_max = baseline / 2.0 if settings.period_max is None else settings.period_max
    if period_max <= settings.period_min:
        raise NotComputable(
            f"baseline {baseline:.2f} d too short for periods above {settings.period_min} d"
        )
    kwargs: dict[str, Any] = dict(
        use_threads=1,
        backend=settings.tls_backend,
        period_min=settings.period_min,
        period_max=period_max,
        oversampling_factor=settings.tls_oversampling,
        show_progress_bar=False,
        verbose=False,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        model = transitleastsquares(time, flux, err, verbose=False)
        result = model.power(**kwargs)
    return summarise(result)


def summarise(result: Any) -> dict[str, Any]:
    """TLS's result object -> our columns."""

    def decrement(value: Any) -> float:
        level = _scalar(value)
        return 1.0 - level if math.isfinite(level) else math.nan

    per_transit = _array(getattr(result, "snr_per_transit", None))
    with_data = per_transit[per_transit > 0] if per_transit.size else per_transit
    depths = _array(getattr(result, "transit_depths", None))
    depths = depths[np.isfinite(depths)]
    return {
        "tls_period": _scalar(result.period),
        "tls_period_uncertainty": _scalar(result.period_uncertainty),
        "tls_t0": _scalar(result.T0),
        "tls_duration": _scalar(result.duration),
        "tls_depth": decrement(result.depth),
        "tls_depth_mean": decrement(_pair(result.depth_mean)[0]),
        "tls_depth_mean_err": _pair(result.depth_mean)[1],
        "tls_depth_odd": decrement(_pair(result.depth_mean_odd)[0]),
        "tls_depth_odd_err": _pair(result.depth_mean_odd)[1],
        "tls_depth_even": decrement(_pair(result.depth_mean_even)[0]),
        "tls_depth_even_err": _pair(result.depth_mean_even)[1],
        "tls_odd_even_mismatch": _scalar(result.odd_even_mismatch),
        "tls_sde": _scalar(result.SDE),
        "tls_sde_raw": _scalar(result.SDE_raw),
        "tls_chi2_min": _scalar(result.chi2_min),
        "tls_chi2red_min": _scalar(result.chi2red_min),
        "tls_snr": _scalar(result.snr),
        "tls_snr_per_transit_mean": float(np.mean(with_data)) if with_data.size else math.nan,
        "tls_snr_per_transit_min": float(np.min(with_data)) if with_data.size else math.nan,
        "tls_snr_per_transit_max": float(np.max(with_data)) if with_data.size else math.nan,
        "tls_snr_pink_per_transit_mean": _mean(getattr(result, "snr_pink_per_transit", None)),
        "tls_transit_depth_std": float(np.std(1.0 - depths)) if depths.size > 1 else math.nan,
        "tls_rp_rs": _scalar(result.rp_rs),
        "tls_transit_count": _scalar(result.transit_count),
        "tls_distinct_transit_count": _scalar(result.distinct_transit_count),
        "tls_empty_transit_count": _scalar(result.empty_transit_count),
        "tls_in_transit_count": _scalar(result.in_transit_count),
        "tls_after_transit_count": _scalar(result.after_transit_count),
        "tls_before_transit_count": _scalar(result.before_transit_count),
        "tls_fap": _scalar(result.FAP),
        "tls_n_periods": int(np.size(result.periods)),
    }


def _scalar(value: Any) -> float:
    try:
        number = float(np.asarray(value, dtype=float).ravel()[0])
    except (TypeError, ValueError, IndexError):
        return math.nan
    return number


def _pair(value: Any) -> tuple[float, float]:
    try:
        first, second = (float(v) for v in value)
    except (TypeError, ValueError):
        return math.nan, math.nan
    return first, second


def _array(value: Any) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([])


def _mean(value: Any) -> float:
    array = _array(value)
    array = array[np.isfinite(array)]
    return float(np.mean(array)) if array.size else math.nan
