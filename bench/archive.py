"""The archive at scale (section 9): what a MAST run waits on, side by side in one run.

Against the project's fake MAST (tests/fakemast) answering like the real archive — 1.5 s
per API call, 0.3 s plus the file's size at 10 MB/s per file — the same stars go through:

* exoextract from a local folder of the same files (no archive: the floor);
* exoextract ``--source mast`` at two ``--max-downloads`` (batched searches, the download
  stage), each with a fresh cache;
* the notebook way: lightkurve's ``search_lightcurve(...).download_all()`` per target, then
  the same features, in 3 processes.

Counted by the fake: API calls (searches, product lists, column configurations), files,
the most connections open at once; the features are compared with the local run's.
Then ``exoextract plan`` on 12,000 listed targets at the same latency.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
console = Console(width=150)
API_LATENCY, FILE_LATENCY, BANDWIDTH = 1.5, 0.3, 10e6


def make_archive(root: Path, n: int) -> list[str]:
    """Half Kepler stars of 1-3 quarters, half TESS stars of 1-2 sectors."""
    from exoextract.science.synthetic import spec_for, write_fits

    ids = []
    for i in range(n):
        if i % 2:
            spec = replace(spec_for(7_300_000 + i, "TESS"), segments=1 + i % 4 // 2)
            ids.append(f"TIC {7_300_000 + i}")
        else:
            spec = replace(spec_for(8_300_000 + i, "Kepler"), segments=1 + i % 3)
            ids.append(f"KIC {8_300_000 + i}")
        write_fits(spec, root)
    return ids


def _settings(**values: Any) -> Any:
    from exoextract.settings import load_settings

    return load_settings(None, {"workers": 2, "progress_interval": 3600.0, **values})


def _features(result: Any) -> pd.DataFrame:
    table = pd.read_parquet(result.features_path).set_index("target_id").sort_index()
    return table.drop(columns=[c for c in table if str(c).startswith("seconds")])


def run_local(ids: list[str], root: Path, tmp: Path) -> tuple[float, pd.DataFrame]:
    from exoextract.run.runner import start_run

    csv = tmp / "local.csv"
    csv.write_text("target\n" + "\n".join(ids) + "\n")
    started = time.perf_counter()
    result = start_run(csv, _settings(data_dir=str(root)), out_dir=tmp / "local")
    return time.perf_counter() - started, _features(result)


NO_FEATURES = {
    name: False
    for name in ("run_stats", "run_variability", "run_bls", "run_tls", "run_vet", "run_known")
}


def run_mast(
    ids: list[str], root: Path, tmp: Path, downloads: int, features: bool = True
) -> dict[str, Any]:
    from exoextract.run.runner import start_run

    from fakemast import FakeMast

    name = f"mast{downloads}{'' if features else '-read'}"
    csv = tmp / f"{name}.csv"
    csv.write_text("target\n" + "\n".join(ids) + "\n")
    with FakeMast(root, API_LATENCY, FILE_LATENCY, BANDWIDTH) as mast:
        settings = _settings(
            source="mast",
            mast_url=mast.url,
            cache_dir=str(tmp / f"cache-{name}"),
            max_downloads=downloads,
            **({} if features else NO_FEATURES),
        )
        started = time.perf_counter()
        result = start_run(csv, settings, out_dir=tmp / name)
        wall = time.perf_counter() - started
        return {
            "wall": wall,
            "calls": mast.api_calls,
            "files": sum(mast.downloads.values()),
            "connections": mast.max_connections,
            "features": _features(result),
            "batch": settings.search_batch,
        }


def _notebook_init(url: str) -> None:
    from exoextract.execution.isolation import limit_threads_env

    limit_threads_env()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from astroquery.mast import Observations
    portal = Observations._portal_api_connection
    portal.MAST_REQUEST_URL = url + "/api/v0/invoke"
    portal.COLUMNS_CONFIG_URL = url + "/portal/Mashup/Mashup.asmx/columnsconfig"
    portal.MAST_DOWNLOAD_URL = url + "/api/v0.1/Download/file"


def _notebook_target(job: tuple[str, str, bool]) -> str:
    """What a notebook does per star: search, download everything, extract."""
    from exoextract.star.extract import extract
    from exoextract.star.task import Candidate, Task

    target, cache, features = job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lightkurve as lk

        mission = "Kepler" if target.startswith("KIC") else "TESS"
        found = lk.search_lightcurve(target, mission=mission)
        found.download_all(download_dir=cache)
    paths = tuple(
        os.path.join(cache, "mastDownload", row["obs_collection"], row["obs_id"],
                     row["productFilename"])
        for row in found.table
    )  # fmt: skip
    settings = _settings(**({} if features else NO_FEATURES))
    task = Task(target, target, mission, int(target.split()[1]), settings,
                (Candidate(target),), paths=paths)  # fmt: skip
    extract(task)
    return target


def run_notebook(ids: list[str], root: Path, tmp: Path, features: bool = True) -> dict[str, Any]:
    from fakemast import FakeMast

    with FakeMast(root, API_LATENCY, FILE_LATENCY, BANDWIDTH) as mast:
        ctx = mp.get_context("forkserver")
        cache = str(tmp / f"cache-notebook{'' if features else '-read'}")
        started = time.perf_counter()
        jobs = [(t, cache, features) for t in ids]
        with ctx.Pool(3, initializer=_notebook_init, initargs=(mast.url,)) as pool:
            done = pool.map(_notebook_target, jobs, chunksize=1)
        wall = time.perf_counter() - started
        assert len(done) == len(ids)
        return {
            "wall": wall,
            "calls": mast.api_calls,
            "files": sum(mast.downloads.values()),
            "connections": mast.max_connections,
        }


def plan_many(n: int, batch: int) -> tuple[float, int]:
    """``exoextract plan`` of n listed targets (no files) at the archive's latency."""
    from exoextract.archive.inventory import take_inventory

    from fakemast import FakeMast

    with FakeMast(None, API_LATENCY) as mast, tempfile.TemporaryDirectory() as tmp:
        stars: list[tuple[str, str | None, int]] = []
        for i in range(n):
            if i % 3:
                for sector in (1, 2):
                    mast.add_listing("TESS", 20_000_000 + i, sector, 2_000_000)
                stars.append((f"TIC {20_000_000 + i}", "TESS", 20_000_000 + i))
            else:
                for quarter in range(1, 5):
                    mast.add_listing("Kepler", 3_000_000 + i, quarter, 500_000)
                stars.append((f"KIC {3_000_000 + i}", "Kepler", 3_000_000 + i))
        settings = _settings(source="mast", mast_url=mast.url, cache_dir=tmp, search_batch=batch)
        started = time.perf_counter()
        inventory = take_inventory(stars, settings, 2, measure=False)
        seconds = time.perf_counter() - started
        assert len(inventory.found) == n
        return seconds, mast.api_calls


def bench_archive(n: int = 200, plan_targets: int = 12_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        root = tmp / "archive"
        ids = make_archive(root, n)
        files = len(list(root.rglob("*.fits")))
        megabytes = sum(p.stat().st_size for p in root.rglob("*.fits")) / 1e6
        local, local_features = run_local(ids, root, tmp)
        mast = {d: run_mast(ids, root, tmp, d) for d in (3, 6)}
        notebook = run_notebook(ids, root, tmp)
        read_only = run_mast(ids, root, tmp, 3, features=False)
        read_six = run_mast(ids, root, tmp, 6, features=False)
        notebook_read = run_notebook(ids, root, tmp, features=False)
    batch = mast[3]["batch"]
    table = Table(
        title=f"9. The archive: {n} stars ({files} files, {megabytes:.0f} MB), 2 CPU workers, "
        f"fake MAST at {API_LATENCY} s per API call and {FILE_LATENCY} s + size at "
        f"{BANDWIDTH / 1e6:.0f} MB/s per file"
    )
    for name in ("way", "wall s", "x local", "API calls", "calls/target", "files",
                 "max connections", "features = local"):  # fmt: skip
        table.add_column(name, justify="left" if name == "way" else "right")
    table.add_row("local folder (no archive)", f"{local:.1f}", "1.00", "-", "-", "-", "-", "-")
    for downloads, got in mast.items():
        same = got["features"].equals(local_features.loc[got["features"].index])
        table.add_row(
            f"exoextract --source mast --max-downloads {downloads}",
            f"{got['wall']:.1f}",
            f"{got['wall'] / local:.2f}",
            str(got["calls"]),
            f"{got['calls'] / n:.3f}",
            str(got["files"]),
            str(got["connections"]),
            "yes" if same and len(got["features"]) == len(local_features) else "NO",
        )
    for label, got in (
        ("notebook: lightkurve search + download_all per star, 3 processes", notebook),
        ("exoextract --max-downloads 3, files read, no features", read_only),
        ("exoextract --max-downloads 6, files read, no features", read_six),
        ("notebook, files read, no features", notebook_read),
    ):
        table.add_row(
            label,
            f"{got['wall']:.1f}",
            f"{got['wall'] / local:.2f}",
            str(got["calls"]),
            f"{got['calls'] / n:.3f}",
            str(got["files"]),
            str(got["connections"]),
            "-",
        )
    console.print(table)
    best = min(got["wall"] for got in mast.values())
    round_trips = 2 * API_LATENCY
    console.print(
        f"goals: calls/target <= 0.05 (batches of {batch}); wall <= 1.2 x local + one batch's "
        f"round trips = {1.2 * local + round_trips:.1f} s (best {best:.1f} s); >= 10 x faster "
        f"than the notebook way ({notebook['wall'] / best:.1f} x with features, of at most "
        f"{notebook['wall'] / local:.1f} x that the local floor allows; "
        f"{notebook_read['wall'] / read_only['wall']:.1f} x for the archive part alone at 3 "
        f"connections, {notebook_read['wall'] / read_six['wall']:.1f} x at 6); "
        "connections <= --max-downloads; features identical"
    )
    plans = Table(
        title=f"exoextract plan of {plan_targets:,} targets at {API_LATENCY} s per call, "
        "3 connections"
    )
    for name in ("search_batch", "seconds", "API calls"):
        plans.add_column(name, justify="right")
    for size in (200, 500, 1000):
        seconds, calls = plan_many(plan_targets, size)
        plans.add_row(str(size), f"{seconds:.1f}", str(calls))
    console.print(plans)
