"""What the commands print: the run's outcome table, a run's status, the archive plan, the
cache report. Results and summaries go to stdout (``out``), warnings to stderr (``err``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

# Tables keep their columns in logs and notebooks' shell cells (not terminals, 80 by default).
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _render_run(result: Any) -> None:
    title = f"exoextract run {result.run_id}"
    out.print(_outcome_table(title, result.star_counts, result.counts, result.stars, result.total))
    out.print(
        f"stars computed now: {result.computed}, already done: "
        f"{result.stars_previously_done}, {result.elapsed:.1f} s, {result.workers} worker(s)"
    )
    if result.sequential_fallback:
        out.print("the pool stalled repeatedly; the run finished in sequential fallback")
    elif result.rebuilds:
        out.print(f"the pool stalled and was rebuilt {result.rebuilds} time(s)")
    if result.failures:
        fails = Table(title="targets that did not succeed (first 10)")
        for name in ("target", "status", "error", "message"):
            fails.add_column(name, overflow="fold")
        for f in result.failures[:10]:
            fails.add_row(
                str(f["target_id"]),
                f["status"],
                str(f["error_type"] or ""),
                str(f["message"] or "")[:160],
            )
        out.print(fails)
    for warning in result.warnings[:20]:
        err.print(f"warning: {warning}")
    if result.features_path:
        out.print(f"features: {result.features_path}")
        out.print(f"failures: {result.failures_path}")


def _outcome_table(
    title: str,
    stars: dict[str, int],
    rows: dict[str, int],
    star_total: int = 0,
    row_total: int = 0,
) -> Table:
    """Outcomes counted in stars (the work) and in rows (the table's candidates), apart
    (one column where every star is one row), with a row for what has not finished."""
    stars, rows = dict(stars), dict(rows)
    star_total = star_total or sum(stars.values())
    row_total = row_total or sum(rows.values())
    if star_total > sum(stars.values()) or row_total > sum(rows.values()):
        stars["not finished"] = star_total - sum(stars.values())
        rows["not finished"] = row_total - sum(rows.values())
    columns: list[tuple[str, dict[str, int], int]] = []
    if star_total:
        columns.append(("stars", stars, star_total))
    if not star_total or stars != rows:
        columns.append(("rows (candidates)" if star_total else "rows", rows, row_total))
    table = Table(title=title, show_header=True)
    table.add_column("status")
    for name, _, _ in columns:
        table.add_column(name, justify="right")
    order = sorted(set(stars) | set(rows), key=lambda s: (s != "ok", s == "not finished", s))
    for status in order:
        table.add_row(status, *(str(counts.get(status, 0)) for _, counts, _ in columns))
    table.add_row("total", *(str(total) for _, _, total in columns))
    return table


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _render_status(state: Any) -> None:
    live = {
        "running": f"running (pid {state.pid})",
        "stopped": f"stopped: its process (pid {state.pid}) is gone without finishing",
    }.get(state.state, state.state)
    out.print(f"run {state.run_id} in {state.run_dir}: {live}", markup=False)
    stars_done = sum(state.star_counts.values())
    share = 100.0 * stars_done / state.stars if state.stars else 100.0
    line = f"stars: {stars_done} done, {state.stars - stars_done} left of {state.stars} "
    line += f"({share:.0f} %); rows (candidates): {state.done} of {state.total}"
    out.print(line)
    if state.rate_per_minute is not None:
        line = f"rate: {state.rate_per_minute:.1f} stars/min over the last session"
        if state.eta_seconds is not None:
            line += f", about {_duration(state.eta_seconds)} left"
        out.print(line)
    if state.counts:
        out.print(
            _outcome_table("outcomes", state.star_counts, state.counts, state.stars, state.total)
        )
    if state.failures:
        table = Table(title="why targets did not succeed (largest groups first)")
        for name in ("count", "status", "error", "message (example)", "targets"):
            table.add_column(name, overflow="fold")
        for group in state.failures[:10]:
            table.add_row(
                str(group.count),
                group.status,
                group.error_type,
                group.message[:160],
                ", ".join(group.targets) + (" ..." if group.count > len(group.targets) else ""),
            )
        out.print(table)
    settings = ", ".join(f"{k}={v}" for k, v in state.settings.items() if v not in (None, ""))
    out.print(f"settings: {settings}", markup=False)
    if state.features_path:
        out.print(f"features: {state.features_path}", markup=False)
    if state.resume_command:
        out.print(f"next: {state.resume_command}", markup=False)


def _render_plan(inventory: Any, targets: Path, urls: Path | None) -> None:
    found, missing = inventory.found, inventory.not_found
    out.print(
        f"{targets}: {len(inventory.stars)} stars; {len(found)} found in the archive, "
        f"{len(missing)} not",
        markup=False,
    )
    table = Table(title="files by mission")
    for name in ("mission", "stars", "files", "GB", "to download", "GB to download"):
        table.add_column(name, justify="right" if name != "mission" else "left")
    for mission, row in inventory.per_mission().items():
        table.add_row(
            mission,
            f"{row['stars']:.0f}",
            f"{row['files']:.0f}",
            f"{row['bytes'] / 1e9:.2f}",
            f"{row['files_to_fetch']:.0f}",
            f"{row['bytes_to_fetch'] / 1e9:.2f}",
        )
    out.print(table)
    if missing:
        reasons = Table(title="not found (by reason)")
        reasons.add_column("stars", justify="right")
        reasons.add_column("reason", overflow="fold")
        reasons.add_column("e.g.", overflow="fold")
        for reason, n in inventory.reasons().most_common(10):
            example = next(
                s.target_id for s in missing if reason.split("…")[0] in (s.missing or "")
            )
            reasons.add_row(str(n), reason, example)
        out.print(reasons)
    line = (
        f"archive: {inventory.api_calls} requests for {inventory.searched} stars searched in "
        f"{inventory.search_seconds:.1f} s ({inventory.seconds_per_call:.2f} s each, "
        f"{inventory.connections} at a time)"
    )
    if inventory.searched < len(inventory.stars):
        line += f"; {len(inventory.stars) - inventory.searched} had a fresh answer in the cache"
    out.print(line, markup=False)
    download = inventory.download_seconds()
    if inventory.transfer is not None:
        t = inventory.transfer
        out.print(
            f"measured: {t.filename} ({t.size / 1e6:.2f} MB) in {t.seconds:.2f} s", markup=False
        )
    line = "estimate: downloads "
    line += "not measured" if download is None else f"about {_duration(download)}"
    line += (
        f" at {inventory.connections} connection(s) (--max-downloads), compute about "
        f"{_duration(inventory.compute_seconds())} on {inventory.workers} worker(s); "
        "a run overlaps them"
    )
    out.print(line, markup=False)
    out.print(_disk_line(inventory), markup=False)
    for warning in inventory.warnings[:20]:
        err.print(f"warning: {warning}", markup=False)
    if urls is not None:
        out.print(f"urls: {urls}", markup=False)


def _disk_line(inventory: Any) -> str:
    needed = inventory.disk_needed() / 1e9
    if inventory.keep_files:
        line = f"disk: {needed:.2f} GB more in the cache, kept (--no-keep-files: only the "
        line += f"stars in flight, at most {inventory.in_flight} at once)"
    else:
        line = f"disk: at most {needed:.2f} GB in the cache at once (--no-keep-files: "
        line += f"the {inventory.in_flight} biggest stars, in flight at once)"
    fits = inventory.disk_fits()
    if fits is not None:
        free = inventory.disk_free / 1e9
        line += f"; {free:.1f} GB free there" + ("" if fits else " — NOT ENOUGH")
        if not fits and inventory.keep_files:
            line += ": run with --no-keep-files or another --cache-dir"
    return line


def _render_cache(report: Any) -> None:
    verb = "would remove" if report.dry_run else "removed"
    out.print(f"cache: {', '.join(str(d) for d in report.dirs)}")
    if report.wiped:
        out.print(f"deleted {len(report.removed)} files ({report.freed_bytes / 1e6:.1f} MB)")
        return
    if report.bad:
        table = Table(title=f"broken files ({verb})")
        table.add_column("file", overflow="fold")
        table.add_column("bytes", justify="right")
        table.add_column("problem", overflow="fold")
        for c in report.bad:
            table.add_row(str(c.path), str(c.size), c.problem)
        out.print(table)
    for c in report.noted:
        out.print(f"kept {c.path}: {c.note}")
    out.print(
        f"checked {report.checked} files, {len(report.bad)} broken, "
        f"{verb} {len(report.bad) if report.dry_run else len(report.removed)}"
    )
