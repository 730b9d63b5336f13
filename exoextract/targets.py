"""Read a target CSV into validated :class:`Target` records (one per output row).

Accepts what users actually have: the NASA Exoplanet Archive's TOI, KOI and K2 tables as
downloaded (a ``#`` preamble with units, several candidates per star), merged training sets
mixing TIC and KIC rows, Excel exports (BOM, ``;`` or tab separators, decimal commas,
``sep=`` hints, Windows-1252), stray whitespace and quoted numbers. Column meanings and
units are decided in :mod:`exoextract.catalogs`.

A row whose id cannot be read stops the run with one line naming the file, the line and the
fix (or is skipped and listed, with ``skip_bad_rows``). A row whose ephemeris is unusable is
kept: its known-ephemeris features will be NaN, and the problem is listed with its line.
Repeated rows keep the first occurrence and are listed too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exoextract import catalogs
from exoextract.catalogs import ColumnMapping, Layout
from exoextract.errors import InputError

ID_COLUMNS = catalogs.ID_COLUMNS
GENERIC_ID_COLUMNS = ("target", "target_id", "name")
MISSION_WORDS = {
    "kepler": "Kepler",
    "kic": "Kepler",
    "k2": "K2",
    "epic": "K2",
    "tess": "TESS",
    "tic": "TESS",
}
PREFIX_OF = {"Kepler": "KIC", "K2": "EPIC", "TESS": "TIC"}
MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "--"}

_NAME_PATTERNS = [
    (re.compile(r"^(kic|kepid|kepler\s*id)[\s_:#-]*(\d+)$", re.I), "Kepler"),
    (re.compile(r"^(tic|tess)[\s_:#-]*(\d+)$", re.I), "TESS"),
    (re.compile(r"^(epic|k2)[\s_:#-]*(\d+)$", re.I), "K2"),
    (re.compile(r"^(kplr)(\d{9})(?:[-_].*)?$", re.I), "Kepler"),
    (re.compile(r"^(ktwo)(\d{9})(?:[-_].*)?$", re.I), "K2"),
]


@dataclass(frozen=True)
class Target:
    """One output row: a star, or one candidate on a star, and the CSV row it came from.

    ``period``, ``t0``, ``duration`` and ``depth`` are the known ephemeris normalised to days,
    the mission's time system and a fraction (None when absent or unusable).
    """

    key: str
    target_id: str
    mission: str | None
    number: int
    line: int
    path: str | None = None
    candidate: str | None = None
    period: float | None = None
    t0: float | None = None
    duration: float | None = None
    depth: float | None = None
    label: str | None = None
    row: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetList:
    """Parsed targets, the pass-through columns in file order, and what was noticed."""

    path: Path
    sha256: str
    id_column: str
    targets: tuple[Target, ...]
    columns: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    has_candidates: bool = False
    has_labels: bool = False

    def __len__(self) -> int:
        return len(self.targets)


def canonical_id(mission: str | None, number: int) -> str:
    """'KIC 11442793', 'TIC 100100827', 'EPIC 201367065'; a bare number if mission unknown."""
    return f"{PREFIX_OF[mission]} {number}" if mission else str(number)


def parse_name(text: str) -> tuple[str | None, int]:
    """Read an id as users write it ('KIC 11442793', 'kplr011442793', '100100827')."""
    value = _unquote(text)
    number = _parse_int(value)
    if number is not None:
        return None, number
    for pattern, mission in _NAME_PATTERNS:
        match = pattern.match(value)
        if match:
            return mission, int(match.group(2))
    tess = re.match(r"^tess\d+-s\d+-(\d{16})-", value, re.I)
    if tess:
        return "TESS", int(tess.group(1))
    raise ValueError(value)


def _unquote(text: str) -> str:
    value = text.strip().strip("\ufeff").strip()
    while len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1].strip()
    return value.lstrip("'")  # Excel's leading apostrophe keeps numbers as text


def _parse_int(value: str) -> int | None:
    """An integer id, also as Excel writes it ('11442793.0', '1.1442793E+07')."""
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", value):
        number = float(value)
        if number.is_integer():
            return int(number)
    return None


def _parse_float(text: str, decimal_comma: bool) -> float | None:
    value = _unquote(text)
    if value.lower() in MISSING:
        return None
    if decimal_comma:
        value = value.replace(",", ".")
    number = float(value)  # ValueError is turned into a message by the caller
    return None if math.isnan(number) else number


# files people give for a CSV that are not text: their first bytes, what they are, the fix
BINARY_FORMATS = (
    (
        b"PAR1",
        "a Parquet file",
        "convert it with pandas: pd.read_parquet({path!r}).to_csv('targets.csv', index=False)",
    ),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx?)", "save the sheet as CSV (File > Save as)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook", "save the sheet as CSV (File > Save as)"),
    (b"SIMPLE  =", "a FITS file", "give a CSV of star ids; FITS files go in --data-dir"),
    (b"\x1f\x8b", "a gzip file", "unpack it (gunzip) and give the CSV inside"),
)


def _decode(raw: bytes, where: str = "the target file") -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 (with a BOM, or without one
    where every other byte of ASCII text is NUL), else Windows-1252; one-line errors for
    the binary files people mistake for a CSV."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for magic, what, fix in BINARY_FORMATS:
        if raw.startswith(magic):
            raise InputError(f"{where}: is {what}, not a CSV — {fix.format(path=where)}")
    head = raw[:4096]
    if head.count(0):
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.4 * len(head) / 2 and even == 0:
            return raw.decode("utf-16-le", errors="replace")
        if even > 0.4 * len(head) / 2 and odd == 0:
            return raw.decode("utf-16-be", errors="replace")
        raise InputError(
            f"{where}: is not a text file (it holds NUL bytes) — give a CSV of star ids"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _split_preamble(lines: list[str]) -> int:
    """Index of the header: skip the '#' preamble, blank lines and Excel's 'sep=' hint."""
    start = 0
    while start < len(lines):
        stripped = lines[start].strip().lstrip("\ufeff")
        if (
            stripped.startswith("#")
            or not stripped.strip(",;\t")
            or (stripped.lower().startswith("sep=") and len(stripped) <= 5)
        ):
            start += 1
        else:
            break
    return start


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_targets(
    path: str | Path,
    default_mission: str | None = None,
    mapping: ColumnMapping | None = None,
    skip_bad_rows: bool = False,
) -> TargetList:
    """Parse a target CSV; raises :class:`InputError` with a one-line fix on bad input."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise InputError(f"{where}: file not found — check the path")
    if path.is_dir():
        raise InputError(f"{where}: is a folder — give the target CSV file")
    raw = path.read_bytes()
    lines = _decode(raw, where).splitlines()
    offset = _split_preamble(lines)
    body = lines[offset:]
    if not body:
        raise InputError(f"{where}: file is empty — add a header line and one row per target")
    delimiter = _sniff_delimiter(body[0])
    decimal_comma = delimiter == ";"
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter=delimiter, skipinitialspace=True)
    names = _header(next(reader), where)
    lowered = [n.lower() for n in names]
    layout = _layout(lowered, names, lines[:offset], mapping, where)
    records = _records(reader, offset, names, delimiter, where)
    index = {name: i for i, name in enumerate(lowered)}
    dropped = {c for c, _ in layout.id_columns if c in GENERIC_ID_COLUMNS}
    dropped |= {c for c in (layout.mission, layout.path) if c}
    if layout.candidate == "candidate":  # the output's own candidate column: not twice
        dropped.add("candidate")
    passthrough = [i for i, n in enumerate(lowered) if n not in dropped]
    columns = _passthrough_columns(names, passthrough, records, decimal_comma)
    builder = _RowReader(where, layout, index, default_mission, decimal_comma)
    targets, warnings = _targets(records, columns, builder, skip_bad_rows, where)
    return TargetList(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        id_column=names[index[layout.id_columns[0][0]]],
        targets=tuple(targets),
        columns=tuple(columns),
        warnings=tuple(builder.notes + warnings),
        has_candidates=layout.candidate is not None,
        has_labels=layout.label is not None,
    )


def _header(cells: list[str], where: str) -> list[str]:
    """The header's column names (Excel's trailing separators dropped); none repeated."""
    names = [_unquote(h) for h in cells]
    while names and names[-1] == "":
        names.pop()
    lowered = [n.lower() for n in names]
    if len(set(lowered)) != len(lowered):
        dup = sorted({n for n in lowered if lowered.count(n) > 1})
        raise InputError(f"{where}: header repeats column(s) {', '.join(dup)} — rename them")
    return names


def _layout(
    lowered: list[str],
    names: list[str],
    preamble: list[str],
    mapping: ColumnMapping | None,
    where: str,
) -> catalogs.Layout:
    """Which column is what (:func:`catalogs.detect_layout`), or the one-line fix."""
    try:
        return catalogs.detect_layout(
            lowered, catalogs.preamble_units(preamble), mapping or ColumnMapping()
        )
    except KeyError as missing:
        raise InputError(
            f"{where}: mapped column {missing.args[0]!r} is not in the header "
            f"(found: {', '.join(names)}) — fix the column mapping"
        ) from None
    except LookupError:
        raise InputError(
            f"{where}: no id column — name one of: {', '.join(ID_COLUMNS)} "
            f"(found: {', '.join(names) or 'nothing'}), or set --id-column"
        ) from None


def _records(
    reader: Any, offset: int, names: list[str], delimiter: str, where: str
) -> list[tuple[int, list[str]]]:
    """(line number, cells padded to the header) of every non-blank row."""
    records: list[tuple[int, list[str]]] = []
    for cells in reader:
        line = offset + reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if any("\n" in c for c in cells):  # a quote opened and closed lines later, or never
            start = line - max(c.count("\n") for c in cells)
            raise InputError(
                f'{where}: line {start} opens a quote (") that does not close on that line — '
                "close it, or remove the stray quote"
            )
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
            raise InputError(
                f"{where}: line {line} has {len(cells)} fields but the header has "
                f"{len(names)} — quote values that contain '{delimiter}'"
            )
        records.append((line, cells + [""] * (len(names) - len(cells))))
    if not records:
        raise InputError(f"{where}: has a header but no rows — add one row per target")
    return records


def _targets(
    records: list[tuple[int, list[str]]],
    columns: dict[str, list[Any]],
    builder: _RowReader,
    skip_bad_rows: bool,
    where: str,
) -> tuple[list[Target], list[str]]:
    """The rows as targets, the first of a repeated one kept; warnings for what was left."""
    targets: list[Target] = []
    seen: dict[str, int] = {}
    warnings: list[str] = []
    for row_number, (line, cells) in enumerate(records):
        try:
            target = builder.target(line, cells, {n: v[row_number] for n, v in columns.items()})
        except InputError as error:
            if not skip_bad_rows:
                raise
            warnings.append(f"{error.args[0].removeprefix(where + ': ')} (row skipped)")
            continue
        if target.key in seen:
            warnings.append(
                f"line {line}: {target.key} repeats line {seen[target.key]}; kept the first"
            )
            continue
        seen[target.key] = line
        targets.append(target)
    if not targets:
        raise InputError(f"{where}: no usable rows (every id was unreadable) — fix the ids")
    return targets, warnings


class _RowReader:
    """Turns one CSV row into a Target, collecting what it had to leave out."""

    def __init__(
        self,
        where: str,
        layout: Layout,
        index: Mapping[str, int],
        default_mission: str | None,
        decimal_comma: bool,
    ) -> None:
        self.where = where
        self.layout = layout
        self.index = index
        self.default_mission = default_mission
        self.decimal_comma = decimal_comma
        self.notes: list[str] = []
        self._bjd_noted = False

    def cell(self, cells: Sequence[str], column: str | None) -> str:
        return _unquote(cells[self.index[column]]) if column else ""

    def target(self, line: int, cells: Sequence[str], row: dict[str, Any]) -> Target:
        column, value = next(
            ((c, self.cell(cells, c)) for c, _ in self.layout.id_columns if self.cell(cells, c)),
            (self.layout.id_columns[0][0], ""),
        )
        mission, number = self._id(value, column, line)
        row_mission = self._mission(cells, line)
        if mission and row_mission and mission != row_mission:
            raise InputError(
                f"{self.where}: line {line}: id {value!r} is a {mission} id but "
                f"mission says {row_mission} — fix one of them"
            )
        mission = mission or row_mission or self.default_mission
        target_id = canonical_id(mission, number)
        candidate = None
        if self.layout.candidate:
            raw = self.cell(cells, self.layout.candidate)
            candidate = catalogs.candidate_id(self.layout.candidate, raw) if raw else None
        ephemeris = self._ephemeris(cells, line, mission, candidate or target_id)
        label = None
        if self.layout.label:
            raw_label = self.cell(cells, self.layout.label)
            label, known = catalogs.normalise_label(raw_label)
            if not known:
                self.notes.append(
                    f"line {line}: {self.layout.label} {raw_label!r} is not a "
                    "disposition exoextract knows; label left empty"
                )
        return Target(
            key=candidate or target_id,
            target_id=target_id,
            mission=mission,
            number=number,
            line=line,
            path=self.cell(cells, self.layout.path) or None,
            candidate=candidate,
            label=label,
            row=row,
            **ephemeris,
        )

    def _id(self, value: str, column: str, line: int) -> tuple[str | None, int]:
        if not value:
            raise InputError(f"{self.where}: line {line}: empty {column} — give every row an id")
        implied = ID_COLUMNS.get(column)
        try:
            mission, number = parse_name(value)
        except ValueError:
            example = "11442793" if implied else "KIC 11442793"
            raise InputError(
                f"{self.where}: line {line}: cannot read {column} {value!r} — use an archive id "
                f"such as {example} (planet names like Kepler-90 need their KIC/TIC/EPIC id)"
            ) from None
        if number < 0:
            raise InputError(
                f"{self.where}: line {line}: {column} {value} is negative — ids are >= 0"
            )
        if implied and mission and mission != implied:
            raise InputError(
                f"{self.where}: line {line}: {column} holds {value!r}, which is not "
                f"a {implied} id — move it to a matching column"
            )
        return mission or implied, number

    def _mission(self, cells: Sequence[str], line: int) -> str | None:
        value = self.cell(cells, self.layout.mission)
        if not value:
            return None
        mission = MISSION_WORDS.get(value.lower())
        if mission is None:
            raise InputError(
                f"{self.where}: line {line}: mission {value!r} is not Kepler, K2 or TESS — fix it"
            )
        return mission

    def _number(self, cells: Sequence[str], column: str, line: int) -> float | None:
        try:
            return _parse_float(cells[self.index[column]], self.decimal_comma)
        except ValueError:
            self.notes.append(
                f"line {line}: {column} {self.cell(cells, column)!r} is not a "
                "number; known-ephemeris features left NaN"
            )
            return None

    def _ephemeris(
        self, cells: Sequence[str], line: int, mission: str | None, key: str
    ) -> dict[str, float | None]:
        layout = self.layout
        out: dict[str, float | None] = {"period": None, "t0": None, "duration": None, "depth": None}
        if layout.period:
            out["period"] = self._number(cells, layout.period.column, line)
        if layout.duration:
            value = self._number(cells, layout.duration.column, line)
            out["duration"] = (
                None if value is None else catalogs.to_days(value, layout.duration.unit)
            )
        if layout.depth:
            value = self._number(cells, layout.depth.column, line)
            out["depth"] = None if value is None else catalogs.to_fraction(value, layout.depth.unit)
        if layout.t0:
            value = self._number(cells, layout.t0.column, line)
            if value is not None:
                if (
                    layout.t0.unit == "mission"
                    and value > catalogs.BJD_THRESHOLD
                    and not self._bjd_noted
                ):
                    self._bjd_noted = True
                    self.notes.append(
                        f"{layout.t0.column} values above 2,400,000 are read as "
                        "BJD and converted to BTJD/BKJD"
                    )
                try:
                    out["t0"] = catalogs.to_mission_time(value, layout.t0.unit, mission)
                except ValueError as why:
                    self.notes.append(f"line {line}: {why}; add a mission column")
        return self._checked(out, line, key)

    def _checked(
        self, eph: dict[str, float | None], line: int, key: str
    ) -> dict[str, float | None]:
        period, duration, depth = eph["period"], eph["duration"], eph["depth"]
        problem = None
        if period is not None and period <= 0:
            problem = f"period {period:g} d is not positive"
        elif duration is not None and duration <= 0:
            problem = f"duration {duration * 24:g} h is not positive"
        elif period is not None and duration is not None and duration >= period:
            problem = f"duration {duration * 24:g} h is not shorter than the period {period:g} d"
        elif depth is not None and depth < 0:
            problem = f"depth {depth:g} is negative"
        if problem is None:
            return eph
        self.notes.append(f"line {line}: {key}: {problem}; known-ephemeris features left NaN")
        return {"period": None, "t0": None, "duration": None, "depth": None}


def _passthrough_columns(
    names: list[str], indices: list[int], records: list[tuple[int, list[str]]], decimal_comma: bool
) -> dict[str, list[Any]]:
    """Every other column, typed as a whole: numbers stay numbers, the rest text."""
    out: dict[str, list[Any]] = {}
    for i in indices:
        name = names[i] or f"column_{i + 1}"
        raw = [_unquote(cells[i]) for _, cells in records]
        out[name] = _type_column(raw, decimal_comma)
    return out


def _type_column(values: list[str], decimal_comma: bool) -> list[Any]:
    present = [v for v in values if v.lower() not in MISSING]
    if not present:
        return [None] * len(values)
    if all(re.fullmatch(r"[+-]?\d+", v) for v in present):
        return [int(v) if v.lower() not in MISSING else None for v in values]
    try:
        return [_parse_float(v, decimal_comma) for v in values]
    except ValueError:
        return [v if v.lower() not in MISSING else None for v in values]
