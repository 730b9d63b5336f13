"""The ``mast`` source: light curves from the archive, through lightkurve's cache.

Searching and downloading are the archive stage's work (:mod:`exoextract.archive`): by the
time a task reaches a worker its files are in the cache and the task lists them. This module
only reads them — and, where no stage ran (a diagnostic sheet, a Dask worker given its
target's product list), fetches the one target's files itself first.

A cached file that turns out unreadable is moved aside (``.name.corrupt-TIME``) and the
target goes back to the archive stage, which downloads it again (``RefetchError``).
``--offline`` uses only the cache and ``data_dir``, found by the archive's file names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from exoextract.archive import options
from exoextract.errors import CorruptFileError, NoDataError, RefetchError
from exoextract.lightcurves.filefacts import combine_facts
from exoextract.lightcurves.lightcurve import stitch
from exoextract.lightcurves.read import read_one
from exoextract.settings import Settings
from exoextract.sources import Fetched
from exoextract.sources.local import index_folder, one_per_segment
from exoextract.star.task import Task
from exoextract.targets import Target


def locate(
    targets: Sequence[Target], settings: Settings, base_dir: Path
) -> Mapping[str, tuple[str, ...]]:
    """Offline: the files already in the cache or data_dir. Online: nothing (downloads)."""
    if not settings.offline:
        return {}
    index: dict[tuple[str, int], list[str]] = {}
    roots = [options.cache_root(settings)]
    if settings.data_dir:
        roots.append(Path(settings.data_dir).expanduser())
    for root in roots:
        if root.is_dir():
            for key, paths in index_folder(root).items():
                index.setdefault(key, []).extend(paths)
    return {t.key: tuple(sorted(index.get((t.mission or "", t.number), ()))) for t in targets}


def fetch(task: Task) -> Fetched:
    """Read the target's files from the cache (fetching them here if no stage did)."""
    settings = task.settings
    paths = list(task.paths)
    notes = list(task.notes)
    repaired = task.repaired
    if not paths:
        if settings.offline:
            raise NoDataError(
                f"no local data for {task.target_id} (offline: the archive was not contacted)"
            )
        from exoextract.archive.direct import fetch_one

        files = fetch_one(settings, task.target_id, task.mission, task.number, task.products)
        paths, notes, repaired = files.paths, notes + files.notes, repaired + files.repaired
    if settings.offline:
        paths = one_per_segment(paths)  # a cache or folder may hold several of a sector
    lcs, pieces = [], []
    for path in paths:  # each file opened once for its flux, notes and facts
        try:
            lc, said, piece = read_one(path, settings.flux_column, settings.quality_bitmask)
        except CorruptFileError as error:
            if settings.offline:
                raise
            bad = Path(path)
            bad.replace(bad.with_name(f".{bad.name}.corrupt-{int(time.time())}"))
            raise RefetchError(f"{error}; moved aside to download again") from None
        lcs.append(lc)
        notes += said
        pieces.append(piece)
    facts = combine_facts(pieces, task.mission)
    return Fetched(stitch(lcs), tuple(paths), tuple(notes), repaired, facts)
