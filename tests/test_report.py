"""`report` and `plot`: figures tested for what they show, pages opened in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image
from typer.testing import CliRunner

from exoextract.cli.commands import app
from exoextract.report import figures
from exoextract.report.page import build_report, strongest
from exoextract.report.sheet import draw_sheet, sheet_data

from runhelpers import checkpoint_files, start_cli, wait_for

runner = CliRunner()
# kind = id % 4 in the synthetic source: 0 planet, 1 eclipsing binary, 2 variable, 3 quiet
STARS = {100: "planet", 101: "eb", 102: "variable", 103: "quiet", 104: "planet", 105: "eb"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run of six synthetic TESS stars with labels, every family on."""
    root = tmp_path_factory.mktemp("report")
    targets = root / "targets.csv"
    rows = "\n".join(f"TIC {90000000 + n},{label}" for n, label in STARS.items())
    targets.write_text(f"target,label\n{rows}\nTIC 5,planet\n")  # TIC 5: kind 1 (eb)
    out = root / "run"
    result = runner.invoke(
        app, ["run", str(targets), "--out", str(out), "--source", "synthetic", "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    return out


def _lines_at(figure: Figure, title: str) -> list[float]:
    """x positions of the vertical lines drawn on the axes titled ``title``."""
    [ax] = [a for a in figure.axes if a.get_title(loc="left") == title]
    return [
        float(line.get_xdata()[0])
        for line in ax.get_lines()
        if len(set(np.atleast_1d(line.get_xdata()))) == 1 and len(line.get_xdata()) == 2
    ]


def test_sheet_shows_the_found_period_and_the_run_recomputes_the_same(run_dir: Path) -> None:
    table = pd.read_parquet(run_dir / "features.parquet").set_index("target_id")
    data = sheet_data(run_dir, "tic90000104")  # any spacing and case
    assert data.name == "TIC 90000104" and data.label == "planet"
    period = data.ephemeris()[0]
    assert period == pytest.approx(table.loc["TIC 90000104", "tls_period"], rel=1e-9)
    figure = draw_sheet(data)
    assert figure.get_suptitle() == f"TIC 90000104 (planet): signal 1, P = {period:.5f} d"
    for title in ("box search", "TLS grid"):
        lines = _lines_at(figure, title)
        assert lines[0] == pytest.approx(period)  # the chosen peak, then its harmonics
        assert {round(x / period, 3) for x in lines[1:]} <= {0.5, 1.0, 2.0}  # BLS: 1.0
    titles = [a.get_title(loc="left") for a in figure.axes]
    assert titles[:2] == ["normalised light curve", "flattened light curve (searched)"]
    assert "folded transit and box model" in titles
    assert any(t.startswith("odd | even transits (") for t in titles)
    assert any(t.startswith("phase 0.5: secondary eclipse? (SNR ") for t in titles)
    [fold] = [a for a in figure.axes if a.get_title(loc="left") == "folded transit and box model"]
    assert fold.get_xlabel() == "hours from mid-transit"
    model = fold.get_lines()[-1]  # the box: its bottom is the measured depth
    depth = data.ephemeris()[3]
    assert min(model.get_ydata()) == pytest.approx(1.0 - depth)
    texts = [t.get_text() for a in figure.axes for t in a.texts]
    assert "planet-like" in texts and f"{period:.5f} d" in texts
    [raw] = [a for a in figure.axes if a.get_title(loc="left") == "normalised light curve"]
    marks = [line for line in raw.get_lines() if line.get_marker() == "^"]
    gaps = np.diff(marks[0].get_xdata())  # the transits marked one period apart
    assert gaps == pytest.approx(np.full(gaps.size, period))


def test_sheet_of_a_finished_star_shows_the_run_s_rows_without_recomputing_them(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The numbers and signals come from the star's checkpoint (a four-year star's rows
    cost seconds to recompute); they are what a recompute gives. A star the run has no ok
    row for (here: its checkpoint rows taken away) is recomputed."""
    from exoextract.run import one_star
    from exoextract.star import rows as star_rows_module

    with monkeypatch.context() as unfinished:  # as if the run had not finished the star
        unfinished.setattr(one_star.CheckpointStore, "rows_of", lambda self, keys: {})
        recomputed = sheet_data(run_dir, "TIC 90000104")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the stored rows were recomputed")

    monkeypatch.setattr(star_rows_module, "star_rows", refuse)
    stored = sheet_data(run_dir, "TIC 90000104")
    assert stored.signals and len(stored.signals) == len(recomputed.signals)
    for mine, theirs in [
        (stored.values, recomputed.values),
        *zip(stored.signals, recomputed.signals, strict=True),
    ]:
        for name, value in theirs.items():
            if not name.startswith("seconds_"):
                assert _same(mine[name], value), name
    assert stored.folded == recomputed.folded and stored.source == recomputed.source
    monkeypatch.setattr(one_star.CheckpointStore, "rows_of", lambda self, keys: {})
    with pytest.raises(AssertionError, match="recomputed"):
        sheet_data(run_dir, "TIC 90000104")


def test_sheet_recomputes_where_the_stored_rows_cannot_hold_what_it_draws(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run without a search stored no periods (the sheet searches the star itself), and a
    checkpoint from before the signals were stored with it has a row matched to a signal
    with no signal to fold: both are recomputed, never drawn on nothing."""
    from dataclasses import replace

    from exoextract.run import one_star
    from exoextract.run.checkpoint import SIGNALS_COLUMN

    original = one_star.star_task

    def without_search(run: Path, name: str) -> object:
        task, rows = original(run, name)
        settings = replace(task.settings, run_bls=False, run_tls=False)
        return replace(task, settings=settings), rows

    with monkeypatch.context() as patched:
        patched.setattr(one_star, "star_task", without_search)
        patched.setattr(one_star, "stored_rows", lambda *a: pytest.fail("stored rows used"))
        data = sheet_data(run_dir, "TIC 90000104")
    assert np.isfinite(data.ephemeris()[0])
    real_rows_of = one_star.CheckpointStore.rows_of

    def old_checkpoint(self: object, keys: object) -> dict[str, dict[str, object]]:
        rows = real_rows_of(self, keys)  # type: ignore[arg-type]
        for row in rows.values():
            row.pop(SIGNALS_COLUMN, None)
        return rows

    monkeypatch.setattr(one_star.CheckpointStore, "rows_of", old_checkpoint)
    assert one_star.stored_rows(run_dir, ["TIC 90000104"]) is None


def _same(a: object, b: object) -> bool:
    both_nan = isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b)
    return both_nan or a == b


def test_plot_command_writes_the_sheet_and_names_a_wrong_target(run_dir: Path) -> None:
    result = runner.invoke(app, ["plot", str(run_dir), "TIC 90000101"])
    assert result.exit_code == 0, result.output
    path = run_dir / "sheets" / "TIC-90000101.png"
    assert result.stdout.strip() == f"sheet: {path}"
    with Image.open(path) as image:
        assert image.size == (935, 1210)  # 8.5 x 11 inches at 110 dpi
        assert np.asarray(image.convert("L")).std() > 10  # drawn, not blank
    wrong = runner.invoke(app, ["plot", str(run_dir), "TIC 1"])
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith(f"Error: 'TIC 1' is not a target of {run_dir} — give a")


def test_plot_of_a_signal_folds_on_it_and_the_report_and_export_list_signals(
    run_dir: Path, tmp_path: Path
) -> None:
    signals = pd.read_parquet(run_dir / "signals.parquet")
    planet = signals[signals["target_id"] == "TIC 90000104"]
    assert len(planet) >= 1 and planet.iloc[0]["signal_kind"] == "periodic"
    data = sheet_data(run_dir, "TIC 90000104", signal=1)
    assert data.source == "signal 1"
    assert data.ephemeris()[0] == pytest.approx(planet.iloc[0]["signal_period"])
    [flat] = [
        a
        for a in draw_sheet(data).axes
        if a.get_title(loc="left") == "flattened light curve (searched)"
    ]
    legend = [t.get_text() for t in flat.get_legend().get_texts() if t.get_text() != "transits"]
    assert legend == [f"#{i + 1} {k}" for i, k in enumerate(planet["signal_kind"])]
    too_far = runner.invoke(app, ["plot", str(run_dir), "TIC 90000104", "--signal", "9"])
    assert too_far.exit_code == 2
    assert too_far.stderr.startswith(
        f"Error: TIC 90000104 has {len(planet)} signal(s) — choose --signal 1 to {len(planet)}"
    )
    page = build_report(run_dir, tmp_path / "r.html").path.read_text()
    assert "<h2 id='signals'>Every signal</h2>" in page
    assert f"{len(signals)} signals on {signals['target_id'].nunique()} stars" in page
    out = tmp_path / "signals.csv"
    done = runner.invoke(app, ["export", str(run_dir), "-o", str(out), "--signals"])
    assert done.exit_code == 0, done.output
    exported = pd.read_csv(out)
    assert len(exported) == len(signals)
    assert list(exported.columns[:3]) == ["target_id", "signal", "signal_kind"]
    both = runner.invoke(
        app, ["export", str(run_dir), "-o", str(out), "--signals", "--include-failures"]
    )
    assert both.exit_code == 2
    assert "--signals and --include-failures do not go together" in both.stderr


def test_status_figure_bars_are_the_counts() -> None:
    figure = figures.status_figure({"ok": 7, "failed": 2, "no_data": 3})
    [ax] = figure.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    assert dict(zip(labels, widths, strict=True)) == {"ok": 7, "no_data": 3, "failed": 2}
    assert labels[0] == "ok"


def test_separating_features_finds_the_planted_feature() -> None:
    rng = np.random.default_rng(1)
    n = 200
    label = np.where(np.arange(n) < 100, "planet", "false_positive")
    table = pd.DataFrame(
        {
            "label": label,
            "tls_sde": np.where(label == "planet", 20.0, 6.0) + rng.normal(0, 1.0, n),
            "flux_std": rng.normal(0, 1.0, n),  # the same for both
            "vet_odd_even_sigma": rng.normal(0, 1.0, n) + (label == "planet") * 0.8,
            "seconds_tls": rng.normal(0, 1.0, n) + (label == "planet") * 9.0,  # not a feature
        }
    )
    chosen = figures.separating_features(table, figures.groups(table, "label"), count=3)
    assert [name for name, _ in chosen][:2] == ["tls_sde", "vet_odd_even_sigma"]
    assert chosen[0][1] > 0.95 and chosen[1][1] < chosen[0][1]
    assert "seconds_tls" not in dict(chosen)
    drawn = figures.separation_figure(table, figures.groups(table, "label"), chosen)
    assert [a.get_title(loc="left")[:9] for a in drawn.axes] == [
        "tls_sde (",
        "vet_odd_e",
        "flux_std ",
    ]
    one_group = figures.groups(table.drop(columns="label"), None)
    assert figures.separating_features(table, one_group) == []


def test_flagged_figure_shows_each_labels_share() -> None:
    table = pd.DataFrame(
        {"label": ["a", "a", "a", "a", "b", "b"], "vet_transit_like": [1, 1, 1, 0, 0, np.nan]}
    )
    figure = figures.flagged_figure(table, figures.groups(table, "label"))
    [ax] = figure.axes
    shares = {
        t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches, strict=True)
    }
    assert shares == {"a (4)": 0.75, "b (1)": 0.0}


def test_strongest_puts_flagged_first_then_by_sde() -> None:
    table = pd.DataFrame(
        {
            "target_id": ["x", "y", "z", "w"],
            "tls_sde": [30.0, 12.0, np.nan, 15.0],
            "bls_sde": [1.0, 1.0, 40.0, 1.0],
            "vet_transit_like": [0.0, 1.0, 0.0, 1.0],
        }
    )
    assert strongest(table)["target_id"].tolist() == ["w", "y", "z", "x"]


def test_report_page_holds_every_figure_and_links_the_sheets(run_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(run_dir), "-o", str(path), "--sheets", "2"])
    assert result.exit_code == 0, result.output
    page = path.read_text()
    images = re.findall(r"<img src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    sheets = re.findall(r"<figure id='(sheet-[^']+)'>", page)
    assert len(sheets) == 2
    assert len(images) == 6 + 2  # outcomes, timing, throughput, 3 science figures, 2 sheets
    for anchor in sheets:
        assert f"<a href='#{anchor}'>" in page  # the candidates table links each sheet
    assert not re.search(r"(src|href)=['\"]https?:", page)  # nothing fetched: opens offline
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", page)
    assert captions[:7] == [
        "outcomes",
        "seconds per star",
        "throughput",
        "detection statistics",
        "period and depth",
        "flagged planet-like",
        "TIC 90000104",  # the sheets (planet-like first)
    ]
    assert "not drawn, fewer than two labels have five targets with features" in page
    assert "The strongest candidates" in page and "Why targets did not succeed" not in page
    assert f"report: {path} (7 targets, 6 figures, 2 sheets" in result.stdout


def test_report_of_an_interrupted_run_says_so(tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("target,sleep\n" + "\n".join(f"TIC {700 + i},0.5" for i in range(12)))
    out = tmp_path / "cut"
    args = ["--source", "synthetic", "--no-tls", "--workers", "2", "--chunk-size", "2"]
    plugin = ["--extra-feature", "exo_test_plugins:slow", "--quiet"]
    proc = start_cli(["run", str(targets), "--out", str(out), *args, *plugin], tmp_path)
    wait_for(lambda: len(checkpoint_files(out)) >= 2, 120, "two checkpoints")
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C: checkpoints what finished, exits 130
    assert proc.wait(timeout=60) == 130
    done = build_report(out)
    assert done.path == out / "report.html" and done.targets >= 4
    page = done.path.read_text()
    assert "This run is interrupted: " in page
    assert f"exoextract resume {out}" in page


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no Chromium on this machine: `make test` installs Debian's chromium as root")
    return path


@pytest.mark.browser
def test_report_and_sheet_open_in_a_real_browser(run_dir: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    report = build_report(run_dir, tmp_path / "report.html", sheets=1).path
    sheet = run_dir / "sheets" / "TIC-90000100.png"
    runner.invoke(app, ["plot", str(run_dir), "TIC 90000100"])
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=flags)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url[:80]}"))
            page.goto(report.as_uri(), wait_until="load")
            images = page.evaluate(
                "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
            )
            assert len(images) == 6 + 1
            broken = [alt for alt, complete, width in images if not complete or width == 0]
            assert broken == []
            assert page.title().startswith("exoextract report — ")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            page.goto(sheet.as_uri(), wait_until="load")
            width = page.evaluate("document.images[0].naturalWidth")
            assert problems == []
        finally:
            browser.close()
    assert width == 935
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.shape[0] > 3000  # the whole page: header, figures, tables, the sheet
    assert pixels.std() > 20  # real content, not a blank page
    assert (pixels < 128).mean() > 0.01  # text and lines drawn


def test_transit_marks_stay_on_the_data_and_one_checkpoint_is_no_dot() -> None:
    from exoextract.report.figures import throughput_figure
    from exoextract.report.sheet import _observed

    time = np.concatenate([np.arange(0.0, 9.5, 0.02), np.arange(30.0, 39.5, 0.02)])
    mids = 1.0 + 3.0 * np.arange(14)  # 1, 4, ..., 40: 10-28 fall in the gap, 40 after
    kept = _observed(mids, time)
    assert list(kept) == [1.0, 4.0, 7.0, 31.0, 34.0, 37.0]
    figure = throughput_figure([(1000.0, 7)])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["all 7 stars in one checkpoint"] and not figure.axes[0].lines
    two = throughput_figure([(1000.0, 7), (1060.0, 3)])
    assert two.axes[0].lines and two.axes[0].get_ylabel() == "stars"
