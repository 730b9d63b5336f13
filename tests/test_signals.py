"""Every signal of a star: periodic signals one after another, single events, pairs."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from exoextract.errors import InputError
from exoextract.run.runner import start_run
from exoextract.science.synthetic import StarSpec, make_lightcurve, transit_model, write_fits
from exoextract.settings import load_settings

from conftest import fast_settings, star_context

QUARTER = StarSpec(number=4_400_001, mission="Kepler", kind="quiet", noise=2e-4, seed=11)


def with_transits(spec: StarSpec, *trains: tuple[float, float, float, float]) -> Any:
    """The star's light curve times transit trains of (period, t0, depth, duration); a
    period longer than the data makes a single event."""
    lc = make_lightcurve(spec)
    time = np.asarray(lc.time, dtype=float)
    model = np.ones_like(time)
    for period, t0, depth, duration in trains:
        model *= transit_model(time, period, t0, depth, duration)
    lc.flux = lc.flux * model
    return lc


def signals_of(lc: Any, **settings: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the star's row read alone, its signals) as a worker computes them."""
    from exoextract.star.rows import star_rows
    from exoextract.star.task import Candidate

    table = star_rows(star_context(lc, **settings), [Candidate(key="star")])  # type: ignore[arg-type]
    return table.rows["star"], table.signals


def near(value: float, target: float, tolerance: float = 0.01) -> bool:
    return math.isfinite(value) and abs(value / target - 1.0) < tolerance


def test_two_planets_and_a_single_event_are_three_signals() -> None:
    start = 131.5
    lc = with_transits(
        QUARTER,
        (5.3, start + 1.1, 1.5e-3, 0.15),
        (13.7, start + 4.0, 1.0e-3, 0.2),
        (1e4, start + 61.3, 3e-3, 0.4),  # one transit of a long-period planet
    )
    row, found = signals_of(lc)
    kinds = [(s["signal_kind"], s["signal_period"]) for s in found]
    periodic = [s for s in found if s["signal_kind"] == "periodic"]
    assert len(periodic) == 2, kinds
    assert near(periodic[0]["signal_period"], 5.3) and periodic[0]["vet_transit_like"] == 1.0
    assert near(periodic[1]["signal_period"], 13.7) and periodic[1]["vet_transit_like"] == 1.0
    single = [s for s in found if s["signal_kind"] == "single"]
    assert len(single) == 1, kinds
    assert abs(single[0]["signal_t0"] - (start + 61.3)) < 0.2
    assert math.isnan(single[0]["signal_period"]) and math.isnan(single[0]["vet_transit_like"])
    assert single[0]["vet_reason"] == "a single event: no period to vet"
    assert row["signals_found"] == 3.0 and row["signals_single"] == 1.0
    # the star's own row is its strongest signal, as it was before signals were kept
    assert near(row["tls_period"], 5.3)
    assert periodic[0]["tls_period"] == row["tls_period"]


def test_two_transits_beyond_half_the_baseline_are_a_pair() -> None:
    start = 131.5
    lc = with_transits(QUARTER, (4.1, start + 0.7, 1.2e-3, 0.12), (55.0, start + 20.0, 2e-3, 0.3))
    _, found = signals_of(lc)
    pair = [s for s in found if s["signal_kind"] == "pair"]
    assert len(pair) == 1, [(s["signal_kind"], s["signal_period"]) for s in found]
    assert near(pair[0]["signal_period"], 55.0, 0.005)
    assert pair[0]["signal_events"] == 2.0
    assert pair[0]["vet_transit_like"] == 1.0, pair[0]["vet_reason"]
    assert pair[0]["vet_reason"].startswith("passed every rule: pair SNR")
    assert math.isfinite(pair[0]["bls_depth"])  # refined by BLS at the pair's period


def test_two_events_of_different_depths_stay_two_single_events() -> None:
    start = 131.5
    lc = with_transits(QUARTER, (1e4, start + 20.0, 2e-3, 0.3), (1e4, start + 75.0, 5e-3, 0.3))
    _, found = signals_of(lc)
    assert sorted(s["signal_kind"] for s in found) == ["single", "single"]
    assert sorted(round(s["signal_t0"] - start) for s in found) == [20, 75]


def test_many_alike_dips_are_never_a_flagged_two_transit_signal() -> None:
    """An active star's dips of one depth: which two would belong together is not known, so
    two of them that happen to fit a period are not flagged, and none are paired."""
    start = 131.5
    events = [(1e4, start + t, 2.5e-3, 0.25) for t in (9.0, 23.5, 41.0, 58.5, 77.0)]
    _, found = signals_of(with_transits(QUARTER, *events))
    assert len(found) >= 4
    assert not [s for s in found if s["signal_kind"] == "pair"]
    assert not [s for s in found if s["vet_transit_like"] == 1.0]
    two = [s for s in found if s["signal_kind"] == "periodic"]
    assert all(s["vet_reason"].startswith("a single event on the star is like") for s in two)


def test_a_quiet_star_has_no_signal_and_costs_one_search() -> None:
    row, found = signals_of(make_lightcurve(QUARTER))
    assert found == [] and row["signals_found"] == 0.0
    assert row["seconds_signals"] < 0.5 * (row["seconds_bls"] + row["seconds_tls"])


def test_a_later_search_below_the_threshold_stops_before_vetting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search after a lone planet finds only noise: it ends at the box search or at
    TLS's SDE, never vetting what it will not report; a second planet's search is vetted."""
    from exoextract.features import signals as module

    calls: list[tuple[int, list[str]]] = []
    compute = module.features.compute

    def recording(ctx: Any, families: list[Any]) -> dict[str, Any]:
        calls.append((ctx.time.size, [f.name for f in families]))
        return compute(ctx, families)

    monkeypatch.setattr(module.features, "compute", recording)
    start = 131.5
    row, found = signals_of(with_transits(QUARTER, (5.3, start + 1.1, 1.5e-3, 0.15)))
    star = max(size for size, _ in calls)
    later = [names for size, names in calls if size < star]  # searches with a signal cut
    assert len(found) == 1 and row["signals_searches"] == 1.0
    assert later and all("vet" not in names for names in later), later
    calls.clear()
    lc = with_transits(QUARTER, (5.3, start + 1.1, 1.5e-3, 0.15), (13.7, start + 4.0, 1e-3, 0.2))
    _, found = signals_of(lc)
    assert len(found) == 2
    star = max(size for size, _ in calls)
    later = [names for size, names in calls if size < star]
    assert ["vet"] in later, calls  # the search that found the second planet was vetted


def test_a_box_peaks_sde_stands_out_on_a_transit_not_on_noise() -> None:
    from exoextract.features import tls

    start = 131.5
    transit = star_context(with_transits(QUARTER, (5.3, start + 1.1, 1.5e-3, 0.15)))
    noise = star_context(make_lightcurve(QUARTER))
    assert tls.box_sde(transit) > 3 * tls.box_sde(noise)  # type: ignore[arg-type]
    assert tls.box_sde(noise) < 9.0  # type: ignore[arg-type]


def test_max_signals_bounds_them_and_zero_is_refused() -> None:
    start = 131.5
    lc = with_transits(QUARTER, (5.3, start + 1.1, 1.5e-3, 0.15), (13.7, start + 4.0, 1e-3, 0.2))
    _, one = signals_of(lc, max_signals=1)
    assert len(one) == 1 and near(one[0]["signal_period"], 5.3)
    with pytest.raises(InputError, match=r"max_signals must be >= 1 \(got 0\): 1 keeps only"):
        load_settings(None, {"max_signals": 0})


# ---------------------------------------------------------------- signals.parquet in a run
def test_a_run_writes_signals_matched_to_the_catalog(tmp_path: Path) -> None:
    spec = replace(
        QUARTER, number=4_400_002, companions=((5.3, 1.1, 1.5e-3, 0.15), (13.7, 4.0, 1e-3, 0.2))
    )
    folder = tmp_path / "data"
    write_fits(spec, folder)
    csv = tmp_path / "koi.csv"
    csv.write_text(
        "kepid,kepoi_name,koi_disposition,koi_period\n"
        "4400002,K09001.01,CONFIRMED,5.3\n"
        "4400002,K09001.02,FALSE POSITIVE,13.7\n"
    )
    settings = fast_settings(data_dir=str(folder), workers=1)
    result = start_run(csv, settings, out_dir=tmp_path / "run")
    assert result.counts == {"ok": 2}
    assert result.signals_path == tmp_path / "run" / "signals.parquet"
    table = pd.read_parquet(result.signals_path)
    assert list(table.columns[:5]) == ["target_id", "candidate", "label", "signal", "signal_kind"]
    periodic = table[table["signal_kind"] == "periodic"].sort_values("signal_period")
    assert list(periodic["candidate"]) == ["K09001.01", "K09001.02"]
    assert list(periodic["label"]) == ["planet", "false_positive"]
    assert list(table["signal"]) == list(range(1, len(table) + 1))
    features = pd.read_parquet(result.features_path)
    assert list(features["signals_found"]) == [float(len(table))] * 2
    assert "signals_json" not in features


@pytest.mark.parametrize("views", [False, True])
def test_each_signal_has_its_own_search_and_vetting_columns(views: bool) -> None:
    start = 131.5
    lc = with_transits(QUARTER, (5.3, start + 1.1, 1.5e-3, 0.15), (13.7, start + 4.0, 1e-3, 0.2))
    _, found = signals_of(lc, run_views=views)
    second = found[1]
    assert near(second["tls_period"], 13.7) and near(second["bls_period"], 13.7)
    assert second["vet_n_transits"] >= 5
    assert second["tls_sde"] >= 9
    assert (len(second.get("view_global") or []) == 2001) is views


def test_an_eclipsing_binarys_secondary_eclipse_is_not_a_second_planet() -> None:
    binary = replace(
        QUARTER, kind="eb", period=7.3, t0=2.0, depth=6e-3, secondary_depth=2e-3, duration=0.2
    )
    _, found = signals_of(make_lightcurve(binary))
    at_period = [s for s in found if near(s["signal_period"], 7.3)]
    assert len(at_period) == 2, [(s["signal_kind"], s["signal_period"]) for s in found]
    assert all(s["vet_transit_like"] == 0.0 for s in found)
    assert at_period[1]["vet_reason"].startswith("at signal 1's period, at phase 0.5")
    assert "an eclipsing binary" in at_period[0]["vet_reason"]


def test_two_transits_with_a_gap_between_report_the_longer_period_and_its_alias() -> None:
    """Transits at 5 and 45 days, no data where 20 days would put the others: the data
    allow 40 days and 20."""
    start = 131.5
    lc = with_transits(QUARTER, (40.0, start + 5.0, 2e-3, 0.3))
    time = np.asarray(lc.time)
    gaps = np.zeros(time.size, dtype=bool)
    for day in (25.0, 65.0, 85.0):
        gaps |= np.abs(time - (start + day)) < 1.0
    _, found = signals_of(lc[~gaps])
    [signal] = [s for s in found if s["signal_kind"] != "single"]
    assert near(signal["signal_period"], 40.0, 0.005)
    assert signal["signal_aliases"] == 1.0
