"""Downloading one archive file so that a half-written file can never look finished.

astroquery writes straight to the final path and has no transfer timeout; lightkurve then
reuses whatever is at that path. Here a file is streamed to a hidden temporary name beside
its destination, with a timeout on every wait for data and a deadline for the whole
transfer, then checked — size against the server's announcement and the archive's product
table, every HDU readable — and only then renamed into place. A request that fails before
any data is retried in place by the client; a transfer that breaks after data started is
not (the run's own retry, with its backoff, takes it).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from exoextract.archive.client import ArchiveClient
from exoextract.errors import TransientError
from exoextract.lightcurves.cache import check_fits

CHUNK = 1 << 16


def temporary_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}.part")


def remove_stale_parts(dest: Path) -> int:
    """Delete temporary files of ``dest`` left by downloads whose process has died."""
    removed = 0
    for part in dest.parent.glob(f".{dest.name}.*.part"):
        try:
            pid = int(part.name.rsplit(".", 2)[-2])
        except ValueError:
            continue  # not a name this module gives
        if _running(pid):
            continue  # its download is still going
        with contextlib.suppress(OSError):
            part.unlink()
            removed += 1
    return removed


def _running(pid: int) -> bool:
    """Whether a process runs under ``pid``. A killed one that its parent has not reaped yet
    (a zombie, as a worker is for a moment after a killed run) answers signal 0 but runs
    nothing: its file was kept, and stayed in the cache for good once the retry finished."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's: assume it runs
        return True


def download(
    client: ArchiveClient, url: str, dest: Path, expected_size: int | None, deadline: float
) -> int:
    """Fetch ``url`` to ``dest``; returns the size. Raises TransientError on anything that a
    later attempt may fix (timeouts, resets, 5xx, short or corrupt bodies), TargetError on
    an answer that will not change (404)."""
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest)
    tmp = temporary_name(dest)
    written = 0
    try:
        response = client.request("GET", url, dest.name, deadline=deadline, stream=True)
        with response:
            announced = response.headers.get("Content-Length")
            try:
                with open(tmp, "wb") as handle:
                    for chunk in response.iter_content(CHUNK):
                        handle.write(chunk)
                        written += len(chunk)
                        if time.monotonic() > deadline:
                            raise TransientError(
                                f"{dest.name}: transfer too slow "
                                f"({written} bytes before the deadline)"
                            )
                    handle.flush()
                    os.fsync(handle.fileno())
            except requests.exceptions.RequestException as error:
                raise TransientError(
                    f"{dest.name}: transfer broke after {written} bytes ({type(error).__name__})"
                ) from None
        if announced is not None and int(announced) != written:
            raise TransientError(f"{dest.name}: got {written} of {announced} announced bytes")
        if expected_size and written != expected_size:
            raise TransientError(
                f"{dest.name}: got {written} bytes, the archive lists {expected_size}"
            )
        check = check_fits(tmp)
        if check.bad:
            raise TransientError(f"{dest.name}: downloaded file is {check.problem}")
        os.replace(tmp, dest)
        return written
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
