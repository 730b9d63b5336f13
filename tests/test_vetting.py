"""Vetting on long baselines: the correlated-noise depth SNR, its baseline-aware threshold,
the flattening window that keeps long transits, and the flag on a small generated set."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from exoextract.features.vet import decide, red_snr_threshold, transit_like
from exoextract.science.clean import flatten_window
from exoextract.science.synthetic import StarSpec, make_lightcurve, spec_for, transit_model
from exoextract.science.vetting import at_ephemeris
from exoextract.settings import load_settings

from conftest import PER_OCTAVE, star_row


def test_threshold_grows_with_the_baseline() -> None:
    assert red_snr_threshold(89.0) == pytest.approx(6.0, abs=0.01)
    values = [red_snr_threshold(t) for t in (27.0, 89.0, 730.0, 1460.0)]
    assert values == sorted(values)
    assert 6.5 < red_snr_threshold(730.0) < 6.8 < red_snr_threshold(1460.0) < 7.0


def _series(red: bool, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    time = np.arange(0.0, 89.0, 0.0204)
    noise = rng.normal(0, 2e-4, time.size)
    if red:  # correlated over ~12 h, as strong as the white part
        noise += np.convolve(rng.normal(0, 2e-4, time.size), np.ones(25) / 5, "same")
    return time, 1.0 + noise


def test_red_snr_equals_white_snr_when_the_noise_is_white() -> None:
    time, flux = _series(red=False)
    flux = flux * transit_model(time, 7.3, 2.0, 4e-4, 0.2, 0.01)
    metrics = at_ephemeris(time, flux, 7.3, 2.0, 0.2)
    n_in = int(np.sum(np.abs((time - 2.0 + 3.65) % 7.3 - 3.65) < 0.1))
    white = 4e-4 / (2e-4 / math.sqrt(n_in))
    assert metrics["depth_snr_red"] == pytest.approx(white, rel=0.3)
    assert metrics["depth_chi2_red"] == pytest.approx(1.0, abs=0.9)


def test_red_noise_lowers_the_snr_it_would_fake() -> None:
    time, flux = _series(red=True)
    metrics = at_ephemeris(time, flux, 7.3, 2.0, 0.2)
    white_error = np.std(flux) / math.sqrt(np.sum(np.abs((time - 2.0 + 3.65) % 7.3 - 3.65) < 0.1))
    red = metrics["depth_snr_red"]
    assert abs(red) < abs(metrics["depth"] / white_error)  # correlated noise is counted


def test_flatten_window_widens_only_on_long_baselines() -> None:
    settings = load_settings()
    assert flatten_window(settings, 27.4) == 1.0
    assert flatten_window(settings, 89.0) == 1.0
    assert flatten_window(settings, 730.0) == pytest.approx(1.62, abs=0.02)
    assert flatten_window(settings.replace(flatten_transit_factor=0.0), 730.0) == 1.0
    assert flatten_window(settings.replace(period_max=20.0), 730.0) == 1.0


def _row(spec: StarSpec) -> dict[str, float]:
    return star_row(make_lightcurve(spec))  # type: ignore[return-value]


def _two_year_planet(number: int, period: float, t0: float, depth: float) -> StarSpec:
    """A quiet two-year Kepler star (white noise 200 ppm) with a Sun-like transit."""
    return StarSpec(
        number=number,
        mission="Kepler",
        kind="planet",
        period=period,
        t0=t0,
        depth=depth,
        duration=13 / 24 * (period / 365.25) ** (1 / 3),
        noise=2e-4,
        red_noise=0.0,
        segments=8,
        seed=number,
    )


LONG_PLANETS = [
    _two_year_planet(61 + i, *planet)
    for i, planet in enumerate(
        ((94.0, 20.0, 6e-4), (193.0, 27.0, 9e-4), (230.0, 10.0, 9e-4))  # 3 transits of 230 d
    )
]


@pytest.mark.slow
@pytest.mark.parametrize("spec", LONG_PLANETS, ids=lambda s: f"P{s.period:g}")
def test_long_period_planets_in_two_years_are_flagged(spec: StarSpec) -> None:
    row = _row(spec)
    assert row["tls_period"] == pytest.approx(spec.period, rel=0.01)
    assert row["vet_transit_like"] == 1.0
    assert row["vet_n_transits"] >= 3


THREE_TRANSIT_PLANETS = [  # SNR ~12 over three transits on two years of Kepler, quiet stars
    _two_year_planet(71 + i, *planet)
    for i, planet in enumerate(
        ((240.0, 30.0, 2.8e-4), (250.0, 60.0, 3.0e-4), (230.0, 100.0, 2.6e-4))
    )
]


def _found(spec: StarSpec, **overrides: object) -> bool:
    row = star_row(make_lightcurve(spec), **overrides)
    period = row["tls_period"] / spec.period  # type: ignore[operator]
    return abs(period - 1.0) < 0.01 and row["vet_transit_like"] == 1.0


@pytest.mark.slow
def test_three_transit_planets_on_quiet_stars_are_searched_per_octave() -> None:
    """One window for the search (1.6 days on two years) keeps too little of these shallow
    11-hour transits for them to rank among its strongest peaks; on a star without a
    modelled rotation the search folds a window per period octave (2.2 days for the
    longest), which keeps enough — as ``flatten_per_octave`` does on every star."""
    assert all(_found(spec) for spec in THREE_TRANSIT_PLANETS)
    assert all(_found(spec, **PER_OCTAVE) for spec in THREE_TRANSIT_PLANETS)
    one_window = {"flatten_per_octave_unspotted": False}
    assert sum(_found(spec, **one_window) for spec in THREE_TRANSIT_PLANETS) <= 1


FITTED_WIDER = [  # SNR 12 over three transits, quiet stars (two drawn for the benchmark, rounded)
    replace(_two_year_planet(82_000_033, 286.95, 49.16, 2.49e-4), duration=0.387, noise=1.56e-4),
    replace(_two_year_planet(82_000_035, 318.48, 54.03, 3.61e-4), duration=0.422, noise=2.37e-4),
]


@pytest.mark.slow
def test_candidates_are_vetted_on_their_octaves_window() -> None:
    """The search's one window finds these planets at their period, but keeps too little
    depth for the vetting; fitted and vetted on their octave's wider window they pass."""
    assert all(_found(spec) for spec in FITTED_WIDER)
    assert not any(_found(spec, flatten_fit_factor=0.0) for spec in FITTED_WIDER)


@pytest.mark.slow
@pytest.mark.parametrize("spec", LONG_PLANETS, ids=lambda s: f"P{s.period:g}")
def test_long_period_planets_per_octave(spec: StarSpec) -> None:
    """Fits to differently flattened fluxes compare by their improvement over a flat line
    (the raw chi-squared of a narrower window's flux is lower and picked a short period)."""
    row = star_row(make_lightcurve(spec), **PER_OCTAVE)
    assert row["tls_period"] == pytest.approx(spec.period, rel=0.01)
    assert row["vet_transit_like"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("number", [83_400_007, 83_400_011, 83_400_015])
def test_quiet_two_year_stars_with_red_noise_are_not_flagged(number: int) -> None:
    spec = replace(spec_for(number, "Kepler"), kind="quiet", depth=0.0, segments=8)
    assert spec.red_noise > 0
    row = _row(spec)
    assert row["vet_transit_like"] != 1.0  # no signal (its row says so), or not flagged
    assert row["match"] == "none" or row["vet_reason"]


# ------------------------------------------------------------------ spots and few transits
SPOTTED = [  # strongly spotted quiet stars, two years of Kepler: rotation 1.6-20 d
    StarSpec(
        number=7_000_000 + i,
        mission="Kepler",
        kind="quiet",
        depth=0.0,
        noise=noise,
        segments=8,
        seed=1000 + i,
        spot_amplitude=amplitude,
        spot_period=rotation,
        spot_lifetime=lifetime,
    )
    for i, (noise, amplitude, rotation, lifetime) in enumerate(
        (
            (1.2e-4, 0.026, 1.63, 20.0),
            (2.3e-4, 0.0063, 16.7, 25.0),  # flagged at 213 d before the depth-spread rule
            (1.0e-4, 0.017, 2.8, 40.0),
            (1.5e-4, 0.028, 5.8, 15.0),
            (2.0e-4, 0.020, 7.5, 50.0),
            (0.9e-4, 0.018, 10.2, 30.0),
        )
    )
]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPOTTED, ids=lambda s: f"rot{s.spot_period:g}")
def test_spotted_two_year_stars_are_not_flagged(spec: StarSpec) -> None:
    row = _row(spec)
    assert row["vet_transit_like"] != 1.0  # no signal (its row says so), or not flagged
    assert row["var_ls_period"] > 0  # the modulation was measured


SLOW_ROTATOR = StarSpec(  # drawn for the benchmark (rounded): spots 240 x the noise, 27-d rotation
    number=83_060_019,
    mission="Kepler",
    kind="quiet",
    depth=0.0,
    noise=1.086e-4,
    red_noise=0.3,
    spot_amplitude=0.02558,
    spot_period=27.19,
    spot_lifetime=55.4,
    segments=8,
    seed=1_878_333_109,
)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="a known false alarm since the FFA folds the exact row count (#35): the 32.74-d "
    "spot residual now stands highest and passes at depth_snr_red 6.8 >= 6.7; the long set's "
    "quiet and spotted stars gained one such false alarm too (1/60, 0/60 before, same stars)",
)
def test_the_candidate_standing_highest_in_the_spectrum_is_reported() -> None:
    """Of the fitted candidates, the one at the highest SDE power is reported (TLS's own
    choice): here a 33-d fit to spot residuals lowers the chi-squared most and passed the
    vetting; it does not stand highest above its neighbours in the spectrum."""
    row = _row(SLOW_ROTATOR)
    assert row["vet_transit_like"] != 1.0
    assert not abs(row["tls_period"] / 32.74 - 1.0) <= 0.01  # type: ignore[operator]


def test_depth_spread_sees_missing_transits() -> None:
    time, flux = _series(red=False)
    even = flux * transit_model(time, 20.0, 5.0, 1e-3, 0.3, 0.01)
    gone = (np.abs(time - 25.0) < 1.0) | (np.abs(time - 45.0) < 1.0)  # 2 of 5 without a dip
    one_missing = np.where(gone, flux, even)
    steady = at_ephemeris(time, even, 20.0, 5.0, 0.3)
    broken = at_ephemeris(time, one_missing, 20.0, 5.0, 0.3)
    assert steady["depth_spread"] < 0.15 and steady["depth_chi2_red"] < 4
    assert broken["depth_spread"] > 0.5 and broken["depth_chi2_red"] > 5


def _flag(**metrics: float) -> float:
    return _decision(**metrics)[0]


def _decision(**metrics: float) -> tuple[float, str]:
    base = {
        "sin_to_depth": 0.05,
        "odd_even_sigma": 0.5,
        "depth": 1e-3,
        "depth_snr": 12.0,
        "depth_snr_red": 12.0,
        "depth_chi2_red": 1.0,
        "depth_spread": 0.1,
        "n_transits": 6.0,
        "rotation_match": 0.3,
        "rotation_to_depth": 2.0,
        "rotation_period": 10.0,
    }
    flag, why = decide({"tls_sde": 20.0}, {**base, **metrics}, baseline=730.0)
    assert transit_like({"tls_sde": 20.0}, {**base, **metrics}, baseline=730.0) == flag
    return flag, why


def test_the_reason_names_every_rule_that_decided() -> None:
    flag, why = _decision()
    assert flag == 1.0 and why.startswith("passed every rule: SDE 20.0, depth_snr_red 12.0")
    assert _decision(odd_even_sigma=6.2)[1] == "odd and even depths differ by 6.2 sigma >= 5"
    _, why = _decision(n_transits=2.0, depth_spread=0.43)
    assert why == "2 transits without more evidence (depth_spread 0.43 >= 0.3)"
    _, why = _decision(n_transits=2.0, depth_snr_red=8.0, depth_spread=0.43)
    assert why == (
        "2 transits without more evidence (depth_snr_red 8.0 < 10.0, depth_spread 0.43 >= 0.3)"
    )
    _, why = _decision(depth_snr=2.0, secondary_best_depth=3e-4, secondary_best_snr=12.0)
    assert why == (
        "depth_snr 2.0 < 3.5; a secondary eclipse (elsewhere, 0.30 of the depth at 12.0 sigma)"
    )
    _, why = _decision(rotation_match=0.01)
    assert why == "the period lines up with the star's rotation (10.00 d; spots 2.0 x the depth)"
    assert decide({}, {}) == (pytest.approx(float("nan"), nan_ok=True), decide({}, {})[1])
    assert decide({}, {})[1] == "no TLS detection statistic (TLS off or failed)"


def test_the_flag_rules_for_spots_and_few_transits() -> None:
    assert _flag() == 1.0
    # depths that differ beyond noise AND by half the depth: one or two events carry it
    assert _flag(depth_chi2_red=40.0, depth_spread=0.8) == 0.0
    assert _flag(depth_chi2_red=40.0, depth_spread=0.2) == 1.0  # a bright planet's sampling
    assert _flag(depth_chi2_red=2.0, depth_spread=0.9) == 1.0  # many noisy transits
    # on the rotation period (or half, or twice it) of a star spotted deeper than half the dip
    assert _flag(rotation_match=0.01) == 0.0
    assert _flag(rotation_match=0.01, rotation_to_depth=0.1) == 1.0
    assert _flag(rotation_match=0.01, rotation_period=92.0) == 1.0  # a Kepler quarter, not spots
    # a second dip deeper than a tenth of the transit at > 5 sigma: a binary
    assert _flag(secondary_best_depth=3e-4, secondary_best_snr=12.0) == 0.0
    # two transits only with more evidence
    threshold = red_snr_threshold(730.0)
    assert _flag(n_transits=2.0, depth_snr_red=1.6 * threshold, depth_spread=0.1) == 1.0
    assert _flag(n_transits=2.0, depth_snr_red=1.2 * threshold) == 0.0
    assert _flag(n_transits=2.0, depth_snr_red=2 * threshold, depth_spread=0.4) == 0.0
    assert _flag(n_transits=2.0, depth_snr_red=2 * threshold, sin_to_depth=0.2) == 0.0
    assert _flag(n_transits=1.0, depth_snr_red=5 * threshold) == 0.0
    assert _flag(n_transits=2.0, depth_snr_red=2 * threshold, depth=0.14) == 0.0  # a binary?
    assert _flag(n_transits=3.0, depth=0.14) == 1.0  # three or more: the other checks decide


# ------------------------------------------------------------------ planets on spotted stars
def _spotted_planet(number: int, period: float, t0: float, snr: float, noise: float,
                    amplitude: float, rotation: float) -> StarSpec:  # fmt: skip
    """A planet at a given white-noise SNR on a spotted star, two years of Kepler."""
    duration = 13 / 24 * (period / 365.25) ** (1 / 3)
    in_transit = (730.0 / period) * duration / 0.0204335
    return StarSpec(
        number=number, mission="Kepler", kind="planet", period=period, t0=t0,
        depth=snr * noise / math.sqrt(in_transit), duration=duration, noise=noise,
        red_noise=0.0, segments=8, seed=number, spot_amplitude=amplitude,
        spot_period=rotation, spot_lifetime=30.0,
    )  # fmt: skip


SPOTTED_PLANETS = [
    _spotted_planet(7_100_001, 12.3, 4.0, 15.0, 1.5e-4, 4e-3, 2.1),  # rotation < window
    _spotted_planet(7_100_002, 41.0, 17.0, 15.0, 1.2e-4, 1.2e-2, 8.5),
    _spotted_planet(7_100_003, 146.0, 30.0, 15.0, 1.0e-4, 1e-3, 14.0),
    _spotted_planet(7_100_004, 5.2, 1.0, 15.0, 2.0e-4, 5e-3, 1.4),
]


@pytest.mark.slow
def test_planets_on_spotted_stars_are_found_and_flagged() -> None:
    """Recall on a small set of spotted hosts (rotation 1.4-14 d, 10-100 times the noise):
    every planet at its period and flagged transit-like."""
    found = [
        (row["tls_period"] / spec.period, row["vet_transit_like"])
        for spec in SPOTTED_PLANETS
        for row in [_row(spec)]
    ]
    recovered = [abs(ratio - 1.0) < 0.01 and flag == 1.0 for ratio, flag in found]
    assert all(recovered), found


@pytest.mark.slow
def test_a_fast_rotators_planet_needs_the_spot_model() -> None:
    """Without dividing out the 2.1-day rotation first, the 1.6-day window leaves the spots
    in and the search finds them instead of the 12.3-day planet."""
    spec = SPOTTED_PLANETS[0]
    row = star_row(make_lightcurve(spec), flatten_rotation=False)
    assert not (
        abs(row["tls_period"] / spec.period - 1.0) < 0.01 and row["vet_transit_like"] == 1.0
    )  # type: ignore[operator]
    assert math.isnan(row["rotation_removed_period"])  # type: ignore[arg-type]


def test_the_out_of_transit_periodogram_is_computed_once_per_ephemeris(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search's vetting and its signal's vetting ask for the star's rotation away from
    the same transits: one Lomb-Scargle periodogram for both (0.2 s on four years of
    Kepler), and the same verdicts as two."""
    from exoextract.features import vet

    calls: list[int] = []
    real = vet.lomb_scargle_peak

    def counting(time: np.ndarray, flux: np.ndarray) -> object:
        calls.append(time.size)
        return real(time, flux)

    monkeypatch.setattr(vet, "lomb_scargle_peak", counting)
    lc = make_lightcurve(spec_for(90_000_104))  # a planet host: kind = id % 4 == 0
    row = star_row(lc)
    assert row["vet_transit_like"] == 1.0
    assert len(calls) == len(set(calls)) >= 1, calls
