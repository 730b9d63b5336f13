"""Every feature family on synthetic stars whose truth is known: planets, binaries, variables."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from exoextract import features
from exoextract.features import FeatureContext
from exoextract.run.runner import start_run
from exoextract.science.synthetic import StarSpec, make_lightcurve
from exoextract.settings import load_settings
from exoextract.star.task import Candidate

from conftest import star_context

PLANET = StarSpec(
    number=21,
    mission="TESS",
    kind="planet",
    period=3.1,
    t0=1.0,
    depth=0.006,
    duration=0.12,
    noise=6e-4,
    seed=21,
)
BINARY = StarSpec(
    number=22,
    mission="TESS",
    kind="eb",
    period=2.3,
    t0=0.7,
    depth=0.12,
    duration=0.16,
    secondary_depth=0.05,
    noise=6e-4,
    seed=22,
)
VARIABLE = StarSpec(
    number=23,
    mission="TESS",
    kind="variable",
    depth=0.0,
    var_amplitude=0.01,
    var_period=2.7,
    noise=6e-4,
    seed=23,
)


def row_for(spec: StarSpec, candidate: Candidate | None = None, **overrides: Any) -> dict[str, Any]:
    ctx: FeatureContext = star_context(make_lightcurve(spec), **overrides)  # type: ignore[assignment]
    families = features.enabled(ctx.settings)
    row = features.compute(ctx, [x for x in families if not x.per_candidate])
    ctx.candidate, ctx.results = candidate or Candidate(key="x"), dict(row)
    row.update(features.compute(ctx, [x for x in families if x.per_candidate]))
    return row


@pytest.fixture(scope="module")
def planet() -> dict[str, Any]:
    origin = 1325.3  # first TESS cadence of the synthetic sector 1
    return row_for(
        PLANET,
        Candidate(
            key="p",
            period=PLANET.period,
            t0=origin + PLANET.t0,
            duration=PLANET.duration,
            depth=PLANET.depth,
        ),
    )


@pytest.fixture(scope="module")
def binary() -> dict[str, Any]:
    return row_for(BINARY)


@pytest.fixture(scope="module")
def variable() -> dict[str, Any]:
    return row_for(VARIABLE)


def test_planet_looks_like_a_planet(planet: dict[str, Any]) -> None:
    assert planet["vet_uses_tls"] == 1.0
    assert planet["tls_period"] == pytest.approx(PLANET.period, rel=0.01)
    assert planet["vet_depth"] == pytest.approx(PLANET.depth, rel=0.2)
    assert planet["vet_odd_even_sigma"] < 3
    assert abs(planet["vet_secondary_snr"]) < 3
    assert planet["vet_ingress_fraction"] < 0.3
    assert planet["vet_sin_to_depth"] < 0.2
    assert planet["vet_phase_coverage"] > 0.9
    assert planet["bls_harmonic_delta_log_likelihood"] < 0  # a box beats a sinusoid
    assert planet["tls_snr_per_transit_min"] > 0


def test_known_ephemeris_matches_the_injection(planet: dict[str, Any]) -> None:
    assert planet["known_reason"] == ""
    assert planet["known_depth"] == pytest.approx(PLANET.depth, rel=0.2)
    assert planet["known_n_transits"] >= 7
    assert planet["known_trapezoid_duration"] == pytest.approx(PLANET.duration, rel=0.3)


def test_binary_is_caught_by_odd_even_or_secondary(binary: dict[str, Any]) -> None:
    assert binary["vet_odd_even_sigma"] > 3 or binary["vet_secondary_snr"] > 5
    assert binary["vet_ingress_fraction"] > 0.3  # V-shaped eclipses
    assert binary["tls_depth"] > 0.02


def test_variable_star_is_periodic_not_transiting(variable: dict[str, Any]) -> None:
    assert variable["var_ls_period"] == pytest.approx(VARIABLE.var_period, rel=0.05)
    assert variable["var_acf_period"] == pytest.approx(VARIABLE.var_period, rel=0.1)
    assert variable["var_ls_amplitude"] == pytest.approx(VARIABLE.var_amplitude, rel=0.3)
    assert variable["var_flatten_ratio"] > 5  # flattening removed the variability


def test_noise_statistics(planet: dict[str, Any]) -> None:
    assert planet["flux_robust_std"] == pytest.approx(PLANET.noise, rel=0.35)
    assert planet["outlier_frac_down"] > planet["outlier_frac_up"]  # transits are dips
    assert planet["cdpp_0p5h"] > planet["cdpp_1h"] > planet["cdpp_2h"]
    assert 0.9 < planet["duty_cycle"] <= 1.0


def test_optional_families() -> None:
    row = row_for(PLANET, run_views=True, run_lightcurve_package=True, run_tls=False)
    assert row["views_reason"] == "" and row["lcpkg_reason"] == ""
    assert len(row["view_global"]) == 2001 and len(row["view_local"]) == 201
    assert min(row["view_local"]) == pytest.approx(-1.0)
    assert row["view_uses_known"] == 0.0  # no catalog ephemeris: folded at BLS's period
    assert math.isfinite(row["lc_stetson_k"]) and math.isfinite(row["lc_amplitude"])


def test_catalog_and_views_survive_the_parquet_round_trip(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("tic,period,t0,duration\n100,3.1,1326.3,0.12\n")
    settings = load_settings(
        None, {"source": "synthetic", "run_tls": False, "run_views": True, "workers": 1}
    )
    result = start_run(csv, settings, out_dir=tmp_path / "run")
    table = pq.read_table(result.features_path)
    assert (
        json.loads(table.schema.metadata[b"exoextract"])["schema_version"]
        == features.SCHEMA_VERSION
    )
    assert str(table.schema.field("view_local").type) == "list<element: double>"
    assert str(table.schema.field("bls_period").type) == "double"
    assert str(table.schema.field("bls_reason").type) == "string"
    names = table.schema.names
    assert names[: names.index("n_points")] == ["target_id", "tic", "period", "t0", "duration"]
    assert names[names.index("n_points") :] == [
        *features.feature_columns(settings),
        "n_files",
        "n_redownloaded",
        "n_files_unreadable",
        "files_unreadable",
        *features.timing_columns(settings),
    ]
    assert str(table.schema.field("files_unreadable").type) == "string"
    assert "seconds_read" in names and "seconds_views" in names
    assert len(table.column("view_local")[0].as_py()) == 201


def test_disabled_families_leave_no_columns() -> None:
    settings = replace(load_settings(), run_tls=False, run_vet=False, run_known=False)
    names = features.feature_columns(settings)
    assert not [n for n in names if n.startswith(("tls_", "vet_", "known_"))]
