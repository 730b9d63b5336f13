"""The feature reference is generated from the code and must match it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from exoextract import features
from exoextract.cli.commands import app
from exoextract.cli.reference import render
from exoextract.settings import load_settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "reference" / "features.md"


def test_docs_are_generated_from_the_code() -> None:
    assert DOCS.read_text() == render(), "docs/reference/features.md is stale: run `make docs`"


def test_every_column_is_documented_with_unit_and_meaning() -> None:
    text = render()
    for name, column in features.all_columns().items():
        assert f"`{name}`" in text
        assert column.doc.strip(), name


def test_column_names_are_unique_and_prefixed_by_family() -> None:
    prefixes = {
        "stats": "",
        "variability": "var_",
        "star": "star_",
        "match": "match",
        "bls": "bls_",
        "tls": "tls_",
        "vet": "vet_",
        "centroid": "centroid_",
        "quality": "quality_",
        "planet": "planet_",
        "fp": "fp_",
        "signals": "signals_",
        "lcpkg": "lc_",
        "known": "known_",
        "views": "view_",
    }
    seen: set[str] = set()
    for family in features.FAMILIES:
        for column in family.columns:
            assert column.name not in seen, column.name
            seen.add(column.name)
            assert column.name.startswith(prefixes[family.name]), column.name


def test_default_column_order() -> None:
    names = features.feature_columns(load_settings())
    assert names[:3] == ["n_points", "time_span", "cadence"]
    assert (
        names.index("bls_period")
        < names.index("tls_period")
        < names.index("vet_depth")
        < names.index("known_depth")
    )
    assert "view_global" not in names and "lc_amplitude" not in names  # optional families


def test_cli_prints_the_reference() -> None:
    result = CliRunner().invoke(app, ["features"])
    assert result.exit_code == 0
    assert "# Feature reference" in result.stdout and "`tls_sde`" in result.stdout
