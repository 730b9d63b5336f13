"""Running the real command line in a subprocess, and watching its processes."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
# A run long enough to interrupt: synthetic stars, each sleeping its row's `sleep` seconds
# in a plugin, on 2 workers, checkpointed every 2 targets.
SLOW_SYNTHETIC = [
    "--source",
    "synthetic",
    "--no-tls",
    "--no-bls",
    "--workers",
    "2",
    "--chunk-size",
    "2",
    "--extra-feature",
    "exo_test_plugins:slow",
]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE / "plugins"), str(HERE.parent)])
    return env


def start_cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "exoextract", *args],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_cli(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exoextract", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def live_processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process that is not a zombie."""
    table: dict[int, tuple[int, str]] = {}
    for process in psutil.process_iter(["ppid", "cmdline", "status"]):
        info = process.info
        if info["status"] == psutil.STATUS_ZOMBIE or info["ppid"] is None:
            continue
        table[process.pid] = (int(info["ppid"]), " ".join(info["cmdline"] or ()))
    return table


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (workers are grandchildren, via the forkserver)."""
    children: dict[int, list[int]] = {}
    for child, (parent, _) in live_processes().items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def describe(pids: set[int]) -> list[str]:
    """Command lines of the given processes (for failure messages)."""
    table = live_processes()
    return [f"{pid}: {table[pid][1][:120]}" for pid in sorted(pids) if pid in table]


def alive(pids: set[int]) -> set[int]:
    return pids & set(live_processes())


def marked_processes(marker: str = "exoextract-test-marker") -> list[int]:
    """Live processes whose command line carries the test marker (started by tasks)."""
    return sorted(
        pid for pid, (_, cmd) in live_processes().items() if marker in cmd and pid != os.getpid()
    )


def pool_workers() -> list[int]:
    """Live pool workers of this process: children of its forkserver."""
    table = live_processes()
    servers = {
        pid for pid, (parent, cmd) in table.items() if parent == os.getpid() and "forkserver" in cmd
    }
    return sorted(pid for pid, (parent, _) in table.items() if parent in servers)


def checkpoint_files(run_dir: Path) -> list[Path]:
    folder = run_dir / "checkpoints"
    return sorted(folder.glob("chunk-*.parquet")) if folder.is_dir() else []


def exoextract_once_then(path: Path, marker: Path, first_time: str) -> Path:
    """An executable that runs the shell lines ``first_time`` on its first call (``marker``
    remembers it), then, every time, the real exoextract: a fault injected once under
    run.sh."""
    path.write_text(
        "#!/usr/bin/env bash\n"
        f"if [ ! -e {marker} ]; then touch {marker}; {first_time}\nfi\n"
        f'exec {shlex.quote(sys.executable)} -m exoextract "$@"\n'
    )
    path.chmod(0o755)
    return path
