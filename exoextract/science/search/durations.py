"""Which transit durations are plausible at which periods (Sun-scaled limits)."""

from __future__ import annotations

import numpy as np

MIN_DURATION_FRACTION = 0.35  # grazing or small-star transits: a third of the central one
MAX_DURATION_FACTOR = 2.5  # evolved stars: up to 2.5 times a Sun-like star's


def physical_duration(period: np.ndarray | float) -> np.ndarray | float:
    """Central transit duration of a Sun-like star at this period, days (13 h at 1 yr)."""
    return 13.0 / 24.0 * (np.asarray(period) / 365.25) ** (1.0 / 3.0)


def plausible_durations(durations: np.ndarray, p_low: float, p_high: float) -> np.ndarray:
    """Trial durations a transit can have at periods in [p_low, p_high] (shorter than p_low)."""
    low = MIN_DURATION_FRACTION * float(physical_duration(p_low))
    high = MAX_DURATION_FACTOR * float(physical_duration(p_high))
    usable = durations[durations < p_low]
    keep = usable[(usable >= low) & (usable <= high)]
    if keep.size == 0 and usable.size:  # keep the one nearest to a Sun-like transit
        middle = float(physical_duration(np.sqrt(p_low * p_high)))
        keep = usable[[int(np.argmin(np.abs(usable - middle)))]]
    return keep


def octave_edges(period_min: float, period_max: float) -> np.ndarray:
    """Geometric band edges, one octave apart, covering [period_min, period_max]."""
    count = max(2, int(np.ceil(np.log2(period_max / period_min))) + 1)
    return np.geomspace(period_min, period_max * (1 + 1e-9), count)
