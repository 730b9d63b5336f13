"""The small, picklable unit of work a worker receives: one star and its candidates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from exoextract.archive.products import Product
from exoextract.settings import Settings


@dataclass(frozen=True)
class Candidate:
    """One output row of a star: its key, known ephemeris (normalised) and CSV row."""

    key: str
    period: float | None = None
    t0: float | None = None
    duration: float | None = None
    depth: float | None = None
    row: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """Everything a worker needs for one star; its light curve is read and searched once,
    then each candidate gets its own row. No open files, no heavy objects."""

    key: str
    target_id: str
    mission: str | None
    number: int
    settings: Settings
    candidates: tuple[Candidate, ...]
    paths: tuple[str, ...] = ()
    products: tuple[Product, ...] = ()  # archive files to fetch first (a Dask worker's own)
    notes: tuple[str, ...] = ()
    repaired: int = 0
    plugin_path: str | None = None
    attempt: int = 1

    @property
    def row(self) -> Mapping[str, Any]:
        """The first candidate's CSV row (what star-level code may look at)."""
        return self.candidates[0].row if self.candidates else {}
