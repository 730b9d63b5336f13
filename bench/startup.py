"""Small runs: where a one-star run's wall time goes (``make bench`` section 10).

One star written in the archive's format (a TESS 2-minute sector; four years of Kepler, 16
quarter files), run end to end as a user runs it (``exoextract run`` in a fresh process,
``--source local``, 1 and 2 workers), then drawn (``exoextract plot``). Beside it, in the
same run:

* ``compute``: the star's own seconds (the ``seconds_*`` columns its row carries);
* ``floor``: a fresh Python that imports what a worker needs (``exoextract.preload``: numpy,
  astropy, lightkurve, the compiled kernels) and extracts the star; no run folder, no pool.
  Any tool that reads the file with lightkurve and runs these searches pays this much;
* the pieces: the interpreter alone, the parent's imports, the worker's preload.

``overhead`` is the run's wall time less its compute: the goal is 2 s or less.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

console = Console(width=150)
GOAL_OVERHEAD = 2.0  # seconds a small run may add to its compute
REPEATS = 3  # each wall time is the median of this many fresh runs


def _wall(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _star(root: Path, mission: str, segments: int, number: int) -> tuple[Path, str]:
    from exoextract.synthetic import StarSpec, write_fits

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
import exoextract.preload
from exoextract.extract import extract
from exoextract.settings import load_settings
from exoextract.sources import get_source
from exoextract.targets import Target
from exoextract.task import Candidate, Task
from pathlib import Path
settings = load_settings(None, {"source": "local", "data_dir": sys.argv[1]})
mission, number = sys.argv[2], int(sys.argv[3])
target = Target(key=sys.argv[4], target_id=sys.argv[4], mission=mission, number=number, line=2)
paths = get_source("local").locate([target], settings, Path("."))[sys.argv[4]]
task = Task(key=sys.argv[4], target_id=sys.argv[4], mission=mission, number=number,
            settings=settings, candidates=(Candidate(key=sys.argv[4]),), paths=tuple(paths))
extract(task)
"""


def bench_startup() -> list[dict[str, float | str]]:
    exe = Path(sys.executable)
    cli = str(exe.parent / "exoextract")
    rows: list[dict[str, float | str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        python = _median([_wall([str(exe), "-c", "pass"], root) for _ in range(REPEATS)])
        parent = _median(
            [
                _wall([str(exe), "-c", "import exoextract.cli, exoextract.runner"], root)
                for _ in range(REPEATS)
            ]
        )
        preload = _median(
            [_wall([str(exe), "-c", "import exoextract.preload"], root) for _ in range(REPEATS)]
        )
        for label, mission, segments, number in (
            ("TESS 2-min sector", "TESS", 1, 91000001),
            ("Kepler, 16 quarters", "Kepler", 16, 9100001),
        ):
            archive, name = _star(root, mission, segments, number)
            csv = root / f"{number}.csv"
            floor = _median(
                [
                    _wall([str(exe), "-c", FLOOR, str(archive), mission, str(number), name], root)
                    for _ in range(REPEATS)
                ]
            )
            for workers in (1, 2):
                walls, computes = [], []
                for attempt in range(REPEATS):
                    out = root / f"run-{number}-{workers}-{attempt}"
                    options = ["--source", "local", "--data-dir", str(archive), "-q"]
                    command = [
                        cli,
                        "run",
                        str(csv),
                        *options,
                        "--workers",
                        str(workers),
                        "-o",
                        str(out),
                    ]
                    walls.append(_wall(command, root))
                    row = pd.read_parquet(out / "features.parquet").iloc[0]
                    computes.append(
                        float(sum(v for k, v in row.items() if str(k).startswith("seconds_")))
                    )
                plot = _median(
                    [
                        _wall([cli, "plot", str(out), name, "-o", str(root / "s.png")], root)
                        for _ in range(REPEATS)
                    ]
                )
                wall, compute = _median(walls), _median(computes)
                rows.append(
                    {
                        "case": label,
                        "workers": workers,
                        "wall": wall,
                        "compute": compute,
                        "overhead": wall - compute,
                        "floor": floor,
                        "plot": plot,
                    }
                )
    _print(rows, python, parent, preload)
    return rows


def _print(
    rows: list[dict[str, float | str]], python: float, parent: float, preload: float
) -> None:
    table = Table(title="10. Small runs: one star end to end, wall seconds (median of 3)")
    for column in ("star", "workers", "run wall", "compute", "overhead", "floor", "plot",
                   "overhead goal"):  # fmt: skip
        table.add_column(column, justify="left" if column == "star" else "right")
    for row in rows:
        overhead = float(row["overhead"])
        table.add_row(
            str(row["case"]),
            str(row["workers"]),
            f"{float(row['wall']):.2f}",
            f"{float(row['compute']):.2f}",
            f"{overhead:.2f}",
            f"{float(row['floor']):.2f}",
            f"{float(row['plot']):.2f}",
            f"≤ {GOAL_OVERHEAD:.0f} ({'met' if overhead <= GOAL_OVERHEAD else 'not met'})",
        )
    console.print(table)
    console.print(
        f"pieces: Python starts in {python:.2f} s; the parent's imports (cli, runner) "
        f"{parent:.2f} s; a worker's preload (numpy, astropy, lightkurve, kernels) "
        f"{preload:.2f} s. floor = a fresh Python that imports the preload and extracts the "
        "star, no run folder and no pool."
    )


if __name__ == "__main__":
    bench_startup()
