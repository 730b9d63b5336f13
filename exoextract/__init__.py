"""exoextract: crash-proof batch extraction of light-curve features for exoplanet ML.

The public API is what this module exports (``__all__``): start and resume a run, see
where it stands, read or export its tables, load settings, clean the lightkurve cache, and
the result and error types. Everything else is internal and may move between versions.

>>> import exoextract
>>> settings = exoextract.load_settings("laptop", {"source": "synthetic"})
>>> settings.source
'synthetic'

The names load on first use, so ``import exoextract`` stays cheap (a worker process, a
``--help``, a script that only needs the errors do not pay for pandas or the pool).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"  # the one place the version is written (pyproject reads it)

# name -> the module that defines it
_HOME = {
    "start_run": "exoextract.run.runner",
    "resume_run": "exoextract.run.runner",
    "RunResult": "exoextract.run.runner",
    "run_status": "exoextract.run.status",
    "RunStatus": "exoextract.run.status",
    "read_tables": "exoextract.run.export",
    "RunTables": "exoextract.run.export",
    "export_run": "exoextract.run.export",
    "Exported": "exoextract.run.export",
    "load_settings": "exoextract.settings",
    "presets": "exoextract.settings",
    "Settings": "exoextract.settings",
    "clean_cache": "exoextract.lightcurves.cache",
    "CleanReport": "exoextract.lightcurves.cache",
    "ExoextractError": "exoextract.errors",
    "InputError": "exoextract.errors",
    "RunDirError": "exoextract.errors",
    "CheckpointError": "exoextract.errors",
    "CacheError": "exoextract.errors",
    "ArchiveUnreachable": "exoextract.errors",
    "WorkersUnavailable": "exoextract.errors",
    "Interrupted": "exoextract.errors",
}

__all__ = [  # the same names as _HOME, and the version (a test holds them together)
    "ArchiveUnreachable",
    "CacheError",
    "CheckpointError",
    "CleanReport",
    "ExoextractError",
    "Exported",
    "InputError",
    "Interrupted",
    "RunDirError",
    "RunResult",
    "RunStatus",
    "RunTables",
    "Settings",
    "WorkersUnavailable",
    "__version__",
    "clean_cache",
    "export_run",
    "load_settings",
    "presets",
    "read_tables",
    "resume_run",
    "run_status",
    "start_run",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'exoextract' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ loads them
    from exoextract.errors import (
        ArchiveUnreachable,
        CacheError,
        CheckpointError,
        ExoextractError,
        InputError,
        Interrupted,
        RunDirError,
        WorkersUnavailable,
    )
    from exoextract.lightcurves.cache import CleanReport, clean_cache
    from exoextract.run.export import Exported, RunTables, export_run, read_tables
    from exoextract.run.runner import RunResult, resume_run, start_run
    from exoextract.run.status import RunStatus, run_status
    from exoextract.settings import Settings, load_settings, presets
