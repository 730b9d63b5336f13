"""The light curve as arrays: the astropy reader of Kepler and TESS archive files and of
K2SFF's gives what lightkurve's readers give, cadence for cadence, and reading them never
imports lightkurve."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exoextract.errors import NoDataError
from exoextract.lightcurves.lightcurve import LightCurve, quality_mask, stitch
from exoextract.lightcurves.read import quiet_import_lightkurve, read_lightcurve

from conftest import SHARED_DATA, WASP18, fresh_python

KEPLER8 = SHARED_DATA / "kepler" / "0069" / "006922244"
TOI2266_S24 = SHARED_DATA / "tess" / "tess2020106103520-s0024-0000000008348911-0180-s_lc.fits"
WASP126 = SHARED_DATA / "tess" / "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
DATA_ALERT = (
    SHARED_DATA / "tess" / "hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits"
)
K2SFF_K23 = SHARED_DATA / "k2" / "hlsp_k2sff_k2_lightcurve_201367065-c01_kepler_v1_llc.fits"
ARRAYS = ("flux", "flux_err", "quality", "centroid_col", "centroid_row")


def by_lightkurve(path: Path, **options: Any) -> LightCurve:
    lk = quiet_import_lightkurve()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LightCurve.from_lightkurve(lk.read(str(path), **options))


def assert_same(ours: LightCurve, theirs: LightCurve) -> None:
    assert len(ours) == len(theirs) > 0
    # lightkurve keeps times as astropy Time (two doubles): the same instants to 1 µs
    np.testing.assert_allclose(ours.time, theirs.time, rtol=0, atol=1e-11 * 1e5)
    for name in ARRAYS:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert (a.dtype.kind, a.dtype.itemsize) == (b.dtype.kind, b.dtype.itemsize), name
            np.testing.assert_array_equal(a, b, err_msg=name)
    for key in ("MISSION", "AUTHOR", "TARGETID"):
        assert ours.meta[key] == theirs.meta[key], key


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(KEPLER8 / "kplr006922244-2009166043257_llc.fits", id="kepler-quarter"),
        pytest.param(WASP126, id="tess-sector"),
        pytest.param(TOI2266_S24, id="tess-third-flagged"),
        pytest.param(DATA_ALERT, id="tess-data-alert"),
    ],
)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"quality_bitmask": "hard"},
        {"quality_bitmask": "none", "flux_column": "sap_flux"},
        {"quality_bitmask": 1},
    ],
    ids=["default", "hard", "none-sap", "bit-1"],
)
def test_astropy_reader_reads_what_lightkurve_reads(
    shared_data: Path, path: Path, options: dict[str, Any]
) -> None:
    flux_column = options.get("flux_column", "pdcsap_flux")
    bitmask = options.get("quality_bitmask", "default")
    ours = read_lightcurve(path, flux_column, bitmask)
    assert ours.meta["READER"] == "astropy"
    assert_same(ours, by_lightkurve(path, flux_column=flux_column, quality_bitmask=bitmask))


def test_k2sff_is_read_as_lightkurve_reads_it_without_lightkurve(shared_data: Path) -> None:
    """K2-3's K2SFF campaign: the corrected flux FCOR over T, no errors (NaN), no flags or
    centroids, as lightkurve's K2SFF reader gives them; told from its structure alone, in
    a process that never loads lightkurve (``plot`` of a K2 star paid 2.2 s for it)."""
    code = (
        "import sys\n"
        "from exoextract.lightcurves.read import read_lightcurve\n"
        f"lc = read_lightcurve({str(K2SFF_K23)!r})\n"
        "print(lc.meta['READER'], lc.meta['AUTHOR'], len(lc), 'lightkurve' in sys.modules)"
    )
    assert fresh_python(code).split() == ["astropy", "K2SFF", "3632", "False"]
    ours = read_lightcurve(K2SFF_K23)
    theirs = by_lightkurve(K2SFF_K23)
    assert ours.flux_err is not None and np.isnan(ours.flux_err).all()
    assert_same(ours, theirs)
    assert ours.meta["FLUX_ORIGIN"] == "fcor" and ours.meta["LABEL"] == "EPIC 201367065"
    for key in ("KEPMAG", "CAMPAIGN", "CHANNEL", "OBJECT"):  # the header, for plugins
        assert ours.meta[key] == theirs.meta[key], key


def test_a_stars_files_are_each_opened_once(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a star checks each file whole, tells its product, reads its flux, its notes
    and its header facts: one open of each file for all five (five before)."""
    from astropy.io import fits

    from exoextract.settings import load_settings
    from exoextract.sources.local import read_files
    from exoextract.star.task import Candidate, Task

    opened: list[str] = []
    real_open = fits.open

    def counting(name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(fits, "open", counting)
    paths = tuple(sorted(str(p) for p in KEPLER8.glob("*.fits"))[:4])
    task = Task("K", "KIC 6922244", "Kepler", 6922244, load_settings(None, {"source": "local"}),
                (Candidate("K"),), paths=paths)  # fmt: skip
    fetched = read_files(task, paths)
    assert len(fetched.lc) > 10_000 and fetched.facts is not None
    assert len(fetched.facts.segments) == 4
    assert sorted(opened) == sorted(paths)
    opened.clear()  # outside a star's reading nothing is kept
    read_lightcurve(paths[0])
    read_lightcurve(paths[0])
    assert opened == [paths[0], paths[0]]


def test_stitched_star_and_its_cleaning_steps_match_lightkurve(shared_data: Path) -> None:
    """Kepler-8's sixteen quarters: normalised and joined, NaNs out, clipped as lightkurve
    does it (single-precision flux, its median, astropy's sigma clip)."""
    lk = quiet_import_lightkurve()
    paths = sorted(KEPLER8.glob("*.fits"))
    ours = stitch([read_lightcurve(p) for p in paths])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lk.LightCurveCollection([lk.read(str(p)) for p in paths]).stitch()
        assert_same(ours, LightCurve.from_lightkurve(theirs))
        ours, theirs = ours.remove_nans(), theirs.remove_nans()
        assert_same(ours, LightCurve.from_lightkurve(theirs))
        ours = ours.remove_outliers(sigma_lower=20, sigma_upper=3)
        theirs = theirs.remove_outliers(sigma_lower=20, sigma_upper=3)
    assert_same(ours, LightCurve.from_lightkurve(theirs))
    assert ours.flux.dtype == np.float32  # the files' precision, as lightkurve keeps it


def test_a_plugin_still_gets_a_lightkurve_object(shared_data: Path) -> None:
    lc = read_lightcurve(WASP18)
    view = lc.to_lightkurve()
    assert type(view).__name__ == "TessLightCurve"
    np.testing.assert_array_equal(np.asarray(view.flux.value), lc.flux)
    np.testing.assert_allclose(np.asarray(view.time.value), lc.time, rtol=0, atol=1e-6)


def test_quality_mask_names_and_integers() -> None:
    quality = np.array([0, 1, 32, 1024, 2048, 1 << 20])
    assert quality_mask(quality, "none", "TESS").all()
    assert quality_mask(quality, "default", "TESS").tolist() == [1, 0, 0, 1, 1, 1]
    assert quality_mask(quality, "default", "Kepler").tolist() == [1, 0, 0, 1, 1, 0]
    assert quality_mask(quality, "1024", "Kepler").tolist() == [1, 1, 1, 0, 1, 1]
    with pytest.raises(ValueError, match="'soft' is not one of none, default, hard, hardest"):
        quality_mask(quality, "soft", "Kepler")


def test_nothing_left_to_stitch_says_so() -> None:
    empty = LightCurve(time=np.array([]), flux=np.array([]))
    with pytest.raises(NoDataError, match="every light-curve file was empty"):
        stitch([empty, empty])


def test_reading_and_measuring_a_kepler_star_never_imports_lightkurve(shared_data: Path) -> None:
    """What a worker does with the archive's files (the forkserver's preload, then read,
    clean and every feature of a star) loads no lightkurve: it costs 2-3 s a process."""
    script = f"""
import sys
import exoextract.execution.preload
from exoextract.star.extract import extract
from exoextract.settings import load_settings
from exoextract.star.task import Candidate, Task
from pathlib import Path
paths = tuple(sorted(str(p) for p in Path({str(KEPLER8)!r}).glob("*.fits"))[:2])
task = Task("K", "KIC 6922244", "Kepler", 6922244, load_settings(None, {{"source": "local"}}),
            (Candidate("K"),), paths=paths)
rows, notes, signals = extract(task)
assert rows["K"]["n_files"] == 2.0, rows["K"]["n_files"]
print("lightkurve" in sys.modules, sorted(m for m in sys.modules if m.startswith("lightkurve"))[:3])
"""
    # a run with plugins earlier in this process set the preload's lightkurve switch: unset it
    done = fresh_python(script, timeout=600, EXOEXTRACT_PRELOAD_LIGHTKURVE="0")
    assert done.splitlines()[-1] == "False []"


def test_a_run_with_plugins_preloads_lightkurve_in_its_workers() -> None:
    """Plugins are handed a lightkurve LightCurve: its import (2-3 s) is paid once in the
    workers' preload, not inside a task's time limit; without plugins it is not paid."""
    from exoextract.execution.isolation import LIGHTKURVE_ENV
    from exoextract.execution.policy import policy_for
    from exoextract.settings import load_settings

    with_plugin = load_settings(None, {"extra_features": ("exo_test_plugins:simple",)})
    assert dict(policy_for(with_plugin).preload_env)[LIGHTKURVE_ENV] == "1"
    assert dict(policy_for(load_settings()).preload_env)[LIGHTKURVE_ENV] == "0"
    code = "import sys, exoextract.execution.preload; print('lightkurve' in sys.modules)"
    for flag, loaded in (("1", "True"), ("0", "False")):
        assert fresh_python(code, **{LIGHTKURVE_ENV: flag}) == loaded


def test_the_preload_leaves_a_workers_first_star_no_imports_to_pay() -> None:
    """What a worker imports for a star (the families, the detrending and its scipy parts)
    is loaded by the preload: left to the first star, it cost 0.5 s of that star's time
    limit (seen as seconds_clean 0.48 s against 0.02 s once lightkurve no longer loaded
    scipy for us)."""
    script = """
import sys
import exoextract.execution.preload
from exoextract.settings import load_settings
from exoextract.star.extract import extract
from exoextract.star.task import Candidate, Task
before = set(sys.modules)
settings = load_settings(None, {"source": "synthetic"})
task = Task("T", "TIC 5", "TESS", 5, settings, (Candidate("T"),))
extract(task)
print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("exoextract", "scipy")))
"""
    assert fresh_python(script).splitlines()[-1] == "[]"
