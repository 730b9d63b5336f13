"""--executor dask: a real scheduler and real worker processes on 127.0.0.1, no mocks.

Each run goes through the command line in its own process group, as a user's would; the
faults are real (a SIGKILLed Dask worker, a hanging and a segfaulting target, a SIGKILLed
client) and every test ends by checking that no process of the run is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runhelpers import (
    SLOW_SYNTHETIC,
    alive,
    checkpoint_files,
    cli_env,
    descendants,
    live_processes,
    start_cli,
    wait_for,
)

pytestmark = pytest.mark.dask
DASK = ["--executor", "dask", "--workers", "2"]


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end; afterwards nothing it started may be alive."""
    proc = start_cli(args, cwd)
    seen: set[int] = set()
    try:
        while proc.poll() is None:
            seen |= descendants(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.5)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    wait_for(lambda: not alive(seen), 20, "the run's scheduler, workers and targets to exit")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _slow_run(targets: Path, out: Path) -> list[str]:
    """`run` on the Dask executor of synthetic stars that each sleep their row's seconds."""
    return ["run", str(targets), "--out", str(out), "--executor", "dask", *SLOW_SYNTHETIC]


def _dask_workers(pid: int) -> list[int]:
    """The Dask worker processes under the client (started by the nannies with spawn)."""
    table = live_processes()
    return sorted(p for p in descendants(pid) if "spawn_main" in table.get(p, (0, ""))[1])


def _targets(tmp_path: Path, rows: list[str], header: str = "target") -> Path:
    path = tmp_path / "targets.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_both_executors_give_the_same_features(tmp_path: Path) -> None:
    targets = _targets(tmp_path, [f"TIC {90000100 + i}" for i in range(8)])
    base = ["run", str(targets), "--source", "synthetic", "--json"]
    local = _run([*base, "--out", str(tmp_path / "local"), "--workers", "2"], tmp_path)
    dask = _run([*base, "--out", str(tmp_path / "dask"), *DASK], tmp_path)
    assert local.returncode == 0, local.stderr
    assert dask.returncode == 0, dask.stderr
    assert json.loads(dask.stdout)["counts"] == {"ok": 8}
    assert "started a local Dask cluster of 2 worker(s)" in json.loads(dask.stdout)["events"]
    a = pd.read_parquet(tmp_path / "local" / "features.parquet")
    b = pd.read_parquet(tmp_path / "dask" / "features.parquet")
    assert list(a.columns) == list(b.columns) and list(a["target_id"]) == list(b["target_id"])
    numbers = [c for c in a.columns if a[c].dtype == float and not c.startswith("seconds_")]
    assert len(numbers) > 100  # stats, variability, BLS, TLS, vetting
    np.testing.assert_allclose(a[numbers].to_numpy(), b[numbers].to_numpy(), rtol=1e-9)


def test_a_dask_worker_sigkilled_mid_run_loses_no_target(tmp_path: Path) -> None:
    rows = [f"TIC {600 + i},0.6" for i in range(14)]
    targets = _targets(tmp_path, rows, "target,sleep")
    out = tmp_path / "run"
    args = [*_slow_run(targets, out), "--json"]
    proc = start_cli(args, tmp_path)
    seen: set[int] = set()
    try:
        wait_for(lambda: len(checkpoint_files(out)) >= 1, 120, "a first checkpoint")
        workers = _dask_workers(proc.pid)
        assert len(workers) == 2, workers
        seen |= descendants(proc.pid)
        os.kill(workers[0], signal.SIGKILL)  # a node lost mid-run
        while proc.poll() is None:
            seen |= descendants(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.5)
        out_text, err_text = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err_text
    summary = json.loads(out_text)
    assert summary["complete"] is True and summary["counts"] == {"ok": 14}, summary["failures"][:3]
    table = pd.read_parquet(out / "features.parquet")
    assert sorted(table["target_id"]) == sorted(r.split(",")[0] for r in rows)
    assert table["target_id"].is_unique
    wait_for(lambda: not alive(seen), 20, "every process of the run to exit")


def test_hang_and_segfault_end_alone_on_dask(tmp_path: Path) -> None:
    rows = ["TIC 700,", "TIC 701,hang", "TIC 702,segfault", "TIC 703,", "TIC 704,child_hang"]
    targets = _targets(tmp_path, rows, "target,fault")
    out = tmp_path / "run"
    args = ["run", str(targets), "--out", str(out), *DASK, "--source", "synthetic", "--no-tls",
            "--no-bls", "--timeout", "3", "--retries", "1", "--json",
            "--extra-feature", "exo_hostile:fault"]  # fmt: skip
    result = _run(args, tmp_path)
    assert result.returncode == 0, result.stderr
    status = (
        pd.concat(
            [
                pd.read_parquet(out / "features.parquet").assign(status="ok"),
                pd.read_parquet(out / "failures.parquet"),
            ]
        )
        .set_index("target_id")["status"]
        .to_dict()
    )
    assert status == {
        "TIC 700": "ok",
        "TIC 701": "timed_out",  # killed at 3 s, retried once, killed again
        "TIC 702": "quarantined",  # killed its process twice
        "TIC 703": "ok",
        "TIC 704": "timed_out",  # and the process it started died with it (marker check)
    }


@pytest.mark.parametrize("resume_with", ["local", "dask"])
def test_client_sigkilled_then_resumed_with_either_executor(
    tmp_path: Path, resume_with: str
) -> None:
    rows = [f"TIC {800 + i},0.5" for i in range(12)]
    targets = _targets(tmp_path, rows, "target,sleep")
    out = tmp_path / "run"
    args = _slow_run(targets, out)
    proc = start_cli(args, tmp_path)
    try:
        wait_for(lambda: len(checkpoint_files(out)) >= 2, 120, "two checkpoints")
        started = descendants(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the notebook dies, its cluster with it
        proc.wait(timeout=10)
    wait_for(lambda: not alive(started), 20, "the killed run's processes to exit")
    resumed = _run(
        ["resume", str(out), "--executor", resume_with, "--workers", "2", "--json"], tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["previously_done"] >= 4
    assert summary["previously_done"] + summary["computed_this_session"] == 12
    table = pd.read_parquet(out / "features.parquet")
    assert sorted(table["target_id"]) == sorted(r.split(",")[0] for r in rows)
    assert table["target_id"].is_unique
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["executor"] == resume_with


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path: Path) -> None:
    targets = _targets(tmp_path, ["TIC 1"])
    env = dict(cli_env(), EXOEXTRACT_DASK_CONNECT_TIMEOUT="2")
    result = subprocess.run(
        [sys.executable, "-m", "exoextract", "run", str(targets), "--out", str(tmp_path / "r"),
         "--source", "synthetic", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:9 (")
    assert line.endswith("— check that it runs, the address and port, and the firewall")
    assert not (tmp_path / "r").exists()  # nothing written before the cluster answered


def test_without_distributed_the_error_says_how_to_install(tmp_path: Path) -> None:
    blocker = tmp_path / "blocked"
    (blocker / "distributed").mkdir(parents=True)
    (blocker / "distributed" / "__init__.py").write_text(
        "raise ImportError('No module named distributed')\n"
    )
    targets = _targets(tmp_path, ["TIC 1"])
    env = cli_env()
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), env["PYTHONPATH"]])
    result = subprocess.run(
        [sys.executable, "-m", "exoextract", "run", str(targets), "--out", str(tmp_path / "r"),
         "--source", "synthetic", "--executor", "dask"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: --executor dask needs the Dask extra — install it with "
        "pip install 'exoextract[dask]' (make install does)"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dask_cli(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.Popen[str]:
    dask = Path(sys.executable).with_name("dask")
    return subprocess.Popen(
        [str(dask), *args], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip


@pytest.mark.parametrize("daemon", [False, True])
def test_a_remote_scheduler_with_dask_worker_processes(tmp_path: Path, daemon: bool) -> None:
    """`dask scheduler` and two `dask worker` processes, as on a cluster: default (daemonic,
    as dask-jobqueue, Coiled and the Kubernetes operator start them) and non-daemonic
    workers alike run the targets in processes of their own, killed at the time limit."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(cli_env(), DASK_DISTRIBUTED__WORKER__DAEMON=str(daemon))
    cluster = [_dask_cli(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                          "--no-dashboard"], env, tmp_path)]  # fmt: skip
    try:
        for _ in range(2):
            cluster.append(_dask_cli(["worker", address, "--nthreads", "1", "--no-dashboard"],
                                     env, tmp_path))  # fmt: skip
        rows = ["TIC 90000100,", "TIC 90000101,", "TIC 90000102,hang", "TIC 90000103,"]
        targets = _targets(tmp_path, rows, "target,fault")
        out = tmp_path / "run"
        args = ["run", str(targets), "--out", str(out), "--source", "synthetic", "--no-tls",
                "--executor", "dask", "--scheduler", address, "--timeout", "3", "--retries",
                "0", "--extra-feature", "exo_hostile:fault", "--json"]  # fmt: skip
        result = _run(args, tmp_path)
    finally:
        for proc in cluster:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in cluster:
            proc.wait(timeout=30)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"ok": 3, "timed_out": 1}
    assert f"connected to the Dask scheduler at {address}" in summary["events"]
    [failure] = summary["failures"]
    assert failure["target_id"] == "TIC 90000102" and failure["status"] == "timed_out"


def test_ctrl_c_on_the_client_checkpoints_and_says_how_to_resume(tmp_path: Path) -> None:
    rows = [f"TIC {900 + i},0.5" for i in range(16)]
    targets = _targets(tmp_path, rows, "target,sleep")
    out = tmp_path / "run"
    args = _slow_run(targets, out)
    proc = start_cli(args, tmp_path)
    try:
        wait_for(lambda: len(checkpoint_files(out)) >= 1, 120, "a first checkpoint")
        started = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert f"resume with: exoextract resume {out}" in err
    wait_for(lambda: not alive(started), 30, "the cluster's processes to exit")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    resumed = _run(["resume", str(out), "--json"], tmp_path)
    assert json.loads(resumed.stdout)["counts"] == {"ok": 16}


def test_the_archive_is_searched_in_batches_on_the_client(tmp_path: Path) -> None:
    """A cluster run of the archive source: one search for the batch from the client, and
    each worker downloads its own target's files, at most --max-downloads at once."""
    from dataclasses import replace as with_

    from exoextract.science.synthetic import spec_for, write_fits

    from fakemast import FakeMast

    ids = []
    for i in range(6):
        write_fits(with_(spec_for(8_200_000 + i, "Kepler"), segments=2), tmp_path / "archive")
        ids.append(f"KIC {8_200_000 + i}")
    targets = _targets(tmp_path, [*ids, "KIC 5"])
    with FakeMast(tmp_path / "archive", file_latency=0.3) as mast:
        args = ["run", str(targets), "--out", str(tmp_path / "run"), "--source", "mast",
                "--mast-url", mast.url, "--cache-dir", str(tmp_path / "cache"), "--no-tls",
                "--no-bls", "--max-downloads", "1", *DASK, "--json"]  # fmt: skip
        result = _run(args, tmp_path)
        requests = dict(mast.requests)
        downloads = sum(mast.downloads.values())
        in_flight = mast.max_in_flight
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"] == {"ok": 6, "no_data": 1}
    assert requests == {"Mast.Caom.Filtered": 1, "Mast.Caom.Products": 1}
    assert downloads == 12
    assert in_flight == 1
