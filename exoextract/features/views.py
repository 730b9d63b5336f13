"""AstroNet-style phase-folded views (Shallue & Vanderburg 2018), as fixed-length lists.

A per-signal family: each signal, and each candidate row, is folded at its own ephemeris
(a candidate measured at its catalog ephemeris: at that one). The flattened flux is folded
and median-binned: the global view over the whole orbit in 2001 bins, the local view over
±2 transit durations in 201 bins. Empty bins are interpolated; each flux view is then
shifted and scaled so its median is 0 and its minimum -1 (a view with no dip is only
shifted). Beside them, the centroid's local view: its shift from its level around each
transit, along the direction it moves in transit, in arcseconds, not scaled (the centroid
views AstroNet's successors learn blends from). A single event has a local flux view only.
Off by default (``run_views``): 2,403 numbers per row.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable
from exoextract.features.vet import best_ephemeris
from exoextract.science.vetting import phase_offset

SCOPE = "signal"
GLOBAL_BINS = 2001
LOCAL_BINS = 201

COLUMNS = (
    Column("view_uses_known", "", "1 if folded at the catalog ephemeris, 0 at a signal's."),
    Column(
        "view_global",
        "normalised flux",
        f"{GLOBAL_BINS} median bins over the whole orbit (transit at the centre).",
        "list",
    ),
    Column(
        "view_local",
        "normalised flux",
        f"{LOCAL_BINS} median bins over ±2 durations around the transit.",
        "list",
    ),
    Column(
        "view_centroid",
        "arcsec",
        f"{LOCAL_BINS} median bins over ±2 durations: the centroid's shift from its level "
        "around each transit, along the direction it moves in transit (a blend's moves, an "
        "on-target transit's hardly); None without centroids.",
        "list",
    ),
)


def binned_median(x: np.ndarray, y: np.ndarray, low: float, high: float, bins: int) -> np.ndarray:
    """Median of y in equal bins of x over [low, high); empty bins interpolated."""
    edges = np.linspace(low, high, bins + 1)
    index = np.searchsorted(edges, x, side="right") - 1
    inside = (index >= 0) & (index < bins)
    order = np.argsort(index[inside], kind="stable")
    sorted_index, sorted_y = index[inside][order], y[inside][order]
    values = np.full(bins, np.nan)
    starts = np.searchsorted(sorted_index, np.arange(bins), side="left")
    ends = np.searchsorted(sorted_index, np.arange(bins), side="right")
    for b in np.nonzero(ends > starts)[0]:
        values[b] = np.median(sorted_y[starts[b] : ends[b]])
    good = np.isfinite(values)
    if good.sum() < 2:
        raise NotComputable("too few points to fold into a view")
    centres = 0.5 * (edges[:-1] + edges[1:])
    return np.interp(centres, centres[good], values[good])


def normalise(view: np.ndarray) -> np.ndarray:
    centre = float(np.median(view))
    view = view - centre
    low = float(view.min())
    return view / abs(low) if low < 0 else view


def compute(ctx: FeatureContext) -> dict[str, Any]:
    """The views at the search's best ephemeris (within a search)."""
    found = best_ephemeris(ctx.results)
    if found is None:
        raise NotComputable("no ephemeris to fold at")
    period, t0, duration, uses_tls = found
    return at(ctx, Ephemeris(period, t0, duration, "tls" if uses_tls else "bls"))


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    """The views at one ephemeris (a single event: the local view only)."""
    known = 1.0 if ephemeris.source == "catalog" else 0.0
    period, t0, duration = ephemeris.period, ephemeris.t0, ephemeris.duration
    if ephemeris.single:
        flux = ctx.flux_for(math.inf)[0]
        local_view = binned_median(ctx.time - t0, flux, -2 * duration, 2 * duration, LOCAL_BINS)
        raise NotComputable(
            "a single event: no period to fold a global view at",
            {"view_uses_known": known, "view_local": normalise(local_view).astype(np.float32)},
        )
    dt = phase_offset(ctx.time, period, t0)
    flux = ctx.flux_for(period)[0]
    global_view = binned_median(dt, flux, -0.5 * period, 0.5 * period, GLOBAL_BINS)
    local_view = binned_median(dt, flux, -2 * duration, 2 * duration, LOCAL_BINS)
    return {
        "view_uses_known": known,
        "view_global": normalise(global_view).astype(np.float32),
        "view_local": normalise(local_view).astype(np.float32),
        "view_centroid": _centroid_view(ctx, ephemeris, dt),
    }


def _centroid_view(ctx: FeatureContext, ephemeris: Ephemeris, dt: np.ndarray) -> Any:
    """The local view of the centroid's shift (arcsec) along its in-transit direction."""
    from exoextract.features.centroid import _plate_scale

    if ctx.centroid is None:
        return None
    col, row = ctx.centroid
    duration, period = ephemeris.duration, ephemeris.period
    epoch = np.floor((ctx.time - ephemeris.t0) / period + 0.5).astype(np.int64)
    around = (np.abs(dt) > duration) & (np.abs(dt) < 3 * duration)
    inside = np.abs(dt) < 0.4 * duration
    good = np.isfinite(col) & np.isfinite(row)
    epoch = epoch - epoch.min()
    n = int(epoch.max()) + 1
    count = np.bincount(epoch[around & good], minlength=n)
    if not (count > 0).any():
        return None
    shifts = []
    for values in (col, row):
        level = np.bincount(epoch[around & good], values[around & good], minlength=n)
        level = np.divide(level, count, out=np.full(n, np.nan), where=count > 0)
        shifts.append(values - level[epoch])
    keep = good & np.isfinite(shifts[0]) & np.isfinite(shifts[1])
    direction = np.array([np.mean(s[inside & keep]) if (inside & keep).any() else 0.0
                          for s in shifts])  # fmt: skip
    norm = float(np.hypot(*direction))
    unit = direction / norm if norm > 0 else np.array([1.0, 0.0])
    along = (shifts[0] * unit[0] + shifts[1] * unit[1]) * _plate_scale(ctx)
    try:
        view = binned_median(dt[keep], along[keep], -2 * duration, 2 * duration, LOCAL_BINS)
    except NotComputable:
        return None
    return view.astype(np.float32)
