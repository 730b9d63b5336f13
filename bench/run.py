"""``make bench``: speed and robustness numbers, each side by side with a baseline.

1. Supervisor overhead per no-op target: exoextract's supervisor versus a bare pebble pool
   and concurrent.futures (the floor both are built on).
2. A 100-target run with 10 % hostile targets versus the same run without them, and the
   same hostile batch through a plain ``ProcessPoolExecutor`` (what notebooks use).
3. The blind search on real light curves, fast (default) versus full.
4. CPU seconds and peak memory per star, from a Kepler quarter to four years of Kepler,
   beside the notebook pipeline and 0.1's exhaustive search (``bench/cost.py``).
5. Where the time goes: the per-family seconds columns of those rows.
6. Parallel efficiency with every core of this machine, input order versus biggest stars
   first, and a scheduling model of it for 16 workers (``bench/parallel.py``).
7. Runs of 100,000 targets: per-chunk bookkeeping beside 0.1's, end-to-end seconds per
   target, resume planning (``bench/scale.py``).
8. Seeing a 10,000-target run: status, report and export beside reading the table and
   beside one diagnostic sheet per star (``bench/report.py``).
9. The archive: a MAST run against a fake archive with the real one's latencies, beside the
   same stars from a local folder and the notebook way; ``plan`` of 12,000 targets
   (``bench/archive.py``).
10. Small runs: one star end to end, its compute, and the floor any fresh Python pays to
    import what a worker needs (``bench/startup.py``).

Run from the repository: ``make bench`` (or ``python bench/run.py --only 1,2``).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "plugins"))
# real light curves of WASP-18 (TESS) and Kepler-90 (Kepler), where a data folder has them
SHARED = Path(os.environ.get("EXOEXTRACT_REAL_DATA", REPO.parent / "shared" / "data"))
console = Console(width=130)

if TYPE_CHECKING:
    from exoextract.star.task import Task


def noop(x: Any) -> dict[str, Any]:
    return {"status": "ok", "data": {"x": x}}


# ---------------------------------------------------------------- 1. overhead
def bench_overhead(n: int) -> None:
    from pebble import ProcessPool

    from exoextract.execution.supervisor import Policy, Supervisor

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
    from exoextract.star.entry import run_task

    return str(run_task(task)["status"])


def bench_hostile(n: int) -> None:
    from exoextract.run.runner import start_run, tasks_for
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
        ctx.set_forkserver_preload(["exoextract.execution.preload"])
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


# ---------------------------------------------------------------- 3. period search, real data
def bench_search() -> None:
    """The blind search on real light curves: fast (fold-based, refined) versus full."""
    from exoextract import features
    from exoextract.features import FeatureContext
    from exoextract.lightcurves.lightcurve import stitch
    from exoextract.lightcurves.read import read_lightcurve
    from exoextract.science.clean import clean_lightcurve
    from exoextract.science.search.ffa import warmup
    from exoextract.settings import load_settings

    cases: list[tuple[str, list[Path], str]] = []
    tess = SHARED / "tess" / "tess2018234235059-s0002-0000000100100827-0121-s_lc.fits"
    kepler = sorted((SHARED / "kepler").rglob("*.fits"))
    if tess.exists():
        cases.append(("WASP-18 TESS sector 2", [tess], "0.94145 (WASP-18 b)"))
    if kepler:
        cases.append(("Kepler-90 quarters 3-5", kepler, "g 210.6, h 331.6 (1-2 transits)"))
    if not cases:
        console.print("3. Period search: skipped (no real light curves in EXOEXTRACT_REAL_DATA)")
        return
    warmup()
    table = Table(title="3. Blind search on real light curves: fast (default) versus full")
    for name in ("light curve", "mode", "periods", "BLS s", "TLS s", "BLS period", "TLS period"):
        table.add_column(name)
    table.add_column("expected")
    for label, paths, expected in cases:
        lc = stitch([read_lightcurve(p) for p in paths])
        for mode in ("fast", "full"):
            settings = load_settings(None, {"bls_mode": mode, "tls_mode": mode, "run_known": False})
            cleaned = clean_lightcurve(lc, settings)
            ctx = FeatureContext.of(cleaned, settings)
            chosen = [f for f in features.enabled(settings) if f.name in ("bls", "tls")]
            row = features.compute(ctx, chosen)
            table.add_row(
                label,
                mode,
                f"{int(row['bls_n_periods']):,}",
                f"{row['seconds_bls']:.2f}",
                f"{row['seconds_tls']:.2f}",
                f"{row['bls_period']:.5f}",
                f"{row['tls_period']:.5f}",
                expected,
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="1,2,3,4,6,7,8,9,10", help="comma-separated sections")
    parser.add_argument("--archive", type=int, default=200, help="stars in section 9")
    parser.add_argument("--scale", type=int, default=100_000, help="targets in section 7")
    parser.add_argument("--noop", type=int, default=2000, help="no-op targets in section 1")
    parser.add_argument("--targets", type=int, default=100, help="targets in section 2")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    if "1" in chosen:
        bench_overhead(args.noop)
    if "2" in chosen:
        bench_hostile(args.targets)
    if "3" in chosen:
        bench_search()
    if "4" in chosen:  # 4 and 5 (where the time goes) come from one run
        from cost import bench_cost

        bench_cost()
    if "6" in chosen:
        from parallel import bench_parallel

        bench_parallel()
    if "7" in chosen:
        from scale import bench_scale

        bench_scale(args.scale)
    if "8" in chosen:
        from report import bench_report

        bench_report()
    if "9" in chosen:
        from archive import bench_archive

        bench_archive(args.archive)
    if "10" in chosen:
        from startup import bench_startup

        bench_startup()


if __name__ == "__main__":
    main()
