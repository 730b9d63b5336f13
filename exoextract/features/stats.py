"""Noise and flux statistics of the cleaned (flattened, normalised) light curve.

CDPP (combined differential photometric precision) is measured directly: the robust
scatter (1.4826 × MAD) of the running mean of the flux over a window of the given
duration, in ppm — the noise a transit of that duration competes with. Outlier fractions
count points more than 3 robust standard deviations from the median, above (flares,
cosmic rays left after clipping) and below (transits, eclipses, systematics).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable

CDPP_HOURS = (0.5, 1.0, 2.0, 3.0, 6.0, 12.0)
PERCENTILES = (1, 5, 25, 75, 95, 99)


def _hours(h: float) -> str:
    return f"{h:g}".replace(".", "p")


COLUMNS = (
    Column("n_points", "count", "Cadences left after cleaning."),
    Column("time_span", "d", "Last minus first cleaned timestamp."),
    Column("cadence", "d", "Median spacing of cleaned cadences."),
    Column("duty_cycle", "fraction", "Cadences present over cadences the time span could hold."),
    Column("flux_mean", "relative flux", "Mean of the flattened flux (about 1)."),
    Column("flux_median", "relative flux", "Median of the flattened flux."),
    Column("flux_std", "relative flux", "Standard deviation of the flattened flux."),
    Column("flux_mad", "relative flux", "Median absolute deviation from the median."),
    Column("flux_robust_std", "relative flux", "1.4826 × MAD: the noise, ignoring transits."),
    Column("flux_skew", "", "Skewness (negative: dips such as transits dominate)."),
    Column("flux_kurtosis", "", "Excess kurtosis (0 for Gaussian noise)."),
    *(
        Column(f"flux_p{p:02d}", "relative flux", f"Percentile {p} of the flattened flux.")
        for p in PERCENTILES
    ),
    Column("flux_range", "relative flux", "99th minus 1st percentile."),
    Column("outlier_frac_up", "fraction", "Points more than 3 robust sigma above the median."),
    Column("outlier_frac_down", "fraction", "Points more than 3 robust sigma below the median."),
    *(
        Column(
            f"cdpp_{_hours(h)}h",
            "ppm",
            f"Robust scatter of the {h:g}-hour running mean: the noise a {h:g}-hour "
            "transit competes with.",
        )
        for h in CDPP_HOURS
    ),
    Column("n_clipped", "count", "Bright outliers removed by cleaning."),
    Column(
        "rotation_removed_period",
        "d",
        "Rotation period whose spot modulation cleaning divided out before flattening "
        "(NaN: none was).",
    ),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    time, flux = ctx.time, ctx.flux
    n = int(flux.size)
    out: dict[str, Any] = {
        "n_points": n,
        "n_clipped": ctx.cleaned.n_clipped,
        "rotation_removed_period": ctx.cleaned.rotation_removed,
    }
    if n < 3:
        raise NotComputable(f"only {n} cleaned points", out)
    cadence = float(ctx.cleaned.cadence)
    span = float(time.max() - time.min())
    mean = float(np.mean(flux))
    median = float(np.median(flux))
    std = float(np.std(flux))
    mad = float(np.median(np.abs(flux - median)))
    robust = 1.4826 * mad
    out.update(
        time_span=span,
        cadence=cadence,
        flux_mean=mean,
        flux_median=median,
        flux_std=std,
        flux_mad=mad,
        flux_robust_std=robust,
        duty_cycle=n / (span / cadence + 1) if cadence > 0 else np.nan,
    )
    centred = flux - mean
    if std > 0:
        out["flux_skew"] = float(np.mean(centred**3) / std**3)
        out["flux_kurtosis"] = float(np.mean(centred**4) / std**4 - 3.0)
    values = np.percentile(flux, PERCENTILES)
    for p, value in zip(PERCENTILES, values, strict=True):
        out[f"flux_p{p:02d}"] = float(value)
    out["flux_range"] = float(values[-1] - values[0])
    if robust > 0:
        out["outlier_frac_up"] = float(np.mean(flux > median + 3 * robust))
        out["outlier_frac_down"] = float(np.mean(flux < median - 3 * robust))
    for hours in CDPP_HOURS:
        out[f"cdpp_{_hours(hours)}h"] = cdpp_ppm(flux, hours / 24.0, cadence)
    return out


def cdpp_ppm(flux: np.ndarray, window: float, cadence: float) -> float:
    """Robust scatter of the running mean over ``window`` days, in ppm."""
    width = max(1, round(window / cadence)) if cadence > 0 else 1
    if flux.size < 3 * width:
        return float("nan")
    kernel = np.ones(width) / width
    running = np.convolve(flux - np.median(flux), kernel, mode="valid")
    mad = np.median(np.abs(running - np.median(running)))
    return float(1.4826 * mad * 1e6)
