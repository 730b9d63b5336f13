"""Runs of 100,000 targets: bookkeeping that does not grow with the run (section 7).

* Bookkeeping per finished chunk (checkpoint write + manifest rewrite), in the first and
  the second half of a simulated run of ``n`` targets in chunks of 25, beside 0.1's way
  (the manifest rebuilt from every chunk's keys and the checkpoint folder listed twice per
  chunk), measured in the same run with the same store.
* ``n`` targets that have no data, end to end through ``start_run`` (every target a real
  task in a real worker): seconds per target, workers not recycled.
* Resume planning on that finished run: the keys and statuses of every checkpoint.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(width=150)
CHUNK = 25


def _rows(chunk: int) -> list[dict[str, Any]]:
    return [
        {"key": f"KIC {chunk * CHUNK + i}", "target_id": f"KIC {chunk * CHUNK + i}",
         "status": "no_data", "message": "no local data", "attempts": 1, "seconds": 0.01}
        for i in range(CHUNK)
    ]  # fmt: skip


def _old_bookkeeping(
    manifest: dict[str, Any], keys: list[list[str]], done: set[str], store: Any
) -> None:
    """0.1's per-chunk bookkeeping, kept here as the baseline."""
    manifest["chunks"] = [
        {"index": i, "keys": chunk, "state": "done" if all(k in done for k in chunk) else "pending"}
        for i, chunk in enumerate(keys)
    ]  # fmt: skip
    manifest["checkpoint_files"] = [p.name for p in store.files()]
    _ = [p.name for p in store.files()]  # 0.1 listed the folder again for the file's number


def _simulate(n: int, old: bool) -> tuple[float, float]:
    from exoextract.run.checkpoint import CheckpointStore, write_json
    from exoextract.run.folder import chunk_finished

    chunks = n // CHUNK
    keys = [[f"KIC {c * CHUNK + i}" for i in range(CHUNK)] for c in range(chunks)]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        store = CheckpointStore(run_dir)
        manifest: dict[str, Any] = {"progress": {"chunks": chunks, "chunks_done": 0,
                                                 "targets": n, "targets_done": 0}}  # fmt: skip
        done: set[str] = set()
        costs = []
        for chunk in range(chunks):
            rows = _rows(chunk)
            start = time.perf_counter()
            store.write(chunk, rows)
            done.update(r["key"] for r in rows)
            if old:
                _old_bookkeeping(manifest, keys, done, store)
            else:
                chunk_finished(manifest, len(rows))
            write_json(run_dir / "manifest.json", manifest, "")
            costs.append(time.perf_counter() - start)
    half = len(costs) // 2
    return sum(costs[:half]) / half * 1000, sum(costs[half:]) / (len(costs) - half) * 1000


def _end_to_end(n: int) -> tuple[float, float, float, int, float]:
    from exoextract.run.checkpoint import CheckpointStore
    from exoextract.run.runner import resume_run, start_run
    from exoextract.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        csv = root / "targets.csv"
        csv.write_text("kic\n" + "\n".join(str(10_000_000 + i) for i in range(n)) + "\n")
        settings = load_settings(
            None,
            {
                "source": "local",
                "data_dir": str(root / "data"),
                "max_tasks_per_worker": 0,
                "progress_interval": 1e9,
            },
        )
        start = time.perf_counter()
        result = start_run(csv, settings, out_dir=root / "run")
        wall = time.perf_counter() - start
        assert result.complete and result.counts == {"no_data": n}, result.counts
        start = time.perf_counter()
        done = CheckpointStore(root / "run").done_keys()
        planning = time.perf_counter() - start
        start = time.perf_counter()
        resumed = resume_run(root / "run")
        complete = time.perf_counter() - start
        assert resumed.complete and resumed.computed == 0
        return wall, wall / n * 1000, planning, len(done), complete


def bench_scale(n: int = 100_000, simulated: int = 20_000) -> None:
    table = Table(
        title=f"7a. Bookkeeping per finished chunk of {CHUNK}, simulated run of {simulated:,} "
        "targets (checkpoint write + manifest), ms"
    )
    for name in ("bookkeeping", "first half", "second half"):
        table.add_column(name, justify="right")
    for name, old in (("exoextract 0.2 (counters)", False), ("0.1 (every chunk's keys)", True)):
        first, second = _simulate(simulated, old)
        table.add_row(name, f"{first:.1f}", f"{second:.1f}")
    console.print(table)
    wall, per_target, planning, keys, complete = _end_to_end(n)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    end = Table(title=f"7b. {n:,} targets without data, end to end ({cores} workers, not recycled)")
    for name in ("wall s", "ms per target", "resume planning s (keys + statuses)", "keys read",
                 "resume of the complete run s"):  # fmt: skip
        end.add_column(name, justify="right")
    end.add_row(f"{wall:.0f}", f"{per_target:.2f}", f"{planning:.2f}", f"{keys:,}",
                f"{complete:.2f}")  # fmt: skip
    console.print(end)
