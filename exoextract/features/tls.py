"""Transit Least Squares (transitleastsquares 2.0.4), one thread, inside the worker.

A per-signal family: every signal of a star, and every candidate row, has its ``tls_``
columns at its own ephemeris. A signal that TLS's search found at its period keeps that
search's fit; one reported at a multiple of the searched period (the transits between fell
in gaps), a pair of single events and a candidate measured at its catalog ephemeris are
fitted again (:func:`at`): TLS on the points within four durations of the ephemeris'
transits (the other signals' taken out), over periods within 0.05 % of its own on a grid
fine enough to hold several of them. ``tls_sde``, ``tls_sde_raw``, ``tls_fap``,
``tls_period_uncertainty`` and ``tls_n_periods`` describe the search that found the signal
(for a signal at a multiple of the searched period: that search's peak, its uncertainty
scaled; for a catalog candidate: the first search's spectrum at the catalog period; NaN
for a pair, which no search over periods reached: its detection statistic is the pair's
combined SNR, in ``vet_reason``).

The search itself (:func:`compute`, inside each search for signals):

``tls_mode = "fast"`` (default): TLS fits its limb-darkened templates only around the
``tls_candidates`` (3) strongest distinct peaks of the shared fast box search (those with
at least half the strongest one's SDE power) (:mod:`exoextract.science.blind_search`), each
on TLS's own period grid over a window of at least four search steps either side and on the
flux of the peak's octave (:mod:`exoextract.science.clean`); the candidate at the highest SDE power
once the fits are folded into the spectrum (below) gives the columns, as TLS's own search
chooses. Because TLS no longer scans every period, the detection statistics come from the
fast search, in TLS's own units: on TLS's own period grid (the one ``tls_mode = "full"``
searches) each period takes the best box among the search's nearest trial periods, its
chi-squared a flat line's minus twice the box log-likelihood, except where TLS fitted its
templates (around the candidate peaks), which keep TLS's own chi-squared (converted to the
search's error scale). The templates lower the chi-squared more than boxes do; TLS's own
search has them at every period, so every box's improvement is first multiplied by their
measured gain (the median ratio of template to box improvement over the fitted windows;
without it a noise peak, the only period fitted with templates, stood out by their
advantage alone: ``make bench-science`` compares the two searches' SDE on stars without
transits). That spectrum goes through transitleastsquares' ``spectra`` (signal residue,
SDE, median-filter detrending). ``tls_sde`` is that spectrum's SDE at the chosen
peak, ``tls_sde_raw`` the same before detrending, ``tls_fap`` TLS's false-alarm probability
for it, ``tls_period_uncertainty`` the half width at half maximum of that peak and
``tls_n_periods`` the size of TLS's grid. Everything else (period, epoch, duration, depths,
SNR, odd/even, per-transit values, counts, chi-squared) comes from TLS's template fit.

``tls_mode = "full"``: TLS's own search over its whole period grid, as transitleastsquares
runs it (every column from TLS; 10-100 times slower on multi-year light curves).

``use_threads=1`` always: with more, TLS starts its own persistent process pool, which
oversubscribes the CPUs under our workers and can hang in forked processes.
The search backend is the ``tls_backend`` setting (docs/validation.md has the measured choice).
Depths are reported as fractional decrements (TLS's ``depth`` is the in-transit flux
level, so ``tls_depth`` = 1 - depth), and the per-transit arrays are summarised.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from exoextract.features import Column, Ephemeris, FeatureContext, NotComputable
from exoextract.science import blind_search as blindsearch
from exoextract.science.search import Spectrum, peak_indices, pooled_chi2, tls_spectra
from exoextract.settings import Settings

SCOPE = "signal"

WINDOW_STEPS = 4.0  # fast mode: search steps either side of a peak that TLS covers
WINDOW_TLS_STEPS = 5.0  # ... and at least this many of TLS's own grid steps
PEAK_SEPARATION = 0.01  # distinct candidates differ by more than 1 % in period
PEAK_RELATIVE_MIN = 0.5  # a candidate needs half the strongest peak's SDE power to be fitted
AT_WINDOW = 5e-4  # at an ephemeris: periods within this fraction of its own
AT_STEPS = 6.0  # ... at least this many of TLS's grid steps in that window
NEAR_DURATIONS = 4.0  # ... fitted on the points this many durations from a transit

COLUMNS = (
    Column("tls_period", "d", "Period of the highest signal detection efficiency (SDE)."),
    Column("tls_period_uncertainty", "d", "Half width at half maximum of the SDE peak."),
    Column("tls_t0", "d (mission time: BTJD or BKJD)", "Mid-time of the first transit."),
    Column("tls_duration", "d", "Transit duration of the best template."),
    Column("tls_depth", "relative flux", "1 - in-transit flux of the best model."),
    Column("tls_depth_mean", "relative flux", "1 - mean in-transit flux of all transits."),
    Column("tls_depth_mean_err", "relative flux", "Its standard error."),
    Column("tls_depth_odd", "relative flux", "1 - mean in-transit flux, odd transits."),
    Column("tls_depth_odd_err", "relative flux", "Its standard error."),
    Column("tls_depth_even", "relative flux", "1 - mean in-transit flux, even transits."),
    Column("tls_depth_even_err", "relative flux", "Its standard error."),
    Column("tls_odd_even_mismatch", "sigma", "Odd/even depth difference, in sigma (TLS)."),
    Column("tls_sde", "", "Signal detection efficiency of the best period."),
    Column("tls_sde_raw", "", "SDE before TLS's spectrum detrending."),
    Column("tls_chi2_min", "", "Minimum chi-squared of the search."),
    Column("tls_chi2red_min", "", "Minimum reduced chi-squared."),
    Column("tls_snr", "", "Signal-to-noise ratio of the stacked transits."),
    Column("tls_snr_per_transit_mean", "", "Mean SNR of single transits."),
    Column("tls_snr_per_transit_min", "", "Smallest single-transit SNR (with data)."),
    Column("tls_snr_per_transit_max", "", "Largest single-transit SNR."),
    Column("tls_snr_pink_per_transit_mean", "", "Mean single-transit SNR with red noise."),
    Column("tls_transit_depth_std", "relative flux", "Scatter of the single-transit depths."),
    Column("tls_rp_rs", "", "Planet-to-star radius ratio implied by the depth."),
    Column("tls_transit_count", "count", "Transits expected within the baseline."),
    Column("tls_distinct_transit_count", "count", "Transits with data in them."),
    Column("tls_empty_transit_count", "count", "Expected transits without data."),
    Column("tls_in_transit_count", "count", "Points inside transits."),
    Column("tls_after_transit_count", "count", "Points just after transits."),
    Column("tls_before_transit_count", "count", "Points just before transits."),
    Column("tls_fap", "", "False alarm probability of the SDE (TLS's calibration)."),
    Column("tls_n_periods", "count", "Periods of TLS's grid, over which the SDE is computed."),
)
DETECTION = ("tls_sde", "tls_sde_raw", "tls_fap", "tls_period_uncertainty", "tls_n_periods")


def compute(ctx: FeatureContext) -> dict[str, Any]:
    settings = ctx.settings
    baseline, period_min, period_max = blindsearch.limits(ctx)
    if settings.tls_mode == "full":
        flux, err = ctx.search_flux_for(period_max)
        fit = _tls(ctx.time, flux, err, period_min, period_max, settings, sun_grid=True)
        ctx.shared["tls_full_spectrum"] = (np.asarray(fit.periods), np.asarray(fit.power))
        return summarise(fit)
    spectrum = blindsearch.spectrum(ctx)
    grid, chi2, power, _ = _box_spectrum(ctx)
    peaks = peak_indices(power, grid, settings.tls_candidates, PEAK_SEPARATION)
    peaks = [i for i in peaks if power[i] >= PEAK_RELATIVE_MIN * power[peaks[0]]] if peaks else []
    fits = []
    for index in peaks:
        low, high = _window(spectrum, float(grid[index]), baseline, settings.tls_oversampling)
        low, high = max(low, period_min), min(high, period_max)
        flux, err = ctx.flux_for(float(grid[index]))  # the flattening of the peak's octave
        try:
            fit = _tls(ctx.time, flux, err, low, high, settings)
        except (ValueError, ZeroDivisionError, IndexError):
            continue  # a window TLS cannot fit; the other candidates still count
        if math.isfinite(_scalar(fit.chi2_min)):
            convert = _to_search_units(flux, err, spectrum.chi2_null)
            best = float(convert(np.array([_scalar(fit.chi2_min)]))[0])
            fits.append((fit, convert, best))
    if not fits:
        raise NotComputable("TLS found no transit at any candidate period")
    # TLS's templates fit better than boxes everywhere in its own search, not only where
    # they ran here: the whole spectrum gets their measured gain before their fits go in,
    # or a noise peak would stand out by the templates' advantage alone
    gain = _template_gain(chi2, grid, fits, spectrum.chi2_null)
    chi2 = np.maximum(spectrum.chi2_null - gain * (spectrum.chi2_null - chi2), 1e-12)
    for fit, convert, _ in fits:  # where TLS ran, its template fits replace the boxes
        _fold_in(chi2, grid, fit, convert)
    raw, power = tls_spectra(chi2, grid, settings.tls_oversampling)
    result, index = _strongest([fit for fit, _, _ in fits], grid, power)
    out = summarise(result)
    sde = float(power[index])
    out.update(
        tls_sde=sde,
        tls_sde_raw=float(raw[index]),
        tls_fap=_fap(sde),
        tls_period_uncertainty=_half_width(grid, power, index),
        tls_n_periods=int(grid.size),
    )
    return out


def box_sde(ctx: FeatureContext) -> float:
    """The SDE of the fast search's strongest peak on TLS's grid before any template fit
    (raises NotComputable where the search cannot run); how far the templates can lift it
    is measured in :mod:`exoextract.features.signals`."""
    return float(np.max(_box_spectrum(ctx)[2]))


def detection_at(ctx: FeatureContext, period: float) -> dict[str, float]:
    """How the search on ``ctx`` saw ``period``, in the detection columns: TLS's SDE power
    at the strongest grid period within its fit window (TLS's own spectrum in full mode,
    the box search's on TLS's grid in fast mode: boxes only, no template), its FAP and
    half width. NaN where the search did not reach that period (raises NotComputable where
    it could not run)."""
    full = ctx.shared.get("tls_full_spectrum")
    if full is not None:
        grid, power = full
        raw = np.full(grid.size, math.nan)
    else:
        grid, _, power, raw = _box_spectrum(ctx)
    out = dict.fromkeys(DETECTION, math.nan)
    out["tls_n_periods"] = float(grid.size)
    baseline = float(ctx.time.max() - ctx.time.min())
    half = WINDOW_TLS_STEPS * _tls_step(period, baseline, ctx.settings.tls_oversampling)
    near = np.abs(grid - period) <= half
    if not near.any():
        return out
    best = int(np.flatnonzero(near)[np.argmax(power[near])])
    sde = float(power[best])
    out.update(
        tls_sde=sde,
        tls_sde_raw=float(raw[best]),
        tls_fap=_fap(sde),
        tls_period_uncertainty=_half_width(grid, power, best),
    )
    return out


def _box_spectrum(ctx: FeatureContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(TLS's grid, the box search's chi-squared on it, its SDE power, the power before
    detrending), once per search and shared: callers must not modify them."""

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        baseline, period_min, period_max = blindsearch.limits(ctx)
        oversampling = ctx.settings.tls_oversampling
        grid = tls_grid(baseline, period_min, period_max, oversampling)
        chi2 = pooled_chi2(blindsearch.spectrum(ctx), grid)
        raw, power = tls_spectra(chi2, grid, oversampling)
        return grid, chi2, power, raw

    grid, chi2, power, raw = ctx.memo("tls_box_spectrum", build)
    return grid, chi2, power, raw


def _template_gain(chi2: np.ndarray, grid: np.ndarray, fits: list[Any], chi2_null: float) -> float:
    """How much more TLS's templates lower the chi-squared than the boxes do, where both
    were fitted (the median over the candidate windows' periods)."""
    ratios: list[np.ndarray] = []
    for fit, convert, _ in fits:
        periods = np.asarray(getattr(fit, "periods", []), dtype=float)
        fitted = np.asarray(getattr(fit, "chi2", []), dtype=float)
        if periods.size == 0 or periods.size != fitted.size:
            continue
        cells = np.clip(np.searchsorted(grid, periods), 0, grid.size - 1)
        box = chi2_null - chi2[cells]
        template = chi2_null - convert(fitted)
        good = box > 0
        ratios.append(template[good] / box[good])
    values = np.concatenate(ratios) if ratios else np.array([])
    return float(np.clip(np.median(values), 1.0, 3.0)) if values.size else 1.0


def _strongest(fits: list[Any], grid: np.ndarray, power: np.ndarray) -> tuple[Any, int]:
    """The fit at the highest SDE power, and its cell of ``grid``: TLS's own choice (the
    peak of the spectrum after its running median is taken out), not the lowest
    chi-squared. A fit counts by how far it stands above the periods around it, not by how
    much it lowers the chi-squared."""
    cells = [int(np.argmin(np.abs(grid - _scalar(fit.period)))) for fit in fits]
    best = max(range(len(fits)), key=lambda k: power[cells[k]])
    return fits[best], cells[best]


def _fold_in(
    chi2: np.ndarray, grid: np.ndarray, fit: Any, convert: Callable[[np.ndarray], np.ndarray]
) -> None:
    """Put TLS's own chi-squared, in the box search's units (``convert``), at the grid
    periods it fitted."""
    periods = np.asarray(getattr(fit, "periods", []), dtype=float)
    fitted = np.asarray(getattr(fit, "chi2", []), dtype=float)
    if periods.size == 0 or periods.size != fitted.size:
        return
    cells = np.clip(np.searchsorted(grid, periods), 1, grid.size - 1)
    cells = np.where(
        np.abs(grid[cells - 1] - periods) < np.abs(grid[cells] - periods), cells - 1, cells
    )
    np.minimum.at(chi2, cells, convert(fitted))


def _to_search_units(
    flux: np.ndarray, flux_err: np.ndarray | None, chi2_null: float
) -> Callable[[np.ndarray], np.ndarray]:
    """TLS chi-squared values on ``flux`` -> the box search's units.

    transitleastsquares divides the errors by their mean (or uses the flux's standard
    deviation without errors), so its chi-squared differs from the search's by a constant
    factor; its improvement over a flat line at 1 is converted and subtracted from the
    search's flat-line chi-squared ``chi2_null``. Fits to differently flattened fluxes
    compare by that improvement, never by their raw chi-squared (a wider window leaves
    more of the star's own variation in the flux)."""
    if flux_err is not None:
        scale = float(np.mean(flux_err))
        tls_null = float(np.sum(((flux - 1.0) / (flux_err / scale)) ** 2))
        factor = 1.0 / scale**2
    else:
        spread = float(np.std(flux))
        scatter = 1.4826 * float(np.median(np.abs(flux - np.median(flux))))
        tls_null = float(np.sum(((flux - 1.0) / spread) ** 2))
        factor = (spread / max(scatter, 1e-12)) ** 2
    return lambda fitted: np.maximum(chi2_null - (tls_null - fitted) * factor, 1e-12)


def at(ctx: FeatureContext, ephemeris: Ephemeris) -> dict[str, Any]:
    """The columns at one ephemeris: TLS fitted near it (see the module doc)."""
    if ephemeris.single:
        raise NotComputable("a single event: no period to fit a transit train at")
    period = ephemeris.period
    flux, err = ctx.flux_for(period)
    near = ephemeris.near(ctx.time, NEAR_DURATIONS)
    if np.count_nonzero(ephemeris.near(ctx.time, 0.5)) == 0:
        raise NotComputable("no data inside any transit of this ephemeris")
    time = ctx.time[near]
    baseline = float(ctx.time.max() - ctx.time.min())
    oversampling = ctx.settings.tls_oversampling
    step = _tls_step(period, baseline, oversampling) / period
    oversampling = max(oversampling, math.ceil(oversampling * step * AT_STEPS / (2 * AT_WINDOW)))
    try:
        fit = _tls(
            time,
            flux[near],
            None if err is None else err[near],
            period * (1 - AT_WINDOW),
            period * (1 + AT_WINDOW),
            ctx.settings,
            oversampling,
            transits_min=1,  # the points kept span the transits, not the whole baseline
        )
    except (ValueError, ZeroDivisionError, IndexError) as error:
        raise NotComputable(f"TLS could not fit this ephemeris ({error})") from None
    out = summarise(fit)
    out.update(ephemeris.detected(DETECTION))
    if not math.isfinite(out["tls_period"]):
        raise NotComputable("TLS found no transit at this ephemeris", out)
    notes = [ephemeris.detection_note] if ephemeris.detection_note else []
    moved = (out["tls_t0"] - ephemeris.t0 + 0.5 * period) % period - 0.5 * period
    if abs(moved) > ephemeris.duration:
        notes.append(f"TLS's best epoch is {moved:+.3f} d from the ephemeris'")
    return {**out, "tls_reason": "; ".join(notes)}


def _tls(
    time: np.ndarray,
    flux: np.ndarray,
    flux_err: np.ndarray | None,
    period_min: float,
    period_max: float,
    settings: Settings,
    oversampling: int | None = None,
    transits_min: int = 2,
    sun_grid: bool = False,
) -> Any:
    """transitleastsquares on ``flux`` over [period_min, period_max], one thread, quietly
    (periods with at least ``transits_min`` transits in the span of ``time``). Below a
    Sun-like star's Roche limit (0.60 d), where TLS's grid stops, the grid is computed for
    a smaller star, on at least TLS's minimum of periods (with fewer, TLS falls back to the
    Sun's grid); the stellar radius changes nothing else of TLS's fit. ``sun_grid``: TLS's
    own grid as it is (the full mode)."""
    from transitleastsquares import tls_constants as c
    from transitleastsquares import transitleastsquares

    oversampling = oversampling or settings.tls_oversampling
    r_star = 1.0 if sun_grid else _grid_star(period_min)
    if r_star < 1.0:
        span = float(np.max(time) - np.min(time))
        count = ofir_grid(span, period_min, period_max, oversampling, r_star, transits_min).size
        wanted = c.MINIMUM_PERIOD_GRID_SIZE + 10
        if count < wanted:
            oversampling = math.ceil(oversampling * wanted / max(count, 1))
    with contextlib.redirect_stdout(io.StringIO()):
        model = transitleastsquares(time, flux, flux_err, verbose=False)
        return model.power(
            use_threads=1,
            backend=settings.tls_backend,
            period_min=period_min,
            period_max=period_max,
            oversampling_factor=oversampling,
            n_transits_min=transits_min,
            R_star=r_star,
            show_progress_bar=False,
            verbose=False,
        )


def tls_grid(baseline: float, period_min: float, period_max: float, oversampling: int) -> Any:
    """TLS's own period grid (a Sun-like star), ascending, from ``period_min`` (below a
    Sun-like star's Roche limit too, where TLS's own grid stops at 0.60 d)."""
    return ofir_grid(baseline, period_min, period_max, oversampling)


def ofir_grid(
    span: float,
    period_min: float,
    period_max: float,
    oversampling: float,
    r_star: float = 1.0,
    transits_min: int = 2,
) -> np.ndarray:
    """Periods sampled uniformly in frequency to the power 1/3 (Ofir 2014, eqs. 5-7, for a
    star of ``r_star`` solar radii and one solar mass), as transitleastsquares' own grid
    spaces them, over data spanning ``span`` days: ascending, within [period_min,
    period_max], at least ``transits_min`` transits in the span. Not cut at the star's
    Roche limit."""
    from transitleastsquares import tls_constants as c

    seconds = span * c.SECONDS_PER_DAY
    f_min = transits_min / seconds
    f_max = 1.0 / (period_min * c.SECONDS_PER_DAY)
    a = _ofir_a(span, oversampling, r_star)
    offset = f_min ** (1.0 / 3) - a / 3.0
    count = int((f_max ** (1.0 / 3) - f_min ** (1.0 / 3) + a / 3.0) * 3.0 / a)
    frequencies = (a / 3.0 * (np.arange(count) + 1.0) + offset) ** 3
    periods = 1.0 / frequencies / c.SECONDS_PER_DAY
    return np.sort(periods[(periods > period_min) & (periods <= period_max)])


def _ofir_a(span: float, oversampling: float, r_star: float) -> float:
    """Ofir's A (eq. 5): the frequency step's scale, per second to the 1/3."""
    from transitleastsquares import tls_constants as c

    return float(
        (2 * math.pi) ** (2.0 / 3)
        / math.pi
        * (r_star * c.R_sun)
        / (c.G * c.M_sun) ** (1.0 / 3)
        / (span * c.SECONDS_PER_DAY * oversampling)
    )


def _roche_period(r_star: float) -> float:
    """The shortest period transitleastsquares' grid has for a star of ``r_star`` solar
    radii and one solar mass (an orbit at three stellar radii), days."""
    from transitleastsquares import tls_constants as c

    radius = 3.0 * r_star * c.R_sun
    return 2 * math.pi * math.sqrt(radius**3 / (c.G * c.M_sun)) / c.SECONDS_PER_DAY


def _grid_star(period_min: float) -> float:
    """The stellar radius (solar) TLS's grid is computed for: the Sun's, or a smaller star
    whose Roche limit lets the grid reach ``period_min``."""
    from transitleastsquares import tls_constants as c

    roche = _roche_period(1.0)
    if period_min >= roche:
        return 1.0
    return max(0.9 * (period_min / roche) ** (2.0 / 3), c.R_STAR_MIN)  # TLS's floor: 0.14 d


def _window(
    spectrum: Spectrum, centre: float, baseline: float, oversampling: int
) -> tuple[float, float]:
    """The period window TLS searches around one peak (the search's nearest trial)."""
    index = int(np.clip(np.searchsorted(spectrum.periods, centre), 0, spectrum.size - 1))
    low, high = spectrum.window(index, WINDOW_STEPS)
    centre = float(spectrum.periods[index])
    half = max(
        high - centre, centre - low, WINDOW_TLS_STEPS * _tls_step(centre, baseline, oversampling)
    )
    return centre - half, centre + half


def _tls_step(period: float, baseline: float, oversampling: int) -> float:
    """Spacing of TLS's own period grid (Ofir 2014, a Sun-like star) at this period, days."""
    from transitleastsquares import tls_constants as c

    seconds = c.SECONDS_PER_DAY
    return period * _ofir_a(baseline, oversampling, 1.0) * (period * seconds) ** (1.0 / 3)


def _half_width(grid: np.ndarray, power: np.ndarray, index: int) -> float:
    """Half width at half maximum of the peak at ``index``, days."""
    level = 0.5 * float(power[index])
    left = index
    while left > 0 and power[left - 1] > level:
        left -= 1
    right = index
    while right < power.size - 1 and power[right + 1] > level:
        right += 1
    return 0.5 * float(grid[right] - grid[left])


def _fap(sde: float) -> float:
    from transitleastsquares.stats import FAP

    try:
        return float(FAP(sde))
    except (TypeError, ValueError):
        return math.nan


def summarise(result: Any) -> dict[str, Any]:
    """TLS's result object -> our columns."""

    def decrement(value: Any) -> float:
        level = _scalar(value)
        return 1.0 - level if math.isfinite(level) else math.nan

    per_transit = _array(getattr(result, "snr_per_transit", None))
    with_data = per_transit[per_transit > 0] if per_transit.size else per_transit
    depths = _array(getattr(result, "transit_depths", None))
    depths = depths[np.isfinite(depths)]
    return {
        "tls_period": _scalar(result.period),
        "tls_period_uncertainty": _scalar(result.period_uncertainty),
        "tls_t0": _scalar(result.T0),
        "tls_duration": _scalar(result.duration),
        "tls_depth": decrement(result.depth),
        "tls_depth_mean": decrement(_pair(result.depth_mean)[0]),
        "tls_depth_mean_err": _pair(result.depth_mean)[1],
        "tls_depth_odd": decrement(_pair(result.depth_mean_odd)[0]),
        "tls_depth_odd_err": _pair(result.depth_mean_odd)[1],
        "tls_depth_even": decrement(_pair(result.depth_mean_even)[0]),
        "tls_depth_even_err": _pair(result.depth_mean_even)[1],
        "tls_odd_even_mismatch": _scalar(result.odd_even_mismatch),
        "tls_sde": _scalar(result.SDE),
        "tls_sde_raw": _scalar(result.SDE_raw),
        "tls_chi2_min": _scalar(result.chi2_min),
        "tls_chi2red_min": _scalar(result.chi2red_min),
        "tls_snr": _scalar(result.snr),
        "tls_snr_per_transit_mean": float(np.mean(with_data)) if with_data.size else math.nan,
        "tls_snr_per_transit_min": float(np.min(with_data)) if with_data.size else math.nan,
        "tls_snr_per_transit_max": float(np.max(with_data)) if with_data.size else math.nan,
        "tls_snr_pink_per_transit_mean": _mean(getattr(result, "snr_pink_per_transit", None)),
        "tls_transit_depth_std": float(np.std(1.0 - depths)) if depths.size > 1 else math.nan,
        "tls_rp_rs": _scalar(result.rp_rs),
        "tls_transit_count": _scalar(result.transit_count),
        "tls_distinct_transit_count": _scalar(result.distinct_transit_count),
        "tls_empty_transit_count": _scalar(result.empty_transit_count),
        "tls_in_transit_count": _scalar(result.in_transit_count),
        "tls_after_transit_count": _scalar(result.after_transit_count),
        "tls_before_transit_count": _scalar(result.before_transit_count),
        "tls_fap": _scalar(result.FAP),
        "tls_n_periods": int(np.size(result.periods)),
    }


def _scalar(value: Any) -> float:
    try:
        number = float(np.asarray(value, dtype=float).ravel()[0])
    except (TypeError, ValueError, IndexError):
        return math.nan
    return number


def _pair(value: Any) -> tuple[float, float]:
    try:
        first, second = (float(v) for v in value)
    except (TypeError, ValueError):
        return math.nan, math.nan
    return first, second


def _array(value: Any) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([])


def _mean(value: Any) -> float:
    array = _array(value)
    array = array[np.isfinite(array)]
    return float(np.mean(array)) if array.size else math.nan
