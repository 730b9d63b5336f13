"""Measurements at a given ephemeris: depth, odd/even, secondary eclipse, coverage.

Shared by the known-ephemeris family (the catalog's period, epoch and duration) and the
blind search families (their best period). Everything here works on the cleaned, flattened,
normalised flux, with times in the light curve's own system.
"""

from __future__ import annotations

import math

import numpy as np

FAR_EPOCH_DAYS = 7300.0  # 20 years: an epoch this far from the data is in the wrong system
COVERAGE_BINS = 100


def phase_offset(time: np.ndarray, period: float, t0: float) -> np.ndarray:
    """Time from the nearest transit centre, in days (negative before it)."""
    return (time - t0 + 0.5 * period) % period - 0.5 * period


def _mean_and_error(values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return math.nan, math.nan
    if values.size == 1:
        return float(values[0]), math.nan
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(values.size))


def _depth(inside: np.ndarray, outside: np.ndarray) -> tuple[float, float]:
    mean_in, err_in = _mean_and_error(inside)
    mean_out, err_out = _mean_and_error(outside)
    depth = mean_out - mean_in
    err = math.hypot(err_in, err_out) if math.isfinite(err_out) else err_in
    return depth, err


def at_ephemeris(
    time: np.ndarray, flux: np.ndarray, period: float, t0: float, duration: float
) -> dict[str, float]:
    """Depth, odd/even and secondary-eclipse statistics of a transit train.

    In transit means within the central half of the duration (where a limb-darkened or
    grazing transit is deepest); out of transit means between one and three durations
    from the centre, so slow residual trends matter little.
    """
    dt = phase_offset(time, period, t0)
    epoch = np.floor((time - t0) / period + 0.5).astype(np.int64)
    inside = np.abs(dt) < 0.25 * duration
    outside = (np.abs(dt) > duration) & (np.abs(dt) < 3 * duration)
    if not outside.any():  # short periods: everything away from the transit
        outside = np.abs(dt) > duration
    depth, depth_err = _depth(flux[inside], flux[outside])
    odd = inside & (epoch % 2 == 1)
    even = inside & (epoch % 2 == 0)
    odd_depth, odd_err = _depth(flux[odd], flux[outside])
    even_depth, even_err = _depth(flux[even], flux[outside])
    odd_even = (
        abs(odd_depth - even_depth) / math.hypot(odd_err, even_err)
        if odd_err > 0 and even_err > 0
        else math.nan
    )
    dt2 = phase_offset(time, period, t0 + 0.5 * period)
    secondary_in = np.abs(dt2) < 0.25 * duration
    secondary_out = (np.abs(dt2) > duration) & (np.abs(dt2) < 3 * duration)
    secondary, secondary_err = _depth(flux[secondary_in], flux[secondary_out])
    phase_bins = np.floor(((time - t0) / period % 1.0) * COVERAGE_BINS).astype(np.int64)
    return {
        "depth": depth,
        "depth_err": depth_err,
        "depth_snr": depth / depth_err if depth_err > 0 else math.nan,
        "n_transits": float(np.unique(epoch[np.abs(dt) < 0.5 * duration]).size),
        "odd_depth": odd_depth,
        "even_depth": even_depth,
        "odd_even_sigma": odd_even,
        "secondary_depth": secondary,
        "secondary_snr": secondary / secondary_err if secondary_err > 0 else math.nan,
        "phase_coverage": float(np.unique(phase_bins).size / COVERAGE_BINS),
    }
