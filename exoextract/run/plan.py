"""The plan of a run: rows grouped by star (one task, one read per star), the order of the
stars, the chunks they are checkpointed in, and the task a star becomes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from exoextract.settings import Settings
from exoextract.star.task import Candidate, Task
from exoextract.targets import Target, TargetList, read_targets


def read_input(csv_path: str | Path, settings: Settings) -> TargetList:
    return read_targets(
        csv_path, settings.mission, settings.column_mapping(), settings.skip_bad_rows
    )


def group_stars(targets: Sequence[Target]) -> list[list[Target]]:
    """Rows grouped by star, in order of first appearance: one task, one read per star."""
    groups: dict[str, list[Target]] = {}
    for target in targets:
        groups.setdefault(target.target_id, []).append(target)
    return list(groups.values())


def biggest_first(
    stars: Sequence[list[Target]], located: Mapping[str, tuple[str, ...]]
) -> list[list[Target]]:
    """Stars with the most light-curve bytes first (stable: unknown sizes keep their order).

    A run that ends on one long star leaves every other worker idle; started first, the
    long stars overlap with the short ones (longest-processing-time-first scheduling).
    Sizes are known only where files are (the local source); the output keeps the input's
    order whatever the schedule."""

    def size(star: list[Target]) -> int:
        total = 0
        for path in located.get(star[0].target_id, ()):
            with contextlib.suppress(OSError):
                total += os.path.getsize(path)
        return total

    return sorted(stars, key=lambda star: -size(star))


def plan_chunks(stars: Sequence[list[Target]], size: int) -> list[list[list[Target]]]:
    return [list(stars[i : i + size]) for i in range(0, len(stars), size)]


def task_for(
    star: list[Target],
    settings: Settings,
    located: Mapping[str, tuple[str, ...]],
    plugin_path: str | None,
) -> Task:
    first = star[0]
    return Task(
        key=first.target_id,
        target_id=first.target_id,
        mission=first.mission,
        number=first.number,
        settings=settings,
        candidates=tuple(
            Candidate(
                key=t.key,
                period=t.period,
                t0=t.t0,
                duration=t.duration,
                depth=t.depth,
                row=dict(t.row),
            )
            for t in star
        ),
        paths=tuple(located.get(first.target_id, ())),
        plugin_path=plugin_path,
    )


def tasks_for(
    targets: Sequence[Target],
    settings: Settings,
    plugin_path: str | None = None,
    located: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Task]:
    """The tasks a run would submit for ``targets``: one per star, its candidates inside.

    ``located`` maps a star's ``target_id`` to its light-curve files (local source).
    """
    return [task_for(star, settings, located or {}, plugin_path) for star in group_stars(targets)]
