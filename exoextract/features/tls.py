"""Transit Least Squares (transitleastsquares 2.0.4), one thread, inside the worker.

``use_threads=1`` always: with more, TLS starts its own persistent process pool, which
oversubscribes the CPUs under our workers and can hang in forked processes (FACTS.md).
Depths are reported as fractional decrements (TLS's ``depth`` is the in-transit flux).
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable

COLUMNS = (
    Column("tls_period", "d", "Period of the highest TLS signal detection efficiency."),
    Column("tls_period_uncertainty", "d", "Half width of the TLS peak."),
    Column("tls_t0", "d (mission time: BTJD or BKJD)", "Mid-time of the first transit."),
    Column("tls_duration", "d", "Transit duration of the best template."),
    Column("tls_depth", "relative flux", "1 - mean in-transit flux (fractional depth)."),
    Column("tls_sde", "", "Signal detection efficiency of the best period."),
    Column("tls_snr", "", "Signal-to-noise ratio of the stacked transits."),
    Column("tls_odd_even_mismatch", "sigma", "Odd/even transit depth difference, in sigma."),
    Column("tls_transit_count", "count", "Transits expected within the baseline."),
    Column("tls_distinct_transit_count", "count", "Transits with data in them."),
    Column("tls_rp_rs", "", "Planet-to-star radius ratio implied by the depth."),
    Column("tls_fap", "", "False alarm probability of the SDE (TLS's calibration)."),
    Column("tls_n_periods", "count", "Trial periods searched."),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    from transitleastsquares import transitleastsquares

    settings = ctx.settings
    time, flux, err = ctx.time, ctx.flux, ctx.flux_err
    if time.size < settings.min_points:
        raise NotComputable(f"only {time.size} cleaned points (min_points={settings.min_points})")
    baseline = float(time.max() - time.min())
    period_max = baseline / 2.0 if settings.period_max is None else settings.period_max
    if period_max <= settings.period_min:
        raise NotComputable(
            f"baseline {baseline:.2f} d too short for periods above {settings.period_min} d"
        )
    kwargs: dict[str, Any] = dict(
        use_threads=1,
        backend=settings.tls_backend,
        period_min=settings.period_min,
        period_max=period_max,
        oversampling_factor=settings.tls_oversampling,
        show_progress_bar=False,
        verbose=False,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        model = transitleastsquares(time, flux, err, verbose=False)
        result = model.power(**kwargs)
    depth = _scalar(result.depth)
    return {
        "tls_period": _scalar(result.period),
        "tls_period_uncertainty": _scalar(result.period_uncertainty),
        "tls_t0": _scalar(result.T0),
        "tls_duration": _scalar(result.duration),
        "tls_depth": 1.0 - depth if math.isfinite(depth) else math.nan,
        "tls_sde": _scalar(result.SDE),
        "tls_snr": _scalar(result.snr),
        "tls_odd_even_mismatch": _scalar(result.odd_even_mismatch),
        "tls_transit_count": _scalar(result.transit_count),
        "tls_distinct_transit_count": _scalar(result.distinct_transit_count),
        "tls_rp_rs": _scalar(result.rp_rs),
        "tls_fap": _scalar(result.FAP),
        "tls_n_periods": int(np.size(result.periods)),
    }


def _scalar(value: Any) -> float:
    try:
        number = float(np.asarray(value, dtype=float).ravel()[0])
    except (TypeError, ValueError, IndexError):
        return math.nan
    return number
