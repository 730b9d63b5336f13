"""The functions the pool runs. They take a :class:`Task` and return plain data.

A worker never lets an exception escape: the supervisor receives a mapping with a
``status`` and, for failures, the error's type and message as strings (an exception
object might not survive pickling, which would kill the worker instead of failing the
target).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from exoextract.errors import RefetchError, TargetError
from exoextract.execution.transient import is_transient
from exoextract.star.task import Task


def run_task(task: Task) -> dict[str, Any]:
    """Extract one target; always returns an outcome mapping."""
    from exoextract.star.extract import extract

    def work() -> dict[str, Any]:
        start = time.perf_counter()
        rows, notes, signals = extract(task)
        seconds = round(time.perf_counter() - start, 3)
        return {"rows": rows, "notes": notes, "signals": signals, "seconds": seconds}

    return guarded(work)


def guarded(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` and turn every way it can fail into an outcome mapping."""
    try:
        data = work()
    except RefetchError as error:
        return {**_failure(error, "failed", True), "refetch": True}
    except TargetError as error:
        return _failure(error, error.status, error.transient)
    except MemoryError as error:
        return _failure(error, "memory_exceeded", False)
    except Exception as error:  # a plugin's or a library's: retried if it is a network hiccup
        return _failure(error, "failed", is_transient(error), with_location=True)
    return {"status": "ok", "data": data}


def probe_plugins(task: Task) -> dict[str, Any]:
    """Run the task's plugins once on a synthetic star; report the columns they return."""
    from exoextract import plugins
    from exoextract.science.clean import clean_lightcurve
    from exoextract.science.synthetic import make_lightcurve, spec_for

    try:
        cleaned = clean_lightcurve(make_lightcurve(spec_for(0, "TESS")), task.settings)
        columns: list[str] = []
        lc = cleaned.flat.to_lightkurve() if cleaned.flat is not None else None
        for spec in task.settings.extra_features:
            function = plugins.load(spec, task.plugin_path)
            values = function(lc, dict(task.row))
            columns.extend(str(k) for k in values)
    except Exception as error:
        return _failure(error, "failed", False, with_location=True)
    return {"status": "ok", "data": {"columns": columns}}


def _failure(
    error: BaseException, status: str, transient: bool, with_location: bool = False
) -> dict[str, Any]:
    try:
        message = " ".join(str(error).split())
    except Exception:  # a hostile __str__ must not take the worker down
        message = "<message could not be rendered>"
    if with_location:
        frames = traceback.extract_tb(error.__traceback__)
        if frames:
            last = frames[-1]
            message = f"{message} (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
    return {
        "status": status,
        "transient": transient,
        "error_type": type(error).__name__,
        "message": message[:1000] or type(error).__name__,
    }
