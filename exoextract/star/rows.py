"""A star's table rows: its star-level families, its signals, one row per candidate.

The families run in their scopes (:mod:`exoextract.features`): the star's own (noise,
variability, the search for signals), then for each candidate its match to a signal (or its
catalog ephemeris measured) and its per-candidate families. Each candidate row carries the
per-signal columns of the signal it is (:mod:`exoextract.features.match`); each signal
carries the key of the candidate it is, if any.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exoextract import features
from exoextract.features import Clock, FeatureContext

CANDIDATE_KEY = "signal_candidate_key"  # in a signal's record: the matched candidate's key


@dataclass
class StarRows:
    """``rows``: {candidate key: row}; ``signals``: one record per signal, in order."""

    rows: dict[str, dict[str, Any]]
    signals: list[dict[str, Any]]


def star_rows(ctx: FeatureContext, candidates: Sequence[Any]) -> StarRows:
    """Every row of one star (``candidates``: :class:`exoextract.star.task.Candidate`)."""
    from exoextract.features import match

    families = features.enabled(ctx.settings)
    ctx.shared["candidates"] = tuple(candidates)
    star = features.compute(ctx, [f for f in families if f.scope == "star"])
    per_signal = [f for f in families if f.per_signal]
    per_candidate = [f for f in families if f.per_candidate]
    rows: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        ctx.candidate, ctx.row = candidate, candidate.row
        ctx.results = dict(star)
        row = dict(star)
        row.update(features.compute(ctx, per_candidate))
        if any(f.name == "match" for f in per_candidate):
            row.update(match.describe(ctx).per_signal)
        rows[candidate.key] = row
    clock: Clock = ctx.shared.setdefault("clock", Clock())
    for family in [f for f in families if f.scope == "star"] + per_signal:
        seconds = round(clock.spent.get(family.name, 0.0), 4)
        for row in rows.values():
            row[features.timing_column(family.name)] = seconds
    links = match.assignment(ctx) if per_signal else {}
    owner = {link.signal: key for key, link in links.items()}
    signals = [
        {**record, CANDIDATE_KEY: owner.get(index)}
        for index, record in enumerate(ctx.shared.get("signals") or ())
    ]
    return StarRows(rows, signals)


def first_row(ctx: FeatureContext) -> dict[str, Any]:
    """The row of a star read alone (no catalog): its strongest signal's (tests, benches)."""
    from exoextract.star.task import Candidate

    return star_rows(ctx, [Candidate(key="star")]).rows["star"]


def is_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
