"""The ``mast`` source: lightkurve search and download into lightkurve's cache.

lightkurve trusts any file already at a cache path (FACTS.md), so every cached file of the
search result is checked before download; a bad one is moved aside and fetched again.
Timeouts are enforced from outside: the supervisor kills a worker stuck in a transfer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from exoextract.cache import check_fits
from exoextract.errors import CorruptFileError, NoDataError, TargetError, TransientError
from exoextract.lcio import quiet_import_lightkurve, read_lightcurve, stitch
from exoextract.settings import Settings
from exoextract.sources import Fetched
from exoextract.targets import Target
from exoextract.task import Task


def locate(
    targets: Sequence[Target], settings: Settings, base_dir: Path
) -> Mapping[str, tuple[str, ...]]:
    return {}


def cache_root(settings: Settings) -> Path:
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    lk = quiet_import_lightkurve()
    return Path(lk.config.get_cache_dir())


def cached_path(root: Path, row: Mapping[str, Any]) -> Path:
    """Where lightkurve puts a product: mastDownload/<collection>/<obs_id>/<file>."""
    return (
        root
        / "mastDownload"
        / str(row["obs_collection"])
        / str(row["obs_id"])
        / str(row["productFilename"])
    )


def fetch(task: Task) -> Fetched:
    settings = task.settings
    if task.mission is None:
        raise NoDataError(f"{task.target_id}: no mission — add a mission column or --mission")
    lk = quiet_import_lightkurve()
    result = _search(lk, task)
    if len(result) == 0:
        raise NoDataError(f"MAST has no {task.mission} light curve for {task.target_id}")
    root = cache_root(settings)
    notes = []
    for row in result.table:
        path = cached_path(root, row)
        if path.exists():
            check = check_fits(path)
            if check.bad:
                aside = path.with_name(f".{path.name}.corrupt-{int(time.time())}")
                path.replace(aside)
                notes.append(f"cached {path.name} was {check.problem}; moved aside, re-downloaded")
    try:
        result.download_all(
            download_dir=str(root),
            quality_bitmask=settings.quality_bitmask,
            flux_column=settings.flux_column,
        )
    except Exception as error:
        raise _classify(error) from None
    lcs = []
    for row in result.table:
        path = cached_path(root, row)
        try:
            lcs.append(read_lightcurve(path, settings.flux_column, settings.quality_bitmask))
        except CorruptFileError as error:
            path.replace(path.with_name(f".{path.name}.corrupt-{int(time.time())}"))
            raise TransientError(f"downloaded file is corrupt, moved aside: {error}") from None
    return Fetched(
        lc=stitch(lcs),
        files=tuple(str(cached_path(root, r)) for r in result.table),
        notes=tuple(notes),
    )


def _search(lk: Any, task: Task) -> Any:
    settings = task.settings
    exptime: Any = settings.mast_exptime
    if exptime is not None and exptime.replace(".", "", 1).isdigit():
        exptime = float(exptime)
    try:
        return lk.search_lightcurve(
            task.target_id, mission=task.mission, author=settings.mast_author, exptime=exptime
        )
    except Exception as error:
        raise _classify(error) from None


def _classify(error: Exception) -> TargetError:
    """Network trouble and archive 5xx are transient; everything else is not retried."""
    text = f"{type(error).__name__}: {error}"
    transient_names = (
        "ConnectionError",
        "Timeout",
        "ChunkedEncodingError",
        "ReadTimeout",
        "RemoteDisconnected",
        "IncompleteRead",
        "ProtocolError",
    )
    if any(name in text for name in transient_names) or any(
        f"{code}" in text for code in (500, 502, 503, 504)
    ):
        return TransientError(text)
    if "Not recognized as a supported data product" in text or "corrupt" in text.lower():
        return TransientError(text)
    return TargetError(text)
