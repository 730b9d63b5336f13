"""Vetting metrics at the blind search's best ephemeris (TLS if it ran, else BLS).

Planet or not: odd/even depths, secondary eclipses, transit shape, sinusoidal variability
at P/2, P and 2P, phase coverage — see :mod:`exoextract.features.vetting` for the
algorithms. Columns are prefixed ``vet_``; ``vet_uses_tls`` says whose ephemeris was used.
"""

from __future__ import annotations

import math
from typing import Any

from exoextract.features import Column, FeatureContext, NotComputable
from exoextract.features.vetting import at_ephemeris, metric_columns

COLUMNS = (
    Column("vet_uses_tls", "", "1 if measured at TLS's best period, 0 if at BLS's."),
    *metric_columns("vet_", "at the blind search's best period"),
)


def best_ephemeris(results: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """(period, t0, duration, uses_tls) of the strongest blind detection, if any."""
    for prefix, uses_tls in (("tls", 1.0), ("bls", 0.0)):
        values = [results.get(f"{prefix}_{name}") for name in ("period", "t0", "duration")]
        if (
            all(isinstance(v, float) and math.isfinite(v) and v != 0 for v in values[::2])
            and isinstance(values[1], float)
            and math.isfinite(values[1])
        ):
            period, t0, duration = (float(v) for v in values)  # type: ignore[arg-type]
            return period, t0, duration, uses_tls
    return None


def compute(ctx: FeatureContext) -> dict[str, Any]:
    if ctx.time.size < ctx.settings.min_points:
        raise NotComputable(f"only {ctx.time.size} cleaned points")
    found = best_ephemeris(ctx.results)
    if found is None:
        raise NotComputable("no blind-search period to vet (BLS and TLS off or failed)")
    period, t0, duration, uses_tls = found
    values = at_ephemeris(ctx.time, ctx.flux, period, t0, duration, ctx.raw_time, ctx.raw_flux)
    return {"vet_uses_tls": uses_tls, **{f"vet_{k}": v for k, v in values.items()}}
