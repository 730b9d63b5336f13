"""The command line: parse options, call one library function, render its result.

Exit codes: 0 the run is complete (every target has an outcome, failed ones included);
1 ``--strict`` and some targets did not succeed; 2 bad input, options or run folder;
3 a checkpoint could not be written; 4 the run ended incomplete; 130 / 143 stopped by
Ctrl-C / SIGTERM after checkpointing (resume it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from exoextract import __version__
from exoextract.errors import ExoextractError, InputError
from exoextract.settings import SEARCH_MODES, SOURCES, Settings, load_settings

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}


def _default(name: str) -> Any:
    """A setting's default, for a help text (written once, in the settings)."""
    return _DEFAULTS[name]


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
# Tables keep their columns in logs and notebooks' shell cells (not terminals, 80 by default).
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, soft_wrap=True)

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
PANEL_TARGETS = "Targets and catalog columns"
PANEL_ARCHIVE = "Light curves and archive"
PANEL_EXECUTION = "Execution"
PANEL_SEARCH = "Search and features"
PANEL_OUTPUT = "Output"

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", rich_help_panel=PANEL_EXECUTION, help="TOML settings file."),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(rich_help_panel=PANEL_EXECUTION, help="Worker processes (0 = from CPUs/memory)."),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        rich_help_panel=PANEL_EXECUTION, help="Seconds per target before its worker is killed."
    ),
]
RetriesOpt = Annotated[
    int | None,
    typer.Option(rich_help_panel=PANEL_EXECUTION, help="Extra attempts for transient failures."),
]
MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory-per-worker",
        rich_help_panel=PANEL_EXECUTION,
        help="Resident memory cap per worker, e.g. 3GB.",
    ),
]
TasksOpt = Annotated[
    int | None,
    typer.Option(
        "--max-tasks-per-worker",
        rich_help_panel=PANEL_EXECUTION,
        help="Recycle a worker after this many targets.",
    ),
]
ChunkOpt = Annotated[
    int | None, typer.Option(rich_help_panel=PANEL_EXECUTION, help="Targets per checkpoint file.")
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", rich_help_panel=PANEL_OUTPUT, metavar="", help="Print a machine-readable summary."
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        rich_help_panel=PANEL_OUTPUT,
        metavar="",
        help="Exit 1 if any target did not succeed.",
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", rich_help_panel=PANEL_OUTPUT, metavar="", help="No progress output."
    ),
]
LogFileOpt = Annotated[
    Path | None,
    typer.Option(
        rich_help_panel=PANEL_OUTPUT,
        help="Append timestamped progress, failures and the result to this file.",
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(rich_help_panel=PANEL_ARCHIVE, help="Folder with archive-named FITS files."),
]
MissionOpt = Annotated[
    str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Mission of bare ids.")
]
IdColumnOpt = Annotated[
    str | None, typer.Option(rich_help_panel=PANEL_TARGETS, help="Column with the star id.")
]
AuthorOpt = Annotated[
    str | None,
    typer.Option(rich_help_panel=PANEL_ARCHIVE, help="MAST pipeline: Kepler, K2, SPOC, QLP..."),
]
SegmentsOpt = Annotated[
    str | None,
    typer.Option(
        rich_help_panel=PANEL_ARCHIVE,
        help="Quarters, campaigns or sectors to download, e.g. 3,4,5.",
    ),
]
ExptimeOpt = Annotated[
    str | None,
    typer.Option(
        rich_help_panel=PANEL_ARCHIVE, help="MAST exposure: long, short, fast or seconds."
    ),
]
MastUrlOpt = Annotated[
    str | None,
    typer.Option(
        rich_help_panel=PANEL_ARCHIVE,
        help="MAST mirror, e.g. http://127.0.0.1:8080 (or EXOEXTRACT_MAST_URL).",
    ),
]
DownloadsOpt = Annotated[
    int | None,
    typer.Option(
        rich_help_panel=PANEL_ARCHIVE,
        help=f"Concurrent archive connections (default {_default('max_downloads')}), "
        "whatever --workers is.",
    ),
]
OfflineOpt = Annotated[
    bool | None,
    typer.Option(
        "--offline",
        rich_help_panel=PANEL_ARCHIVE,
        metavar="",
        help="Use only the lightkurve cache and --data-dir; no network.",
    ),
]
ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        rich_help_panel=PANEL_EXECUTION,
        help="local (process pool, default) or dask (a Dask cluster).",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        rich_help_panel=PANEL_EXECUTION,
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (or EXOEXTRACT_SCHEDULER); "
        "without it --executor dask starts a local cluster of --workers processes.",
    ),
]
KeepFilesOpt = Annotated[
    bool | None,
    typer.Option(
        "--keep-files/--no-keep-files",
        rich_help_panel=PANEL_ARCHIVE,
        metavar="",
        show_default=False,
        help="Keep downloads in the cache (default), or delete a star's files once it is "
        "checkpointed: the cache holds only the stars in flight.",
    ),
]
CacheDirOpt = Annotated[
    Path | None, typer.Option(rich_help_panel=PANEL_ARCHIVE, help="lightkurve cache folder.")
]


# A flag named otherwise than the setting it sets; every other flag named as a setting sets
# that setting (the settings' own names and docs: load_settings, the settings reference).
FLAG_SETTINGS: dict[str, tuple[str, ...]] = {
    "author": ("mast_author",),
    "exptime": ("mast_exptime",),
    "segments": ("mast_segments",),
    "stats": ("run_stats",),
    "bls": ("run_bls",),
    "tls": ("run_tls",),
    "search": ("bls_mode", "tls_mode"),  # one flag for the two searches' depth
    "extra_feature": ("extra_features",),
}
SETTING_NAMES = frozenset(f.name for f in fields(Settings))


def _settings_from_flags(flags: dict[str, Any], **fixed: Any) -> dict[str, Any]:
    """The settings a command's flags set (``fixed`` beside them): paths as text, repeated
    flags as tuples; a flag not given (None, an empty list) leaves the config's value."""
    out = dict(fixed)
    for flag, value in flags.items():
        if value is None or (isinstance(value, list) and not value):
            continue
        for name in FLAG_SETTINGS.get(flag, (flag,)):
            if name in SETTING_NAMES:
                out[name] = (
                    str(value) if isinstance(value, Path)
                    else tuple(value) if isinstance(value, list)
                    else value
                )  # fmt: skip
    return out


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
    """A one-page diagnostic sheet of one star, recomputed from its light curve."""
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
def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


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


@app.command("features", cls=_Command)
def features_cmd() -> None:
    """Print the feature reference: every output column, its unit and meaning (markdown)."""
    from exoextract.features.reference import render

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
