"""The command line's options, declared once each and shared by the commands that take them,
and the one table from a flag to the setting it sets. Defaults in help texts are read from
the settings, where they are written once."""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer

from exoextract.settings import Settings

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}


def _default(name: str) -> Any:
    """A setting's default, for a help text (written once, in the settings)."""
    return _DEFAULTS[name]


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
