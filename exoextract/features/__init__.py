"""Feature families: each a module with ``COLUMNS`` and ``compute(ctx) -> {name: value}``.

Families are listed in :data:`FAMILIES` with the setting that switches them on; their
columns appear in the output in this order, so the table's layout is stable (the schema
version is written into the Parquet metadata and bumped when a column changes). A family
that cannot run for a target (too few points, a baseline too short) leaves its columns NaN
and says why in ``<family>_reason``; it never fails the target. Families run in order and
later ones may read earlier results (``ctx.results``).

A family has one of three scopes (its module's ``SCOPE``): ``star`` (once per star: the
noise, the variability, the signals' search), ``signal`` (once per signal of the star, at
that signal's ephemeris: BLS, TLS, the vetting, the views; its module also has ``at(ctx,
ephemeris)``) or ``candidate`` (once per catalog row: which signal it is, its catalog
ephemeris measured). A row of ``features.parquet`` is a candidate; its per-signal columns
are those of the signal it is (:mod:`exoextract.features.match`). Adding a family means one
new module and one line here; ``docs/FEATURES.md`` is generated from these declarations.
"""

from __future__ import annotations

import importlib
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from exoextract.settings import Settings

SCHEMA_VERSION = 7  # bump when a column changes name, unit or meaning
SCOPES = ("star", "signal", "candidate")


@dataclass(frozen=True)
class Column:
    """One output column: its name, unit and meaning (the feature reference is built
    from these). ``kind`` is ``float`` or ``list`` (a fixed-length list of floats)."""

    name: str
    unit: str
    doc: str
    kind: str = "float"


@dataclass(frozen=True)
class Family:
    """A family and the settings that switch it on (any one of them)."""

    name: str
    module: str
    setting: str | tuple[str, ...]

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    @property
    def settings(self) -> tuple[str, ...]:
        return (self.setting,) if isinstance(self.setting, str) else self.setting

    def is_enabled(self, settings: Settings) -> bool:
        return any(getattr(settings, name) for name in self.settings)

    @property
    def scope(self) -> str:
        """``star``, ``signal`` or ``candidate`` (see the module doc)."""
        return str(getattr(self.load(), "SCOPE", "star"))

    @property
    def per_candidate(self) -> bool:
        """Computed once per candidate row, not once per star."""
        return self.scope == "candidate"

    @property
    def per_signal(self) -> bool:
        """Computed once per signal, at its ephemeris (``at``); a candidate row copies the
        values of its signal."""
        return self.scope == "signal"

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(self.load().COLUMNS)

    @property
    def reason_column(self) -> str:
        return f"{self.name}_reason"


FAMILIES = (
    Family("stats", "exoextract.features.stats", "run_stats"),
    Family("variability", "exoextract.features.variability", "run_variability"),
    Family("star", "exoextract.features.star", "run_star"),
    Family("match", "exoextract.features.match", ("run_bls", "run_tls", "run_vet", "run_views")),
    Family("bls", "exoextract.features.bls", "run_bls"),
    Family("tls", "exoextract.features.tls", "run_tls"),
    Family("vet", "exoextract.features.vet", "run_vet"),
    Family("centroid", "exoextract.features.centroid", "run_centroid"),
    Family("quality", "exoextract.features.quality", "run_quality"),
    Family("planet", "exoextract.features.planet", "run_planet"),
    Family("fp", "exoextract.features.fp", "run_fp"),
    Family("signals", "exoextract.features.signals", ("run_bls", "run_tls")),
    Family("lcpkg", "exoextract.features.lcpkg", "run_lightcurve_package"),
    Family("known", "exoextract.features.known", "run_known"),
    Family("views", "exoextract.features.views", "run_views"),
)


@dataclass(frozen=True)
class Ephemeris:
    """Where the per-signal families measure: a transit train (``period`` NaN: one event),
    the search that gave it (``source``: tls, bls, pair, single or catalog), the detection
    statistics of that search for it (``detection``: ``bls_sde``, ``tls_sde``, ... which a
    measurement at one ephemeris cannot give; missing ones are NaN, ``detection_note`` says
    why), and for a pair the statistic that stands in for TLS's SDE (``statistic``: name,
    value, threshold)."""

    period: float
    t0: float
    duration: float
    source: str
    detection: Mapping[str, float] = field(default_factory=dict)
    detection_note: str = ""
    statistic: tuple[str, float, float] | None = None

    @property
    def single(self) -> bool:
        """One event, no period."""
        return not (math.isfinite(self.period) and self.period > 0)

    def near(self, time: np.ndarray, durations: float) -> np.ndarray:
        """The points within ``durations`` transit durations of a transit centre."""
        if self.single:
            return np.abs(time - self.t0) < durations * self.duration
        offset = (time - self.t0 + 0.5 * self.period) % self.period - 0.5 * self.period
        return np.abs(offset) < durations * self.duration

    def detected(self, names: tuple[str, ...]) -> dict[str, float]:
        """The detection statistics ``names`` (NaN where the search gave none)."""
        return {name: float(self.detection.get(name, math.nan)) for name in names}


@dataclass
class FeatureContext:
    """What a family sees: the cleaned light curve as arrays, the unflattened (normalised)
    one, the cleaning record, the results of the families before it, and, for
    per-candidate families, the candidate."""

    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray | None
    cleaned: Any  # exoextract.science.clean.Cleaned
    settings: Settings
    row: Mapping[str, Any]
    candidate: Any = None  # exoextract.star.task.Candidate, for per-candidate families
    raw_time: np.ndarray | None = None
    raw_flux: np.ndarray | None = None
    results: dict[str, Any] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    facts: Any = (
        None  # exoextract.lightcurves.filefacts.FileFacts: the files' header values and flags
    )
    centroid: tuple[np.ndarray, np.ndarray] | None = None  # column, row (pixels) on ``time``

    @classmethod
    def of(
        cls,
        cleaned: Any,
        settings: Settings,
        row: Mapping[str, Any] | None = None,
        facts: Any = None,
    ) -> FeatureContext:
        """The context of a cleaned light curve (:func:`exoextract.science.clean.clean_lightcurve`),
        with what its files say beyond the flux (``facts``), if known."""
        from exoextract.science.clean import arrays, centroids

        time, flux, err = arrays(cleaned.flat)
        raw_time, raw_flux, _ = arrays(cleaned.normalized)
        return cls(
            time,
            flux,
            err,
            cleaned,
            settings,
            row or {},
            raw_time=raw_time,
            raw_flux=raw_flux,
            facts=facts,
            centroid=centroids(cleaned.flat),
        )

    @property
    def mission(self) -> str | None:
        """The light curve's mission (its files', or the cleaned light curve's meta)."""
        if self.facts is not None and self.facts.mission:
            return str(self.facts.mission)
        if self.shared.get("mission"):
            return str(self.shared["mission"])
        flat = getattr(self.cleaned, "flat", None)
        meta = getattr(flat, "meta", None) or {}
        return str(meta.get("MISSION")) if meta.get("MISSION") else None

    def flux_for(self, period: float) -> tuple[np.ndarray, np.ndarray | None]:
        """The flux (and errors) a candidate at ``period`` is fitted on: flattened with
        the window that protects transits there, its octave's band
        (:mod:`exoextract.science.clean`)."""
        band = self.cleaned.band_for(period) if getattr(self.cleaned, "bands", ()) else None
        return self._of(band)

    def search_flux_for(self, period: float) -> tuple[np.ndarray, np.ndarray | None]:
        """The flux (and errors) the search folds for trial periods in ``period``'s octave."""
        bands = getattr(self.cleaned, "search_bands", ())
        return self._of(self.cleaned.search_band_for(period) if bands else None)

    def _of(self, band: Any) -> tuple[np.ndarray, np.ndarray | None]:
        if band is None:
            return self.flux, self.flux_err
        return band.flux, None if self.flux_err is None else band.flux_err

    def without(
        self, cut: Callable[[np.ndarray], np.ndarray], settings: Settings | None = None
    ) -> FeatureContext:
        """This star with the points ``cut(times)`` flags taken out (the transits of the
        signals found so far), and nothing computed yet: a search of what is left (with
        ``settings`` in place of the star's, if given)."""
        keep = ~cut(self.time)
        raw_time, raw_flux = self.raw_time, self.raw_flux
        if raw_time is not None and raw_flux is not None:
            raw_keep = ~cut(raw_time)
            raw_time, raw_flux = raw_time[raw_keep], raw_flux[raw_keep]
        centroid = None
        if self.centroid is not None:
            centroid = (self.centroid[0][keep], self.centroid[1][keep])
        subset = FeatureContext(
            self.time[keep],
            self.flux[keep],
            None if self.flux_err is None else self.flux_err[keep],
            self.cleaned.subset(keep),
            settings or self.settings,
            self.row,
            self.candidate,
            raw_time,
            raw_flux,
            facts=self.facts,
            centroid=centroid,
        )
        subset.shared["mission"] = self.mission
        if "star" in self.shared:  # the star's own values, for its signals' measurements
            subset.shared["star"] = self.shared["star"]
        subset.shared["clock"] = self.shared.setdefault("clock", Clock())  # one clock a star
        return subset

    def memo(self, name: str, build: Callable[[], Any]) -> Any:
        """A value computed once per star and shared by families (the blind search's
        spectrum): built by the first family that asks, at that family's cost."""
        if name not in self.shared:
            self.shared[name] = build()
        return self.shared[name]


def enabled(settings: Settings) -> list[Family]:
    return [f for f in FAMILIES if f.is_enabled(settings)]


def timing_column(name: str) -> str:
    """The column holding the seconds a family (or a stage: read, clean) took."""
    return f"seconds_{name}"


def timing_columns(settings: Settings | None = None) -> list[str]:
    """Seconds columns of a row: reading, cleaning, then each enabled family (every
    family without settings)."""
    chosen = FAMILIES if settings is None else enabled(settings)
    return [timing_column(n) for n in ("read", "clean", *(f.name for f in chosen))]


def feature_columns(settings: Settings) -> list[str]:
    """Every built-in output column of the enabled families, in output order."""
    return [c.name for c in column_specs(settings)]


def column_specs(settings: Settings) -> list[Column]:
    specs: list[Column] = []
    for family in enabled(settings):
        specs.extend(family.columns)
        specs.append(reason_spec(family))
    return specs


def reason_spec(family: Family) -> Column:
    """The family's reason column: why its columns are NaN, unless the family says more
    (its module's ``REASON_DOC``)."""
    default = f"Why the {family.name} columns are NaN for this row (empty if they ran)."
    return Column(
        family.reason_column, "text", getattr(family.load(), "REASON_DOC", default), kind="text"
    )


def all_columns() -> dict[str, Column]:
    """Every column any family can produce (for clash checks and the reference)."""
    out: dict[str, Column] = {}
    for family in FAMILIES:
        for column in family.columns:
            out[column.name] = column
        out[family.reason_column] = reason_spec(family)
    return out


def compute(ctx: FeatureContext, families: list[Family]) -> dict[str, Any]:
    """Run each family; one that cannot compute leaves NaNs and its reason, not a crash."""
    return _run(ctx, families, lambda module: module.compute(ctx))


def measure(ctx: FeatureContext, families: list[Family], at: Ephemeris) -> dict[str, Any]:
    """Each per-signal family at one ephemeris (its module's ``at``), as :func:`compute`."""
    return _run(ctx, families, lambda module: module.at(ctx, at))


def blank(families: list[Family], reason: str) -> dict[str, Any]:
    """The families' columns, NaN (lists None), each reason ``reason``: nothing measured."""
    row: dict[str, Any] = {}
    for family in families:
        for column in family.columns:
            row[column.name] = empty(column)
        row[family.reason_column] = reason[:300]
    return row


def empty(column: Column) -> Any:
    """A column's value where nothing was measured: NaN, an empty text, no list."""
    return {"list": None, "text": ""}.get(column.kind, math.nan)


def _run(
    ctx: FeatureContext, families: list[Family], call: Callable[[ModuleType], Mapping[str, Any]]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    clock: Clock = ctx.shared.setdefault("clock", Clock())
    for family in families:
        module = family.load()
        values: Mapping[str, Any]
        reason = ""
        clock.start()
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                values = call(module)
        except NotComputable as why:
            values, reason = why.partial, why.reason
        except (ValueError, ArithmeticError, IndexError, np.linalg.LinAlgError) as error:
            values, reason = {}, f"{type(error).__name__}: {error}"
        for column in module.COLUMNS:
            value = values.get(column.name)
            row[column.name] = (
                _as_list(value) if column.kind == "list" else _as_column(value, column)
            )
        reason = reason or str(values.get(family.reason_column) or "")  # a family's own say
        row[family.reason_column] = reason[:300]
        row[timing_column(family.name)] = round(clock.stop(family.name), 4)
        ctx.results.update(row)
    return row


class Clock:
    """Seconds each family spent on a star, its own only: a family that runs others inside
    it (the signals' searches run BLS and TLS) is not charged for theirs. One clock a star,
    shared by the copies of it a search makes (:meth:`FeatureContext.without`)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._open: list[list[float]] = []  # [start, seconds of the families inside]

    def start(self) -> None:
        self._open.append([time.perf_counter(), 0.0])

    def stop(self, name: str) -> float:
        """Close the innermost family; its own seconds (also added to ``spent``)."""
        started, inside = self._open.pop()
        elapsed = time.perf_counter() - started
        if self._open:
            self._open[-1][1] += elapsed
        own = elapsed - inside
        self.spent[name] = self.spent.get(name, 0.0) + own
        return own


class NotComputable(Exception):
    """A family cannot say anything about this light curve (the message says why).

    ``partial`` holds values it could still give (e.g. the catalog ephemeris it echoes).
    """

    def __init__(self, reason: str, partial: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial: Mapping[str, Any] = partial or {}


def _as_column(value: Any, column: Column) -> Any:
    if column.kind == "text":
        return "" if value is None else str(value)
    return _as_float(value)


def _as_float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _as_list(value: Any) -> list[float] | None:
    if value is None:
        return None
    return [float(v) for v in np.asarray(value, dtype=float).ravel()]
