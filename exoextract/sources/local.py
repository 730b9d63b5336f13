"""The ``local`` source: archive-named FITS files anywhere under ``--data-dir``.

Files are recognised by the archive's own names, so a folder laid out like MAST, a
lightkurve cache (``mastDownload/...``) or a flat folder of downloads all work:

* Kepler ``kplr{KIC:09d}-{stamp}_llc.fits``
* K2 ``ktwo{EPIC:09d}-c{campaign}_llc.fits``
* TESS ``*-{TIC:016d}-*_lc.fits`` (SPOC ``tess{stamp}-s{sector}-{TIC}-{id}-s_lc.fits``)

A row's ``path`` column (a file or a glob, relative to the CSV's folder) overrides the
search. The folder is indexed once, in the supervisor, and each task carries its files.
"""

from __future__ import annotations

import glob
import os
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from exoextract.errors import InputError, NoDataError
from exoextract.lcio import read_lightcurve, stitch
from exoextract.settings import Settings
from exoextract.sources import Fetched
from exoextract.targets import Target
from exoextract.task import Task

PATTERNS = (
    (re.compile(r"^kplr(\d{9})-\d+_llc\.fits(\.gz)?$", re.I), "Kepler"),
    (re.compile(r"^ktwo(\d{9})-c\d+_llc\.fits(\.gz)?$", re.I), "K2"),
    (re.compile(r"^.*-(\d{16})-.*_lc\.fits(\.gz)?$", re.I), "TESS"),
)


def index_folder(root: Path) -> dict[tuple[str, int], list[str]]:
    """(mission, id) -> sorted files, for every archive-named light curve under root."""
    index: dict[tuple[str, int], list[str]] = defaultdict(list)
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in files:
            if name.startswith("."):
                continue  # unfinished downloads and editor files
            for pattern, mission in PATTERNS:
                match = pattern.match(name)
                if match:
                    index[(mission, int(match.group(1)))].append(os.path.join(folder, name))
                    break
    return {key: sorted(paths) for key, paths in index.items()}


def locate(
    targets: Sequence[Target], settings: Settings, base_dir: Path
) -> Mapping[str, tuple[str, ...]]:
    if settings.data_dir is None and any(t.path is None for t in targets):
        raise InputError("the local source needs --data-dir (or a path column in the CSV)")
    index: dict[tuple[str, int], list[str]] = {}
    if settings.data_dir is not None:
        root = Path(settings.data_dir).expanduser()
        if not root.is_dir():
            raise InputError(f"data folder {root} does not exist — check --data-dir")
        index = index_folder(root)
    found: dict[str, tuple[str, ...]] = {}
    for target in targets:
        if target.path:
            found[target.key] = _expand(target.path, base_dir)
        elif target.mission:
            found[target.key] = tuple(index.get((target.mission, target.number), ()))
        else:  # a bare number: any mission that has it
            hits = [p for (m, n), ps in index.items() if n == target.number for p in ps]
            found[target.key] = tuple(sorted(hits))
    return found


def _expand(pattern: str, base_dir: Path) -> tuple[str, ...]:
    candidates = [Path(pattern).expanduser()]
    if not candidates[0].is_absolute():
        candidates = [base_dir / pattern, Path.cwd() / pattern]
    for candidate in candidates:
        matches = sorted(glob.glob(str(candidate), recursive=True))
        if matches:
            return tuple(matches)
    return ()


def fetch(task: Task) -> Fetched:
    if not task.paths:
        where = task.settings.data_dir or "the path column"
        raise NoDataError(f"no light-curve file for {task.target_id} under {where}")
    missions = {m for p in task.paths if (m := _mission_of(p)) is not None}
    if len(missions) > 1:
        raise NoDataError(
            f"{task.target_id}: files of several missions ({', '.join(sorted(missions))}) "
            "match a bare id — add a mission column"
        )
    settings = task.settings
    lcs = [read_lightcurve(p, settings.flux_column, settings.quality_bitmask) for p in task.paths]
    return Fetched(lc=stitch(lcs), files=tuple(task.paths))


def _mission_of(path: str) -> str | None:
    name = os.path.basename(path)
    for pattern, mission in PATTERNS:
        if pattern.match(name):
            return mission
    return None
