"""Stellar variability, measured on the normalised light curve before flattening.

The flux is binned to 30 minutes (so TESS and Kepler are treated alike and the search is
fast), then:

* Lomb-Scargle (astropy) over periods from 1 hour to half the baseline: the best period,
  its normalised power and the fitted sinusoid's semi-amplitude;
* the autocorrelation function of the binned flux (gaps filled with the mean): the lag of
  its highest peak after the first zero crossing (rotation periods show up here) and the
  height of that peak;
* how much variability the flattening removed: the ratio of the scatter before and after.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable
from exoextract.science.periods import BIN_DAYS, binned, lomb_scargle_peak

COLUMNS = (
    Column("var_std", "relative flux", "Standard deviation of the normalised, unflattened flux."),
    Column("var_range", "relative flux", "99th minus 1st percentile of the unflattened flux."),
    Column("var_flatten_ratio", "", "Unflattened over flattened scatter (1: nothing removed)."),
    Column("var_ls_period", "d", "Lomb-Scargle period of highest power."),
    Column("var_ls_power", "", "Its normalised Lomb-Scargle power (0-1)."),
    Column("var_ls_amplitude", "relative flux", "Semi-amplitude of the sinusoid at that period."),
    Column("var_acf_period", "d", "Autocorrelation: lag of the highest peak after zero."),
    Column("var_acf_power", "", "Autocorrelation at that lag (1: perfectly periodic)."),
)


def strongest_period(ctx: FeatureContext) -> tuple[float, float, float] | None:
    """(period, normalised power, semi-amplitude) of the highest Lomb-Scargle peak of the
    unflattened flux (starspots: the rotation period or half of it), computed once per
    star and shared with the vetting; None with too little data."""

    def build() -> tuple[float, float, float] | None:
        time = ctx.raw_time if ctx.raw_time is not None else ctx.time
        flux = ctx.raw_flux if ctx.raw_flux is not None else ctx.flux
        return lomb_scargle_peak(time, flux)

    result: tuple[float, float, float] | None = ctx.memo("lomb_scargle", build)
    return result


def compute(ctx: FeatureContext) -> dict[str, Any]:
    time = ctx.raw_time if ctx.raw_time is not None else ctx.time
    flux = ctx.raw_flux if ctx.raw_flux is not None else ctx.flux
    if time.size < ctx.settings.min_points:
        raise NotComputable(f"only {time.size} cleaned points")
    flat_std = float(np.std(ctx.flux)) if ctx.flux.size else math.nan
    out: dict[str, Any] = {
        "var_std": float(np.std(flux)),
        "var_range": float(np.percentile(flux, 99) - np.percentile(flux, 1)),
        "var_flatten_ratio": float(np.std(flux)) / flat_std if flat_std > 0 else math.nan,
    }
    t, y = binned(time, flux, BIN_DAYS)
    found = strongest_period(ctx)
    if found is None:
        raise NotComputable("too few 30-minute bins for a variability search", out)
    period, power, amplitude = found
    out.update(var_ls_period=period, var_ls_power=power, var_ls_amplitude=amplitude)
    out.update(_acf(time.min(), t, y))
    return out


def _acf(start: float, t: np.ndarray, y: np.ndarray) -> dict[str, float]:
    grid = np.round((t - start) / BIN_DAYS - 0.5).astype(np.int64)
    series = np.zeros(int(grid.max()) + 1)
    centred = y - np.mean(y)
    series[grid] = centred
    n = series.size
    spectrum = np.fft.rfft(series, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    if acf[0] <= 0:
        return {"var_acf_period": math.nan, "var_acf_power": math.nan}
    acf = acf / acf[0]
    negative = np.nonzero(acf < 0)[0]
    if negative.size == 0:
        return {"var_acf_period": math.nan, "var_acf_power": math.nan}
    start_lag = int(negative[0])
    limit = max(start_lag + 1, n // 2)
    if limit <= start_lag + 1:
        return {"var_acf_period": math.nan, "var_acf_power": math.nan}
    lag = start_lag + int(np.argmax(acf[start_lag:limit]))
    return {"var_acf_period": lag * BIN_DAYS, "var_acf_power": float(acf[lag])}
