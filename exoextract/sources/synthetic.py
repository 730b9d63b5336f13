"""The ``synthetic`` source: built-in stars generated from the id, no files or network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from exoextract.science.synthetic import make_lightcurve, spec_for
from exoextract.settings import Settings
from exoextract.sources import Fetched
from exoextract.star.task import Task
from exoextract.targets import Target


def locate(
    targets: Sequence[Target], settings: Settings, base_dir: Path
) -> Mapping[str, tuple[str, ...]]:
    return {}


def fetch(task: Task) -> Fetched:
    spec = spec_for(task.number, task.mission or task.settings.mission)
    segments = task.row.get("segments") if task.row else None
    if isinstance(segments, int) and segments > 0:
        spec = replace(spec, segments=segments)
    return Fetched(lc=make_lightcurve(spec))
