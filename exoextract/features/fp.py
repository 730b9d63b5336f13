"""False-positive flags per signal, named as the Kepler DR25 Robovetter's (Thompson et al.
2018, ApJS 235, 38; the KOI table's ``koi_fpflag_nt``, ``_ss``, ``_co``, ``_ec``).

* ``fp_not_transit_like``: the dip is not a transit train: below the detection threshold
  or the noise (TLS's SDE, the depth against white and correlated noise), a star's wave
  (a sinusoid at P/2, P or 2P), depths that one or two events carry, the period of a
  spotted star's rotation, or a transit too short to be resolved (the vetting's rules,
  :mod:`exoextract.features.vet`).
* ``fp_stellar_eclipse``: the companion is a star: odd and even eclipses differ, a secondary
  eclipse at any phase (the vetting's rules, or another signal of the star at the same
  period), a companion larger than two Jupiter radii, or a secondary eclipse deeper than a
  planet can make (:mod:`exoextract.features.planet`). The Robovetter's grazing test
  (``b + k`` above 1.04) is not a flag here: ``b`` from a quarter's trapezoid, or from the
  duration and the star's density, reads an eccentric planet's shorter transit as grazing
  (Kepler-75 b, e = 0.57, came out at 1.05); ``planet_grazing`` is there to learn from.
* ``fp_centroid_offset``: the light that dims is not the target's: the centroid shift is
  significant (``centroid_shift_sigma`` at least 3) and its source lies beyond where any
  on-target transit puts it, by three uncertainties (``centroid_offset_sigma`` at least 3;
  :mod:`exoextract.features.centroid`).
* ``fp_ephemeris_match``: another star of the run shows the same period and epoch (the
  fainter of two is the one flagged): computed when the run finishes, across its stars
  (:mod:`exoextract.science.ephemeris_match`); NaN in a signal measured alone.

Each flag is 1 or 0, or NaN where it cannot be told (no centroids, no vetting, a single
event's period rules); ``fp_<flag>_reason`` says what decided it. ``vet_transit_like`` is 0
for a signal with any flag at 1, and its reason names the flags.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable
from exoextract.features import vet as rules

SCOPE = "signal"
RADIUS_MAX_JUPITER = 2.0  # a companion larger than this is a star
SECONDARY_EXCESS_MAX = 3.0  # sigma beyond the deepest planetary occultation
CENTROID_SIGMA_MIN = 3.0
FLAGS = ("not_transit_like", "stellar_eclipse", "centroid_offset", "ephemeris_match")
MATCH_PENDING = "computed when the run finishes, across its stars"

COLUMNS = tuple(
    column
    for flag, doc in (
        ("not_transit_like", "1: not a transit train (low significance, a wave, spots)."),
        ("stellar_eclipse", "1: the companion is a star (odd/even, secondary, size, shape)."),
        ("centroid_offset", "1: the light that dims comes from another star."),
        ("ephemeris_match", "1: another star of the run has this period and epoch."),
    )
    for column in (
        Column(f"fp_{flag}", "", f"{doc} 0: not; NaN: cannot be told."),
        Column(f"fp_{flag}_reason", "text", f"What decided fp_{flag}.", kind="text"),
    )
)
NOT_TRANSIT_LIKE: tuple[Callable[[float, dict[str, float], float], str], ...] = (
    rules._confirmed,
    rules._beyond_noise,
    rules._wave,
    rules._uneven,
    rules._on_rotation,
    rules._resolved,
)
STELLAR_ECLIPSE: tuple[Callable[[float, dict[str, float], float], str], ...] = (
    rules._odd_even,
    rules._eclipse,
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    raise NotComputable("the flags are decided at a signal's ephemeris (at)")


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    results = ctx.results
    out: dict[str, Any] = {
        "fp_ephemeris_match": math.nan,
        "fp_ephemeris_match_reason": MATCH_PENDING,
    }
    out.update(_centroid(results))
    if ephemeris.single:
        for flag in ("not_transit_like", "stellar_eclipse"):
            out[f"fp_{flag}"] = math.nan
            out[f"fp_{flag}_reason"] = "a single event: no period to vet"
        return out
    metrics = {k[4:]: v for k, v in results.items() if k.startswith("vet_")}
    if not isinstance(metrics.get("depth"), float) or not math.isfinite(metrics["depth"]):
        raise NotComputable("no vetting at this ephemeris to decide the flags", out)
    baseline = float(ctx.time.max() - ctx.time.min()) if ctx.time.size else 0.0
    name, value, threshold = ephemeris.statistic or (
        "tls_sde",
        float(ephemeris.detection.get("tls_sde", math.nan)),
        rules.SDE_MIN,
    )
    found = [why for rule in NOT_TRANSIT_LIKE if (why := rule(value, metrics, baseline))]
    if math.isfinite(value) and value < threshold:
        found.insert(0, f"{name} {value:.1f} < {threshold:g}: not a detection here")
    out.update(_flag("not_transit_like", found))
    eclipse = [why for rule in STELLAR_ECLIPSE if (why := rule(value, metrics, baseline))]
    eclipse += _companion(results)
    out.update(_flag("stellar_eclipse", eclipse))
    return out


def _flag(flag: str, reasons: list[str]) -> dict[str, Any]:
    return {
        f"fp_{flag}": 1.0 if reasons else 0.0,
        f"fp_{flag}_reason": "; ".join(reasons) if reasons else "no rule failed",
    }


def _companion(results: Mapping[str, Any]) -> list[str]:
    """The star-sized companion's signs, from the planet family's columns."""
    out = []
    size = float(results.get("planet_radius_jupiter", math.nan))
    if size > RADIUS_MAX_JUPITER:
        out.append(f"a companion of {size:.1f} Jupiter radii > {RADIUS_MAX_JUPITER:g}")
    excess = float(results.get("planet_secondary_excess", math.nan))
    if excess > SECONDARY_EXCESS_MAX:
        out.append(
            f"a secondary eclipse {excess:.1f} sigma deeper than a planet's occultation can be"
        )
    return out


def _centroid(results: Mapping[str, Any]) -> dict[str, Any]:
    shift = float(results.get("centroid_shift_sigma", math.nan))
    beyond = float(results.get("centroid_offset_sigma", math.nan))
    if not (math.isfinite(shift) and math.isfinite(beyond)):
        why = str(results.get("centroid_reason") or "no centroid measurement")
        return {"fp_centroid_offset": math.nan, "fp_centroid_offset_reason": why}
    offset = float(results.get("centroid_offset", math.nan))
    if shift >= CENTROID_SIGMA_MIN and beyond >= CENTROID_SIGMA_MIN:
        return {
            "fp_centroid_offset": 1.0,
            "fp_centroid_offset_reason": f'the source is {offset:.2f}" from the light centroid, '
            f"{beyond:.1f} sigma beyond an on-target transit's (shift at {shift:.1f} sigma)",
        }
    return {
        "fp_centroid_offset": 0.0,
        "fp_centroid_offset_reason": f'shift at {shift:.1f} sigma, offset {offset:.2f}" '
        f"({beyond:.1f} sigma beyond an on-target transit's): on target",
    }


def raise_flag(row: dict[str, Any], flag: str, why: str) -> None:
    """Set ``fp_<flag>`` to 1 with ``why`` beside any reason it had already, and settle
    ``vet_transit_like`` (a judgement made across signals, after each was measured)."""
    before = str(row.get(f"fp_{flag}_reason") or "") if row.get(f"fp_{flag}") == 1.0 else ""
    row[f"fp_{flag}"] = 1.0
    row[f"fp_{flag}_reason"] = "; ".join(x for x in (before, why) if x)
    settle(row)


def settle(row: dict[str, Any]) -> None:
    """``vet_transit_like`` 0, and its reason naming them, where any flag is 1."""
    raised = [f for f in FLAGS if row.get(f"fp_{f}") == 1.0]
    if not raised or "vet_transit_like" not in row:
        return
    said = str(row.get("vet_reason") or "") if row.get("vet_transit_like") == 0.0 else ""
    news = [
        f"{flag.replace('_', ' ')}: {piece}"
        for flag in raised
        for piece in str(row.get(f"fp_{flag}_reason") or "").split("; ")
        if piece and piece not in said
    ]
    if not news:
        return
    row["vet_transit_like"] = 0.0
    lead = "" if "false positive, " in said else "false positive, "
    row["vet_reason"] = "; ".join(x for x in (said, lead + "; ".join(news)) if x)
