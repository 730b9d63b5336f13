"""The fast period search: the fold and the box statistic are exact where they should be,
injected transits are found on short and multi-year baselines, and the modes differ only
where documented."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from exoextract import features
from exoextract.errors import InputError
from exoextract.features import FeatureContext
from exoextract.science.search import box_spectrum, peak_indices
from exoextract.science.search.ffa import band_size, search_band
from exoextract.science.synthetic import StarSpec, make_lightcurve
from exoextract.settings import load_settings

from conftest import star_context


def _brute_best_box(sums: np.ndarray, weights: np.ndarray, durations: list[int]) -> float:
    """Best box log-likelihood of one folded profile, by enumeration."""
    total = weights.sum()
    p = sums.size
    best = 0.0
    for d in durations:
        if 2 * d > p:
            continue
        for j in range(p):
            idx = (j + np.arange(d)) % p
            s_in, w_in = sums[idx].sum(), weights[idx].sum()
            if s_in < 0 and 0 < w_in < total:
                best = max(best, s_in**2 * total / (w_in * (total - w_in)))
    return 0.5 * best


def _expected_shifts(m: int, s: int) -> list[int]:
    """Row offsets the FFA uses for drift s across m rows (its recursive definition: a head
    of the largest power of two below m, the tail after it, the last row moved by s)."""
    if m == 1:
        return [0]
    h = 1 << ((m - 1).bit_length() - 1)
    t = m - h
    at_head = (2 * s * (h - 1) + (m - 1)) // (2 * (m - 1))
    at_tail = (2 * s * (t - 1) + (m - 1)) // (2 * (m - 1))
    head = _expected_shifts(h, at_head)
    tail = _expected_shifts(t, at_tail)
    return head + [x + s - at_tail for x in tail]


@pytest.mark.parametrize("p", [7, 10])
def test_fold_and_box_statistic_match_enumeration(p: int) -> None:
    rng = np.random.default_rng(p)
    n = 8 * p - 3  # not a whole number of rows: the last row is padded with empty bins
    residual = rng.normal(0, 1, n)
    weight = rng.uniform(0.5, 2.0, n)
    weight[rng.choice(n, 5, replace=False)] = 0.0  # gaps
    sums = residual * weight
    pairs = np.empty(2 * n, dtype=np.float32)
    pairs[0::2], pairs[1::2] = sums, weight
    durations = [1, 2, 3]
    out_p = np.empty(band_size(n, p, p))
    out_w = np.empty(out_p.size)
    written = search_band(
        pairs,
        p,
        p,
        np.array(durations, dtype=np.int64),
        np.ones(3, dtype=np.int64),
        float(weight.sum()),
        out_p,
        out_w,
    )
    assert written == 7  # 8 rows: drifts 0..6 of 0..7 bins
    padded_s = np.zeros(8 * p)
    padded_w = np.zeros(8 * p)
    padded_s[:n], padded_w[:n] = sums, weight
    for s in range(written):
        shifts = _expected_shifts(8, s)
        assert shifts[-1] == s and all(abs(x - i * s / 7) <= 1 for i, x in enumerate(shifts))
        folded_s = sum(np.roll(padded_s[i * p : (i + 1) * p], -x) for i, x in enumerate(shifts))
        folded_w = sum(np.roll(padded_w[i * p : (i + 1) * p], -x) for i, x in enumerate(shifts))
        assert out_p[s] == pytest.approx(p / (1 - s / (7 * p)))  # the period it folded
        assert out_w[s] == pytest.approx(_brute_best_box(folded_s, folded_w, durations), rel=1e-4)


def _context(spec: StarSpec, **overrides: object) -> FeatureContext:
    return star_context(make_lightcurve(spec), **overrides)  # type: ignore[return-value]


def _row(ctx: FeatureContext) -> dict[str, float]:
    return features.compute(ctx, [f for f in features.enabled(ctx.settings) if not f.per_candidate])


QUARTER_PLANET = StarSpec(
    number=41,
    mission="Kepler",
    kind="planet",
    period=6.173,
    t0=2.1,
    depth=0.0009,
    duration=0.13,
    noise=2e-4,
    seed=41,
)


def test_spectrum_peak_is_close_to_exact_bls() -> None:
    from astropy.timeseries import BoxLeastSquares

    ctx = _context(QUARTER_PLANET)
    durations = np.array([1.0, 1.5, 2.0, 3.0, 4.5, 6.0, 9.0]) / 24
    spectrum = box_spectrum(ctx.time, ctx.flux, ctx.flux_err, 0.5, 44.0, durations, 3.0)
    assert np.all(np.diff(spectrum.periods) >= 0)
    best = int(np.argmax(spectrum.power))
    assert spectrum.periods[best] == pytest.approx(QUARTER_PLANET.period, rel=2e-3)
    exact = BoxLeastSquares(ctx.time, ctx.flux, ctx.flux_err).power(
        np.linspace(6.15, 6.20, 401), durations, objective="likelihood", oversample=20
    )
    # binned at a third of the shortest box, the fold loses a little of the exact power
    assert 0.75 < spectrum.power[best] / float(np.max(exact.power)) <= 1.02


def test_peak_indices_are_distinct_and_ordered() -> None:
    periods = np.linspace(1, 10, 1000)
    values = np.exp(-(((periods - 3) / 0.01) ** 2)) + 0.5 * np.exp(-(((periods - 7) / 0.01) ** 2))
    chosen = peak_indices(values, periods, 3, 0.01)
    assert [round(float(periods[i])) for i in chosen[:2]] == [3, 7]
    assert all(abs(periods[a] / periods[b] - 1) >= 0.01 for a in chosen for b in chosen if a != b)


def test_the_fit_standing_highest_in_the_spectrum_wins() -> None:
    """Of TLS's candidate fits, the one at the highest (detrended) SDE power is kept, even
    where another fits with a lower chi-squared."""
    from types import SimpleNamespace

    from exoextract.features.tls import _strongest

    grid = np.linspace(1.0, 100.0, 991)
    power = np.zeros(grid.size)
    power[np.searchsorted(grid, 10.0)] = 12.0
    power[np.searchsorted(grid, 80.0)] = 9.0
    long_fit = SimpleNamespace(period=80.01, chi2_min=100.0)
    short_fit = SimpleNamespace(period=10.02, chi2_min=140.0)
    chosen, cell = _strongest([long_fit, short_fit], grid, power)
    assert chosen is short_fit
    assert grid[cell] == pytest.approx(10.0)


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_both_modes_find_a_quarter_planet(mode: str) -> None:
    row = _row(_context(QUARTER_PLANET, bls_mode=mode, tls_mode=mode))
    for family in ("bls", "tls"):
        assert row[f"{family}_period"] == pytest.approx(QUARTER_PLANET.period, rel=2e-3)
    assert row["tls_sde"] > 15 and row["vet_transit_like"] == 1.0
    assert row["tls_fap"] < 1e-3
    assert 0 < row["tls_period_uncertainty"] < 0.01


def test_fast_mode_computes_sde_over_the_whole_search() -> None:
    fast = _row(_context(QUARTER_PLANET))
    full = _row(_context(QUARTER_PLANET, tls_mode="full"))
    # both over TLS's own period grid (fast pools the box search onto it), the fast one
    # continued below the Sun's Roche limit (0.60 d) to period_min, where TLS's stops
    from exoextract.features.tls import ofir_grid

    baseline = 89.0 - 0.1  # the synthetic quarter's span, near enough for these counts
    below = ofir_grid(baseline, 0.5, 0.6016, 3).size
    assert fast["tls_n_periods"] - full["tls_n_periods"] == pytest.approx(below, abs=3)
    assert full["tls_n_periods"] > 1000
    assert fast["bls_n_periods"] > fast["tls_n_periods"]
    # and both are calibrated alike: a strong planet's SDE within a fifth of TLS's own
    assert fast["tls_sde"] == pytest.approx(full["tls_sde"], rel=0.2)


LONG_PLANET = StarSpec(
    number=43,
    mission="Kepler",
    kind="planet",
    period=187.3,  # four transits in two years
    t0=40.0,
    depth=0.0012,
    duration=0.45,
    noise=2e-4,
    red_noise=0.0,
    segments=8,
    seed=43,
)


@pytest.mark.slow
def test_fast_search_finds_a_long_period_planet_in_two_years() -> None:
    row = _row(_context(LONG_PLANET))
    assert row["time_span"] > 700
    assert row["tls_period"] == pytest.approx(LONG_PLANET.period, rel=0.005)
    assert row["bls_period"] == pytest.approx(LONG_PLANET.period, rel=0.005)
    assert row["tls_sde"] > 9
    assert row["vet_transit_like"] == 1.0


@pytest.mark.slow
def test_quiet_two_year_star_is_not_transit_like() -> None:
    quiet = replace(LONG_PLANET, number=44, kind="quiet", depth=0.0, seed=44)
    row = _row(_context(quiet))
    assert row["vet_transit_like"] == 0.0
    assert math.isfinite(row["tls_sde"])


def test_timing_columns_are_written() -> None:
    row = _row(_context(QUARTER_PLANET))
    for family in ("stats", "variability", "bls", "tls", "vet"):
        assert row[f"seconds_{family}"] >= 0
    assert row["seconds_bls"] > 0


@pytest.mark.parametrize("name", ["bls_mode", "tls_mode"])
def test_unknown_search_mode_is_refused(name: str) -> None:
    with pytest.raises(InputError, match=f"unknown {name} 'quick'"):
        load_settings(None, {name: "quick"})


def _search(pairs: np.ndarray, p: int, durations: list[int]) -> tuple[np.ndarray, np.ndarray]:
    n = pairs.size // 2
    out_p = np.empty(band_size(n, p, p))
    out_w = np.empty(out_p.size)
    written = search_band(
        pairs,
        p,
        p,
        np.array(durations, dtype=np.int64),
        np.ones(len(durations), dtype=np.int64),
        float(pairs[1::2].sum()),
        out_p,
        out_w,
    )
    return out_p[:written], out_w[:written]


@pytest.mark.parametrize(("p", "rows"), [(5, 64), (9, 128), (6, 33)])
def test_shifts_longer_than_a_row_wrap_within_it(p: int, rows: int) -> None:
    """Many short rows (a short period on a long baseline): a drift across the rows of
    more than a row's length wraps within the row; no profile is read or written past it."""
    rng = np.random.default_rng(p * rows)
    n = rows * p - 2
    m = rows  # any number of rows: none is added
    sums = rng.normal(0, 1, n)
    weight = rng.uniform(0.5, 2.0, n)
    pairs = np.empty(2 * n, dtype=np.float32)
    pairs[0::2], pairs[1::2] = sums, weight
    durations = [1, 2]
    _, power = _search(pairs, p, durations)
    assert power.size == m - 1
    padded_s, padded_w = np.zeros(m * p), np.zeros(m * p)
    padded_s[:n], padded_w[:n] = sums, weight
    for s in range(m - 1):
        shifts = _expected_shifts(m, s)
        folded_s = sum(np.roll(padded_s[i * p : (i + 1) * p], -x) for i, x in enumerate(shifts))
        folded_w = sum(np.roll(padded_w[i * p : (i + 1) * p], -x) for i, x in enumerate(shifts))
        expected = _brute_best_box(folded_s, folded_w, durations)
        assert power[s] == pytest.approx(expected, rel=1e-3), s


@pytest.mark.parametrize("period", [0.23, 0.58, 0.731, 1.37, 2.41, 3.46])
def test_the_fold_finds_short_periods_on_four_years_at_the_period_it_folded(
    period: float,
) -> None:
    """Four years of 30-minute data with a box train: the search's strongest trial is at
    the injected period (not a multiple, not a trial mislabelled), where a brute-force
    fold of the same data at that period puts the transit in one phase bin."""
    cadence = 0.0204335
    time = np.arange(0.0, 1460.0, cadence)
    time = time[(time % 93.0) > 1.5]  # quarterly gaps
    rng = np.random.default_rng(round(period * 1000))
    duration = 0.06
    flux = 1.0 + rng.normal(0, 1e-3, time.size)
    inside = np.abs((time - 0.3 + 0.5 * period) % period - 0.5 * period) < 0.5 * duration
    flux[inside] -= 1.5e-3
    durations = np.array([1.0, 1.5, 2.0]) / 24.0
    spectrum = box_spectrum(time, flux, None, 0.2, 3.6, durations, 3.0)
    best = float(spectrum.periods[int(np.argmax(spectrum.power))])
    # neighbouring trials are one bin (a third of the shortest duration) of drift over the
    # baseline apart: the strongest is the injected period's trial or the one next to it
    step = durations.min() / 3.0 * period / float(np.ptp(time))
    assert best == pytest.approx(period, abs=step)
    # the brute-force fold at the trial's own period stacks every transit
    phase = (time - 0.3) / best % 1.0
    folded_in = np.minimum(phase, 1 - phase) * best < 0.5 * duration
    assert folded_in.sum() >= 0.9 * inside.sum()
