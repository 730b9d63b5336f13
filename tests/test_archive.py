"""The archive at scale: batched searches, lightkurve's product choice, the download stage.

Everything runs against the project's fake MAST on 127.0.0.1 (tests/fakemast), through the
same HTTP requests the real archive gets.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from exoextract.archive.client import ArchiveClient, Connection
from exoextract.archive.products import Product, Request, one_per_segment, select
from exoextract.archive.products import filters as archive_filters
from exoextract.archive.search import search, target_name
from exoextract.run.runner import RunResult, start_run
from exoextract.science.synthetic import spec_for, write_fits

from conftest import fast_settings
from fakemast import FakeMast

KIC, EPIC, TIC = 1_000_001, 201_000_001, 3_000_001
K2SFF = f"hlsp_k2sff_k2_lightcurve_{EPIC:09d}-c01_kepler_v1_llc.fits"
EVEREST = f"hlsp_everest_k2_llc_{EPIC:09d}-c01_kepler_v2.0_lc.fits"
K2SC = f"hlsp_k2sc_k2_llc_{EPIC:09d}-c01_kepler_v2_lc.fits"


def listed_archive(mast: FakeMast) -> None:
    """One star per mission with the products that make the choice interesting."""
    for quarter in (1, 2, 3, 4):
        mast.add_named(f"kplr{KIC:09d}-{2009000000000 + quarter}_llc.fits", 500_000, quarter)
    for month in (1, 2, 3):  # short cadence: one file per month of quarter 3
        mast.add_named(f"kplr{KIC:09d}-{2009100000000 + month}_slc.fits", 4_000_000, 3)
    mast.add_named(f"ktwo{EPIC:09d}-c01_llc.fits", 400_000)
    mast.add_named(f"ktwo{EPIC:09d}-c02_llc.fits", 400_000)
    for name in (K2SFF, EVEREST, K2SC):
        mast.add_named(name, 300_000)
    tess = f"{TIC:016d}"
    mast.add_named(f"tess2018206045859-s0001-{tess}-0120-s_lc.fits", 2_000_000)
    mast.add_named(f"tess2018206045859-s0001-{tess}-0120-a_fast-lc.fits", 9_000_000)
    mast.add_named(f"tess2018234235059-s0002-{tess}-0121-s_lc.fits", 2_000_000)
    mast.add_named(f"hlsp_qlp_tess_ffi_s0001-{tess}_tess_v01_llc.fits", 200_000)
    mast.add_named(f"hlsp_qlp_tess_ffi_s0014-{tess}_tess_v01_llc.fits", 200_000)
    mast.add_named(f"hlsp_tess-spoc_tess_phot_{tess}-s0001_tess_v1_lc.fits", 300_000)


@pytest.fixture
def listed() -> Iterator[FakeMast]:
    with FakeMast() as mast:
        listed_archive(mast)
        yield mast


def ours(mast: FakeMast, mission: str, number: int, request: Request) -> list[str]:
    client = ArchiveClient(Connection(mast.url, 5.0))
    name = target_name(mission, number)
    observations = client.observations(archive_filters(mission, [name], request))
    products = client.products([str(o["obsid"]) for o in observations])
    return sorted(p.filename for p in select(observations, products, mission, request)[name])


def lightkurves(mast: FakeMast, mission: str, number: int, request: Request) -> list[str]:
    """lightkurve's own search (through astroquery) of the same fake archive."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lightkurve as lk
        from astroquery.mast import Observations

    portal = Observations._portal_api_connection
    portal.MAST_REQUEST_URL = mast.url + "/api/v0/invoke"
    portal.COLUMNS_CONFIG_URL = mast.url + "/portal/Mashup/Mashup.asmx/columnsconfig"
    prefix = {"Kepler": "KIC", "K2": "EPIC", "TESS": "TIC"}[mission]
    segment = {"Kepler": "quarter", "K2": "campaign", "TESS": "sector"}[mission]
    options: dict[str, Any] = {}
    if request.segments:
        options[segment] = list(request.segments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = lk.search_lightcurve(
            f"{prefix} {number}",
            mission=mission,
            author=request.author,
            exptime=request.exptime_value(),
            **options,
        )
    return sorted(str(name) for name in result.table["productFilename"])


CASES = [
    ("Kepler", KIC, Request()),
    ("Kepler", KIC, Request(exptime="long")),
    ("Kepler", KIC, Request(exptime="short")),
    ("Kepler", KIC, Request(segments=(3,))),
    ("Kepler", KIC, Request(segments=(1, 4), exptime="1800")),
    ("K2", EPIC, Request()),
    ("K2", EPIC, Request(author="K2SFF")),
    ("K2", EPIC, Request(author="EVEREST", segments=(1,))),
    ("K2", EPIC, Request(segments=(2,))),
    ("TESS", TIC, Request()),
    ("TESS", TIC, Request(author="SPOC")),
    ("TESS", TIC, Request(author="QLP")),
    ("TESS", TIC, Request(exptime="fast")),
    ("TESS", TIC, Request(exptime="short", segments=(1,))),
    ("TESS", TIC, Request(exptime="120")),
    ("TESS", TIC, Request(author="TESS-SPOC", exptime="long")),
]


@pytest.mark.parametrize(("mission", "number", "request_"), CASES)
def test_our_selection_is_lightkurves(
    listed: FakeMast, mission: str, number: int, request_: Request
) -> None:
    expected = lightkurves(listed, mission, number, request_)
    assert expected, "a case lightkurve finds nothing for tests nothing"
    assert ours(listed, mission, number, request_) == expected


def product(author: str, exptime: float, segment: str, name: str, mission: str = "TESS") -> Product:
    return Product("t", mission, author, exptime, segment, name, "uri", 1, "TESS", "o")


def test_one_group_per_segment_the_official_standard_cadence_first() -> None:
    chosen = one_per_segment(
        [
            product("SPOC", 20.0, "S0001", "fast"),
            product("QLP", 1800.0, "S0001", "qlp1"),
            product("SPOC", 120.0, "S0001", "spoc1"),
            product("TESS-SPOC", 600.0, "S0001", "tessspoc1"),
            product("QLP", 600.0, "S0014", "qlp14"),  # only QLP has sector 14
            product("TESS-SPOC", 600.0, "S0014", "tessspoc14"),
        ]
    )
    assert [p.filename for p in chosen] == ["spoc1", "tessspoc14"]
    kepler = one_per_segment(
        [product("Kepler", 60.0, "Q03", f"short{m}", "Kepler") for m in (1, 2, 3)]
        + [product("Kepler", 1800.0, "Q03", "long", "Kepler")]
        + [product("Kepler", 60.0, "Q04", f"q4short{m}", "Kepler") for m in (1, 2, 3)]
    )
    # the standard cadence where there is one; every month where only short cadence is
    assert [p.filename for p in kepler] == ["long", "q4short1", "q4short2", "q4short3"]
    k2 = one_per_segment(
        [
            product("K2SFF", 1800.0, "C01", "sff", "K2"),
            product("K2", 1800.0, "C01", "k2", "K2"),
            product("EVEREST", 1800.0, "C01", "everest", "K2"),
            product("K2SFF", 1800.0, "C10b", "sff10b", "K2"),
        ]
    )
    assert [p.filename for p in k2] == ["k2", "sff10b"]


def test_a_star_lists_one_light_curve_per_sector(listed: FakeMast) -> None:
    client = ArchiveClient(Connection(listed.url, 5.0))
    found = search(client, "TESS", [("TIC 3000001", TIC)], Request())["TIC 3000001"]
    assert [(p.segment, p.author, p.exptime) for p in found.products] == [
        ("S0001", "SPOC", 120.0),
        ("S0002", "SPOC", 120.0),
        ("S0014", "QLP", 1800.0),
    ]
    k2 = search(client, "K2", [("EPIC 201000001", EPIC)], Request(author="K2SFF"))
    assert [p.filename for p in k2["EPIC 201000001"].products] == [K2SFF]
    assert k2["EPIC 201000001"].products[0].obs_collection == "HLSP"


# ---------------------------------------------------------------- batched searches
def test_a_batch_of_targets_costs_two_requests() -> None:
    with FakeMast() as mast:
        for i in range(60):
            for sector in (1, 2):
                mast.add_listing("TESS", 4_000_000 + i, sector, 2_000_000)
        client = ArchiveClient(Connection(mast.url, 5.0))
        targets = [(f"TIC {4_000_000 + i}", 4_000_000 + i) for i in range(60)]
        targets.append(("TIC 5", 5))  # not in the archive
        found = search(client, "TESS", targets, Request())
        assert dict(mast.requests) == {"Mast.Caom.Filtered": 1, "Mast.Caom.Products": 1}
    assert client.calls == 2
    assert all(len(found[key].products) == 2 for key, _ in targets[:60])
    assert found["TIC 5"].missing == "MAST has no TESS light curve for TIC 5"


def test_every_page_of_a_paged_answer_is_read() -> None:
    with FakeMast(max_pagesize=4) as mast:
        for i in range(10):
            mast.add_listing("Kepler", 6_000_000 + i, 1, 500_000)
        client = ArchiveClient(Connection(mast.url, 5.0))
        targets = [(f"KIC {6_000_000 + i}", 6_000_000 + i) for i in range(10)]
        found = search(client, "Kepler", targets, Request())
        assert mast.requests["Mast.Caom.Filtered"] == 3  # 10 observations, 4 per page
        assert mast.requests["Mast.Caom.Products"] == 3
    assert all(len(f.products) == 1 for f in found.values())


# ---------------------------------------------------------------- runs through the stage
def synthetic_stars(root: Path, n: int, quarters: int = 1) -> list[str]:
    ids = []
    for i in range(n):
        write_fits(replace(spec_for(8_000_000 + i, "Kepler"), segments=quarters), root)
        ids.append(f"KIC {8_000_000 + i}")
    return ids


def run(tmp_path: Path, mast: FakeMast, ids: list[str], name: str, **values: Any) -> RunResult:
    options: dict[str, Any] = {
        "source": "mast",
        "mast_url": mast.url,
        "cache_dir": str(tmp_path / "cache"),
        "run_tls": False,
        "run_bls": False,
        "workers": 2,
        "max_downloads": 2,
        "retries": 2,
        "http_timeout": 5.0,
    }
    settings = fast_settings(**{**options, **values})
    csv = tmp_path / f"{name}.csv"
    csv.write_text("target\n" + "\n".join(ids) + "\n")
    return start_run(csv, settings, out_dir=tmp_path / name)


def features(result: RunResult) -> pd.DataFrame:
    table = pd.read_parquet(result.features_path).set_index("target_id").sort_index()
    return table.drop(columns=[c for c in table if c.startswith("seconds")])


def test_a_repeated_run_asks_the_archive_nothing(tmp_path: Path) -> None:
    ids = synthetic_stars(tmp_path / "archive", 6, quarters=2)
    with FakeMast(tmp_path / "archive") as mast:
        first = run(tmp_path, mast, [*ids, "KIC 5"], "first", search_batch=4)
        assert first.counts == {"ok": 6, "no_data": 1}
        assert mast.requests["Mast.Caom.Filtered"] == 2  # two batches of up to 4
        assert first.archive["api_calls"] == 4
        assert first.archive["files"] == 12
        mast.reset_counts()
        again = run(tmp_path, mast, [*ids, "KIC 5"], "again", search_batch=4)
        assert mast.api_calls == 0
        assert sum(mast.downloads.values()) == 0
    assert again.counts == first.counts
    pd.testing.assert_frame_equal(features(again), features(first))


def test_a_failed_batch_is_split_and_its_targets_still_succeed(tmp_path: Path) -> None:
    ids = synthetic_stars(tmp_path / "archive", 8)
    with FakeMast(tmp_path / "archive") as mast:
        # the first search and its two quick retries fail: the batch fails as a whole
        mast.add_fault("Mast.Caom.Filtered", "503", times=3)
        result = run(tmp_path, mast, ids, "run", search_batch=8)
        assert mast.requests["Mast.Caom.Filtered"] == 5  # 3 failed, then the two halves
    assert result.counts == {"ok": 8}
    assert any(
        "search of 8 Kepler targets failed" in e and "split in two" in e for e in result.events
    )


def test_retry_after_pauses_every_connection(tmp_path: Path) -> None:
    ids = synthetic_stars(tmp_path / "archive", 8, quarters=2)
    with FakeMast(tmp_path / "archive", file_latency=0.2) as mast:
        victim = sorted(p.filename for p in mast.products)[3]
        mast.add_fault(victim, "429", times=1, retry_after=2.0)
        result = run(tmp_path, mast, ids, "run", max_downloads=3)
        log = list(mast.counts.log)
    assert result.counts == {"ok": 8}
    refused = next(t for t, what in log if what == victim)
    quiet = [what for t, what in log if refused + 0.3 < t < refused + 1.7]
    assert quiet == [], "a request started while the archive had asked everyone to wait"
    assert [what for t, what in log if t >= refused + 1.7][:1] != []


def test_the_biggest_searched_target_downloads_first(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    small = synthetic_stars(root, 4)
    write_fits(replace(spec_for(8_100_000, "Kepler"), segments=4), root)
    with FakeMast(root) as mast:
        result = run(tmp_path, mast, [*small, "KIC 8100000"], "run", max_downloads=1)
        first = next(what for _, what in mast.counts.log if what.endswith(".fits"))
    assert result.counts == {"ok": 5}
    assert first.startswith("kplr008100000")


def test_connections_are_kept_alive(tmp_path: Path) -> None:
    ids = synthetic_stars(tmp_path / "archive", 10, quarters=2)
    with FakeMast(tmp_path / "archive") as mast:
        result = run(tmp_path, mast, ids, "run", max_downloads=2)
        opened = mast.counts.connections_opened
        requests = mast.api_calls + sum(mast.downloads.values())
    assert result.counts == {"ok": 10}
    assert requests == 22
    assert opened <= 2  # one connection per archive process, reused for every request


# ---------------------------------------------------------------- exoextract plan
def test_plan_then_run_asks_the_archive_nothing_again(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from exoextract.cli.commands import app

    ids = synthetic_stars(tmp_path / "archive", 4, quarters=2)
    with FakeMast(tmp_path / "archive", api_latency=0.05, file_latency=0.2) as mast:
        for i in range(3):  # listed by the archive, not downloadable: plan only counts them
            mast.add_listing("TESS", 9_000_000 + i, 1, 2_000_000)
        rows = [*ids, *(f"TIC {9_000_000 + i}" for i in range(3)), "KIC 5", "TIC 6"]
        csv = tmp_path / "targets.csv"
        csv.write_text("target\n" + "\n".join(rows) + "\n")
        urls = tmp_path / "urls.txt"
        args = ["plan", str(csv), "--mast-url", mast.url, "--cache-dir", str(tmp_path / "cache")]
        done = CliRunner().invoke(app, [*args, "--urls", str(urls), "--json"])
        assert done.exit_code == 0, done.output
        plan = json.loads(done.stdout)
        assert mast.api_calls == 4  # a Kepler batch and a TESS batch, two requests each
        assert plan["found"] == 7 and plan["not_found"] == 2
        assert plan["not_found_reasons"] == {
            "MAST has no Kepler light curve for …": 1,
            "MAST has no TESS light curve for …": 1,
        }
        kepler = plan["per_mission"]["Kepler"]
        assert (kepler["stars"], kepler["files"], kepler["files_to_fetch"]) == (4, 8, 7)
        assert plan["per_mission"]["TESS"]["bytes"] == 6_000_000
        assert plan["measured_transfer"]["file"].startswith("kplr")
        # ten files to fetch, at least 0.2 s each, three at a time
        assert plan["estimated_download_seconds"] >= 10 * 0.2 / 3
        assert plan["estimated_compute_seconds"] > 0
        to_fetch = sum(m["bytes_to_fetch"] for m in plan["per_mission"].values())
        assert plan["keep_files"] and plan["disk_needed_bytes"] == to_fetch > 0
        assert plan["disk_free_bytes"] > 0
        lean = CliRunner().invoke(app, [*args, "--no-measure", "--no-keep-files", "--json"])
        assert 0 < json.loads(lean.stdout)["disk_needed_bytes"] <= to_fetch
        lines = urls.read_text().splitlines()
        assert len(lines) == 7 + 3 and all(line.startswith(mast.url) for line in lines)
        mast.reset_counts()
        result = run(tmp_path, mast, ids, "run")
        assert mast.api_calls == 0  # plan's answers are in the cache
        assert sum(mast.downloads.values()) == 7  # the file plan timed is cached already
    assert result.counts == {"ok": 4}
    human = CliRunner().invoke(app, [*args, "--no-measure"])
    assert human.exit_code == 0, human.output
    assert "9 stars; 7 found in the archive, 2 not" in human.stdout
    assert "disk: 0.01 GB more in the cache, kept (--no-keep-files: only the stars" in human.stdout


def test_no_keep_files_holds_only_the_stars_in_flight(tmp_path: Path) -> None:
    import threading

    ids = synthetic_stars(tmp_path / "archive", 12, quarters=2)
    cache = tmp_path / "cache"
    most = 0
    stop = threading.Event()

    def watch() -> None:  # the cache's fullest moment during the run
        nonlocal most
        while not stop.is_set():
            most = max(most, sum(1 for _ in cache.rglob("*.fits")))
            stop.wait(0.01)

    with FakeMast(tmp_path / "archive", file_latency=0.02) as mast:
        run(tmp_path, mast, ids[:1], "before")  # a star the cache held before: it stays
        kept = sorted(cache.rglob("*.fits"))
        assert len(kept) == 2
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            result = run(
                tmp_path,
                mast,
                ids,
                "lean",
                keep_files=False,
                workers=1,
                max_downloads=1,
                chunk_size=1,
            )
        finally:
            stop.set()
            watcher.join()
        mast.reset_counts()
        from exoextract.report.sheet import sheet_data

        sheet = sheet_data(result.run_dir, ids[5])  # its files are gone: fetched again
        assert sheet.name and sum(mast.downloads.values()) == 2
    assert result.counts == {"ok": 12}
    assert result.archive["files"] == 22 and result.archive["files_released"] == 22
    assert len(list(cache.rglob("*.fits"))) == len(kept) + 2  # the plotted star's
    # one worker, three stars downloaded ahead, one awaiting its checkpoint, and the kept one
    assert most <= 2 * (1 + 3 + 1) + 2 < 24
