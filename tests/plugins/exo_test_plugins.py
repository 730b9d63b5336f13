"""Feature plugins used by the tests. Behaviour is chosen per target by its CSV row."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np


def simple(lc: Any, row: dict[str, Any]) -> dict[str, float]:
    """A well-behaved plugin: two numbers from the light curve."""
    flux = np.asarray(lc.flux.value, dtype=float)
    return {"my_min_flux": float(np.min(flux)), "my_label_len": float(len(str(row.get("label"))))}


def slow(lc: Any, row: dict[str, Any]) -> dict[str, float]:
    """Sleeps for the row's `sleep` seconds (to make runs long enough to interrupt)."""
    seconds = float(row.get("sleep") or 0.0)
    time.sleep(seconds)
    return {"slept": seconds, "pid_parity": float(os.getpid() % 2 * 0)}


def clashing(lc: Any, row: dict[str, Any]) -> dict[str, float]:
    return {"tls_period": 1.0}


def fails_while_flagged(lc: Any, row: dict[str, Any]) -> dict[str, float]:
    """Raises while the file named in the row's `flag` column exists (a fixable failure)."""
    flag = str(row.get("flag") or "")
    if flag and os.path.exists(flag):
        raise ValueError(f"flag file {flag} present")
    return {"attempted_ok": 1.0}


def network_hiccup(lc: Any, row: dict[str, Any]) -> dict[str, float]:
    """Its first call (per target) hits a reset connection, as a catalog query might; the
    row's `calls` file counts the calls. With `status` set, answers that HTTP status."""
    calls = str(row["calls"])
    with open(calls, "a") as handle:
        handle.write("call\n")
    with open(calls) as handle:
        count = len(handle.readlines())
    if row.get("status"):
        import requests

        response = requests.Response()
        response.status_code = int(row["status"])
        raise requests.HTTPError(f"{response.status_code} from the catalog", response=response)
    if count == 1:
        raise ConnectionResetError(104, "Connection reset by peer")
    return {"catalog_calls": float(count)}
