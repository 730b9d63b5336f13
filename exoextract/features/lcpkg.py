"""General time-series features from the ``light-curve`` package (optional).

Install with ``pip install 'exoextract[lightcurve]'`` and switch on with
``run_lightcurve_package = true``. The package's extractors run on the cleaned, flattened
light curve (times in days, relative flux and its errors); columns are prefixed ``lc_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exoextract.features import Column, FeatureContext, NotComputable

# (package feature name, our column, meaning); the order is the extractor's output order
FEATURES = (
    ("amplitude", "lc_amplitude", "Half the difference between maximum and minimum."),
    ("beyond_1_std", "lc_beyond_1_std", "Fraction of points beyond 1 standard deviation."),
    ("cusum", "lc_cusum", "Range of the cumulative sum of deviations."),
    ("eta", "lc_eta", "Von Neumann ratio of successive differences to the variance."),
    ("eta_e", "lc_eta_e", "Von Neumann ratio for unevenly sampled data."),
    ("inter_percentile_range_10", "lc_inter_percentile_range_10", "90th minus 10th percentile."),
    ("kurtosis", "lc_kurtosis", "Excess kurtosis."),
    ("linear_trend", "lc_linear_trend", "Slope of a straight-line fit, per day."),
    ("linear_trend_sigma", "lc_linear_trend_sigma", "Uncertainty of that slope."),
    ("linear_trend_noise", "lc_linear_trend_noise", "Scatter around the straight line."),
    ("maximum_slope", "lc_maximum_slope", "Largest flux change per day between neighbours."),
    ("median_absolute_deviation", "lc_median_absolute_deviation", "Median absolute deviation."),
    (
        "median_buffer_range_percentage_10",
        "lc_median_buffer_range_percentage_10",
        "Fraction of points within 10 % of the amplitude from the median.",
    ),
    ("percent_amplitude", "lc_percent_amplitude", "Largest distance from the median."),
    ("chi2", "lc_chi2", "Reduced chi-squared of a constant."),
    ("skew", "lc_skew", "Skewness."),
    ("stetson_K", "lc_stetson_k", "Stetson K: kurtosis-like robust statistic."),
    (
        "anderson_darling_normal",
        "lc_anderson_darling_normal",
        "Anderson-Darling statistic against a normal distribution.",
    ),
)
COLUMNS = tuple(Column(column, "", doc) for _, column, doc in FEATURES)


def _extractor() -> Any:
    import light_curve as lc

    return lc.Extractor(
        lc.Amplitude(),
        lc.BeyondNStd(1.0),
        lc.Cusum(),
        lc.Eta(),
        lc.EtaE(),
        lc.InterPercentileRange(0.1),
        lc.Kurtosis(),
        lc.LinearTrend(),
        lc.MaximumSlope(),
        lc.MedianAbsoluteDeviation(),
        lc.MedianBufferRangePercentage(0.1),
        lc.PercentAmplitude(),
        lc.ReducedChi2(),
        lc.Skew(),
        lc.StetsonK(),
        lc.AndersonDarlingNormal(),
    )


def compute(ctx: FeatureContext) -> dict[str, Any]:
    try:
        extractor = _extractor()
    except ImportError:
        raise NotComputable(
            "the light-curve package is not installed (pip install 'exoextract[lightcurve]')"
        ) from None
    if ctx.time.size < ctx.settings.min_points:
        raise NotComputable(f"only {ctx.time.size} cleaned points")
    err = (
        ctx.flux_err
        if ctx.flux_err is not None
        else np.full(ctx.flux.size, float(np.std(ctx.flux)))
    )
    values = extractor(
        ctx.time.astype(np.float64),
        ctx.flux.astype(np.float64),
        err.astype(np.float64),
        sorted=True,
        check=False,
    )
    by_name = dict(zip(extractor.names, values, strict=True))
    return {column: float(by_name[name]) for name, column, _ in FEATURES if name in by_name}
