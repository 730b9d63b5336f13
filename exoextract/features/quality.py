"""Quality at the transits: which flagged cadences fall in or beside a signal's transits.

Read from every cadence's ``QUALITY`` (``SAP_QUALITY``) in the files, before the quality mask
drops any (:mod:`exoextract.lightcurves.filefacts`): a transit whose window (within 1.5
durations of its centre) holds a flagged cadence may be the spacecraft's, not a planet's. By
kind: momentum dumps (reaction-wheel desaturations, bit 32, Kepler, K2 and TESS), Kepler's rolling
band (bits 131072, 262144), TESS's scattered light (2048, 4096), K2's thruster firings (524288,
1048576); ``quality_flagged`` counts any flag. Shares are of the signal's transits that the
files cover (a transit with any cadence in its window, flagged or not). A file without a
quality column counts every cadence unflagged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable

SCOPE = "signal"
WINDOW = 1.5  # durations either side of a transit's centre: in or beside it
KINDS = {
    "momentum": 32,
    "rolling_band": 131072 | 262144,
    "scattered_light": 2048 | 4096,
    "thruster": 524288 | 1048576,
}
COLUMNS = (
    Column("quality_transits", "count", "Transits the files cover (a cadence near the centre)."),
    Column(
        "quality_flagged",
        "fraction",
        "Share of them with a flagged cadence within 1.5 durations of the centre.",
    ),
    Column("quality_momentum", "fraction", "Share touched by a momentum dump (bit 32)."),
    Column("quality_rolling_band", "fraction", "Share touched by Kepler's rolling band."),
    Column("quality_scattered_light", "fraction", "Share touched by TESS's scattered light."),
    Column("quality_thruster", "fraction", "Share touched by K2's thruster firings."),
    Column("quality_in_transit", "count", "Flagged cadences inside the transits."),
    Column("quality_bits", "", "Every flag bit seen in or beside the transits (bitwise or)."),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    raise NotComputable("quality is read at a signal's ephemeris (at)")


def touched(facts: Any, ephemeris: Ephemeris) -> np.ndarray:
    """The epochs (transit numbers from ``ephemeris.t0``) with a flagged cadence within
    ``WINDOW`` durations of their centre (empty without flags)."""
    if facts is None or not facts.quality_time.size or ephemeris.single:
        return np.array([], dtype=np.int64)
    epoch, offset = _epochs(facts.quality_time, ephemeris)
    flagged = (np.abs(offset) < WINDOW * ephemeris.duration) & (facts.quality != 0)
    return np.unique(epoch[flagged])


def _epochs(time: np.ndarray, ephemeris: Ephemeris) -> tuple[np.ndarray, np.ndarray]:
    if ephemeris.single:
        return np.zeros(time.size, dtype=np.int64), time - ephemeris.t0
    epoch = np.floor((time - ephemeris.t0) / ephemeris.period + 0.5).astype(np.int64)
    return epoch, time - ephemeris.t0 - epoch * ephemeris.period


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    facts = ctx.facts
    if facts is None or not facts.quality_time.size:
        raise NotComputable("no quality flags: the files were not read for them")
    time, quality = facts.quality_time, facts.quality
    duration = ephemeris.duration
    epoch, offset = _epochs(time, ephemeris)
    near = np.abs(offset) < WINDOW * duration
    covered = np.unique(epoch[np.abs(offset) < 0.5 * duration])
    if covered.size == 0:
        raise NotComputable("the files hold no cadence inside these transits")
    flagged = near & (quality != 0) & np.isin(epoch, covered)
    out: dict[str, Any] = {
        "quality_transits": float(covered.size),
        "quality_flagged": _share(epoch[flagged], covered.size),
        "quality_in_transit": float(np.count_nonzero(flagged & (np.abs(offset) < 0.5 * duration))),
        "quality_bits": float(np.bitwise_or.reduce(quality[flagged])) if flagged.any() else 0.0,
    }
    for name, bits in KINDS.items():
        touched = flagged & ((quality & bits) != 0)
        out[f"quality_{name}"] = _share(epoch[touched], covered.size)
    return out


def _share(epochs: np.ndarray, transits: int) -> float:
    return float(np.unique(epochs).size / transits) if transits else math.nan
