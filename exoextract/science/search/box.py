"""The fast blind box search: one log-likelihood per trial period, octave by octave.

Per period octave the light curve is binned at ``bins_per_duration`` bins per shortest
plausible transit duration there (:mod:`exoextract.science.search.durations`), so short periods are
folded at a fine phase resolution and long ones at a coarse one; the FFA then gives every
trial period whose phase drifts by one bin over the baseline. The cost grows with the
baseline over the bin width, not with the number of points: 2-minute TESS data cost no more
than 30-minute data over the same span.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from exoextract.science.search.durations import octave_edges, plausible_durations


@dataclass(frozen=True)
class Spectrum:
    """Box log-likelihood per trial period (ascending), and the chi-squared of a flat line.

    ``oversample`` is the number of trial periods per independent peak width (the bins per
    shortest duration), which sizes the median filter of TLS-style detrending."""

    periods: np.ndarray
    power: np.ndarray
    chi2_null: float
    oversample: float

    @property
    def size(self) -> int:
        return int(self.periods.size)

    def sde(self) -> float:
        """(peak - mean) / std of the log-likelihood: BLS's signal detection efficiency."""
        spread = float(np.std(self.power))
        if spread <= 0:
            return float("nan")
        return (float(np.max(self.power)) - float(np.mean(self.power))) / spread

    def sde_at(self, period: float, steps: float = 3.0) -> float:
        """The SDE of the strongest trial within ``steps`` search steps of ``period`` (NaN
        outside the searched range): how the search saw a signal at that period."""
        spread = float(np.std(self.power))
        if self.size < 3 or spread <= 0 or not math.isfinite(period):
            return float("nan")
        index = int(np.clip(np.searchsorted(self.periods, period), 0, self.size - 1))
        low, high = self.window(index, steps)
        if not low <= period <= high:
            return float("nan")
        near = (self.periods >= low) & (self.periods <= high)
        return (float(np.max(self.power[near])) - float(np.mean(self.power))) / spread

    def window(self, index: int, steps: float) -> tuple[float, float]:
        """Periods ``steps`` local grid steps either side of trial ``index``."""
        low = max(index - 1, 0)
        high = min(index + 1, self.size - 1)
        step = (self.periods[high] - self.periods[low]) / max(high - low, 1)
        centre = float(self.periods[index])
        return centre - steps * float(step), centre + steps * float(step)


FluxFor = Callable[[float], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class _Weighted:
    """A flux as the search folds it: residuals from its weighted mean, weights
    normalised to a mean of one (``scale`` their mean before), their sum, and the
    chi-squared of a flat line."""

    residual: np.ndarray
    norm: np.ndarray
    scale: float
    w_total: float
    chi2_null: float

    @classmethod
    def of(cls, flux: np.ndarray, flux_err: np.ndarray | None) -> _Weighted:
        if flux_err is not None:
            weights = 1.0 / np.asarray(flux_err, dtype=float) ** 2
        else:
            residual = flux - np.median(flux)
            scatter = 1.4826 * float(np.median(np.abs(residual)))
            weights = np.full(flux.size, 1.0 / max(scatter, 1e-12) ** 2)
        mean_flux = float(np.sum(weights * flux) / np.sum(weights))
        residual = flux - mean_flux
        scale = float(np.mean(weights))  # the statistic scales with the weights
        norm = weights / scale
        return cls(residual, norm, scale, float(np.sum(norm)), float(np.sum(weights * residual**2)))


def box_spectrum(
    time: np.ndarray,
    flux: np.ndarray,
    flux_err: np.ndarray | None,
    period_min: float,
    period_max: float,
    durations: np.ndarray,
    bins_per_duration: float,
    flux_for: FluxFor | None = None,
) -> Spectrum:
    """The box log-likelihood of every trial period in [period_min, period_max].

    ``flux_for(period)``, if given, names the flux (and errors) to fold for an octave whose
    longest period is ``period`` (a light curve flattened per period range); each octave's
    log-likelihood is against a flat line through that flux. ``chi2_null`` is ``flux``'s."""
    cache: dict[int, _Weighted] = {}

    def weighted(pair: tuple[np.ndarray, np.ndarray | None]) -> _Weighted:
        key = id(pair[0])
        if key not in cache:
            cache[key] = _Weighted.of(*pair)
        return cache[key]

    # here, not at the top: the run's own process reads the families' columns through this
    # module, and the kernels' import (numba, 0.2 s) is the workers' alone
    from exoextract.science.search import ffa

    chi2_null = weighted((flux, flux_err)).chi2_null
    start = float(time.min())
    periods: list[np.ndarray] = []
    powers: list[np.ndarray] = []
    edges = octave_edges(period_min, period_max)
    for low, high in itertools.pairwise(edges):
        trial = plausible_durations(durations, float(low), float(high))
        if trial.size == 0:
            continue
        data = weighted(flux_for(float(high)) if flux_for else (flux, flux_err))
        width = float(trial.min()) / bins_per_duration
        index = np.floor((time - start) / width).astype(np.int64)
        n_bins = int(index.max()) + 1
        pairs = np.empty(2 * n_bins, dtype=np.float32)
        pairs[0::2] = np.bincount(index, weights=data.norm * data.residual, minlength=n_bins)
        pairs[1::2] = np.bincount(index, weights=data.norm, minlength=n_bins)
        boxes = np.unique(np.maximum(1, np.round(trial / width).astype(np.int64)))
        strides = np.maximum(1, np.floor(boxes / bins_per_duration)).astype(np.int64)
        p_low = max(2, int(np.floor(low / width)))
        p_high = max(p_low, int(np.ceil(high / width)))
        size = ffa.band_size(n_bins, p_low, p_high)
        if size == 0:
            continue
        out_periods = np.empty(size)
        out_power = np.empty(size)
        written = ffa.search_band(
            pairs, p_low, p_high, boxes, strides, data.w_total, out_periods, out_power
        )
        band = out_periods[:written] * width
        keep = (band >= low) & (band <= high)
        periods.append(band[keep])
        powers.append(out_power[:written][keep] * data.scale)
    if not periods:
        return Spectrum(np.array([]), np.array([]), chi2_null, bins_per_duration)
    all_periods = np.concatenate(periods)
    order = np.argsort(all_periods, kind="stable")
    return Spectrum(all_periods[order], np.concatenate(powers)[order], chi2_null, bins_per_duration)


def pool_onto(spectrum: Spectrum, grid: np.ndarray) -> np.ndarray:
    """The highest log-likelihood of the trial periods nearest to each period of an
    ascending ``grid`` (its cells end half-way between neighbours); a cell the search did
    not sample takes the value at the nearest searched period."""
    edges = 0.5 * (grid[1:] + grid[:-1])
    cell = np.searchsorted(edges, spectrum.periods)
    pooled = np.full(grid.size, -np.inf)
    np.maximum.at(pooled, cell, spectrum.power)
    empty = ~np.isfinite(pooled)
    if empty.any():
        pooled[empty] = np.interp(grid[empty], spectrum.periods, spectrum.power)
    return pooled


def pooled_chi2(spectrum: Spectrum, grid: np.ndarray) -> np.ndarray:
    """chi-squared of the best box at each period of TLS's ``grid`` (ascending): each grid
    period takes the best box among the searched periods nearest to it, and the box's
    chi-squared is a flat line's minus twice its log-likelihood."""
    return np.maximum(spectrum.chi2_null - 2.0 * pool_onto(spectrum, grid), 1e-12)


def tls_spectra(
    chi2: np.ndarray, grid: np.ndarray, oversampling: float
) -> tuple[np.ndarray, np.ndarray]:
    """TLS's own detection statistic over ``grid`` from a chi-squared per period: its
    ``spectra`` gives the signal residue and the median-detrended SDE power. Returns (raw
    power, detrended power), in TLS's units (the detrended maximum is TLS's SDE)."""
    from transitleastsquares.stats import spectra

    _, power_raw, power, _, _ = spectra(chi2, oversampling, periods=grid)
    return np.asarray(power_raw, dtype=float), np.asarray(power, dtype=float)


def peak_indices(
    values: np.ndarray, periods: np.ndarray, count: int, separation: float
) -> list[int]:
    """Indices of the ``count`` highest peaks, each at least ``separation`` (relative) in
    period from the ones chosen before it."""
    chosen: list[int] = []
    masked = np.array(values, dtype=float, copy=True)
    masked[~np.isfinite(masked)] = -np.inf
    for _ in range(count):
        best = int(np.argmax(masked))
        if not np.isfinite(masked[best]):
            break
        chosen.append(best)
        centre = periods[best]
        masked[np.abs(periods / centre - 1.0) < separation] = -np.inf
    return chosen
