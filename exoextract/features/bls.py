"""Box Least Squares: the fast blind search, refined at full resolution with astropy.

A per-signal family: every signal of a star, and every candidate row, has its ``bls_``
columns measured at its own ephemeris (:func:`at`). The signal's period, epoch and
duration are refined by astropy's ``BoxLeastSquares`` on the points within four durations
of its transits (periods within 0.05 % of the signal's, durations 0.6-1.5 times its own;
the signal's own ephemeris is kept where the refined epoch moves by more than half a
duration), and every column comes from that box on the whole light curve (the other
signals' transits taken out). ``bls_sde`` and ``bls_n_periods`` describe the search that
found the signal: the box spectrum's SDE at the signal's period (for a candidate measured
at its catalog ephemeris, the first search's at the catalog period; NaN for a pair of
single events, which no search over periods reached).

The search itself (:func:`compute`, inside each search for signals): ``bls_mode = "fast"``
(default) takes the period from the shared fast box search
(:mod:`exoextract.science.blind_search`: a fast-folding algorithm over every trial period
from ``period_min`` to half the baseline, binned per period octave at ``bls_oversample``
bins per shortest plausible duration), refined with astropy on a fine grid three search
steps either side; ``bls_mode = "full"``: astropy's BLS over the whole grid (the frequency
step follows the transit duration expected at each period, searched one period octave at a
time with only its plausible durations) - several times slower on long baselines, kept for
comparison.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable
from exoextract.science import blind_search as blindsearch
from exoextract.science.search import Spectrum
from exoextract.science.search.durations import octave_edges, physical_duration, plausible_durations

SCOPE = "signal"

COLUMNS = (
    Column("bls_period", "d", "Period of the highest BLS log-likelihood peak."),
    Column("bls_t0", "d (mission time: BTJD or BKJD)", "Mid-time of the first transit."),
    Column("bls_duration", "d", "Best box duration among the trial durations."),
    Column("bls_depth", "relative flux", "Box depth (fractional flux decrement)."),
    Column("bls_depth_err", "relative flux", "Uncertainty of the box depth."),
    Column("bls_snr", "", "Depth divided by its uncertainty."),
    Column(
        "bls_log_likelihood", "", "BLS power: log-likelihood of the best box model over a constant."
    ),
    Column(
        "bls_sde",
        "",
        "Signal detection efficiency of the box search at this period: (power - mean) / std "
        "of the spectrum of the search that found the signal.",
    ),
    Column("bls_depth_odd", "relative flux", "Box depth of odd-numbered transits."),
    Column("bls_depth_even", "relative flux", "Box depth of even-numbered transits."),
    Column("bls_odd_even_sigma", "sigma", "Odd/even depth difference over its uncertainty."),
    Column(
        "bls_harmonic_delta_log_likelihood",
        "",
        "Log-likelihood of a sinusoid at this period minus that of the box (above zero: "
        "a variable star fits better than a transit).",
    ),
    Column("bls_n_transits", "count", "Transits at this ephemeris with data in them."),
    Column("bls_n_periods", "count", "Trial periods of the search that found the signal."),
)
DETECTION = ("bls_sde", "bls_n_periods")  # the search's, not the fit's: from the Ephemeris

GRID_DURATION_FRACTION = 0.5  # full mode: drift < 1/oversample of half a Sun-like transit
REFINE_STEPS = 3.0  # fast mode: refine this many search steps either side of the peak
REFINE_PERIODS = 41
AT_WINDOW = 5e-4  # at an ephemeris: periods within this fraction of the signal's
AT_PERIODS = 9
AT_DURATIONS = (0.6, 0.8, 1.0, 1.25, 1.5)  # ... and durations these times its own
NEAR_DURATIONS = 4.0  # ... refined on the points this many durations from a transit


def period_grid(
    baseline: float,
    period_min: float,
    period_max: float,
    shortest_duration: float,
    oversample: float,
) -> np.ndarray:
    """Ascending trial periods, uniform in phase drift rather than in frequency.

    At frequency f the step is ``q / (oversample * baseline)`` in cycles, with q half the
    central duration of a Sun-like star's transit at that period (never below the shortest
    trial duration), so a transit cannot slip between two trial periods.
    """
    f_min, f_max = 1.0 / period_max, 1.0 / period_min
    freqs = []
    f = f_min
    while f <= f_max:
        freqs.append(f)
        period = 1.0 / f
        q = max(shortest_duration, GRID_DURATION_FRACTION * float(physical_duration(period)))
        f += q / (oversample * baseline * period)
    return np.sort(1.0 / np.asarray(freqs))


def segmented_power(
    model: Any, periods: np.ndarray, durations: np.ndarray
) -> dict[str, np.ndarray]:
    """BLS one period octave at a time, each with only its plausible durations.

    astropy bins each folded light curve at the shortest trial duration, so searching long
    periods with 1-hour boxes costs bins nobody needs; per octave, the shortest box grows
    with the period and the search over a long baseline gets several times cheaper.
    """
    edges = octave_edges(float(periods[0]), float(periods[-1]))
    parts: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "period",
            "power",
            "depth",
            "depth_err",
            "duration",
            "transit_time",
            "log_likelihood",
        )
    }
    for low, high in itertools.pairwise(edges):
        chosen = periods[(periods >= low) & (periods < high)]
        if chosen.size == 0:
            continue
        trial = plausible_durations(durations, float(chosen[0]), float(chosen[-1]))
        if trial.size == 0:
            continue
        result = model.power(chosen, trial, objective="likelihood")
        for key, values in parts.items():
            values.append(np.asarray(getattr(result, key), dtype=float))
    if not parts["period"]:
        raise NotComputable("no trial duration fits any trial period")
    return {key: np.concatenate(values) for key, values in parts.items()}


def compute(ctx: FeatureContext) -> dict[str, Any]:
    from astropy.timeseries import BoxLeastSquares

    settings = ctx.settings
    baseline, pmin, pmax = blindsearch.limits(ctx)
    durations = blindsearch.trial_durations(settings)
    if settings.bls_mode == "full":
        flux, err = ctx.search_flux_for(pmax)
        model = BoxLeastSquares(ctx.time, flux, dy=err)
        periods = period_grid(baseline, pmin, pmax, float(durations[0]), settings.bls_oversample)
        result = segmented_power(model, periods, durations)
        power = result["power"]
        spread = float(np.nanstd(power))
        best = int(np.nanargmax(power))
        sde = (power[best] - float(np.nanmean(power))) / spread if spread > 0 else np.nan
        n_periods = int(periods.size)
        finite = np.isfinite(power)
        ctx.shared["bls_full_spectrum"] = Spectrum(
            result["period"][finite], power[finite], np.nan, settings.bls_oversample
        )
    else:
        spectrum = blindsearch.spectrum(ctx)
        peak = int(np.argmax(spectrum.power))
        low, high = spectrum.window(peak, REFINE_STEPS)
        low, high = max(low, pmin), min(high, pmax)
        flux, err = ctx.flux_for(float(spectrum.periods[peak]))
        model = BoxLeastSquares(ctx.time, flux, dy=err)
        fine = np.linspace(low, high, REFINE_PERIODS)
        trial = plausible_durations(durations, low, high)
        result = segmented_power(model, fine, trial if trial.size else durations[:1])
        best = int(np.nanargmax(result["power"]))
        sde, n_periods = spectrum.sde(), spectrum.size
    return _measure(model, result, best, sde, n_periods)


def search_spectrum(ctx: FeatureContext) -> Spectrum:
    """The box spectrum of the search on ``ctx`` (the full mode's where it ran)."""
    full = ctx.shared.get("bls_full_spectrum")
    return full if isinstance(full, Spectrum) else blindsearch.spectrum(ctx)


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    """The columns at one ephemeris (see the module doc)."""
    from astropy.timeseries import BoxLeastSquares

    if ephemeris.single:
        raise NotComputable("a single event: no period to fold a box on")
    period, duration, t0 = ephemeris.period, ephemeris.duration, ephemeris.t0
    if not duration < 0.5 * period:
        raise NotComputable(f"duration {duration:.3f} d is not shorter than half the period")
    flux, err = ctx.flux_for(period)
    near = ephemeris.near(ctx.time, NEAR_DURATIONS)
    if np.count_nonzero(ephemeris.near(ctx.time, 0.5)) == 0:
        raise NotComputable("no data inside any transit of this ephemeris")
    local = BoxLeastSquares(ctx.time[near], flux[near], dy=None if err is None else err[near])
    periods = np.linspace(period * (1 - AT_WINDOW), period * (1 + AT_WINDOW), AT_PERIODS)
    trial = duration * np.array(AT_DURATIONS)
    trial = trial[trial < 0.5 * periods[0]]
    result = local.power(periods, trial, objective="likelihood", oversample=20)
    best = int(np.nanargmax(result.power))
    refined_t0 = float(result.transit_time[best])
    moved = (refined_t0 - t0 + 0.5 * period) % period - 0.5 * period
    if abs(moved) < 0.5 * duration:  # the same transits: take the refined box
        period, duration = float(result.period[best]), float(result.duration[best])
        t0 = t0 + moved
    model = BoxLeastSquares(ctx.time, flux, dy=err)
    return {**measure_at(model, period, duration, t0), **ephemeris.detected(DETECTION)}


def measure_at(model: Any, period: float, duration: float, t0: float) -> dict[str, Any]:
    """Every column but the detection statistics, for one box (astropy's statistics)."""
    stats = model.compute_stats(period, duration, t0)
    depth, depth_err = (float(v) for v in stats["depth"])
    odd, odd_err = (float(v) for v in stats["depth_odd"])
    even, even_err = (float(v) for v in stats["depth_even"])
    odd_even_err = float(np.hypot(odd_err, even_err))
    return {
        "bls_depth_odd": odd,
        "bls_depth_even": even,
        "bls_odd_even_sigma": abs(odd - even) / odd_even_err if odd_even_err > 0 else np.nan,
        "bls_harmonic_delta_log_likelihood": float(stats["harmonic_delta_log_likelihood"]),
        "bls_n_transits": int(np.sum(np.asarray(stats["per_transit_count"]) > 0)),
        "bls_period": period,
        "bls_t0": t0,
        "bls_duration": duration,
        "bls_depth": depth,
        "bls_depth_err": depth_err,
        "bls_snr": depth / depth_err if depth_err > 0 else np.nan,
        "bls_log_likelihood": float(np.sum(stats["per_transit_log_likelihood"])),
    }


def _measure(
    model: Any, result: dict[str, np.ndarray], best: int, sde: float, n_periods: int
) -> dict[str, Any]:
    """The columns for the chosen box (period, duration, epoch) of a BLS result: its own
    depth and likelihood, the rest as :func:`measure_at` measures any box."""
    depth = float(result["depth"][best])
    depth_err = float(result["depth_err"][best])
    period, duration = float(result["period"][best]), float(result["duration"][best])
    return {
        **measure_at(model, period, duration, float(result["transit_time"][best])),
        "bls_depth": depth,
        "bls_depth_err": depth_err,
        "bls_snr": depth / depth_err if depth_err > 0 else np.nan,
        "bls_log_likelihood": float(result["log_likelihood"][best]),
        "bls_sde": sde,
        "bls_n_periods": n_periods,
    }
