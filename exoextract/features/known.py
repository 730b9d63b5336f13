"""The catalog's own ephemeris (TOI, KOI or K2 period, epoch, duration), measured.

Computed per candidate, after the star's blind search, with the same vetting metrics as
the ``vet_`` family (:mod:`exoextract.science.vetting`); columns are prefixed ``known_``.
Needs a period, an epoch and a duration; otherwise NaN, with the reason. An epoch more
than 20 years from the data is taken to be in the wrong time system.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable
from exoextract.science.vetting import FAR_EPOCH_DAYS, at_ephemeris, metric_columns

SCOPE = "candidate"

COLUMNS = (
    Column("known_period", "d", "Catalog period (normalised to days)."),
    Column("known_t0", "d (mission time: BTJD or BKJD)", "Catalog epoch in the data's system."),
    Column("known_duration", "d", "Catalog transit duration in days."),
    Column("known_depth_catalog", "relative flux", "Catalog depth as a fraction."),
    *metric_columns("known_", "at the catalog ephemeris"),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    candidate = ctx.candidate
    if candidate is None:
        raise NotComputable("no candidate")
    out: dict[str, Any] = {
        "known_period": candidate.period,
        "known_t0": candidate.t0,
        "known_duration": candidate.duration,
        "known_depth_catalog": candidate.depth,
    }
    missing = [
        name
        for name, value in (
            ("period", candidate.period),
            ("t0", candidate.t0),
            ("duration", candidate.duration),
        )
        if value is None
    ]
    if missing:
        raise NotComputable(f"no {', '.join(missing)} in the catalog", out)
    time, flux = ctx.time, ctx.flux_for(candidate.period)[0]
    if time.size < ctx.settings.min_points:
        raise NotComputable(f"only {time.size} cleaned points", out)
    middle = float(np.median(time))
    if abs(candidate.t0 - middle) > FAR_EPOCH_DAYS:
        raise NotComputable(
            f"epoch {candidate.t0:.1f} is {abs(candidate.t0 - middle):.0f} d from the data "
            f"(around {middle:.1f}): check its time system",
            out,
        )
    values = at_ephemeris(time, flux, candidate.period, candidate.t0, candidate.duration)
    out.update({f"known_{name}": value for name, value in values.items()})
    if values["n_transits"] == 0:
        raise NotComputable("no data inside any transit at this ephemeris", out)
    return out
