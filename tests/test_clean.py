"""Cleaning: quality mask, NaNs, normalisation, outliers, flattening in days."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from exoextract.features import FeatureContext
from exoextract.lightcurves.read import quiet_import_lightkurve
from exoextract.science.clean import cadence_days, clean_lightcurve, flatten_bands, window_length
from exoextract.science.search.durations import physical_duration
from exoextract.science.synthetic import KEPLER_CADENCE, TESS_CADENCE, StarSpec, make_lightcurve
from exoextract.settings import load_settings

from conftest import PER_OCTAVE


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
    t = np.asarray(cleaned.flat.time)
    for index in (10, 20, 30):
        assert not np.any(np.isclose(t, 1000 + index * TESS_CADENCE, rtol=0, atol=1e-7))
    assert t.size == 4997
    assert cleaned.n_raw == 5000
    flux = np.asarray(cleaned.flat.flux)
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
    flux = np.asarray(cleaned.flat.flux)
    assert np.percentile(flux, 0.5) == pytest.approx(0.99, abs=0.0015)


def test_cadence() -> None:
    assert cadence_days(np.array([0.0, 0.1, 0.2, 0.2, 5.0])) == pytest.approx(0.1)


def test_too_few_points_are_left_unflattened() -> None:
    cleaned = clean_lightcurve(raw_lightcurve(n=60), load_settings())
    assert cleaned.window_cadences == 0


def test_long_baselines_get_a_window_per_period_octave() -> None:
    settings = load_settings(None, PER_OCTAVE)
    factor = settings.flatten_transit_factor
    assert flatten_bands(settings, 27.4) == [(math.inf, 1.0)]  # a sector: one window
    for baseline in (730.0, 1460.0):
        bands = flatten_bands(settings, baseline)
        ends, windows = [b[0] for b in bands], [b[1] for b in bands]
        assert windows[0] == 1.0 and len(bands) >= 4
        assert all(a < b for a, b in itertools.pairwise(windows))
        assert all(a < b for a, b in itertools.pairwise(ends)) and ends[-1] == math.inf
        for end, window in bands[1:-1]:  # the window protects the octave's longest transits
            assert window == pytest.approx(factor * physical_duration(end))
        assert windows[-1] == pytest.approx(factor * physical_duration(baseline / 2))
    assert flatten_bands(settings.replace(flatten_transit_factor=0.0), 730.0) == [(math.inf, 1.0)]
    assert flatten_bands(settings.replace(period_max=10.0), 730.0) == [(math.inf, 1.0)]
    single = flatten_bands(settings.replace(flatten_per_octave=False), 730.0)
    assert single == [(math.inf, pytest.approx(factor * physical_duration(365.0)))]


def test_candidates_are_fitted_on_a_window_per_period_octave() -> None:
    """By default the search folds one window; the fits' bands widen it per octave to
    ``flatten_fit_factor`` Sun-like durations at the octave's end, never narrower."""
    settings = load_settings()
    fit = settings.flatten_fit_factor
    assert flatten_bands(settings, 27.4, fits=True) == [(math.inf, 1.0)]
    for baseline in (730.0, 1460.0):
        (search,) = flatten_bands(settings, baseline)
        bands = flatten_bands(settings, baseline, fits=True)
        windows = [b[1] for b in bands]
        assert windows[0] == search[1] and len(bands) >= 3
        assert all(a < b for a, b in itertools.pairwise(windows))
        for end, window in bands[1:-1]:
            assert window == pytest.approx(fit * physical_duration(end))
        assert windows[-1] == pytest.approx(fit * physical_duration(baseline / 2))
    same = settings.replace(flatten_fit_factor=0.0)
    assert flatten_bands(same, 730.0, fits=True) == flatten_bands(same, 730.0)
    per_octave = load_settings(None, PER_OCTAVE)  # the same factor: one set of bands
    assert flatten_bands(per_octave, 1460.0, fits=True) == flatten_bands(per_octave, 1460.0)


def test_stars_without_a_modelled_rotation_are_searched_per_octave() -> None:
    """A quiet two-year star's search folds one flux per octave (``flatten_fit_factor``
    durations at each octave's end, at least ``flatten_window_days``); a star spotted fast
    enough for its rotation to be modelled keeps the search's one window, and so does a
    slow rotator spotted 20 times its noise or more, whose rotation is not modelled."""
    settings = load_settings()
    fit, base = settings.flatten_fit_factor, settings.flatten_window_days
    quiet = StarSpec(number=5, mission="Kepler", kind="quiet", depth=0.0, noise=2e-4, segments=8)
    spotted = replace(quiet, number=6, noise=1.2e-4, seed=1000, spot_amplitude=0.026,
                      spot_period=1.63, spot_lifetime=20.0)  # fmt: skip
    bands = clean_lightcurve(make_lightcurve(quiet), settings).search_bands
    assert len(bands) >= 4 and all(math.isnan(band.rotation) for band in bands)
    for band in bands[:-1]:
        expected = max(base, fit * float(physical_duration(band.up_to)))
        assert band.window_days == pytest.approx(expected, rel=0.02)  # whole cadences
    assert bands[-1].window_days > bands[0].window_days
    (one,) = clean_lightcurve(make_lightcurve(spotted), settings).search_bands
    assert math.isfinite(one.rotation)
    slow = replace(spotted, spot_amplitude=2e-2, spot_period=8.5)  # 170 x the noise
    (one,) = clean_lightcurve(make_lightcurve(slow), settings).search_bands
    assert math.isnan(one.rotation)
    weak = replace(slow, spot_amplitude=1.2e-3)  # 10 x the noise: searched per octave
    assert len(clean_lightcurve(make_lightcurve(weak), settings).search_bands) >= 4
    off = settings.replace(flatten_per_octave_unspotted=False)
    assert len(clean_lightcurve(make_lightcurve(quiet), off).search_bands) == 1


def _in_transit_depth(time: np.ndarray, flux: np.ndarray, spec: StarSpec) -> float:
    """1 - the median flux in the central fifth of the transits (``time`` from the start)."""
    half = 0.5 * spec.period
    phase = np.abs((time - spec.t0 + half) % spec.period - half)
    return 1.0 - float(np.median(flux[phase < 0.1 * spec.duration]))


def test_long_transits_are_read_from_a_wider_window() -> None:
    """A 230-day planet's 11-hour transits on two years of Kepler, two noise levels deep
    (too shallow per point for the trend's outlier rejection to leave them out): the band
    the search and the vetting read at its period keeps more than half the depth, which the
    narrowest window (kept for short periods) would mostly fit away."""
    spec = StarSpec(number=1, mission="Kepler", kind="planet", period=230.0, t0=10.0,
                    depth=2e-4, duration=0.46, noise=1e-4, red_noise=0.0, segments=8,
                    seed=4)  # fmt: skip
    settings = load_settings(None, PER_OCTAVE)
    ctx = FeatureContext.of(clean_lightcurve(make_lightcurve(spec), settings), settings)
    wide, _ = ctx.flux_for(spec.period)
    narrow, _ = ctx.flux_for(1.0)
    assert np.allclose(narrow, ctx.flux) and not np.allclose(wide, ctx.flux)
    kept = _in_transit_depth(ctx.time - ctx.time.min(), wide, spec) / spec.depth
    lost = _in_transit_depth(ctx.time - ctx.time.min(), narrow, spec) / spec.depth
    assert kept > 0.45  # four Sun-like durations at the longest period: about half kept
    assert lost < 0.25


def test_candidates_keep_more_depth_than_the_search_flux() -> None:
    """The same 230-day planet, the search on one window (1.6 days; by default a quiet
    star's search has a window per octave too): the fits at its period read its octave's
    wider band (2.2 days), which keeps more of the depth; short periods are fitted on the
    search's own flux."""
    spec = StarSpec(number=1, mission="Kepler", kind="planet", period=230.0, t0=10.0,
                    depth=2e-4, duration=0.46, noise=1e-4, red_noise=0.0, segments=8,
                    seed=4)  # fmt: skip
    settings = load_settings(None, {"flatten_per_octave_unspotted": False})
    ctx = FeatureContext.of(clean_lightcurve(make_lightcurve(spec), settings), settings)
    fitted, _ = ctx.flux_for(spec.period)
    searched, _ = ctx.search_flux_for(spec.period)
    assert np.allclose(searched, ctx.flux) and np.allclose(ctx.flux_for(5.0)[0], ctx.flux)
    time = ctx.time - ctx.time.min()
    kept = _in_transit_depth(time, fitted, spec) / spec.depth
    assert kept > 0.5
    assert kept - _in_transit_depth(time, searched, spec) / spec.depth > 0.1
