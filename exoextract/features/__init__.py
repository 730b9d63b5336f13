"""Feature families: each a module with ``COLUMNS`` and ``compute(ctx) -> {name: value}``.

Families are listed in :data:`FAMILIES` with the setting that switches them on; their
columns appear in the output in this order, so the table's layout is stable. A family that
cannot run for a target (too few points, a numerical failure) leaves its columns NaN and
says why in ``<family>_reason``; it never fails the target. Adding a family means one new
module and one line here.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from exoextract.settings import Settings

SCHEMA_VERSION = 1  # bump when a column changes name, unit or meaning


@dataclass(frozen=True)
class Column:
    """One output column: its name, unit and meaning (the feature reference is built
    from these)."""

    name: str
    unit: str
    doc: str


@dataclass(frozen=True)
class Family:
    name: str
    module: str
    setting: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    @property
    def per_candidate(self) -> bool:
        """Computed once per candidate row (at its ephemeris), not once per star."""
        return bool(getattr(self.load(), "PER_CANDIDATE", False))

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(self.load().COLUMNS)

    @property
    def reason_column(self) -> str:
        return f"{self.name}_reason"


FAMILIES = (
    Family("stats", "exoextract.features.stats", "run_stats"),
    Family("bls", "exoextract.features.bls", "run_bls"),
    Family("tls", "exoextract.features.tls", "run_tls"),
    Family("known", "exoextract.features.known", "run_known"),
)


@dataclass
class FeatureContext:
    """What a family sees: the cleaned light curve as arrays and as lightkurve objects."""

    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray | None
    cleaned: Any  # exoextract.clean.Cleaned
    settings: Settings
    row: Mapping[str, Any]
    candidate: Any = None  # exoextract.task.Candidate, for per-candidate families


def enabled(settings: Settings) -> list[Family]:
    return [f for f in FAMILIES if getattr(settings, f.setting)]


def feature_columns(settings: Settings) -> list[str]:
    """Every built-in output column of the enabled families, in output order."""
    names: list[str] = []
    for family in enabled(settings):
        names.extend(c.name for c in family.columns)
        names.append(family.reason_column)
    return names


def all_columns() -> dict[str, Column]:
    """Every column any family can produce (for clash checks and the reference)."""
    out: dict[str, Column] = {}
    for family in FAMILIES:
        for column in family.columns:
            out[column.name] = column
        out[family.reason_column] = Column(
            family.reason_column, "", f"Why the {family.name} family is NaN (empty if it ran)."
        )
    return out


def compute(ctx: FeatureContext, families: list[Family]) -> dict[str, Any]:
    """Run each family; a family that raises leaves NaNs and its reason, not a crash."""
    row: dict[str, Any] = {}
    for family in families:
        module = family.load()
        values: Mapping[str, Any]
        reason = ""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = module.compute(ctx)
        except NotComputable as why:
            values, reason = why.partial, why.reason
        except (ValueError, ArithmeticError, IndexError, np.linalg.LinAlgError) as error:
            values, reason = {}, f"{type(error).__name__}: {error}"
        for column in module.COLUMNS:
            value = values.get(column.name, math.nan)
            row[column.name] = _as_float(value)
        row[family.reason_column] = reason[:300]
    return row


class NotComputable(Exception):
    """A family cannot say anything about this light curve (the message says why).

    ``partial`` holds values it could still give (e.g. the catalog ephemeris it echoes).
    """

    def __init__(self, reason: str, partial: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial: Mapping[str, Any] = partial or {}


def _as_float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number
