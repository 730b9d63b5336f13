"""The mast source through the real lightkurve/astroquery code, against a local fake MAST."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest

from exoextract.archive.direct import fetch_one
from exoextract.errors import NoDataError, TransientError
from exoextract.execution.transient import is_transient
from exoextract.lightcurves.cache import scan
from exoextract.run.runner import RunResult, start_run
from exoextract.science.synthetic import spec_for, write_fits
from exoextract.settings import load_settings
from exoextract.sources import mast
from exoextract.star.task import Candidate, Task

from conftest import KEPLER90_DIR, WASP18, fast_settings
from fakemast import FakeMast
from runhelpers import alive, descendants, describe, run_cli, start_cli, wait_for

KIC90 = "kplr011442793-2009350155506_llc.fits"


@pytest.fixture
def archive(tmp_path: Path, shared_data: Path) -> Path:
    """A small archive: the real Kepler-90 and WASP-18 files, plus synthetic stars."""
    root = tmp_path / "archive"
    shutil.copytree(KEPLER90_DIR, root / "kepler" / "0114" / "011442793")
    (root / "tess").mkdir(parents=True)
    shutil.copy(WASP18, root / "tess")
    for path in root.rglob("*.fits"):
        os.chmod(path, 0o644)
    return root


@pytest.fixture
def fake(archive: Path) -> Iterator[FakeMast]:
    with FakeMast(archive) as server:
        yield server


def settings_for(fake: FakeMast, tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = dict(
        source="mast",
        mast_url=fake.url,
        cache_dir=str(tmp_path / "cache"),
        run_tls=False,
        run_bls=False,
        workers=2,
        max_downloads=2,
        retries=2,
        http_timeout=2.0,
        download_timeout=30.0,
    )
    values.update(overrides)
    return fast_settings(**values)


def task(settings: Any, target_id: str) -> Task:
    prefix, number = target_id.split()
    mission = {"KIC": "Kepler", "TIC": "TESS", "EPIC": "K2"}[prefix]
    return Task(
        key=target_id,
        target_id=target_id,
        mission=mission,
        number=int(number),
        settings=settings,
        candidates=(Candidate(key=target_id),),
    )


def fetch(settings: Any, target_id: str) -> dict[str, Any]:
    """One target searched and downloaded in this process (as a diagnostic sheet does)."""
    one = task(settings, target_id)
    files = fetch_one(settings, one.target_id, one.mission, one.number)
    return {"paths": sorted(files.paths), "notes": files.notes, "repaired": files.repaired}


def cache_is_clean(cache: Path) -> None:
    checks = scan([cache])
    assert checks, "the cache should hold files"
    assert [c for c in checks if c.bad and "set aside" not in (c.problem or "")] == []


# ---------------------------------------------------------------- classification
def _http_error(status: int) -> Exception:
    import requests

    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} Server Error", response=response)


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as error:
            raise outer from error
    except Exception as error:
        return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionError("Max retries exceeded"), True),
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (TimeoutError("read timed out"), True),
        (_http_error(503), True),
        (_http_error(429), True),
        (_http_error(404), False),
        (_chained(RuntimeError("search failed"), _http_error(502)), True),
        (_chained(RuntimeError("search failed"), ConnectionResetError()), True),
        # message text is never matched: only types and status codes count
        (RuntimeError("HTTPError: 503 Server Error"), False),
        (ValueError("something else"), False),
    ],
)
def test_errors_are_classified_by_type_and_status(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


# ---------------------------------------------------------------- the download path
def test_search_download_and_reuse(fake: FakeMast, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    first = fetch(settings, "KIC 11442793")
    assert [Path(p).name for p in first["paths"]] == sorted(
        p.name for p in KEPLER90_DIR.glob("*.fits")
    )
    assert all("mastDownload/Kepler/kplr011442793_lc_Q" in p for p in first["paths"])
    calls = fake.api_calls
    assert calls == 2  # one search, one product list; no column configuration asked
    again = fetch(settings, "KIC 11442793")
    assert again == first
    assert sum(fake.downloads.values()) == 3  # the second call read the cache
    assert fake.api_calls == calls  # and the search's record: no request at all
    fetched = mast.fetch(replace(task(settings, "KIC 11442793"), paths=tuple(first["paths"])))
    assert len(fetched.lc) > 9000


def test_a_target_the_archive_does_not_have_is_no_data(fake: FakeMast, tmp_path: Path) -> None:
    with pytest.raises(NoDataError, match="MAST has no TESS light curve for TIC 5"):
        fetch(settings_for(fake, tmp_path), "TIC 5")
    assert fake.requests["Mast.Caom.Products"] == 0  # no cone-search fallback was tried


def test_a_corrupt_cached_file_is_moved_aside_and_fetched_again(
    fake: FakeMast, tmp_path: Path
) -> None:
    settings = settings_for(fake, tmp_path)
    paths = fetch(settings, "KIC 11442793")["paths"]
    victim = Path(paths[0])
    victim.write_bytes(victim.read_bytes()[:8640])  # an interrupted download of old
    again = fetch(settings, "KIC 11442793")
    assert victim.read_bytes() == (KEPLER90_DIR / victim.name).read_bytes()
    assert len(again["notes"]) == 1 and again["notes"][0].startswith(
        f"cached {victim.name} was truncated or corrupt"
    )
    assert [p.name for p in victim.parent.iterdir() if ".corrupt-" in p.name]


@pytest.mark.parametrize("kind", ["503", "reset"])
def test_one_failed_request_is_retried_inside_the_download(
    fake: FakeMast, tmp_path: Path, kind: str
) -> None:
    settings = settings_for(fake, tmp_path)
    fake.add_fault(KIC90, kind, times=1)
    paths = fetch(settings, "KIC 11442793")["paths"]  # no error: retried in place
    assert len(paths) == 3
    assert fake.downloads[KIC90] >= 2  # the failed request, then the good one
    assert not [p for p in (tmp_path / "cache").rglob("*.part")]


@pytest.mark.parametrize("kind", ["cut", "empty", "html200", "size", "stall"])
def test_each_transfer_fault_is_transient_and_leaves_no_file(
    fake: FakeMast, tmp_path: Path, kind: str
) -> None:
    settings = settings_for(fake, tmp_path)
    fake.add_fault(KIC90, kind, times=1, seconds=5.0)
    with pytest.raises(TransientError):
        fetch(settings, "KIC 11442793")
    cache = tmp_path / "cache"
    assert not [p for p in cache.rglob("*") if p.name == KIC90]  # nothing under a final name
    assert not [p for p in cache.rglob("*.part")]
    assert len(fetch(settings, "KIC 11442793")["paths"]) == 3  # then it works


def test_a_killed_downloads_file_goes_even_before_its_process_is_reaped(tmp_path: Path) -> None:
    """A download's hidden file names its process; the next download of that file removes
    the ones whose process is gone. A killed worker not yet reaped (a zombie: it answers
    signal 0) counted as running, so its file stayed in the cache (seen in a loaded test
    run: a resumed run's cache kept the killed run's unfinished file)."""
    import subprocess

    from exoextract.archive.transfer import remove_stale_parts

    dest = tmp_path / "kplr011442793-2009350155506_llc.fits"
    zombie = subprocess.Popen(["true"])  # exits, and is not waited for: a zombie
    running = subprocess.Popen(["sleep", "30"])
    try:
        is_zombie = lambda: psutil.Process(zombie.pid).status() == psutil.STATUS_ZOMBIE  # noqa: E731
        wait_for(is_zombie, 10, "a zombie")
        for pid in (zombie.pid, running.pid):
            (tmp_path / f".{dest.name}.{pid}.part").write_bytes(b"SIMPLE")
        assert remove_stale_parts(dest) == 1
        assert [p.name for p in tmp_path.iterdir()] == [f".{dest.name}.{running.pid}.part"]
    finally:
        running.kill()
        running.wait()
        zombie.wait()


def test_sector_filter_and_repairs_are_recorded(archive: Path, tmp_path: Path) -> None:
    write_fits(replace(spec_for(7_100_000, "TESS"), segments=3, first_segment=2), archive)
    with FakeMast(archive) as fake:
        settings = settings_for(fake, tmp_path, mast_segments=(3,))
        paths = fetch(settings, "TIC 7100000")["paths"]
        assert [Path(p).name.split("-")[1] for p in paths] == ["s0003"]
        Path(paths[0]).write_bytes(b"")  # a zero-byte file, as an interrupted download leaves
        result = run_targets(tmp_path, ["TIC 7100000"], settings)
    table = outcome_table(result)
    assert table.loc["TIC 7100000", "n_redownloaded"] == 1.0
    assert table.loc["TIC 7100000", "n_files"] == 1.0
    assert any(
        "was empty (0 bytes); moved aside and downloaded again" in w for w in result.warnings
    )


def test_a_search_that_keeps_stalling_times_out(fake: FakeMast, tmp_path: Path) -> None:
    fake.add_fault("kplr011442793", "stall", times=-1, seconds=10.0)
    started = time.monotonic()
    with pytest.raises(TransientError, match="Timeout"):
        fetch(settings_for(fake, tmp_path, http_timeout=1.0), "KIC 11442793")
    assert time.monotonic() - started < 9  # 3 tries of 1 s plus 1.5 s of backoff


def test_one_stalled_search_request_is_retried_in_place(fake: FakeMast, tmp_path: Path) -> None:
    fake.add_fault("kplr011442793", "stall", times=1, seconds=10.0)
    settings = settings_for(fake, tmp_path, http_timeout=1.0)
    assert len(fetch(settings, "KIC 11442793")["paths"]) == 3


def test_mirror_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXOEXTRACT_MAST_URL", "http://127.0.0.1:9")
    assert load_settings().mast_url == "http://127.0.0.1:9"
    assert load_settings(None, {"mast_url": "http://10.0.0.1:80"}).mast_url == "http://10.0.0.1:80"


# ---------------------------------------------------------------- whole runs
def synthetic_archive(root: Path) -> list[str]:
    """Kepler (2 quarters), K2 and TESS (2 sectors) stars written as archive files."""
    ids = []
    for i in range(10):
        write_fits(replace(spec_for(5_000_000 + i, "Kepler"), segments=2), root)
        ids.append(f"KIC {5_000_000 + i}")
    for i in range(5):
        write_fits(spec_for(211_000_000 + i, "K2"), root)
        ids.append(f"EPIC {211_000_000 + i}")
    for i in range(13):
        write_fits(replace(spec_for(7_000_000 + i, "TESS"), segments=2), root)
        ids.append(f"TIC {7_000_000 + i}")
    return ids


def run_targets(tmp_path: Path, ids: list[str], settings: Any, name: str = "run") -> RunResult:
    csv = tmp_path / f"{name}.csv"
    csv.write_text("target\n" + "\n".join(ids) + "\n")
    return start_run(csv, settings, out_dir=tmp_path / name)


def outcome_table(result: RunResult) -> pd.DataFrame:
    ok = pd.read_parquet(result.features_path).assign(status="ok")
    bad = pd.read_parquet(result.failures_path)
    return pd.concat([ok, bad], ignore_index=True).set_index("target_id")


@pytest.mark.slow
def test_thirty_targets_with_twenty_percent_faults(archive: Path, tmp_path: Path) -> None:
    ids = ["KIC 11442793", "TIC 100100827", *synthetic_archive(archive)]  # 30 with data
    ids.append("TIC 1")  # the archive has nothing for it
    with FakeMast(archive) as fake:
        files = {p.filename: p for p in fake.products}
        recoverable = {
            "503": "kplr005000000",
            "reset": "kplr005000001",
            "cut": "ktwo211000000",
            "empty": "ktwo211000001",
            "html200": "0000000007000000",
            "size": "0000000007000001",
        }
        for kind, stem in recoverable.items():
            name = next(f for f in files if stem in f)
            fake.add_fault(name, kind, times=1)
        doomed_file = next(f for f in files if "0000000007000002" in f)
        fake.add_fault(doomed_file, "503", times=-1)  # never recovers
        fake.add_fault("7000003", "503", times=-1)  # its search always fails
        settings = settings_for(fake, tmp_path, max_downloads=2, workers=3, retries=2)
        result = run_targets(tmp_path, ids, settings)
        max_in_flight = fake.max_in_flight
        max_connections = fake.max_connections
    assert result.complete
    table = outcome_table(result)
    assert table.loc["TIC 1", "status"] == "no_data"
    assert table.loc["TIC 7000002", "status"] == "failed"
    assert table.loc["TIC 7000002", "error_type"] == "TransientError"
    assert "archive answered HTTP 503" in table.loc["TIC 7000002", "message"]
    assert table.loc["TIC 7000002", "attempts"] == 3
    assert table.loc["TIC 7000003", "status"] == "failed"
    others = table.drop(index=["TIC 1", "TIC 7000002", "TIC 7000003"])
    assert (others["status"] == "ok").all(), others[others["status"] != "ok"]
    assert len(others) == 28
    assert 1 <= max_in_flight <= 2  # never more connections than --max-downloads
    assert 1 <= max_connections <= 2
    cache_is_clean(tmp_path / "cache")


def test_connections_stay_within_max_downloads(archive: Path, tmp_path: Path) -> None:
    ids = synthetic_archive(archive)[:12]
    with FakeMast(archive) as fake:
        fake.file_latency = 0.3
        result = run_targets(
            tmp_path, ids, settings_for(fake, tmp_path, workers=4, max_downloads=2)
        )
        assert result.counts == {"ok": 12}
        assert fake.max_in_flight == 2
        assert fake.max_connections == 2


def test_offline_uses_only_the_cache(fake: FakeMast, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path)
    fetch(settings, "KIC 11442793")
    before = sum(fake.requests.values()) + sum(fake.downloads.values())
    result = run_targets(
        tmp_path, ["KIC 11442793", "TIC 100100827"], replace(settings, offline=True)
    )
    assert sum(fake.requests.values()) + sum(fake.downloads.values()) == before
    table = outcome_table(result)
    assert table.loc["KIC 11442793", "status"] == "ok"
    assert table.loc["TIC 100100827", "status"] == "no_data"
    assert table.loc["TIC 100100827", "message"] == (
        "no local data for TIC 100100827 (offline: the archive was not contacted)"
    )


def test_prefetch_keeps_the_cpus_busy(archive: Path, tmp_path: Path, capsys: Any) -> None:
    n = 12
    ids = [f"TIC {7_000_000 + i}" for i in range(n)]
    for i in range(n):
        write_fits(spec_for(7_000_000 + i, "TESS"), archive)
    with FakeMast(archive) as fake:
        # the exhaustive BLS keeps each target's compute (~0.5 s) near a download's latency
        settings = settings_for(
            fake, tmp_path, run_bls=True, bls_mode="full", workers=2, max_downloads=2
        )
        warm = run_targets(tmp_path, ids, settings, "warm")  # fills the cache
        assert warm.counts == {"ok": n}
        compute = run_targets(tmp_path, ids, settings, "compute")  # cached: compute only
        fake.file_latency = 1.0
        cold = run_targets(
            tmp_path, ids, replace(settings, cache_dir=str(tmp_path / "c2")), "latency"
        )
    assert cold.counts == {"ok": n}
    serial = compute.elapsed + n * 1.0 / 2
    with capsys.disabled():
        print(
            f"\n{n} TESS targets, 2 workers: compute only {compute.elapsed:.1f} s; with 1 s "
            f"latency per file and prefetch {cold.elapsed:.1f} s (downloading inside the "
            f"workers would be about {serial:.1f} s)"
        )
    # prefetch pays about one file's latency to fill the pipeline, not one per target: the
    # run takes about as long as the slower of compute and downloads (2 at a time), plus one
    # latency, and must sit much nearer that than the serial sum
    overlapped = max(compute.elapsed, n * 1.0 / 2) + 1.0
    assert serial > overlapped
    assert cold.elapsed < overlapped + 0.5 * (serial - overlapped)


def test_run_killed_during_a_download_resumes_with_a_clean_cache(
    archive: Path, tmp_path: Path
) -> None:
    ids = ["KIC 11442793", "TIC 100100827"]
    csv = tmp_path / "t.csv"
    csv.write_text("target\n" + "\n".join(ids) + "\n")
    cache = tmp_path / "cache"
    with FakeMast(archive) as fake:
        fake.add_fault(KIC90, "stall", times=1, seconds=60.0)
        args = [
            "--source",
            "mast",
            "--mast-url",
            fake.url,
            "--cache-dir",
            str(cache),
            "--no-tls",
            "--no-bls",
            "--workers",
            "2",
            "--quiet",
        ]
        proc = start_cli(["run", str(csv), "--out", str(tmp_path / "run"), *args], tmp_path)
        wait_for(lambda: any(cache.rglob(".*.part")), 60, "a download in progress")
        family = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        wait_for(
            lambda: not alive(family), 10, f"the run's processes to exit: {describe(alive(family))}"
        )
        assert not list(cache.rglob(KIC90))  # the interrupted file never got its real name
        resumed = run_cli(["resume", str(tmp_path / "run"), "--json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    result = pd.read_parquet(tmp_path / "run" / "features.parquet")
    assert sorted(result["target_id"]) == sorted(ids)
    cache_is_clean(cache)
