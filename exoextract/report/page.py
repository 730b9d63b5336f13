"""``exoextract report``: one self-contained HTML page about a run.

The run (outcomes, failure reasons, seconds per stage, throughput), the science (detection
statistics, the period-depth plane and the most label-separating features, by label; the
share flagged planet-like per label), and a table of the strongest candidates, linked to
their diagnostic sheets when ``sheets`` asks for them. Images are embedded as data URIs and
there is no script: the file opens offline, from a laptop or from Drive.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from exoextract.errors import ExoextractError
from exoextract.report import figures
from exoextract.run.checkpoint import CheckpointStore, atomic_write_bytes
from exoextract.run.status import RunStatus, finished_over_time, run_status

CANDIDATES = 25  # rows of the strongest-candidates table


@dataclass
class Report:
    path: Path
    targets: int
    figures: int
    sheets: list[str] = field(default_factory=list)
    sheet_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def build_report(
    run_dir: str | Path,
    path: str | Path | None = None,
    sheets: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Write the report of ``run_dir`` to ``path`` (default RUN_DIR/report.html) with the
    diagnostic sheets of the ``sheets`` strongest candidates."""
    started = time.monotonic()
    run_dir = Path(run_dir)
    path = Path(path) if path else run_dir / "report.html"
    state = run_status(run_dir)
    table = _ok_rows(run_dir, state)
    label = "label" if "label" in table else None
    by = figures.groups(table, label)
    candidates = strongest(table)
    shown: list[tuple[str, str]] = []  # (heading, base64 png)
    sections = [
        _header(state, len(table), _stars(table)),
        _run_section(state, table, shown),
        _science_section(table, by, label, shown),
    ]
    sections.append(_signals_section(run_dir, state))
    sheet_images, errors = _sheets(run_dir, candidates, sheets, progress)
    sections.append(_candidates_section(candidates, sheet_images))
    sections.append(_sheets_section(sheet_images, errors))
    page = _page(f"exoextract report — {state.run_id}", "\n".join(sections))
    blob = page.encode()
    atomic_write_bytes(path, lambda handle: handle.write(blob), "choose a writable -o")
    return Report(
        path=path,
        targets=len(table),
        figures=len(shown),
        sheets=list(sheet_images),
        sheet_errors=errors,
        seconds=time.monotonic() - started,
    )


def strongest(table: pd.DataFrame, count: int = CANDIDATES) -> pd.DataFrame:
    """Candidate rows flagged planet-like first, then by detection statistic (TLS SDE, else
    BLS); rows that describe nothing (``match`` none) are left out."""
    if table.empty:
        return table
    if "match" in table:
        table = table[table["match"] != "none"]
    sde = _numeric(table, "tls_sde").fillna(_numeric(table, "bls_sde"))
    flag = _numeric(table, "vet_transit_like").fillna(0.0)
    ranked = table.assign(_flag=flag, _sde=sde).sort_values(
        ["_flag", "_sde"], ascending=False, na_position="last"
    )
    return ranked.head(count).drop(columns=["_flag", "_sde"])


# ------------------------------------------------------------------ data
def _ok_rows(run_dir: Path, state: RunStatus) -> pd.DataFrame:
    """The successful rows: the merged table of a finished run, else the checkpoints so far
    (without the input's labels and catalog columns, which join at the end)."""
    if state.features_path is not None:
        return pd.read_parquet(state.features_path)
    rows = CheckpointStore(run_dir).load()
    if "status" not in rows or rows.empty:
        return pd.DataFrame()
    return rows[rows["status"] == "ok"].reset_index(drop=True)


def _stars(table: pd.DataFrame) -> int:
    return int(table["target_id"].nunique()) if "target_id" in table else 0


def _numeric(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table:
        return pd.Series([math.nan] * len(table), index=table.index, dtype=float)
    return pd.to_numeric(table[column], errors="coerce").astype(float)


# ------------------------------------------------------------------ sections
def _header(state: RunStatus, ok_rows: int, stars: int) -> str:
    share = 100.0 * state.done / state.total if state.total else 100.0
    note = ""
    if state.state != "complete":
        note = (
            f"<p class='warn'>This run is {esc(state.state)}: {state.done} of {state.total} "
            f"targets are done ({share:.0f} %). The figures show what is done so far, "
            "without the input's labels and catalog columns, which join when the run "
            f"completes ({esc(state.resume_command or '')}).</p>"
        )
    settings = ", ".join(f"{esc(k)}={esc(v)}" for k, v in state.settings.items() if v is not None)
    made = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return (
        f"<h1>exoextract run {esc(state.run_id)}</h1>"
        f"<p>{esc(state.run_dir)} · {esc(state.state)} · created {esc(state.created)} · "
        f"{state.total} rows of the input (candidates), {ok_rows} with features, on "
        f"{stars} stars · report made {made}</p>"
        f"<p class='small'>{settings}</p>{note}"
    )


def _run_section(state: RunStatus, table: pd.DataFrame, shown: list[tuple[str, str]]) -> str:
    parts = ["<h2 id='run'>The run</h2>"]
    if state.counts:
        parts.append(_figure("outcomes", figures.status_figure(state.counts), shown))
    if state.failures:
        rows = [
            [str(g.count), g.status, g.error_type, g.message[:240], ", ".join(g.targets)]
            for g in state.failures[:15]
        ]
        parts.append("<h3>Why targets did not succeed</h3>")
        parts.append(_table(["count", "status", "error", "message (example)", "targets"], rows))
    else:
        parts.append("<p>Every finished target succeeded.</p>")
    parts.append(_figure("seconds per star", figures.timing_figure(table), shown))
    parts.append(
        _figure("throughput", figures.throughput_figure(finished_over_time(state.run_dir)), shown)
    )
    return "\n".join(parts)


def _science_section(
    table: pd.DataFrame, by: pd.Series, label: str | None, shown: list[tuple[str, str]]
) -> str:
    parts = ["<h2 id='science'>The science</h2>"]
    if table.empty:
        parts.append("<p>No target has features yet.</p>")
        return "\n".join(parts)
    if label is None:
        parts.append(
            "<p class='small'>The input has no label column, so the targets are one group. "
            "Name the dispositions with <code>--label-column</code> to compare them.</p>"
        )
    parts.append(_figure("detection statistics", figures.detection_figure(table, by), shown))
    parts.append(_figure("period and depth", figures.period_depth_figure(table, by), shown))
    chosen = figures.separating_features(table, by)
    if chosen:
        parts.append(
            _figure(
                "features that separate the labels",
                figures.separation_figure(table, by, chosen),
                shown,
            )
        )
    elif label is not None:
        parts.append(
            "<p class='small'>Features that separate the labels: not drawn, fewer than two "
            "labels have five targets with features.</p>"
        )
    parts.append(_figure("flagged planet-like", figures.flagged_figure(table, by), shown))
    return "\n".join(parts)


def _signals_section(run_dir: Path, state: RunStatus) -> str:
    """Every signal of the stars with more than one: kinds, periods, flags and reasons."""
    path = run_dir / "signals.parquet"
    if state.features_path is None or not path.exists():
        return ""
    signals = pd.read_parquet(path)
    parts = ["<h2 id='signals'>Every signal</h2>"]
    if signals.empty:
        parts.append("<p>No star has a signal above the detection threshold.</p>")
        return "\n".join(parts)
    kinds = signals["signal_kind"].value_counts()
    per_star = signals.groupby("target_id").size()
    flagged = int((_numeric(signals, "vet_transit_like") == 1.0).sum())
    parts.append(
        f"<p>{len(signals)} signals on {len(per_star)} stars ("
        + ", ".join(f"{n} {esc(k)}" for k, n in kinds.items())
        + f"), {flagged} flagged planet-like; {int((per_star > 1).sum())} stars have more "
        "than one. The table lists those (signals.parquet has every one; "
        "<code>exoextract export RUN -o signals.csv --signals</code>).</p>"
    )
    several = signals[signals["target_id"].isin(per_star[per_star > 1].index)].head(60)
    columns = [  # heading, column, scale, decimals
        ("period [d]", "signal_period", 1.0, 5),
        ("depth [ppm]", "signal_depth", 1e6, 0),
        ("duration [h]", "signal_duration", 24.0, 1),
        ("SNR", "signal_snr", 1.0, 1),
        ("planet-like", "vet_transit_like", 1.0, 0),
    ]
    head = ["target", "#", "kind", *(c[0] for c in columns), "why"]
    if "candidate" in several:
        head.insert(1, "matches")
    rows = []
    for record in several.to_dict("records"):
        row = [str(record["target_id"])]
        if "candidate" in several:
            row.append(str(record.get("candidate") or ""))
        row += [str(record["signal"]), str(record["signal_kind"])]
        row += [_format(record.get(c), scale, digits) for _, c, scale, digits in columns]
        row.append(str(record.get("vet_reason") or "")[:120])
        rows.append(row)
    parts.append(_table(head, rows))
    return "\n".join(parts)


def _candidates_section(candidates: pd.DataFrame, sheets: dict[str, str]) -> str:
    parts = ["<h2 id='candidates'>The strongest candidates</h2>"]
    if candidates.empty:
        parts.append("<p>None yet.</p>")
        return "\n".join(parts)
    columns = [  # heading, column, scale, decimals
        ("period [d]", "tls_period", 1.0, 5),
        ("depth [ppm]", "vet_depth", 1e6, 0),
        ("duration [h]", "tls_duration", 24.0, 1),
        ("TLS SDE", "tls_sde", 1.0, 1),
        ("TLS SNR", "tls_snr", 1.0, 1),
        ("BLS SDE", "bls_sde", 1.0, 1),
        ("odd/even [sigma]", "vet_odd_even_sigma", 1.0, 1),
        ("planet-like", "vet_transit_like", 1.0, 0),
    ]
    head = ["target", "label", "the row is", *(c[0] for c in columns)]
    rows = []
    for record in candidates.to_dict("records"):
        key = str(record.get("candidate") or record.get("target_id"))
        name = esc(key)
        cell = f"<a href='#{_anchor(key)}'>{name}</a>" if key in sheets else name
        row = [cell, esc(record.get("label") if record.get("label") is not None else "")]
        row.append(esc(_what(record)))
        for _, column, scale, digits in columns:
            row.append(_format(record.get(column), scale, digits))
        rows.append(row)
    parts.append(_table(head, rows, escape=False))
    return "\n".join(parts)


def _what(record: Mapping[Any, Any]) -> str:
    """What a candidate row describes: its signal, or its catalog ephemeris."""
    match = record.get("match")
    number = record.get("match_signal")
    if match == "signal" and number is not None and math.isfinite(float(number)):
        return f"signal {int(number)}"
    return str(match or "")


def _sheets_section(images: dict[str, str], errors: list[str]) -> str:
    if not images and not errors:
        return (
            "<p class='small'>Diagnostic sheets: <code>exoextract report RUN --sheets 10</code> "
            "adds the top ten here; <code>exoextract plot RUN TARGET</code> draws one.</p>"
        )
    parts = ["<h2 id='sheets'>Diagnostic sheets</h2>"]
    for key, image in images.items():
        parts.append(
            f"<figure id='{_anchor(key)}'><img src='data:image/png;base64,{image}' "
            f"alt='diagnostic sheet of {esc(key)}'><figcaption>{esc(key)}</figcaption></figure>"
        )
    for error in errors:
        parts.append(f"<p class='warn'>{esc(error)}</p>")
    return "\n".join(parts)


def _sheets(
    run_dir: Path,
    candidates: pd.DataFrame,
    count: int,
    progress: Callable[[str], None] | None,
) -> tuple[dict[str, str], list[str]]:
    """Draw the sheets of the top ``count`` candidates; a star that cannot be drawn is
    reported on the page, not fatal."""
    from exoextract.report.sheet import draw_sheet, sheet_data

    images: dict[str, str] = {}
    errors: list[str] = []
    for record in candidates.head(count).to_dict("records"):
        key = str(record.get("candidate") or record.get("target_id"))
        if progress:
            progress(
                f"sheet {len(images) + len(errors) + 1} of {min(count, len(candidates))}: {key}"
            )
        try:
            images[key] = figures.png(draw_sheet(sheet_data(run_dir, key)), dpi=80)
        except ExoextractError as error:
            errors.append(f"no sheet for {key}: {error}")
    return images, errors


# ------------------------------------------------------------------ html
def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _anchor(key: str) -> str:
    return "sheet-" + "".join(ch if ch.isalnum() else "-" for ch in key)


def _format(value: Any, scale: float, digits: int) -> str:
    """``value * scale`` with ``digits`` decimals; empty when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(number):
        return ""
    return f"{number * scale:.{digits}f}"


def _figure(title: str, figure: Figure, shown: list[tuple[str, str]]) -> str:
    image = figures.png(figure)
    shown.append((title, image))
    return (
        f"<figure><img src='data:image/png;base64,{image}' alt='{esc(title)}'>"
        f"<figcaption>{esc(title)}</figcaption></figure>"
    )


def _table(head: list[str], rows: list[list[str]], escape: bool = True) -> str:
    def cell(value: str) -> str:
        return esc(value) if escape else value

    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; }
th { background: #f3f3f3; } td { font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } img { max-width: 100%; }
figcaption { font-size: 0.8em; color: #666; }
.small { font-size: 0.85em; color: #555; } .warn { color: #a40; }
"""


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
