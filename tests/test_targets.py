"""The target CSV parser: what users really feed it, and one-line errors for the rest."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exoextract.errors import InputError
from exoextract.targets import canonical_id, parse_name, read_targets


def write(tmp_path: Path, text: str | bytes, name: str = "targets.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KIC 11442793", ("Kepler", 11442793)),
        ("kic11442793", ("Kepler", 11442793)),
        ("kplr011442793", ("Kepler", 11442793)),
        ("kplr011442793-2009350155506_llc", ("Kepler", 11442793)),
        ("TIC 100100827", ("TESS", 100100827)),
        ("TIC-100100827", ("TESS", 100100827)),
        ("EPIC 201367065", ("K2", 201367065)),
        ("ktwo201367065", ("K2", 201367065)),
        ("  'TIC 5'  ", ("TESS", 5)),
        ("100100827", (None, 100100827)),
        ("1.1442793E+07", (None, 11442793)),
        ("11442793.0", (None, 11442793)),
    ],
)
def test_names_as_users_write_them(text: str, expected: tuple[str | None, int]) -> None:
    assert parse_name(text) == expected


@pytest.mark.parametrize("text", ["Kepler-90", "WASP-18", "11442793.5", "abc", ""])
def test_names_that_are_not_ids(text: str) -> None:
    with pytest.raises(ValueError):
        parse_name(text)


def test_generic_target_column_with_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "target,koi_disposition,ra\nKIC 11442793,CONFIRMED,284.43\nTIC 100100827,PC,24.35\n",
    )
    result = read_targets(path)
    assert [t.target_id for t in result.targets] == ["KIC 11442793", "TIC 100100827"]
    assert [t.mission for t in result.targets] == ["Kepler", "TESS"]
    assert result.columns == ("koi_disposition", "ra")
    assert result.targets[0].row == {"koi_disposition": "CONFIRMED", "ra": 284.43}
    assert result.targets[1].line == 3


@pytest.mark.parametrize(
    ("header", "mission"),
    [
        ("kepid", "Kepler"),
        ("KIC", "Kepler"),
        ("kic_id", "Kepler"),
        ("TIC_ID", "TESS"),
        ("ticid", "TESS"),
        ("tic", "TESS"),
        ("EPIC", "K2"),
        ("epic_id", "K2"),
    ],
)
def test_mission_specific_id_columns(tmp_path: Path, header: str, mission: str) -> None:
    result = read_targets(write(tmp_path, f"{header}\n123\n"))
    assert result.targets[0].mission == mission
    assert result.targets[0].target_id == canonical_id(mission, 123)


def test_bare_ids_take_the_mission_column_then_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, "name,mission\n5,tess\n6,\n")
    result = read_targets(path, default_mission="Kepler")
    assert [(t.mission, t.number) for t in result.targets] == [("TESS", 5), ("Kepler", 6)]


def test_bom_whitespace_quotes_and_crlf(tmp_path: Path) -> None:
    raw = '\ufeff Target , period ,label\r\n "KIC 11442793" , "331.6" , "h"\r\n\r\n'
    result = read_targets(write(tmp_path, raw.encode("utf-8")))
    target = result.targets[0]
    assert target.target_id == "KIC 11442793"
    assert target.period == pytest.approx(331.6)
    assert target.row == {"period": 331.6, "label": "h"}  # the original column is kept too


def test_excel_semicolons_decimal_commas_and_sep_hint(tmp_path: Path) -> None:
    raw = "sep=;\r\nkepid;koi_period;koi_score\r\n11442793;331,60059;0,9\r\n;;\r\n"
    result = read_targets(write(tmp_path, raw.encode("cp1252")))
    assert result.targets[0].number == 11442793
    assert result.targets[0].row["koi_period"] == pytest.approx(331.60059)
    assert result.targets[0].row["koi_score"] == pytest.approx(0.9)


def test_excel_windows_1252_text_and_float_ids(tmp_path: Path) -> None:
    raw = "kepid,comment\n11442793.0,Kepler\u201190 \xe9toile\n".encode("cp1252", "replace")
    result = read_targets(write(tmp_path, raw))
    assert result.targets[0].number == 11442793
    assert "toile" in str(result.targets[0].row["comment"])


def test_archive_preamble_is_skipped(shared_data: Path) -> None:
    result = read_targets(shared_data / "catalogs" / "koi_sample.csv")
    assert result.id_column == "kepid"
    first = result.targets[0]
    assert first.target_id == "KIC 11442793"
    assert first.line == 17  # 15 preamble lines, the header, then the first row
    assert first.row["koi_disposition"] == "CONFIRMED"
    assert first.row["kepoi_name"] == "K00351.01"


def test_ephemeris_and_path_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "tic,period,t0,duration,path\n5,1.5,1354.2,0.1,lc/*.fits\n")
    target = read_targets(path).targets[0]
    assert (target.period, target.t0, target.duration, target.path) == (
        1.5,
        1354.2,
        0.1,
        "lc/*.fits",
    )


def test_duplicates_keep_the_first_and_say_so(tmp_path: Path) -> None:
    path = write(tmp_path, "target,label\nKIC 5,a\nkplr000000005,b\nTIC 5,c\n")
    result = read_targets(path)
    assert [t.target_id for t in result.targets] == ["KIC 5", "TIC 5"]
    assert result.targets[0].row["label"] == "a"
    assert result.warnings == ("line 3: KIC 5 repeats line 2; kept the first",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "{p}: file is empty — add a header line and one row per target"),
        ("# only a preamble\n#\n", "{p}: file is empty — add a header line and one row per target"),
        ("target\n", "{p}: has a header but no rows — add one row per target"),
        (
            "star,ra\nfoo,1\n",
            "{p}: no id column — name one of: target, target_id, name, tid, tic, tic_id, ticid, "
            "kepid, kic, kic_id, epic, epic_id, epic_hostname (found: star, ra), or set "
            "--id-column",
        ),
        (
            "kepid\n12\nabc\n",
            "{p}: line 3: cannot read kepid 'abc' — use an archive id such as "
            "11442793 (planet names like Kepler-90 need their KIC/TIC/EPIC id)",
        ),
        (
            "target\nKepler-90\n",
            "{p}: line 2: cannot read target 'Kepler-90' — use an archive id "
            "such as KIC 11442793 (planet names like Kepler-90 need their "
            "KIC/TIC/EPIC id)",
        ),
        ("tic\n-5\n", "{p}: line 2: tic -5 is negative — ids are >= 0"),
        ('tic,label\n5,a\n\n"",b\n', "{p}: line 4: empty tic — give every row an id"),
        (
            "kepid\nTIC 5\n",
            "{p}: line 2: kepid holds 'TIC 5', which is not a Kepler id — move it "
            "to a matching column",
        ),
        (
            "target,mission\nTIC 5,Kepler\n",
            "{p}: line 2: id 'TIC 5' is a TESS id but mission says Kepler — fix one of them",
        ),
        (
            "target,mission\n5,Hubble\n",
            "{p}: line 2: mission 'Hubble' is not Kepler, K2 or TESS — fix it",
        ),
        (
            "tic,x\n5,1,2\n",
            "{p}: line 2 has 3 fields but the header has 2 — quote values that contain ','",
        ),
        ("tic,TIC\n5,5\n", "{p}: header repeats column(s) tic — rename them"),
    ],
)
def test_bad_input_gets_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_targets(path)
    assert str(caught.value) == message.format(p=path)
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        (
            "tic,period\n5,-1\n",
            "line 2: TIC 5: period -1 d is not positive; known-ephemeris features left NaN",
        ),
        (
            "tic,period\n5,soon\n",
            "line 2: period 'soon' is not a number; known-ephemeris features left NaN",
        ),
        (
            "tic,period,duration\n5,0.5,0.6\n",
            "line 2: TIC 5: duration 14.4 h is not shorter "
            "than the period 0.5 d; known-ephemeris features "
            "left NaN",
        ),
        (
            "tic,depth\n5,-0.1\n",
            "line 2: TIC 5: depth -0.1 is negative; known-ephemeris features left NaN",
        ),
    ],
)
def test_bad_ephemeris_keeps_the_row_and_says_why(tmp_path: Path, text: str, warning: str) -> None:
    result = read_targets(write(tmp_path, text))
    target = result.targets[0]
    assert target.target_id == "TIC 5"
    assert (target.period, target.t0, target.duration, target.depth) == (None, None, None, None)
    assert result.warnings == (warning,)


def test_skip_bad_rows_lists_them(tmp_path: Path) -> None:
    result = read_targets(write(tmp_path, "tic\n5\nabc\n6\n"), skip_bad_rows=True)
    assert [t.number for t in result.targets] == [5, 6]
    assert result.warnings == (
        "line 3: cannot read tic 'abc' — use an archive id such as "
        "11442793 (planet names like Kepler-90 need their KIC/TIC/EPIC "
        "id) (row skipped)",
    )


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found — check the path"):
        read_targets(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder — give the target CSV file"):
        read_targets(tmp_path)


# ---------------------------------------------------------------- property tests
ids = st.integers(min_value=0, max_value=10**12)
missions = st.sampled_from(["Kepler", "K2", "TESS"])
labels = st.text(alphabet=string.ascii_letters + " éß-_", min_size=0, max_size=12)
styles = st.sampled_from(["canonical", "compact", "quoted", "padded"])


def render(mission: str, number: int, style: str) -> str:
    prefix = {"Kepler": "KIC", "K2": "EPIC", "TESS": "TIC"}[mission]
    if style == "compact":
        return f"{prefix.lower()}{number}"
    if style == "quoted":
        return f'"{prefix} {number}"'
    if style == "padded":
        return f"  {prefix} {number}  "
    return f"{prefix} {number}"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(missions, ids, styles, labels), min_size=1, max_size=20),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_any_rendering_of_ids_round_trips(
    tmp_path: Path, rows: list[tuple[str, int, str, str]], bom: bool, crlf: bool
) -> None:
    newline = "\r\n" if crlf else "\n"
    lines = ["target,label"]
    for mission, number, style, label in rows:
        lines.append(f'{render(mission, number, style)},"{label}"')
    text = newline.join(lines) + newline
    data = ("\ufeff" if bom else "") + text
    path = tmp_path / "prop.csv"
    path.write_bytes(data.encode("utf-8"))
    result = read_targets(path)
    expected: list[str] = []
    for mission, number, _, _ in rows:
        ident = canonical_id(mission, number)
        if ident not in expected:
            expected.append(ident)
    assert [t.target_id for t in result.targets] == expected
    assert len(result.warnings) == len(rows) - len(expected)
