"""The blind search both period families start from (not a family: no columns).

:func:`spectrum` runs the fast box search (:func:`exoextract.science.search.box_spectrum`) once per
star, whichever family asks first, over ``period_min`` to ``period_max`` (default half the
baseline: at least two transits), with the ``bls_durations_hours`` that are plausible in
each period octave and ``bls_oversample`` bins per shortest duration. Each octave folds the
light curve flattened with the window that protects its longest transits
(:mod:`exoextract.science.clean`).
"""

from __future__ import annotations

import numpy as np

from exoextract.features import FeatureContext, NotComputable
from exoextract.science.periods import longest_period
from exoextract.science.search import Spectrum, box_spectrum
from exoextract.settings import Settings


def limits(ctx: FeatureContext) -> tuple[float, float, float]:
    """(baseline, shortest, longest trial period) in days, or NotComputable."""
    settings, time = ctx.settings, ctx.time
    if time.size < settings.min_points:
        raise NotComputable(f"only {time.size} cleaned points (min_points={settings.min_points})")
    baseline = float(time.max() - time.min())
    longest = longest_period(settings, baseline)
    if longest <= settings.period_min:
        raise NotComputable(
            f"baseline {baseline:.2f} d too short for periods above {settings.period_min} d"
        )
    return baseline, settings.period_min, longest


def trial_durations(settings: Settings) -> np.ndarray:
    """The configured box durations in days, shorter than the shortest period."""
    durations = np.array(sorted(settings.bls_durations_hours)) / 24.0
    durations = durations[durations < settings.period_min]
    if durations.size == 0:
        raise NotComputable("every trial duration is longer than the shortest period")
    return durations


def spectrum(ctx: FeatureContext) -> Spectrum:
    """The star's box spectrum, computed once and shared."""

    def build() -> Spectrum | NotComputable:
        try:
            _, low, high = limits(ctx)
            durations = trial_durations(ctx.settings)
        except NotComputable as why:
            return why
        per_octave = len(getattr(ctx.cleaned, "search_bands", ())) > 1
        found = box_spectrum(
            ctx.time,
            ctx.flux,
            ctx.flux_err,
            low,
            high,
            durations,
            ctx.settings.bls_oversample,
            flux_for=ctx.search_flux_for if per_octave else None,
        )
        if found.size < 3:
            return NotComputable("no trial period fits the baseline and durations")
        return found

    result = ctx.memo("box_spectrum", build)
    if isinstance(result, NotComputable):
        raise NotComputable(result.reason)
    return result
