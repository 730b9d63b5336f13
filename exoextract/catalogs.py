"""What the NASA Exoplanet Archive's tables mean: columns, units, dispositions.

This is the one place where catalog values are interpreted. A target file's header is
matched against the columns below (or against the user's ``[columns]`` mapping), units come
from the archive's ``# COLUMN name: description [unit]`` preamble when present and from the
table's documented defaults otherwise, and every ephemeris is normalised here, once:

* epochs to the mission's own time system: BTJD = BJD - 2457000 (TESS), BKJD = BJD - 2454833
  (Kepler, K2);
* durations to days (hours / 24), depths to fractions (ppm * 1e-6, percent / 100);
* dispositions to one ``label``: ``planet``, ``candidate`` or ``false_positive``.

The original columns are never modified; normalised values go to the known-ephemeris
fields of each target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BTJD_OFFSET = 2457000.0
BKJD_OFFSET = 2454833.0
BJD_THRESHOLD = 2_400_000.0  # anything larger is a full Julian date, not BTJD/BKJD

# Id columns in priority order, with the mission they imply (None: read it from the value).
ID_COLUMNS: dict[str, str | None] = {
    "target": None,
    "target_id": None,
    "name": None,
    "tid": "TESS",
    "tic": "TESS",
    "tic_id": "TESS",
    "ticid": "TESS",
    "kepid": "Kepler",
    "kic": "Kepler",
    "kic_id": "Kepler",
    "epic": "K2",
    "epic_id": "K2",
    "epic_hostname": None,
}
CANDIDATE_COLUMNS = ("candidate", "toi", "kepoi_name", "epic_candname")
LABEL_COLUMNS = ("tfopwg_disp", "koi_disposition", "disposition", "koi_pdisposition")

# column -> default unit (used when the preamble does not say)
PERIOD_COLUMNS = {"period": "d", "koi_period": "d", "pl_orbper": "d"}
T0_COLUMNS = {
    "t0": "mission",
    "epoch": "mission",
    "koi_time0bk": "BKJD",
    "pl_tranmid": "BJD",
    "koi_time0": "BJD",
}
DURATION_COLUMNS = {"duration": "d", "koi_duration": "h", "pl_trandurh": "h", "pl_trandur": "h"}
DEPTH_COLUMNS = {"depth": "fraction", "koi_depth": "ppm", "pl_trandep": "ppm"}

LABELS = {
    # TESS TFOPWG: known / confirmed planet, (ambiguous) planet candidate, false positive/alarm
    "kp": "planet",
    "cp": "planet",
    "pc": "candidate",
    "apc": "candidate",
    "fp": "false_positive",
    "fa": "false_positive",
    # KOI and K2 tables
    "confirmed": "planet",
    "candidate": "candidate",
    "false positive": "false_positive",
    "refuted": "false_positive",
    "false alarm": "false_positive",
    "not dispositioned": None,
}

_UNIT_WORDS = {
    "d": "d",
    "day": "d",
    "days": "d",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "ppm": "ppm",
    "%": "percent",
    "percent": "percent",
    "fraction": "fraction",
    "bjd": "BJD",
    "bjd_tdb": "BJD",
    "btjd": "BTJD",
    "bkjd": "BKJD",
    "bjd - 2454833": "BKJD",
    "bjd-2454833": "BKJD",
    "bjd - 2457000": "BTJD",
}
_PREAMBLE = re.compile(r"^#\s*COLUMN\s+([^:]+):\s*(.*?)\s*(?:\[([^\]]+)\])?\s*$", re.I)
T0_SYSTEMS = ("BJD", "BTJD", "BKJD", "mission")
DURATION_UNITS = ("d", "h")
DEPTH_UNITS = ("fraction", "ppm", "percent")


@dataclass(frozen=True)
class Field:
    """A recognised ephemeris column and the unit its values are in."""

    column: str
    unit: str


@dataclass(frozen=True)
class Layout:
    """How to read one target file: which column means what, in which unit."""

    id_columns: tuple[tuple[str, str | None], ...]
    candidate: str | None = None
    mission: str | None = None
    path: str | None = None
    period: Field | None = None
    t0: Field | None = None
    duration: Field | None = None
    depth: Field | None = None
    label: str | None = None

    @property
    def used(self) -> set[str]:
        """Columns the layout interprets (the rest pass through untouched)."""
        cols = {c for c, _ in self.id_columns}
        for extra in (self.mission, self.path):
            if extra:
                cols.add(extra)
        for fld in (self.period, self.t0, self.duration, self.depth):
            if fld:
                cols.add(fld.column)
        return cols


@dataclass(frozen=True)
class ColumnMapping:
    """The user's explicit mapping (``--id-column`` ..., or ``[columns]`` in the TOML)."""

    id: str | None = None
    candidate: str | None = None
    period: str | None = None
    t0: str | None = None
    duration: str | None = None
    depth: str | None = None
    label: str | None = None
    t0_system: str | None = None
    duration_unit: str | None = None
    depth_unit: str | None = None


def preamble_units(lines: Sequence[str]) -> dict[str, str]:
    """{column: unit} from the archive's '# COLUMN name: description [unit]' lines."""
    units = {}
    for line in lines:
        match = _PREAMBLE.match(line.strip())
        if match and match.group(3):
            word = match.group(3).strip().lower()
            if word in _UNIT_WORDS:
                units[match.group(1).strip().lower()] = _UNIT_WORDS[word]
    return units


def detect_layout(
    header: Sequence[str], units: Mapping[str, str], mapping: ColumnMapping
) -> Layout:
    """Match lower-cased header names against the known tables and the user's mapping.

    Raises ``KeyError`` naming a mapped column that is missing, and ``LookupError`` when no
    id column exists (the caller turns both into one-line messages).
    """
    present = list(header)
    for name in (
        mapping.id,
        mapping.candidate,
        mapping.period,
        mapping.t0,
        mapping.duration,
        mapping.depth,
        mapping.label,
    ):
        if name is not None and name.lower() not in present:
            raise KeyError(name)
    if mapping.id is not None:
        id_columns: tuple[tuple[str, str | None], ...] = (
            (mapping.id.lower(), ID_COLUMNS.get(mapping.id.lower())),
        )
    else:
        id_columns = tuple((c, m) for c, m in ID_COLUMNS.items() if c in present)
    if not id_columns:
        raise LookupError("no id column")
    toi_table = "tid" in present or "toi" in present

    def pick(
        explicit: str | None, table: Mapping[str, str], generic_unit: str, override: str | None
    ) -> Field | None:
        column = explicit.lower() if explicit else next((c for c in table if c in present), None)
        if column is None:
            return None
        default = table.get(column, generic_unit)
        if column == "pl_trandep" and not toi_table:
            default = "percent"  # the K2 candidates table gives depth in percent
        unit = units.get(column, default)
        if (table is T0_COLUMNS) != (unit in T0_SYSTEMS):  # e.g. an epoch given "[days]"
            unit = default
        return Field(column, override or unit)

    def first(explicit: str | None, options: Sequence[str]) -> str | None:
        if explicit:
            return explicit.lower()
        return next((c for c in options if c in present), None)

    return Layout(
        id_columns=id_columns,
        candidate=first(mapping.candidate, CANDIDATE_COLUMNS),
        mission="mission" if "mission" in present else None,
        path="path" if "path" in present else None,
        period=pick(mapping.period, PERIOD_COLUMNS, "d", None),
        t0=pick(mapping.t0, T0_COLUMNS, "mission", mapping.t0_system),
        duration=pick(mapping.duration, DURATION_COLUMNS, "d", mapping.duration_unit),
        depth=pick(mapping.depth, DEPTH_COLUMNS, "fraction", mapping.depth_unit),
        label=first(mapping.label, LABEL_COLUMNS),
    )


# ------------------------------------------------------------------ normalisation
def to_mission_time(value: float, system: str, mission: str | None) -> float:
    """An epoch in BTJD (TESS) or BKJD (Kepler, K2); ValueError if it cannot be known."""
    if system == "mission":
        if value < BJD_THRESHOLD:
            return value
        system = "BJD"  # a full Julian date in a generic t0 column: it can only be BJD
    if mission is None:
        raise ValueError(f"epoch in {system} needs the target's mission")
    offset = BTJD_OFFSET if mission == "TESS" else BKJD_OFFSET
    if system == "BJD":
        return value - offset
    if system == "BTJD":
        return value + BTJD_OFFSET - offset
    if system == "BKJD":
        return value + BKJD_OFFSET - offset
    raise ValueError(f"unknown time system {system}")


def to_days(value: float, unit: str) -> float:
    return value / 24.0 if unit == "h" else value


def to_fraction(value: float, unit: str) -> float:
    return {"ppm": 1e-6, "percent": 1e-2}.get(unit, 1.0) * value


def normalise_label(value: str | None) -> tuple[str | None, bool]:
    """(label, known): known is False for a non-empty value this table does not define."""
    if value is None or not str(value).strip():
        return None, True
    key = str(value).strip().lower()
    if key in LABELS:
        return LABELS[key], True
    return None, False


def candidate_id(column: str, value: str) -> str:
    """'TOI-185.01' for the TOI table's bare numbers; other tables' names as they are."""
    value = value.strip()
    if column == "toi" and re.fullmatch(r"\d+(\.\d+)?", value):
        return f"TOI-{value}"
    return value
