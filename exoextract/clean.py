"""Cleaning: one light curve in, a flattened, outlier-clipped, normalised one out.

The flattening window is given in days and converted with the light curve's own cadence,
so the same setting suits Kepler (29.4 min) and TESS (2 min) data. It is widened, where the
baseline allows long periods, to ``flatten_transit_factor`` times the central transit
duration of a Sun-like star at the longest period searched: a Savitzky-Golay window not
much longer than a transit fits the dip away (a 1-day window removed half the depth of
12-hour transits), so multi-year light curves, whose long-period planets have the longest
transits, get a wider window (two years of Kepler: 1.6 days; four years: 2.1 days), while a
quarter or a sector keeps ``flatten_window_days``. The light curve is divided by its trend
(:mod:`exoextract.detrend`: a Savitzky-Golay filter of ``flatten_polyorder`` fitted around the
points that stand out from it, after a fast rotator's spot modulation where
``flatten_rotation`` is on); ``rotation_removed_period`` says when that model was used.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from exoextract.settings import Settings


@dataclass
class Cleaned:
    """The flattened light curve (for transit searches) and the normalised one (for
    variability), both lightkurve ``LightCurve`` objects, plus what cleaning did."""

    flat: Any
    normalized: Any
    cadence: float
    window_cadences: int
    n_raw: int
    n_clipped: int
    rotation_removed: float = float("nan")  # rotation period whose spots were divided out


def cadence_days(time: np.ndarray) -> float:
    """Typical spacing of the samples (median of positive steps), in days."""
    steps = np.diff(np.sort(time))
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else float("nan")


def window_length(window_days: float, cadence: float, n_points: int) -> int:
    """Odd Savitzky-Golay window in cadences: at least 5, at most the data length."""
    length = round(window_days / cadence) if cadence > 0 else 5
    length = max(5, int(length))
    if length % 2 == 0:
        length += 1
    limit = n_points if n_points % 2 == 1 else n_points - 1
    return max(3, min(length, limit))


def flatten_window(settings: Settings, baseline: float) -> float:
    """Window in days: ``flatten_window_days``, widened to protect the longest transits."""
    from exoextract.search.durations import physical_duration

    longest = baseline / 2.0 if settings.period_max is None else settings.period_max
    protect = settings.flatten_transit_factor * float(physical_duration(max(longest, 0.0)))
    return max(settings.flatten_window_days, protect)


def clean_lightcurve(lc: Any, settings: Settings) -> Cleaned:
    """Quality mask (applied at read), NaN removal, normalise, clip, flatten."""
    n_raw = len(lc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lc = _apply_quality(lc, settings.quality_bitmask).remove_nans()
        if len(lc) == 0:
            return Cleaned(lc, lc, float("nan"), 0, n_raw, 0)
        median = float(np.nanmedian(np.asarray(lc.flux.value, dtype=float)))
        if median > 0 and abs(median - 1.0) > 1e-6:
            lc = lc.normalize()
        before = len(lc)
        lc = lc.remove_outliers(sigma_upper=settings.sigma_upper, sigma_lower=settings.sigma_lower)
        clipped = before - len(lc)
        time = np.asarray(lc.time.value, dtype=float)
        cadence = cadence_days(time)
        if len(lc) < max(settings.min_points, 7):
            return Cleaned(lc, lc, cadence, 0, n_raw, clipped)
        days = flatten_window(settings, float(time.max() - time.min()))
        window = window_length(days, cadence, len(lc))
        flat, rotation = _flatten(lc, time, window, settings, cadence)
    return Cleaned(flat, lc, cadence, window, n_raw, clipped, rotation)


def _flatten(
    lc: Any, time: np.ndarray, window: int, settings: Settings, cadence: float
) -> tuple[Any, float]:
    """``lc`` divided by its trend (:mod:`exoextract.detrend`), and the rotation period whose
    spot modulation went with it (NaN if none); gaps longer than half the window (at least
    5 cadences) split the trend."""
    from exoextract import detrend

    flux = np.asarray(lc.flux.value, dtype=float)
    order = np.argsort(time, kind="stable")
    t, f = time[order], flux[order]
    spots = np.ones(f.size)
    rotation = None
    if settings.flatten_rotation:
        rotation = detrend.rotation_to_model(t, f, window * cadence, settings.period_min)
        if rotation is not None:
            spots = detrend.rotation_model(t, f, *rotation)
            spots = np.where(spots > 0, spots, 1.0)
    gap = max(5, window // 2) * cadence
    polyorder = min(settings.flatten_polyorder, window - 1)
    fitted = np.empty(f.size)
    fitted[order] = spots * detrend.trend(t, f / spots, window, polyorder, gap)
    flat = lc.copy()
    flat.flux = lc.flux / fitted
    if "flux_err" in lc.colnames:
        flat.flux_err = lc.flux_err / fitted
    keep = np.isfinite(np.asarray(flat.flux.value, dtype=float))
    return flat[keep], float("nan") if rotation is None else float(rotation[0])


def _apply_quality(lc: Any, bitmask: str) -> Any:
    """Drop flagged cadences unless the reader already did (lightkurve's readers do)."""
    if lc.meta.get("QUALITY_MASK") is not None or "quality" not in lc.colnames:
        return lc
    from lightkurve.utils import KeplerQualityFlags, TessQualityFlags

    flags = TessQualityFlags if lc.meta.get("MISSION") == "TESS" else KeplerQualityFlags
    quality = np.asarray(getattr(lc.quality, "value", lc.quality)).astype(int)
    return lc[flags.create_quality_mask(quality, bitmask=bitmask)]


def arrays(lc: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Plain float64 time, flux, flux_err (None if errors are missing or unusable)."""
    time = np.asarray(lc.time.value, dtype=float)
    flux = np.asarray(lc.flux.value, dtype=float)
    err = None
    if "flux_err" in lc.colnames:
        err = np.asarray(lc.flux_err.value, dtype=float)
        if not np.all(np.isfinite(err)) or np.any(err <= 0):
            err = None
    return time, flux, err
