"""The real stars of the shared data folder, blind, on the smallest files: every published
planet a correct extractor finds is reported at its period and flagged, single transits are
single events, a spotted flare star is not flagged. (``make bench-real`` runs them all.)"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from exoextract.extract import extract
from exoextract.settings import load_settings
from exoextract.task import Candidate, Task

FILES = {
    "K2-3": ("K2", 201367065, "k2/*201367065*.fits"),
    "Kepler-10": ("Kepler", 11904151, "kepler/0119/011904151/*.fits"),
    "Kepler-90": ("Kepler", 11442793, "kepler/0114/011442793/*.fits"),
    "GJ 1243": ("Kepler", 9726699, "kepler/0097/009726699/*.fits"),
    "TOI-216": ("TESS", 55652896, "tess/*00055652896*_lc.fits"),
    "WASP-126": ("TESS", 25155310, "tess/*0000000025155310*_lc.fits"),
}


def star(shared: Path, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    mission, number, pattern = FILES[name]
    paths = tuple(sorted(str(p) for p in shared.glob(pattern)))
    assert paths, f"{pattern} not in {shared}"
    settings = load_settings(None, {"run_known": False})
    task = Task(name, name, mission, number, settings, (Candidate(name),), paths=paths)
    rows, _, signals = extract(task)
    return rows[name], signals


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
    assert row["vet_transit_like"] == 0.0 and row["vet_reason"]


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
