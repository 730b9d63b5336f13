"""Parallel efficiency with every core of this machine (``make bench`` section 6).

A batch of archive-format files of 17 Kepler quarters and 3 two-year Kepler stars, listed
big ones last (a catalog is not sorted by size), runs through ``start_run`` with one
worker, then with one worker per core in the input's order and biggest stars first.
Efficiency = the stars' own compute (their seconds_* columns, from the one-worker run) /
(workers x wall time): the pool's start-up (a few seconds, once per run) counts against it.

The model: greedy list scheduling (each star goes to the first free worker) of the
per-star seconds measured in the one-worker run, which predicts the measured wall time
and extrapolates to 16 workers on 96 stars of the same two sizes.
"""

from __future__ import annotations

import heapq
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console(width=150)
QUARTERS, LONG = 17, 3


def makespan(costs: list[float], workers: int) -> float:
    """Wall time of list scheduling: each star, in order, to the first free worker."""
    free = [0.0] * workers
    for cost in costs:
        start = heapq.heappop(free)
        heapq.heappush(free, start + cost)
    return max(free)


def efficiency(costs: list[float], workers: int) -> float:
    return sum(costs) / (workers * makespan(costs, workers))


def _batch(root: Path) -> Path:
    from exoextract.science.synthetic import StarSpec, write_fits

    lines = ["target"]
    for i in range(QUARTERS + LONG):
        long = i >= QUARTERS
        number = 91_000_000 + i
        spec = StarSpec(
            number=number,
            mission="Kepler",
            kind="planet",
            period=7.3 + i,
            t0=1.1,
            depth=0.001,
            duration=0.15,
            noise=2e-4,
            segments=8 if long else 1,
            seed=number,
        )
        write_fits(spec, root / "data")
        lines.append(f"KIC {number}")
    csv = root / "targets.csv"
    csv.write_text("\n".join(lines) + "\n")
    return csv


def _run(csv: Path, out: Path, workers: int, schedule: str) -> tuple[float, dict[str, float]]:
    import pandas as pd

    from exoextract.run.runner import start_run
    from exoextract.settings import load_settings

    settings = load_settings(
        None,
        {
            "source": "local",
            "data_dir": str(csv.parent / "data"),
            "workers": workers,
            "schedule": schedule,
            "run_known": False,
        },
    )
    start = time.perf_counter()
    result = start_run(csv, settings, out_dir=out)
    wall = time.perf_counter() - start
    table = pd.read_parquet(out / "features.parquet")
    seconds = [c for c in table.columns if c.startswith("seconds_")]
    per_star = dict(zip(table["target_id"], table[seconds].sum(axis=1), strict=True))
    assert result.counts.get("ok") == QUARTERS + LONG, result.counts
    return wall, per_star


def bench_parallel() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(1, cores or 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv = _batch(root)
        one, per_star = _run(csv, root / "one", 1, "input")
        order = [per_star[t] for t in sorted(per_star, key=lambda t: int(t.split()[-1]))]
        work = sum(order)
        rows = [("1 worker", 1, one, work / one, makespan(order, 1))]
        for schedule in ("input", "biggest-first"):
            wall, _ = _run(csv, root / schedule, cores, schedule)
            costs = order if schedule == "input" else sorted(order, reverse=True)
            rows.append((schedule, cores, wall, work / (cores * wall), makespan(costs, cores)))
    table = Table(
        title=f"6. Parallel efficiency on this machine: {QUARTERS} Kepler quarters + {LONG} "
        "two-year stars (listed last), one worker per core"
    )
    for name in (
        "schedule",
        "workers",
        "wall s",
        "efficiency (measured)",
        "model wall s (list scheduling of measured star costs)",
    ):
        table.add_column(name, justify="right")
    for name, workers, wall, eff, model in rows:
        table.add_row(name, str(workers), f"{wall:.1f}", f"{eff:.2f}", f"{model:.1f}")
    console.print(table)

    quarter = sum(order[:QUARTERS]) / QUARTERS
    long = sum(order[QUARTERS:]) / LONG
    projection = Table(
        title=f"Model, 16 workers: 96 stars, per-star seconds measured above "
        f"(quarter {quarter:.2f} s, two years {long:.2f} s)"
    )
    for name in ("batch", "input order", "biggest first"):
        projection.add_column(name, justify="right")
    batches = {
        "96 quarters": [quarter] * 96,
        "80 quarters, then 16 two-year stars": [quarter] * 80 + [long] * 16,
        "84 quarters, then 12 two-year stars": [quarter] * 84 + [long] * 12,
    }
    for name, costs in batches.items():
        projection.add_row(
            name,
            f"{efficiency(costs, 16):.2f}",
            f"{efficiency(sorted(costs, reverse=True), 16):.2f}",
        )
    console.print(projection)
