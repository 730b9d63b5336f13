"""Centroid motion: does the light that dims come from the target? (Bryson et al. 2013.)

Kepler, K2 and TESS SPOC files carry the flux-weighted centroid of the aperture's pixels at
every cadence (``MOM_CENTR1/2``: column and row). When the target itself dims, the centroid
moves a little, towards the target, in proportion to the depth; when another star in the
aperture dims (a background eclipsing binary blended with the target), it moves towards
that star, and the source's distance from the aperture's light centroid is the shift over
the depth: ``offset = shift (1 - D) / D``, ``D`` the depth of the aperture's own (not
crowding-corrected) flux, the catalog's depth times ``CROWDSAP``.

Per transit, the mean centroid in its central 80 % minus the mean within one to three
durations around it (the local baseline: a quarter's pointing drift and a segment's jumps
cancel), averaged over the transits; the same at a hundred phases away from the transits
is the centroid's own correlated noise, whose scatter gives ``centroid_shift_sigma`` (a
chi with two degrees of freedom: 3.4 is the 1 % tail) and the offset's uncertainty. An
on-target transit moves the centroid too, towards the target from the light of the other
stars in and around the aperture: its implied offset is at most about ``(1 - CROWDSAP)``
times the aperture's radius plus the point-spread function's reach (1.5 pixels)
(``centroid_on_target_max``; at least a tenth of a pixel), so a deep
transit on a crowded target (Kepler-75 b, 1.6 %) is not mistaken for another star's.
``centroid_offset_sigma`` is the offset beyond that bound in its uncertainties: the
``fp_centroid_offset`` flag's measure. Files without centroids (most high-level products):
NaN, with the reason.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable

SCOPE = "signal"
IN_FRACTION = 0.4  # the central 80 % of a transit (half-widths in durations)
OUT_WINDOW = (1.0, 3.0)  # the local baseline: this many durations from the centre
NULL_TRIALS = 100
APERTURE_PIXELS = 9  # assumed where a file does not say
CROWDING_UNKNOWN = 0.95  # assumed where a file does not say
BOUND_FLOOR_PIXELS = 0.1  # centroid systematics: offsets below this are never told apart
PSF_PIXELS = 1.5  # light from stars this far beyond the aperture's edge still falls in it

COLUMNS = (
    Column("centroid_shift_col", "pixel", "In-transit centroid minus its local baseline, column."),
    Column("centroid_shift_row", "pixel", "The same, row."),
    Column(
        "centroid_shift_sigma",
        "",
        "The shift against the centroid's own correlated noise (the same measure at a "
        "hundred phases away from the transits), both axes together.",
    ),
    Column(
        "centroid_offset",
        "arcsec",
        "Distance of the dimming source from the aperture's light centroid: shift x (1 - D) "
        "/ D, D the depth of the aperture's flux.",
    ),
    Column("centroid_offset_err", "arcsec", "Its uncertainty (from the noise above)."),
    Column(
        "centroid_on_target_max",
        "arcsec",
        "The largest offset an on-target transit can show: (1 - CROWDSAP) x (the aperture's "
        "radius + 1.5 pixels), at least a tenth of a pixel.",
    ),
    Column(
        "centroid_offset_sigma",
        "",
        "(offset - on_target_max) / offset_err: how far beyond the target the source is.",
    ),
    Column("centroid_transits", "count", "Transits with centroids in and around them."),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    raise NotComputable("the centroid is measured at a signal's ephemeris (at)")


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    if ctx.centroid is None:
        raise NotComputable("the light-curve files carry no centroids (MOM_CENTR1/2)")
    col, row = ctx.centroid
    time = ctx.time
    flux = ctx.flux_for(ephemeris.period if not ephemeris.single else math.inf)[0]
    good = np.isfinite(col) & np.isfinite(row) & np.isfinite(flux)
    time, col, row, flux = time[good], col[good], row[good], flux[good]
    shifts = _shifts(time, (col, row, flux), ephemeris, ephemeris.t0)
    if shifts is None:
        raise NotComputable("no transit with centroids in and around it")
    (shift_col, shift_row, depth), transits = shifts
    null = _null(time, (col, row), ephemeris)
    if null.shape[0] < 10:
        raise NotComputable("too few places away from the transits to measure the noise")
    sigma_col, sigma_row = (float(np.std(null[:, k], ddof=1)) for k in (0, 1))
    significance = math.hypot(_ratio(shift_col, sigma_col), _ratio(shift_row, sigma_row))
    scale = _plate_scale(ctx)
    crowding = _crowding(ctx, ephemeris.t0)
    aperture = _aperture_pixels(ctx, ephemeris.t0)
    depth_aperture = depth * crowding
    out = {
        "centroid_shift_col": shift_col,
        "centroid_shift_row": shift_row,
        "centroid_shift_sigma": significance,
        "centroid_transits": float(transits),
        "centroid_on_target_max": scale
        * max((1 - crowding) * (math.sqrt(aperture / math.pi) + PSF_PIXELS), BOUND_FLOOR_PIXELS),
    }
    if not depth_aperture > 0:
        raise NotComputable("no dip in the flux at these transits to scale the shift by", out)
    shift = math.hypot(shift_col, shift_row)
    factor = (1 - depth_aperture) / depth_aperture * scale
    error = math.hypot(shift_col * sigma_col, shift_row * sigma_row) / shift if shift > 0 else 0
    out["centroid_offset"] = shift * factor
    out["centroid_offset_err"] = error * factor
    out["centroid_offset_sigma"] = _ratio(
        out["centroid_offset"] - out["centroid_on_target_max"], out["centroid_offset_err"]
    )
    return out


def _shifts(
    time: np.ndarray, series: tuple[np.ndarray, ...], ephemeris: Ephemeris, t0: float
) -> tuple[tuple[float, ...], int] | None:
    """Each series' mean in-transit value minus its local baseline, averaged over the
    transits of the ephemeris moved to epoch ``t0`` (the flux's is minus the depth), and
    the number of transits that had both."""
    duration = ephemeris.duration
    if ephemeris.single:
        offset = time - t0
        epoch = np.zeros(time.size, dtype=np.int64)
    else:
        period = ephemeris.period
        epoch = np.floor((time - t0) / period + 0.5).astype(np.int64)
        offset = time - t0 - epoch * period
    inside = np.abs(offset) < IN_FRACTION * duration
    around = (np.abs(offset) > OUT_WINDOW[0] * duration) & (
        np.abs(offset) < OUT_WINDOW[1] * duration
    )
    epoch = epoch - epoch.min() if epoch.size else epoch
    n = int(epoch.max()) + 1 if epoch.size else 0
    count_in = np.bincount(epoch[inside], minlength=n)
    count_out = np.bincount(epoch[around], minlength=n)
    usable = (count_in >= 1) & (count_out >= 2)
    if not usable.any():
        return None
    means = []
    for values in series:
        mean_in = np.bincount(epoch[inside], values[inside], minlength=n)[usable] / count_in[usable]
        mean_out = (
            np.bincount(epoch[around], values[around], minlength=n)[usable] / count_out[usable]
        )
        means.append(float(np.mean(mean_in - mean_out)))
    means[-1] = -means[-1]  # the flux: its dip, as a positive depth
    return tuple(means), int(np.count_nonzero(usable))


def _null(time: np.ndarray, series: tuple[np.ndarray, ...], ephemeris: Ephemeris) -> np.ndarray:
    """The same shifts at ``NULL_TRIALS`` epochs away from the transits (rows: trials)."""
    rng = np.random.default_rng(int(abs(ephemeris.t0) * 1e3) % 2**32)
    duration = ephemeris.duration
    margin = OUT_WINDOW[1] * duration
    if ephemeris.single:
        span = (float(time.min()) + margin, float(time.max()) - margin)
        away = lambda x: abs(x - ephemeris.t0) > 2 * margin  # noqa: E731
        trials = [x for x in rng.uniform(*span, 4 * NULL_TRIALS) if away(x)][:NULL_TRIALS]
    else:
        period = ephemeris.period
        room = period - 2 * margin
        if room > duration:
            phases = rng.uniform(margin, period - margin, NULL_TRIALS)
        else:  # a short period: anywhere but the transit itself
            phases = rng.uniform(
                2 * duration, max(period - 2 * duration, 2 * duration), NULL_TRIALS
            )
        trials = list(ephemeris.t0 + phases)
    near = _Near(time, ephemeris)
    out = []
    for t0 in trials:
        index = near(t0)  # only these points can be in or around a transit at t0
        found = _shifts(time[index], tuple(s[index] for s in series), ephemeris, t0)
        if found:
            out.append(found[0])
    return np.array([list(v) for v in out]) if out else np.empty((0, len(series)))


class _Near:
    """The points (their indices, ascending) within ``OUT_WINDOW[1]`` durations of a
    transit of the ephemeris moved to a given epoch, a little wider for rounding: the only
    points :func:`_shifts` uses, kept in their order, so its sums are the same numbers
    while a null trial reads the points near its transits instead of all of them."""

    SLACK = 1e-6  # of a period (or days, for a single event): far above rounding

    def __init__(self, time: np.ndarray, ephemeris: Ephemeris) -> None:
        self.single = ephemeris.single
        self.period = ephemeris.period
        self.t0 = ephemeris.t0
        reach = OUT_WINDOW[1] * ephemeris.duration
        if self.single:
            self.key = np.asarray(time, dtype=float)
            self.half = reach + self.SLACK
        else:
            self.key = np.mod((time - self.t0) / self.period, 1.0)
            self.half = reach / self.period + self.SLACK
        self.order = np.argsort(self.key, kind="stable")
        self.sorted = self.key[self.order]

    def __call__(self, t0: float) -> np.ndarray:
        if self.single:
            ranges = [(t0 - self.half, t0 + self.half)]
        elif self.half >= 0.5:
            return np.arange(self.key.size)
        else:
            centre = float(np.mod((t0 - self.t0) / self.period, 1.0))
            low, high = centre - self.half, centre + self.half
            ranges = [(low, high)]
            if low < 0:
                ranges = [(low + 1.0, 1.0), (0.0, high)]
            elif high > 1:
                ranges = [(low, 1.0), (0.0, high - 1.0)]
        pieces = [
            self.order[
                np.searchsorted(self.sorted, a, "left") : np.searchsorted(self.sorted, b, "right")
            ]
            for a, b in ranges
        ]
        return np.sort(np.concatenate(pieces))


def _plate_scale(ctx: FeatureContext) -> float:
    from exoextract.lightcurves.filefacts import PLATE_SCALE

    if ctx.facts is not None and math.isfinite(ctx.facts.plate_scale):
        return float(ctx.facts.plate_scale)
    return PLATE_SCALE.get(ctx.mission or "", PLATE_SCALE["Kepler"])


def _crowding(ctx: FeatureContext, t0: float) -> float:
    values = []
    if ctx.facts is not None:
        values = [s.crowding for s in ctx.facts.segments if math.isfinite(s.crowding)]
    return float(np.median(values)) if values else CROWDING_UNKNOWN


def _aperture_pixels(ctx: FeatureContext, t0: float) -> float:
    values = []
    if ctx.facts is not None:
        values = [s.aperture_pixels for s in ctx.facts.segments if s.aperture_pixels > 0]
    return float(np.median(values)) if values else float(APERTURE_PIXELS)


def _ratio(value: float, error: float) -> float:
    return value / error if error > 0 and math.isfinite(error) else math.nan
