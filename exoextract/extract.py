"""One target, start to finish, inside a worker: source -> clean -> features -> row."""

from __future__ import annotations

from typing import Any

from exoextract import features, plugins
from exoextract.clean import arrays, clean_lightcurve
from exoextract.features import FeatureContext
from exoextract.sources import get_source
from exoextract.task import Task

OUTCOME_COLUMNS = (
    "key",
    "target_id",
    "status",
    "error_type",
    "message",
    "attempts",
    "seconds",
    "exit_code",
)


def reserved_columns() -> set[str]:
    """Names a plugin may not use: built-in features and the outcome/identity columns."""
    return set(features.all_columns()) | set(OUTCOME_COLUMNS) | {"n_files"}


def extract(task: Task) -> dict[str, Any]:
    """The feature row of one target (raises TargetError subclasses on target problems)."""
    settings = task.settings
    fetched = get_source(settings.source).fetch(task)
    cleaned = clean_lightcurve(fetched.lc, settings)
    time, flux, err = arrays(cleaned.flat)
    ctx = FeatureContext(
        time=time, flux=flux, flux_err=err, cleaned=cleaned, settings=settings, row=task.row
    )
    row = features.compute(ctx, features.enabled(settings))
    row["n_files"] = float(len(fetched.files))
    if settings.extra_features:
        row.update(
            plugins.run_all(
                settings.extra_features,
                cleaned.flat,
                task.row,
                reserved_columns(),
                task.plugin_path,
            )
        )
    return row
