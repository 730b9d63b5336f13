"""What a signal implies of its companion, were it a planet: can it be one?

From the signal's depth ``D``, its duration ``T`` (the trapezoid's total) and period ``P``
(:mod:`exoextract.science.vetting`), with the star's radius, density and temperature
(:mod:`exoextract.features.star`):

* the radius ratio ``k = sqrt(D)``, the companion's radius in Earth and Jupiter radii;
* the stellar density a central transit of that duration implies, ``3 pi (a/R)^3 / (G
  P^2)`` with ``a/R = P (1 + k) / (pi T)`` (circular orbit, Seager & Mallen-Ornelas 2003):
  an upper bound, since an inclined transit is shorter, so a ``planet_density_ratio`` well
  under 1 is a transit that lasts longer than any planet's around this star can (a blend
  on a larger star, or an eccentric orbit);
* where the star's density is known, ``a/R`` from it and the period, and the impact
  parameter from the duration, ``b^2 = (1 + k)^2 - (pi T a/R / P)^2``: ``b + k`` above 1.04
  is grazing for Kepler's Robovetter, a duration too short for the star on a circular orbit,
  but an eccentric planet's transit is shorter too (Kepler-75 b, e = 0.57, reads 1.05), so
  it is a feature, not a flag (a quarter's trapezoid, its ingress a cadence or two, fixes
  ``b`` no better);
* the equilibrium temperature (zero albedo, heat spread over the planet);
* at phase 0.5 a planet's occultation is at most its reflected light at geometric albedo 1,
  ``k^2 / (a/R)^2``, plus its day side's thermal glow (no heat spread, zero albedo) in the
  mission's band (Kepler 640 nm, TESS 800 nm): ``planet_secondary_max``; ``planet_albedo`` is
  the albedo the measured secondary would need from reflection alone.

A companion larger than about two Jupiter radii and a secondary deeper than a planet can
make are ``fp_stellar_eclipse`` (:mod:`exoextract.features.fp`). A single event has no
period: NaN.
"""

from __future__ import annotations

import math
from typing import Any

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable
from exoextract.features.star import parameters

SCOPE = "signal"
G = 6.674e-11
SECONDS_PER_DAY = 86400.0
SUN_DENSITY = 1410.0  # kg/m^3
EARTH_RADII_PER_SUN = 109.08
JUPITER_RADII_PER_SUN = 9.731
HC_OVER_K = 0.014388  # m K
BAND = {"Kepler": 640e-9, "K2": 640e-9, "TESS": 800e-9}  # effective wavelength, m

COLUMNS = (
    Column("planet_rp_rs", "", "Radius ratio k = sqrt(depth)."),
    Column(
        "planet_impact",
        "",
        "Impact parameter b, from the duration and the star's density (NaN without it).",
    ),
    Column(
        "planet_grazing",
        "",
        "b + k (above 1.04: grazing for Kepler's Robovetter; or an eccentric orbit).",
    ),
    Column(
        "planet_a_rs",
        "",
        "Semi-major axis over the stellar radius: from the star's density and the period "
        "where the star's values are known, else a central transit's, from its duration.",
    ),
    Column(
        "planet_density_transit",
        "solar densities",
        "Stellar density a central transit of this duration implies (an upper bound).",
    ),
    Column(
        "planet_density_ratio",
        "",
        "That density over the star's (from its catalog or header values).",
    ),
    Column("planet_radius", "Earth radii", "The companion's radius (k x the star's)."),
    Column("planet_radius_jupiter", "Jupiter radii", "The same, in Jupiter radii."),
    Column("planet_teq", "K", "Equilibrium temperature (zero albedo, heat spread around)."),
    Column(
        "planet_albedo",
        "",
        "Geometric albedo the secondary eclipse (phase 0.5) would need from reflection alone.",
    ),
    Column(
        "planet_secondary_max",
        "relative flux",
        "The deepest occultation a planet could make: reflection at albedo 1 plus its day "
        "side's thermal glow in the mission's band.",
    ),
    Column(
        "planet_secondary_excess",
        "sigma",
        "(secondary depth - planet_secondary_max) / its uncertainty: above 3, too deep "
        "for a planet.",
    ),
)


def compute(ctx: FeatureContext) -> dict[str, Any]:
    raise NotComputable("the companion is measured at a signal's ephemeris (at)")


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    if ephemeris.single:
        raise NotComputable("a single event: no period to place an orbit")
    results = ctx.results
    depth = float(results.get("vet_depth", math.nan))
    if not depth > 0:
        raise NotComputable("no depth measured at this ephemeris (the vetting did not run)")
    star = parameters(ctx)
    k = math.sqrt(depth)
    period = ephemeris.period
    total = float(results.get("vet_trapezoid_duration", math.nan))
    if not 0 < total < 0.5 * period:
        total = ephemeris.duration
    seconds = period * SECONDS_PER_DAY
    central = period / (math.pi * total) * (1 + k)  # a/R if the transit crossed the middle
    density = 3 * math.pi * central**3 / (G * seconds**2) / SUN_DENSITY
    radius, teff, known = star["star_radius"], star["star_teff"], star["star_density"] > 0
    a_rs, impact = central, math.nan
    if known:  # the star's density fixes the orbit, and then the duration b
        a_rs = (G * star["star_density"] * SUN_DENSITY * seconds**2 / (3 * math.pi)) ** (1 / 3)
        chord = math.pi * total * a_rs / period
        impact = math.sqrt(max((1 + k) ** 2 - chord**2, 0.0))
    out = {
        "planet_rp_rs": k,
        "planet_impact": impact,
        "planet_grazing": impact + k,
        "planet_a_rs": a_rs,
        "planet_density_transit": density,
        "planet_density_ratio": density / star["star_density"] if known else math.nan,
        "planet_radius": k * radius * EARTH_RADII_PER_SUN,
        "planet_radius_jupiter": k * radius * JUPITER_RADII_PER_SUN,
        "planet_teq": teff * math.sqrt(1.0 / (2.0 * a_rs)) if a_rs > 0 else math.nan,
    }
    out.update(_occultation(results, k, a_rs, teff, ctx.mission))
    return out


def _occultation(
    results: dict[str, Any], k: float, a_rs: float, teff: float, mission: str | None
) -> dict[str, float]:
    secondary = float(results.get("vet_secondary_depth", math.nan))
    snr = float(results.get("vet_secondary_snr", math.nan))
    nan = math.nan
    if not a_rs > 0:
        return {"planet_albedo": nan, "planet_secondary_max": nan, "planet_secondary_excess": nan}
    reflected = k**2 / a_rs**2
    thermal = nan
    wavelength = BAND.get(mission or "", BAND["Kepler"])
    if teff > 0:
        day = teff * math.sqrt(1.0 / a_rs) * (2.0 / 3.0) ** 0.25
        thermal = k**2 * _planck_ratio(day, teff, wavelength)
    largest = reflected + (thermal if math.isfinite(thermal) else 0.0)
    error = secondary / snr if snr and math.isfinite(snr) and snr != 0 else nan
    return {
        "planet_albedo": secondary / reflected if reflected > 0 else nan,
        "planet_secondary_max": largest,
        "planet_secondary_excess": (secondary - largest) / abs(error) if error else nan,
    }


def _planck_ratio(cool: float, hot: float, wavelength: float) -> float:
    """B_lambda(cool) / B_lambda(hot) at one wavelength."""
    x_cool, x_hot = HC_OVER_K / (wavelength * cool), HC_OVER_K / (wavelength * hot)
    if x_cool > 700:
        return 0.0
    return math.expm1(x_hot) / math.expm1(x_cool)
