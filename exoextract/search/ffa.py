"""Compiled kernels of the box search: a fast-folding algorithm (FFA) and a box scan.

The light curve arrives binned on an even grid as interleaved pairs ``(sum of w*r, sum of
w)`` per bin (``r`` the residual flux, ``w`` its inverse variance; an empty bin is
``(0, 0)``). For a base period of ``p`` bins the series is cut into ``m`` rows of ``p``
bins (``m`` padded to a power of two with empty rows, which carry no weight). The FFA
(Staelin 1969) then folds the rows at every drift ``s = 0 .. m-1`` bins across the rows in
``p * m * log2(m)`` additions instead of ``p * m * m``, one bin of phase drift apart over the
whole baseline. Each row is shifted cyclically within itself (a drift larger than a row,
which short periods on long baselines reach, wraps around it), so a fold at drift ``s``
stacks the series at the period ``p / (1 - s / ((m - 1) * p))`` bins (riptide's relation:
the phase of a point moves by ``-s / (m - 1)`` bins a row, and a row is ``p`` bins long),
not ``p + s / (m - 1)``, which holds only while the drift stays within one row. Each folded
profile is scanned with cyclic prefix sums for the best box of each trial duration.

The box statistic is BLS's log-likelihood (astropy's ``objective="likelihood"``) with the
weighted mean removed: ``0.5 * s_in**2 * W / (w_in * (W - w_in))`` for a dip
(``s_in < 0``), which is half the squared signal-to-noise ratio of the box depth.
Folds are summed in float32: the FFA is memory-bound and the sums stay far inside
float32's precision; prefix sums and the statistic are float64.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, fastmath=True)
def _fold_all(rows: np.ndarray, buf: np.ndarray, m: int, p: int) -> np.ndarray:
    """FFA of ``m`` (a power of two) rows of ``p`` pairs; returns the buffer holding the
    folded profiles, profile ``s`` at pair offset ``s * p``. Shifts wrap within a row."""
    src, dst = rows, buf
    q = 2 * p
    b = 1
    while b < m:
        for base in range(0, m, 2 * b):
            for s in range(2 * b):
                shift = 2 * (((s + 1) // 2) % p)
                head = (base + s // 2) * q
                tail = (base + b + s // 2) * q
                out = (base + s) * q
                k = q - shift
                for j in range(k):
                    dst[out + j] = src[head + j] + src[tail + shift + j]
                for j in range(k, q):
                    dst[out + j] = src[head + j] + src[tail + j - k]
        src, dst = dst, src
        b *= 2
    return src


@numba.njit(cache=True, fastmath=True)
def _best_box(
    cs: np.ndarray,
    cw: np.ndarray,
    p: int,
    durations: np.ndarray,
    strides: np.ndarray,
    w_total: float,
) -> float:
    """Highest box log-likelihood over phases and durations of one folded profile."""
    best = 0.0
    for i in range(durations.size):
        d = durations[i]
        if 2 * d > p:
            continue
        for j in range(0, p, strides[i]):
            w_in = cw[j + d] - cw[j]
            s_in = min(cs[j + d] - cs[j], 0.0)
            denominator = max(w_in * (w_total - w_in), 1e-300)
            best = max(best, s_in * s_in / denominator)
    return 0.5 * w_total * best


@numba.njit(cache=True, fastmath=True)
def search_band(
    pairs: np.ndarray,
    p_low: int,
    p_high: int,
    durations: np.ndarray,
    strides: np.ndarray,
    w_total: float,
    periods_out: np.ndarray,
    power_out: np.ndarray,
) -> int:
    """Every base period ``p_low..p_high`` (bins): trial periods (in bins) and the best box
    log-likelihood of each into the output arrays; returns how many were written."""
    n = pairs.size // 2
    rows_max = 1
    while rows_max < (n + p_low - 1) // p_low:
        rows_max *= 2
    size = 2 * rows_max * (p_high + 1) + 2
    rows = np.zeros(size, dtype=np.float32)
    buf = np.zeros(size, dtype=np.float32)
    longest = durations.max()
    cs = np.zeros(p_high + longest + 2)
    cw = np.zeros(p_high + longest + 2)
    k = 0
    for p in range(p_low, p_high + 1):
        m = 1
        while m < (n + p - 1) // p:
            m *= 2
        if m < 2:
            continue
        rows[: 2 * n] = pairs
        rows[2 * n : 2 * m * p] = 0.0
        folded = _fold_all(rows, buf, m, p)
        for s in range(m - 1):
            start = 2 * s * p
            acc_s = 0.0
            acc_w = 0.0
            for j in range(p + longest):
                jj = j if j < p else j - p
                acc_s += folded[start + 2 * jj]
                acc_w += folded[start + 2 * jj + 1]
                cs[j + 1] = acc_s
                cw[j + 1] = acc_w
            periods_out[k] = p / (1.0 - s / ((m - 1.0) * p))
            power_out[k] = _best_box(cs, cw, p, durations, strides, w_total)
            k += 1
    return k


def band_size(n_bins: int, p_low: int, p_high: int) -> int:
    """How many trial periods :func:`search_band` writes for these base periods."""
    total = 0
    for p in range(p_low, p_high + 1):
        rows = -(-n_bins // p)
        m = 1 << max(0, (rows - 1).bit_length())
        if m >= 2:
            total += m - 1
    return total


def warmup() -> None:
    """Compile (or load from the cache) the kernels once, on a tiny input."""
    pairs = np.zeros(64, dtype=np.float32)
    pairs[1::2] = 1.0
    pairs[20] = -1.0
    durations = np.array([2], dtype=np.int64)
    out_p = np.empty(band_size(32, 4, 5))
    out_w = np.empty(out_p.size)
    search_band(pairs, 4, 5, durations, np.ones(1, dtype=np.int64), 32.0, out_p, out_w)
