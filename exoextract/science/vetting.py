"""Measurements at one ephemeris (period, epoch, duration): is it a planet's transit?

Shared by the ``vet_`` family (at the blind search's best period) and the ``known_`` family
(at the catalog's ephemeris). Transit quantities use the cleaned, flattened flux; sinusoid
amplitudes use the normalised flux before flattening, which still holds the slow
variability a spotted or ellipsoidal star would show. Times are in the light curve's own
system.

* depth: mean of the out-of-transit band (1 to 3 durations from centre) minus the mean of
  the central half of the transits, where a limb-darkened or grazing transit is deepest;
* odd/even: the same depth for odd- and even-numbered transits, and their difference over
  its uncertainty (an eclipsing binary at twice the period differs);
* secondary: the depth at phase 0.5, and the deepest box of the same duration at any phase
  away from the transit (an eccentric binary's secondary eclipse);
* shape: a trapezoid fitted to the folded transit; ``ingress_fraction`` near 0.5 is a
  V shape (a grazing binary), near 0 a box, about 0.1–0.2 a planet's U shape;
* sinusoid amplitudes at P/2, P and 2P with the transits masked: a variable star
  pretending to be a transit has them comparable to the "depth";
* phase coverage: the fraction of 100 orbital phase bins that hold data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

FAR_EPOCH_DAYS = 7300.0  # 20 years: an epoch this far from the data is in the wrong system
COVERAGE_BINS = 100
METRICS = (
    (
        "depth",
        "relative flux",
        "Out-of-transit mean minus the mean of the central half of the transits.",
    ),
    ("depth_err", "relative flux", "Uncertainty of the depth (standard errors combined)."),
    ("depth_snr", "", "Depth over its uncertainty."),
    ("n_transits", "count", "Transits with at least one point inside them."),
    (
        "depth_snr_red",
        "",
        "Whole-box depth over its uncertainty with correlated noise counted: the scatter of "
        "transit-long means of the out-of-transit flux, over the square root of the number "
        "of transits (equals the white-noise SNR when the noise is white).",
    ),
    (
        "depth_chi2_red",
        "",
        "Per-transit depths about their mean: chi-squared per degree of freedom, with the "
        "same correlated-noise scatter (about 1 for a planet; large when one or two events "
        "carry the signal).",
    ),
    (
        "depth_spread",
        "",
        "Standard deviation of the per-transit depths over their mean (0 for identical "
        "transits; near or above 1 when some transits have no dip).",
    ),
    ("odd_depth", "relative flux", "Depth of odd-numbered transits."),
    ("even_depth", "relative flux", "Depth of even-numbered transits."),
    ("odd_even_sigma", "sigma", "Odd/even depth difference over its uncertainty."),
    ("secondary_depth", "relative flux", "Depth at phase 0.5 (a secondary eclipse)."),
    ("secondary_snr", "", "Phase-0.5 depth over its uncertainty."),
    ("secondary_best_phase", "phase", "Phase (0-1) of the deepest dip away from the transit."),
    ("secondary_best_depth", "relative flux", "Depth of that deepest other dip."),
    ("secondary_best_snr", "", "That dip's depth over its uncertainty."),
    (
        "ingress_fraction",
        "fraction of duration",
        "Trapezoid fit: ingress time / total duration (0.5 = V-shaped, small = box-shaped).",
    ),
    ("trapezoid_depth", "relative flux", "Depth of the best-fitting trapezoid."),
    ("trapezoid_duration", "d", "Total duration of the best-fitting trapezoid."),
    ("sin_amp_half", "relative flux", "Sinusoid amplitude at P/2, transits masked."),
    ("sin_amp_period", "relative flux", "Sinusoid amplitude at P, transits masked."),
    ("sin_amp_double", "relative flux", "Sinusoid amplitude at 2P, transits masked."),
    ("sin_max_snr", "", "Largest of the three amplitudes over its uncertainty."),
    ("sin_to_depth", "", "Largest sinusoid amplitude over the transit depth."),
    ("phase_coverage", "fraction", "Fraction of 100 orbital phase bins with data."),
)


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


def _ratio(value: float, error: float) -> float:
    return value / error if error > 0 and math.isfinite(error) else math.nan


def at_ephemeris(
    time: np.ndarray,
    flux: np.ndarray,
    period: float,
    t0: float,
    duration: float,
) -> dict[str, float]:
    """Every metric in :data:`METRICS` for a transit train (names without prefix)."""
    dt = phase_offset(time, period, t0)
    epoch = np.floor((time - t0) / period + 0.5).astype(np.int64)
    inside = np.abs(dt) < 0.25 * duration
    outside = (np.abs(dt) > duration) & (np.abs(dt) < 3 * duration)
    if not outside.any():  # short periods: everything away from the transit
        outside = np.abs(dt) > duration
    depth, depth_err = _depth(flux[inside], flux[outside])
    odd_depth, odd_err = _depth(flux[inside & (epoch % 2 == 1)], flux[outside])
    even_depth, even_err = _depth(flux[inside & (epoch % 2 == 0)], flux[outside])
    dt2 = phase_offset(time, period, t0 + 0.5 * period)
    secondary, secondary_err = _depth(
        flux[np.abs(dt2) < 0.25 * duration],
        flux[(np.abs(dt2) > duration) & (np.abs(dt2) < 3 * duration)],
    )
    phase_bins = np.floor(((time - t0) / period % 1.0) * COVERAGE_BINS).astype(np.int64)
    out = {
        "depth": depth,
        "depth_err": depth_err,
        "depth_snr": _ratio(depth, depth_err),
        "n_transits": float(np.unique(epoch[np.abs(dt) < 0.5 * duration]).size),
        "odd_depth": odd_depth,
        "even_depth": even_depth,
        "odd_even_sigma": _ratio(abs(odd_depth - even_depth), math.hypot(odd_err, even_err)),
        "secondary_depth": secondary,
        "secondary_snr": _ratio(secondary, secondary_err),
        "phase_coverage": float(np.unique(phase_bins).size / COVERAGE_BINS),
    }
    out.update(_red_noise_depth(time, flux, dt, epoch, period, t0, duration))
    out.update(_best_other_dip(time, flux, period, t0, duration))
    out.update(_trapezoid(dt, flux, duration))
    out.update(_sinusoids(time, flux, period, t0, duration, depth))
    return out


def odd_even_sigma(
    time: np.ndarray, flux: np.ndarray, period: float, t0: float, duration: float
) -> float:
    """The odd/even depth difference over its uncertainty (as :func:`at_ephemeris`)."""
    dt = phase_offset(time, period, t0)
    epoch = np.floor((time - t0) / period + 0.5).astype(np.int64)
    inside = np.abs(dt) < 0.25 * duration
    outside = (np.abs(dt) > duration) & (np.abs(dt) < 3 * duration)
    odd, odd_err = _depth(flux[inside & (epoch % 2 == 1)], flux[outside])
    even, even_err = _depth(flux[inside & (epoch % 2 == 0)], flux[outside])
    return _ratio(abs(odd - even), math.hypot(odd_err, even_err))


# a single event has no period: these metrics need one and are NaN for it
PERIOD_METRICS = (
    "odd_depth",
    "even_depth",
    "odd_even_sigma",
    "secondary_depth",
    "secondary_snr",
    "secondary_best_phase",
    "secondary_best_depth",
    "secondary_best_snr",
    "sin_amp_half",
    "sin_amp_period",
    "sin_amp_double",
    "sin_max_snr",
    "sin_to_depth",
    "phase_coverage",
    "depth_chi2_red",
    "depth_spread",
)


def at_event(time: np.ndarray, flux: np.ndarray, t0: float, duration: float) -> dict[str, float]:
    """The metrics of one event (a single transit, no period): depth, its significance
    against white and correlated noise, the trapezoid's shape; the rest NaN."""
    span = float(time.max() - time.min()) if time.size else 1.0
    out = at_ephemeris(time, flux, 4.0 * (span + duration), t0, duration)
    out.update(dict.fromkeys(PERIOD_METRICS, math.nan))
    return out


@dataclass(frozen=True)
class Events:
    """The transits of an ephemeris one by one: each one's mid-time, whole-box depth below
    the out-of-transit level and points, and the scatter a transit-long mean of the
    out-of-transit flux has (correlated noise counted; NaN where it cannot be measured)."""

    centres: np.ndarray
    depths: np.ndarray
    counts: np.ndarray
    scatter: float

    @property
    def snr(self) -> np.ndarray:
        """Each transit's depth over the scatter: its own significance."""
        return self.depths / self.scatter if self.scatter > 0 else np.full(self.depths.size, np.nan)


def transit_events(
    time: np.ndarray, flux: np.ndarray, period: float, t0: float, duration: float
) -> Events:
    """The transits with data at this ephemeris (a period longer than the data: one event)."""
    dt = phase_offset(time, period, t0)
    epoch = np.floor((time - t0) / period + 0.5).astype(np.int64)
    return _events(time, flux, dt, epoch, period, t0, duration)


def _events(
    time: np.ndarray,
    flux: np.ndarray,
    dt: np.ndarray,
    epoch: np.ndarray,
    period: float,
    t0: float,
    duration: float,
) -> Events:
    empty = Events(np.array([]), np.array([]), np.array([]), math.nan)
    inside = np.abs(dt) < 0.5 * duration
    away = np.abs(dt) > duration
    if not inside.any() or away.sum() < 20:
        return empty
    level = float(np.median(flux[away]))
    index = np.floor((time[away] - time.min()) / duration).astype(np.int64)
    counts = np.bincount(index)
    sums = np.bincount(index, weights=flux[away])
    full = counts >= max(2, 0.5 * float(np.median(counts[counts > 0])))
    scatter = math.nan
    if full.sum() >= 5:
        means = sums[full] / counts[full]
        scatter = 1.4826 * float(np.median(np.abs(means - np.median(means))))
    epochs, which = np.unique(epoch[inside], return_inverse=True)
    points = np.bincount(which)
    depths = level - np.bincount(which, weights=flux[inside]) / points
    return Events(t0 + epochs * period, depths, points, scatter if scatter > 0 else math.nan)


def _red_noise_depth(
    time: np.ndarray,
    flux: np.ndarray,
    dt: np.ndarray,
    epoch: np.ndarray,
    period: float,
    t0: float,
    duration: float,
) -> dict[str, float]:
    """Depth significance and per-transit consistency against correlated noise."""
    nan = {"depth_snr_red": math.nan, "depth_chi2_red": math.nan, "depth_spread": math.nan}
    events = _events(time, flux, dt, epoch, period, t0, duration)
    scatter = events.scatter
    if events.depths.size == 0 or not scatter > 0:
        return nan
    depths, n = events.depths, events.depths.size
    depth = float(np.mean(depths))
    snr = depth / (scatter / math.sqrt(n))
    chi2 = float(np.sum(((depths - depth) / scatter) ** 2) / (n - 1)) if n > 1 else math.nan
    spread = float(np.std(depths)) / depth if depth > 0 and n > 1 else math.nan
    return {"depth_snr_red": snr, "depth_chi2_red": chi2, "depth_spread": spread}


def _best_other_dip(
    time: np.ndarray, flux: np.ndarray, period: float, t0: float, duration: float
) -> dict[str, float]:
    """The deepest box of the transit's duration at phases away from the transit."""
    q = duration / period
    width = max(q / 2, 1e-4)
    n_bins = max(4, round(1.0 / width))
    phase = ((time - t0) / period + 0.5 * width) % 1.0
    index = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins).astype(float)
    sums = np.bincount(index, weights=flux, minlength=n_bins)
    box_n = counts + np.roll(counts, -1)
    box_mean = np.divide(
        sums + np.roll(sums, -1), box_n, out=np.full(n_bins, np.nan), where=box_n > 0
    )
    centres = (np.arange(n_bins) + 1.0) / n_bins - 0.5 * width  # phase of each box centre
    allowed = (centres > 1.5 * q) & (centres < 1.0 - 1.5 * q) & (box_n >= 3)
    if not allowed.any():
        return {
            "secondary_best_phase": math.nan,
            "secondary_best_depth": math.nan,
            "secondary_best_snr": math.nan,
        }
    level = float(np.median(flux))
    scatter = 1.4826 * float(np.median(np.abs(flux - level)))
    depths = np.where(allowed, level - box_mean, -np.inf)
    best = int(np.argmax(depths))
    err = scatter / math.sqrt(box_n[best]) if box_n[best] > 0 else math.nan
    return {
        "secondary_best_phase": float(centres[best] % 1.0),
        "secondary_best_depth": float(depths[best]),
        "secondary_best_snr": _ratio(float(depths[best]), err),
    }


def _trapezoid(dt: np.ndarray, flux: np.ndarray, duration: float) -> dict[str, float]:
    """Grid fit of a trapezoid (total duration, ingress fraction; depth by least squares)."""
    window = np.abs(dt) < 1.5 * duration
    x, y = np.abs(dt[window]), 1.0 - flux[window]
    if x.size < 10:
        return {
            "ingress_fraction": math.nan,
            "trapezoid_depth": math.nan,
            "trapezoid_duration": math.nan,
        }
    best = (math.inf, math.nan, math.nan, math.nan)
    for total in duration * np.linspace(0.6, 1.4, 9):
        for fraction in np.linspace(0.02, 0.5, 25):
            ramp = fraction * total
            shape = np.clip((0.5 * total - x) / ramp, 0.0, 1.0)
            norm = float(shape @ shape)
            if norm <= 0:
                continue
            depth = float(shape @ y) / norm
            chi2 = float(np.sum((y - depth * shape) ** 2))
            if chi2 < best[0]:
                best = (chi2, fraction, depth, total)
    return {"ingress_fraction": best[1], "trapezoid_depth": best[2], "trapezoid_duration": best[3]}


def _sinusoids(
    time: np.ndarray, flux: np.ndarray, period: float, t0: float, duration: float, depth: float
) -> dict[str, float]:
    """Least-squares sinusoid amplitudes at P/2, P, 2P with primary and secondary masked."""
    keep = (np.abs(phase_offset(time, period, t0)) > duration) & (
        np.abs(phase_offset(time, period, t0 + 0.5 * period)) > duration
    )
    t, y = time[keep], flux[keep]
    names = (("sin_amp_half", 0.5), ("sin_amp_period", 1.0), ("sin_amp_double", 2.0))
    if t.size < 10:
        return {
            **{name: math.nan for name, _ in names},
            "sin_max_snr": math.nan,
            "sin_to_depth": math.nan,
        }
    out: dict[str, float] = {}
    best_snr = 0.0
    for name, factor in names:
        omega = 2 * math.pi / (period * factor)
        design = np.column_stack([np.sin(omega * t), np.cos(omega * t), np.ones_like(t)])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        amplitude = float(math.hypot(coef[0], coef[1]))
        residual = float(np.std(y - design @ coef))
        out[name] = amplitude
        error = residual * math.sqrt(2.0 / t.size)
        best_snr = max(best_snr, _ratio(amplitude, error) if error > 0 else 0.0)
    out["sin_max_snr"] = best_snr
    largest = max(out[name] for name, _ in names)
    out["sin_to_depth"] = largest / depth if depth > 0 else math.nan
    return out


def metric_columns(prefix: str, what: str) -> tuple[Any, ...]:
    """The Column records for every metric, with a prefix and a note on the ephemeris."""
    from exoextract.features import Column

    return tuple(Column(f"{prefix}{name}", unit, f"{doc} ({what})") for name, unit, doc in METRICS)
