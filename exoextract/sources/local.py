"""The ``local`` source: archive-named FITS files anywhere under ``--data-dir``.

Files are recognised by the archive's own names (:mod:`exoextract.lightcurves.filenames`), so
a folder laid out like MAST, a lightkurve cache (``mastDownload/...``) or a flat folder of downloads
all work: Kepler ``kplr{KIC:09d}-{stamp}_llc.fits``, K2 ``ktwo{EPIC:09d}-c{campaign}_llc.fits``,
TESS ``tess{stamp}-s{sector}-{TIC:016d}-{id}-s_lc.fits``, and the high-level products K2SFF,
EVEREST, K2SC, QLP, TESS-SPOC and the TESS data-alert files. Where a star has files of
several pipelines or cadences for one segment, one is read (the archive source's choice:
:func:`exoextract.archive.products.one_per_segment`).

A row's ``path`` column (a file or a glob, relative to the CSV's folder) overrides the
search and is read as given. The folder is indexed once, in the supervisor, and each task
carries its files.
"""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from exoextract.archive.products import Product
from exoextract.archive.products import one_per_segment as choose_per_segment
from exoextract.errors import CorruptFileError, InputError, NoDataError
from exoextract.lightcurves import filenames
from exoextract.lightcurves.cache import check_fits
from exoextract.lightcurves.filefacts import combine_facts
from exoextract.lightcurves.lightcurve import stitch
from exoextract.lightcurves.read import read_one
from exoextract.settings import Settings
from exoextract.sources import Fetched
from exoextract.star.task import Task
from exoextract.targets import Target


def index_folder(root: Path) -> dict[tuple[str, int], list[str]]:
    """(mission, id) -> sorted files, for every archive-named light curve under root."""
    index: dict[tuple[str, int], list[str]] = defaultdict(list)
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in files:
            found = filenames.parse(name)  # hidden (unfinished) files are not light curves
            if found is not None:
                index[(found.mission, found.number)].append(os.path.join(folder, name))
    return {key: sorted(paths) for key, paths in index.items()}


def one_per_segment(paths: Sequence[str]) -> list[str]:
    """The files to read of one star's files: one (pipeline, cadence) per segment."""
    named = [(p, filenames.parse(os.path.basename(p))) for p in paths]
    if len({(n.author, n.exptime) for _, n in named if n is not None}) <= 1:
        return list(paths)  # one kind of file: nothing to choose (and no header to read)
    products = [
        Product(
            target_name=str(n.number),
            mission=n.mission,
            author=n.author,
            exptime=n.exptime,
            segment=n.segment or filenames.segment_from_header(p),
            filename=p,
            uri="",
            size=None,
            obs_collection="",
            obs_id="",
        )
        for p, n in named
        if n is not None
    ]
    chosen = {p.filename for p in choose_per_segment(products)}
    return [p for p in paths if p in chosen or filenames.parse(os.path.basename(p)) is None]


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
    missions = {n.mission for p in task.paths if (n := filenames.parse(os.path.basename(p)))}
    if len(missions) > 1:
        raise NoDataError(
            f"{task.target_id}: files of several missions ({', '.join(sorted(missions))}) "
            "match a bare id — add a mission column"
        )
    return read_files(task, one_per_segment(task.paths))


def read_files(task: Task, paths: Sequence[str]) -> Fetched:
    """Read and stitch a star's files; notes for files read as they are (raw K2). A file
    that is not whole (truncated, zero bytes) is left out with a note naming it, as long as
    another file of the star reads: one bad quarter of sixteen does not lose the star.
    Each file is opened once for its flux, notes and facts (:func:`read_one`)."""
    settings = task.settings
    lcs, read, bad, notes, pieces = [], [], [], [], []
    for path in paths:
        try:
            lc, said, piece = read_one(path, settings.flux_column, settings.quality_bitmask)
        except CorruptFileError as error:
            if not check_fits(path).bad:
                raise  # whole but not a light curve: the user's choice of file is wrong
            bad.append((path, error))
            continue
        lcs.append(lc)
        read.append(path)
        notes += said
        pieces.append(piece)
    if not lcs:
        raise bad[0][1]
    notes += [
        f"{os.path.basename(p)} left out: {check_fits(p).problem} — the star was measured "
        f"without it; replace the file (exoextract clean-cache for the cache)"
        for p, _ in bad
    ]
    return Fetched(lc=stitch(lcs), files=tuple(read), notes=task.notes + tuple(notes),
                   repaired=task.repaired, facts=combine_facts(pieces, task.mission),
                   unreadable=tuple(os.path.basename(p) for p, _ in bad))  # fmt: skip
