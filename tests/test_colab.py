"""scripts/colab: the notebook's run loop survives a killed runtime; setup installs."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd

from runhelpers import SLOW_SYNTHETIC, checkpoint_files, cli_env, exoextract_once_then, wait_for

REPO = Path(__file__).resolve().parent.parent
RUN_SH = REPO / "scripts" / "colab" / "run.sh"
SETUP_SH = REPO / "scripts" / "colab" / "setup.sh"
N = 14
OPTIONS = SLOW_SYNTHETIC


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = cli_env()
    env.update(
        EXOEXTRACT_BIN=f"{shlex.quote(sys.executable)} -m exoextract",
        EXOEXTRACT_CACHE_DIR=str(tmp_path / "local-disk" / "cache"),
        EXOEXTRACT_RETRY_DELAY="0",
    )
    env.update(extra)
    return env


def _targets(tmp_path: Path) -> Path:
    path = tmp_path / "targets.csv"
    rows = "\n".join(f"TIC {500 + i},0.4,label-{i}" for i in range(N))
    path.write_text(f"target,sleep,label\n{rows}\n")
    return path


def test_run_sh_killed_mid_run_then_run_again_completes_once(tmp_path: Path) -> None:
    targets = _targets(tmp_path)
    out = tmp_path / "drive" / "MyDrive" / "koi"
    command = ["bash", str(RUN_SH), str(targets), str(out), *OPTIONS]
    first = subprocess.Popen(
        command,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: len(checkpoint_files(out)) >= 2, 120, "two checkpoints on 'Drive'")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the runtime is reset: every process dies
        first.wait(timeout=10)
    printed = first.stdout.read() if first.stdout else ""
    assert f"run.sh: attempt 1: starting {out} from {targets}" in printed
    assert not (out / "features.parquet").exists()
    assert (tmp_path / "local-disk" / "cache").is_dir()  # the cache is off Drive

    second = subprocess.run(
        command, env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"run.sh: attempt 1: resuming {out}" in second.stdout
    assert f"run.sh: complete: {out}/features.parquet" in second.stdout
    assert "\x1b[" not in second.stdout + second.stderr  # plain lines in a `!` cell
    assert "progress: " in second.stderr
    table = pd.read_parquet(out / "features.parquet")
    assert sorted(table["target_id"]) == [f"TIC {500 + i}" for i in range(N)]
    assert table["target_id"].is_unique
    assert pd.read_parquet(out / "failures.parquet").empty


def test_run_sh_stops_on_a_user_error_without_looping(tmp_path: Path) -> None:
    bad = tmp_path / "targets.csv"
    bad.write_text("star\nfoo\n")
    result = subprocess.run(
        ["bash", str(RUN_SH), str(bad), str(tmp_path / "out"), *OPTIONS],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Error: " in result.stderr and "no id column" in result.stderr
    assert "run.sh: stopped: fix the error above" in result.stderr
    assert result.stdout.count("attempt") == 1


def test_run_sh_stops_at_once_when_exoextract_cannot_start(tmp_path: Path) -> None:
    """Not installed in this runtime (127) or not executable (126): no retry loop."""
    not_runnable = tmp_path / "exoextract-not-executable"
    not_runnable.write_text("#!/bin/sh\n")
    for binary, code in ((str(tmp_path / "missing" / "exoextract"), 127), (str(not_runnable), 126)):
        result = subprocess.run(
            ["bash", str(RUN_SH), str(_targets(tmp_path)), str(tmp_path / "out"), *OPTIONS],
            env=_env(tmp_path, EXOEXTRACT_BIN=binary, EXOEXTRACT_RETRY_DELAY="30"),
            capture_output=True,
            text=True,
            timeout=20,  # one retry would sleep 30 s
        )
        assert result.returncode == code, result.stdout + result.stderr
        assert f"could not be started (exit {code}" in result.stderr
        assert "run setup.sh in this runtime" in result.stderr
        assert result.stdout.count("attempt") == 1


def test_run_sh_resumes_an_incomplete_end_by_itself(tmp_path: Path) -> None:
    """exoextract killed under the loop (as the OOM killer would, after its first
    checkpoint) is resumed by the loop without the user."""
    targets = _targets(tmp_path)
    out = tmp_path / "drive" / "run"
    wrapper = exoextract_once_then(
        tmp_path / "exo-once-killed",
        tmp_path / "killed-once",
        f"(until ls {out}/checkpoints/chunk-* >/dev/null 2>&1; do sleep 0.05; done\n"
        "  kill -KILL $$ ) &",
    )
    result = subprocess.run(
        ["bash", str(RUN_SH), str(targets), str(out), *OPTIONS],
        env=_env(tmp_path, EXOEXTRACT_BIN=str(wrapper)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run.sh: exoextract ended with exit 137 (incomplete or killed)" in result.stdout
    assert "run.sh: attempt 2: resuming" in result.stdout
    table = pd.read_parquet(out / "features.parquet")
    assert sorted(table["target_id"]) == [f"TIC {500 + i}" for i in range(N)]


def test_setup_sh_installs_into_the_given_python(tmp_path: Path) -> None:
    """setup.sh on this environment's own interpreter: the install and the warm-ups run and
    the command answers (the packages are already there, so nothing is downloaded)."""
    env = dict(os.environ, PYTHON=sys.executable, PIP_NO_INPUT="1")
    result = subprocess.run(
        ["bash", str(SETUP_SH)], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "setup.sh: ready" in result.stdout
    assert "exoextract " in result.stdout


def test_setup_sh_refuses_an_old_python(tmp_path: Path) -> None:
    fake = tmp_path / "python3.9"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.9.18"; exit 0; fi\nexit 1\n'
    )
    fake.chmod(0o755)
    result = subprocess.run(
        ["bash", str(SETUP_SH)],
        env=dict(os.environ, PYTHON=str(fake)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"setup.sh: exoextract needs Python >= 3.11, but {fake} is Python 3.9.18 — "
        "set PYTHON=python3.11 (or newer)"
    )
