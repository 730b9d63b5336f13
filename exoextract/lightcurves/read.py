"""Read light-curve FITS files, checking each file first: the archive's Kepler/K2 and TESS
SPOC light curves and K2SFF's with astropy alone (:mod:`exoextract.lightcurves.lightcurve`),
other products with lightkurve, every one as a
:class:`~exoextract.lightcurves.lightcurve.LightCurve`."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from exoextract.errors import CorruptFileError
from exoextract.lightcurves.cache import loaded_fits
from exoextract.lightcurves.filefacts import FilePiece, file_facts
from exoextract.lightcurves.lightcurve import (
    LightCurve,
    archive_product,
    read_archive_product,
    read_k2sff,
)


def quiet_import_lightkurve() -> Any:
    """Import lightkurve without its import-time warning about optional PRF packages, and
    without its log line "N% of the cadences will be ignored" on every read: a line that
    names no star, printed by every worker, the report and plot (the row's ``n_points`` and
    ``quality_`` columns say what the mask left and where flags touch the transits)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lightkurve

    logging.getLogger("lightkurve.utils").setLevel(logging.ERROR)
    return lightkurve


# lightkurve's name for a file's format -> (what it is, the flux columns to read, in order,
# when the asked one is absent). Official SPOC/Kepler products (TESS-SPOC full-frame and the
# TESS data-alert files included) take the asked column (pdcsap_flux by default); files
# lightkurve wrote itself (to_fits) carry FLUX.
PRODUCTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "KeplerLightCurve": ("a Kepler/K2 pipeline light curve", ("flux",)),
    "TessLightCurve": ("a TESS SPOC light curve", ("flux",)),
    "K2SFF": ("a K2SFF light curve (BESTAPER, corrected flux FCOR)", ()),
    "EVEREST": ("an EVEREST light curve", ("flux",)),
    "K2SC": ("a K2SC light curve (detrended flux)", ("flux",)),
    "QLP": ("a QLP light curve", ("sap_flux",)),
    "generic": ("a light curve in lightkurve's own format", ("flux",)),
}
# read with astropy alone (lightkurve is not imported for them: 2-3 s a process; K2SFF is
# told by its structure, the others by their headers)
FAST_PRODUCTS = ("KeplerLightCurve", "TessLightCurve", "K2SFF")
NOT_LIGHT_CURVES = ("KeplerTargetPixelFile", "TessTargetPixelFile")
RAW_K2 = (
    "raw K2 photometry: the spacecraft's six-hour roll is left in the flux (it hides most "
    "transits) — use a corrected light curve: --author K2SFF or --author EVEREST"
)


def read_lightcurve(
    path: str | Path, flux_column: str = "pdcsap_flux", quality_bitmask: str = "default"
) -> LightCurve:
    """One FITS file -> LightCurve, whichever archive product it is (:data:`PRODUCTS`).

    :class:`CorruptFileError` for a file that is not whole (with the fix), or that is whole
    but not a light curve exoextract can read (saying what it is instead)."""
    return _read_loaded(path, *loaded_fits(path), flux_column, quality_bitmask)


def _read_loaded(
    path: str | Path, check: Any, hdul: Any, flux_column: str, quality_bitmask: str
) -> LightCurve:
    """:func:`read_lightcurve` of a file :func:`loaded_fits` has read."""
    if check.bad:
        raise CorruptFileError(
            f"{path}: {check.problem} — delete it (exoextract clean-cache) or download it again"
        )
    kind, columns, header = _describe(hdul)
    if kind in NOT_LIGHT_CURVES:
        raise CorruptFileError(
            f"{path}: a target pixel file, not a light curve — give the _lc/_llc.fits file"
        )
    if kind not in PRODUCTS:
        what = ", ".join(f"{k}={v}" for k, v in header.items() if v) or "no mission keywords"
        raise CorruptFileError(
            f"{path}: not a light-curve product lightkurve knows ({what}) — use an archive "
            "light curve (Kepler, K2, TESS SPOC, K2SFF, EVEREST, K2SC, QLP, TESS-SPOC)"
        )
    what, fallbacks = PRODUCTS[kind]
    chosen = next((c for c in (flux_column.lower(), *fallbacks) if c in columns), None)
    if chosen is None and kind not in ("K2SFF", "K2SC"):
        raise CorruptFileError(
            f"{path}: {what} without a {flux_column.upper()} column (it has "
            f"{', '.join(sorted(c.upper() for c in columns))}) — set flux_column"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if kind == "K2SFF":
                return read_k2sff(path, hdul)
            if kind in FAST_PRODUCTS and "flux" not in columns and chosen is not None:
                return read_archive_product(path, kind, chosen, quality_bitmask, hdul)
            lk = quiet_import_lightkurve()
            if kind == "K2SC":
                return LightCurve.from_lightkurve(_read_k2sc(path, quality_bitmask))
            return LightCurve.from_lightkurve(
                lk.read(str(path), flux_column=chosen, quality_bitmask=quality_bitmask)
            )
        except CorruptFileError:
            raise
        except Exception as error:
            cause = error.__cause__ or error
            raise CorruptFileError(
                f"{path}: {what} that could not be read "
                f"({type(cause).__name__}: {str(cause).splitlines()[0][:160]})"
            ) from None


def read_one(
    path: str | Path, flux_column: str = "pdcsap_flux", quality_bitmask: str = "default"
) -> tuple[LightCurve, list[str], FilePiece | None]:
    """A file's light curve (:func:`read_lightcurve`), its notes (:func:`product_notes`)
    and its part of the star's facts (:func:`~exoextract.lightcurves.filefacts.file_facts`),
    the file opened and read once for all three, and let go before the next file."""
    check, hdul = loaded_fits(path)
    lc = _read_loaded(path, check, hdul, flux_column, quality_bitmask)
    return lc, _notes(path, hdul), file_facts(path, hdul)


def product_notes(path: str | Path) -> list[str]:
    """What a user should know about a file read as it is (raw K2's roll systematics)."""
    return _notes(path, loaded_fits(path)[1])


def _notes(path: str | Path, hdul: Any) -> list[str]:
    kind, _, header = _describe(hdul)
    if kind == "KeplerLightCurve" and str(header.get("MISSION", "")).upper() == "K2":
        return [f"{Path(path).name}: {RAW_K2}"]
    return []


def _describe(hdul: Any) -> tuple[str | None, set[str], dict[str, Any]]:
    """lightkurve's name for the format of a file (its HDUList, as
    :func:`~exoextract.lightcurves.cache.loaded_fits` read it: told here for the archive's
    Kepler, TESS and K2SFF light curves, by lightkurve's detector for the rest), its first
    table's columns, key headers."""
    try:
        kind = archive_product(hdul)
        if kind is None:
            quiet_import_lightkurve()
            from lightkurve.io.detect import detect_filetype

            kind = detect_filetype(hdul)
        names = getattr(hdul[1], "columns", None) if len(hdul) > 1 else None
        columns = {n.lower() for n in names.names} if names is not None else set()
        primary = hdul[0].header
        header = {k: primary.get(k) for k in ("TELESCOP", "MISSION", "CREATOR", "ORIGIN")}
    except Exception:  # the check passed: only the format is in question
        return None, set(), {}
    return kind, columns, header


def _read_k2sc(path: str | Path, quality_bitmask: str) -> Any:
    """K2SC's first extension (PDC-based): its detrended ``flux`` and ``error``."""
    lk = quiet_import_lightkurve()
    from lightkurve.io.generic import read_generic_lightcurve

    lc = read_generic_lightcurve(
        str(path), flux_column="flux", flux_err_column="error", time_format="bkjd", ext=1
    )
    lc.meta["AUTHOR"] = "K2SC"
    mask = lk.utils.KeplerQualityFlags.create_quality_mask(
        lc["quality"].value if "quality" in lc.colnames else [], quality_bitmask
    )
    return lk.KeplerLightCurve(data=lc[mask] if len(mask) == len(lc) else lc)
