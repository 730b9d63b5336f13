"""``make bench``: speed and robustness numbers, each side by side with a baseline.

1. Supervisor overhead per no-op target: exoextract's supervisor versus a bare pebble pool
   and concurrent.futures (the floor both are built on).
2. A 100-target run with 10 % hostile targets versus the same run without them, and the
   same hostile batch through a plain ``ProcessPoolExecutor`` (what notebooks use).
3. BLS search: the bls family's bounded grid, durations per octave, versus astropy's
   ``autopower`` on real light curves.

Run from the repository: ``make bench`` (or ``python bench/run.py --only 1,2``).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "plugins"))
SHARED = REPO.parent / "shared" / "data"
console = Console(width=130)

if TYPE_CHECKING:
    from exoextract.task import Task


def noop(x: Any) -> dict[str, Any]:
    return {"status": "ok", "data": {"x": x}}


# ---------------------------------------------------------------- 1. overhead
def bench_overhead(n: int) -> None:
    from pebble import ProcessPool

    from exoextract.supervisor import Policy, Supervisor

    ctx = mp.get_context("forkserver")
    rows = []
    with ProcessPool(2, context=ctx) as pool:
        pool.schedule(noop, args=(0,)).result()  # start the workers
        start = time.perf_counter()
        futures = [pool.schedule(noop, args=(i,)) for i in range(n)]
        for f in futures:
            f.result()
        rows.append(
            ("bare pebble ProcessPool(2), all submitted at once", time.perf_counter() - start)
        )
    with cf.ProcessPoolExecutor(2, mp_context=ctx) as executor:
        executor.submit(noop, 0).result()
        start = time.perf_counter()
        list(executor.map(noop, range(n), chunksize=1))
        rows.append(("concurrent.futures ProcessPoolExecutor(2)", time.perf_counter() - start))
    policy = Policy(workers=2, timeout=60.0, max_tasks_per_worker=0)
    with Supervisor(noop, policy) as sup:
        list(sup.run([("warm", 0)]))
        start = time.perf_counter()
        outcomes = list(sup.run([(str(i), i) for i in range(n)]))
        elapsed = time.perf_counter() - start
    assert len(outcomes) == n
    rows.append(("exoextract Supervisor (timeouts, retries, reaping)", elapsed))
    policy = Policy(workers=2, timeout=60.0, max_tasks_per_worker=25)
    with Supervisor(noop, policy) as sup:
        start = time.perf_counter()
        list(sup.run([(str(i), i) for i in range(n)]))
        rows.append(
            ("exoextract Supervisor, workers recycled every 25", time.perf_counter() - start)
        )

    table = Table(title=f"1. Supervisor overhead: {n} no-op targets, 2 workers (goal < 5 ms)")
    table.add_column("pool")
    table.add_column("total s", justify="right")
    table.add_column("ms / target", justify="right")
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.2f}", f"{seconds / n * 1000:.2f}")
    console.print(table)


# ---------------------------------------------------------------- 2. hostile batch
HOSTILE = [
    "hang",
    "segfault",
    "exit",
    "sigkill",
    "raise",
    "memory",
    "hang_ignore_term",
    "child_hang",
    "unpicklable_exception",
    "hang",
]


def _batch_csv(folder: Path, n: int, hostile: bool) -> Path:
    lines = ["target,fault"]
    for i in range(n):
        fault = HOSTILE[i // 10] if hostile and i % 10 == 3 else ""
        lines.append(f"TIC {10_000 + i},{fault}")
    path = folder / ("hostile.csv" if hostile else "clean.csv")
    path.write_text("\n".join(lines) + "\n")
    return path


def _settings() -> Any:
    from exoextract.settings import load_settings

    return load_settings(
        None,
        {
            "source": "synthetic",
            "run_tls": False,
            "workers": 2,
            "timeout": 8.0,
            "retries": 1,
            "backoff_base": 0.2,
            "kill_grace": 1.0,
            "max_memory_per_worker": "1GB",
            "extra_features": ("exo_hostile:fault",),
            "chunk_size": 25,
        },
    )


def naive_target(task: Task) -> str:
    """What a notebook does: the same work, no supervision (a hang is bounded at 8 s)."""
    from exoextract.worker import run_task

    return str(run_task(task)["status"])


def bench_hostile(n: int) -> None:
    from exoextract.runner import start_run, tasks_for
    from exoextract.targets import read_targets

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for hostile in (False, True):
            csv = _batch_csv(folder, n, hostile)
            start = time.perf_counter()
            result = start_run(csv, _settings(), out_dir=folder / f"run-{hostile}")
            elapsed = time.perf_counter() - start
            rows.append(
                (
                    f"exoextract, {'10 % hostile' if hostile else 'no hostile targets'}",
                    elapsed,
                    dict(sorted(result.counts.items())),
                    n - sum(result.counts.values()),
                )
            )
        # baseline: the hostile batch through a plain ProcessPoolExecutor
        csv = _batch_csv(folder, n, True)
        targets = read_targets(csv)
        settings = _settings()
        tasks = tasks_for(targets.targets, settings, str(REPO / "tests" / "plugins"))
        counts: Counter[str] = Counter()
        start = time.perf_counter()
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["exoextract.preload"])
        executor = cf.ProcessPoolExecutor(2, mp_context=ctx)
        futures = [executor.submit(naive_target, task) for task in tasks]
        for future in futures:
            try:
                counts[future.result(timeout=8.0)] += 1
            except cf.TimeoutError:
                counts["hung (worker still running)"] += 1
            except cf.process.BrokenProcessPool:
                counts["lost: BrokenProcessPool"] += 1
        elapsed = time.perf_counter() - start
        for proc in list(getattr(executor, "_processes", {}).values()):
            proc.kill()
        executor.shutdown(wait=False, cancel_futures=True)
        rows.append(
            (
                "plain ProcessPoolExecutor(2), 10 % hostile",
                elapsed,
                dict(counts),
                counts["lost: BrokenProcessPool"],
            )
        )

    table = Table(title=f"2. {n} targets (statistics + plugin), 2 workers, timeout 8 s")
    table.add_column("run")
    table.add_column("wall s", justify="right")
    table.add_column("outcomes")
    table.add_column("targets without an outcome", justify="right")
    for name, seconds, outcome, lost in rows:
        table.add_row(
            name, f"{seconds:.1f}", ", ".join(f"{k}: {v}" for k, v in outcome.items()), str(lost)
        )
    console.print(table)


# ---------------------------------------------------------------- 3. BLS grids
def bench_bls() -> None:
    import numpy as np
    from astropy.timeseries import BoxLeastSquares

    from exoextract.clean import arrays, clean_lightcurve
    from exoextract.features.bls import period_grid, search_limits, segmented_power
    from exoextract.lcio import read_lightcurve, stitch
    from exoextract.settings import load_settings

    cases: list[tuple[str, list[Path], float | None]] = []
    tess = SHARED / "tess" / "tess2018234235059-s0002-0000000100100827-0121-s_lc.fits"
    kepler = sorted((SHARED / "kepler").rglob("*.fits"))
    if tess.exists():
        cases.append(("WASP-18 TESS sector 2", [tess], 0.94145))
    if kepler:
        cases.append(("Kepler-90 quarters 3-5", kepler, None))
    if not cases:
        console.print("3. BLS grids: skipped (no ../shared/data)")
        return
    settings = load_settings()
    table = Table(title="3. BLS search: exoextract (bounded grid, per-octave durations), autopower")
    for name in ("light curve", "grid", "periods", "seconds", "best period d"):
        table.add_column(name)
    for label, paths, _truth in cases:
        lc = stitch([read_lightcurve(p) for p in paths])
        t, y, dy = arrays(clean_lightcurve(lc, settings).flat)
        durations = np.array(sorted(settings.bls_durations_hours)) / 24
        durations = durations[durations < settings.period_min]
        model = BoxLeastSquares(t, y, dy)
        baseline, pmin, pmax = search_limits(t, settings.period_min, settings.period_max)
        grid = period_grid(baseline, pmin, pmax, float(durations[0]), settings.bls_oversample)
        start = time.perf_counter()
        result = segmented_power(model, grid, durations)  # what the bls family runs
        bounded = time.perf_counter() - start
        best = float(result["period"][np.argmax(result["power"])])
        table.add_row(label, "exoextract", str(grid.size), f"{bounded:.1f}", f"{best:.5f}")
        auto_grid = model.autoperiod(durations, minimum_period=pmin, maximum_period=pmax)
        if auto_grid.size > 400_000:
            table.add_row(label, "autopower", str(auto_grid.size), "skipped (too long)", "-")
            continue
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auto = model.power(auto_grid, durations, objective="likelihood")
        table.add_row(
            label,
            "autopower",
            str(auto_grid.size),
            f"{time.perf_counter() - start:.1f}",
            f"{float(auto.period[np.argmax(auto.power)]):.5f}",
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="1,2,3", help="comma-separated sections")
    parser.add_argument("--noop", type=int, default=2000, help="no-op targets in section 1")
    parser.add_argument("--targets", type=int, default=100, help="targets in section 2")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    if "1" in chosen:
        bench_overhead(args.noop)
    if "2" in chosen:
        bench_hostile(args.targets)
    if "3" in chosen:
        bench_bls()


if __name__ == "__main__":
    main()
