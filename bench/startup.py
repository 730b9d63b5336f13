"""Small runs: where a one-star run's wall time goes (``make bench`` section 10).

One star written in the archive's format (a TESS 2-minute sector; four years of Kepler, 16
quarter files), run end to end as a user runs it (``exoextract run`` in a fresh process,
``--source local``, 1 and 2 workers), then drawn (``exoextract plot``). Beside it, in the
same run:

* ``compute``: the star's own seconds (the ``seconds_*`` columns its row carries);
* ``floor``: a fresh Python that imports what a worker needs
  (``exoextract.execution.preload``: numpy, astropy, the compiled kernels) and extracts the
  star; no run folder, no pool. Any tool that reads the file and runs these searches pays this much;
* the pieces: the interpreter alone, the parent's imports, the worker's preload.

``overhead`` is the run's wall time less its compute: the goal is 2 s or less. With
``make bench BASELINE=<ref>`` each figure has the code before beside it, run the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

console = Console(width=150)
REPO = Path(__file__).resolve().parent.parent
GOAL_OVERHEAD = 2.0  # seconds a small run may add to its compute
REPEATS = 5  # each wall time is the median of this many fresh runs (3 moved by 0.3 s)


def _wall(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _star(root: Path, mission: str, segments: int, number: int) -> tuple[Path, str]:
    from exoextract.science.synthetic import StarSpec, write_fits

    period = 3.29 if mission == "TESS" else 123.6
    spec = StarSpec(
        number=number,
        mission=mission,
        kind="planet",
        period=period,
        t0=1.3,
        depth=0.004 if mission == "TESS" else 0.0009,
        duration=13 / 24 * (period / 365.25) ** (1 / 3),
        noise=8e-4 if mission == "TESS" else 2e-4,
        segments=segments,
        segment_step=1,
        first_segment=1,
        seed=number,
    )
    archive = root / f"archive-{number}"
    write_fits(spec, archive)
    name = f"{'TIC' if mission == 'TESS' else 'KIC'} {number}"
    (root / f"{number}.csv").write_text(f"target\n{name}\n")
    return archive, name


FLOOR = """
import sys, time
start = time.perf_counter()
import exoextract.execution.preload
from exoextract.star.extract import extract
from exoextract.settings import load_settings
from exoextract.sources import get_source
from exoextract.targets import Target
from exoextract.star.task import Candidate, Task
from pathlib import Path
settings = load_settings(None, {"source": "local", "data_dir": sys.argv[1]})
mission, number = sys.argv[2], int(sys.argv[3])
target = Target(key=sys.argv[4], target_id=sys.argv[4], mission=mission, number=number, line=2)
paths = get_source("local").locate([target], settings, Path("."))[sys.argv[4]]
task = Task(key=sys.argv[4], target_id=sys.argv[4], mission=mission, number=number,
            settings=settings, candidates=(Candidate(key=sys.argv[4]),), paths=tuple(paths))
extract(task)
"""


def _pieces(exe: Path, root: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Python alone, the parent's imports, a worker's preload: wall seconds."""

    def wall(code: str) -> float:
        return _median([_wall([str(exe), "-c", code], root, env) for _ in range(REPEATS)])

    return (
        wall("pass"),
        wall("import exoextract.cli.commands, exoextract.run.runner"),
        wall("import exoextract.execution.preload"),
    )


def _one_star(
    exe: Path, root: Path, envs: dict[str, dict[str, str]], archive: Path, name: str,
    number: int, workers: int,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Fresh ``exoextract run`` of the star and ``plot`` of it (median walls) and the star's
    own compute seconds, for each tree in ``envs`` ("now", "before"): their runs take turns,
    so a machine that slows for a while slows both alike."""
    script = exe.parent / "exoextract"  # the console script a user types, not ``-m``
    cli = [str(script)] if script.is_file() else [str(exe), "-m", "exoextract"]
    walls: dict[str, list[float]] = {tag: [] for tag in envs}
    computes: dict[str, list[float]] = {tag: [] for tag in envs}
    plots: dict[str, list[float]] = {tag: [] for tag in envs}
    for attempt in range(REPEATS):
        for tag, env in envs.items():
            out = root / f"run-{tag}-{number}-{workers}-{attempt}"
            options = ["--source", "local", "--data-dir", str(archive), "-q"]
            command = [*cli, "run", str(root / f"{number}.csv"), *options,
                       "--workers", str(workers), "-o", str(out)]  # fmt: skip
            walls[tag].append(_wall(command, root, env))
            row = pd.read_parquet(out / "features.parquet").iloc[0]
            computes[tag].append(
                float(sum(v for k, v in row.items() if str(k).startswith("seconds_")))
            )
    for _ in range(REPEATS):
        for tag, env in envs.items():
            out = root / f"run-{tag}-{number}-{workers}-0"
            plot = [*cli, "plot", str(out), name, "-o", str(root / f"{tag}.png")]
            plots[tag].append(_wall(plot, root, env))
    results = {}
    for tag in envs:
        wall, compute = _median(walls[tag]), _median(computes[tag])
        results[tag] = {
            "wall": wall, "compute": compute, "overhead": wall - compute,
            "plot": _median(plots[tag]),
        }  # fmt: skip
    return results


def bench_startup() -> list[dict[str, float | str]]:
    from baseline import baseline_tree

    exe = Path(sys.executable)
    tree, about = baseline_tree()
    console.print(f"section 10 compares with the {about}")
    now_env = {**os.environ, "PYTHONPATH": str(REPO)}
    before_env = {**os.environ, "PYTHONPATH": str(tree)} if tree is not None else None
    rows: list[dict[str, float | str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pieces = _pieces(exe, root, now_env)
        before_pieces = _pieces(exe, root, before_env) if before_env else None
        for label, mission, segments, number in (
            ("TESS 2-min sector", "TESS", 1, 91000001),
            ("Kepler, 16 quarters", "Kepler", 16, 9100001),
        ):
            archive, name = _star(root, mission, segments, number)
            floor = _median(
                [
                    _wall(
                        [str(exe), "-c", FLOOR, str(archive), mission, str(number), name],
                        root,
                        now_env,
                    )
                    for _ in range(REPEATS)
                ]
            )
            envs = {"now": now_env, **({"before": before_env} if before_env else {})}
            for workers in (1, 2):
                both = _one_star(exe, root, envs, archive, name, number, workers)
                now, before = both["now"], both.get("before", {})
                rows.append({"case": label, "workers": workers, "floor": floor, **now,
                             **{f"{k} before": v for k, v in before.items()}})  # fmt: skip
    _print(rows, pieces, before_pieces)
    return rows


def _print(
    rows: list[dict[str, float | str]],
    pieces: tuple[float, float, float],
    before: tuple[float, float, float] | None,
) -> None:
    table = Table(title=f"10. Small runs: one star end to end, wall seconds (median of {REPEATS})")
    columns = ("star", "workers", "run wall", "before", "compute", "overhead", "before",
               "floor", "plot", "before", "overhead goal")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "star" else "right")

    def cell(row: dict[str, float | str], key: str) -> str:
        return f"{float(row[key]):.2f}" if key in row else "-"

    for row in rows:
        overhead = float(row["overhead"])
        table.add_row(
            str(row["case"]),
            str(row["workers"]),
            cell(row, "wall"),
            cell(row, "wall before"),
            cell(row, "compute"),
            cell(row, "overhead"),
            cell(row, "overhead before"),
            cell(row, "floor"),
            cell(row, "plot"),
            cell(row, "plot before"),
            f"≤ {GOAL_OVERHEAD:.0f} ({'met' if overhead <= GOAL_OVERHEAD else 'not met'})",
        )
    console.print(table)
    python, parent, preload = pieces
    was = f" (before: {before[0]:.2f}, {before[1]:.2f}, {before[2]:.2f})" if before else ""
    console.print(
        f"pieces: Python starts in {python:.2f} s; the parent's imports (cli, runner) "
        f"{parent:.2f} s; a worker's preload (numpy, astropy, kernels) {preload:.2f} s{was}. "
        "floor = a fresh Python that imports the preload and extracts the star, no run "
        "folder and no pool."
    )


if __name__ == "__main__":
    bench_startup()
