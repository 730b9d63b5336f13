"""Cleaning: one light curve in, flattened, outlier-clipped, normalised ones out.

The flattening window is given in days and converted with the light curve's own cadence,
so the same setting suits Kepler (29.4 min) and TESS (2 min) data. A Savitzky-Golay window
not much longer than a transit fits the dip away (a quadratic over three transit durations
keeps a third of a shallow transit's depth, over five a bit more than half), while a wide
window cannot follow a spotted star. The window is widened, where the baseline allows long
periods, to ``flatten_transit_factor`` times the central transit duration of a Sun-like star
at the longest period searched (two years of Kepler: 1.6 days; four years: 2.1 days); a
quarter or a sector keeps ``flatten_window_days``. That window suits the search, which
compares every period against spot residuals everywhere, but it keeps only part of a long
transit's depth; so a candidate is fitted, vetted and viewed on the light curve flattened
for its octave of periods (:func:`flatten_bands`): ``flatten_fit_factor`` Sun-like
durations at the octave's longest period, never narrower than the search's window
(:meth:`exoextract.features.FeatureContext.flux_for`). With ``flatten_per_octave`` the search
also folds one flux per octave, each flattened with ``flatten_transit_factor`` durations at
the octave's longest period (:meth:`exoextract.features.FeatureContext.search_flux_for`).
With ``flatten_per_octave_unspotted`` (the default) it does so, with ``flatten_fit_factor``
durations, on every star where no window models a spot rotation and no modulation up to 30
days reaches 20 times the point-to-point noise: without such spots, the wider windows of
long periods keep a long transit's depth for the search too, while a spotted star's search
keeps the one window, whose narrower long-period bands leave fewer spot residuals.
The other families read the narrowest flux.
The light curve is divided by its trend (:mod:`exoextract.science.detrend`: a Savitzky-Golay filter
of ``flatten_polyorder`` fitted around the points that stand out from it, after a fast
rotator's spot modulation where ``flatten_rotation`` is on, judged per window);
``rotation_removed_period`` says when that model was used.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from exoextract.lightcurves.lightcurve import LightCurve, as_lightcurve, quality_mask
from exoextract.science.periods import longest_period
from exoextract.settings import Settings

STRONG_SPOTS = 20.0  # semi-amplitude in point-to-point noise: a star too spotted for ...
SPOTS_LONGEST_DAYS = 30.0  # ... a search per octave, rotating in up to this many days


@dataclass
class Cleaned:
    """The flattened light curve (for transit searches) and the normalised one (for
    variability), both :class:`~exoextract.lightcurves.lightcurve.LightCurve`, plus what
    cleaning did."""

    flat: LightCurve | None  # None in a subset (see subset)
    normalized: LightCurve
    cadence: float
    window_cadences: int
    n_raw: int
    n_clipped: int
    rotation_removed: float = float("nan")  # rotation period whose spots were divided out
    bands: tuple[Band, ...] = ()  # the flux candidates are fitted on, per octave, ascending
    search_bands: tuple[Band, ...] = ()  # the flux the search folds (one band unless per octave)

    def band_for(self, period: float) -> Band | None:
        """The band whose window protects transits at ``period`` (its octave's band)."""
        return _band_in(self.bands, period)

    def search_band_for(self, period: float) -> Band | None:
        """The band the search folds for trial periods in ``period``'s octave."""
        return _band_in(self.search_bands, period)

    def subset(self, keep: np.ndarray) -> Cleaned:
        """The flattened fluxes with only the ``keep`` points (on ``flat``'s times): a star's
        later signals are searched with the transits of the earlier ones out. The searches
        read the context's arrays and these bands, so the subset carries no ``flat``
        LightCurve (None): copying one per search cost memory and time for nothing."""
        return replace(
            self,
            flat=None,
            bands=tuple(band.subset(keep) for band in self.bands),
            search_bands=tuple(band.subset(keep) for band in self.search_bands),
        )


def _band_in(bands: tuple[Band, ...], period: float) -> Band | None:
    """The first of ``bands`` (ascending reach) that reaches ``period``, else the last."""
    for band in bands:
        if period <= band.up_to * (1 + 1e-3):  # band ends are octave edges of the search
            return band
    return bands[-1] if bands else None


@dataclass(frozen=True)
class Band:
    """The light curve flattened with one window (flux and errors on ``flat``'s times),
    for the trial periods up to ``up_to`` days (the longest band: every period)."""

    window_days: float
    up_to: float
    flux: np.ndarray
    flux_err: np.ndarray | None
    rotation: float = float("nan")  # rotation period whose spot model is in the trend

    def subset(self, keep: np.ndarray) -> Band:
        err = None if self.flux_err is None else self.flux_err[keep]
        return replace(self, flux=self.flux[keep], flux_err=err)


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


def flatten_bands(
    settings: Settings, baseline: float, fits: bool = False, unspotted: bool = False
) -> list[tuple[float, float]]:
    """(longest period, window in days) per band, ascending; the last band takes every
    longer period. The search's bands (``fits`` False): one window, ``flatten_transit_factor``
    Sun-like transit durations at the longest period searched (half the baseline or
    ``period_max``) and never less than ``flatten_window_days``; with ``flatten_per_octave``
    one per octave of the search (:func:`exoextract.science.search.durations.octave_edges`),
    the factor's durations at the octave's longest period. The fits' bands (``fits`` True):
    per octave, the wider of the search's window there and ``flatten_fit_factor`` durations at the
    octave's longest period. The search's bands of a star whose flattening models no spot
    rotation (``unspotted``, with ``flatten_per_octave_unspotted``): per octave,
    ``flatten_fit_factor`` durations at its longest period. Octaves whose windows come out
    the same share a band."""
    from exoextract.science.search.durations import octave_edges, physical_duration

    base = settings.flatten_window_days
    longest = longest_period(settings, baseline)
    if not longest > settings.period_min:
        return [(float("inf"), base)]

    def widest(factor: float, period: float) -> float:
        return max(base, factor * float(physical_duration(period)))

    transit, fit = settings.flatten_transit_factor, settings.flatten_fit_factor
    per_octave = settings.flatten_per_octave
    if not fits and unspotted and searches_per_octave_unspotted(settings):
        transit, per_octave = fit, True
    bands: list[tuple[float, float]] = []
    for high in octave_edges(settings.period_min, longest)[1:]:
        window = widest(transit, float(high) if per_octave else longest)
        if fits:
            window = max(window, widest(fit, float(high)))
        if bands and bands[-1][1] >= window:
            bands[-1] = (float(high), bands[-1][1])
        else:
            bands.append((float(high), window))
    bands[-1] = (float("inf"), bands[-1][1])
    return bands


def searches_per_octave_unspotted(settings: Settings) -> bool:
    """Whether a star without a modelled rotation gets its own search windows per octave."""
    return (
        settings.flatten_per_octave_unspotted
        and not settings.flatten_per_octave
        and settings.flatten_fit_factor > 0
    )


def _strongly_spotted(time: np.ndarray, flux: np.ndarray, shortest: float) -> bool:
    """Whether the star varies at a period up to ``SPOTS_LONGEST_DAYS`` with a
    semi-amplitude of ``STRONG_SPOTS`` point-to-point noise or more (a slow rotator whose
    spots the wider windows of long periods would leave in the search's flux)."""
    from exoextract.science import detrend

    order = np.argsort(time, kind="stable")
    t, f = time[order], flux[order]
    found = detrend.fast_rotation(t, f, shortest, SPOTS_LONGEST_DAYS)
    noise = detrend.point_noise(f)
    return found is not None and noise > 0 and found[1] >= STRONG_SPOTS * noise


def flatten_window(settings: Settings, baseline: float) -> float:
    """The search's widest window in days: ``flatten_window_days``, widened to protect the
    longest transits."""
    return flatten_bands(settings, baseline)[-1][1]


def clean_lightcurve(lc: Any, settings: Settings) -> Cleaned:
    """Quality mask (applied at read), NaN removal, normalise, clip, flatten. ``lc`` is a
    :class:`~exoextract.lightcurves.lightcurve.LightCurve` (a lightkurve one is converted)."""
    lc = as_lightcurve(lc)
    n_raw = len(lc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lc = _apply_quality(lc, settings.quality_bitmask).remove_nans()
        if len(lc) == 0:
            return Cleaned(lc, lc, float("nan"), 0, n_raw, 0)
        median = float(np.nanmedian(np.asarray(lc.flux, dtype=float)))
        if median > 0 and abs(median - 1.0) > 1e-6:
            lc = lc.normalize()
        before = len(lc)
        lc = lc.remove_outliers(sigma_upper=settings.sigma_upper, sigma_lower=settings.sigma_lower)
        clipped = before - len(lc)
        time = np.asarray(lc.time, dtype=float)
        cadence = cadence_days(time)
        if len(lc) < max(settings.min_points, 7):
            return Cleaned(lc, lc, cadence, 0, n_raw, clipped)
        baseline = float(time.max() - time.min())
        search = _windows(settings, baseline, cadence, len(lc), fits=False)
        fits = _windows(settings, baseline, cadence, len(lc), fits=True)
        trends = {
            window: _trend(lc, time, window, settings, cadence)
            for window in sorted({window for _, window in search + fits})
        }
        flux = np.asarray(lc.flux, dtype=float)
        if (
            searches_per_octave_unspotted(settings)
            and not any(np.isfinite(rotation) for _, rotation in trends.values())
            and not _strongly_spotted(time, flux, settings.period_min)
        ):  # no window models a spot rotation: the search too folds one flux per octave
            search = _windows(settings, baseline, cadence, len(lc), fits=False, unspotted=True)
            for _, window in search:
                if window not in trends:
                    trends[window] = _trend(lc, time, window, settings, cadence)
        narrowest = trends[min(trends)][0]
        keep = np.logical_and.reduce([np.isfinite(flux / fitted) for fitted, _ in trends.values()])
        err = None if lc.flux_err is None else lc.flux_err / narrowest
        flat = lc.with_flux(lc.flux / narrowest, err)[keep]
        flattened = _flattened(lc, keep, trends, cadence)
        search_bands = tuple(replace(flattened[window], up_to=end) for end, window in search)
        fit_bands = tuple(replace(flattened[window], up_to=end) for end, window in fits)
    rotation = next(
        (band.rotation for band in flattened.values() if np.isfinite(band.rotation)), float("nan")
    )
    return Cleaned(
        flat, lc, cadence, min(trends), n_raw, clipped, rotation, fit_bands, search_bands
    )


def _windows(
    settings: Settings,
    baseline: float,
    cadence: float,
    n_points: int,
    fits: bool,
    unspotted: bool = False,
) -> list[tuple[float, int]]:
    """(period reach, window in cadences) of the search's or the fits' bands."""
    bands = flatten_bands(settings, baseline, fits=fits, unspotted=unspotted)
    return _merged([(up_to, window_length(days, cadence, n_points)) for up_to, days in bands])


def _merged(bands: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Bands whose windows come out the same in cadences become one."""
    out: list[tuple[float, int]] = []
    for up_to, window in bands:
        if out and out[-1][1] >= window:
            out[-1] = (up_to, out[-1][1])
        else:
            out.append((up_to, window))
    return out


def _flattened(
    lc: LightCurve, keep: np.ndarray, trends: dict[int, tuple[np.ndarray, float]], cadence: float
) -> dict[int, Band]:
    """The light curve divided by each trend (keyed by window in cadences), as bands that
    reach every period (their reach is set per use)."""
    flux = np.asarray(lc.flux, dtype=float)[keep]
    err = None if lc.flux_err is None else np.asarray(lc.flux_err, dtype=float)[keep]
    out = {}
    for window, (fitted, rotation) in trends.items():
        divisor = fitted[keep]
        band_err = None if err is None else err / divisor
        out[window] = Band(window * cadence, float("inf"), flux / divisor, band_err, rotation)
    return out


def _trend(
    lc: LightCurve, time: np.ndarray, window: int, settings: Settings, cadence: float
) -> tuple[np.ndarray, float]:
    """The trend to divide ``lc`` by (:mod:`exoextract.science.detrend`), and the rotation period
    whose spot modulation is part of it (NaN if none); gaps longer than half the window
    (at least 5 cadences) split the trend."""
    from exoextract.science import detrend

    flux = np.asarray(lc.flux, dtype=float)
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


def _apply_quality(lc: LightCurve, bitmask: str) -> LightCurve:
    """Drop flagged cadences unless the reader already did (every reader does)."""
    if lc.meta.get("QUALITY_MASK") is not None or lc.quality is None:
        return lc
    return lc[quality_mask(lc.quality, bitmask, lc.mission)]


def centroids(lc: LightCurve | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The flux-weighted centroid (column, row in pixels: the files' MOM_CENTR1/2) on the
    light curve's times, or None where its files carry none (high-level products)."""
    if lc is None or lc.centroid_col is None or lc.centroid_row is None:
        return None
    col = np.asarray(lc.centroid_col, dtype=float)
    row = np.asarray(lc.centroid_row, dtype=float)
    if np.count_nonzero(np.isfinite(col) & np.isfinite(row)) < 10:
        return None
    return col, row


def arrays(lc: LightCurve) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Plain float64 time, flux, flux_err (None if errors are missing or unusable)."""
    time = np.asarray(lc.time, dtype=float)
    flux = np.asarray(lc.flux, dtype=float)
    err = None
    if lc.flux_err is not None:
        err = np.asarray(lc.flux_err, dtype=float)
        if not np.all(np.isfinite(err)) or np.any(err <= 0):
            err = None
    return time, flux, err
