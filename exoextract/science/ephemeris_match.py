"""Ephemeris matches across a run: one star's light in another's aperture (Coughlin et al.
2014, AJ 147, 119; the DR25 Robovetter's ``koi_fpflag_ec``).

Two signals of different stars at the same period (or in a small whole-number ratio: 1, 2,
3, 1/2, 1/3, 3/2, 2/3) whose transits fall at the same times are most likely one eclipse
seen twice: the brighter star's (its parent) leaking into the fainter's aperture (its
child). The periods must agree within 0.1 % and every transit of the longer ephemeris
within the data fall within a transit duration of one of the shorter's; the stars must be
within ``ephemeris_match_arcsec`` of each other on the sky (positions from the files'
headers or the catalog). The fainter star's signal gets ``fp_ephemeris_match`` 1 and a
reason naming its parent, the separation and the magnitudes (where magnitudes are unknown,
the shallower signal is the child); the parent's names its child and stays 0. A signal
with no position is NaN. Run when a run is merged, over all of its stars, so it costs a
sort and a few comparisons per signal, not a comparison of every pair.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PERIOD_AGREE = 1e-3
RATIOS = (1.0, 2.0, 3.0, 0.5, 1.0 / 3.0, 1.5, 2.0 / 3.0)


@dataclass(frozen=True)
class Transits:
    """One signal of one star, with what matching needs."""

    key: Any  # the caller's handle on the row
    star: str
    name: str  # "TIC 100 signal 2", for the reasons
    period: float
    t0: float
    duration: float
    depth: float
    ra: float
    dec: float
    mag: float
    first: float  # the data's time span, for the epochs' check across it
    last: float


@dataclass(frozen=True)
class Verdict:
    flag: float
    reason: str


def match(signals: Sequence[Transits], radius_arcsec: float) -> dict[Any, Verdict]:
    """Each signal's verdict (keyed by its ``key``)."""
    verdicts: dict[Any, Verdict] = {}
    usable = [s for s in signals if _usable(s)]
    for s in signals:
        if not _usable(s):
            why = "no position for the star" if _periodic(s) else "no period to match"
            verdicts[s.key] = Verdict(math.nan, why)
    ordered = sorted(usable, key=lambda s: s.period)
    periods = [s.period for s in ordered]
    found: dict[Any, list[tuple[float, Transits]]] = {s.key: [] for s in usable}
    for one in ordered:
        for ratio in RATIOS:
            target = one.period * ratio
            low = bisect.bisect_left(periods, target * (1 - PERIOD_AGREE))
            high = bisect.bisect_right(periods, target * (1 + PERIOD_AGREE))
            for other in ordered[low:high]:
                if other.star == one.star or other.key == one.key:
                    continue
                separation = _separation(one, other)
                if separation <= radius_arcsec and _same_times(one, other):
                    found[one.key].append((separation, other))
    for s in usable:
        pairs = sorted(found[s.key], key=lambda item: item[0])
        if not pairs:
            verdicts[s.key] = Verdict(0.0, f'no signal of another star within {radius_arcsec:g}"')
            continue
        separation, other = pairs[0]
        if _parent(other, s):
            verdicts[s.key] = Verdict(
                1.0,
                f'{other.name} has its period and epoch, {separation:.1f}" away and '
                f"{_brighter(other, s)}: its light in this aperture",
            )
        else:
            verdicts[s.key] = Verdict(
                0.0,
                f'{other.name} has its period and epoch, {separation:.1f}" away and '
                f"{_brighter(s, other, fainter=True)}: this star's light in that aperture",
            )
    return verdicts


def _periodic(s: Transits) -> bool:
    return math.isfinite(s.period) and s.period > 0 and math.isfinite(s.t0)


def _usable(s: Transits) -> bool:
    return _periodic(s) and math.isfinite(s.ra) and math.isfinite(s.dec)


def _separation(a: Transits, b: Transits) -> float:
    """Angular distance, arcseconds (haversine)."""
    ra1, dec1, ra2, dec2 = map(math.radians, (a.ra, a.dec, b.ra, b.dec))
    h = (
        math.sin((dec2 - dec1) / 2) ** 2
        + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
    )
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h)))) * 3600.0


def _same_times(a: Transits, b: Transits) -> bool:
    """Whether the longer ephemeris' transits over both spans fall within a duration of
    the shorter's."""
    short, long = sorted((a, b), key=lambda s: s.period)
    window = max(a.duration, b.duration)
    start, end = min(a.first, b.first), max(a.last, b.last)
    first = math.ceil((start - long.t0) / long.period)
    last = math.floor((end - long.t0) / long.period)
    epochs = range(first, last + 1) if last >= first else range(0, 1)
    for n in epochs:
        centre = long.t0 + n * long.period
        offset = (centre - short.t0 + 0.5 * short.period) % short.period - 0.5 * short.period
        if abs(offset) > window:
            return False
    return True


def _parent(a: Transits, b: Transits) -> bool:
    """Whether ``a`` is the source of ``b``'s signal: the brighter star, or where a
    magnitude is missing, the deeper signal."""
    if math.isfinite(a.mag) and math.isfinite(b.mag) and a.mag != b.mag:
        return a.mag < b.mag
    return a.depth > b.depth


def _brighter(a: Transits, b: Transits, fainter: bool = False) -> str:
    if math.isfinite(a.mag) and math.isfinite(b.mag):
        return f"{abs(b.mag - a.mag):.1f} mag {'fainter' if fainter else 'brighter'}"
    return "deeper" if not fainter else "shallower"


def transits_of(
    key: Any, star: str, name: str, record: Mapping[Any, Any], span: tuple[float, float]
) -> Transits:
    """A signal record (signals.parquet's, or a catalog row's) as matching sees it."""

    def number(*names: str) -> float:
        for n in names:
            try:
                value = float(record.get(n, math.nan))
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                return value
        return math.nan

    return Transits(
        key,
        star,
        name,
        number("signal_period", "tls_period", "bls_period"),
        number("signal_t0", "tls_t0", "bls_t0"),
        number("signal_duration", "tls_duration", "bls_duration"),
        number("signal_depth", "vet_depth", "tls_depth"),
        number("star_ra"),
        number("star_dec"),
        number("star_mag"),
        span[0],
        span[1],
    )
