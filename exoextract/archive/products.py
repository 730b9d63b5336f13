"""Which archive products a target's light curve is made of: lightkurve's rules, then one
product per quarter, campaign or sector.

:func:`select` reproduces what ``lightkurve.search_lightcurve(target, mission=...,
author=..., exptime=..., quarter|campaign|sector=...)`` lists, from the same two archive
tables (observations and their products), for many targets at once: products joined to
their observation by ``obs_id``; official Kepler products kept only for the asked quarters
(the quarter read from the product's description, as lightkurve does); light-curve FITS
files only (names ending in ``lc.fits``); the exposure filter (``long`` >= 200 s, ``short``
60-200 s, ``fast`` < 60 s, or exact seconds). A test runs both on one fake archive.

:func:`one_per_segment` then keeps one product group per segment: a TESS sector listed by
SPOC at 120 s and 20 s and by QLP, or a K2 campaign by K2 and K2SFF, would otherwise be
stitched on top of itself. The group kept is lightkurve's own preference (the official
pipelines, then TESS-SPOC, then QLP, then the rest by name), then the exposure nearest the
mission's standard cadence (30 minutes for Kepler and K2, 2 minutes for TESS); every file of
that group stays (Kepler short cadence comes as one file per month of a quarter).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# lightkurve's SearchResult order: official pipelines first (search.py, _sort_table)
AUTHOR_PRIORITY = {"kepler": 1, "k2": 1, "spoc": 1, "kbonus-bkg": 2, "tess-spoc": 2, "qlp": 3}
STANDARD_EXPTIME = {"Kepler": 1800.0, "K2": 1800.0, "TESS": 120.0}
OFFICIAL = ("kepler", "k2", "spoc")
SEGMENT_WORD = {"Kepler": "quarter", "K2": "campaign", "TESS": "sector"}
SPLIT_CAMPAIGNS = (9, 10, 11)  # K2 campaigns the archive lists in two halves


@dataclass(frozen=True)
class Product:
    """One file of a target's light curve, as the archive lists it."""

    target_name: str
    mission: str
    author: str
    exptime: float
    segment: str  # "Q05", "C10b", "S0024": the quarter, campaign (half) or sector
    filename: str
    uri: str
    size: int | None
    obs_collection: str
    obs_id: str

    def path(self, cache_root: Path) -> Path:
        """Where lightkurve keeps it: mastDownload/<collection>/<obs_id>/<file>."""
        return cache_root / "mastDownload" / self.obs_collection / self.obs_id / self.filename

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Product:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Request:
    """What every target of a run asks of the archive (``mast_author``, ``mast_exptime``,
    ``mast_segments``); ``author`` None means the official pipelines' products first."""

    author: str | None = None
    exptime: str | None = None
    segments: tuple[int, ...] = ()

    @property
    def authors(self) -> list[str] | None:
        """The provenance filter of the archive query (None: any author)."""
        if self.author is None or self.author.lower() in ("any", "all"):
            return None
        return [self.author]

    def exptime_value(self) -> str | float | None:
        if self.exptime is not None and self.exptime.replace(".", "", 1).isdigit():
            return float(self.exptime)
        return self.exptime

    def describe(self) -> str:
        parts = [f"author {self.author}"] if self.author else []
        if self.exptime:
            parts.append(f"exposure {self.exptime}")
        if self.segments:
            parts.append("segments " + ",".join(str(s) for s in self.segments))
        return ", ".join(parts)


def filters(mission: str, names: Sequence[str], request: Request) -> list[dict[str, Any]]:
    """The archive's observation filters for ``names`` (lightkurve's query, many names)."""
    out: list[dict[str, Any]] = [
        {"paramName": "target_name", "values": list(names)},
        {"paramName": "project", "values": [mission]},
        {"paramName": "dataproduct_type", "values": ["cube", "timeseries"]},
    ]
    if request.authors is not None:
        out.append({"paramName": "provenance_name", "values": request.authors})
    if request.segments and mission != "Kepler":  # lightkurve asks campaigns and sectors
        out.append({"paramName": "sequence_number", "values": [str(s) for s in request.segments]})
    return out


def select(
    observations: Iterable[Mapping[str, Any]],
    products: Iterable[Mapping[str, Any]],
    mission: str,
    request: Request,
) -> dict[str, list[Product]]:
    """target_name -> the products lightkurve's search would list for it (see module doc)."""
    by_obs_id = {str(o["obs_id"]): o for o in observations}
    provenance = [a.lower() for a in request.authors] if request.authors else list(OFFICIAL)
    segment_filtered = bool(request.segments) and mission != "Kepler"
    exptime = request.exptime_value()
    found: dict[str, list[Product]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for row in products:
        obs = by_obs_id.get(str(row.get("obs_id")))
        if obs is None:
            continue  # lightkurve's right join would leave it without an author or target
        author = str(obs.get("provenance_name") or "")
        filename = str(row.get("productFilename") or "")
        kepler_official = author.lower() == "kepler"
        if kepler_official and (
            "kepler" not in provenance
            or segment_filtered
            or not _in_quarters(row, request.segments)
        ):
            continue
        name = filename.lower()
        if not (name.endswith("lc.fits") or name.endswith("lc.fits.gz")):
            continue
        seconds = _float(obs.get("t_exptime"))
        if not _exptime_matches(seconds, exptime):
            continue
        target = str(obs.get("target_name"))
        if (target, filename) in seen:
            continue
        seen.add((target, filename))
        found[target].append(
            Product(
                target_name=target,
                mission=str(obs.get("project") or mission),
                author=author,
                exptime=seconds,
                segment=segment_of(mission, obs, row),
                filename=filename,
                uri=str(row.get("dataURI") or ""),
                size=_size(row.get("size")),
                obs_collection=str(row.get("obs_collection") or obs.get("obs_collection")),
                obs_id=str(row.get("obs_id")),
            )
        )
    return {target: sorted(rows, key=lambda p: p.filename) for target, rows in found.items()}


def one_per_segment(products: Sequence[Product]) -> list[Product]:
    """Per segment, the files of the preferred (author, exposure) group (see module doc)."""
    groups: dict[str, dict[tuple[str, float], list[Product]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for product in products:
        groups[product.segment or product.filename][(product.author, product.exptime)].append(
            product
        )
    kept: list[Product] = []
    for segment in sorted(groups):
        choices = groups[segment]
        best = min(choices, key=lambda group: _preference(group, choices[group][0].mission))
        kept.extend(choices[best])
    return kept


def segment_of(mission: str, obs: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """A sortable label of the product's quarter, campaign (half) or sector."""
    sequence = obs.get("sequence_number")
    filename = str(row.get("productFilename") or "")
    if mission == "Kepler":
        match = re.search(r"Q(\d+)", str(row.get("description") or ""))
        return f"Q{int(match.group(1)):02d}" if match else ""
    number = _int(sequence)
    if number is None:
        return ""
    if mission == "K2":
        half = ""
        if number >= 100:  # high-level products number a campaign's half as 101, 102
            number, half = number // 10, "ab"[min(number % 10, 2) - 1]
        elif number in SPLIT_CAMPAIGNS:
            for index, letter in ((1, "a"), (2, "b")):
                if f"c{number}{index}" in filename:
                    half = letter
        return f"C{number:02d}{half}"
    return f"S{number:04d}"


def _preference(group: tuple[str, float], mission: str) -> tuple[int, float, str]:
    author, exptime = group
    standard = STANDARD_EXPTIME.get(mission, 1800.0)
    distance = abs(math.log(exptime / standard)) if exptime > 0 else math.inf
    return AUTHOR_PRIORITY.get(author.lower(), 9), distance, author


def _in_quarters(row: Mapping[str, Any], quarters: Sequence[int]) -> bool:
    if not quarters:
        return True
    description = str(row.get("description") or "").lower().replace("-", "")
    return any(description.endswith(f"q{q}") for q in quarters)


def _exptime_matches(seconds: float, exptime: str | float | None) -> bool:
    if exptime is None:
        return True
    if isinstance(exptime, float):
        return seconds == exptime
    word = exptime.lower()
    if word == "fast":
        return seconds < 60
    if word == "short":
        return 60 <= seconds < 200
    if word in ("long", "ffi"):
        return seconds >= 200
    return True


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _size(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number > 0 else None
