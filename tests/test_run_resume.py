"""Whole runs in a real subprocess: SIGKILL or Ctrl-C mid-run, then resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest

from runhelpers import (
    SLOW_SYNTHETIC,
    alive,
    checkpoint_files,
    descendants,
    run_cli,
    start_cli,
    wait_for,
)

N = 12
BASE = [*SLOW_SYNTHETIC, "--quiet"]


@pytest.fixture
def targets(tmp_path: Path) -> Path:
    rows = "\n".join(f"TIC {300 + i},{0.5},label-{i}" for i in range(N))
    path = tmp_path / "targets.csv"
    path.write_text(f"target,sleep,label\n{rows}\n")
    return path


def all_rows(run_dir: Path) -> pd.DataFrame:
    ok = pd.read_parquet(run_dir / "features.parquet")
    bad = pd.read_parquet(run_dir / "failures.parquet")
    return pd.concat([ok, bad], ignore_index=True)


def test_sigkill_mid_run_then_resume_is_exact(tmp_path: Path, targets: Path) -> None:
    run_dir = tmp_path / "killed"
    proc = start_cli(["run", str(targets), "--out", str(run_dir), *BASE], tmp_path)
    wait_for(lambda: len(checkpoint_files(run_dir)) >= 2, 120, "two checkpoints")
    workers = descendants(proc.pid)
    assert workers, "the run should have a forkserver and workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert not (run_dir / "features.parquet").exists()
    wait_for(lambda: not alive(workers), 10, "orphaned workers to exit by themselves")

    resumed = run_cli(["resume", str(run_dir), "--json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["previously_done"] >= 4
    assert summary["previously_done"] + summary["computed_this_session"] == N

    reference = tmp_path / "reference"
    straight = run_cli(["run", str(targets), "--out", str(reference), *BASE], tmp_path)
    assert straight.returncode == 0, straight.stderr

    got, want = all_rows(run_dir), all_rows(reference)
    assert sorted(got["target_id"]) == sorted(want["target_id"])
    assert got["target_id"].is_unique
    columns = ["target_id", "label", "n_points", "flux_std", "cdpp_1h", "slept"]
    pd.testing.assert_frame_equal(
        got[columns].sort_values("target_id").reset_index(drop=True),
        want[columns].sort_values("target_id").reset_index(drop=True),
    )


def test_ctrl_c_checkpoints_and_says_how_to_resume(tmp_path: Path, targets: Path) -> None:
    run_dir = tmp_path / "interrupted"
    proc = start_cli(["run", str(targets), "--out", str(run_dir), *BASE], tmp_path)
    wait_for(lambda: len(checkpoint_files(run_dir)) >= 1, 120, "a checkpoint")
    workers = descendants(proc.pid)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"resume with: exoextract resume {run_dir}" in stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    done = pd.concat([pd.read_parquet(p) for p in checkpoint_files(run_dir)])
    assert done["key"].is_unique and len(done) < N
    wait_for(lambda: not alive(workers - {proc.pid}), 10, "workers to stop")

    resumed = run_cli(["resume", str(run_dir), "--json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["previously_done"] == len(done)
    rows = all_rows(run_dir)
    assert sorted(rows["target_id"]) == sorted(f"TIC {300 + i}" for i in range(N))


def test_sigterm_exits_143(tmp_path: Path, targets: Path) -> None:
    run_dir = tmp_path / "terminated"
    proc = start_cli(["run", str(targets), "--out", str(run_dir), *BASE], tmp_path)
    wait_for(lambda: len(checkpoint_files(run_dir)) >= 1, 120, "a checkpoint")
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert "resume with: exoextract resume" in stderr


def test_disk_full_at_a_checkpoint_then_resume(tmp_path: Path, targets: Path) -> None:
    import resource
    import subprocess
    import sys

    from runhelpers import cli_env

    run_dir = tmp_path / "full"
    limit = 10_000  # the manifest fits; a Parquet chunk does not

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "exoextract", "run", str(targets), "--out", str(run_dir), *BASE],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=small_files,
    )
    assert proc.returncode == 3, proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"Error: cannot write {run_dir}/checkpoints/chunk-00000-0000.parquet: File too large — "
            f"free some disk space, then run: exoextract resume {run_dir}"
        )
    )
    leftovers = list((run_dir / "checkpoints").iterdir())
    assert all(p.name.endswith(".tmp") for p in leftovers) and not checkpoint_files(run_dir)

    resumed = run_cli(["resume", str(run_dir), "--json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(all_rows(run_dir)["target_id"]) == sorted(f"TIC {300 + i}" for i in range(N))
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_resuming_a_complete_run_reads_nothing_again(tmp_path: Path) -> None:
    """A finished run resumes at once from its summary; a changed input or --retry-failed
    takes the full path."""
    from exoextract.run.runner import resume_run, start_run
    from exoextract.settings import load_settings

    csv = tmp_path / "targets.csv"
    csv.write_text("target\n" + "\n".join(f"TIC {400 + i}" for i in range(6)) + "\n")
    settings = load_settings(None, {"source": "synthetic", "run_tls": False, "workers": 1})
    first = start_run(csv, settings, out_dir=tmp_path / "run")
    assert first.complete
    stamp = first.features_path.stat().st_mtime_ns  # type: ignore[union-attr]
    again = resume_run(tmp_path / "run")
    assert again.complete and again.counts == first.counts
    assert again.computed == 0 and again.previously_done == 6
    assert again.warnings == ["the run was already complete: nothing to do"]
    assert again.features_path.stat().st_mtime_ns == stamp  # type: ignore[union-attr]
    retried = resume_run(tmp_path / "run", retry_failed=True)
    assert retried.features_path.stat().st_mtime_ns != stamp  # type: ignore[union-attr]
    csv.write_text(csv.read_text() + "TIC 999\n")
    with pytest.raises(Exception, match="changed since the run started"):
        resume_run(tmp_path / "run")


def test_ctrl_c_says_it_is_stopping_and_a_second_stops_at_once(tmp_path: Path) -> None:
    import threading
    import time

    path = tmp_path / "targets.csv"
    rows = [f"TIC {400 + i},{0.2 if i < 2 else 60},x" for i in range(8)]
    path.write_text("target,sleep,label\n" + "\n".join(rows) + "\n")
    run_dir = tmp_path / "stopped"
    proc = start_cli(["run", str(path), "--out", str(run_dir), *SLOW_SYNTHETIC], tmp_path)
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        lines.extend(iter(proc.stderr.readline, ""))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: len(checkpoint_files(run_dir)) >= 1, 120, "a checkpoint")
    time.sleep(1.0)  # the 60-second stars are running
    os.kill(proc.pid, signal.SIGINT)
    wait_for(lambda: any(x.startswith("note: stopping: ") for x in lines), 10, "stopping")
    said = next(x for x in lines if x.startswith("note: stopping: "))
    assert "press Ctrl-C again to stop at once" in said
    started = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    # not communicate(): it would read stderr too, racing the reader thread for its lines
    proc.wait(timeout=30)  # what it prints is far below a pipe's buffer
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    reader.join(timeout=5)
    assert proc.returncode == 130
    assert time.monotonic() - started < 15  # not the 60 s the running stars would take
    assert any(x.startswith("note: stopping now") for x in lines)
    table = [[c.strip() for c in x.split("│")[1:-1]] for x in stdout.splitlines() if "│" in x]
    assert ["ok", "2"] in table and ["not finished", "6"] in table and ["total", "8"] in table


OLD_RUN = Path(__file__).resolve().parent / "data" / "run-before-rooms"


def test_a_run_folder_made_before_the_package_moved_into_rooms_resumes(tmp_path: Path) -> None:
    """A run folder written by the code before its modules moved into folders (commit
    0eb67ab: three synthetic stars, the test plugin sleeping 0, 7 and 7 s, stopped by SIGTERM
    with two stars checkpointed) resumes with today's code: the third star is computed, the
    two finished are not, and the tables are whole. Only the manifest's two absolute paths
    (the input and the plugin folder, from the machine that made it) are pointed here."""
    run = tmp_path / "run"
    shutil.copytree(OLD_RUN, run)
    shutil.move(run / "targets.csv", tmp_path / "targets.csv")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    manifest["input"]["path"] = str(tmp_path / "targets.csv")
    manifest["plugin_path"] = str(tmp_path)
    (run / "manifest.json").write_text(json.dumps(manifest))
    before = pd.concat(pd.read_parquet(p) for p in sorted((run / "checkpoints").glob("*.parquet")))
    done = run_cli(["resume", str(run), "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["complete"] and result["counts"] == {"ok": 3}
    assert result["computed_this_session"] == 1 and result["previously_done"] == 2
    features = pd.read_parquet(run / "features.parquet")
    assert features["target_id"].tolist() == ["TIC 301", "TIC 302", "TIC 303"]
    assert features["slept"].tolist() == [0.0, 7.0, 7.0]
    kept = features[features["target_id"] != "TIC 303"].reset_index(drop=True)
    assert kept["n_points"].tolist() == before.sort_values("key")["n_points"].tolist()
