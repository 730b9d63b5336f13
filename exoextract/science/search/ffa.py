"""Compiled kernels of the box search: a fast-folding algorithm (FFA) and a box scan.

The light curve arrives binned on an even grid as interleaved pairs ``(sum of w*r, sum of
w)`` per bin (``r`` the residual flux, ``w`` its inverse variance; an empty bin is
``(0, 0)``). For a base period of ``p`` bins the series is cut into ``m = ceil(n / p)``
rows of ``p`` bins (the last one completed with empty bins, which carry no weight). The FFA
(Staelin 1969) then folds the rows at every drift ``s = 0 .. m-1`` bins across the rows in
about ``p * m * log2(m)`` additions instead of ``p * m * m``, one bin of phase drift apart
over the whole baseline. Any number of rows is folded, as riptide does (Morello et al.
2020): the rows split into a head of the largest power of two below ``m`` and a tail, each
folded in turn, and merged so that the last row moves by exactly ``s`` bins (the head at
drift ``round(s (h-1)/(m-1))``, the tail at ``round(s (t-1)/(m-1))``, rolled by what is
left); each row is then within about two bins of ``i s / (m - 1)``, as in a power-of-two
FFA (whose rows' padding cost 1.4 times the trials). The recursion runs depth first, so a
small fold is finished while its rows are in the cache, and each merge adds two
contiguous rows, which the compiler vectorises.

Each row is shifted cyclically within itself (a drift larger than a row, which short
periods on long baselines reach, wraps around it), so a fold at drift ``s`` stacks the
series at the period ``p / (1 - s / ((m - 1) * p))`` bins (the phase of a point moves by
``-s / (m - 1)`` bins a row, and a row is ``p`` bins long), not ``p + s / (m - 1)``, which
holds only while the drift stays within one row. Each folded profile is scanned with
cyclic prefix sums for the best box of each trial duration, at a third of a duration's
steps.

The box statistic is BLS's log-likelihood (astropy's ``objective="likelihood"``) with the
weighted mean removed: ``0.5 * s_in**2 * W / (w_in * (W - w_in))`` for a dip
(``s_in < 0``), which is half the squared signal-to-noise ratio of the box depth.
Folds are summed in float32: the sums stay far inside float32's precision; prefix sums
and the statistic are float64.
"""

from __future__ import annotations

import numba
import numpy as np

# numpy's error model (in every kernel below): a division by zero gives inf instead of a
# checked branch, which keeps the loops vectorisable


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _add_rolled(out: np.ndarray, head: np.ndarray, tail: np.ndarray, shift: int) -> None:
    """``out = head + tail`` with ``tail`` rolled back by ``shift`` floats (views of one
    length: contiguous loops, which the compiler vectorises)."""
    q = out.size
    k = q - shift
    rolled = tail[shift:]
    for j in range(k):
        out[j] = head[j] + rolled[j]
    out_end = out[k:]
    head_end = head[k:]
    for j in range(shift):
        out_end[j] = head_end[j] + tail[j]


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _head_rows(m: int) -> int:
    """The head of a fold of ``m`` rows: the largest power of two below ``m``."""
    h = 1
    while 2 * h < m:
        h *= 2
    return h


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _leaf(data: np.ndarray, dst: np.ndarray, row0: int, m: int, q: int) -> None:
    """Fold of one row (a copy) or two (their sum at drifts 0 and 1 bin)."""
    if m == 1:
        dst[row0 * q : (row0 + 1) * q] = data[row0 * q : (row0 + 1) * q]
        return
    first = data[row0 * q : (row0 + 1) * q]
    second = data[(row0 + 1) * q : (row0 + 2) * q]
    _add_rolled(dst[row0 * q : (row0 + 1) * q], first, second, 0)
    _add_rolled(dst[(row0 + 1) * q : (row0 + 2) * q], first, second, 2 % q)


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _merge(src: np.ndarray, dst: np.ndarray, row0: int, m: int, h: int, q: int) -> None:
    """Profiles of ``m`` rows from the folds of their head (``h`` rows) and tail."""
    t = m - h
    p = q // 2
    twice = 2 * (m - 1)
    for s in range(m):
        at_head = (2 * s * (h - 1) + (m - 1)) // twice
        at_tail = (2 * s * (t - 1) + (m - 1)) // twice
        shift = 2 * ((s - at_tail) % p)
        head = src[(row0 + at_head) * q : (row0 + at_head + 1) * q]
        tail = src[(row0 + h + at_tail) * q : (row0 + h + at_tail + 1) * q]
        _add_rolled(dst[(row0 + s) * q : (row0 + s + 1) * q], head, tail, shift)


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _transform(data: np.ndarray, bufs: np.ndarray, m: int, p: int) -> None:
    """FFA of the first ``m`` rows of ``p`` pairs of ``data``: the profile at drift ``s``
    into row ``s`` of ``bufs[1]``. Each fold of a head and a tail goes into the buffer
    its halves are not in; the tree is walked depth first with an explicit stack (numba's
    cache does not hold recursive functions)."""
    q = 2 * p
    # a frame: first row, rows, target buffer, whether its halves are folded
    stack = np.empty((128, 4), dtype=np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = 0, m, 1, 0
    top = 1
    while top > 0:
        row0, rows = stack[top - 1, 0], stack[top - 1, 1]
        target, ready = stack[top - 1, 2], stack[top - 1, 3]
        if rows <= 2:
            _leaf(data, bufs[target], row0, rows, q)
            top -= 1
            continue
        h = _head_rows(rows)
        if ready:
            _merge(bufs[1 - target], bufs[target], row0, rows, h, q)
            top -= 1
            continue
        stack[top - 1, 3] = 1
        stack[top, 0], stack[top, 1] = row0 + h, rows - h  # the tail, folded second
        stack[top, 2], stack[top, 3] = 1 - target, 0
        stack[top + 1, 0], stack[top + 1, 1] = row0, h  # the head, folded first
        stack[top + 1, 2], stack[top + 1, 3] = 1 - target, 0
        top += 2


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _best_box(
    cs: np.ndarray,
    cw: np.ndarray,
    p: int,
    durations: np.ndarray,
    strides: np.ndarray,
    w_total: float,
    values: np.ndarray,
) -> float:
    """Highest box log-likelihood over phases and durations of one folded profile (its
    prefix sums ``cs``, ``cw``), each duration at phases ``strides`` bins apart.

    The statistics of one duration go to ``values`` first and their maximum is taken over
    their bits as integers (the order of non-negative floats), a reduction the compiler
    vectorises where a float maximum stays serial."""
    best = np.int64(0)
    bits = values.view(np.int64)
    for i in range(durations.size):
        d = durations[i]
        if 2 * d > p:
            continue
        k = strides[i]
        count = (p + k - 1) // k
        if k == 1:  # contiguous: the loop below vectorises
            ends_s, starts_s = cs[d : d + p], cs[:p]
            ends_w, starts_w = cw[d : d + p], cw[:p]
            for j in range(p):
                w_in = ends_w[j] - starts_w[j]
                s_in = min(ends_s[j] - starts_s[j], 0.0)
                values[j] = s_in * s_in / max(w_in * (w_total - w_in), 1e-300)
        else:
            ends_s, starts_s = cs[d::k][:count], cs[::k][:count]
            ends_w, starts_w = cw[d::k][:count], cw[::k][:count]
            for j in range(count):
                w_in = ends_w[j] - starts_w[j]
                s_in = min(ends_s[j] - starts_s[j], 0.0)
                values[j] = s_in * s_in / max(w_in * (w_total - w_in), 1e-300)
        for j in range(count):
            best = max(best, bits[j])
    bits[0] = best
    return 0.5 * w_total * values[0]


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _prefix(profile: np.ndarray, p: int, longest: int, cs: np.ndarray, cw: np.ndarray) -> None:
    """Cyclic prefix sums of a profile's pairs, ``longest`` bins past its end."""
    acc_s = 0.0
    acc_w = 0.0
    for j in range(p):
        acc_s += profile[2 * j]
        acc_w += profile[2 * j + 1]
        cs[j + 1] = acc_s
        cw[j + 1] = acc_w
    for j in range(longest):
        acc_s += profile[2 * j]
        acc_w += profile[2 * j + 1]
        cs[p + j + 1] = acc_s
        cw[p + j + 1] = acc_w


@numba.njit(cache=True, fastmath=True, error_model="numpy")
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
    data = np.zeros(2 * (n + p_high + 1), dtype=np.float32)  # the last row's empty bins
    data[: 2 * n] = pairs
    rows_max = (n + p_low - 1) // p_low
    bufs = np.zeros((2, 2 * rows_max * (p_high + 1) + 2), dtype=np.float32)
    longest = durations.max()
    cs = np.zeros(p_high + longest + 2)
    cw = np.zeros(p_high + longest + 2)
    values = np.empty(p_high + 1)
    k = 0
    for p in range(p_low, p_high + 1):
        m = (n + p - 1) // p
        if m < 2:
            continue
        _transform(data, bufs, m, p)
        folded = bufs[1]
        for s in range(m - 1):
            _prefix(folded[2 * s * p : 2 * (s + 1) * p], p, longest, cs, cw)
            periods_out[k] = p / (1.0 - s / ((m - 1.0) * p))
            power_out[k] = _best_box(cs, cw, p, durations, strides, w_total, values)
            k += 1
    return k


def band_size(n_bins: int, p_low: int, p_high: int) -> int:
    """How many trial periods :func:`search_band` writes for these base periods."""
    total = 0
    for p in range(p_low, p_high + 1):
        rows = -(-n_bins // p)
        if rows >= 2:
            total += rows - 1
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
