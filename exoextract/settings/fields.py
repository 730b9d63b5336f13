"""The settings object: the registry of sources, the allowed values, every field with its
TOML section, its documentation and whether it changes results, and the checks a new
object must pass."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from exoextract import catalogs
from exoextract.errors import InputError

# The registry of light-curve sources: each name, and the module that implements it
# (:func:`exoextract.sources.get_source` imports it). Adding a source is one line here.
SOURCES: Mapping[str, str] = {
    "local": "exoextract.sources.local",
    "synthetic": "exoextract.sources.synthetic",
    "mast": "exoextract.sources.mast",
}
MISSIONS = ("Kepler", "K2", "TESS")
TLS_BACKENDS = ("fused-pl", "fused", "fused-binned", "numba")
SEARCH_MODES = ("fast", "full")
SCHEDULES = ("biggest-first", "input")
EXECUTORS = ("local", "dask")


def _f(default: Any, section: str, doc: str, results: bool = True) -> Any:
    """A settings field: its TOML section, its docstring and whether it changes results."""
    meta = {"section": section, "doc": doc, "results": results}
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for sequence defaults")
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Every tunable of a run. Build with :func:`load_settings`, never mutate."""

    # --- where light curves come from -------------------------------------------------
    source: str = _f("local", "source", "Light-curve source: local, synthetic or mast.")
    data_dir: str | None = _f(
        None,
        "source",
        "Folder searched (recursively) for archive-named FITS files.",
        results=False,
    )
    mission: str | None = _f(
        None, "source", "Mission for bare numeric ids (Kepler, K2, TESS); None = any."
    )
    flux_column: str = _f("pdcsap_flux", "source", "FITS flux column (pdcsap_flux or sap_flux).")
    quality_bitmask: str = _f(
        "default", "source", "lightkurve quality mask: none, default, hard or hardest."
    )
    mast_author: str | None = _f(
        None, "source", "MAST pipeline (Kepler, K2, SPOC, QLP, ...); None = any."
    )
    mast_exptime: str | None = _f(
        None, "source", "MAST exposure: long, short, fast or seconds; None = any."
    )
    mast_segments: tuple[int, ...] = _f(
        (), "source", "Quarters, campaigns or sectors to download; empty = all."
    )
    cache_dir: str | None = _f(
        None, "source", "lightkurve download cache; None = lightkurve's own.", results=False
    )
    mast_url: str | None = _f(
        None,
        "source",
        "MAST mirror base URL (env EXOEXTRACT_MAST_URL); None = mast.stsci.edu.",
        results=False,
    )
    max_downloads: int = _f(
        3,
        "source",
        "Connections to the archive (searches and downloads together), however many CPU "
        "workers run.",
        False,
    )
    search_batch: int = _f(
        500, "source", "Targets named in one archive search (two requests per batch).", False
    )
    mast_search_days: float = _f(
        30.0,
        "source",
        "Days a search's answer kept in the cache is trusted (a repeated run with every file "
        "cached asks the archive nothing); 0 = always search again.",
        False,
    )
    download_timeout: float = _f(
        300.0,
        "source",
        "Seconds one archive job (a batch search or one file) may take before its process is "
        "killed.",
        False,
    )
    http_timeout: float = _f(
        60.0, "source", "Seconds one HTTP request may wait for data before it fails.", False
    )
    offline: bool = _f(
        False, "source", "Use only the cache and data_dir; never contact the archive.", False
    )
    keep_files: bool = _f(
        True,
        "source",
        "Keep downloaded light-curve files in the cache; false: a star's files this run "
        "downloaded are deleted once its checkpoint is written, so the cache holds only the "
        "stars in flight.",
        False,
    )

    # --- reading the target file (defaults: recognise the archive's tables) -------------
    id_column: str | None = _f(None, "columns", "Column holding the star id.")
    candidate_column: str | None = _f(
        None, "columns", "Column naming each candidate (several rows per star allowed)."
    )
    period_column: str | None = _f(None, "columns", "Column with the known period.")
    t0_column: str | None = _f(None, "columns", "Column with the known transit epoch.")
    duration_column: str | None = _f(None, "columns", "Column with the known duration.")
    depth_column: str | None = _f(None, "columns", "Column with the known transit depth.")
    label_column: str | None = _f(None, "columns", "Column with the disposition (label).")
    t0_system: str | None = _f(
        None, "columns", "Epoch time system: BJD, BTJD, BKJD or mission; None = by column."
    )
    duration_unit: str | None = _f(None, "columns", "Duration unit: h or d; None = by column.")
    depth_unit: str | None = _f(
        None, "columns", "Depth unit: ppm, percent or fraction; None = by column."
    )
    skip_bad_rows: bool = _f(
        False, "columns", "Skip (and list) rows whose id cannot be read instead of stopping."
    )

    # --- cleaning -----------------------------------------------------------------------
    flatten_window_days: float = _f(
        1.0, "clean", "Savitzky-Golay flattening window in days (same for Kepler and TESS)."
    )
    flatten_polyorder: int = _f(2, "clean", "Polynomial order of the flattening filter.")
    flatten_transit_factor: float = _f(
        3.0,
        "clean",
        "Widen the search's flattening window to this many Sun-like transit durations at the "
        "longest period searched (per octave of periods with flatten_per_octave); 0 = never "
        "widen.",
    )
    flatten_fit_factor: float = _f(
        4.0,
        "clean",
        "Fit, vet and view a candidate on the light curve flattened with this many Sun-like "
        "transit durations at the longest period of its octave, never a narrower window than "
        "the search's: long transits keep more depth; 0 = the search's own flux.",
    )
    flatten_per_octave: bool = _f(
        False,
        "clean",
        "The search also folds a flux per octave of trial periods, each flattened with "
        "flatten_transit_factor Sun-like durations at its longest period (4 suits it): "
        "spotted stars then leave more residuals at long periods (docs/validation.md).",
    )
    flatten_per_octave_unspotted: bool = _f(
        True,
        "clean",
        "On a star where no flattening window models a spot rotation (quiet stars, slow "
        "rotators spotted less than 20 times the noise), the search too folds a flux per "
        "octave of trial periods, each flattened with flatten_fit_factor Sun-like durations "
        "at its longest period (at least flatten_window_days); other spotted stars keep one "
        "window for the search.",
    )
    flatten_rotation: bool = _f(
        True,
        "clean",
        "Divide out a fast rotator's spot modulation (harmonics of its rotation period, "
        "three rotations at a time) before the flattening filter, where the window is too "
        "long to follow it.",
    )
    sigma_upper: float = _f(4.0, "clean", "Clip points this many sigma above the median.")
    sigma_lower: float = _f(
        20.0, "clean", "Clip points this many sigma below (high: transits are dips)."
    )
    min_points: int = _f(100, "clean", "Fewer cleaned points than this: features are NaN.")

    # --- features -----------------------------------------------------------------------
    run_stats: bool = _f(True, "features", "Noise and flux statistics (CDPP, scatter, ...).")
    run_variability: bool = _f(
        True, "features", "Stellar variability: Lomb-Scargle and autocorrelation."
    )
    run_bls: bool = _f(True, "features", "Run Box Least Squares (astropy).")
    run_tls: bool = _f(True, "features", "Run Transit Least Squares.")
    run_vet: bool = _f(True, "features", "Vetting metrics at the best blind-search period.")
    run_star: bool = _f(
        True, "features", "The star's values (catalog columns, else the files' headers)."
    )
    run_centroid: bool = _f(
        True, "features", "Centroid motion in transit and the dimming source's offset."
    )
    run_quality: bool = _f(True, "features", "Flagged cadences in and beside each transit.")
    run_planet: bool = _f(
        True, "features", "The companion's radius, impact, density and occultation limits."
    )
    run_fp: bool = _f(True, "features", "DR25-style false-positive flags per signal.")
    ephemeris_match_arcsec: float = _f(
        60.0,
        "features",
        "Two stars' signals of one period and epoch within this many arcseconds: the fainter "
        "star's is the brighter's light (fp_ephemeris_match).",
    )
    max_signals: int = _f(
        5,
        "features",
        "Signals kept per star in signals.parquet: after each, its transits are taken out and "
        "the search runs again (single events and pairs included); 1 = only the strongest.",
    )
    run_lightcurve_package: bool = _f(
        False, "features", "The light-curve package's general features (optional extra)."
    )
    run_views: bool = _f(
        False, "features", "AstroNet-style global (2001) and local (201) folded views."
    )
    run_known: bool = _f(
        True, "features", "Measure each candidate at its catalog ephemeris (known_*)."
    )
    period_min: float = _f(0.5, "features", "Shortest trial period in days (BLS and TLS).")
    period_max: float | None = _f(
        None, "features", "Longest trial period in days; None = half the baseline."
    )
    bls_oversample: float = _f(
        3.0,
        "features",
        "Period search resolution: phase bins per shortest plausible duration (one bin of "
        "drift across the baseline between trial periods).",
    )
    bls_mode: str = _f(
        "fast",
        "features",
        "fast: fold-based search of every period, astropy BLS refines the peak; full: "
        "astropy BLS over the whole grid (slow on long baselines).",
    )
    bls_durations_hours: tuple[float, ...] = _f(
        (1.0, 1.5, 2.0, 3.0, 4.5, 6.0, 9.0, 13.0), "features", "BLS trial durations in hours."
    )
    tls_backend: str = _f("fused-pl", "features", "transitleastsquares search backend.")
    tls_oversampling: int = _f(3, "features", "TLS period grid oversampling factor.")
    tls_mode: str = _f(
        "fast",
        "features",
        "fast: TLS around the strongest peaks of the fast search; full: TLS over its "
        "whole period grid (transitleastsquares' own search, slow on long baselines).",
    )
    tls_candidates: int = _f(
        3, "features", "Fast mode: distinct peaks of the search that TLS examines."
    )
    extra_features: tuple[str, ...] = _f(
        (), "features", "Plugin feature functions as 'module:function'."
    )

    # --- execution ----------------------------------------------------------------------
    workers: int = _f(0, "run", "Worker processes; 0 = derived from CPUs and memory.", False)
    executor: str = _f(
        "local",
        "run",
        "local (a process pool on this machine) or dask (a Dask cluster: --scheduler, or a "
        "local cluster of `workers` processes).",
        False,
    )
    scheduler: str | None = _f(
        None,
        "run",
        "Dask scheduler address, e.g. tcp://10.0.0.5:8786 (env EXOEXTRACT_SCHEDULER); "
        "None = a local Dask cluster.",
        False,
    )
    chunk_size: int = _f(25, "run", "Targets per checkpoint file.", False)
    schedule: str = _f(
        "biggest-first",
        "run",
        "Order of work: biggest-first (stars with the most light-curve data first, where "
        "sizes are known) or input (the CSV's order).",
        False,
    )
    timeout: float = _f(
        600.0, "run", "Seconds one target may run before its worker is killed.", False
    )
    retries: int = _f(2, "run", "Extra attempts for transient failures.", False)
    backoff_base: float = _f(2.0, "run", "First retry delay in seconds (doubles, jittered).", False)
    backoff_max: float = _f(60.0, "run", "Longest retry delay in seconds.", False)
    max_memory_per_worker: int | None = _f(
        None, "run", "Resident memory cap per worker in bytes (flags accept '3GB').", False
    )
    max_tasks_per_worker: int = _f(25, "run", "Recycle a worker after this many targets.", False)
    quarantine_after: int = _f(
        2, "run", "Worker deaths after which a target is quarantined, not retried.", False
    )
    pool_rebuilds: int = _f(
        2, "run", "Stalled-pool rebuilds before the sequential fallback.", False
    )
    kill_grace: float = _f(3.0, "run", "Seconds between SIGTERM and SIGKILL.", False)
    stall_margin: float = _f(
        10.0,
        "run",
        "Seconds past timeout + kill_grace with no finished target: pool stuck.",
        False,
    )
    stop_grace: float = _f(10.0, "run", "On Ctrl-C, seconds running targets get to finish.", False)
    progress_interval: float = _f(
        10.0, "run", "Seconds between plain progress lines (non-terminal).", False
    )

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values, for the manifest."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def column_mapping(self) -> catalogs.ColumnMapping:
        return catalogs.ColumnMapping(
            id=self.id_column,
            candidate=self.candidate_column,
            period=self.period_column,
            t0=self.t0_column,
            duration=self.duration_column,
            depth=self.depth_column,
            label=self.label_column,
            t0_system=self.t0_system,
            duration_unit=self.duration_unit,
            depth_unit=self.depth_unit,
        )


def _validate(s: Settings) -> None:
    if s.source not in SOURCES:
        raise InputError(f"unknown source {s.source!r} — use one of: {', '.join(SOURCES)}")
    if s.mission is not None and s.mission not in MISSIONS:
        raise InputError(f"unknown mission {s.mission!r} — use one of: {', '.join(MISSIONS)}")
    if s.tls_backend not in TLS_BACKENDS:
        raise InputError(
            f"unknown TLS backend {s.tls_backend!r} — use one of: {', '.join(TLS_BACKENDS)}"
        )
    for name in ("bls_mode", "tls_mode"):
        if getattr(s, name) not in SEARCH_MODES:
            raise InputError(
                f"unknown {name} {getattr(s, name)!r} — use one of: {', '.join(SEARCH_MODES)}"
            )
    if s.executor not in EXECUTORS:
        raise InputError(f"unknown executor {s.executor!r} — use one of: {', '.join(EXECUTORS)}")
    if s.schedule not in SCHEDULES:
        raise InputError(f"unknown schedule {s.schedule!r} — use one of: {', '.join(SCHEDULES)}")
    positive = (
        "ephemeris_match_arcsec",
        "tls_candidates",
        "chunk_size",
        "timeout",
        "flatten_window_days",
        "period_min",
        "bls_oversample",
        "max_downloads",
        "search_batch",
        "download_timeout",
        "http_timeout",
    )
    for name in positive:
        if not getattr(s, name) > 0:
            raise InputError(f"setting {name} must be > 0 (got {getattr(s, name)!r})")
    non_negative = (
        "flatten_transit_factor",
        "flatten_fit_factor",
        "workers",
        "retries",
        "backoff_base",
        "backoff_max",
        "kill_grace",
        "stop_grace",
        "pool_rebuilds",
        "max_tasks_per_worker",
        "mast_search_days",
    )
    for name in non_negative:
        if getattr(s, name) < 0:
            raise InputError(f"setting {name} must be >= 0 (got {getattr(s, name)!r})")
    for name, allowed in (
        ("t0_system", catalogs.T0_SYSTEMS),
        ("duration_unit", catalogs.DURATION_UNITS),
        ("depth_unit", catalogs.DEPTH_UNITS),
    ):
        value = getattr(s, name)
        if value is not None and value not in allowed:
            raise InputError(f"setting {name} = {value!r} — use one of: {', '.join(allowed)}")
    if s.mast_url is not None and not re.match(r"^https?://[^/\s]+", s.mast_url):
        raise InputError(
            f"mast_url {s.mast_url!r} is not an http(s) URL — e.g. http://127.0.0.1:8080"
        )
    if s.quarantine_after < 1:
        raise InputError("setting quarantine_after must be >= 1")
    if s.max_signals < 1:
        raise InputError(
            f"setting max_signals must be >= 1 (got {s.max_signals!r}): 1 keeps only the "
            "strongest signal"
        )
    if s.period_max is not None and s.period_max <= s.period_min:
        raise InputError(
            f"period_max ({s.period_max}) must be larger than period_min ({s.period_min})"
        )
    if s.max_memory_per_worker is not None and s.max_memory_per_worker < 64 * 2**20:
        raise InputError("max_memory_per_worker below 64 MB cannot run a target — raise it")
    if not s.bls_durations_hours or min(s.bls_durations_hours) <= 0:
        raise InputError("bls_durations_hours must list positive durations")


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
