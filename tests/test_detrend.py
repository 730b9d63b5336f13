"""Detrending spotted stars: no spot dip made into a transit, transits kept, fast rotators
modelled. Light curves come from the synthetic generator's evolving spots."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from exoextract.lightcurves.lightcurve import LightCurve
from exoextract.science import detrend
from exoextract.science.clean import Cleaned, arrays, clean_lightcurve
from exoextract.science.synthetic import StarSpec, make_lightcurve
from exoextract.settings import load_settings


def spotted(rotation: float, amplitude: float, **changes: object) -> StarSpec:
    """Four quarters of Kepler, spotted, without transits unless ``changes`` add one."""
    fields: dict[str, object] = {
        "number": 9_100_000,
        "mission": "Kepler",
        "kind": "quiet",
        "depth": 0.0,
        "noise": 1.5e-4,
        "segments": 4,
        "seed": 91,
        "spot_amplitude": amplitude,
        "spot_period": rotation,
        "spot_lifetime": 20.0,
    }
    fields.update(changes)
    return StarSpec(**fields)  # type: ignore[arg-type]


def deepest_dip(time: np.ndarray, flux: np.ndarray, width: float = 0.25) -> float:
    """The lowest mean of ``width``-day bins (with at least 5 points), as a positive depth."""
    index = np.floor((time - time[0]) / width).astype(int)
    sums = np.bincount(index, flux - 1.0)
    counts = np.bincount(index)
    means = sums[counts >= 5] / counts[counts >= 5]
    return float(-means.min())


def depth_after_cleaning(spec: StarSpec) -> tuple[float, Cleaned]:
    """1 - the median flattened flux in the central fifth of the planet's transits."""
    cleaned = clean_lightcurve(make_lightcurve(spec), load_settings())
    time, flux, _ = arrays(cleaned.flat)
    half = 0.5 * spec.period
    phase = np.abs((time - time[0] - spec.t0 + half) % spec.period - half)
    return 1.0 - float(np.median(flux[phase < 0.1 * spec.duration])), cleaned


def test_spot_dips_do_not_come_out_as_transits() -> None:
    """lightkurve's flatten drops the points far from the global median before fitting, so
    the bottoms of a spotted star's deep dips stay in the flattened flux as 'transits'; our
    trend follows them (same window, same filter)."""
    spec = spotted(rotation=8.0, amplitude=0.02)
    settings = load_settings(None, {"flatten_rotation": False})
    cleaned = clean_lightcurve(make_lightcurve(spec), settings)
    time, flux, _ = arrays(cleaned.flat)
    ours = deepest_dip(time, flux)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_lc = cleaned.normalized.to_lightkurve().flatten(
            window_length=cleaned.window_cadences
        )
    theirs = deepest_dip(*arrays(LightCurve.from_lightkurve(theirs_lc))[:2])
    assert theirs > 20 * spec.noise  # the failure this module exists for (~ 0.5 % dips)
    assert ours < 2 * spec.noise


def test_trend_keeps_a_deep_transit() -> None:
    spec = spotted(rotation=8.0, amplitude=0.01, kind="planet", period=5.0, t0=2.0,
                   depth=0.01, duration=0.2)  # fmt: skip
    depth, _ = depth_after_cleaning(spec)
    assert depth == pytest.approx(0.01, rel=0.1)


def test_trend_is_not_interpolated_across_gaps() -> None:
    time = np.concatenate([np.arange(0, 10, 0.02), np.arange(30, 40, 0.02)])
    flux = np.where(time < 20, 1.0, 1.2) + np.random.default_rng(1).normal(0, 1e-4, time.size)
    fitted = detrend.trend(time, flux, 51, 2, gap=0.5)
    assert np.max(np.abs(fitted / flux - 1.0)) < 1e-3


def test_a_fast_rotator_is_modelled_and_flattened_to_the_noise() -> None:
    spec = spotted(rotation=1.7, amplitude=0.01)
    cleaned = clean_lightcurve(make_lightcurve(spec), load_settings())
    assert cleaned.rotation_removed == pytest.approx(1.7, rel=0.05)
    _, flux, _ = arrays(cleaned.flat)
    without = clean_lightcurve(
        make_lightcurve(spec), load_settings(None, {"flatten_rotation": False})
    )
    _, plain, _ = arrays(without.flat)
    scatter, plain_scatter = np.std(flux), np.std(plain)
    assert scatter < 1.5 * spec.noise
    assert plain_scatter > 2 * scatter  # what the window alone leaves of a 1.7-day rotation


def test_quiet_stars_and_slow_rotators_are_left_to_the_filter() -> None:
    quiet = clean_lightcurve(make_lightcurve(spotted(rotation=8.0, amplitude=0.0)), load_settings())
    slow = clean_lightcurve(
        make_lightcurve(spotted(rotation=12.0, amplitude=0.01)), load_settings()
    )
    assert np.isnan(quiet.rotation_removed)
    assert np.isnan(slow.rotation_removed)


def test_a_hot_jupiter_train_is_not_modelled_away() -> None:
    """A deep transit train is the strongest periodicity of a quiet star; its folded dip is
    narrow, so it is not taken for a rotation and the depth survives (harmonics of its own
    period would fit it away)."""
    spec = spotted(rotation=8.0, amplitude=0.0, kind="planet", period=1.3, t0=0.4,
                   depth=0.01, duration=0.09)  # fmt: skip
    depth, cleaned = depth_after_cleaning(spec)
    assert np.isnan(cleaned.rotation_removed)
    assert depth == pytest.approx(0.01, rel=0.1)


def test_rotation_model_follows_evolving_spots() -> None:
    spec = spotted(rotation=2.0, amplitude=0.02)
    lc = make_lightcurve(spec).remove_nans()
    time = np.asarray(lc.time, dtype=float)
    flux = np.asarray(lc.flux, dtype=float) / np.median(np.asarray(lc.flux))
    found = detrend.rotation_to_model(time, flux, 2.0, 0.5)
    assert found is not None
    model = detrend.rotation_model(time, flux, *found)
    residual = flux / model - 1.0
    assert np.std(residual) < 0.1 * np.std(flux)


def test_a_folded_transit_is_a_narrow_dip_and_spots_are_not() -> None:
    time = np.arange(0.0, 60.0, 0.02)
    phase = time / 1.5 % 1.0
    transits = 1.0 - 0.01 * (phase < 0.08)
    spots = 1.0 - 0.01 * np.clip(np.cos(2 * np.pi * phase), 0.0, None) ** 1.5
    assert detrend.narrow_dip(time, transits, 1.5)
    assert not detrend.narrow_dip(time, spots, 1.5)
