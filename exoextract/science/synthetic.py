"""Deterministic synthetic stars with known signals, and archive-format FITS files of them.

A star is fully determined by its :class:`StarSpec`; :func:`spec_for` maps an id to a spec
(the kind cycles with the id: ``id % 4`` = 0 planet, 1 eclipsing binary, 2 variable, 3 quiet)
so the same id always gives the same light curve. Used by the ``synthetic`` source, by
``exoextract demo`` (which writes the stars as Kepler/TESS files and runs the local source),
by the tests, and by the validation benchmark.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from exoextract.lightcurves.lightcurve import LightCurve, stitch

KINDS = ("planet", "eb", "variable", "quiet")  # cycled by id; "spotted", "blend" by hand
SPOT_GROUPS = 3
KEPLER_CADENCE = 0.0204335  # days: 29.4 min long cadence
TESS_CADENCE = 2.0 / 1440.0  # days: 2-min cadence
KEPLER_QUARTER_DAYS = 89.0
TESS_SECTOR_DAYS = 27.4
# Quality bits that lightkurve's "default" mask drops (Kepler 1 = attitude tweak,
# TESS 32 = reaction wheel desaturation): flagged cadences carry corrupted flux.
FLAGGED_BIT = {"Kepler": 1, "K2": 1, "TESS": 32}


@dataclass(frozen=True)
class StarSpec:
    """Everything that defines a synthetic star; times in days, depths as fractions."""

    number: int
    mission: str = "TESS"
    kind: str = "planet"
    period: float = 3.0
    t0: float = 1.0  # days after the start of the first segment
    depth: float = 0.005
    duration: float = 0.12
    secondary_depth: float = 0.0
    noise: float = 0.0008  # per-cadence white noise (fraction)
    red_noise: float = 0.3  # correlated noise over ~25 cadences, as a fraction of `noise`
    var_amplitude: float = 0.0
    var_period: float = 0.0
    spot_amplitude: float = 0.0  # starspots: dimming of the largest spot group (fraction)
    spot_period: float = 0.0  # rotation period, days
    spot_lifetime: float = 30.0  # days over which spot groups grow, decay and drift
    segments: int = 1
    first_segment: int = 1
    segment_step: int = 1  # 13 for TESS sectors a year apart
    seed: int = 0
    # more transit trains on the same star: (period, t0 after the start, depth, duration);
    # a period longer than the data is a single event
    companions: tuple[tuple[float, float, float, float], ...] = ()
    # where the dimming light comes from, in pixels from the target along the column: 0 for
    # the target itself; a "blend" (a background eclipsing binary diluted to ``depth``, its
    # secondary to ``secondary_depth``) at 2 pixels unless set: the centroid moves with it
    blend_offset: float = 0.0
    centroid_noise: float = 2e-4  # pixels per cadence
    position: tuple[float, float] | None = None  # (ra, dec) degrees; None: drawn from the id
    magnitude: float | None = None  # None: drawn from the id

    @property
    def source_offset(self) -> float:
        """Pixels between the target and the source of its dips (a blend's default: 2)."""
        return self.blend_offset or (2.0 if self.kind == "blend" else 0.0)

    @property
    def crowding(self) -> float:
        """CROWDSAP: the share of the aperture's flux that is the target's (a blend's
        binary gives 5 % of it)."""
        return 0.95 if self.kind == "blend" else 1.0

    @property
    def has_transit(self) -> bool:
        return self.kind in ("planet", "eb", "blend") and self.depth > 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def spec_for(number: int, mission: str | None = None) -> StarSpec:
    """The deterministic star behind an id; the mission defaults by id (even: TESS)."""
    mission = mission or "TESS"
    rng = np.random.default_rng([number, KINDS.index("planet"), len(mission)])
    kind = KINDS[number % 4]
    tess = mission == "TESS"
    span = TESS_SECTOR_DAYS if tess else KEPLER_QUARTER_DAYS
    noise = float(rng.uniform(4e-4, 1.2e-3) if tess else rng.uniform(8e-5, 2.5e-4))
    base = StarSpec(
        number=number,
        mission=mission,
        kind=kind,
        noise=noise,
        seed=int(rng.integers(0, 2**31)),
        first_segment=int(rng.integers(1, 10)),
    )
    if kind == "planet":
        period = float(np.exp(rng.uniform(np.log(0.8), np.log(span / 3.2))))
        duration = _duration(period) * float(rng.uniform(0.7, 1.1))
        depth = float(rng.uniform(0.003, 0.015) if tess else rng.uniform(0.0008, 0.004))
        return replace(
            base, period=period, duration=duration, depth=depth, t0=float(rng.uniform(0.2, period))
        )
    if kind == "eb":
        period = float(np.exp(rng.uniform(np.log(0.8), np.log(span / 4))))
        depth = float(rng.uniform(0.05, 0.3))
        return replace(
            base,
            period=period,
            depth=depth,
            duration=_duration(period) * 1.3,
            secondary_depth=depth * float(rng.uniform(0.2, 0.7)),
            t0=float(rng.uniform(0.2, period)),
        )
    if kind == "variable":
        return replace(
            base,
            depth=0.0,
            var_amplitude=float(rng.uniform(0.002, 0.02)),
            var_period=float(rng.uniform(0.4, 8.0)),
        )
    return replace(base, depth=0.0)


def _duration(period: float) -> float:
    """Central transit duration of a Sun-like star, days (13 h at one year)."""
    return 13.0 / 24.0 * (period / 365.25) ** (1.0 / 3.0)


def segment_times(spec: StarSpec, segment: int) -> np.ndarray:
    """Cadence times of one quarter/sector in the mission's own time system."""
    if spec.mission == "TESS":
        start = 1325.3 + TESS_SECTOR_DAYS * (segment - 1)  # BTJD
        t = start + np.arange(0.0, TESS_SECTOR_DAYS, TESS_CADENCE)
        gap = (t > start + 13.2) & (t < start + 14.2)  # the orbit's data downlink
        return t[~gap]
    start = 131.5 + 93.0 * (segment - 1)  # BKJD
    return start + np.arange(0.0, KEPLER_QUARTER_DAYS, KEPLER_CADENCE)


def transit_model(
    t: np.ndarray,
    period: float,
    t0: float,
    depth: float,
    duration: float,
    ingress_fraction: float = 0.15,
) -> np.ndarray:
    """Trapezoid dips (1 - depth at the bottom); ingress is a fraction of the duration."""
    if depth <= 0 or period <= 0:
        return np.ones_like(t)
    phase = np.abs((t - t0 + 0.5 * period) % period - 0.5 * period)
    half = 0.5 * duration
    ramp = max(ingress_fraction * duration, 1e-6)
    shape = np.clip((half - phase) / ramp, 0.0, 1.0)
    return 1.0 - depth * shape


def flux_model(spec: StarSpec, t: np.ndarray, origin: float) -> np.ndarray:
    """Noise-free relative flux of the star at times t (origin = start of first segment)."""
    t0 = origin + spec.t0
    model = np.ones_like(t)
    if spec.kind == "planet":
        model *= transit_model(t, spec.period, t0, spec.depth, spec.duration)
    elif spec.kind in ("eb", "blend"):
        model *= transit_model(t, spec.period, t0, spec.depth, spec.duration, 0.5)
        model *= transit_model(
            t, spec.period, t0 + 0.5 * spec.period, spec.secondary_depth, spec.duration, 0.5
        )
    for period, start, depth, duration in spec.companions:
        model *= transit_model(t, period, origin + start, depth, duration)
    if spec.var_amplitude > 0:
        phase = 2 * np.pi * (t - origin) / spec.var_period
        model *= 1 + spec.var_amplitude * (np.sin(phase) + 0.3 * np.sin(2 * phase + 1.0))
    if spec.spot_amplitude > 0 and spec.spot_period > 0:
        model *= spot_model(spec, t - origin)
    return model


def spot_model(spec: StarSpec, t: np.ndarray) -> np.ndarray:
    """Rotational modulation by spot groups that evolve: each group dims the star while it
    faces us (a clipped cosine, so the signal is not a pure sinusoid), rotates at its own
    latitude's period (differential rotation, within 3 %), and grows, decays and drifts in
    longitude over ``spot_lifetime`` days, so amplitude and phase change across a
    multi-year light curve. Deterministic in the spec's seed."""
    rng = np.random.default_rng([spec.seed, 7])
    out = np.ones_like(t)
    for group in range(SPOT_GROUPS):
        period = spec.spot_period * (1 + float(rng.uniform(-0.03, 0.03)))
        size = spec.spot_amplitude * (1.0 if group == 0 else float(rng.uniform(0.3, 0.8)))
        growth = _smooth(rng, t, spec.spot_lifetime)  # in [-1, 1]
        drift = _smooth(rng, t, spec.spot_lifetime)
        amplitude = size * np.clip(0.55 + 0.45 * growth, 0.05, 1.0)
        longitude = 2 * np.pi * (t / period + float(rng.uniform(0, 1))) + 1.5 * drift
        out -= amplitude * np.clip(np.cos(longitude), 0.0, None) ** 1.5
    return out


def _smooth(rng: np.random.Generator, t: np.ndarray, timescale: float) -> np.ndarray:
    """A smooth random curve in [-1, 1] that changes over ``timescale`` days."""
    frequencies = rng.uniform(0.2, 1.0, 6) / max(timescale, 1e-3)
    phases = rng.uniform(0, 2 * np.pi, 6)
    curve = np.sum(np.cos(2 * np.pi * np.outer(t, frequencies) + phases), axis=1)
    return np.asarray(curve / 6.0 * np.sqrt(2.0), dtype=float).clip(-1.0, 1.0)


def centroid_model(spec: StarSpec, t: np.ndarray, origin: float, segment: int) -> np.ndarray:
    """(column, row) of the flux-weighted centroid, pixels: each segment's own place on the
    detector, a slow pointing drift, white noise, and the shift of the dimming source's
    light (``-offset x depth(t)`` along the column; nothing for an on-target transit)."""
    rng = np.random.default_rng([spec.seed, 11, segment])
    base_col, base_row = 500.0 + 37.0 * (segment % 4), 300.0 + 23.0 * (segment % 4)
    span = max(float(t[-1] - t[0]), 1.0)
    drift = 5e-3 * np.sin(2 * np.pi * (t - t[0]) / (2.0 * span) + segment)
    col = base_col + drift + rng.normal(0, spec.centroid_noise, t.size)
    row = base_row - 0.5 * drift + rng.normal(0, spec.centroid_noise, t.size)
    if spec.source_offset:
        dip = 1.0 - flux_model(replace(spec, var_amplitude=0.0, spot_amplitude=0.0), t, origin)
        col = col - spec.source_offset * dip
    return np.vstack([col, row])


def make_segments(spec: StarSpec) -> list[dict[str, np.ndarray | int]]:
    """Per quarter/sector arrays: time, flux (e-/s), flux_err, quality, centroid (column and
    row, pixels), segment number."""
    rng = np.random.default_rng(spec.seed)
    origin = float(segment_times(spec, spec.first_segment)[0])
    level = float(rng.uniform(2e4, 2e5))
    out: list[dict[str, np.ndarray | int]] = []
    for index in range(spec.segments):
        segment = spec.first_segment + index * spec.segment_step
        t = segment_times(spec, segment)
        clean = flux_model(spec, t, origin)
        # slow instrumental drift and red noise that flattening has to remove
        drift = 1 + 2e-3 * np.sin(2 * np.pi * (t - t[0]) / (3.0 * (t[-1] - t[0]) + 1.0))
        red = np.convolve(
            rng.normal(0, spec.noise * spec.red_noise, t.size), np.ones(25) / 5, "same"
        )
        flux = level * clean * drift * (1 + red + rng.normal(0, spec.noise, t.size))
        quality = np.zeros(t.size, dtype=np.int32)
        flagged = rng.choice(t.size, size=max(1, t.size // 300), replace=False)
        quality[flagged] = FLAGGED_BIT.get(spec.mission, 1)
        flux[flagged] *= 1 + rng.uniform(0.02, 0.1, flagged.size)  # flagged cadences are bad
        flux[rng.choice(t.size, size=max(1, t.size // 1000), replace=False)] = np.nan
        out.append(
            {
                "time": t,
                "flux": flux,
                "flux_err": np.full(t.size, level * spec.noise),
                "quality": quality,
                "centroid": centroid_model(spec, t, origin, segment),
                "segment": segment,
            }
        )
    return out


def make_lightcurve(spec: StarSpec) -> LightCurve:
    """The star as one stitched light curve, its flagged cadences left out (no files)."""
    pieces = []
    for seg in make_segments(spec):
        good = np.asarray(seg["quality"]) == 0
        centroid = np.asarray(seg["centroid"])
        pieces.append(
            LightCurve(
                time=np.asarray(seg["time"], dtype=float)[good],
                flux=np.asarray(seg["flux"], dtype=float)[good],
                flux_err=np.asarray(seg["flux_err"], dtype=float)[good],
                centroid_col=centroid[0][good],
                centroid_row=centroid[1][good],
                meta={"MISSION": spec.mission, "TARGETID": spec.number, "SYNTHETIC": True},
            )
        )
    return stitch(pieces)


def star_header(spec: StarSpec) -> dict[str, float]:
    """The primary header's star: Sun-like (the synthetic transits' durations are a Sun's),
    at a position and magnitude drawn from its number."""
    rng = np.random.default_rng([spec.number, 3])
    band = "TESSMAG" if spec.mission == "TESS" else "KEPMAG"
    magnitude = round(float(rng.uniform(10.0, 15.0)), 3)
    ra, dec = round(float(rng.uniform(280.0, 300.0)), 6), round(float(rng.uniform(36.0, 52.0)), 6)
    return {
        "TEFF": 5777.0,
        "LOGG": 4.438,
        "RADIUS": 1.0,
        "FEH": 0.0,
        band: spec.magnitude if spec.magnitude is not None else magnitude,
        "RA_OBJ": spec.position[0] if spec.position else ra,
        "DEC_OBJ": spec.position[1] if spec.position else dec,
    }


def archive_name(spec: StarSpec, segment: int) -> str:
    """The archive's file name for one quarter/sector of this star."""
    if spec.mission == "TESS":
        stamp = 2018206045859 + 10_000_000 * segment
        return f"tess{stamp}-s{segment:04d}-{spec.number:016d}-0120-s_lc.fits"
    if spec.mission == "K2":
        return f"ktwo{spec.number:09d}-c{segment:02d}_llc.fits"
    stamp = 2009131105131 + 10_000_000 * segment
    return f"kplr{spec.number:09d}-{stamp}_llc.fits"


def archive_folder(root: Path, spec: StarSpec) -> Path:
    """Where the archive keeps it: kepler/0114/011442793/, tess/s0002/, k2/c05/."""
    if spec.mission == "Kepler":
        ident = f"{spec.number:09d}"
        return root / "kepler" / ident[:4] / ident
    if spec.mission == "K2":
        return root / "k2" / f"{spec.number:09d}"
    return root / "tess" / f"{spec.number:016d}"


def write_fits(spec: StarSpec, root: str | Path) -> list[Path]:
    """Write the star as archive-format light-curve files; returns their paths."""
    from astropy.io import fits

    root = Path(root)
    folder = archive_folder(root, spec)
    folder.mkdir(parents=True, exist_ok=True)
    tess = spec.mission == "TESS"
    paths = []
    for seg in make_segments(spec):
        segment = int(np.asarray(seg["segment"]))
        primary = fits.PrimaryHDU()
        header = primary.header
        header["TELESCOP"] = "TESS" if tess else "Kepler"
        header["MISSION"] = spec.mission
        header["CREATOR"] = "exoextract synthetic LightCurveExporter"
        header["ORIGIN"] = "exoextract (synthetic star, not mission data)"
        header["OBJECT"] = (
            f"{'TIC' if tess else ('EPIC' if spec.mission == 'K2' else 'KIC')} {spec.number}"
        )
        header.update(star_header(spec))
        if tess:
            header["TICID"] = spec.number
            header["SECTOR"] = segment
        elif spec.mission == "K2":
            header["KEPLERID"] = spec.number
            header["CAMPAIGN"] = segment
        else:
            header["KEPLERID"] = spec.number
            header["QUARTER"] = segment
        time = np.asarray(seg["time"])
        flux = np.asarray(seg["flux"], dtype=np.float32)
        err = np.asarray(seg["flux_err"], dtype=np.float32)
        quality = np.asarray(seg["quality"], dtype=np.int32)
        cadence = np.arange(time.size, dtype=np.int32) + 1000 * segment
        columns = [
            fits.Column("TIME", "D", "d", array=time),
            fits.Column("TIMECORR", "E", "d", array=np.zeros(time.size, np.float32)),
            fits.Column("CADENCENO", "J", array=cadence),
            fits.Column("SAP_FLUX", "E", "e-/s", array=flux),
            fits.Column("SAP_FLUX_ERR", "E", "e-/s", array=err),
            fits.Column("PDCSAP_FLUX", "E", "e-/s", array=flux),
            fits.Column("PDCSAP_FLUX_ERR", "E", "e-/s", array=err),
            fits.Column("QUALITY" if tess else "SAP_QUALITY", "J", array=quality),
            fits.Column("MOM_CENTR1", "D", "pixel", array=np.asarray(seg["centroid"])[0]),
            fits.Column("MOM_CENTR2", "D", "pixel", array=np.asarray(seg["centroid"])[1]),
        ]
        table = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
        th = table.header
        th["TIMEREF"] = "SOLARSYSTEM"
        th["TIMESYS"] = "TDB"
        th["BJDREFI"] = 2457000 if tess else 2454833
        th["BJDREFF"] = 0.0
        th["TIMEUNIT"] = "d"
        th["TIMEDEL"] = TESS_CADENCE if tess else KEPLER_CADENCE
        th["TSTART"] = float(time[0])
        th["TSTOP"] = float(time[-1])
        th["CROWDSAP"] = spec.crowding
        th["FLFRCSAP"] = 0.9
        aperture = np.full((5, 5), 1, dtype=np.int32)
        aperture[1:4, 1:4] |= 2  # nine pixels summed
        image = fits.ImageHDU(aperture, name="APERTURE")
        path = folder / archive_name(spec, segment)
        fits.HDUList([primary, table, image]).writeto(path, overwrite=True)
        paths.append(path)
    return paths
