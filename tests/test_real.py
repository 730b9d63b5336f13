"""The real stars of the shared data folder on the smallest files, with a catalog of their
published planets (tests/data/real_candidates.csv): every published planet a correct
extractor finds is reported at its period and flagged, single transits are single events,
a spotted flare star is not flagged, and each candidate's row describes that candidate
(its signal, or its catalog ephemeris measured), never another object of its star.
(``make bench-real`` runs them all.)"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import pytest

from exoextract.settings import load_settings
from exoextract.star.extract import extract
from exoextract.star.task import Candidate, Task
from exoextract.targets import read_targets

CATALOG = Path(__file__).resolve().parent / "data" / "real_candidates.csv"
FILES = {
    "K2-3": ("K2", 201367065, "k2/*201367065*.fits"),
    "Kepler-10": ("Kepler", 11904151, "kepler/0119/011904151/*.fits"),
    "Kepler-90": ("Kepler", 11442793, "kepler/0114/011442793/*.fits"),
    "GJ 1243": ("Kepler", 9726699, "kepler/0097/009726699/*.fits"),
    "TOI-216": ("TESS", 55652896, "tess/*00055652896*_lc.fits"),
    "WASP-126": ("TESS", 25155310, "tess/*0000000025155310*_lc.fits"),
}


@functools.cache
def _extracted(shared: Path, name: str) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    mission, number, pattern = FILES[name]
    paths = tuple(sorted(str(p) for p in shared.glob(pattern)))
    assert paths, f"{pattern} not in {shared}"
    settings = load_settings(None, {})
    rows = [t for t in read_targets(CATALOG, None, {}, False).targets if t.number == number]
    candidates = tuple(
        Candidate(t.key, t.period, t.t0, t.duration, t.depth, dict(t.row)) for t in rows
    )
    task = Task(name, name, mission, number, settings, candidates, paths=paths)
    found, _, signals = extract(task)
    return found, signals


def star(shared: Path, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the star's first catalog row, its signals)."""
    rows, signals = _extracted(shared, name)
    return next(iter(rows.values())), signals


def rows_of(shared: Path, name: str) -> dict[str, dict[str, Any]]:
    return _extracted(shared, name)[0]


def at(signals: list[dict[str, Any]], period: float) -> list[dict[str, Any]]:
    return [
        s
        for s in signals
        if math.isfinite(s["signal_period"]) and abs(s["signal_period"] / period - 1) < 0.01
    ]


def flagged(signals: list[dict[str, Any]]) -> list[float]:
    return sorted(s["signal_period"] for s in signals if s["vet_transit_like"] == 1.0)


def test_k2_3_all_three_planets_from_the_k2sff_file(shared_data: Path) -> None:
    row, signals = star(shared_data, "K2-3")
    for period in (10.05449, 24.6465, 44.5563):
        [found] = at(signals, period)
        assert found["vet_transit_like"] == 1.0, (period, found["vet_reason"])
        assert found["vet_reason"].startswith("passed every rule")
    assert len(flagged(signals)) == 3
    assert abs(row["tls_period"] - 10.05449) < 0.05  # the star's row: its strongest signal


def test_kepler_10_c_two_transits_beside_b(shared_data: Path) -> None:
    _, signals = star(shared_data, "Kepler-10")
    [b] = at(signals, 0.837495)
    [c] = at(signals, 45.29485)
    assert b["signal_kind"] == "periodic" and b["vet_transit_like"] == 1.0
    assert c["signal_events"] == 2.0 and c["vet_transit_like"] == 1.0, c["vet_reason"]


def test_kepler_90_d_and_the_single_transits_of_g_and_h(shared_data: Path) -> None:
    row, signals = star(shared_data, "Kepler-90")
    [d] = at(signals, 59.74)
    assert d["vet_transit_like"] == 1.0, d["vet_reason"]
    # e (91.94 d) has two transits here, the one between them in Q4's gap: if flagged, it is
    # at a multiple of its period that the data cannot tell from it (its aliases)
    for extra in [s for s in signals if s["vet_transit_like"] == 1.0 and s is not d]:
        k = round(extra["signal_period"] / 91.94)
        assert k >= 1 and abs(extra["signal_period"] / (k * 91.94) - 1) < 0.01, extra
        assert extra["signal_aliases"] >= k - 1 and extra["signal_events"] == 2.0
    singles = sorted(s["signal_depth"] for s in signals if s["signal_kind"] == "single")
    for depth in (3.6e-3, 6.6e-3):  # g and h, each its own event
        assert any(abs(d / depth - 1) < 0.3 for d in singles), singles
    assert not at(signals, 114.59)  # g and h are never paired
    assert row["signals_single"] >= 2


def test_gj_1243_spots_and_flares_are_not_flagged(shared_data: Path) -> None:
    row, signals = star(shared_data, "GJ 1243")
    assert flagged(signals) == []
    # its row (no catalog ephemeris) is its strongest signal, not planet-like: since the FFA
    # folds the exact row count, two of its dips 41.8 d apart are a two-transit signal
    # (rejected: a secondary eclipse), the other dips single events
    assert row["match"] == "signal" and row["match_signal"] == 1.0
    assert row["vet_transit_like"] != 1.0
    first = signals[0]
    if first["signal_kind"] == "single":
        assert row["vet_reason"] == "a single event: no period to vet"
    else:
        assert first["signal_events"] == 2.0 and first["vet_transit_like"] == 0.0
    assert sum(s["signal_kind"] == "single" for s in signals) >= 3


def test_toi_216_c_is_a_deep_single_event(shared_data: Path) -> None:
    _, signals = star(shared_data, "TOI-216")
    deep = [s for s in signals if s["signal_kind"] == "single" and s["signal_depth"] > 0.01]
    assert len(deep) == 1
    assert abs(deep[0]["signal_t0"] - 1331.3) < 0.3
    assert math.isnan(deep[0]["vet_transit_like"])


@pytest.mark.parametrize("name", ["WASP-126"])
def test_a_hot_jupiter_in_one_sector_is_the_only_signal(shared_data: Path, name: str) -> None:
    row, signals = star(shared_data, name)
    assert len(signals) == 1 and signals[0]["vet_transit_like"] == 1.0
    assert row["vet_reason"].startswith("passed every rule: SDE")


# ---------------------------------------------------------------- each row, its candidate
def _period(row: dict[str, Any]) -> float:
    return float(row["tls_period"]) if math.isfinite(row["tls_period"]) else row["bls_period"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("K2-3", {"K2-3 b": 10.05449, "K2-3 c": 24.6465, "K2-3 d": 44.5563}),
        ("Kepler-10", {"Kepler-10 b": 0.837495, "Kepler-10 c": 45.29485}),
        ("Kepler-90", {"Kepler-90 d": 59.73667, "Kepler-90 e": 2 * 91.93913}),
    ],
)
def test_each_found_planets_row_carries_its_own_signal(
    shared_data: Path, name: str, expected: dict[str, float]
) -> None:
    rows = rows_of(shared_data, name)
    _, signals = star(shared_data, name)
    for key, period in expected.items():
        row = rows[key]
        assert row["match"] == "signal", (key, row["match_reason"])
        signal = signals[int(row["match_signal"]) - 1]
        assert signal["signal_candidate_key"] == key
        assert abs(signal["signal_period"] / period - 1) < 0.005, (key, signal["signal_period"])
        for column in ("bls_period", "tls_period"):
            assert abs(row[column] / signal["signal_period"] - 1) < 1e-3, (key, column)
        assert row["vet_transit_like"] == 1.0, (key, row["vet_reason"])
    # Kepler-90 e is reported at twice its period (its transit between fell in Q4's gap)
    if name == "Kepler-90":
        assert rows["Kepler-90 e"]["match_factor"] == 2.0
        assert "2 x the catalog's 91.93913 d" in rows["Kepler-90 e"]["match_reason"]


def test_single_transits_rows_are_their_own_events(shared_data: Path) -> None:
    for name, keys in (("Kepler-90", ("Kepler-90 g", "Kepler-90 h")), ("TOI-216", ("TOI-216 c",))):
        rows = rows_of(shared_data, name)
        _, signals = star(shared_data, name)
        numbers = []
        for key in keys:
            row = rows[key]
            assert row["match"] == "signal", (key, row["match_reason"])
            signal = signals[int(row["match_signal"]) - 1]
            assert signal["signal_kind"] == "single"
            assert abs(signal["signal_t0"] - row["known_t0"]) < 0.5 * signal["signal_duration"]
            numbers.append(row["match_signal"])
            assert math.isnan(row["bls_period"]) and math.isnan(row["tls_period"])
        assert len(set(numbers)) == len(numbers)  # g and h: two events, one each


def test_a_candidate_no_signal_is_is_measured_at_its_catalog_ephemeris(shared_data: Path) -> None:
    rows = rows_of(shared_data, "TOI-216")
    b = rows["TOI-216 b"]  # grazing, two transits, one in the sector's first hour
    assert b["match"] == "catalog", b["match_reason"]
    assert abs(b["bls_period"] / 17.089 - 1) < 1e-3 and abs(b["tls_period"] / 17.089 - 1) < 1e-3
    assert b["vet_n_transits"] == 2.0 and b["vet_depth"] > 1e-3
    kepler90 = rows_of(shared_data, "Kepler-90")
    i = kepler90["Kepler-90 i"]  # about 100 ppm: below detection in three quarters
    assert i["match"] == "catalog" and i["vet_transit_like"] == 0.0
    for key in ("Kepler-90 b", "Kepler-90 c", "Kepler-90 f"):  # no epoch in the catalog
        row = kepler90[key]
        assert row["match"] == "none" and "no epoch" in row["match_reason"]
        assert math.isnan(row["bls_period"]) and math.isnan(row["vet_depth"])


@pytest.mark.parametrize("name", ["K2-3", "Kepler-10", "Kepler-90", "TOI-216"])
def test_no_row_carries_a_period_no_signal_has(shared_data: Path, name: str) -> None:
    rows = rows_of(shared_data, name)
    _, signals = star(shared_data, name)
    periods = [s["signal_period"] for s in signals if math.isfinite(s["signal_period"])]
    for key, row in rows.items():
        period = _period(row)
        if not math.isfinite(period):
            continue
        if row["match"] == "catalog":
            assert abs(period / row["known_period"] - 1) < 1e-3, key
        else:
            assert any(abs(period / p - 1) < 1e-3 for p in periods), (key, period, periods)
