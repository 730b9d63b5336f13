"""The synthetic star generator: deterministic, with the signal it claims to inject."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exoextract.lightcurves.read import quiet_import_lightkurve, read_lightcurve
from exoextract.science.synthetic import (
    KINDS,
    StarSpec,
    make_segments,
    spec_for,
    transit_model,
    write_fits,
)
from exoextract.sources.local import index_folder


def test_same_id_same_star() -> None:
    a, b = make_segments(spec_for(1234, "TESS")), make_segments(spec_for(1234, "TESS"))
    np.testing.assert_array_equal(a[0]["flux"], b[0]["flux"])
    assert spec_for(1234, "TESS") != spec_for(1235, "TESS")


@pytest.mark.parametrize("number", range(8))
def test_kind_cycles_with_the_id(number: int) -> None:
    assert spec_for(number).kind == KINDS[number % 4]


def test_transit_model_depth_and_duration() -> None:
    t = np.linspace(0, 10, 100_001)
    model = transit_model(t, period=2.0, t0=1.0, depth=0.01, duration=0.2)
    assert model.min() == pytest.approx(0.99)
    in_transit = np.mean(model < 1.0) * 2.0  # fraction of a period, in days per period
    assert in_transit == pytest.approx(0.2, rel=0.02)
    assert model[np.argmin(np.abs(t - 5.0))] == pytest.approx(0.99)  # t0 + 2P


@pytest.mark.parametrize("mission", ["TESS", "Kepler", "K2"])
def test_fits_files_read_back_with_lightkurve(tmp_path: Path, mission: str) -> None:
    spec = StarSpec(
        number=4242,
        mission=mission,
        kind="planet",
        period=2.0,
        depth=0.01,
        duration=0.15,
        segments=2,
        seed=3,
    )
    paths = write_fits(spec, tmp_path)
    assert len(paths) == 2
    index = index_folder(tmp_path)
    assert index[(mission, 4242)] == sorted(str(p) for p in paths)
    lc = read_lightcurve(paths[0])
    assert lc.meta["READER"] == "astropy"  # an archive product, read without lightkurve
    expected = {"TESS": "TessLightCurve", "Kepler": "KeplerLightCurve", "K2": "KeplerLightCurve"}
    theirs = quiet_import_lightkurve().read(str(paths[0]))  # as lightkurve reads the archive's
    assert type(theirs).__name__ == expected[mission]
    assert len(theirs) == len(lc)
    segments = make_segments(spec)
    flagged = int(np.sum(segments[0]["quality"] != 0))
    nans = int(np.sum(np.isnan(segments[0]["flux"])))
    assert len(lc) == len(segments[0]["time"]) - flagged  # the default mask drops flagged cadences
    assert np.isnan(np.asarray(lc.flux)).sum() <= nans
