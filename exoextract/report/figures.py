"""The report's aggregate figures: one figure per question, whatever the number of targets
(histograms and scatters, never one panel per star). Each function takes tables and returns
a matplotlib Figure, so tests can read what a figure shows."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from exoextract import features

MAX_GROUPS = 8  # labels beyond the most common ones are drawn together as "other"
NO_LABEL = "(no label)"
COLORS = (
    "tab:blue",
    "tab:red",
    "tab:green",
    "tab:orange",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:gray",
)
NOT_FEATURES = {"n_files", "n_redownloaded", "n_files_unreadable", "files_unreadable"}


def png(figure: Figure, dpi: int = 90) -> str:
    """The figure as a base64 PNG, for a data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode()


def groups(table: pd.DataFrame, label: str | None) -> pd.Series:
    """Each row's group for colouring: its label (the commonest ``MAX_GROUPS``, then
    "other"), or one group when the input has no labels."""
    if label is None or label not in table:
        return pd.Series(["all targets"] * len(table), index=table.index)
    values = table[label].astype("string").fillna(NO_LABEL).str.strip().replace("", NO_LABEL)
    common = values.value_counts().index[:MAX_GROUPS]
    return values.where(values.isin(common), "other").astype(str)


def status_figure(counts: dict[str, int]) -> Figure:
    figure = Figure(figsize=(6.0, 0.5 + 0.35 * max(len(counts), 1)), layout="constrained")
    ax = figure.add_subplot()
    names = sorted(counts, key=lambda s: (s != "ok", -counts[s]))
    values = [counts[n] for n in names]
    bars = ax.barh(names, values, color=["tab:green" if n == "ok" else "tab:red" for n in names])
    ax.bar_label(bars, padding=2, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("targets")
    ax.set_title("outcome of every target", fontsize=10, loc="left")
    return figure


def timing_figure(table: pd.DataFrame) -> Figure:
    """Seconds per star spent reading, cleaning and in each feature family."""
    columns = [c for c in features.timing_columns() if c in table and table[c].notna().any()]
    figure = Figure(figsize=(6.0, 0.6 + 0.32 * max(len(columns), 1)), layout="constrained")
    ax = figure.add_subplot()
    ax.set_title("seconds per star by stage", fontsize=10, loc="left")
    ax.set_xlabel("seconds (log)")
    if not columns:
        ax.text(0.5, 0.5, "no timing columns", ha="center", transform=ax.transAxes)
        return figure
    data = [np.clip(table[c].dropna().to_numpy(dtype=float), 1e-4, None) for c in columns]
    ax.boxplot(
        data, orientation="horizontal", tick_labels=[c[8:] for c in columns], showfliers=False
    )
    ax.set_xscale("log")
    ax.invert_yaxis()
    return figure


def throughput_figure(finished: Sequence[tuple[float, int]]) -> Figure:
    """Targets finished over time, from the checkpoint files' times."""
    figure = Figure(figsize=(6.0, 2.6), layout="constrained")
    ax = figure.add_subplot()
    ax.set_title("stars finished over time", fontsize=10, loc="left")
    ax.set_ylabel("stars")
    if len(finished) == 1:  # one checkpoint: a single dot says nothing
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"all {finished[0][1]} stars in one checkpoint", ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
    elif finished:
        points = sorted(finished)
        start = points[0][0]
        span = points[-1][0] - start
        unit, scale = ("hours", 3600.0) if span >= 7200 else ("minutes", 60.0)
        x = [(t - start) / scale for t, _ in points]
        ax.step(
            x,
            np.cumsum([n for _, n in points]),
            where="post",
            color="tab:blue",
            marker="o" if len(points) < 50 else None,
            ms=3,
        )
        ax.set_xlabel(f"{unit} since the first checkpoint")
    return figure


def detection_figure(table: pd.DataFrame, by: pd.Series) -> Figure:
    """Distributions of the detection statistics by label (SDE and SNR of TLS, else BLS)."""
    figure = Figure(figsize=(7.5, 2.8), layout="constrained")
    for position, stat in enumerate(("sde", "snr")):
        ax = figure.add_subplot(1, 2, position + 1)
        column = _first_present(table, (f"tls_{stat}", f"bls_{stat}"))
        ax.set_title(f"{column or stat} by label", fontsize=10, loc="left")
        ax.set_xlabel(column or stat)
        ax.set_ylabel("targets")
        if column is None:
            continue
        values = table[column].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            continue
        high = float(np.nanpercentile(finite, 99)) if finite.size > 20 else float(finite.max())
        bins = np.linspace(float(finite.min()), max(high, float(finite.min()) + 1e-9), 30)
        for color, (name, rows) in zip(COLORS, _grouped(by), strict=False):
            chosen = values[rows]
            chosen = chosen[np.isfinite(chosen)]
            ax.hist(
                np.clip(chosen, bins[0], bins[-1]),
                bins=bins.tolist(),
                histtype="step",
                lw=1.3,
                color=color,
                label=f"{name} ({chosen.size})",
            )
        if stat == "sde":
            ax.axvline(9.0, color="0.4", ls=":", lw=0.8)
        ax.legend(fontsize=7)
    return figure


def period_depth_figure(table: pd.DataFrame, by: pd.Series) -> Figure:
    figure = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = figure.add_subplot()
    source = "tls" if "tls_period" in table and table["tls_period"].notna().any() else "bls"
    ax.set_title(f"period and depth of the best signal ({source.upper()})", fontsize=10, loc="left")
    ax.set_xlabel("period [d]")
    ax.set_ylabel("depth [ppm]")
    period, depth = f"{source}_period", f"{source}_depth"
    if period not in table or depth not in table:
        return figure
    x = table[period].to_numpy(dtype=float)
    y = table[depth].to_numpy(dtype=float) * 1e6
    shown = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    size = 12 if len(table) < 2000 else 4
    for color, (name, rows) in zip(COLORS, _grouped(by), strict=False):
        keep = rows & shown
        ax.scatter(x[keep], y[keep], s=size, color=color, alpha=0.7, lw=0, label=name)
    if shown.any():
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=7, markerscale=2)
    return figure


def separating_features(
    table: pd.DataFrame, by: pd.Series, count: int = 6, minimum: int = 5
) -> list[tuple[str, float]]:
    """The features whose distributions differ most between labels: for each feature, the
    largest two-sample Kolmogorov-Smirnov distance between one label and all the others
    (labels with fewer than ``minimum`` values are left out). Empty with fewer than two
    labels."""
    names = [g for g, n in by.value_counts().items() if n >= minimum]
    if len(names) < 2:
        return []
    specs = features.all_columns()
    scores: list[tuple[str, float]] = []
    for column in table.columns:
        spec = specs.get(column)
        if spec is None or spec.kind != "float" or column in NOT_FEATURES:
            continue
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        best = 0.0
        for name in names:
            inside = values[(by == name).to_numpy() & np.isfinite(values)]
            outside = values[(by != name).to_numpy() & np.isfinite(values)]
            if inside.size >= minimum and outside.size >= minimum:
                best = max(best, _ks(inside, outside))
        if best > 0:
            scores.append((column, best))
    scores.sort(key=lambda item: (-item[1], item[0]))
    return scores[:count]


def separation_figure(
    table: pd.DataFrame, by: pd.Series, chosen: list[tuple[str, float]]
) -> Figure:
    columns = 3
    rows = max(math.ceil(len(chosen) / columns), 1)
    figure = Figure(figsize=(8.0, 2.3 * rows), layout="constrained")
    for index, (column, score) in enumerate(chosen):
        ax = figure.add_subplot(rows, columns, index + 1)
        values = table[column].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        low, high = np.nanpercentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        bins = np.linspace(low, high if high > low else low + 1.0, 25)
        for color, (name, members) in zip(COLORS, _grouped(by), strict=False):
            part = values[members]
            part = part[np.isfinite(part)]
            if part.size:
                ax.hist(
                    np.clip(part, bins[0], bins[-1]),
                    bins=bins.tolist(),
                    density=True,
                    histtype="step",
                    color=color,
                    lw=1.2,
                    label=name,
                )
        ax.set_title(f"{column} (KS {score:.2f})", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        if index == 0:
            ax.legend(fontsize=6)
    return figure


def flagged_figure(table: pd.DataFrame, by: pd.Series) -> Figure:
    """The share of each label flagged planet-like by the vetting."""
    figure = Figure(figsize=(6.0, 0.6 + 0.35 * max(by.nunique(), 1)), layout="constrained")
    ax = figure.add_subplot()
    ax.set_title("flagged planet-like (vet_transit_like = 1), by label", fontsize=10, loc="left")
    ax.set_xlabel("fraction of the label's targets")
    ax.set_xlim(0, 1.08)
    if "vet_transit_like" not in table:
        return figure
    flag = pd.to_numeric(table["vet_transit_like"], errors="coerce")
    names, shares = [], []
    for name, members in _grouped(by):
        known = flag[members].dropna()
        names.append(f"{name} ({len(known)})")
        shares.append(float(known.mean()) if len(known) else 0.0)
    bars = ax.barh(names, shares, color=COLORS[: len(names)])
    ax.bar_label(bars, labels=[f"{s:.0%}" for s in shares], padding=2, fontsize=8)
    ax.invert_yaxis()
    return figure


def _grouped(by: pd.Series) -> list[tuple[str, np.ndarray]]:
    order = by.value_counts().index.tolist()
    return [(str(name), (by == name).to_numpy()) for name in order]


def _first_present(table: pd.DataFrame, names: Sequence[str]) -> str | None:
    for name in names:
        if name in table and pd.to_numeric(table[name], errors="coerce").notna().any():
            return name
    return None


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov distance: the largest gap between the two
    empirical distribution functions."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    gap = (
        np.searchsorted(a, points, side="right") / a.size
        - np.searchsorted(b, points, side="right") / b.size
    )
    return float(np.max(np.abs(gap)))
