"""clean-cache: find broken FITS files in lightkurve's cache and remove only those."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exoextract.cli.commands import app
from exoextract.lightcurves.cache import check_fits, clean_cache, lightkurve_cache_dirs

from conftest import WASP18

runner = CliRunner()


def make_cache(root: Path) -> dict[str, Path]:
    """A lightkurve-style cache with one good and three broken downloads."""
    folder = root / "mastDownload" / "TESS" / "tess2018234235059-s0002-0000000100100827-0121-s"
    folder.mkdir(parents=True)
    data = WASP18.read_bytes()
    files = {
        "good": folder / WASP18.name,
        "empty": folder / "tess2018234235059-s0002-0000000000000001-0121-s_lc.fits",
        "html": folder / "tess2018234235059-s0002-0000000000000002-0121-s_lc.fits",
        "headers": folder / "tess2018234235059-s0002-0000000000000003-0121-s_lc.fits",
    }
    files["good"].write_bytes(data)
    files["empty"].write_bytes(b"")
    files["html"].write_bytes(b"<!DOCTYPE html><html><body>503 Service Unavailable</body></html>")
    files["headers"].write_bytes(data[:8640])  # primary + table headers, no table data
    return files


def test_each_kind_of_damage_is_named(tmp_path: Path, shared_data: Path) -> None:
    files = make_cache(tmp_path)
    assert check_fits(files["good"]).problem is None
    assert check_fits(files["empty"]).problem == "empty (0 bytes)"
    assert check_fits(files["html"]).problem == "an HTML page saved as FITS"
    assert check_fits(files["headers"]).problem.startswith("truncated or corrupt")
    primary_only = tmp_path / "primary.fits"
    primary_only.write_bytes(WASP18.read_bytes()[:2880])
    assert check_fits(primary_only).problem == "truncated (headers only, no data)"
    padding = tmp_path / "padding.fits"
    padding.write_bytes(WASP18.read_bytes()[:-500])  # only final padding bytes missing
    check = check_fits(padding)
    assert check.problem is None and check.note == "final padding missing (data complete)"


def test_clean_removes_exactly_the_three_bad_files(tmp_path: Path, shared_data: Path) -> None:
    files = make_cache(tmp_path)
    report = clean_cache(tmp_path)
    assert sorted(report.removed) == sorted([files["empty"], files["html"], files["headers"]])
    assert files["good"].exists() and files["good"].read_bytes() == WASP18.read_bytes()
    assert not files["empty"].exists()


def test_cli_dry_run_reports_and_keeps_everything(tmp_path: Path, shared_data: Path) -> None:
    files = make_cache(tmp_path)
    result = runner.invoke(
        app, ["clean-cache", "--cache-dir", str(tmp_path), "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["checked"] == 4 and len(report["bad"]) == 3 and report["removed"] == []
    assert all(p.exists() for p in files.values())


def test_cli_table_and_removal(tmp_path: Path, shared_data: Path) -> None:
    files = make_cache(tmp_path)
    result = runner.invoke(app, ["clean-cache", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "checked 4 files, 3 broken, removed 3" in result.stdout
    assert [p for p in files.values() if p.exists()] == [files["good"]]


def test_cli_all_needs_confirmation(tmp_path: Path, shared_data: Path) -> None:
    make_cache(tmp_path)
    refused = runner.invoke(
        app, ["clean-cache", "--cache-dir", str(tmp_path), "--all"], input="n\n"
    )
    assert refused.exit_code != 0
    assert (tmp_path / "mastDownload").exists()
    wiped = runner.invoke(app, ["clean-cache", "--cache-dir", str(tmp_path), "--all", "--yes"])
    assert wiped.exit_code == 0, wiped.output
    assert list(tmp_path.iterdir()) == []


def test_missing_cache_dir_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["clean-cache", "--cache-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: cache folder {tmp_path / 'nope'} does not exist — check --cache-dir"
    )


def test_default_cache_is_lightkurves_own(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import lightkurve as lk

    monkeypatch.setattr(lk.conf, "cache_dir", str(tmp_path / "lkcache"))
    legacy = isolated_home / ".lightkurve-cache"
    legacy.mkdir()
    dirs = lightkurve_cache_dirs()
    assert dirs[0] == tmp_path / "lkcache"
    assert legacy in dirs
    shutil.rmtree(legacy)
