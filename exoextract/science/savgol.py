"""The Savitzky-Golay filter of the detrending, without importing ``scipy.signal``.

``scipy.signal`` costs 0.6-1.0 s to import (it loads ``scipy.stats``, the interpolators and
the array-API machinery), more than a one-star run's whole compute, and the cleaning only
ever needed one of its functions: ``savgol_filter(x, window, polyorder, mode="interp")``.
This is that function for odd windows and double-precision data, step for step as SciPy
computes it, so a trend is the same number either way (tested against SciPy):

* the smoothing weights: the least-squares solution that evaluates, at the window's centre,
  the polynomial fitted to the window (``savgol_coeffs``);
* the interior: the weights' correlation with the series, with zeros past the ends, summed
  in the order ``scipy.ndimage`` sums it (for weights symmetric to a double's epsilon: the
  centre term, then each pair of points at equal distance, the farthest first; otherwise
  the last term, then the others from the first);
* the first and last half-windows: the polynomial fitted (columns scaled to unit norm) to
  the first and last full window, evaluated there by Horner's rule.

Other inputs (single precision, an even window) go to SciPy itself.
"""

from __future__ import annotations

import functools

import numba
import numpy as np


def savgol_filter(x: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """SciPy's ``savgol_filter(x, window, polyorder, mode="interp")`` (``window`` no longer
    than ``x``, ``polyorder`` below ``window``)."""
    x = np.asarray(x)
    if x.dtype != np.float64 or window % 2 == 0 or x.ndim != 1:
        from scipy.signal import savgol_filter as scipy_savgol

        return np.asarray(scipy_savgol(x, window, polyorder, mode="interp"))
    if window > x.size:
        raise ValueError("the window is longer than the series")
    if not 0 <= polyorder < window:
        raise ValueError("polyorder must be at least 0 and less than the window")
    edges = np.concatenate((x[:window], x[x.size - window :]))
    if not np.isfinite(edges).all():  # SciPy's edge fits refuse them too
        raise ValueError("array must not contain infs or NaNs")
    weights = _weights(window, polyorder)
    symmetric = _symmetric(weights)
    if symmetric is None:  # never for smoothing weights; ndimage has a third sum for it
        from scipy.signal import savgol_filter as scipy_savgol

        return np.asarray(scipy_savgol(x, window, polyorder, mode="interp"))
    out = np.empty(x.size)
    _correlate(x, weights, symmetric, out)
    half = window // 2
    n = x.size
    out[:half] = _edge(x[:window], polyorder, 0, half)
    out[n - half :] = _edge(x[n - window :], polyorder, window - half, window)
    return out


@functools.lru_cache(maxsize=64)
def _weights(window: int, polyorder: int) -> np.ndarray:
    """The smoothing weights, reversed as ``convolve1d`` reverses them (read-only)."""
    half = window // 2
    x = np.arange(-half, window - half, dtype=np.float64)[::-1]
    design = x ** np.arange(polyorder + 1, dtype=np.float64).reshape(-1, 1)
    target = np.zeros(polyorder + 1)
    target[0] = 1.0
    rcond = np.finfo(np.float64).eps * max(design.shape)
    coefficients = np.linalg.lstsq(design, target, rcond=rcond)[0]
    weights = np.ascontiguousarray(coefficients[::-1])
    weights.setflags(write=False)
    return weights


@numba.njit(cache=True)
def _correlate(x: np.ndarray, weights: np.ndarray, symmetric: bool, out: np.ndarray) -> None:
    """The weights' correlation with ``x`` (zero past its ends), each point's sum in
    ndimage's order (no fast-math, so the sums are the ones written): for weights symmetric
    within a double's epsilon, ``x[i] w[h]`` then ``(x[i-j] + x[i+j]) w[h-j]`` for
    j = h..1; otherwise ``x[i+h] w[2h]`` then ``x[i+k] w[h+k]`` for k = -h..h-1. The term
    is added to every point before the next term (a loop the compiler vectorises across
    points; each point's own order is unchanged)."""
    n = x.size
    half = weights.size // 2
    padded = np.zeros(n + 2 * half)
    padded[half : half + n] = x
    if symmetric:
        centre = weights[half]
        for i in range(n):
            out[i] = x[i] * centre
        for j in range(half, 0, -1):
            weight = weights[half - j]
            left = padded[half - j : half - j + n]
            right = padded[half + j : half + j + n]
            for i in range(n):
                out[i] += (left[i] + right[i]) * weight
    else:
        last = weights[2 * half]
        ahead = padded[2 * half : 2 * half + n]
        for i in range(n):
            out[i] = ahead[i] * last
        for k in range(-half, half):
            weight = weights[half + k]
            shifted = padded[half + k : half + k + n]
            for i in range(n):
                out[i] += shifted[i] * weight


def _symmetric(weights: np.ndarray) -> bool | None:
    """How ndimage classes the weights: symmetric (True), neither (False) or
    antisymmetric (None), each pair compared within a double's epsilon."""
    half = weights.size // 2
    left, right = weights[half - 1 :: -1] if half else weights[:0], weights[half + 1 :]
    epsilon = np.finfo(np.float64).eps
    if np.all(np.abs(right - left) <= epsilon):
        return True
    if np.all(np.abs(right + left) <= epsilon):
        return None
    return False


def _edge(window_values: np.ndarray, polyorder: int, start: int, stop: int) -> np.ndarray:
    """The polynomial fitted to one full window, at its positions ``start..stop-1``."""
    size = window_values.size
    x = np.arange(0, size, dtype=np.float64)
    powers = np.arange(polyorder + 1, dtype=np.float64)[::-1]
    design = x[:, None] ** powers[None, :]
    scale = np.sqrt(np.sum(design * design, axis=0))
    design /= scale
    rcond = size * np.finfo(np.float64).eps
    fitted = np.linalg.lstsq(design, window_values.reshape(-1, 1), rcond=rcond)[0]
    fitted = (fitted.T / scale).T
    at = np.arange(start, stop, dtype=np.float64).reshape(-1, 1)
    values = np.zeros_like(at)
    for j in range(fitted.shape[0]):
        values = values * at + fitted[j, ...]
    return values.reshape(-1)


def warmup() -> None:
    """Compile (or load from numba's cache) the correlation kernel once, on a tiny input."""
    savgol_filter(np.linspace(0.0, 1.0, 7), 5, 2)
