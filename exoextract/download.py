"""Downloading one archive file so that a half-written file can never look finished.

astroquery writes straight to the final path and has no transfer timeout; lightkurve then
reuses whatever is at that path. Here a file is streamed to a hidden temporary
name beside its destination, with a timeout on every wait for data and a deadline for the
whole transfer, then checked — size against the server's announcement and the archive's
product table, every HDU readable — and only then renamed into place.

A single failed request (a refused or reset connection, HTTP 5xx or 429) is retried here,
twice, with a short backoff (urllib3's ``Retry``), before the target goes back through the
supervisor's slower retry; a transfer that breaks after data started is not retried here.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from exoextract.cache import check_fits
from exoextract.errors import TargetError, TransientError

CHUNK = 1 << 16
CONNECT_TIMEOUT = 10.0
HTTP_RETRIES = 2
HTTP_BACKOFF = 0.5  # seconds before the first in-request retry, doubling
RETRY_STATUSES = (429, 500, 502, 503, 504)


def retrying_adapter() -> Any:
    """A requests adapter that retries one failed request (connection, 5xx, 429) itself.

    The archive's search calls are POSTs that only read, so they are retried too; the
    final response of a request that kept failing is returned as is, for the caller to
    classify by its status."""
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=HTTP_RETRIES,
        connect=HTTP_RETRIES,
        read=HTTP_RETRIES,
        status=HTTP_RETRIES,
        backoff_factor=HTTP_BACKOFF,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    return HTTPAdapter(max_retries=retry)


def retrying_session() -> Any:
    import requests

    session = requests.Session()
    adapter = retrying_adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def temporary_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}.part")


def remove_stale_parts(dest: Path) -> int:
    """Delete temporary files of ``dest`` left by downloads whose process has died."""
    removed = 0
    for part in dest.parent.glob(f".{dest.name}.*.part"):
        try:
            pid = int(part.name.rsplit(".", 2)[-2])
            os.kill(pid, 0)
            continue  # its download is still running
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError):
            continue
        with contextlib.suppress(OSError):
            part.unlink()
            removed += 1
    return removed


def download(
    url: str,
    dest: Path,
    expected_size: int | None,
    read_timeout: float,
    deadline: float,
    session: Any = None,
) -> int:
    """Fetch ``url`` to ``dest``; returns the size. Raises TransientError on anything that a
    later attempt may fix (timeouts, resets, 5xx, short or corrupt bodies)."""
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest)
    tmp = temporary_name(dest)
    getter = (session if session is not None else retrying_session()).get
    written = 0
    try:
        try:
            response = getter(
                url,
                stream=True,
                timeout=(CONNECT_TIMEOUT, read_timeout),
                headers={"Connection": "close"},
            )
        except requests.exceptions.RequestException as error:
            raise TransientError(f"{dest.name}: {type(error).__name__}: {error}") from None
        with response:
            if response.status_code >= 500 or response.status_code == 429:
                raise TransientError(f"{dest.name}: archive answered HTTP {response.status_code}")
            if response.status_code >= 400:
                raise TargetError(f"{dest.name}: archive answered HTTP {response.status_code}")
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
