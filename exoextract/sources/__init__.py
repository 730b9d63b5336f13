"""Light-curve sources behind one small interface.

A source is a module with two functions:

``locate(targets, settings, base_dir) -> dict[key, tuple[path, ...]]``
    runs once in the supervisor before any work, e.g. to index a data folder; returns the
    files each target will read (sources that fetch remotely return an empty mapping);
``fetch(task) -> Fetched``
    runs in a worker: returns the target's stitched light curve or raises a
    :class:`~exoextract.errors.TargetError` (``NoDataError``, ``TransientError``, ...).

Adding a source means one new module and one line in
:data:`exoextract.settings.SOURCES`, the one registry of source names.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from exoextract.settings import SOURCES, Settings
from exoextract.star.task import Task
from exoextract.targets import Target


@dataclass
class Fetched:
    """A target's light curve (:class:`~exoextract.lightcurves.lightcurve.LightCurve`) and where it
    came from."""

    lc: Any
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    repaired: int = 0  # cached files found corrupt and downloaded again
    facts: Any = None  # exoextract.lightcurves.filefacts.FileFacts: headers, apertures, every flag
    unreadable: tuple[str, ...] = ()  # files of the star left out (not whole)


class Source(Protocol):
    def locate(
        self, targets: Sequence[Target], settings: Settings, base_dir: Path
    ) -> Mapping[str, tuple[str, ...]]: ...

    def fetch(self, task: Task) -> Fetched: ...


def get_source(name: str) -> ModuleType:
    """The source module registered under ``name``."""
    return importlib.import_module(SOURCES[name])
