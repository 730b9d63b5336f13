"""Talking to MAST: one kept-alive connection, the portal's search services, and manners.

Every request to the archive, searches and file transfers alike, goes through an
:class:`ArchiveClient`: one ``requests`` session holding at most one connection (so the
number of archive processes is the number of connections), a timeout on every wait for
data, and a few quick in-place retries of a request that failed before any data came
(refused or reset connections, HTTP 5xx and 429). A 429 or 503 also pauses every process
of the run through the shared :class:`Gate`, for as long as the archive's ``Retry-After``
asks (or the backoff delay when it does not say).

The portal's services (``Mast.Caom.Filtered`` for observations, ``Mast.Caom.Products``
for their files) are called as astroquery calls them — a JSON request posted to
``/api/v0/invoke`` — but with every target name of a batch in one filter and many
observation ids in one product request; an answer still ``EXECUTING`` is asked again, and
every page of a paged answer is read.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from exoextract import __version__
from exoextract.errors import TargetError, TransientError

DEFAULT_SERVER = "https://mast.stsci.edu"
CONNECT_TIMEOUT = 10.0
HTTP_RETRIES = 2  # quick retries of one request in place, before the run's own retries
HTTP_BACKOFF = 0.5  # seconds before the first in-place retry, doubling
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 600.0  # a longer Retry-After is taken as this many seconds
PAGESIZE = 50_000  # rows per page of a portal answer (astroquery's default)
EXECUTING_POLL = 0.5  # seconds between asks of an answer the portal is still computing


class Gate:
    """A pause that every process of a run honours before talking to the archive.

    ``shared`` is a ``multiprocessing.Value('d')`` holding the wall-clock time until which
    to wait, given to every archive process; without one the pause is this process's own.
    """

    def __init__(self, shared: Any = None) -> None:
        self._shared = shared
        self._local = 0.0

    @property
    def until(self) -> float:
        return float(self._shared.value) if self._shared is not None else self._local

    def pause(self, seconds: float) -> None:
        until = time.time() + min(max(seconds, 0.0), MAX_RETRY_AFTER)
        if self._shared is not None:
            with self._shared.get_lock():
                self._shared.value = max(self._shared.value, until)
        else:
            self._local = max(self._local, until)

    def remaining(self) -> float:
        return max(0.0, self.until - time.time())

    def wait(self, deadline: float | None = None) -> None:
        """Sleep out the pause; TransientError if it would outlast ``deadline`` (monotonic)."""
        while (left := self.remaining()) > 0:
            if deadline is not None and time.monotonic() + left > deadline:
                raise TransientError(
                    f"the archive asked to wait {left:.0f} s, past this job's time limit"
                )
            time.sleep(min(left, 1.0))


@dataclass(frozen=True)
class Connection:
    """Where the archive is and how long to wait for it (picklable, from the settings)."""

    base_url: str = DEFAULT_SERVER
    http_timeout: float = 60.0

    @property
    def invoke_url(self) -> str:
        return self.base_url.rstrip("/") + "/api/v0/invoke"

    def download_url(self, uri: str) -> str:
        return f"{self.base_url.rstrip('/')}/api/v0.1/Download/file?uri={quote(uri, safe=':/')}"


class ArchiveClient:
    """One connection's worth of archive: searches, product lists and file transfers."""

    def __init__(self, connection: Connection, gate: Gate | None = None) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.connection = connection
        self.gate = gate or Gate()
        self.calls = 0  # API requests made (searches, product lists, their pages)
        self.call_seconds = 0.0  # the time they took, answers included
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"exoextract/{__version__}"

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ portal services
    def observations(self, filters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Rows of ``Mast.Caom.Filtered`` (every page)."""
        return self.service("Mast.Caom.Filtered", {"columns": "*", "filters": list(filters)})

    def products(self, obsids: Sequence[str]) -> list[dict[str, Any]]:
        """Rows of ``Mast.Caom.Products`` for these observation ids (every page)."""
        if not obsids:
            return []
        return self.service("Mast.Caom.Products", {"obsid": ",".join(obsids)})

    def service(self, service: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page, pages = 1, 1
        while page <= pages:
            answer = self._invoke(service, params, page)
            rows.extend(answer.get("data") or [])
            paging = answer.get("paging") or {}
            pages = int(paging.get("pagesFiltered") or 1)
            page += 1
        return rows

    def _invoke(self, service: str, params: Mapping[str, Any], page: int) -> dict[str, Any]:
        request = {
            "service": service,
            "params": dict(params),
            "format": "json",
            "pagesize": PAGESIZE,
            "page": page,
        }
        body = "request=" + quote(json.dumps(request))
        headers = {"Content-type": "application/x-www-form-urlencoded", "Accept": "text/plain"}
        started = time.monotonic()
        while True:
            asked = time.monotonic()
            response = self.request(
                "POST", self.connection.invoke_url, service, data=body, headers=headers
            )
            try:
                answer = response.json()
            except ValueError:
                raise TransientError(f"{service}: the archive's answer was cut short") from None
            finally:
                response.close()
                self.call_seconds += time.monotonic() - asked
            status = answer.get("status") if isinstance(answer, dict) else None
            if status == "EXECUTING":
                if time.monotonic() - started > self.connection.http_timeout:
                    raise TransientError(
                        f"{service}: the archive was still computing after "
                        f"{self.connection.http_timeout:g} s"
                    )
                time.sleep(EXECUTING_POLL)
                continue
            if status != "COMPLETE":
                message = answer.get("msg") if isinstance(answer, dict) else None
                raise TargetError(f"{service}: the archive refused the query ({message})")
            return answer

    # ------------------------------------------------------------------ any request
    def request(
        self,
        method: str,
        url: str,
        what: str = "archive request",
        deadline: float | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> Any:
        """A response with a status below 400, after quick in-place retries of failures
        that came before any data; TransientError or TargetError (saying ``what`` failed)
        otherwise."""
        import requests

        last = ""
        for attempt in range(HTTP_RETRIES + 1):
            self.gate.wait(deadline)
            if "invoke" in url:
                self.calls += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    stream=stream,
                    timeout=(CONNECT_TIMEOUT, self.connection.http_timeout),
                    **kwargs,
                )
            except requests.exceptions.RequestException as error:
                last = f"{type(error).__name__}: {_first_line(error)}"
                delay = HTTP_BACKOFF * 2**attempt
            else:
                status = response.status_code
                if status < 400:
                    return response
                response.close()
                last = f"archive answered HTTP {status}"
                if status not in RETRY_STATUSES:
                    raise TargetError(f"{what}: {last}")
                delay = HTTP_BACKOFF * 2**attempt
                asked = retry_after(response.headers.get("Retry-After"))
                if asked is not None:
                    last += f" (Retry-After {asked:g} s)"
                if status in (429, 503):
                    self.gate.pause(asked if asked is not None else delay)
                    delay = 0.0  # the gate holds every process, this one included
            if attempt < HTTP_RETRIES:
                time.sleep(delay)
        raise TransientError(f"{what}: {last}")


def retry_after(value: str | None) -> float | None:
    """Seconds asked by a Retry-After header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
