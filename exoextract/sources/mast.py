"""The ``mast`` source: search with lightkurve, download into lightkurve's cache, safely.

How lightkurve and astroquery behave on the archive path, and what this module does about it:

* lightkurve reuses any file at its cache path without checking it, and astroquery writes
  straight to that path: every cached file is checked before use (every HDU read, size
  against the archive's product table); a bad one is moved aside (``.name.corrupt-TIME``) and
  downloaded again, and the outcome says so. Downloads go to a hidden temporary name and are
  renamed only when complete (:mod:`exoextract.download`).
* astroquery has no timeout on transfers: each HTTP request gets ``http_timeout`` seconds to
  produce data, and the whole search + download of a target runs in a download worker that is
  killed after ``download_timeout``.
* When the exact-id query finds nothing, lightkurve falls back to a cone search through a
  name resolver that cannot be redirected (and fails offline): the exact query is made here
  first, so a target the archive does not have is ``no_data``, not a network error.
* The server is read at import time by astroquery: a mirror (``mast_url``) is applied by
  patching the portal connection's URLs, which also points the tests at a local fake.

Downloads run in their own small pool (``max_downloads`` processes, the archive connection
budget) ahead of the CPU workers; the CPU workers only read the cache.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from exoextract.cache import check_fits
from exoextract.download import download, retrying_adapter
from exoextract.errors import (
    CorruptFileError,
    NoDataError,
    RefetchError,
    TargetError,
    TransientError,
)
from exoextract.lcio import quiet_import_lightkurve, read_lightcurve, stitch
from exoextract.settings import Settings
from exoextract.sources import Fetched
from exoextract.sources.local import index_folder
from exoextract.targets import Target
from exoextract.task import Task
from exoextract.transient import chain, is_transient

DEFAULT_SERVER = "https://mast.stsci.edu"


def cache_root(settings: Settings) -> Path:
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    lk = quiet_import_lightkurve()
    return Path(lk.config.get_cache_dir())


def cached_path(root: Path, row: Mapping[str, Any]) -> Path:
    """Where lightkurve keeps a product: mastDownload/<collection>/<obs_id>/<file>."""
    return (
        root
        / "mastDownload"
        / str(row["obs_collection"])
        / str(row["obs_id"])
        / str(row["productFilename"])
    )


def exact_target_name(mission: str, number: int) -> str:
    """MAST's own target_name: kplr/ktwo plus nine digits; TESS ids unpadded."""
    if mission == "Kepler":
        return f"kplr{number:09d}"
    if mission == "K2":
        return f"ktwo{number:09d}"
    return str(number)


def configure(settings: Settings) -> Any:
    """Point astroquery at the chosen server and give every request a timeout."""
    from astroquery.mast import Observations

    portal = Observations._portal_api_connection
    base = (settings.mast_url or DEFAULT_SERVER).rstrip("/")
    portal.MAST_REQUEST_URL = base + "/api/v0/invoke"
    portal.COLUMNS_CONFIG_URL = base + "/portal/Mashup/Mashup.asmx/columnsconfig"
    portal.MAST_DOWNLOAD_URL = base + "/api/v0.1/Download/file"
    session = portal._session
    if not getattr(session, "_exoextract_timeout", None):
        adapter = retrying_adapter()  # one failed search request is retried in place
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        original = session.request

        def request(method: str, url: str, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = (10.0, session._exoextract_timeout)
            return original(method, url, **kwargs)

        session.request = request
    session._exoextract_timeout = settings.http_timeout
    return Observations


# ------------------------------------------------------------------ stages
def locate(
    targets: Sequence[Target], settings: Settings, base_dir: Path
) -> Mapping[str, tuple[str, ...]]:
    """Offline: the files already in the cache or data_dir. Online: nothing (downloads)."""
    if not settings.offline:
        return {}
    index: dict[tuple[str, int], list[str]] = {}
    roots = [cache_root(settings)]
    if settings.data_dir:
        roots.append(Path(settings.data_dir).expanduser())
    for root in roots:
        if root.is_dir():
            for key, paths in index_folder(root).items():
                index.setdefault(key, []).extend(paths)
    return {t.key: tuple(sorted(index.get((t.mission or "", t.number), ()))) for t in targets}


def prefetch(task: Task) -> dict[str, Any]:
    """Search and download one target (runs in a download worker); paths and notes."""
    settings = task.settings
    if task.mission is None:
        raise NoDataError(f"{task.target_id}: no mission — add a mission column or --mission")
    deadline = time.monotonic() + settings.download_timeout
    result = search(task)
    root = cache_root(settings)
    portal_url = configure(settings)._portal_api_connection.MAST_DOWNLOAD_URL
    paths: list[str] = []
    notes: list[str] = []
    repaired = 0
    seen: set[str] = set()
    for row in result.table:
        dest = cached_path(root, row)
        if str(dest) in seen:
            continue
        seen.add(str(dest))
        expected = _size(row)
        if dest.exists():
            problem = _cached_problem(dest, expected)
            if problem is None:
                paths.append(str(dest))
                continue
            dest.replace(dest.with_name(f".{dest.name}.corrupt-{int(time.time())}"))
            notes.append(f"cached {dest.name} was {problem}; moved aside and downloaded again")
            repaired += 1
        url = f"{portal_url}?uri={quote(str(row['dataURI']), safe=':/')}"
        download(url, dest, expected, settings.http_timeout, deadline)
        paths.append(str(dest))
    return {"paths": sorted(paths), "notes": notes, "repaired": repaired}


def fetch(task: Task) -> Fetched:
    """Read the target's files from the cache (downloading first if no stage did)."""
    settings = task.settings
    paths = list(task.paths)
    notes = list(task.notes)
    if not paths:
        if settings.offline:
            raise NoDataError(
                f"no local data for {task.target_id} (offline: the archive was not contacted)"
            )
        fetched = prefetch(task)
        paths, notes = fetched["paths"], notes + fetched["notes"]
        task = replace(task, repaired=task.repaired + fetched["repaired"])
    lcs = []
    for path in paths:
        try:
            lcs.append(read_lightcurve(path, settings.flux_column, settings.quality_bitmask))
        except CorruptFileError as error:
            if settings.offline:
                raise
            bad = Path(path)
            bad.replace(bad.with_name(f".{bad.name}.corrupt-{int(time.time())}"))
            raise RefetchError(f"{error}; moved aside to download again") from None
    return Fetched(lc=stitch(lcs), files=tuple(paths), notes=tuple(notes), repaired=task.repaired)


# ------------------------------------------------------------------ searching
def search(task: Task) -> Any:
    """lightkurve SearchResult for the target, or NoDataError if the archive has none."""
    settings = task.settings
    assert task.mission is not None
    lk = quiet_import_lightkurve()
    observations = configure(settings)
    criteria: dict[str, Any] = {
        "target_name": exact_target_name(task.mission, task.number),
        "project": [task.mission],
        "dataproduct_type": ["cube", "timeseries"],
    }
    if settings.mast_author:
        criteria["provenance_name"] = [settings.mast_author]
    segments = list(settings.mast_segments) or None
    segment_filter: dict[str, Any] = {}
    if segments:
        keyword = {"Kepler": "quarter", "K2": "campaign", "TESS": "sector"}[task.mission]
        segment_filter[keyword] = segments
        if task.mission != "Kepler":  # lightkurve puts campaigns and sectors in its query
            criteria["sequence_number"] = segments
    exptime: Any = settings.mast_exptime
    if exptime is not None and exptime.replace(".", "", 1).isdigit():
        exptime = float(exptime)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = observations.query_criteria(**criteria)
            if len(found) == 0:
                raise NoDataError(f"MAST has no {task.mission} light curve for {task.target_id}")
            # the exact query above matched, so lightkurve will not fall back to the
            # name resolver's cone search
            result = lk.search_lightcurve(
                task.target_id,
                mission=task.mission,
                author=settings.mast_author,
                exptime=exptime,
                **segment_filter,
            )
    except TargetError:
        raise
    except Exception as error:
        raise classify(error) from None
    if len(result) == 0:
        raise NoDataError(
            f"MAST has {task.mission} data for {task.target_id}, but no light "
            "curve matches mast_author/mast_exptime/mast_segments"
        )
    return result


def classify(error: BaseException) -> TargetError:
    """Network trouble, archive 5xx/429 and answers cut short are transient; the rest is
    not. By type and status code (:mod:`exoextract.transient`); a JSON answer that does not
    parse is an archive answer cut short."""
    text = f"{type(error).__name__}: {error}"
    garbled = any(isinstance(link, json.JSONDecodeError) for link in chain(error))
    if garbled or is_transient(error):
        return TransientError(text)
    return TargetError(text)


def _size(row: Mapping[str, Any]) -> int | None:
    try:
        size = int(row["size"])
    except (KeyError, TypeError, ValueError):
        return None
    return size if size > 0 else None


def _cached_problem(path: Path, expected: int | None) -> str | None:
    check = check_fits(path)
    if check.bad:
        return check.problem
    if expected and check.size != expected:
        return f"{check.size} bytes, not the archive's {expected}"
    return None
