"""Basic statistics of the cleaned (flattened, normalised) light curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable

CDPP_HOURS = (1.0, 3.0, 6.0)
PERCENTILES = (1, 5, 25, 75, 95, 99)

COLUMNS = (
    Column("n_points", "count", "Cadences left after cleaning."),
    Column("time_span", "d", "Last minus first cleaned timestamp."),
    Column("cadence", "d", "Median spacing of cleaned cadences."),
    Column("flux_mean", "relative flux", "Mean of the flattened flux (about 1)."),
    Column("flux_median", "relative flux", "Median of the flattened flux."),
    Column("flux_std", "relative flux", "Standard deviation of the flattened flux."),
    Column("flux_mad", "relative flux", "Median absolute deviation from the median."),
    Column("flux_skew", "", "Skewness (negative: dips such as transits dominate)."),
    Column("flux_kurtosis", "", "Excess kurtosis (0 for Gaussian noise)."),
    *(
        Column(f"flux_p{p:02d}", "relative flux", f"{p}th percentile of the flattened flux.")
        for p in PERCENTILES
    ),
    *(
        Column(
            f"cdpp_{h:g}h",
            "ppm",
            f"Combined differential photometric precision over {h:g} h: scatter of the "
            f"running mean in {h:g}-hour windows, the noise a {h:g}-hour transit competes with.",
        )
        for h in CDPP_HOURS
    ),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    time, flux = ctx.time, ctx.flux
    n = int(flux.size)
    out: dict[str, Any] = {"n_points": n}
    if n < 3:
        raise NotComputable(f"only {n} cleaned points")
    out["time_span"] = float(time.max() - time.min())
    out["cadence"] = float(ctx.cleaned.cadence)
    mean = float(np.mean(flux))
    median = float(np.median(flux))
    std = float(np.std(flux))
    out.update(
        flux_mean=mean,
        flux_median=median,
        flux_std=std,
        flux_mad=float(np.median(np.abs(flux - median))),
    )
    centred = flux - mean
    if std > 0:
        out["flux_skew"] = float(np.mean(centred**3) / std**3)
        out["flux_kurtosis"] = float(np.mean(centred**4) / std**4 - 3.0)
    for p, value in zip(PERCENTILES, np.percentile(flux, PERCENTILES), strict=True):
        out[f"flux_p{p:02d}"] = float(value)
    for hours in CDPP_HOURS:
        out[f"cdpp_{hours:g}h"] = cdpp_ppm(time, flux, hours / 24.0, ctx.cleaned.cadence)
    return out


def cdpp_ppm(time: np.ndarray, flux: np.ndarray, window: float, cadence: float) -> float:
    """Std of the running mean over ``window`` days, in ppm (NaN if too few windows)."""
    width = max(1, round(window / cadence)) if cadence > 0 else 1
    if flux.size < 3 * width:
        return float("nan")
    kernel = np.ones(width) / width
    running = np.convolve(flux - np.median(flux), kernel, mode="valid")
    # a robust scatter, so a few transits do not set the noise level
    mad = np.median(np.abs(running - np.median(running)))
    return float(1.4826 * mad * 1e6)
