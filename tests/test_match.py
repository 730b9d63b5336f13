"""A candidate row describes its candidate: its signal (period and epoch matched, a multiple
the data allow named), else its catalog ephemeris measured, else NaN with the reason; a
plain target list's row is the star's signal 1, value for value; every signal row agrees
with itself; ``exoextract check`` says so of a run folder, and says when it does not."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_signals import QUARTER, with_transits
from typer.testing import CliRunner

from exoextract.cli.commands import app
from exoextract.run.check import check_run, per_signal_columns
from exoextract.run.runner import start_run
from exoextract.science.synthetic import StarSpec, make_lightcurve, write_fits
from exoextract.star.rows import star_rows
from exoextract.star.task import Candidate

from conftest import fast_settings, star_context

START = 131.5  # the synthetic quarter's first cadence (BKJD)
B = (5.3, START + 1.1, 1.5e-3, 0.15)  # period, t0, depth, duration
C = (13.7, START + 4.0, 1.0e-3, 0.2)


def rows_for(lc: Any, *candidates: Candidate, **settings: Any) -> tuple[dict[str, Any], list]:
    table = star_rows(star_context(lc, **settings), list(candidates))  # type: ignore[arg-type]
    return table.rows, table.signals


def candidate(key: str, period: float | None, t0: float | None, duration: float | None = None):  # type: ignore[no-untyped-def]
    return Candidate(key=key, period=period, t0=t0, duration=duration)


def same(a: Any, b: Any) -> bool:
    """Equal, or both NaN."""
    return bool(a == b) or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    )


def near(value: float, target: float, tolerance: float = 1e-3) -> bool:
    return math.isfinite(value) and abs(value / target - 1) < tolerance


@pytest.fixture(scope="module")
def two_planets() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Two planets, a third below detection, a fourth with no epoch and no signal, and a
    catalog listing the second before the first."""
    faint = (8.9, START + 2.5, 1.5e-4, 0.15)  # SNR about 4: no signal
    lc = with_transits(QUARTER, B, C, faint)
    return rows_for(
        lc,
        candidate("K1.02", 13.7, C[1] + 13.7 * 3, 0.2),  # an epoch three orbits later
        candidate("K1.01", 5.3, B[1], 0.15),
        candidate("K1.03", 8.9, faint[1], 0.15),
        candidate("K1.04", 3.1, None, None),
    )


def test_each_candidate_row_is_its_own_signal(two_planets: Any) -> None:
    rows, signals = two_planets
    for key, period in (("K1.01", 5.3), ("K1.02", 13.7)):
        row = rows[key]
        assert row["match"] == "signal", row["match_reason"]
        signal = signals[int(row["match_signal"]) - 1]
        assert signal["signal_candidate_key"] == key
        assert near(signal["signal_period"], period, 0.005)
        assert row["match_factor"] == 1.0 and abs(row["match_epoch_offset"]) < 0.5
        for column in per_signal_columns(pd.DataFrame([row])):
            if column.startswith(("bls_", "tls_", "vet_")):
                assert same(row[column], signal[column]), (key, column)
    assert rows["K1.01"]["match_signal"] != rows["K1.02"]["match_signal"]


def test_a_candidate_below_detection_is_measured_at_its_catalog_ephemeris(two_planets: Any) -> None:
    rows, signals = two_planets
    faint = rows["K1.03"]
    assert faint["match"] == "catalog", faint["match_reason"]
    assert "measured at the catalog's ephemeris" in faint["match_reason"]
    assert near(faint["bls_period"], 8.9) and near(faint["tls_period"], 8.9)
    assert abs((faint["bls_t0"] - (START + 2.5) + 4.45) % 8.9 - 4.45) < 0.1
    assert faint["vet_uses_tls"] == 0.0 and faint["vet_transit_like"] == 0.0
    assert faint["vet_n_transits"] >= 9
    assert not any(near(s["signal_period"], 8.9, 0.01) for s in signals)
    lost = rows["K1.04"]
    assert lost["match"] == "none" and "no epoch" in lost["match_reason"]
    assert math.isnan(lost["bls_period"]) and math.isnan(lost["vet_depth"])
    assert lost["bls_reason"] == lost["match_reason"]


def test_a_plain_row_is_signal_1_and_a_star_without_signals_says_so() -> None:
    rows, signals = rows_for(with_transits(QUARTER, B, C), Candidate(key="star"))
    row = rows["star"]
    assert row["match"] == "signal" and row["match_signal"] == 1.0
    for column, value in signals[0].items():
        if column.startswith(("bls_", "tls_", "vet_")):
            assert same(row[column], value), column
    quiet, none = rows_for(make_lightcurve(QUARTER), Candidate(key="star"))
    assert none == [] and quiet["star"]["match"] == "none"
    assert quiet["star"]["match_reason"].startswith("no signal on the star (the first search's")
    assert math.isnan(quiet["star"]["tls_period"]) and math.isnan(quiet["star"]["vet_depth"])
    assert quiet["star"]["signals_found"] == 0.0


def test_a_signal_at_a_multiple_the_data_allow_is_matched_and_agrees_with_itself() -> None:
    """Transits at 5 and 45 days, none where 20-day steps would put the others: the signal
    is reported at 40 d, a 20-day catalog candidate is it (factor 2), and every period of
    its row is 40 d."""
    lc = with_transits(QUARTER, (40.0, START + 5.0, 2e-3, 0.3))
    time = np.asarray(lc.time)
    gaps = np.zeros(time.size, dtype=bool)
    for day in (25.0, 65.0, 85.0):
        gaps |= np.abs(time - (START + day)) < 1.0
    rows, signals = rows_for(lc[~gaps], candidate("K2.01", 20.0, START + 5.0, 0.3))
    [signal] = [s for s in signals if s["signal_kind"] != "single"]
    row = rows["K2.01"]
    assert row["match"] == "signal" and row["match_factor"] == 2.0, row["match_reason"]
    for found in (signal, row):
        assert near(found["bls_period"], found.get("signal_period", signal["signal_period"]))
        assert near(found["tls_period"], signal["signal_period"])


def test_an_eclipsing_binary_listed_at_twice_its_signal_is_that_signal() -> None:
    """Two equal eclipses a period: the search finds half the catalog's period; the row is
    that signal, named as half of the catalog's."""
    binary = replace(QUARTER, kind="eb", period=6.2, t0=2.0, depth=4e-3, secondary_depth=4e-3)
    rows, signals = rows_for(make_lightcurve(binary), candidate("EB.01", 6.2, START + 2.0, 0.12))
    row = rows["EB.01"]
    assert row["match"] == "signal", row["match_reason"]
    assert (
        row["match_factor"] == pytest.approx(0.5) and "1/2 of the catalog's" in row["match_reason"]
    )
    assert near(signals[int(row["match_signal"]) - 1]["signal_period"], 3.1, 0.005)


def test_a_single_event_is_matched_by_its_epoch_and_measured() -> None:
    lc = with_transits(QUARTER, B, (1e4, START + 61.3, 3e-3, 0.4))
    rows, signals = rows_for(
        lc, candidate("K3.01", 5.3, B[1], 0.15), candidate("K3.02", 250.0, START + 61.3, 0.4)
    )
    row = rows["K3.02"]
    assert row["match"] == "signal", row["match_reason"]
    single = signals[int(row["match_signal"]) - 1]
    assert single["signal_kind"] == "single"
    assert single["vet_depth"] == pytest.approx(3e-3, rel=0.3)  # measured: depth, its SNR
    assert single["vet_depth_snr_red"] > 10 and math.isnan(single["vet_odd_even_sigma"])
    assert single["bls_reason"].startswith("a single event")


def test_a_catalog_period_that_drifts_across_the_data_is_its_signal_when_on_its_epoch() -> None:
    """The catalog's period 0.25 % long (from fewer transits than these data hold): its
    ephemeris drifts 1.5 durations off the planet's transits by the quarter's end. On its
    epoch (a transit there, in the data) the row is the planet's signal and says the drift;
    an epoch off the transits, one outside the data (where the drift cannot be told from
    another object's), or a period further off than the data resolve, is not matched."""
    lc = with_transits(QUARTER, B)
    long = B[0] * 1.0025
    cases = {
        "on": (long, B[1]),
        "off": (long, B[1] + 2 * B[3]),
        "before": (long, B[1] - 20 * long),
        "further": (B[0] * 1.005, B[1]),
    }
    rows, signals = rows_for(lc, *(candidate(k, p, t0, B[3]) for k, (p, t0) in cases.items()))
    [planet] = [i for i, s in enumerate(signals) if near(s["signal_period"], B[0], 1e-3)]
    row = rows["on"]
    assert row["match"] == "signal" and row["match_signal"] == planet + 1, row["match_reason"]
    assert abs(row["match_epoch_offset"]) > 1 and "drifts up to" in row["match_reason"]
    for column, value in signals[planet].items():
        if column.startswith(("bls_", "tls_", "vet_")):
            assert same(row[column], value), column
    for key in ("off", "before", "further"):
        assert rows[key]["match"] == "catalog", (key, rows[key]["match_reason"])


# ---------------------------------------------------------------- a run, and its check
def _run(tmp_path: Path) -> Path:
    trains = ((5.3, 1.1, 1.5e-3, 0.15), (13.7, 4.0, 1e-3, 0.2))  # B and C, t0 from the start
    spec = replace(QUARTER, number=4_400_009, companions=trains)
    folder = tmp_path / "data"
    write_fits(spec, folder)
    csv = tmp_path / "koi.csv"
    csv.write_text(
        "kepid,kepoi_name,koi_disposition,koi_period,koi_time0bk,koi_duration\n"
        f"4400009,K09009.02,CANDIDATE,13.7,{C[1]:.4f},4.8\n"
        f"4400009,K09009.01,CONFIRMED,5.3,{B[1]:.4f},3.6\n"
    )
    start_run(csv, fast_settings(data_dir=str(folder), workers=1), out_dir=tmp_path / "run")
    return tmp_path / "run"


def test_a_runs_tables_pass_the_check_and_name_each_others_rows(tmp_path: Path) -> None:
    run = _run(tmp_path)
    checked = check_run(run)
    assert checked.ok, checked.problems
    assert (checked.rows, checked.signals) == (2, 2)
    features = pd.read_parquet(run / "features.parquet")
    signals = pd.read_parquet(run / "signals.parquet")
    for record in features.to_dict("records"):
        signal = signals[signals["signal"] == record["match_signal"]].iloc[0]
        assert signal["candidate"] == record["candidate"]
    result = CliRunner().invoke(app, ["check", str(run)])
    assert result.exit_code == 0, result.output
    assert "2 rows and 2 signals keep every invariant" in result.output


@pytest.mark.unchecked_runs
def test_the_check_finds_a_row_that_describes_another_signal(tmp_path: Path) -> None:
    run = _run(tmp_path)
    path = run / "features.parquet"
    table = pd.read_parquet(path)
    table.loc[0, "tls_period"] = table.loc[1, "tls_period"]  # as 0.3 did: another's period
    table.to_parquet(path)
    signals = pd.read_parquet(run / "signals.parquet")
    signals.loc[0, "bls_period"] = 2 * signals.loc[0, "signal_period"]
    signals.to_parquet(run / "signals.parquet")
    problems = check_run(run).problems
    assert any("K09009.02: tls_period" in p for p in problems), problems
    assert any("signal 1: bls_period" in p for p in problems), problems
    result = CliRunner().invoke(app, ["check", str(run)])
    assert result.exit_code == 5
    assert "problem(s) in 2 rows and 2 signals" in result.output


# ---------------------------------------------------------------- four years, short periods
@pytest.mark.slow
def test_short_periods_on_four_years_are_found_at_their_period_once() -> None:
    """Sixteen quarters with planets at 0.58 d and 2.9 d (the regime where the fold read
    past its rows and mislabelled its periods): each a signal at its period, flagged, and
    no period reported twice."""
    spec = StarSpec(
        number=4_400_016,
        mission="Kepler",
        kind="quiet",
        noise=2e-4,
        red_noise=0.0,
        segments=16,
        seed=16,
        companions=((0.58, 0.21, 1.2e-4, 0.063), (2.9, 1.3, 2e-4, 0.108)),
    )
    rows, signals = rows_for(make_lightcurve(spec), Candidate(key="star"))
    periodic = [s for s in signals if s["signal_kind"] == "periodic"]
    for period in (0.58, 2.9):
        [found] = [s for s in periodic if near(s["signal_period"], period, 2e-3)]
        assert found["vet_transit_like"] == 1.0, (period, found["vet_reason"])
        assert near(found["bls_period"], found["signal_period"])
        assert near(found["tls_period"], found["signal_period"])
    periods = sorted(s["signal_period"] for s in periodic)
    assert all(b / a - 1 > 1e-3 for a, b in itertools.pairwise(periods)), periods
    assert rows["star"]["match_signal"] == 1.0
