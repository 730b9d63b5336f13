"""Where the light comes from and whether the companion can be a planet: centroids, quality
at the transits, the star, the companion's size and occultation, the DR25-style flags, and
ephemeris matches across a run; on generated stars and on real Kepler quarters of KOI
stars with their DR25 dispositions and of stars with no KOI."""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from exoextract.run.runner import start_run
from exoextract.science.synthetic import StarSpec, make_lightcurve, write_fits
from exoextract.settings import load_settings
from exoextract.star.extract import extract
from exoextract.star.task import Candidate, Task
from exoextract.targets import read_targets

from conftest import fast_settings, row_of, star_context

PLANET = StarSpec(number=77, mission="Kepler", kind="planet", period=4.3, t0=1.2, depth=8e-4,
                  duration=0.13, noise=1.5e-4, seed=77)  # fmt: skip
BLEND = replace(PLANET, kind="blend", secondary_depth=0.0)  # a background binary, 2 px away


def local_rows(tmp_path: Path, *specs: StarSpec, catalog: str | None = None) -> Any:
    """The rows of stars written as archive files and read back (headers, flags)."""
    folder = tmp_path / "data"
    for spec in specs:
        write_fits(spec, folder)
    out = {}
    for spec in specs:
        paths = tuple(str(p) for p in sorted(folder.rglob(f"*{spec.number}*.fits")))
        task = Task(str(spec.number), f"KIC {spec.number}", spec.mission, spec.number,
                    load_settings(None, {}), (Candidate("star"),), paths=paths)  # fmt: skip
        rows, _, signals = extract(task)
        out[spec.number] = (rows["star"], signals)
    return out


def test_a_blends_centroid_moves_and_a_planets_does_not() -> None:
    planet = row_of(star_context(make_lightcurve(PLANET)))
    blend = row_of(star_context(make_lightcurve(BLEND)))
    assert planet["fp_centroid_offset"] == 0.0 and planet["vet_transit_like"] == 1.0
    assert planet["centroid_shift_sigma"] < 3
    assert blend["fp_centroid_offset"] == 1.0 and blend["vet_transit_like"] == 0.0
    # the binary is 2 pixels (8 arcsec on Kepler) from the target along the column
    assert blend["centroid_offset"] == pytest.approx(2 * 3.98, rel=0.15)
    assert blend["centroid_shift_col"] < 0 and blend["centroid_offset_sigma"] > 10
    assert blend["vet_reason"].startswith("false positive, centroid offset: the source is")


@pytest.mark.parametrize(
    ("period", "duration"),
    [(3.3, 0.12), (0.6, 0.06), (0.3, 0.05), (41.0, 0.3), (math.nan, 0.2)],
    ids=["hot-jupiter", "short", "window-over-half-the-period", "long", "single-event"],
)
def test_the_centroid_null_reads_only_points_near_its_transits_and_sums_the_same(
    period: float, duration: float
) -> None:
    """The hundred null trials read only the points within three durations of their
    transits (a wrapped phase window; the whole series where it covers half the period):
    the same shifts, bit for bit, as reading every point (the code before, 0.1 s a signal
    on four years)."""
    from exoextract.features import Ephemeris
    from exoextract.features.centroid import _null, _shifts

    rng = np.random.default_rng(7)
    time = np.sort(rng.uniform(0.0, 90.0, 20_000))
    time = time[(time < 40.0) | (time > 44.0)]  # a gap, as between orbits
    series = tuple(rng.normal(size=time.size) for _ in range(3))
    ephemeris = Ephemeris(period, 12.345, duration, "tls")
    fast = _null(time, series, ephemeris)
    calls: list[float] = []
    from exoextract.features import centroid

    def every_point(t: np.ndarray, s: tuple[np.ndarray, ...], e: Ephemeris, t0: float) -> Any:
        calls.append(t0)
        return _shifts(time, series, e, t0)  # all points, whatever it was handed

    original = centroid._shifts
    centroid._shifts = every_point
    try:
        slow = _null(time, series, ephemeris)
    finally:
        centroid._shifts = original
    assert len(calls) == 100 and fast.shape == slow.shape and fast.shape[0] > 50
    np.testing.assert_array_equal(fast, slow)


def test_a_deep_transit_on_a_crowded_target_is_on_target() -> None:
    """A 1.6 %-deep transit moves the centroid of a crowded aperture too, towards the
    target; its offset stays within the on-target bound (Kepler-75 b's case)."""
    spec = replace(PLANET, depth=0.016, blend_offset=0.1)  # the light centroid 0.1 px off
    row = row_of(star_context(make_lightcurve(spec)))
    assert row["centroid_shift_sigma"] > 5  # the shift is real
    assert row["centroid_offset"] < row["centroid_on_target_max"]
    assert row["fp_centroid_offset"] == 0.0


def test_files_give_the_star_the_aperture_and_every_flag(tmp_path: Path) -> None:
    [(row, _)] = local_rows(tmp_path, replace(PLANET, number=4_600_001)).values()
    assert row["star_teff"] == 5777.0 and row["star_radius"] == 1.0
    assert row["star_density"] == pytest.approx(1.0, rel=0.02)
    assert row["star_crowding"] == 1.0 and row["star_source"].startswith("headers: teff")
    # a Sun-like star: the companion's radius from the depth, its orbit from the density
    assert row["planet_radius"] == pytest.approx(math.sqrt(8e-4) * 109.1, rel=0.15)
    a_rs = (6.674e-11 * 1410 * (4.3 * 86400) ** 2 / (3 * math.pi)) ** (1 / 3)
    assert row["planet_a_rs"] == pytest.approx(a_rs, rel=1e-3)
    assert row["planet_density_ratio"] == pytest.approx(1.0, abs=0.6)
    assert row["fp_stellar_eclipse"] == 0.0 and row["planet_grazing"] < 1.04
    # flagged cadences (one in 300, bit 1) fall near some of the transits
    assert row["quality_transits"] >= 15
    assert 0 <= row["quality_flagged"] < 0.5 and row["quality_momentum"] == 0.0


def test_the_catalogs_stellar_values_win_and_are_named() -> None:
    from exoextract.features.star import parameters

    ctx = star_context(make_lightcurve(PLANET))
    ctx.shared["candidates"] = (Candidate("k", row={"koi_srad": "2.0", "koi_steff": 6100}),)
    found = parameters(ctx)  # type: ignore[arg-type]
    assert found["star_radius"] == 2.0 and found["star_teff"] == 6100.0
    assert found["star_source"] == "catalog: teff, radius"
    assert math.isnan(found["star_mass"])  # no gravity to weigh it by


def test_a_companion_as_large_as_a_star_is_a_stellar_eclipse(tmp_path: Path) -> None:
    big = replace(PLANET, number=4_600_002, depth=0.09, noise=5e-4)  # k = 0.3: 2.9 R_J
    [(row, _)] = local_rows(tmp_path, big).values()
    assert row["planet_radius_jupiter"] > 2
    assert row["fp_stellar_eclipse"] == 1.0 and row["vet_transit_like"] == 0.0
    assert "Jupiter radii > 2" in row["fp_stellar_eclipse_reason"]


def test_transits_next_to_flagged_cadences_do_not_make_a_binary() -> None:
    """A hot Jupiter whose transits beside momentum dumps are 15 % shallower, all of them
    odd: odd and even depths differ, but the transits no flag touches agree."""
    from exoextract.features import Ephemeris
    from exoextract.features.vet import at as vet_at
    from exoextract.lightcurves.filefacts import FileFacts

    spec = StarSpec(number=78, mission="TESS", kind="planet", period=1.7, t0=0.4, depth=0.01,
                    duration=0.09, noise=4e-4, seed=78)  # fmt: skip
    lc = make_lightcurve(spec)
    time = np.asarray(lc.time)
    epoch = np.floor((time - (1325.3 + 0.4)) / 1.7 + 0.5).astype(int)
    odd_dumped = (epoch % 2 == 1) & (epoch % 3 == 0)
    inside = np.abs(time - (1325.3 + 0.4) - epoch * 1.7) < 0.06
    lc.flux[odd_dumped & inside] = 1 - (1 - lc.flux[odd_dumped & inside]) * 0.85
    ctx = star_context(lc)
    dumps = 1325.7 + 1.7 * np.unique(epoch[odd_dumped]) + 0.08  # beside those transits
    flags_time = np.sort(np.concatenate([time, dumps]))
    flags = np.where(np.isin(flags_time, dumps), 32, 0)
    ephemeris = Ephemeris(1.7, 1325.7, 0.09, "tls", {"tls_sde": 30.0})
    ctx.facts = None  # type: ignore[attr-defined]
    plain = vet_at(ctx, ephemeris)  # type: ignore[arg-type]
    ctx.facts = FileFacts("TESS", {}, (), flags_time, flags)  # type: ignore[attr-defined]
    flagged = vet_at(ctx, ephemeris)  # type: ignore[arg-type]
    assert plain["vet_odd_even_sigma"] >= 5 and plain["vet_transit_like"] == 0.0
    assert flagged["vet_odd_even_sigma_unflagged"] < 5
    assert flagged["vet_transit_like"] == 1.0, flagged["vet_reason"]


# ---------------------------------------------------------------- across a run
@pytest.mark.slow
def test_two_stars_with_one_eclipse_the_fainter_is_the_ephemeris_match(tmp_path: Path) -> None:
    parent = StarSpec(number=4_500_001, mission="Kepler", kind="eb", period=3.7, t0=1.3,
                      depth=0.02, secondary_depth=0.005, duration=0.15, noise=2e-4, seed=5,
                      position=(290.0, 40.0), magnitude=11.0)  # fmt: skip
    child = replace(parent, number=4_500_002, depth=8e-4, secondary_depth=2e-4, seed=6,
                    position=(290.0, 40.005), magnitude=14.5)  # fmt: skip
    far = replace(child, number=4_500_003, seed=7, position=(295.0, 44.0))
    for spec in (parent, child, far):
        write_fits(spec, tmp_path / "data")
    csv = tmp_path / "t.csv"
    csv.write_text("kepid\n4500001\n4500002\n4500003\n")
    result = start_run(csv, fast_settings(data_dir=str(tmp_path / "data"), workers=2),
                       out_dir=tmp_path / "run")  # fmt: skip
    rows = pd.read_parquet(result.features_path).set_index("target_id")
    assert list(rows["fp_ephemeris_match"]) == [0.0, 1.0, 0.0]
    reason = rows.loc["KIC 4500002", "fp_ephemeris_match_reason"]
    assert reason.startswith('KIC 4500001 signal 1 has its period and epoch, 18.0" away')
    assert "3.5 mag brighter" in reason
    assert rows.loc["KIC 4500003", "fp_ephemeris_match_reason"] == (
        'no signal of another star within 60"'
    )
    signals = pd.read_parquet(result.signals_path)
    child_signals = signals[signals["target_id"] == "KIC 4500002"]
    assert (child_signals["fp_ephemeris_match"] == 1.0).all()
    assert (child_signals["vet_transit_like"] == 0.0).all()
    # its sheet says what the tables say, though its worker could not know the other star
    from exoextract.report.sheet import sheet_data

    sheet = sheet_data(result.run_dir, "KIC 4500002")
    assert sheet.values["fp_ephemeris_match"] == 1.0
    assert sheet.values["vet_transit_like"] == 0.0
    assert sheet.values["vet_reason"] == rows.loc["KIC 4500002", "vet_reason"]
    assert [s["vet_transit_like"] for s in sheet.signals] == list(child_signals["vet_transit_like"])


# ---------------------------------------------------------------- real KOI stars
FP_CATALOG = "catalogs/koi_fp_sample.csv"


@functools.cache
def _koi_rows(shared: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for target in read_targets(shared / FP_CATALOG, None, None, False).targets:
        kic = f"{target.number:09d}"
        paths = tuple(sorted(str(p) for p in (shared / "kepler" / kic[:4] / kic).glob("*.fits")))
        candidate = Candidate(target.key, target.period, target.t0, target.duration,
                              target.depth, dict(target.row))  # fmt: skip
        task = Task(target.key, target.target_id, "Kepler", target.number,
                    load_settings(None, {}), (candidate,), paths=paths)  # fmt: skip
        rows, _, _ = extract(task)
        out[target.key] = {**rows[target.key], **{k: target.row[k] for k in target.row}}
    return out


@pytest.mark.slow
def test_the_dr25_false_positives_are_flagged_and_the_planets_are_not(shared_data: Path) -> None:
    rows = _koi_rows(shared_data)
    for key in ("K00889.01", "K00958.01"):  # Kepler-75 b (1.6 % deep) and a candidate
        row = rows[key]
        assert row["match"] == "signal" and row["vet_transit_like"] == 1.0, row["vet_reason"]
        assert [row[f"fp_{f}"] for f in ("not_transit_like", "stellar_eclipse",
                                         "centroid_offset")] == [0.0, 0.0, 0.0]  # fmt: skip
    for key, row in rows.items():
        if row["koi_disposition"] != "FALSE POSITIVE" or key == "K00792.01":
            continue  # K00792.01: its grazing eclipse is not seen in this one quarter
        assert row["match"] == "signal", key  # found at its period
        raised = [f for f in ("not_transit_like", "stellar_eclipse", "centroid_offset")
                  if row[f"fp_{f}"] == 1.0]  # fmt: skip
        assert raised and row["vet_transit_like"] == 0.0, (key, row["vet_reason"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flag", "column", "agree"),
    [
        ("stellar_eclipse", "koi_fpflag_ss", ("K00982.01", "K00407.01", "K05983.01", "K06252.01",
                                              "K06266.01", "K01229.01", "K00889.01",
                                              "K00958.01")),
        ("centroid_offset", "koi_fpflag_co", ("K00982.01", "K00407.01", "K05983.01", "K06252.01",
                                              "K06266.01", "K01229.01", "K00889.01",
                                              "K00958.01", "K00792.01")),
    ],
)  # fmt: skip
def test_the_flags_agree_with_dr25_where_the_quarter_shows_it(
    shared_data: Path, flag: str, column: str, agree: tuple[str, ...]
) -> None:
    rows = _koi_rows(shared_data)
    for key in agree:
        assert rows[key][f"fp_{flag}"] == float(rows[key][column]), (
            key,
            rows[key][f"fp_{flag}_reason"],
        )


@pytest.mark.slow
def test_stars_without_a_koi_are_not_flagged(shared_data: Path) -> None:
    listed = read_targets(shared_data / "catalogs" / "kepler_no_koi_sample.csv", None, None, False)
    numbers = [t.number for t in listed.targets]
    flagged = []
    for number in numbers:
        kic = f"{number:09d}"
        paths = tuple(sorted(str(p) for p in (shared_data / "kepler" / kic[:4] / kic).glob("*")))
        task = Task(kic, kic, "Kepler", number, load_settings(None, {}), (Candidate(kic),),
                    paths=paths)  # fmt: skip
        _, _, signals = extract(task)
        flagged += [(kic, s["signal_period"]) for s in signals if s["vet_transit_like"] == 1.0]
    assert len(numbers) == 20 and flagged == []
