"""`status`, `export` and `--log-file`: what a user sees of a run, during it and after."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from exoextract.cli.commands import app
from exoextract.run.status import failure_groups

from runhelpers import checkpoint_files, run_cli, start_cli, wait_for

runner = CliRunner()
QUICK = ["--source", "synthetic", "--no-tls", "--no-bls", "--workers", "2"]


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """A finished run: three ok targets with labels and a catalog column, two failed ones."""
    flag = tmp_path / "broken"
    flag.write_text("")
    targets = tmp_path / "targets.csv"
    targets.write_text(
        "target,label,flag,kepmag\n"
        f"TIC 100,planet,,11.5\nTIC 101,false_positive,{flag},12.0\nTIC 102,planet,,9.1\n"
        f"TIC 103,false_positive,{flag},13.3\nTIC 104,candidate,,10.0\n"
    )
    out = tmp_path / "run"
    plugin = ["--extra-feature", "exo_test_plugins:fails_while_flagged"]
    result = runner.invoke(app, ["run", str(targets), "--out", str(out), *QUICK, *plugin])
    assert result.exit_code == 0, result.output
    return out


def test_status_of_a_finished_run_groups_failures(finished: Path) -> None:
    result = runner.invoke(app, ["status", str(finished), "--json"])
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert state["state"] == "complete"
    assert (state["total"], state["done"], state["left"]) == (5, 5, 0)
    assert state["counts"] == {"ok": 3, "failed": 2}
    [group] = state["failures"]  # two different flag paths, one reason
    assert group["count"] == 2 and group["status"] == "failed"
    assert group["error_type"] == "ValueError"
    assert sorted(group["targets"]) == ["TIC 101", "TIC 103"]
    assert state["resume_command"] == f"exoextract resume {finished} --retry-failed"
    assert state["settings"]["workers"] == 2 and state["settings"]["source"] == "synthetic"

    text = runner.invoke(app, ["status", str(finished)])
    assert text.exit_code == 0
    assert "5 done, 0 left of 5 (100 %)" in text.stdout
    assert "ValueError" in text.stdout
    assert f"next: exoextract resume {finished} --retry-failed" in text.stdout


def test_failure_groups_ignore_numbers_and_keep_statuses_apart() -> None:
    table = pa.table(
        {
            "key": ["a", "b", "c", "d", "e"],
            "status": ["no_data", "no_data", "timed_out", "ok", "no_data"],
            "error_type": ["NoDataError", "NoDataError", "Timeout", None, "NoDataError"],
            "message": [
                "no light curve for TIC 1",
                "no light curve for TIC 22",
                "killed after 600.0 s",
                None,
                "archive returned HTTP 404",
            ],
        }
    )
    groups = failure_groups(table)
    assert [(g.status, g.count) for g in groups] == [
        ("no_data", 2),
        ("no_data", 1),
        ("timed_out", 1),
    ]
    assert groups[0].targets == ["a", "b"]
    assert groups[0].message == "no light curve for TIC 1"


def test_status_while_running_then_after_a_kill(tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    rows = "\n".join(f"TIC {400 + i},0.4" for i in range(16))
    targets.write_text(f"target,sleep\n{rows}\n")
    run_dir = tmp_path / "live"
    args = [*QUICK, "--chunk-size", "2", "--extra-feature", "exo_test_plugins:slow", "--quiet"]
    proc = start_cli(["run", str(targets), "--out", str(run_dir), *args], tmp_path)
    try:
        wait_for(lambda: len(checkpoint_files(run_dir)) >= 2, 120, "two checkpoints")
        live = run_cli(["status", str(run_dir), "--json"], tmp_path)
        assert live.returncode == 0, live.stderr
        state = json.loads(live.stdout)
        assert state["state"] == "running" and state["pid"] == proc.pid
        assert 4 <= state["done"] < 16 and state["left"] == 16 - state["done"]
        assert state["rate_per_minute"] > 0 and state["eta_seconds"] > 0
        assert state["resume_command"] is None  # nothing to do while it runs
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the notebook dies: no end is written
        proc.wait(timeout=10)
    after = json.loads(run_cli(["status", str(run_dir), "--json"], tmp_path).stdout)
    assert after["state"] == "stopped"
    assert after["resume_command"] == f"exoextract resume {run_dir}"
    assert after["eta_seconds"] is None
    refused = run_cli(["export", str(run_dir), "-o", str(tmp_path / "x.csv")], tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"Error: {run_dir} is not complete (")
    assert f"finish it with `exoextract resume {run_dir}`" in refused.stderr
    assert "or export what is done with --partial" in refused.stderr
    assert not (tmp_path / "x.csv").exists()
    done_rows = after["done"]
    partial = run_cli(
        ["export", str(run_dir), "-o", str(tmp_path / "x.csv"), "--partial"], tmp_path
    )
    assert partial.returncode == 0, partial.stderr
    table = pd.read_csv(tmp_path / "x.csv")
    checkpointed = pd.concat([pd.read_parquet(p) for p in checkpoint_files(run_dir)])
    ok = checkpointed[checkpointed["status"] == "ok"]
    assert sorted(table["target_id"]) == sorted(ok["target_id"]) and done_rows >= 4
    assert not (run_dir / "features.parquet").exists()  # the run is untouched
    resumed = run_cli(["resume", str(run_dir), "--json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr


def test_status_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path} is not a run folder (no manifest.json) — check the path\n"
    )


def test_export_csv_keeps_labels_and_catalog_columns(finished: Path, tmp_path: Path) -> None:
    path = tmp_path / "out" / "table.csv"
    path.parent.mkdir()
    result = runner.invoke(app, ["export", str(finished), "-o", str(path), "--columns", "stats"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(path)
    assert table["target_id"].tolist() == ["TIC 100", "TIC 102", "TIC 104"]
    assert table["label"].tolist() == ["planet", "planet", "candidate"]
    assert table["kepmag"].tolist() == [11.5, 9.1, 10.0]  # the catalog's own column
    assert "flux_std" in table and "cdpp_1h" in table  # the stats family
    assert not [c for c in table.columns if c.startswith(("lsp_", "vet_", "seconds_"))]
    features = pd.read_parquet(finished / "features.parquet")
    assert table["flux_std"].tolist() == pytest.approx(features["flux_std"].tolist())


def test_export_parquet_with_failures(finished: Path, tmp_path: Path) -> None:
    path = tmp_path / "all.data"
    args = ["export", str(finished), "-o", str(path), "--format", "parquet", "--include-failures"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(path)
    assert sorted(table["target_id"]) == [f"TIC {i}" for i in range(100, 105)]
    assert table.set_index("target_id")["status"].to_dict() == {
        "TIC 100": "ok",
        "TIC 101": "failed",
        "TIC 102": "ok",
        "TIC 103": "failed",
        "TIC 104": "ok",
    }
    assert list(table.columns[:3]) == ["target_id", "label", "status"]
    assert table.loc[table["status"] == "failed", "label"].tolist() == ["false_positive"] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.txt"], "cannot tell the format of x.txt — name it .csv or .parquet"),
        (["-o", "x.csv", "--columns", "bls,nope"], "unknown column group(s) nope — choose from"),
    ],
)
def test_export_refuses_what_it_cannot_do(
    finished: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["export", str(finished), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}")


def test_log_file_records_failures_and_the_result(finished: Path, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "run.log"
    targets = tmp_path / "targets.csv"
    out = tmp_path / "logged"
    plugin = ["--extra-feature", "exo_test_plugins:fails_while_flagged"]
    args = ["run", str(targets), "--out", str(out), *QUICK, *plugin, "--quiet"]
    result = runner.invoke(app, [*args, "--log-file", str(log)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # --quiet: nothing on the terminal
    lines = log.read_text().splitlines()
    assert lines[0].split(" ", 1)[1].startswith("exoextract: 5 stars, 2 worker(s)")
    failed = [line for line in lines if " target TIC 10" in line]
    assert len(failed) == 2 and all("failed ValueError: flag file" in x for x in failed)
    assert lines[-1].endswith(f"run complete: failed 2, ok 3 of 5 stars in {out}")
    again = runner.invoke(app, ["resume", str(out), "--log-file", str(log), "--quiet"])
    assert again.exit_code == 0
    assert len(log.read_text().splitlines()) > len(lines)  # appended, not replaced
    bad = runner.invoke(app, [*args, "--log-file", str(targets / "run.log")])  # under a file
    assert bad.exit_code == 2
    assert bad.stderr.startswith("Error: cannot write the log file")
