"""Light-curve files recognised by the archive's own names, official and high-level.

Used by the ``local`` source (and ``--offline``) to find a star's files in any folder, and
to tell which pipeline and cadence each one is, so that a folder holding, say, SPOC and QLP
files of the same sector gives one light curve per sector, as the archive source does.
Kepler names carry a timestamp, not the quarter: the quarter is read from the header only
when a star has files of more than one kind (:func:`segment_from_header`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TESS_SPOC = r"^tess\d+-s(\d{4})-(\d{16})-\d+"
_TABLE: tuple[tuple[str, str, str, int, int, int | None, str], ...] = (
    # (name pattern, mission, author, exposure s, id group, segment group, segment letter)
    (r"^kplr(\d{9})-\d+_llc\.fits(\.gz)?$", "Kepler", "Kepler", 1800, 1, None, "Q"),
    (r"^kplr(\d{9})-\d+_slc\.fits(\.gz)?$", "Kepler", "Kepler", 60, 1, None, "Q"),
    (r"^ktwo(\d{9})-c(\d+)_llc\.fits(\.gz)?$", "K2", "K2", 1800, 1, 2, "C"),
    (r"^ktwo(\d{9})-c(\d+)_slc\.fits(\.gz)?$", "K2", "K2", 60, 1, 2, "C"),
    (r"^hlsp_k2sff_k2_lightcurve_(\d{9})-c(\d+)_kepler_v[\d.]+_llc\.fits$", "K2", "K2SFF",
     1800, 1, 2, "C"),
    (r"^hlsp_everest_k2_llc_(\d{9})-c(\d+)_kepler_v[\d.]+_lc\.fits$", "K2", "EVEREST",
     1800, 1, 2, "C"),
    (r"^hlsp_k2sc_k2_llc_(\d{9})-c(\d+)_kepler_v[\d.]+_lc\.fits$", "K2", "K2SC", 1800, 1, 2,
     "C"),
    (r"^hlsp_qlp_tess_ffi_s(\d{4})-(\d{16})_tess_v[\d.]+_llc\.fits$", "TESS", "QLP", 1800, 2,
     1, "S"),
    (r"^hlsp_tess-spoc_tess_phot_(\d{16})-s(\d{4})_tess_v[\d.]+_lc\.fits$", "TESS",
     "TESS-SPOC", 600, 1, 2, "S"),
    (r"^hlsp_tess-data-alerts_tess_phot_(\d{11})-s(\d{2})_tess_v[\d.]+_lc\.fits$", "TESS",
     "TESS-DATA-ALERTS", 120, 1, 2, "S"),
    (_TESS_SPOC + r"-a_fast-lc\.fits(\.gz)?$", "TESS", "SPOC", 20, 2, 1, "S"),
    (r"^.*-s(\d{4})-(\d{16})-.*_lc\.fits(\.gz)?$", "TESS", "SPOC", 120, 2, 1, "S"),
    (r"^.*-(\d{16})-.*_lc\.fits(\.gz)?$", "TESS", "SPOC", 120, 1, None, "S"),
)  # fmt: skip
_NAMES = tuple(
    (re.compile(pattern, re.I), mission, author, exptime, ids, segments, letter)
    for pattern, mission, author, exptime, ids, segments, letter in _TABLE
)


@dataclass(frozen=True)
class FileName:
    """What a light-curve file's name says: whose star, which pipeline, which segment."""

    mission: str
    number: int
    author: str
    exptime: float
    segment: str  # "C01", "S0024"; "" where the name does not carry it (Kepler)


def parse(name: str) -> FileName | None:
    """The file's mission, star, author, cadence and segment, or None if not a light curve
    named as the archive names them (hidden files, target pixel files, anything else)."""
    if name.startswith("."):
        return None
    for pattern, mission, author, exptime, id_group, segment_group, letter in _NAMES:
        match = pattern.match(name)
        if match:
            segment = ""
            if segment_group is not None:
                width = 4 if letter == "S" else 2
                segment = f"{letter}{int(match.group(segment_group)):0{width}d}"
            number = int(match.group(id_group))
            return FileName(mission, number, author, float(exptime), segment)
    return None


def segment_from_header(path: str | Path) -> str:
    """The quarter, campaign or sector a file's header names ("" if none)."""
    from astropy.io import fits

    try:
        header = fits.getheader(path)
    except Exception:  # an unreadable file says so when it is read
        return ""
    for key, letter, width in (("QUARTER", "Q", 2), ("CAMPAIGN", "C", 2), ("SECTOR", "S", 4)):
        value = header.get(key)
        if isinstance(value, int):
            return f"{letter}{value:0{width}d}"
    return ""
