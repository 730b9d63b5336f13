"""One star, start to finish, inside a worker: source -> clean -> features -> rows.

The light curve is fetched, cleaned and searched once per star; each candidate on the star
then gets its own row (:mod:`exoextract.star.rows`): the star's features, the columns
of the signal that is the candidate (or of its catalog ephemeris), its known-ephemeris
measurements and plugin columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Any

from exoextract import features, plugins
from exoextract.features import FeatureContext
from exoextract.science.clean import clean_lightcurve
from exoextract.sources import get_source
from exoextract.star.rows import star_rows
from exoextract.star.task import Task

OUTCOME_COLUMNS = (
    "key",
    "target_id",
    "candidate",
    "label",
    "status",
    "error_type",
    "message",
    "attempts",
    "seconds",
    "exit_code",
)


SOURCE_COLUMNS = ("n_files", "n_redownloaded", "n_files_unreadable", "files_unreadable")


def reserved_columns() -> set[str]:
    """Names a plugin may not use: built-in features and the outcome/identity columns."""
    return (
        set(features.all_columns())
        | set(OUTCOME_COLUMNS)
        | set(SOURCE_COLUMNS)
        | set(features.timing_columns())
    )


@dataclass
class Star:
    """A star's light curve fetched and cleaned, as the feature families see it."""

    ctx: FeatureContext
    fetched: Any  # exoextract.sources.Fetched
    timing: dict[str, float]


def load_star(task: Task) -> Star:
    """Fetch and clean the task's light curve (TargetError on target problems)."""
    settings = task.settings
    started = perf_counter()
    fetched = get_source(settings.source).fetch(task)
    read = perf_counter()
    cleaned = clean_lightcurve(fetched.lc, settings)
    timing = {
        features.timing_column("read"): round(read - started, 4),
        features.timing_column("clean"): round(perf_counter() - read, 4),
    }
    ctx = FeatureContext.of(cleaned, settings, task.row, fetched.facts)
    return Star(ctx, fetched, timing)


def extract(task: Task) -> tuple[dict[str, dict[str, Any]], list[str], list[dict[str, Any]]]:
    """({candidate key: feature row}, notes, the star's signals) for one star; TargetError on
    target problems."""
    settings = task.settings
    loaded = load_star(task)
    ctx, fetched, cleaned = loaded.ctx, loaded.fetched, loaded.ctx.cleaned
    table = star_rows(ctx, task.candidates)
    # plugins are documented to get a lightkurve LightCurve: made once, only for them
    plugin_lc = cleaned.flat.to_lightkurve() if settings.extra_features and cleaned.flat else None
    for candidate in task.candidates:
        row = table.rows[candidate.key]
        row.update(loaded.timing)
        row["n_files"] = float(len(fetched.files))
        row["n_redownloaded"] = float(fetched.repaired)
        row["n_files_unreadable"] = float(len(fetched.unreadable))
        row["files_unreadable"] = "; ".join(fetched.unreadable)
        if settings.extra_features:
            row.update(
                plugins.run_all(
                    settings.extra_features,
                    plugin_lc,
                    candidate.row,
                    reserved_columns(),
                    task.plugin_path,
                )
            )
    return table.rows, list(fetched.notes), table.signals
