"""Features: BLS and TLS find injected and real periods; failures become NaN + reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from exoextract import features
from exoextract.features import FeatureContext
from exoextract.features.bls import period_grid
from exoextract.lightcurves.lightcurve import stitch
from exoextract.lightcurves.read import read_lightcurve
from exoextract.science.clean import clean_lightcurve
from exoextract.science.synthetic import StarSpec, make_lightcurve
from exoextract.settings import load_settings

from conftest import KEPLER90_DIR, WASP18


def context(lc, **overrides: object) -> FeatureContext:  # type: ignore[no-untyped-def]
    settings = load_settings(None, overrides)
    cleaned = clean_lightcurve(lc, settings)
    return FeatureContext.of(cleaned, settings)


PLANET = StarSpec(
    number=11,
    mission="TESS",
    kind="planet",
    period=2.7361,
    t0=0.8,
    depth=0.004,
    duration=0.11,
    noise=8e-4,
    seed=11,
)


@pytest.fixture(scope="module")
def planet_row() -> dict[str, float]:
    ctx = context(make_lightcurve(PLANET))
    return features.compute(ctx, features.enabled(ctx.settings))


@pytest.mark.parametrize("family", ["bls", "tls"])
def test_injected_period_recovered_within_one_percent(
    planet_row: dict[str, float], family: str
) -> None:
    assert planet_row[f"{family}_period"] == pytest.approx(PLANET.period, rel=0.01)
    assert planet_row[f"{family}_reason"] == ""


def test_injected_depth_and_duration(planet_row: dict[str, float]) -> None:
    assert planet_row["bls_depth"] == pytest.approx(PLANET.depth, rel=0.25)
    assert planet_row["tls_depth"] == pytest.approx(PLANET.depth, rel=0.3)
    assert planet_row["tls_duration"] == pytest.approx(PLANET.duration, rel=0.4)
    assert planet_row["tls_sde"] > 15
    assert planet_row["tls_distinct_transit_count"] >= 8


def test_stats_columns(planet_row: dict[str, float]) -> None:
    assert planet_row["n_points"] > 18000
    assert planet_row["time_span"] == pytest.approx(27.4, abs=0.1)
    assert planet_row["cadence"] == pytest.approx(2 / 1440, rel=1e-3)
    assert planet_row["flux_skew"] < 0  # transits are dips
    white_1h = PLANET.noise / math.sqrt(30) * 1e6  # 30 two-minute cadences in an hour
    assert white_1h < planet_row["cdpp_1h"] < 4 * white_1h  # plus the injected red noise


def test_column_order_is_stable() -> None:
    settings = load_settings()
    names = features.feature_columns(settings)
    assert names[:3] == ["n_points", "time_span", "cadence"]
    required = [
        "n_points",
        "time_span",
        "bls_period",
        "bls_t0",
        "bls_duration",
        "bls_depth",
        "bls_snr",
        "tls_period",
        "tls_t0",
        "tls_duration",
        "tls_depth",
        "tls_sde",
        "tls_snr",
        "tls_odd_even_mismatch",
        "tls_transit_count",
    ]
    assert set(required) <= set(names)
    no_tls = features.feature_columns(settings.replace(run_tls=False))
    assert not [n for n in no_tls if n.startswith("tls_")]


def test_too_few_points_give_nan_and_a_reason() -> None:
    spec = StarSpec(number=3, mission="TESS", kind="quiet", seed=2)
    lc = make_lightcurve(spec)[:80]
    ctx = context(lc)
    row = features.compute(ctx, features.enabled(ctx.settings))
    assert math.isnan(row["bls_period"]) and math.isnan(row["tls_period"])
    assert row["bls_reason"] == "only 80 cleaned points (min_points=100)"
    assert row["n_points"] == 80


def test_short_baseline_gives_nan_and_a_reason() -> None:
    spec = StarSpec(number=3, mission="TESS", kind="quiet", seed=2)
    lc = make_lightcurve(spec)[:600]  # 0.8 days
    ctx = context(lc)
    row = features.compute(ctx, features.enabled(ctx.settings))
    assert math.isnan(row["bls_period"])
    assert "too short for periods above 0.5 d" in row["bls_reason"]


def test_bounded_grid_is_far_smaller_than_autopower() -> None:
    # four years of Kepler: astropy's autopower grid has ~78 million periods (FACTS.md)
    grid = period_grid(1470.0, 0.5, 735.0, 1 / 24, 3.0)
    assert 50_000 < grid.size < 1_000_000
    assert np.all(np.diff(grid) > 0)


@pytest.mark.slow
def test_wasp18b_period_from_real_tess_data(shared_data: object) -> None:
    ctx = context(read_lightcurve(WASP18))
    row = features.compute(ctx, features.enabled(ctx.settings))
    for family in ("bls", "tls"):
        assert row[f"{family}_period"] == pytest.approx(0.94145, rel=0.005)
    assert row["tls_depth"] == pytest.approx(0.0096, rel=0.2)
    assert row["tls_distinct_transit_count"] >= 25


@pytest.mark.slow
def test_kepler90_quarters_are_processed(shared_data: object) -> None:
    lc = stitch([read_lightcurve(p) for p in sorted(KEPLER90_DIR.glob("*.fits"))])
    ctx = context(lc)
    row = features.compute(ctx, features.enabled(ctx.settings))
    assert row["time_span"] > 270
    assert row["bls_reason"] == "" and row["tls_reason"] == ""
    assert row["tls_depth"] > 0.002  # the giants' transits are the strongest signal
