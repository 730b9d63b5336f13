"""What a star's light-curve files say beyond the flux: the star, the aperture, every flag.

Kepler, K2 and TESS SPOC files carry the star's catalog values in their primary header
(``TEFF``, ``LOGG``, ``RADIUS``, ``FEH``, the magnitude, ``RA_OBJ``, ``DEC_OBJ``), the
crowding of each quarter's or sector's aperture in the light-curve header (``CROWDSAP``: the
share of the aperture's flux that is the target's; ``FLFRCSAP``: the share of the target's
flux the aperture holds), the aperture itself (``APERTURE``: the pixels summed), and a
quality flag for every cadence (``QUALITY`` or ``SAP_QUALITY``), including the cadences the
quality mask drops before anything else sees them. Read here with astropy, once per file,
beside lightkurve's reading of the flux (:mod:`exoextract.lightcurves.read`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# arcseconds per pixel (Kepler and K2 share the photometer; TESS's cameras are coarser)
PLATE_SCALE = {"Kepler": 3.98, "K2": 3.98, "TESS": 21.0}
HEADER_KEYS = ("TEFF", "LOGG", "RADIUS", "FEH", "KEPMAG", "TESSMAG", "RA_OBJ", "DEC_OBJ")
APERTURE_BIT = 2  # of the APERTURE image: the pixel is in the optimal (summed) aperture


@dataclass(frozen=True)
class Segment:
    """One file (a quarter, campaign or sector): its time span and its aperture."""

    start: float
    end: float
    crowding: float = math.nan  # CROWDSAP
    flux_fraction: float = math.nan  # FLFRCSAP
    aperture_pixels: int = 0


@dataclass(frozen=True)
class FileFacts:
    """The star's header values (first file that has each), its segments, and the time and
    quality flag of every cadence of its files (before any mask)."""

    mission: str | None = None
    header: Mapping[str, float] = field(default_factory=dict)
    segments: tuple[Segment, ...] = ()
    quality_time: np.ndarray = field(default_factory=lambda: np.array([]))
    quality: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))

    @property
    def plate_scale(self) -> float:
        """Arcseconds per pixel (NaN for an unknown mission)."""
        return PLATE_SCALE.get(self.mission or "", math.nan)

    def segment_at(self, time: float) -> Segment | None:
        for segment in self.segments:
            if segment.start - 0.5 <= time <= segment.end + 0.5:
                return segment
        return None

    def crowding(self) -> float:
        """The median crowding of the segments that say it (NaN if none does)."""
        values = [s.crowding for s in self.segments if math.isfinite(s.crowding)]
        return float(np.median(values)) if values else math.nan


FilePiece = tuple[dict[str, float], "Segment | None", np.ndarray, np.ndarray]


def file_facts(path: str | Path, loaded: Any = None) -> FilePiece | None:
    """One file's part of the facts (None where it cannot be read for them); ``loaded``:
    the file as :func:`~exoextract.lightcurves.cache.loaded_fits` read it, if it was."""
    from exoextract.lightcurves.cache import loaded_fits

    hdul = loaded if loaded is not None else loaded_fits(path)[1]
    if hdul is None:
        return None
    try:
        return _one_file(hdul)
    except Exception:  # astropy's errors on odd files are many; the flux reader judges
        return None


def combine_facts(pieces: Sequence[FilePiece | None], mission: str | None) -> FileFacts:
    """The star's facts from its files' parts (:func:`file_facts`), in any order."""
    header: dict[str, float] = {}
    segments: list[Segment] = []
    times: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    for found in pieces:
        if found is None:
            continue
        for key, value in found[0].items():
            header.setdefault(key, value)
        if found[1] is not None:
            segments.append(found[1])
        times.append(found[2])
        flags.append(found[3])
    time = np.concatenate(times) if times else np.array([])
    quality = np.concatenate(flags) if flags else np.array([], dtype=np.int64)
    order = np.argsort(time, kind="stable")
    return FileFacts(mission, header, tuple(segments), time[order], quality[order])


def _one_file(hdul: Any) -> tuple[dict[str, float], Segment | None, np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        primary = hdul[0].header
        header = {k: v for k in HEADER_KEYS if (v := _number(primary.get(k))) is not None}
        table = hdul[1]
        names = {n.upper() for n in table.columns.names}
        time_name = "TIME" if "TIME" in names else ("T" if "T" in names else None)
        if time_name is None:
            return header, None, np.array([]), np.array([], dtype=np.int64)
        time = np.asarray(table.data[time_name], dtype=float)
        quality_name = next((n for n in ("QUALITY", "SAP_QUALITY") if n in names), None)
        quality = (
            np.asarray(table.data[quality_name], dtype=np.int64)
            if quality_name
            else np.zeros(time.size, dtype=np.int64)
        )
        good = np.isfinite(time)
        time, quality = time[good], quality[good]
        crowding = _number(table.header.get("CROWDSAP"))
        fraction = _number(table.header.get("FLFRCSAP"))
        pixels = 0
        if len(hdul) > 2 and hdul[2].name == "APERTURE" and hdul[2].data is not None:
            pixels = int(np.count_nonzero(np.asarray(hdul[2].data, dtype=np.int64) & APERTURE_BIT))
    segment = None
    if time.size:
        segment = Segment(
            float(time.min()),
            float(time.max()),
            math.nan if crowding is None else crowding,
            math.nan if fraction is None else fraction,
            pixels,
        )
    return header, segment, time, quality


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
