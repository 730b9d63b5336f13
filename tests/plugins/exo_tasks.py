"""Raw task functions for supervisor tests (no light curves involved)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def noop(x: Any) -> dict[str, Any]:
    return {"status": "ok", "data": {"x": x}}


def by_kind(payload: dict[str, Any]) -> Any:
    kind = payload.get("kind")
    if kind == "sleep":
        time.sleep(payload["seconds"])
    elif kind == "exit":
        os._exit(payload.get("code", 1))
    elif kind == "unpicklable_result":
        return {"status": "ok", "data": {"f": lambda: 1}}
    elif kind == "not_a_mapping":
        return 42
    elif kind == "transient_until":
        marker = payload["marker"]
        count = int(Path(marker).read_text()) if os.path.exists(marker) else 0
        with open(marker, "w") as handle:
            handle.write(str(count + 1))
        if count < payload["fail_times"]:
            return {
                "status": "failed",
                "transient": True,
                "error_type": "TransientError",
                "message": f"attempt {count + 1} failed",
            }
    elif kind == "deterministic":
        return {
            "status": "failed",
            "transient": False,
            "error_type": "ValueError",
            "message": "always",
        }
    return {"status": "ok", "data": {"kind": kind}}


def whoami(payload: Any) -> dict[str, Any]:
    """Report the worker's pid, process group and thread limits."""
    from threadpoolctl import threadpool_info

    blas = [info["num_threads"] for info in threadpool_info()]
    env = {
        k: os.environ.get(k)
        for k in (
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "NUMBA_NUM_THREADS",
            "TLS_PERSISTENT_POOL",
        )
    }
    import numba

    return {
        "status": "ok",
        "data": {
            "pid": os.getpid(),
            "pgid": os.getpgrp(),
            "blas": blas,
            "env": env,
            "numba": numba.config.NUMBA_NUM_THREADS,
        },
    }
