"""Which errors may pass on a later attempt, judged by what they are, wherever raised.

A target's error is transient when it, or any error in its cause/context chain, is a
network or timeout error — the built-in ``ConnectionError`` family (resets, refusals,
broken pipes) and ``TimeoutError``, name-resolution failures, requests' and urllib3's
connection, timeout and broken-transfer errors, ``http.client``'s cut-off reads — or an HTTP
answer of 5xx or 429 (too many requests), read from the response's status code. An HTTP
4xx answer is a verdict, not a hiccup: not transient. Nothing here matches message text.
"""

from __future__ import annotations

import http.client
import socket
import sys
from collections.abc import Iterator

from exoextract.errors import TargetError

CHAIN_LIMIT = 10


def chain(error: BaseException) -> Iterator[BaseException]:
    """The error, then its causes and contexts (bounded; loops are cut)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < CHAIN_LIMIT:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def http_status(error: BaseException) -> int | None:
    """The HTTP status an error carries (requests' ``response``, urllib's ``code``)."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(error, "code", None) if _is_urllib_http_error(error) else None
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def is_transient(error: BaseException) -> bool:
    """True if a later attempt may succeed (see the module docstring)."""
    for link in chain(error):
        if isinstance(link, TargetError):
            return link.transient
        status = http_status(link)
        if status is not None:
            return status >= 500 or status == 429
        if isinstance(link, _transient_types()):
            return True
    return False


def _is_urllib_http_error(error: BaseException) -> bool:
    import urllib.error

    return isinstance(error, urllib.error.HTTPError)


def _transient_types() -> tuple[type[BaseException], ...]:
    """Built-in network errors, plus requests' and urllib3's where they are loaded."""
    kinds: list[type[BaseException]] = [
        ConnectionError,
        TimeoutError,
        socket.gaierror,
        socket.herror,
        http.client.IncompleteRead,
        http.client.RemoteDisconnected,
    ]
    requests = sys.modules.get("requests.exceptions")
    if requests is not None:
        kinds += [
            requests.ConnectionError,
            requests.Timeout,
            requests.ChunkedEncodingError,
            requests.ContentDecodingError,
        ]
    urllib3 = sys.modules.get("urllib3.exceptions")
    if urllib3 is not None:
        kinds += [
            urllib3.ProtocolError,
            urllib3.TimeoutError,
            urllib3.NewConnectionError,
            urllib3.IncompleteRead,
            urllib3.MaxRetryError,
        ]
    return tuple(kinds)
