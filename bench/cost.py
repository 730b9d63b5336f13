"""Cost per star on one core, side by side in one run (``make bench`` sections 4 and 5).

Section 4: the same archive-format FITS files of a synthetic planet host (a Kepler
quarter, a TESS 2-minute sector, two years of Kepler, two TESS sectors a year apart, four
years of Kepler) through

* ``exoextract``: one worker's whole job for the star (read, clean, every default feature
  family), with the default fast search;
* ``notebook``: what notebooks do — ``lk.read`` each file, stitch, ``flatten()``,
  lightkurve's BLS periodogram with its defaults, then ``transitleastsquares(...).power()``
  with its defaults (one thread, so CPU seconds compare);
* ``exhaustive``: exoextract with ``bls_mode = tls_mode = "full"`` (0.1's search over
  every period, kept as an option);
* ``before``: the same job on the code of ``make bench BASELINE=<git ref>`` (the commit
  before a change; ``bench/baseline.py``), so every figure stands beside its old value.

Each job runs in a fresh process (so the peak resident memory is that job's), after
importing and loading the compiled kernels, as a worker would have them; CPU seconds are
the process's own. Section 5 reads the per-family seconds columns of the exoextract rows.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import multiprocessing as mp
import os
import resource
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(width=150)


@dataclass(frozen=True)
class Case:
    name: str
    mission: str
    segments: int
    step: int
    period: float
    depth: float
    baselines: tuple[str, ...]  # which comparison pipelines run on it
    goal_seconds: float
    goal_speedup: float


CASES = (
    Case("Kepler quarter", "Kepler", 1, 1, 9.71, 0.0012, ("notebook",), 0.2, 15.0),
    Case("TESS 2-min sector", "TESS", 1, 1, 3.29, 0.004, ("notebook",), 0.12, 15.0),
    Case("Kepler, 2 years", "Kepler", 8, 1, 37.4, 0.0009, ("notebook",), 2.0, 50.0),
    Case("TESS, 2 sectors a year apart", "TESS", 2, 13, 4.87, 0.004, ("notebook",), 0.5, 10.0),
    Case("Kepler, 4 years", "Kepler", 16, 1, 123.6, 0.0009, ("exhaustive",), 3.0, 10.0),
)


def _spec(case: Case, number: int) -> Any:
    from exoextract.science.synthetic import StarSpec

    return StarSpec(
        number=number,
        mission=case.mission,
        kind="planet",
        period=case.period,
        t0=1.3,
        depth=case.depth,
        duration=13 / 24 * (case.period / 365.25) ** (1 / 3),
        noise=2e-4 if case.mission == "Kepler" else 8e-4,
        segments=case.segments,
        segment_step=case.step,
        first_segment=1,
        seed=number,
    )


def _module(name: str, before_rooms: str) -> Any:
    """A module by its name today, or by ``before_rooms``, its name in a tree from before
    the package moved into room folders (a baseline such as 3cf8c1c). The older name is
    tried first: in a baseline's process the installed tree would otherwise lend it today's
    modules beside the baseline's own."""
    for candidate in (before_rooms, name):
        try:
            return importlib.import_module(candidate)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(name)


def _warm() -> None:
    """What a worker has before its first target: imports and compiled kernels (what the
    forkserver imports for every worker)."""
    _module("exoextract.execution.preload", "exoextract.preload")


def _job(args: tuple[str, str, list[str], str, int, str]) -> dict[str, Any]:
    pipeline, case_name, paths, mission, number, tree = args
    if tree:  # the baseline's package before the installed one, in this fresh process
        import sys

        sys.path.insert(0, tree)
    _warm()
    start = time.process_time()
    if pipeline == "notebook":
        found = _notebook(paths)
        row: dict[str, Any] = {}
    else:
        row = _exoextract(paths, mission, number, full=pipeline == "exhaustive")
        if tree:
            import exoextract

            assert str(Path(exoextract.__file__).resolve()).startswith(tree), "baseline not loaded"
        found = row.get("tls_period", float("nan"))
    cpu = time.process_time() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "pipeline": pipeline,
        "case": case_name,
        "cpu": cpu,
        "rss": peak,
        "period": found,
        "seconds": {k: v for k, v in row.items() if k.startswith("seconds_")},
    }


def _exoextract(paths: list[str], mission: str, number: int, full: bool) -> dict[str, Any]:
    from exoextract.settings import load_settings

    extract = _module("exoextract.star.extract", "exoextract.extract").extract
    tasks = _module("exoextract.star.task", "exoextract.task")
    Task, Candidate = tasks.Task, tasks.Candidate
    overrides = {"bls_mode": "full", "tls_mode": "full"} if full else {}
    task = Task(
        key=str(number),
        target_id=str(number),
        mission=mission,
        number=number,
        settings=load_settings(None, {"source": "local", **overrides}),
        candidates=(Candidate(key=str(number)),),
        paths=tuple(paths),
    )
    rows, _, _ = extract(task)
    return rows[str(number)]


def _notebook(paths: list[str]) -> float:
    import lightkurve as lk
    import numpy as np
    from transitleastsquares import transitleastsquares

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        lc = lk.LightCurveCollection([lk.read(p) for p in paths]).stitch()
        flat = lc.remove_nans().flatten()
        flat.to_periodogram(method="bls")  # lightkurve's defaults
        t = np.asarray(flat.time.value, dtype=float)
        y = np.asarray(flat.flux.value, dtype=float)
        dy = np.asarray(flat.flux_err.value, dtype=float)
        result = transitleastsquares(t, y, dy, verbose=False).power(
            use_threads=1, show_progress_bar=False, verbose=False
        )
    return float(result.period)


def bench_cost(workers: int = 2, only: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    from baseline import baseline_tree

    from exoextract.science.synthetic import write_fits

    tree, about = baseline_tree()
    console.print(f"section 4 and 5 compare with the {about}")
    cases = [c for c in CASES if not only or c.name in only]
    with tempfile.TemporaryDirectory() as tmp:
        jobs = []
        for i, case in enumerate(cases):
            number = 90_000_100 + i
            paths = [str(p) for p in write_fits(_spec(case, number), Path(tmp))]
            for pipeline in ("exoextract", *case.baselines):
                jobs.append((pipeline, case.name, paths, case.mission, number, ""))
            if tree is not None:
                jobs.append(("before", case.name, paths, case.mission, number, str(tree)))
        # the long baselines first, so both cores stay busy to the end
        jobs.sort(key=lambda j: (j[0] == "exoextract", -len(j[2])))
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, maxtasksperchild=1) as pool:
            results = pool.map(_job, jobs, chunksize=1)
    _print_cost(cases, results)
    _print_families(cases, results)
    return results


def _print_cost(cases: list[Case], results: list[dict[str, Any]]) -> None:
    table = Table(
        title="4. CPU seconds per star, full default feature set, one core (same run); "
        "peak resident memory of the job's process"
    )
    for name in (
        "light curve",
        "points",
        "exoextract CPU-s",
        "goal",
        "compared with",
        "its CPU-s",
        "speed-up",
        "goal",
        "before CPU-s",
        "× faster",
        "periods found (true)",
        "peak RSS (before)",
    ):
        table.add_column(name, justify="right" if name != "light curve" else "left")
    by = {(r["pipeline"], r["case"]): r for r in results}
    for case in cases:
        ours = by[("exoextract", case.name)]
        other_name = case.baselines[0]
        other = by.get((other_name, case.name))
        speedup = other["cpu"] / ours["cpu"] if other else float("nan")
        before = by.get(("before", case.name))
        periods = f"{ours['period']:.4f}"
        if other:
            periods += f" / {other['period']:.4f}"
        table.add_row(
            case.name,
            _points(case),
            f"{ours['cpu']:.2f}",
            f"≤ {case.goal_seconds:g}",
            {"notebook": "notebook pipeline", "exhaustive": "exhaustive (0.1)"}[other_name],
            f"{other['cpu']:.1f}" if other else "-",
            f"{speedup:.0f}×",
            f"≥ {case.goal_speedup:g}×",
            f"{before['cpu']:.2f}" if before else "-",
            f"{before['cpu'] / ours['cpu']:.1f}×" if before else "-",
            f"{periods} ({case.period})",
            f"{ours['rss'] / 2**20:.0f} MB"
            + (f" ({before['rss'] / 2**20:.0f} MB)" if before else ""),
        )
    console.print(table)


def _print_families(cases: list[Case], results: list[dict[str, Any]]) -> None:
    rows = [r for r in results if r["pipeline"] in ("exoextract", "before")]
    # families that never reach a hundredth of a second share one column
    every = {k for r in rows for k in r["seconds"]}
    names = sorted(
        (k for k in every if any(r["seconds"].get(k, 0.0) >= 0.01 for r in rows)),
        key=_family_order,
    )
    small = sorted(every - set(names))
    table = Table(
        title="5. Where the time goes: seconds_* columns of the rows (share of the star's CPU-s), "
        "now and before"
    )
    table.add_column("light curve")
    table.add_column("code")
    for name in names:
        table.add_column(name.removeprefix("seconds_"), justify="right")
    table.add_column("the others", justify="right")
    table.add_column("outside the families", justify="right")
    for case in cases:
        for pipeline in ("exoextract", "before"):
            row = next(
                (r for r in rows if r["case"] == case.name and r["pipeline"] == pipeline), None
            )
            if row is None:
                continue
            cells = []
            for n in names:
                value = row["seconds"].get(n, float("nan"))
                cells.append(f"{value:.2f} ({100 * value / row['cpu']:.0f}%)")
            others = sum(row["seconds"].get(n, 0.0) for n in small)
            cells.append(f"{others:.2f}")
            rest = row["cpu"] - sum(v for v in row["seconds"].values() if not math.isnan(v))
            table.add_row(
                case.name if pipeline == "exoextract" else "",
                "now" if pipeline == "exoextract" else "before",
                *cells,
                f"{rest:.2f}",
            )
    table.caption = "the others: " + ", ".join(n.removeprefix("seconds_") for n in small)
    console.print(table)
    _print_projection(results)


# Catalogue sizes a user plans by (about; the archive's tables grow): the KOI table's stars,
# each four years of Kepler, and the TOI table's stars, taken as two TESS sectors each.
KOI_STARS = 8_000
TOI_STARS = 7_000
COLAB_CORES = 2


def _print_projection(results: list[dict[str, Any]]) -> None:
    table = Table(
        title=f"Projection: a whole catalogue on Colab's {COLAB_CORES} vCPUs "
        "(CPU-s a star measured above; both cores busy)"
    )
    for name in ("catalogue", "stars", "light curve per star", "now", "before", "goal"):
        left = name in ("catalogue", "light curve per star")
        table.add_column(name, justify="left" if left else "right")
    plans = (
        ("KOI table (Kepler)", KOI_STARS, "Kepler, 4 years", 4.0),
        ("TOI table (TESS)", TOI_STARS, "TESS, 2 sectors a year apart", float("nan")),
    )
    by = {(r["pipeline"], r["case"]): r["cpu"] for r in results}
    for name, stars, case, goal in plans:
        now = by.get(("exoextract", case))
        before = by.get(("before", case))
        table.add_row(
            name,
            f"{stars:,}",
            case,
            f"{stars * now / COLAB_CORES / 3600:.1f} h" if now else "-",
            f"{stars * before / COLAB_CORES / 3600:.1f} h" if before else "-",
            f"≤ {goal:g} h" if not math.isnan(goal) else "-",
        )
    console.print(table)


def _family_order(name: str) -> int:
    order = ["read", "clean", "stats", "variability", "bls", "signals", "tls", "vet", "known"]
    short = name.removeprefix("seconds_")
    return order.index(short) if short in order else len(order)


def _points(case: Case) -> str:
    import numpy as np

    from exoextract.science.synthetic import make_segments

    spec = replace(_spec(case, 1), seed=1)
    return f"{sum(int(np.size(s['time'])) for s in make_segments(spec)):,}"
