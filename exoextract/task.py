"""The small, picklable unit of work a worker receives for one target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from exoextract.settings import Settings


@dataclass(frozen=True)
class Task:
    """Everything a worker needs for one target; no open files, no heavy objects."""

    key: str
    target_id: str
    mission: str | None
    number: int
    settings: Settings
    paths: tuple[str, ...] = ()
    period: float | None = None
    t0: float | None = None
    duration: float | None = None
    row: Mapping[str, Any] = field(default_factory=dict)
    plugin_path: str | None = None
    attempt: int = 1
