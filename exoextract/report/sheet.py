"""One page per star, in the spirit of the archive's data-validation summaries: the raw and
flattened light curve with the transits marked, the box-search and TLS periodograms with the
chosen peak, the folded transit with its model, odd and even transits side by side, the
phase of a secondary eclipse, and the numbers a vetter reads first.

The light curve and the periodograms are recomputed from the star's files (the run's data
folder, cache or synthetic source, with the run's own settings), so a sheet can be drawn any
time after the run; the numbers and signals are the rows the run stored for the star (its
checkpoint), recomputed here only for a star the run has not finished.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from exoextract import features
from exoextract.errors import InputError, TargetError
from exoextract.features import tls
from exoextract.science import blind_search as blindsearch
from exoextract.science.search import pooled_chi2, tls_spectra
from exoextract.star.extract import load_star

PAGE_INCHES = (8.5, 11.0)
DPI = 110
SIGNAL_COLOURS = ("tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:cyan")


@dataclass
class SheetData:
    """What a sheet draws; ``values`` are the recomputed row (the candidate's, or with a
    signal's columns over it) and ``folded`` the ephemeris it is folded at."""

    name: str
    label: str | None
    raw_time: np.ndarray
    raw_flux: np.ndarray
    time: np.ndarray
    flux: np.ndarray
    box_periods: np.ndarray
    box_power: np.ndarray
    tls_periods: np.ndarray
    tls_power: np.ndarray
    values: dict[str, Any]
    signals: list[dict[str, Any]] = field(default_factory=list)
    shown: int | None = None  # the signal folded (--signal N), else the row's own
    source: str = "no signal"  # what the fold is: "signal 2", "catalog ephemeris", ...
    folded: tuple[float, float, float, float] = (math.nan, math.nan, math.nan, math.nan)
    single: bool = False  # a single event: drawn around its one transit

    def ephemeris(self) -> tuple[float, float, float, float]:
        """(period, t0, duration in days, depth) the sheet folds on (a single event: a
        period long enough that only its one transit is in the data)."""
        return self.folded


def sheet_data(run_dir: str | Path, name: str, signal: int | None = None) -> SheetData:
    """Recompute what the sheet of ``name`` (a target or candidate of the run) shows: its
    row, folded where the row says (its signal, or its catalog ephemeris), or on the star's
    signal number ``signal`` if given."""
    from exoextract.run.one_star import merged_verdicts, star_task, stored_rows
    from exoextract.star.rows import star_rows

    task, rows = star_task(run_dir, name)
    stored = None
    if task.settings.run_bls or task.settings.run_tls:  # the run's rows hold a search
        stored = stored_rows(run_dir, [c.key for c in task.candidates])
    else:  # the sheet needs a search: the star's rows computed here with one
        task = replace(task, settings=replace(task.settings, run_bls=True, run_tls=True))
    settings = task.settings
    try:
        with _quiet():
            star = load_star(task)
            ctx = star.ctx
            if stored is None:  # not finished, or failed: the star's rows computed here
                table = star_rows(ctx, task.candidates)
                stored = table.rows, table.signals
            spectrum = blindsearch.spectrum(ctx)
            baseline, low, high = blindsearch.limits(ctx)
            grid = tls.tls_grid(baseline, low, high, settings.tls_oversampling)
            _, tls_power = tls_spectra(pooled_chi2(spectrum, grid), grid, settings.tls_oversampling)
    except TargetError as error:
        raise InputError(f"cannot draw {name}: {error} — check the run's data source") from None
    except features.NotComputable as why:
        raise InputError(f"cannot draw {name}: {why.reason}") from None
    assert ctx.raw_time is not None and ctx.raw_flux is not None
    by_key, found_signals = stored
    values = dict(by_key[rows[0].key])
    signals = [dict(s) for s in found_signals]
    merged_verdicts(run_dir, rows[0], values, signals)
    source, chosen = _row_source(values, signals)
    if signal is not None:
        if not 1 <= signal <= len(signals):
            raise InputError(
                f"{name} has {len(signals)} signal(s) — choose --signal 1 to {len(signals)}"
                if signals
                else f"{name} has no signal above the detection threshold — drop --signal"
            )
        chosen = signals[signal - 1]
        values = {**values, **chosen}
        source = f"signal {signal}"
    folded, single = _fold_of(values, chosen, float(np.ptp(ctx.time)))
    flux = ctx.flux if not math.isfinite(folded[0]) else ctx.flux_for(folded[0])[0]
    return SheetData(
        name=rows[0].key,
        label=rows[0].label or _text(rows[0].row.get("label")),
        raw_time=ctx.raw_time,
        raw_flux=ctx.raw_flux,
        time=ctx.time,
        flux=flux,
        box_periods=spectrum.periods,
        box_power=spectrum.power,
        tls_periods=grid,
        tls_power=tls_power,
        values=values,
        signals=signals,
        shown=signal,
        source=source,
        folded=folded,
        single=single,
    )


def _row_source(
    values: dict[str, Any], signals: list[dict[str, Any]]
) -> tuple[str, dict[str, Any] | None]:
    """What the row is (its match) and the signal record it is, if any."""
    match = values.get("match")
    number = float(values.get("match_signal", math.nan))
    if match == "signal" and _finite(number) and 1 <= int(number) <= len(signals):
        return f"signal {int(number)}", signals[int(number) - 1]
    if match == "catalog":
        return "catalog ephemeris", None
    return "no signal", None


def _fold_of(
    values: dict[str, Any], signal: dict[str, Any] | None, baseline: float
) -> tuple[tuple[float, float, float, float], bool]:
    """(period, t0, duration, depth) to fold on, and whether it is one event."""
    if signal is not None:
        period, t0, duration, depth = (
            float(signal.get(f"signal_{k}", math.nan))
            for k in ("period", "t0", "duration", "depth")
        )
        if signal.get("signal_kind") == "single":
            return (4.0 * (baseline + duration), t0, duration, depth), True
        return (period, t0, duration, depth), False
    for prefix in ("tls", "bls"):
        period, t0, duration = (
            float(values.get(f"{prefix}_{k}", math.nan)) for k in ("period", "t0", "duration")
        )
        if _finite(period) and _finite(t0) and _finite(duration):
            depth = float(values.get("vet_depth", values.get(f"{prefix}_depth", math.nan)))
            return (period, t0, duration, depth), False
    return (math.nan, math.nan, math.nan, math.nan), False


def draw_sheet(data: SheetData) -> Figure:
    """The page as a matplotlib Figure (Agg canvas: no display needed)."""
    # a fixed layout: the constrained one cost 0.4 s of a sheet's 0.75 s to save
    figure = Figure(figsize=PAGE_INCHES, dpi=DPI)
    grid = figure.add_gridspec(
        5, 2, height_ratios=[1, 1, 1, 1.1, 1.1], left=0.1, right=0.98, top=0.945,
        bottom=0.045, hspace=0.55, wspace=0.22,
    )  # fmt: skip
    period, t0, duration, depth = data.ephemeris()
    label = f" ({data.label})" if data.label else ""
    at = f"a single event at {t0:.3f}" if data.single else f"P = {period:.5f} d"
    figure.suptitle(f"{data.name}{label}: {data.source}, {at}", fontsize=12)

    raw = figure.add_subplot(grid[0, :])
    _light_curve(raw, data.raw_time, data.raw_flux, period, t0, "normalised light curve")
    flat = figure.add_subplot(grid[1, :], sharex=raw)
    _light_curve(flat, data.time, data.flux, period, t0, "flattened light curve (searched)")
    _other_signals(flat, data)
    flat.set_xlabel("time [d, mission time]")

    box = figure.add_subplot(grid[2, 0])
    peak = float(np.max(data.box_power)) if data.box_power.size else 1.0
    relative = data.box_power / peak if peak > 0 else data.box_power
    _periodogram(box, data.box_periods, relative, period, "box search", "log-likelihood / peak")
    if _finite(data.values.get("bls_period")):
        box.axvline(float(data.values["bls_period"]), color="tab:orange", lw=0.8, ls="--")
    sde = figure.add_subplot(grid[2, 1])
    _periodogram(sde, data.tls_periods, data.tls_power, period, "TLS grid", "SDE")

    fold = figure.add_subplot(grid[3, 0])
    _folded(fold, data.time, data.flux, period, t0, duration, depth)
    odd_even = figure.add_subplot(grid[3, 1], sharey=fold)
    _odd_even(odd_even, data.time, data.flux, period, t0, duration, data.values)

    secondary = figure.add_subplot(grid[4, 0])
    _secondary(secondary, data.time, data.flux, period, t0, duration, data.values)
    numbers = figure.add_subplot(grid[4, 1])
    _numbers(numbers, data)
    return figure


def default_path(run_dir: str | Path, name: str) -> Path:
    """RUN/sheets/<name with only letters, digits, dots and dashes>.png"""
    safe = "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in name)
    return Path(run_dir) / "sheets" / f"{safe}.png"


def write_sheet(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    except OSError as error:
        raise InputError(
            f"cannot write {path}: {error.strerror or error} — choose a writable -o"
        ) from None
    return path


# ------------------------------------------------------------------ panels
def _light_curve(
    ax: Axes, time: np.ndarray, flux: np.ndarray, period: float, t0: float, title: str
) -> None:
    ax.plot(time, flux, ",", color="0.3", rasterized=True)
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_ylabel("relative flux")
    if _finite(period) and _finite(t0) and period > 0 and time.size:
        first = math.ceil((time.min() - t0) / period)
        last = math.floor((time.max() - t0) / period)
        if last - first < 2000:
            mids = _observed(t0 + period * np.arange(first, last + 1), time)
            low = float(np.nanpercentile(flux, 0.5))
            ax.plot(mids, np.full(mids.size, low), "^", color="tab:red", ms=4, label="transits")


def _observed(mids: np.ndarray, time: np.ndarray, within: float = 0.1) -> np.ndarray:
    """The predicted transit times that fall on data (a point within ``within`` days), so
    the marks do not fill the gaps between quarters or sectors."""
    if not time.size or not mids.size:
        return mids
    ordered = np.sort(time)
    at = np.clip(np.searchsorted(ordered, mids), 1, ordered.size - 1)
    nearest = np.minimum(np.abs(ordered[at] - mids), np.abs(ordered[at - 1] - mids))
    return mids[nearest <= within]


def _other_signals(ax: Axes, data: SheetData) -> None:
    """Every signal's transits under the flattened light curve, one colour each."""
    if not data.signals or not data.time.size:
        return
    low = float(np.nanpercentile(data.flux, 0.5))
    span = float(np.ptp(data.flux)) or 1e-3
    for index, found in enumerate(data.signals):
        colour = SIGNAL_COLOURS[index % len(SIGNAL_COLOURS)]
        t0, period = float(found["signal_t0"]), float(found["signal_period"])
        mids = np.array([t0])
        if _finite(period) and period > 0:
            first = math.ceil((data.time.min() - t0) / period)
            last = math.floor((data.time.max() - t0) / period)
            mids = _observed(t0 + period * np.arange(first, min(last, first + 2000) + 1), data.time)
        y = low - (0.08 + 0.04 * index) * span
        ax.plot(mids, np.full(len(mids), y), "v", color=colour, ms=3,
                label=f"#{index + 1} {found['signal_kind']}")  # fmt: skip
    ax.legend(fontsize=6, loc="upper right", ncol=min(len(data.signals), 6))


def _periodogram(
    ax: Axes, periods: np.ndarray, power: np.ndarray, chosen: float, title: str, ylabel: str
) -> None:
    ax.plot(periods, power, color="0.2", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel("period [d]")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9, loc="left")
    if _finite(chosen):
        ax.axvline(chosen, color="tab:red", lw=1.0, alpha=0.7, label=f"P = {chosen:.4f} d")
        for harmonic in (0.5, 2.0):
            if periods.min() <= chosen * harmonic <= periods.max():
                ax.axvline(chosen * harmonic, color="tab:red", lw=0.6, ls=":", alpha=0.5)
        ax.legend(fontsize=7, loc="upper right")


def _phase_hours(time: np.ndarray, period: float, t0: float, centre: float = 0.0) -> np.ndarray:
    phase = np.mod(time - t0 + (0.5 - centre) * period, period) / period - 0.5
    return phase * period * 24.0


def _binned(x: np.ndarray, y: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    if x.size == 0 or width <= 0:
        return x, y
    edges = np.arange(x.min(), x.max() + width, width)
    index = np.digitize(x, edges)
    keep = [i for i in np.unique(index) if np.count_nonzero(index == i) >= 3]
    return (
        np.array([x[index == i].mean() for i in keep]),
        np.array([np.median(y[index == i]) for i in keep]),
    )


def _window(
    ax: Axes,
    time: np.ndarray,
    flux: np.ndarray,
    period: float,
    t0: float,
    duration: float,
    centre: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    hours = _phase_hours(time, period, t0, centre)
    half = 3.0 * duration * 24.0
    inside = np.abs(hours) < half
    ax.plot(hours[inside], flux[inside], ".", color="0.75", ms=1.5, rasterized=True)
    bx, by = _binned(hours[inside], flux[inside], duration * 24.0 / 8.0)
    ax.plot(bx, by, "o", color="tab:blue", ms=3)
    ax.set_xlim(-half, half)
    ax.set_xlabel("hours from mid-transit" if centre == 0.0 else "hours from phase 0.5")
    return bx, by


def _folded(
    ax: Axes,
    time: np.ndarray,
    flux: np.ndarray,
    period: float,
    t0: float,
    duration: float,
    depth: float,
) -> None:
    ax.set_title("folded transit and box model", fontsize=9, loc="left")
    ax.set_ylabel("relative flux")
    if not (_finite(period) and _finite(duration) and _finite(depth)):
        ax.text(0.5, 0.5, "no signal to fold", ha="center", transform=ax.transAxes)
        return
    _window(ax, time, flux, period, t0, duration)
    half = duration * 12.0
    edge = 3.0 * duration * 24.0
    ax.plot(
        [-edge, -half, -half, half, half, edge],
        [1.0, 1.0, 1.0 - depth, 1.0 - depth, 1.0, 1.0],
        color="tab:red",
        lw=1.2,
        label=f"depth {depth * 1e6:.0f} ppm",
    )
    ax.legend(fontsize=7, loc="lower right")


def _odd_even(
    ax: Axes,
    time: np.ndarray,
    flux: np.ndarray,
    period: float,
    t0: float,
    duration: float,
    values: dict[str, Any],
) -> None:
    sigma = values.get("vet_odd_even_sigma")
    text = f"{_num(sigma)} sigma" if _finite(sigma) else "n/a"
    ax.set_title(f"odd | even transits ({text} apart)", fontsize=9, loc="left")
    if not (_finite(period) and _finite(duration)):
        return
    number = np.round((time - t0) / period).astype(int)
    hours = _phase_hours(time, period, t0)
    half = 3.0 * duration * 24.0
    gap = 2.4 * half
    for parity, shift, color in ((1, -gap / 2, "tab:purple"), (0, gap / 2, "tab:green")):
        chosen = (np.abs(hours) < half) & (np.mod(number, 2) == parity)
        x, y = hours[chosen], flux[chosen]
        ax.plot(x + shift, y, ".", color="0.8", ms=1.5, rasterized=True)
        bx, by = _binned(x, y, duration * 24.0 / 6.0)
        ax.plot(bx + shift, by, "o", color=color, ms=3)
        if bx.size:
            bottom = float(np.min(by))
            ax.hlines(bottom, shift - half, shift + half, color=color, lw=0.8, ls="--")
    ax.set_xticks([-gap / 2, gap / 2], ["odd", "even"])
    ax.set_xlim(-gap / 2 - half, gap / 2 + half)


def _secondary(
    ax: Axes,
    time: np.ndarray,
    flux: np.ndarray,
    period: float,
    t0: float,
    duration: float,
    values: dict[str, Any],
) -> None:
    snr = values.get("vet_secondary_snr")
    text = _num(snr) if _finite(snr) else "n/a"
    ax.set_title(f"phase 0.5: secondary eclipse? (SNR {text})", fontsize=9, loc="left")
    ax.set_ylabel("relative flux")
    if not (_finite(period) and _finite(duration)):
        return
    _window(ax, time, flux, period, t0, duration, centre=0.5)
    ax.axhline(1.0, color="0.4", lw=0.6)


def _numbers(ax: Axes, data: SheetData) -> None:
    ax.set_axis_off()
    v = data.values
    period, t0, duration, depth = data.ephemeris()
    flag = v.get("vet_transit_like")
    verdict = "n/a" if not _finite(flag) else ("planet-like" if flag else "not planet-like")
    lines = [
        ("label", data.label or "-"),
        ("the row is", data.source),
        ("period", "single event" if data.single else f"{period:.5f} d"),
        ("epoch", f"{t0:.4f}"),
        ("duration", f"{duration * 24:.2f} h"),
        ("depth", f"{depth * 1e6:.0f} ppm"),
        ("TLS SDE / SNR", f"{_num(v.get('tls_sde'))} / {_num(v.get('tls_snr'))}"),
        ("BLS SDE / SNR", f"{_num(v.get('bls_sde'))} / {_num(v.get('bls_snr'))}"),
        ("transits with data", _num(v.get("vet_n_transits"), 0)),
        ("odd/even", f"{_num(v.get('vet_odd_even_sigma'))} sigma"),
        ("correlated-noise SNR", _num(v.get("vet_depth_snr_red"))),
        ("points, baseline", f"{data.time.size}, {np.ptp(data.time):.1f} d"),
        ("vetting", verdict),
        ("signals", _signal_summary(data.signals)),
    ]
    for row, (key, value) in enumerate(lines):
        y = 0.97 - row * 0.072
        ax.text(0.0, y, key, transform=ax.transAxes, fontsize=9, va="top", color="0.35")
        ax.text(0.55, y, value, transform=ax.transAxes, fontsize=9, va="top", weight="bold")


def _signal_summary(signals: list[dict[str, Any]]) -> str:
    """'3: 10.05 d ✓, 24.65 d ✓, single' — each signal's period and flag, in order."""
    if not signals:
        return "none"
    parts = []
    for found in signals[:4]:
        period = found.get("signal_period")
        text = _num(period, 2) + " d" if _finite(period) else str(found["signal_kind"])
        parts.append(text + (" ✓" if found.get("vet_transit_like") == 1.0 else ""))
    more = ", …" if len(signals) > 4 else ""
    return f"{len(signals)}: " + ", ".join(parts) + more


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _num(value: Any, digits: int = 1) -> str:
    return f"{float(value):.{digits}f}" if _finite(value) else "-"


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
