"""Detrending: a star's slow trend and, on fast rotators, its spot modulation.

**The trend.** A Savitzky-Golay filter, fitted around the points that stand out from it.
Why not ``LightCurve.flatten``: before its first fit, lightkurve drops every point more than
``sigma`` standard deviations from the light curve's *global median* and interpolates its
trend across them. On a spotted star the bottoms of the deepest spot dips lie that far from
the median, so the trend skips them and each comes out of the flattening as a dip as deep
as the spot, whatever the window (on two-year spotted stars of the benchmark: 0.7 % dips
against 160 ppm of noise, found by the period search instead of the planet). Here points are
judged against the trend, never the median: each pass fits the trend on the points kept so
far (per stretch of data between gaps, the window counted in samples), interpolates it over
the others, and keeps the points within ``sigma`` robust standard deviations (1.4826 x the
median absolute deviation) of it. A deep transit stands out from the trend and is left out
of the next fit, so the trend does not follow it; a spot dip that the window can follow
does not stand out.

**Fast rotators.** A window long enough to keep a long transit (two days on four years of
Kepler) cannot follow a star rotating in a few days: a Savitzky-Golay quadratic leaves 2 %
of a sinusoid whose period is twice the window, 24 % at the window's length, and a spot's
harmonics are shorter still. Such a star's modulation is modelled first and divided out
(:func:`rotation_model`): in blocks of three rotations, half overlapping and blended with
triangular weights, four harmonics of the rotation period whose amplitudes may change
linearly across the block (spots grow, decay and drift), plus a quadratic, fitted robustly
like the trend. A transit seen once in a block projects only in part onto a model that
repeats every rotation, so it survives; the Savitzky-Golay trend then removes what is left.
The rotation is the strongest Lomb-Scargle period of the flux between ``period_min`` and
the window over 0.35 (variations slower than that range removed first); twice it, with
eight harmonics, where the star also varies at twice that period with a quarter of the
amplitude (spots on opposite sides: the strongest period is half the rotation). It is
modelled when its semi-amplitude reaches the point-to-point noise, and unless the flux
folded at that period is flat but for a dip below half its depth over less than a fifth of
the phase: a transit or eclipse train (a hot Jupiter's is a tenth), which harmonics of its
own period would fit away (on WASP-18 b's TESS sector they took half the depth).
"""

from __future__ import annotations

import itertools

import numpy as np

from exoextract.science.periods import BIN_DAYS, binned, periodogram, semi_amplitude
from exoextract.science.savgol import savgol_filter

MAD_TO_SIGMA = 1.4826
ROTATION_WINDOW_FRACTION = 0.35  # model rotations shorter than the window over this
ROTATION_MIN_NOISE = 1.0  # semi-amplitude, in point-to-point noise, worth modelling
ROTATION_CYCLES = 3.0  # rotations per block
ROTATION_HARMONICS = 4
NARROW_DIP_FRACTION = 0.2  # a folded dip this narrow (of the phase) is a transit, not spots


def stretches(time: np.ndarray, gap: float) -> list[tuple[int, int]]:
    """(start, stop) index ranges of ``time`` (ascending) split where a step exceeds ``gap``."""
    cuts = np.flatnonzero(np.diff(time) > gap) + 1
    edges = np.concatenate(([0], cuts, [time.size]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def robust_std(values: np.ndarray) -> float:
    """1.4826 x the median absolute deviation from the median."""
    return MAD_TO_SIGMA * float(np.median(np.abs(values - np.median(values))))


def point_noise(flux: np.ndarray) -> float:
    """White noise per point from successive differences (blind to slow variability)."""
    if flux.size < 3:
        return float("nan")
    return MAD_TO_SIGMA * float(np.median(np.abs(np.diff(flux)))) / np.sqrt(2.0)


def trend(
    time: np.ndarray,
    flux: np.ndarray,
    window: int,
    polyorder: int,
    gap: float,
    sigma: float = 3.0,
    passes: int = 3,
) -> np.ndarray:
    """The trend of ``flux`` at every ``time`` (ascending, finite): Savitzky-Golay over
    ``window`` samples (odd), refitted up to ``passes`` times without the points more than
    ``sigma`` robust standard deviations from the previous trend."""
    keep = np.ones(time.size, dtype=bool)
    out = np.full(time.size, float(np.median(flux)) if flux.size else 1.0)
    for _ in range(max(1, passes)):
        kept_time, kept_flux = time[keep], flux[keep]
        fitted = np.empty(kept_time.size)
        for start, stop in stretches(kept_time, gap):
            fitted[start:stop] = _savgol(kept_flux[start:stop], window, polyorder)
        out = _interpolate(time, kept_time, fitted, gap)
        scale = robust_std(flux - out)
        if not scale > 0:
            break
        new_keep = np.abs(flux - out) <= sigma * scale
        if np.array_equal(new_keep, keep) or new_keep.sum() < max(window, polyorder + 2):
            break
        keep = new_keep
    return out


def _savgol(flux: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """One stretch's Savitzky-Golay trend; its median where the stretch is shorter than the
    window (too short to fit a polynomial to)."""
    if flux.size < window or flux.size <= polyorder + 1:
        return np.full(flux.size, float(np.median(flux)))
    return np.asarray(savgol_filter(flux, window, polyorder), dtype=float)


def _interpolate(
    time: np.ndarray, kept_time: np.ndarray, fitted: np.ndarray, gap: float
) -> np.ndarray:
    """The fitted trend at every time: linear between kept points of the same stretch; a
    point left out at a stretch's edge takes the nearest kept value of its stretch."""
    if kept_time.size == 0:
        return np.ones(time.size)
    out = np.interp(time, kept_time, fitted)
    for start, stop in stretches(time, gap):  # never across a gap
        low = int(np.searchsorted(kept_time, time[start], side="left"))
        high = int(np.searchsorted(kept_time, time[stop - 1], side="right"))
        if high > low:
            out[start:stop] = np.interp(time[start:stop], kept_time[low:high], fitted[low:high])
    return out


def fast_rotation(
    time: np.ndarray, flux: np.ndarray, shortest: float, longest: float
) -> tuple[float, float, bool] | None:
    """(period, semi-amplitude, doubled) of a star's modulation if its strongest
    Lomb-Scargle period (flux binned to 30 minutes, its variations slower than four times
    ``longest`` removed, searched up to twice ``longest``) lies between ``shortest``
    and ``longest`` days; twice that period where the star also varies at twice it with a
    quarter of the amplitude (spots on both hemispheres: the peak is half the rotation).
    None otherwise, or without the data to cover four of the longest periods."""
    if longest <= shortest or time.size < 20:
        return None
    t, y = binned(time, flux, BIN_DAYS)
    if t.size < 20 or float(t.max() - t.min()) < 4 * longest:
        return None
    # without what varies slower than the range searched (a quarter's drift would lead it)
    width = int(4 * longest / BIN_DAYS) | 1
    y = y - trend(t, y, width, 1, gap=1.0, passes=1)
    model, frequency, power = periodogram(t, y, 0.5 / longest, 1.0 / shortest)
    best = float(frequency[int(np.argmax(power))])
    if 1.0 / best > longest:
        return None
    found = semi_amplitude(model, best)
    if narrow_dip(t, y, 1.0 / best):
        return None  # a transit or eclipse train, not spots
    doubled = semi_amplitude(model, 0.5 * best) >= 0.25 * found
    return (2.0 if doubled else 1.0) / best, found, doubled


def narrow_dip(time: np.ndarray, flux: np.ndarray, period: float, bins: int = 40) -> bool:
    """Whether ``flux`` folded at ``period`` (median per phase bin) is a flat line with a
    dip: below half its range in less than ``NARROW_DIP_FRACTION`` of the phase. Transits and
    eclipses are (a hot Jupiter: a tenth); spots dim the star over a third of a turn or
    more, and their profile smears out over a long light curve as they evolve."""
    phase = np.floor((time / period % 1.0) * bins).astype(int)
    order = np.argsort(phase, kind="stable")
    counts = np.bincount(phase, minlength=bins)
    if np.any(counts == 0):
        return False
    groups = np.split(flux[order], np.cumsum(counts)[:-1])
    profile = np.array([np.median(g) for g in groups])
    top, bottom = float(profile.max()), float(profile.min())
    if not top > bottom:
        return False
    below = profile < top - 0.5 * (top - bottom)
    return float(np.mean(below)) < NARROW_DIP_FRACTION


def rotation_to_model(
    time: np.ndarray, flux: np.ndarray, window_days: float, shortest: float
) -> tuple[float, int] | None:
    """(rotation period, harmonics) worth modelling before a ``window_days`` filter (see
    the module docstring), or None. A rotation found at twice the strongest period keeps
    harmonics up to the same frequency (twice as many)."""
    longest = window_days / ROTATION_WINDOW_FRACTION
    found = fast_rotation(time, flux, shortest, longest)
    if found is None:
        return None
    period, amplitude, doubled = found
    noise = point_noise(flux)
    if not (noise > 0 and amplitude >= ROTATION_MIN_NOISE * noise):
        return None
    return period, ROTATION_HARMONICS * (2 if doubled else 1)


def rotation_model(
    time: np.ndarray,
    flux: np.ndarray,
    period: float,
    harmonics: int = ROTATION_HARMONICS,
    sigma: float = 3.0,
    passes: int = 3,
) -> np.ndarray:
    """A rotating star's spot modulation at every ``time`` (ascending): see the module
    docstring. Points in no block with enough data keep the median."""
    length = ROTATION_CYCLES * period
    centres = np.arange(float(time[0]), float(time[-1]) + 0.5 * length, 0.5 * length)
    total = np.zeros(time.size)
    weight = np.zeros(time.size)
    for centre in centres:
        low = int(np.searchsorted(time, centre - 0.5 * length))
        high = int(np.searchsorted(time, centre + 0.5 * length))
        t = time[low:high] - centre
        basis = _rotation_basis(t, period, length, harmonics)
        if t.size < 2 * basis.shape[1]:
            continue
        fitted = _robust_fit(basis, flux[low:high], sigma, passes)
        taper = np.clip(1.0 - np.abs(t) / (0.5 * length), 1e-3, None)
        total[low:high] += taper * fitted
        weight[low:high] += taper
    out = np.full(time.size, float(np.median(flux)))
    covered = weight > 0
    out[covered] = total[covered] / weight[covered]
    return out


def _robust_fit(basis: np.ndarray, y: np.ndarray, sigma: float, passes: int) -> np.ndarray:
    """Least squares of ``y`` on ``basis``, refitted without points beyond ``sigma``."""
    keep = np.ones(y.size, dtype=bool)
    fitted = np.full(y.size, float(np.median(y)))
    for _ in range(max(1, passes)):
        if keep.sum() < basis.shape[1] + 2:
            break
        coef, *_ = np.linalg.lstsq(basis[keep], y[keep], rcond=None)
        fitted = basis @ coef
        scale = robust_std((y - fitted)[keep])
        if not scale > 0:
            break
        keep = np.abs(y - fitted) <= sigma * scale
    return fitted


def _rotation_basis(t: np.ndarray, period: float, length: float, harmonics: int) -> np.ndarray:
    """Columns: 1, x, x^2 (x = time across the block, -1 to 1) and, per harmonic, cos, sin
    and both times x (amplitudes that change linearly across the block)."""
    x = t / (0.5 * length)
    columns = [np.ones_like(t), x, x * x]
    for k in range(1, harmonics + 1):
        angle = 2.0 * np.pi * k * t / period
        cos, sin = np.cos(angle), np.sin(angle)
        columns += [cos, sin, x * cos, x * sin]
    return np.column_stack(columns)
