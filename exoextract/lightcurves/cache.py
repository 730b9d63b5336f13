"""Find lightkurve's download cache and the broken FITS files in it.

lightkurve reuses any file that exists at the expected cache path, without checking it, so
one interrupted download fails every later run. :func:`check_fits` is the one
integrity check used everywhere: by ``clean-cache``, and by sources before a file is read.
:func:`loaded_fits` also hands over the file as the check read it, so a reader need not open
it again.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exoextract.errors import CacheError

FITS_BLOCK = 2880
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz")


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one file: ``problem`` is None for a good file."""

    path: Path
    size: int
    problem: str | None = None
    note: str | None = None

    @property
    def bad(self) -> bool:
        return self.problem is not None


def check_fits(path: str | Path) -> FileCheck:
    """Read every HDU's data: the only way to know a FITS file is whole.

    ``astropy.io.fits.open`` succeeds on a file cut right after its headers, and a file
    holding only a primary header opens fine but has no light curve, so both count as bad.
    A file whose final padding is missing reads completely and is kept, with a note.
    """
    return loaded_fits(path)[0]


def loaded_fits(path: str | Path) -> tuple[FileCheck, Any]:
    """:func:`check_fits`'s verdict and the file as the check read it: an astropy HDUList
    with every HDU's data in memory, the file closed (None for a bad file)."""
    return _check(Path(path))


def _check(path: Path) -> tuple[FileCheck, Any]:
    import numpy as np
    from astropy.io import fits

    try:
        size = path.stat().st_size
    except OSError as error:
        return FileCheck(path, 0, f"unreadable ({error.strerror})"), None
    if size == 0:
        return FileCheck(path, 0, "empty (0 bytes)"), None
    with open(path, "rb") as handle:
        head = handle.read(80)
    if path.suffix != ".gz" and not head.startswith(b"SIMPLE  ="):
        kind = "an HTML page" if b"<" in head[:20] else "not FITS"
        return FileCheck(path, size, f"{kind} saved as FITS"), None
    note = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                with_data = 0
                for hdu in hdul:
                    data = hdu.data
                    if data is None:
                        continue
                    with_data += 1
                    if getattr(data, "dtype", None) is not None and data.dtype.names:
                        for name in data.dtype.names:
                            np.asarray(data[name])
                    else:
                        np.asarray(data)
                if with_data == 0:
                    return FileCheck(path, size, "truncated (headers only, no data)"), None
        if any("truncated" in str(w.message) for w in caught):
            note = "final padding missing (data complete)"
    except Exception as error:  # astropy raises OSError, ValueError, TypeError, ...
        problem = (
            f"truncated or corrupt ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        )
        return FileCheck(path, size, problem), None
    if note is None and path.suffix != ".gz" and size % FITS_BLOCK:
        note = "size is not a multiple of 2880 bytes"
    return FileCheck(path, size, None, note), hdul


def lightkurve_cache_dirs(explicit: str | Path | None = None) -> list[Path]:
    """Every place lightkurve may have cached files, the active one first.

    The active cache is lightkurve's own ``get_cache_dir()`` (``lk.conf.cache_dir`` if set,
    else astropy's ``~/.cache/lightkurve`` or ``$XDG_CACHE_HOME/lightkurve``); legacy
    ``~/.lightkurve/cache`` and pre-2.4 ``~/.lightkurve-cache`` are added if they exist.
    """
    if explicit is not None:
        return [Path(explicit).expanduser()]
    dirs: list[Path] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lightkurve as lk

            dirs.append(Path(lk.config.get_cache_dir()))
    except Exception:  # lightkurve missing or its config broken: use the documented default
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg else Path.home() / ".cache"
        dirs.append(base / "lightkurve")
    home = Path.home()
    for legacy in (home / ".lightkurve" / "cache", home / ".lightkurve-cache"):
        if legacy.is_dir() and legacy not in dirs:
            dirs.append(legacy)
    return dirs


def iter_cached_files(root: Path) -> Iterator[Path]:
    for folder, _, files in os.walk(root):
        for name in files:
            yield Path(folder) / name


def scan(dirs: Iterable[Path]) -> list[FileCheck]:
    """Check every FITS file (and any zero-byte file) under the given folders."""
    checks = []
    for root in dirs:
        if not root.is_dir():
            continue
        for path in sorted(iter_cached_files(root)):
            if path.name.startswith(".") and path.name.endswith(".part"):
                checks.append(FileCheck(path, _size(path), "unfinished download"))
            elif path.name.startswith(".") and ".corrupt-" in path.name:
                checks.append(FileCheck(path, _size(path), "corrupt file set aside by exoextract"))
            elif path.name.lower().endswith(FITS_SUFFIXES):
                checks.append(check_fits(path))
            elif _size(path) == 0:
                checks.append(FileCheck(path, 0, "empty (0 bytes)"))
    return checks


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class CleanReport:
    """What ``clean-cache`` saw and did."""

    dirs: tuple[Path, ...]
    checked: int
    bad: tuple[FileCheck, ...]
    noted: tuple[FileCheck, ...]
    removed: tuple[Path, ...]
    dry_run: bool
    wiped: bool = False
    freed_bytes: int = 0


def clean_cache(cache_dir: str | Path | None = None, dry_run: bool = False) -> CleanReport:
    """Remove the zero-byte and unreadable FITS files from lightkurve's cache; a good file
    is never touched.

    Parameters
    ----------
    cache_dir : str or Path, optional
        The cache folder; default: lightkurve's (and astropy's) cache folders.
    dry_run : bool, default False
        Only say what would be removed.

    Returns
    -------
    CleanReport
        The folders, the files checked, the bad ones (with what is wrong), those removed
        and the bytes freed.

    Raises
    ------
    CacheError
        ``cache_dir`` does not exist, or a bad file cannot be removed.

    Examples
    --------
    >>> folder = tmp / "cache"
    >>> folder.mkdir()
    >>> _ = (folder / "empty_llc.fits").write_bytes(b"")
    >>> report = clean_cache(folder)
    >>> report.checked, [p.name for p in report.removed]
    (1, ['empty_llc.fits'])
    """
    dirs = lightkurve_cache_dirs(cache_dir)
    if cache_dir is not None and not dirs[0].is_dir():
        raise CacheError(f"cache folder {dirs[0]} does not exist — check --cache-dir")
    checks = scan(dirs)
    bad = tuple(c for c in checks if c.bad)
    removed = []
    for check in bad:
        if dry_run:
            continue
        try:
            check.path.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise CacheError(
                f"cannot remove {check.path}: {error.strerror} — check the folder's permissions"
            ) from None
        removed.append(check.path)
    return CleanReport(
        dirs=tuple(dirs),
        checked=len(checks),
        bad=bad,
        noted=tuple(c for c in checks if not c.bad and c.note),
        removed=tuple(removed),
        dry_run=dry_run,
        freed_bytes=sum(c.size for c in bad if c.path in removed),
    )


def wipe_cache(cache_dir: str | Path | None = None, dry_run: bool = False) -> CleanReport:
    """Delete every file in the cache folders (only when the user asked with --all)."""
    dirs = lightkurve_cache_dirs(cache_dir)
    files = [p for root in dirs if root.is_dir() for p in iter_cached_files(root)]
    total = sum(_size(p) for p in files)
    if not dry_run:
        for root in dirs:
            if root.is_dir():
                for child in root.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
    return CleanReport(
        dirs=tuple(dirs),
        checked=len(files),
        bad=(),
        noted=(),
        removed=tuple(files) if not dry_run else (),
        dry_run=dry_run,
        wiped=not dry_run,
        freed_bytes=total if not dry_run else 0,
    )
