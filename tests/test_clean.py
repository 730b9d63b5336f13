"""Cleaning: quality mask, NaNs, normalisation, outliers, flattening in days."""

from __future__ import annotations

import numpy as np
import pytest

from exoextract.clean import cadence_days, clean_lightcurve, window_length
from exoextract.lcio import quiet_import_lightkurve
from exoextract.settings import load_settings
from exoextract.synthetic import KEPLER_CADENCE, TESS_CADENCE, StarSpec, make_lightcurve


def raw_lightcurve(n: int = 5000, cadence: float = TESS_CADENCE, quality: bool = True):  # type: ignore[no-untyped-def]
    lk = quiet_import_lightkurve()
    rng = np.random.default_rng(0)
    t = 1000 + np.arange(n) * cadence
    flux = 5e4 * (1 + 0.01 * np.sin(2 * np.pi * t / 3.0) + rng.normal(0, 1e-4, n))
    flux[10] = np.nan
    flux[20] *= 1.5  # a cosmic ray
    q = np.zeros(n, dtype=int)
    q[30] = 32  # a flagged cadence (TESS desaturation event)
    flux[30] *= 0.5
    lc = lk.LightCurve(time=t, flux=flux, flux_err=np.full(n, 5.0))
    if quality:
        lc["quality"] = q
        lc.meta["MISSION"] = "TESS"
    return lc


def test_cleaning_removes_nan_flagged_and_outliers() -> None:
    cleaned = clean_lightcurve(raw_lightcurve(), load_settings())
    t = np.asarray(cleaned.flat.time.value)
    for index in (10, 20, 30):
        assert not np.any(np.isclose(t, 1000 + index * TESS_CADENCE, rtol=0, atol=1e-7))
    assert t.size == 4997
    assert cleaned.n_raw == 5000
    flux = np.asarray(cleaned.flat.flux.value)
    assert abs(np.median(flux) - 1) < 1e-4
    assert np.std(flux) < 3e-4  # the 1 % stellar wave was flattened away


def test_window_is_days_not_cadences() -> None:
    assert window_length(1.0, TESS_CADENCE, 100_000) == 721
    assert window_length(1.0, KEPLER_CADENCE, 100_000) == 49
    assert window_length(1.0, KEPLER_CADENCE, 20) == 19  # never longer than the data
    assert window_length(0.001, KEPLER_CADENCE, 100) == 5


def test_flattening_keeps_transit_depth() -> None:
    spec = StarSpec(
        number=1,
        mission="TESS",
        kind="planet",
        period=3.0,
        depth=0.01,
        duration=0.1,
        noise=2e-4,
        seed=5,
    )
    cleaned = clean_lightcurve(make_lightcurve(spec), load_settings())
    flux = np.asarray(cleaned.flat.flux.value)
    assert np.percentile(flux, 0.5) == pytest.approx(0.99, abs=0.0015)


def test_cadence() -> None:
    assert cadence_days(np.array([0.0, 0.1, 0.2, 0.2, 5.0])) == pytest.approx(0.1)


def test_too_few_points_are_left_unflattened() -> None:
    cleaned = clean_lightcurve(raw_lightcurve(n=60), load_settings())
    assert cleaned.window_cadences == 0
