"""The NASA Exoplanet Archive's TOI, KOI and K2 tables, as downloaded."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from exoextract import catalogs
from exoextract.cli.commands import app
from exoextract.run.runner import tasks_for
from exoextract.settings import load_settings
from exoextract.star.entry import run_task
from exoextract.targets import read_targets

runner = CliRunner()

K2_TABLE = """# This file was produced by the NASA Exoplanet Archive  http://exoplanetarchive.ipac.caltech.edu
#
# COLUMN pl_name:        Planet Name
# COLUMN epic_hostname:  EPIC Host Name
# COLUMN epic_candname:  EPIC Candidate Name
# COLUMN disposition:    Archive Disposition
# COLUMN pl_orbper:      Orbital Period [days]
# COLUMN pl_tranmid:     Transit Midpoint [days]
# COLUMN pl_trandur:     Transit Duration [hours]
# COLUMN pl_trandep:     Transit Depth [%]
#
pl_name,epic_hostname,epic_candname,disposition,pl_orbper,pl_tranmid,pl_trandur,pl_trandep
K2-3 b,EPIC 201367065,EPIC 201367065.01,CONFIRMED,10.05449,2456813.4180,2.553,0.1
K2-3 c,EPIC 201367065,EPIC 201367065.02,CONFIRMED,24.6465,2456812.2842,3.204,0.06
,EPIC 201111111,EPIC 201111111.01,REFUTED,3.5,,,
"""


def write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- units, in one place
def test_time_systems() -> None:
    assert catalogs.to_mission_time(2458354.4565, "BJD", "TESS") == pytest.approx(1354.4565)
    assert catalogs.to_mission_time(2455000.0, "BJD", "Kepler") == pytest.approx(167.0)
    assert catalogs.to_mission_time(2455000.0, "BJD", "K2") == pytest.approx(167.0)
    assert catalogs.to_mission_time(167.0, "BKJD", "Kepler") == 167.0
    assert catalogs.to_mission_time(1354.0, "BTJD", "TESS") == 1354.0
    assert catalogs.to_mission_time(1354.0, "mission", "TESS") == 1354.0
    assert catalogs.to_mission_time(2458354.5, "mission", "TESS") == pytest.approx(1354.5)
    with pytest.raises(ValueError, match="needs the target's mission"):
        catalogs.to_mission_time(2458354.5, "BJD", None)


def test_durations_and_depths() -> None:
    assert catalogs.to_days(2.19, "h") == pytest.approx(0.09125)
    assert catalogs.to_days(0.1, "d") == 0.1
    assert catalogs.to_fraction(9610, "ppm") == pytest.approx(0.00961)
    assert catalogs.to_fraction(0.1, "percent") == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("KP", "planet"),
        ("CP", "planet"),
        ("PC", "candidate"),
        ("APC", "candidate"),
        ("FP", "false_positive"),
        ("FA", "false_positive"),
        ("CONFIRMED", "planet"),
        ("CANDIDATE", "candidate"),
        ("FALSE POSITIVE", "false_positive"),
        ("REFUTED", "false_positive"),
        ("", None),
    ],
)
def test_dispositions(value: str, label: str | None) -> None:
    assert catalogs.normalise_label(value) == (label, True)


def test_unknown_disposition_is_reported() -> None:
    assert catalogs.normalise_label("MAYBE") == (None, False)


# ---------------------------------------------------------------- the archive's files
def test_toi_sample_as_downloaded(shared_data: Path) -> None:
    result = read_targets(shared_data / "catalogs" / "toi_sample.csv")
    toi = result.targets[0]
    assert (toi.key, toi.target_id, toi.candidate) == ("TOI-185.01", "TIC 100100827", "TOI-185.01")
    assert toi.label == "planet"  # KP: known planet
    assert toi.t0 == pytest.approx(1354.4565)  # BJD 2458354.4565 -> BTJD
    assert toi.duration == pytest.approx(2.19 / 24)
    assert toi.depth == pytest.approx(0.00961)
    assert toi.period == pytest.approx(0.9414526)
    assert toi.row["pl_tranmid"] == 2458354.4565  # the original column is untouched
    assert toi.row["tfopwg_disp"] == "KP"


def test_koi_sample_two_candidates_one_star(shared_data: Path) -> None:
    result = read_targets(shared_data / "catalogs" / "koi_sample.csv")
    assert [t.key for t in result.targets] == ["K00351.01", "K00351.02"]
    assert {t.target_id for t in result.targets} == {"KIC 11442793"}
    assert [t.period for t in result.targets] == [331.60059, 210.60697]
    assert [t.t0 for t in result.targets] == [None, None]  # blank in the file
    assert [t.label for t in result.targets] == ["planet", "planet"]
    assert result.warnings == ()


def test_k2_table_with_percent_depths_and_bjd(tmp_path: Path) -> None:
    result = read_targets(write(tmp_path, K2_TABLE))
    first, _, refuted = result.targets
    assert (first.key, first.target_id, first.mission) == (
        "EPIC 201367065.01",
        "EPIC 201367065",
        "K2",
    )
    assert first.depth == pytest.approx(0.001)  # 0.1 %
    assert first.duration == pytest.approx(2.553 / 24)
    assert first.t0 == pytest.approx(2456813.4180 - 2454833)  # BKJD
    assert refuted.label == "false_positive"
    assert refuted.t0 is None


def test_bom_and_upper_case_headers(tmp_path: Path, shared_data: Path) -> None:
    text = (shared_data / "catalogs" / "toi_sample.csv").read_text()
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines[header] = lines[header].upper()
    path = tmp_path / "toi_upper.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    toi = read_targets(path).targets[0]
    assert toi.t0 == pytest.approx(1354.4565)
    assert toi.row["PL_TRANMID"] == 2458354.4565


def test_preamble_units_override_defaults(tmp_path: Path) -> None:
    text = (
        "# COLUMN pl_trandurh: Duration [days]\n# COLUMN koi_depth: Depth [%]\n"
        "tic,pl_trandurh,koi_depth\n5,0.1,0.5\n"
    )
    target = read_targets(write(tmp_path, text)).targets[0]
    assert target.duration == pytest.approx(0.1)
    assert target.depth == pytest.approx(0.005)


def test_mixed_tic_and_kic_rows(tmp_path: Path) -> None:
    text = (
        "tid,kepid,period,epoch_bjd,label_src\n100100827,,0.94145,2458354.4565,tess\n"
        ",11442793,331.6,2455000.0,kepler\n"
    )
    settings = load_settings(None, {"t0_column": "epoch_bjd", "t0_system": "BJD"})
    result = read_targets(write(tmp_path, text), mapping=settings.column_mapping())
    tess, kepler = result.targets
    assert (tess.target_id, kepler.target_id) == ("TIC 100100827", "KIC 11442793")
    assert tess.t0 == pytest.approx(1354.4565)  # BTJD for the TESS row
    assert kepler.t0 == pytest.approx(167.0)  # BKJD for the Kepler row


def test_generic_targets_with_prefixed_mixed_ids(tmp_path: Path) -> None:
    text = "target,t0\nTIC 5,2458354.5\nKIC 6,2455000.0\n"
    result = read_targets(write(tmp_path, text))
    assert [round(t.t0 or 0, 3) for t in result.targets] == [1354.5, 167.0]
    assert result.warnings == (
        "t0 values above 2,400,000 are read as BJD and converted to BTJD/BKJD",
    )


def test_column_mapping_from_a_toml(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[columns]\nid_column = "star"\ncandidate_column = "cand"\n'
        'period_column = "P"\nduration_column = "dur_min"\n'
        'duration_unit = "h"\nlabel_column = "verdict"\n',
        "c.toml",
    )
    table = write(tmp_path, "star,cand,P,dur_min,verdict\nTIC 5,c1,2.0,3.0,PC\n")
    settings = load_settings(config)
    target = read_targets(table, mapping=settings.column_mapping()).targets[0]
    assert (target.key, target.period, target.duration, target.label) == (
        "c1",
        2.0,
        pytest.approx(0.125),
        "candidate",
    )


def test_mapped_column_missing(tmp_path: Path) -> None:
    table = write(tmp_path, "star\nTIC 5\n")
    result = runner.invoke(app, ["run", str(table), "--id-column", "nope", "--source", "synthetic"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {table}: mapped column 'nope' is not in the header "
        "(found: star) — fix the column mapping\n"
    )


@pytest.mark.parametrize(
    ("row", "warning"),
    [
        (
            "185.02,100100827,PC,2458354.4565,0.94,30,500",
            "line 3: TOI-185.02: duration 30 h is not shorter than the period 0.94 d; "
            "known-ephemeris features left NaN",
        ),
        (
            "185.02,100100827,PC,2458354.4565,-2,2,500",
            "line 3: TOI-185.02: period -2 d is not positive; known-ephemeris features left NaN",
        ),
        (
            "185.02,100100827,XX,2458354.4565,2,2,500",
            "line 3: tfopwg_disp 'XX' is not a disposition exoextract knows; label left empty",
        ),
        (
            "185.02,100100827,PC,soon,2,2,500",
            "line 3: pl_tranmid 'soon' is not a number; known-ephemeris features left NaN",
        ),
    ],
)
def test_bad_rows_are_kept_and_listed(tmp_path: Path, row: str, warning: str) -> None:
    header = "toi,tid,tfopwg_disp,pl_tranmid,pl_orbper,pl_trandurh,pl_trandep"
    good = "185.01,100100827,KP,2458354.4565,0.9414526,2.19,9610"
    result = read_targets(write(tmp_path, f"{header}\n{good}\n{row}\n"))
    assert [t.key for t in result.targets] == ["TOI-185.01", "TOI-185.02"]
    assert warning in result.warnings


def test_bad_id_in_an_archive_table(tmp_path: Path) -> None:
    table = write(tmp_path, "toi,tid\n185.01,100100827\n186.01,TIC-x\n")
    result = runner.invoke(app, ["run", str(table), "--source", "synthetic", "--no-tls"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {table}: line 3: cannot read tid 'TIC-x'")
    skipped = runner.invoke(
        app,
        [
            "run",
            str(table),
            "--source",
            "synthetic",
            "--no-tls",
            "--no-bls",
            "--skip-bad-rows",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert skipped.exit_code == 0, skipped.output
    assert "line 3: cannot read tid 'TIC-x'" in skipped.stderr and "(row skipped)" in skipped.stderr


# ---------------------------------------------------------------- end to end
def test_two_candidates_one_light_curve_read(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exoextract.sources import local

    reads: list[str] = []
    real = local.read_one

    def counting(path: Any, *args: Any) -> Any:
        reads.append(str(path))
        return real(path, *args)

    monkeypatch.setattr(local, "read_one", counting)
    targets = read_targets(shared_data / "catalogs" / "koi_sample.csv")
    settings = load_settings(
        None, {"data_dir": str(shared_data), "run_tls": False, "run_bls": False}
    )
    first = targets.targets[0]
    files = local.locate([first], settings, shared_data)[first.key]
    (task,) = tasks_for(targets.targets, settings, located={first.target_id: files})
    assert [c.key for c in task.candidates] == ["K00351.01", "K00351.02"]
    outcome = run_task(task)
    assert outcome["status"] == "ok", outcome
    rows = outcome["data"]["rows"]
    assert list(rows) == ["K00351.01", "K00351.02"]
    assert len(reads) == 3  # three quarters, read once for both candidates
    assert rows["K00351.01"]["known_period"] == 331.60059
    assert rows["K00351.02"]["known_period"] == 210.60697
    assert rows["K00351.01"]["known_reason"] == "no t0, duration in the catalog"
    assert rows["K00351.01"]["flux_std"] == rows["K00351.02"]["flux_std"]


@pytest.mark.slow
def test_toi_table_run_measures_wasp18b_at_its_catalog_ephemeris(
    tmp_path: Path, shared_data: Path
) -> None:
    out = tmp_path / "toi"
    result = runner.invoke(
        app,
        [
            "run",
            str(shared_data / "catalogs" / "toi_sample.csv"),
            "--data-dir",
            str(shared_data),
            "--out",
            str(out),
            "--no-tls",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "features.parquet")
    row = table.iloc[0]
    assert (row["target_id"], row["candidate"], row["label"]) == (
        "TIC 100100827",
        "TOI-185.01",
        "planet",
    )
    assert row["known_depth"] == pytest.approx(9610e-6, rel=0.2)
    assert row["known_n_transits"] >= 25
    assert row["known_odd_even_sigma"] < 3  # a planet: odd and even transits alike
    assert row["known_secondary_snr"] < 3
    assert row["pl_trandep"] == 9610  # original columns kept
    assert list(table.columns[:4]) == ["target_id", "candidate", "label", "toi"]


def test_koi_table_run_gives_one_row_per_candidate(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "koi"
    result = runner.invoke(
        app,
        [
            "run",
            str(shared_data / "catalogs" / "koi_sample.csv"),
            "--data-dir",
            str(shared_data),
            "--out",
            str(out),
            "--no-tls",
            "--no-bls",
            "--json",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "features.parquet")
    assert list(table["candidate"]) == ["K00351.01", "K00351.02"]
    assert list(table["kepler_name"]) == ["Kepler-90 h", "Kepler-90 g"]
    assert list(table["known_period"]) == [331.60059, 210.60697]
    assert all(math.isnan(v) for v in table["known_depth"])
    checkpoints = pd.concat(pd.read_parquet(p) for p in (out / "checkpoints").glob("*.parquet"))
    assert sorted(checkpoints["key"]) == ["K00351.01", "K00351.02"]
    resumed = runner.invoke(app, ["resume", str(out), "--json"])
    assert resumed.exit_code == 0
    assert '"computed_this_session": 0' in resumed.stdout
