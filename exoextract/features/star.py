"""The star: its temperature, gravity, radius, mass, density, metallicity, brightness,
position and the crowding of its apertures.

Catalog columns win where the input has them (the KOI table's ``koi_steff``, ``koi_slogg``,
``koi_srad``, ``koi_smass``, ``koi_smet``, ``koi_kepmag``, ``ra``, ``dec``; the TOI table's
``st_teff``, ``st_logg``, ``st_rad``, ``st_mass``, ``st_met``, ``st_tmag``; or plain
``teff``, ``logg``, ``radius``, ``mass``, ``feh``, ``mag``), else the files' headers (the
input catalog the mission pipeline used: ``TEFF``, ``LOGG``, ``RADIUS``, ``FEH``, ``KEPMAG``
or ``TESSMAG``, ``RA_OBJ``, ``DEC_OBJ``); ``star_source`` names which gave what. The mass
comes from the gravity and the radius where no catalog gives it, the density from the mass
and the radius. ``star_crowding`` is the median ``CROWDSAP`` of the files: the share of the
aperture's light that is the target's (1: no other star in it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from exoextract.features import Column, FeatureContext, NotComputable

SCOPE = "star"
G_CGS = 6.674e-8
R_SUN_CM = 6.957e10
M_SUN_G = 1.989e33
# parameter -> (catalog columns, in order; header keys, in order)
SOURCES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "teff": (("koi_steff", "st_teff", "teff"), ("TEFF",)),
    "logg": (("koi_slogg", "st_logg", "logg"), ("LOGG",)),
    "radius": (("koi_srad", "st_rad", "radius", "rstar"), ("RADIUS",)),
    "mass": (("koi_smass", "st_mass", "mass", "mstar"), ()),
    "feh": (("koi_smet", "st_met", "feh"), ("FEH",)),
    "mag": (("koi_kepmag", "st_tmag", "kepmag", "tmag", "mag"), ("KEPMAG", "TESSMAG")),
    "ra": (("ra",), ("RA_OBJ",)),
    "dec": (("dec",), ("DEC_OBJ",)),
}
COLUMNS = (
    Column("star_teff", "K", "Effective temperature."),
    Column("star_logg", "log10(cm/s^2)", "Surface gravity."),
    Column("star_radius", "solar radii", "Radius."),
    Column("star_mass", "solar masses", "Mass (from the gravity and radius if not given)."),
    Column("star_density", "solar densities", "Mean density, from the mass and radius."),
    Column("star_feh", "dex", "Metallicity [Fe/H]."),
    Column("star_mag", "mag", "Kepler or TESS magnitude."),
    Column("star_ra", "deg", "Right ascension."),
    Column("star_dec", "deg", "Declination."),
    Column(
        "star_crowding",
        "fraction",
        "Median CROWDSAP of the files: the share of the aperture's flux that is the target's.",
    ),
    Column(
        "star_source",
        "text",
        "Where each value came from: 'catalog: teff, logg, ...; headers: ...'.",
        kind="text",
    ),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    found = parameters(ctx)
    if not any(math.isfinite(v) for k, v in found.items() if isinstance(v, float)):
        raise NotComputable("neither the input nor the files' headers give the star's values")
    return found


def parameters(ctx: FeatureContext) -> dict[str, Any]:
    """The star's columns (computed once a star, kept for its signals' searches)."""
    if "star" in ctx.shared:
        return dict(ctx.shared["star"])
    rows = [c.row for c in ctx.shared.get("candidates") or ()] or [ctx.row]
    header = dict(getattr(ctx.facts, "header", {}) or {})
    values: dict[str, float] = {}
    origin: dict[str, list[str]] = {"catalog": [], "headers": []}
    for name, (columns, keys) in SOURCES.items():
        value = _from_rows(rows, columns)
        where = "catalog"
        if value is None:
            value = next((float(header[k]) for k in keys if k in header), None)
            where = "headers"
        if value is not None:
            values[name] = value
            origin[where].append(name)
    radius, logg = values.get("radius", math.nan), values.get("logg", math.nan)
    mass = values.get("mass", math.nan)
    if not math.isfinite(mass) and radius > 0 and math.isfinite(logg):
        mass = 10**logg * (radius * R_SUN_CM) ** 2 / G_CGS / M_SUN_G
    out: dict[str, Any] = {f"star_{name}": values.get(name, math.nan) for name in SOURCES}
    out["star_mass"] = mass
    out["star_density"] = mass / radius**3 if radius > 0 and mass > 0 else math.nan
    crowding = ctx.facts.crowding() if ctx.facts is not None else math.nan
    out["star_crowding"] = crowding
    out["star_source"] = "; ".join(f"{k}: {', '.join(v)}" for k, v in origin.items() if v)
    ctx.shared["star"] = dict(out)
    return out


def _from_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> float | None:
    """The first finite value of ``columns`` (any case) in the star's input rows."""
    for row in rows:
        lowered = {str(k).lower(): v for k, v in row.items()}
        for column in columns:
            try:
                value = float(lowered[column])
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(value):
                return value
    return None
