"""Cleaning: one light curve in, flattened, outlier-clipped, normalised ones out.

The flattening window is given in days and converted with the light curve's own cadence,
so the same setting suits Kepler (29.4 min) and TESS (2 min) data. A Savitzky-Golay window
not much longer than a transit fits the dip away (a quadratic over three transit durations
keeps a third of a shallow transit's depth, over five a bit more than half), while a wide
window cannot follow a spotted star. The window is widened, where the baseline allows long
periods, to ``flatten_transit_factor`` times the central transit duration of a Sun-like star
at the longest period searched (two years of Kepler: 1.6 days; four years: 2.1 days); a
quarter or a sector keeps ``flatten_window_days``. With ``flatten_per_octave`` the light
curve is flattened once per octave of trial periods instead (:func:`flatten_bands`), each
with the factor's durations at the octave's longest period, never less than
``flatten_window_days``: the search folds each octave's own flux, and the template fits, the
vetting and the views read the flux of the octave of the period they look at
(:meth:`exoextract.features.FeatureContext.flux_for`); the other families read the narrowest.
The light curve is divided by its trend (:mod:`exoextract.detrend`: a Savitzky-Golay filter
of ``flatten_polyorder`` fitted around the points that stand out from it, after a fast
rotator's spot modulation where ``flatten_rotation`` is on, judged per window);
``rotation_removed_period`` says when that model was used.
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
    bands: tuple[Band, ...] = ()  # the flux flattened with each window, narrowest first

    def band_for(self, period: float) -> Band | None:
        """The band whose window protects transits at ``period`` (its octave's band)."""
        for band in self.bands:
            if period <= band.up_to * (1 + 1e-3):  # band ends are octave edges of the search
                return band
        return self.bands[-1] if self.bands else None


@dataclass(frozen=True)
class Band:
    """The light curve flattened with one window (flux and errors on ``flat``'s times),
    for the trial periods up to ``up_to`` days (the longest band: every period)."""

    window_days: float
    up_to: float
    flux: np.ndarray
    flux_err: np.ndarray | None
    rotation: float = float("nan")  # rotation period whose spot model is in the trend


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


def longest_period(settings: Settings, baseline: float) -> float:
    """The longest trial period: half the baseline (two transits) or ``period_max``."""
    return baseline / 2.0 if settings.period_max is None else min(settings.period_max, baseline)


def flatten_bands(settings: Settings, baseline: float) -> list[tuple[float, float]]:
    """(longest period, window in days) per band, ascending; the last band takes every
    longer period. One band per octave of the search (:func:`exoextract.search.octave_edges`,
    ``period_min`` to half the baseline or ``period_max``) whose window is
    ``flatten_transit_factor`` Sun-like transit durations at the octave's longest period;
    octaves for which ``flatten_window_days`` is already that wide share one band."""
    from exoextract.search.durations import octave_edges, physical_duration

    base, factor = settings.flatten_window_days, settings.flatten_transit_factor
    longest = longest_period(settings, baseline)
    if factor <= 0 or not longest > settings.period_min:
        return [(float("inf"), base)]
    if not settings.flatten_per_octave:
        return [(float("inf"), max(base, factor * float(physical_duration(longest))))]
    bands: list[tuple[float, float]] = []
    for high in octave_edges(settings.period_min, longest)[1:]:
        window = max(base, factor * float(physical_duration(float(high))))
        if bands and bands[-1][1] >= window:
            bands[-1] = (float(high), bands[-1][1])
        else:
            bands.append((float(high), window))
    bands[-1] = (float("inf"), bands[-1][1])
    return bands


def flatten_window(settings: Settings, baseline: float) -> float:
    """The widest window in days: ``flatten_window_days``, widened to protect the longest
    transits."""
    return flatten_bands(settings, baseline)[-1][1]


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
        bands, trends = _flattenings(lc, time, cadence, settings)
        flux = np.asarray(lc.flux.value, dtype=float)
        keep = np.logical_and.reduce([np.isfinite(flux / fitted) for fitted, _ in trends])
        flat = lc.copy()
        flat.flux = lc.flux / trends[0][0]
        if "flux_err" in lc.colnames:
            flat.flux_err = lc.flux_err / trends[0][0]
        flat = flat[keep]
        flattened = _bands(lc, keep, bands, trends, cadence)
    rotation = next((b.rotation for b in flattened if np.isfinite(b.rotation)), float("nan"))
    return Cleaned(flat, lc, cadence, bands[0][1], n_raw, clipped, rotation, flattened)


def _flattenings(
    lc: Any, time: np.ndarray, cadence: float, settings: Settings
) -> tuple[list[tuple[float, int]], list[tuple[np.ndarray, float]]]:
    """The bands (period reach, window in cadences) and their trends."""
    baseline = float(time.max() - time.min())
    bands = _merged(
        [
            (up_to, window_length(days, cadence, len(lc)))
            for up_to, days in flatten_bands(settings, baseline)
        ]
    )
    return bands, [_trend(lc, time, window, settings, cadence) for _, window in bands]


def _merged(bands: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Bands whose windows come out the same in cadences become one."""
    out: list[tuple[float, int]] = []
    for up_to, window in bands:
        if out and out[-1][1] >= window:
            out[-1] = (up_to, out[-1][1])
        else:
            out.append((up_to, window))
    return out


def _bands(
    lc: Any,
    keep: np.ndarray,
    bands: list[tuple[float, int]],
    trends: list[tuple[np.ndarray, float]],
    cadence: float,
) -> tuple[Band, ...]:
    flux = np.asarray(lc.flux.value, dtype=float)[keep]
    err = np.asarray(lc.flux_err.value, dtype=float)[keep] if "flux_err" in lc.colnames else None
    out = []
    for (up_to, window), (fitted, rotation) in zip(bands, trends, strict=True):
        divisor = fitted[keep]
        band_err = None if err is None else err / divisor
        out.append(Band(window * cadence, up_to, flux / divisor, band_err, rotation))
    return tuple(out)


def _trend(
    lc: Any, time: np.ndarray, window: int, settings: Settings, cadence: float
) -> tuple[np.ndarray, float]:
    """The trend to divide ``lc`` by (:mod:`exoextract.detrend`), and the rotation period
    whose spot modulation is part of it (NaN if none); gaps longer than half the window
    (at least 5 cadences) split the trend."""
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
    return fitted, float("nan") if rotation is None else float(rotation[0])


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
