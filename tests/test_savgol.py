"""The detrending's Savitzky-Golay filter is SciPy's, bit for bit, without importing
scipy.signal (0.6-1 s in every worker's preload and in ``plot``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import savgol_filter as scipy_savgol

from exoextract.science.savgol import savgol_filter

from conftest import fresh_python


@pytest.mark.parametrize("seed", range(6))
def test_the_filter_is_scipys_bit_for_bit(seed: int) -> None:
    """Random walks with noise (a light curve's shape), every window the detrending uses
    from 3 points to a few thousand, polynomial orders 0 to 3: the same doubles, the
    edges' polynomial fits included."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(3, 6000))
        window = min(2 * int(rng.integers(1, 1500)) + 1, n if n % 2 else n - 1)
        polyorder = int(rng.integers(0, min(3, window - 1) + 1))
        x = 1.0 + 1e-3 * np.cumsum(rng.normal(size=n)) + 1e-4 * rng.normal(size=n)
        expected = scipy_savgol(x, window, polyorder, mode="interp")
        np.testing.assert_array_equal(savgol_filter(x, window, polyorder), expected)


def test_a_window_as_long_as_the_series_and_single_precision() -> None:
    x = np.sin(np.linspace(0.0, 3.0, 101))
    np.testing.assert_array_equal(savgol_filter(x, 101, 2), scipy_savgol(x, 101, 2, mode="interp"))
    single = x.astype(np.float32)  # handed to SciPy itself, as SciPy keeps it single
    assert savgol_filter(single, 11, 2).dtype == np.float32
    with pytest.raises(ValueError, match="longer than the series"):
        savgol_filter(x, 103, 2)


def test_the_workers_preload_imports_no_scipy_signal() -> None:
    code = "import sys, exoextract.execution.preload; print('scipy.signal' in sys.modules)"
    assert fresh_python(code) == "False"
