"""Hostile feature plugins: each injects one real fault, chosen by the row's `fault` column.

Rows without a `fault` behave. Processes started here carry the marker
`exoextract-test-marker` in their command line so tests can prove they were killed.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from exoextract.errors import TransientError

MARKER = "exoextract-test-marker"


class Unpicklable(Exception):
    """An exception that cannot cross a process boundary."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle Unpicklable")


def _spawn_child() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", MARKER])


def fault(lc: Any, row: dict[str, Any]) -> dict[str, Any]:
    kind = row.get("fault") or ""
    if kind == "hang":
        time.sleep(3600)
    elif kind == "hang_ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(3600)
    elif kind == "exit":
        os._exit(1)
    elif kind == "segfault":
        ctypes.string_at(0)
    elif kind == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "memory":
        hog = []
        while True:  # grow in 64 MB steps until something stops us
            hog.append(np.ones(8 * 2**20))
    elif kind == "raise":
        raise RuntimeError("boom from a plugin")
    elif kind == "unpicklable_value":
        return {"weird": lambda: 1}
    elif kind == "unpicklable_exception":
        raise Unpicklable("an exception holding a lock")
    elif kind == "flaky":
        marker = Path(str(row["state"]))
        if not marker.exists():
            marker.write_text("failed once")
            raise TransientError("archive hiccup (first attempt)")
    elif kind == "slow":
        time.sleep(float(row.get("sleep") or 1.0))
    elif kind == "child_hang":
        _spawn_child()
        time.sleep(3600)
    elif kind == "child_hang_ignore_term":
        _spawn_child()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(3600)
    elif kind == "deadlock":
        marker = Path(str(row["state"]))
        if not marker.exists():
            marker.write_text("took the pool's channel lock and died")
            _die_holding_channel_lock()
    return {"fault_free": 1.0}


def _die_holding_channel_lock() -> None:
    """Take pebble's shared result-channel lock and die: the pool can no longer talk."""
    from pebble.pool.channel import WorkerChannel

    for obj in gc.get_objects():
        try:
            found = isinstance(obj, WorkerChannel)
        except ReferenceError:  # a dead weak proxy
            continue
        if found:
            obj.mutex.writer_mutex.acquire()
            os._exit(1)
    raise RuntimeError("no pebble channel found in this worker")
