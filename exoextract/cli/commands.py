"""The commands: each parses its options (:mod:`exoextract.cli.options`), calls one
library function and renders its result (:mod:`exoextract.cli.render`). Errors a user can
cause are one line and their exit code (the README's table: 2 bad input, 3 a checkpoint not
written, 4 incomplete, 5 check, 6 nothing succeeded, 7 archive unreachable); anything else
is a crash, 70, with its traceback."""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from exoextract import __version__
from exoextract.cli.options import (
    PANEL_ARCHIVE,
    PANEL_EXECUTION,
    PANEL_OUTPUT,
    PANEL_SEARCH,
    PANEL_TARGETS,
    AuthorOpt,
    CacheDirOpt,
    ChunkOpt,
    ConfigOpt,
    DataDirOpt,
    DownloadsOpt,
    ExecutorOpt,
    ExptimeOpt,
    IdColumnOpt,
    JsonOpt,
    KeepFilesOpt,
    LogFileOpt,
    MastUrlOpt,
    MemoryOpt,
    MissionOpt,
    OfflineOpt,
    QuietOpt,
    RetriesOpt,
    SchedulerOpt,
    SegmentsOpt,
    StrictOpt,
    TasksOpt,
    TimeoutOpt,
    WorkersOpt,
    _default,
    _settings_from_flags,
)
from exoextract.cli.render import (
    _fmt,
    _render_cache,
    _render_plan,
    _render_run,
    _render_status,
    err,
    out,
)
from exoextract.errors import ExoextractError, InputError
from exoextract.run.mainguard import workers_skip_the_script
from exoextract.settings import SEARCH_MODES, SOURCES, load_settings


class _Command(typer.core.TyperCommand):
    """A command whose --help flag shows no value placeholder (it takes none)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class _Group(typer.core.TyperGroup):
    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


app = typer.Typer(
    name="exoextract",
    cls=_Group,
    help="Turn a list of stars into a table of light-curve features, without losing work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_STRICT = 1
EXIT_INCOMPLETE = 4
EXIT_CHECK = 5
EXIT_NOTHING = 6  # the run is complete and no target succeeded
EXIT_ARCHIVE = 7  # the archive could not be reached (plan)
EXIT_CRASH = 70  # a bug: an exception exoextract did not expect (sysexits' EX_SOFTWARE)


def _user_errors(function: Callable[..., None]) -> Callable[..., None]:
    """User errors become 'Error: what — what to do' on stderr and their exit code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except ExoextractError as error:
            err.print(f"Error: {error}", markup=False)
            raise typer.Exit(error.exit_code) from None

    return wrapper


# ------------------------------------------------------------------ shared options
def _progress(quiet: bool, interval: float, log_file: Path | None = None) -> Any:
    from exoextract.run.progress import FileProgress, TeeProgress, auto_progress

    shown = auto_progress(interval=interval, quiet=quiet)
    if log_file is None:
        return shown
    return TeeProgress(shown, FileProgress(log_file, interval))


def _log_result(progress: Any, result: Any) -> None:
    """The run's result as the log file's last line."""
    from exoextract.run.progress import FileProgress

    for report in getattr(progress, "reports", ()):
        if isinstance(report, FileProgress):
            stars = result.star_counts or result.counts
            counts = ", ".join(f"{s} {n}" for s, n in sorted(stars.items()))
            state = "complete" if result.complete else "incomplete"
            if result.interrupted_by:
                state = f"stopped by signal {result.interrupted_by}"
            of = f"{result.stars or result.total} stars"
            if result.stars and result.total != result.stars:
                of += f" ({result.total} candidates)"
            report.write(f"run {state}: {counts} of {of} in {result.run_dir}")
            report.close()


# ------------------------------------------------------------------ commands
@app.command(cls=_Command)
@_user_errors
def run(
    targets: Annotated[Path, typer.Argument(help="Target CSV (KIC/TIC/EPIC ids).")],
    mission: MissionOpt = None,
    id_column: IdColumnOpt = None,
    candidate_column: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Column naming candidates.")
    ] = None,
    period_column: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Column with known periods.")
    ] = None,
    t0_column: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Column with known epochs.")
    ] = None,
    duration_column: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Column with durations.")
    ] = None,
    depth_column: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Column with depths.")
    ] = None,
    label_column: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Column with dispositions.")
    ] = None,
    t0_system: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="BJD, BTJD, BKJD or mission.")
    ] = None,
    duration_unit: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="h or d.")
    ] = None,
    depth_unit: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="ppm, percent or fraction.")
    ] = None,
    skip_bad_rows: Annotated[
        bool | None,
        typer.Option(
            "--skip-bad-rows",
            rich_help_panel=PANEL_TARGETS,
            metavar="",
            help="Skip and list rows with unreadable ids.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(rich_help_panel=PANEL_ARCHIVE, help=f"{', '.join(SOURCES)}."),
    ] = None,
    data_dir: DataDirOpt = None,
    author: AuthorOpt = None,
    segments: SegmentsOpt = None,
    exptime: ExptimeOpt = None,
    mast_url: MastUrlOpt = None,
    max_downloads: DownloadsOpt = None,
    offline: OfflineOpt = None,
    cache_dir: CacheDirOpt = None,
    keep_files: KeepFilesOpt = None,
    config: ConfigOpt = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    max_memory_per_worker: MemoryOpt = None,
    max_tasks_per_worker: TasksOpt = None,
    chunk_size: ChunkOpt = None,
    schedule: Annotated[
        str | None,
        typer.Option(
            rich_help_panel=PANEL_EXECUTION,
            help="biggest-first (default, where file sizes are known) or input order.",
        ),
    ] = None,
    stats: Annotated[
        bool | None,
        typer.Option(
            "--stats/--no-stats", rich_help_panel=PANEL_SEARCH, metavar="", help="Statistics."
        ),
    ] = None,
    bls: Annotated[
        bool | None,
        typer.Option(
            "--bls/--no-bls", rich_help_panel=PANEL_SEARCH, metavar="", help="Box Least Squares."
        ),
    ] = None,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            rich_help_panel=PANEL_SEARCH,
            metavar="",
            help="Transit Least Squares.",
        ),
    ] = None,
    max_signals: Annotated[
        int | None,
        typer.Option(
            min=1,
            rich_help_panel=PANEL_SEARCH,
            help=f"Signals kept per star in signals.parquet (default {_default('max_signals')}; "
            "1: the strongest only).",
        ),
    ] = None,
    period_min: Annotated[
        float | None,
        typer.Option(rich_help_panel=PANEL_SEARCH, help="Shortest trial period, days."),
    ] = None,
    period_max: Annotated[
        float | None, typer.Option(rich_help_panel=PANEL_SEARCH, help="Longest trial period, days.")
    ] = None,
    tls_backend: Annotated[
        str | None, typer.Option(rich_help_panel=PANEL_SEARCH, help="TLS search backend.")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            rich_help_panel=PANEL_SEARCH,
            help="fast (default): fold-based search, BLS and TLS refine its peaks; "
            "full: 0.1's exhaustive BLS and TLS over every period (slow on long baselines).",
        ),
    ] = None,
    extra_feature: Annotated[
        list[str] | None,
        typer.Option(rich_help_panel=PANEL_SEARCH, help="Plugin 'module:function' (repeatable)."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", rich_help_panel=PANEL_OUTPUT, help="Run folder.")
    ] = None,
    json_out: JsonOpt = False,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    log_file: LogFileOpt = None,
) -> None:
    """Extract features for every target in a CSV, checkpointing as it goes."""
    flags = dict(locals())
    if search is not None and search not in SEARCH_MODES:  # one flag for two settings
        raise InputError(f"unknown --search {search!r} — use one of: {', '.join(SEARCH_MODES)}")
    overrides = _settings_from_flags(flags)
    settings = load_settings(config, overrides)
    from exoextract.execution.policy import warm_workers, workers_note

    note = workers_note(settings)
    if note:
        err.print(f"warning: {note}", markup=False)
    warm_workers(settings)  # the workers' imports load while this process imports the runner
    from exoextract.run.runner import start_run

    progress = _progress(quiet or json_out, settings.progress_interval, log_file)
    result = start_run(targets, settings, out_dir=out_dir, progress=progress)
    _log_result(progress, result)
    _finish(result, json_out, strict)


@app.command(cls=_Command)
@_user_errors
def plan(
    targets: Annotated[Path, typer.Argument(help="Target CSV (KIC/TIC/EPIC ids).")],
    config: ConfigOpt = None,
    mission: MissionOpt = None,
    id_column: IdColumnOpt = None,
    author: AuthorOpt = None,
    segments: SegmentsOpt = None,
    exptime: ExptimeOpt = None,
    mast_url: MastUrlOpt = None,
    max_downloads: DownloadsOpt = None,
    search_batch: Annotated[
        int | None,
        typer.Option(
            rich_help_panel=PANEL_ARCHIVE,
            help=f"Targets per archive search (default {_default('search_batch')}).",
        ),
    ] = None,
    cache_dir: CacheDirOpt = None,
    keep_files: KeepFilesOpt = None,
    workers: WorkersOpt = None,
    urls: Annotated[
        Path | None,
        typer.Option(
            rich_help_panel=PANEL_OUTPUT,
            help="Write the download address of every file not yet cached here.",
        ),
    ] = None,
    no_measure: Annotated[
        bool,
        typer.Option(
            "--no-measure",
            rich_help_panel=PANEL_ARCHIVE,
            metavar="",
            help="Skip timing one download (the smallest missing file) for the estimate.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """What a run of this CSV would fetch from the archive, and how long it would take."""
    flags = dict(locals())
    from exoextract.run.archive_plan import archive_plan

    overrides = _settings_from_flags(flags, source="mast")
    settings = load_settings(config, overrides)
    inventory = archive_plan(targets, settings, measure=not no_measure, urls=urls)
    if json_out:
        out.print_json(json.dumps(inventory.to_dict(), default=str))
        return
    _render_plan(inventory, targets, urls)


@app.command(cls=_Command)
@_user_errors
def resume(
    run_dir: Annotated[Path | None, typer.Argument(help="Run folder (default: latest).")] = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = None,
    scheduler: SchedulerOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    max_memory_per_worker: MemoryOpt = None,
    max_tasks_per_worker: TasksOpt = None,
    chunk_size: ChunkOpt = None,
    data_dir: DataDirOpt = None,
    mast_url: MastUrlOpt = None,
    max_downloads: DownloadsOpt = None,
    offline: OfflineOpt = None,
    keep_files: KeepFilesOpt = None,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            rich_help_panel=PANEL_EXECUTION,
            metavar="",
            help="Also run again targets that failed, timed out or crashed.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            rich_help_panel=PANEL_EXECUTION,
            metavar="",
            help="Resume even if the input file or result settings changed.",
        ),
    ] = False,
    json_out: JsonOpt = False,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    log_file: LogFileOpt = None,
) -> None:
    """Continue a run after a crash, Ctrl-C or a dead notebook; nothing is done twice."""
    flags = dict(locals())
    from exoextract.run.runner import resume_run

    overrides = _settings_from_flags(flags)
    progress = _progress(quiet or json_out, 10.0, log_file)
    result = resume_run(
        run_dir, overrides, force=force, retry_failed=retry_failed, progress=progress
    )
    _log_result(progress, result)
    _finish(result, json_out, strict)


@app.command(cls=_Command)
@_user_errors
def status(
    run_dir: Annotated[Path | None, typer.Argument(help="Run folder (default: latest).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """How a run stands, while it goes or after: done and left, failures by reason, ETA."""
    from exoextract.run.runner import latest_run
    from exoextract.run.status import run_status

    state = run_status(run_dir or latest_run(Path("runs"), "status"))
    if json_out:
        out.print_json(json.dumps(state.to_dict(), default=str))
        return
    _render_status(state)


@app.command(cls=_Command)
@_user_errors
def export(
    run_dir: Annotated[Path, typer.Argument(help="A finished run folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.csv, .parquet).")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: from the suffix).")
    ] = None,
    include_failures: Annotated[
        bool,
        typer.Option(
            "--include-failures",
            metavar="",
            help="Add the targets that did not succeed, with their status.",
        ),
    ] = False,
    signals: Annotated[
        bool,
        typer.Option(
            "--signals",
            metavar="",
            help="Export the signals table instead: one row per signal of each star.",
        ),
    ] = False,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Feature families to keep, e.g. bls,tls,vet (identity, label and catalog "
            "columns are always kept)."
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            metavar="",
            help="A run that is not complete: export the stars it has finished.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write a finished run's features (or --signals), labels and catalog columns to a file."""
    from exoextract.run.export import export_run

    groups = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    done = export_run(run_dir, output, fmt, include_failures, groups, signals, partial)
    if json_out:
        out.print_json(json.dumps({**vars(done), "path": str(done.path)}))
        return
    out.print(
        f"wrote {done.rows} rows x {done.columns} columns ({done.failures} failures) "
        f"to {done.path} ({done.format})",
        markup=False,
    )


@app.command(cls=_Command)
@_user_errors
def check(
    run_dir: Annotated[Path | None, typer.Argument(help="Run folder (default: latest).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a finished run's tables: each row is its candidate, each signal agrees with itself."""
    from exoextract.run.check import SHOWN, check_run
    from exoextract.run.runner import latest_run

    done = check_run(run_dir or latest_run(Path("runs"), "check"))
    if json_out:
        out.print_json(json.dumps({**vars(done), "run_dir": str(done.run_dir), "ok": done.ok}))
    elif done.ok:
        out.print(
            f"{done.run_dir}: {done.rows} rows and {done.signals} signals keep every invariant",
            markup=False,
        )
    else:
        out.print(
            f"{done.run_dir}: {len(done.problems)} problem(s) in {done.rows} rows and "
            f"{done.signals} signals:",
            markup=False,
        )
        for problem in done.problems[:SHOWN]:
            out.print(f"  {problem}", markup=False)
    if not done.ok:
        raise typer.Exit(EXIT_CHECK)


@app.command(cls=_Command)
@_user_errors
def report(
    run_dir: Annotated[Path | None, typer.Argument(help="Run folder (default: latest).")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file (default RUN/report.html).")
    ] = None,
    sheets: Annotated[
        int, typer.Option(min=0, help="Add the diagnostic sheets of the top N candidates.")
    ] = 0,
) -> None:
    """One self-contained HTML page: outcomes, failures, timing, the science by label."""
    from exoextract.report.page import build_report
    from exoextract.run.runner import latest_run

    def note(message: str) -> None:
        err.print(message, markup=False)

    run_dir = run_dir or latest_run(Path("runs"), "report")
    done = build_report(run_dir, output, sheets, progress=note)
    for problem in done.sheet_errors:
        err.print(f"warning: {problem}", markup=False)
    out.print(
        f"report: {done.path} ({done.targets} targets, {done.figures} figures, "
        f"{len(done.sheets)} sheets, {done.seconds:.1f} s)",
        markup=False,
    )


@app.command(cls=_Command)
@_user_errors
def plot(
    run_dir: Annotated[Path, typer.Argument(help="Run folder.")],
    target: Annotated[str, typer.Argument(help="Target id or candidate, e.g. 'TIC 100'.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="PNG file (default RUN/sheets/TARGET.png)."),
    ] = None,
    signal: Annotated[
        int | None, typer.Option(min=1, help="Fold on the star's signal N (signals.parquet).")
    ] = None,
) -> None:
    """A one-page diagnostic sheet of one star: its light curve redrawn, the run's numbers."""
    from exoextract.report.sheet import default_path, draw_sheet, sheet_data, write_sheet

    data = sheet_data(run_dir, target, signal)
    path = write_sheet(draw_sheet(data), output or default_path(run_dir, data.name))
    out.print(f"sheet: {path}", markup=False)


@app.command("clean-cache", cls=_Command)
@_user_errors
def clean_cache_cmd(
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder (default: lightkurve's).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", metavar="", help="Only report; remove nothing.")
    ] = False,
    wipe: Annotated[
        bool, typer.Option("--all", metavar="", help="Delete the whole cache.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", metavar="", help="Do not ask before --all.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Find zero-byte and corrupt FITS files in lightkurve's cache and remove only those."""
    from exoextract.lightcurves.cache import clean_cache, lightkurve_cache_dirs, wipe_cache

    if wipe and not dry_run:
        dirs = ", ".join(str(d) for d in lightkurve_cache_dirs(cache_dir))
        if not yes:
            if not sys.stdin.isatty():
                raise InputError(
                    "--all deletes the whole cache; add --yes to confirm when not at a terminal"
                )
            typer.confirm(f"Delete everything in {dirs}?", abort=True)
        report = wipe_cache(cache_dir)
    elif wipe:
        report = wipe_cache(cache_dir, dry_run=True)
    else:
        report = clean_cache(cache_dir, dry_run=dry_run)
    if json_out:
        out.print_json(
            json.dumps(
                {
                    "dirs": [str(d) for d in report.dirs],
                    "checked": report.checked,
                    "bad": [
                        {"path": str(c.path), "size": c.size, "problem": c.problem}
                        for c in report.bad
                    ],
                    "removed": [str(p) for p in report.removed],
                    "dry_run": report.dry_run,
                    "wiped": report.wiped,
                    "freed_bytes": report.freed_bytes,
                }
            )
        )
        return
    _render_cache(report)


@app.command(cls=_Command)
@_user_errors
def demo(
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", rich_help_panel=PANEL_OUTPUT, help="Run folder.")
    ] = None,
    stars: Annotated[int, typer.Option(min=1, max=20, help="How many stars (max 20).")] = 20,
    workers: WorkersOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run the real pipeline on synthetic stars written as archive FITS files (offline)."""
    from exoextract.cli.demo import run_demo

    settings = load_settings(None, {"workers": workers})
    result = run_demo(
        out_dir,
        settings,
        n=stars,
        progress=_progress(quiet or json_out, settings.progress_interval),
    )
    if json_out:
        out.print_json(json.dumps(result.to_dict(), default=str))
    else:
        table = Table(title="Injected versus found (periods in days)")
        table.add_column("target", no_wrap=True)
        for name in ("kind", "injected", "TLS", "BLS", "SDE", "flag", "recovered"):
            table.add_column(name, no_wrap=True)
        for s in result.stars:
            flag = s["transit_like"]
            table.add_row(
                s["target_id"],
                s["kind"],
                _fmt(s["injected_period"]),
                _fmt(s["tls_period"]),
                _fmt(s["bls_period"]),
                _fmt(s["tls_sde"], 1),
                "-" if flag is None else ("planet-like" if flag else "no"),
                "yes" if s["recovered"] else ("-" if s["injected_period"] is None else "no"),
            )
        out.print(table)
        out.print(
            f"recovered {result.recovered} of {result.with_signal} injected signals "
            "(eclipsing binaries count at P or P/2)"
        )
        _render_run(result.run)
    _exit_code(result.run, strict=False)


# ------------------------------------------------------------------ rendering
def _finish(result: Any, json_out: bool, strict: bool) -> None:
    if json_out:
        out.print_json(json.dumps(result.to_dict(), default=str))
    else:
        _render_run(result)
    _exit_code(result, strict)


def _exit_code(result: Any, strict: bool) -> None:
    if result.interrupted_by:
        err.print(
            f"stopped; finished targets are saved. resume with: exoextract resume {result.run_dir}"
        )
        raise typer.Exit(128 + result.interrupted_by)
    if not result.complete:
        err.print(
            f"Error: the run ended incomplete — resume with: exoextract resume {result.run_dir}"
        )
        raise typer.Exit(EXIT_INCOMPLETE)
    if result.total and not result.ok:
        err.print(f"Error: {_nothing_succeeded(result)}", markup=False)
        raise typer.Exit(EXIT_NOTHING)
    if strict and result.not_ok:
        raise typer.Exit(EXIT_STRICT)


def _nothing_succeeded(result: Any) -> str:
    """One line on a run where every target failed: the commonest reason, what to check."""
    reasons = Counter(
        (str(f.get("status")), str(f.get("error_type") or "")) for f in result.failures
    )
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts.items()))
    line = f"no target succeeded ({counts})"
    if not reasons:
        return line + f" — see: exoextract status {result.run_dir}"
    (status, kind), _ = reasons.most_common(1)[0]
    example = next(
        f for f in result.failures if (f.get("status"), f.get("error_type") or "") == (status, kind)
    )
    message = str(example.get("message") or "").splitlines()[0][:160] if example else ""
    line += f"; most: {status}"
    line += f" ({kind}: {message})" if kind else f" ({message})"
    if kind == "TransientError" or "ConnectionError" in message:
        line += " — the archive could not be reached: check the network or --mast-url"
    elif status == "no_data":
        line += " — no light curve was found: check --source and --data-dir (or the ids)"
    else:
        line += f" — see: exoextract status {result.run_dir}"
    return line


@app.command("features", cls=_Command)
def features_cmd() -> None:
    """Print the feature reference: every output column, its unit and meaning (markdown)."""
    from exoextract.cli.reference import render

    out.print(render(), markup=False, highlight=False)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"exoextract {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            metavar="",
            help="Show the version.",
        ),
    ] = False,
) -> None:
    """exoextract: light-curve features for exoplanet classifiers, crash-proof."""


def main() -> None:
    """Console entry point."""
    workers_skip_the_script()
    try:
        code = app(standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        err.print("Error: interrupted before any work was checkpointed — start it again")
        sys.exit(130)
    except typer.TyperException as error:  # usage errors: typer already formats them
        err.print(f"Error: {error.format_message()}", markup=False)
        sys.exit(error.exit_code)
    except Exception as error:  # a bug: its traceback for the report, its own exit code
        traceback.print_exc()
        first = (str(error).splitlines() or [""])[0][:200]
        err.print(
            f"Error: exoextract crashed ({type(error).__name__}: {first}) — a bug, not your "
            "input; checkpointed work is kept (exoextract resume); please report it with the "
            f"traceback above (exit {EXIT_CRASH})",
            markup=False,
        )
        sys.exit(EXIT_CRASH)
    sys.exit(code if isinstance(code, int) else 0)
