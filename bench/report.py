"""Seeing a 10,000-target run: status, report and export (section 8).

A real demo run (20 synthetic stars, every family) is made first; its rows are then
repeated to ``n`` targets with the numbers jittered by 10 % (so histograms and scatters
have 10,000 distinct points) and written as a finished run folder: ``n / 25`` checkpoint
files, the manifest, features.parquet. On that folder: ``status``, ``report`` (aggregate
figures only), ``export`` to CSV, and beside them the floor (reading features.parquet) and
the per-star way (one diagnostic sheet per target, timed on three real stars of the demo
run and multiplied out).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

console = Console(width=150)
CHUNK = 25


def _scaled_run(demo: Path, folder: Path, n: int) -> Path:
    from exoextract.run.checkpoint import CheckpointStore, write_json, write_parquet

    rng = np.random.default_rng(7)
    rows = pd.read_parquet(demo / "features.parquet")
    table = rows.iloc[np.arange(n) % len(rows)].reset_index(drop=True)
    for column in table.columns:
        if table[column].dtype == float and not column.startswith("seconds_"):
            table[column] = table[column] * rng.normal(1.0, 0.1, n)
    table["target_id"] = [f"TIC {10_000_000 + i}" for i in range(n)]
    run = folder / "run"
    store = CheckpointStore(run)
    outcome = table.assign(key=table["target_id"], status="ok", attempts=1, seconds=1.0)
    for chunk in range(0, n, CHUNK):
        part = outcome.iloc[chunk : chunk + CHUNK]
        store.write(
            chunk // CHUNK, [{str(k): v for k, v in r.items()} for r in part.to_dict("records")]
        )
    manifest = json.loads((demo / "manifest.json").read_text())
    manifest["progress"] = {"chunks": n // CHUNK, "chunks_done": n // CHUNK, "targets": n,
                            "targets_done": n}  # fmt: skip
    manifest["status"] = "complete"
    write_json(run / "manifest.json", manifest, "")
    write_parquet(run / "features.parquet", table, "")
    write_parquet(run / "failures.parquet", table.head(0)[["target_id"]], "")
    return run


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench_report(n: int = 10_000) -> None:
    from exoextract.cli.demo import run_demo
    from exoextract.report.page import build_report
    from exoextract.report.sheet import draw_sheet, sheet_data
    from exoextract.run.export import export_run
    from exoextract.run.status import run_status
    from exoextract.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        demo = run_demo(root / "demo", load_settings(None, {"workers": 2})).run.run_dir
        run = _scaled_run(demo, root, n)
        read = _timed(lambda: pd.read_parquet(run / "features.parquet"))
        status = _timed(lambda: run_status(run))
        report = _timed(lambda: build_report(run, root / "report.html"))
        size = (root / "report.html").stat().st_size / 1e6
        export = _timed(lambda: export_run(run, root / "table.csv"))
        names = ["TIC 90000100", "TIC 90000101", "KIC 9000200"]
        sheets = _timed(lambda: [draw_sheet(sheet_data(demo, name)) for name in names])
        shutil.rmtree(run / "checkpoints")
    table = Table(title=f"8. Seeing a run of {n:,} targets (one process), seconds")
    for name in ("what", "seconds", "note"):
        table.add_column(name, justify="right" if name == "seconds" else "left")
    table.add_row("read features.parquet (the floor)", f"{read:.2f}", "")
    table.add_row("exoextract status", f"{status:.2f}", f"{n // CHUNK} checkpoint files read")
    table.add_row("exoextract report (aggregate figures)", f"{report:.2f}", f"{size:.1f} MB HTML")
    table.add_row("exoextract export to CSV", f"{export:.2f}", "")
    per_sheet = sheets / len(names)
    table.add_row("one diagnostic sheet per star", f"{per_sheet * n:.0f}",
                  f"{per_sheet:.2f} s per sheet x {n:,} (measured on {len(names)})")  # fmt: skip
    console.print(table)
