"""Read a target CSV into validated :class:`Target` records.

Accepts what users actually have: the NASA Exoplanet Archive's downloads (a ``#`` preamble),
Excel exports (BOM, ``;`` or tab separators, decimal commas, ``sep=`` hints, Windows-1252),
stray whitespace and quoted numbers. Anything that cannot be a target stops the run with one
line naming the file, the line and the fix; duplicates are dropped with a warning.
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

from exoextract.errors import InputError

# Recognised id columns, in priority order, with the mission they imply (None: read the name).
ID_COLUMNS: dict[str, str | None] = {
    "target": None,
    "target_id": None,
    "name": None,
    "kic": "Kepler",
    "kepid": "Kepler",
    "kic_id": "Kepler",
    "tic": "TESS",
    "tic_id": "TESS",
    "ticid": "TESS",
    "epic": "K2",
    "epic_id": "K2",
}
RECOGNISED = ("mission", "path", "period", "t0", "duration")
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
    """One light curve to process and the CSV row it came from."""

    key: str
    target_id: str
    mission: str | None
    number: int
    line: int
    path: str | None = None
    period: float | None = None
    t0: float | None = None
    duration: float | None = None
    row: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetList:
    """Parsed targets, the pass-through columns in file order, and what was dropped."""

    path: Path
    sha256: str
    id_column: str
    targets: tuple[Target, ...]
    columns: tuple[str, ...]
    warnings: tuple[str, ...] = ()

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


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _split_preamble(lines: list[str]) -> tuple[int, list[str]]:
    """Skip the archive's '#' preamble, blank lines and Excel's 'sep=' hint."""
    start = 0
    while start < len(lines):
        stripped = lines[start].strip()
        if (
            stripped.startswith("#")
            or not stripped.strip(",;\t")
            or (stripped.lower().startswith("sep=") and len(stripped) <= 5)
        ):
            start += 1
        else:
            break
    return start, lines[start:]


def _sniff_delimiter(header: str, first_lines: list[str]) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return ","  # a single-column file
    return best


def read_targets(path: str | Path, default_mission: str | None = None) -> TargetList:
    """Parse a target CSV; raises :class:`InputError` with a one-line fix on bad input."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise InputError(f"{where}: file not found — check the path")
    if path.is_dir():
        raise InputError(f"{where}: is a folder — give the target CSV file")
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    text = _decode(raw)
    lines = text.splitlines()
    offset, body = _split_preamble(lines)
    if not body:
        raise InputError(f"{where}: file is empty — add a header line and one row per target")
    delimiter = _sniff_delimiter(body[0], body[1:5])
    decimal_comma = delimiter == ";"
    reader = csv.reader(io.StringIO("\n".join(body)), delimiter=delimiter, skipinitialspace=True)
    try:
        header = next(reader)
    except StopIteration:  # pragma: no cover - body is non-empty
        raise InputError(f"{where}: file is empty — add a header line") from None
    names = [_unquote(h) for h in header]
    while names and names[-1] == "":  # Excel's trailing separators
        names.pop()
    lowered = [n.lower() for n in names]
    if len(set(lowered)) != len(lowered):
        dup = sorted({n for n in lowered if lowered.count(n) > 1})
        raise InputError(f"{where}: header repeats column(s) {', '.join(dup)} — rename them")
    id_column = next((c for c in ID_COLUMNS if c in lowered), None)
    if id_column is None:
        raise InputError(
            f"{where}: no id column — name one of: {', '.join(ID_COLUMNS)} "
            f"(found: {', '.join(names) or 'nothing'})"
        )
    id_index = lowered.index(id_column)
    known = {c: lowered.index(c) for c in RECOGNISED if c in lowered}
    passthrough = [i for i, n in enumerate(lowered) if i != id_index and n not in known]

    records: list[tuple[int, list[str]]] = []
    for cells in reader:
        line = offset + reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
            raise InputError(
                f"{where}: line {line} has {len(cells)} fields but the header has "
                f"{len(names)} — quote values that contain '{delimiter}'"
            )
        records.append((line, cells + [""] * (len(names) - len(cells))))
    if not records:
        raise InputError(f"{where}: has a header but no rows — add one row per target")

    columns = _passthrough_columns(names, passthrough, records, decimal_comma)
    targets: list[Target] = []
    seen: dict[str, int] = {}
    warnings: list[str] = []
    for row_number, (line, cells) in enumerate(records):
        mission, number = _row_id(cells[id_index], id_column, line, where)
        row_mission = _row_mission(cells, known, line, where)
        if mission and row_mission and mission != row_mission:
            raise InputError(
                f"{where}: line {line}: id {cells[id_index].strip()!r} is a {mission} id "
                f"but mission says {row_mission} — fix one of them"
            )
        mission = mission or row_mission or default_mission
        ephemeris: dict[str, float | None] = {}
        for name in ("period", "t0", "duration"):
            if name in known:
                ephemeris[name] = _row_float(cells, known[name], name, line, where, decimal_comma)
        for name in ("period", "duration"):
            value = ephemeris.get(name)
            if value is not None and value <= 0:
                raise InputError(
                    f"{where}: line {line}: {name} {value} must be positive — fix or leave empty"
                )
        target_id = canonical_id(mission, number)
        if target_id in seen:
            warnings.append(
                f"line {line}: {target_id} repeats line {seen[target_id]}; kept the first"
            )
            continue
        seen[target_id] = line
        path_value = cells[known["path"]].strip() if "path" in known else ""
        targets.append(
            Target(
                key=target_id,
                target_id=target_id,
                mission=mission,
                number=number,
                line=line,
                path=path_value or None,
                row={name: values[row_number] for name, values in columns.items()},
                **ephemeris,
            )
        )
    return TargetList(
        path=path,
        sha256=sha,
        id_column=names[id_index],
        targets=tuple(targets),
        columns=tuple(columns),
        warnings=tuple(warnings),
    )


def _row_id(cell: str, column: str, line: int, where: str) -> tuple[str | None, int]:
    value = _unquote(cell)
    if not value:
        raise InputError(f"{where}: line {line}: empty {column} — give every row an id")
    implied = ID_COLUMNS[column]
    try:
        mission, number = parse_name(value)
    except ValueError:
        example = "11442793" if implied else "KIC 11442793"
        raise InputError(
            f"{where}: line {line}: cannot read {column} {value!r} — use an archive id "
            f"such as {example} (planet names like Kepler-90 need their KIC/TIC/EPIC id)"
        ) from None
    if number < 0:
        raise InputError(f"{where}: line {line}: {column} {value} is negative — ids are >= 0")
    if implied and mission and mission != implied:
        raise InputError(
            f"{where}: line {line}: {column} holds {value!r}, which is not a {implied} id "
            f"— move it to a matching column"
        )
    return mission or implied, number


def _row_mission(
    cells: Sequence[str], known: Mapping[str, int], line: int, where: str
) -> str | None:
    if "mission" not in known:
        return None
    value = _unquote(cells[known["mission"]])
    if not value:
        return None
    mission = MISSION_WORDS.get(value.lower())
    if mission is None:
        raise InputError(
            f"{where}: line {line}: mission {value!r} is not Kepler, K2 or TESS — fix it"
        )
    return mission


def _row_float(
    cells: Sequence[str], index: int, name: str, line: int, where: str, decimal_comma: bool
) -> float | None:
    try:
        return _parse_float(cells[index], decimal_comma)
    except ValueError:
        raise InputError(
            f"{where}: line {line}: {name} {cells[index].strip()!r} is not a number "
            f"— fix it or leave it empty"
        ) from None


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
