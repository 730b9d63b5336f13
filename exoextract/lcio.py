"""Read light-curve FITS files into lightkurve objects, checking each file first."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exoextract.cache import check_fits
from exoextract.errors import CorruptFileError, NoDataError


def quiet_import_lightkurve() -> Any:
    """Import lightkurve without its import-time warning about optional PRF packages."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lightkurve

    return lightkurve


def read_lightcurve(
    path: str | Path, flux_column: str = "pdcsap_flux", quality_bitmask: str = "default"
) -> Any:
    """One FITS file -> LightCurve, or :class:`CorruptFileError` naming the file and fix."""
    check = check_fits(path)
    if check.bad:
        raise CorruptFileError(
            f"{path}: {check.problem} — delete it (exoextract clean-cache) or download it again"
        )
    lk = quiet_import_lightkurve()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            lc = lk.read(str(path), flux_column=flux_column, quality_bitmask=quality_bitmask)
        except Exception as error:
            if flux_column.lower() == "flux" or "flux" not in _columns(path):
                raise CorruptFileError(f"{path}: lightkurve cannot read it ({error})") from None
            # Files written by lightkurve's to_fits() carry FLUX, not PDCSAP_FLUX.
            lc = lk.read(str(path), flux_column="flux", quality_bitmask=quality_bitmask)
    return lc


def _columns(path: str | Path) -> set[str]:
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            return {name.lower() for name in hdul[1].columns.names}
    except Exception:
        return set()


def stitch(lightcurves: Sequence[Any]) -> Any:
    """Normalise each segment and join them in time order."""
    lk = quiet_import_lightkurve()
    usable = [lc for lc in lightcurves if len(lc) > 0]
    if not usable:
        raise NoDataError("every light-curve file was empty after the quality mask")
    usable.sort(key=lambda lc: float(lc.time.value[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(usable) == 1:
            return usable[0].normalize()
        return lk.LightCurveCollection(usable).stitch()
