"""A star's light curve as plain arrays, and the reader of the two archive products most
runs use (Kepler/K2 and TESS SPOC light curves) with astropy alone.

Why not lightkurve's ``LightCurve``: importing lightkurve costs 2-3 s in every worker and in
``plot``, more than a small run's whole compute, and the pipeline only ever needed arrays.
What the reader does is what lightkurve's readers do to these files (rows with a NaN time
dropped, the mission's quality bitmask, the flux column and its ``_err``, the flux-weighted
centroid; K2SFF's corrected flux), and :func:`stitch`, :meth:`LightCurve.normalize` and
:meth:`LightCurve.remove_outliers` keep lightkurve's arithmetic and dtypes (single-precision
fluxes stay single until divided by a double), so a row is the same number either way.
Other products (EVEREST, K2SC, QLP, lightkurve's own files) are still read by
lightkurve and turned into this type (:meth:`LightCurve.from_lightkurve`); a plugin gets a
lightkurve object (:meth:`LightCurve.to_lightkurve`), as documented.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from exoextract.errors import NoDataError

# The archive's named quality bitmasks (the data release notes' flag bits): "default" drops
# the cadences with severe problems (attitude tweaks, safe modes, desaturations, cosmic
# rays in the optimal aperture, manual excludes, ...), "hard" also the milder ones, and
# "hardest" every flagged cadence.
QUALITY_BITMASKS: dict[str, dict[str, int]] = {
    "Kepler": {"none": 0, "default": 1130799, "hard": 1664431, "hardest": 2096639},
    "TESS": {"none": 0, "default": 17087, "hard": 24319, "hardest": 65535},
}


def quality_mask(quality: np.ndarray, bitmask: str | int, mission: str | None) -> np.ndarray:
    """True where a cadence is kept: none of ``bitmask``'s bits set (a name from
    :data:`QUALITY_BITMASKS` for the mission, or an integer)."""
    masks = QUALITY_BITMASKS["TESS" if mission == "TESS" else "Kepler"]
    if isinstance(bitmask, str) and not bitmask.strip().isdigit():
        if bitmask not in masks:
            raise ValueError(
                f"quality_bitmask {bitmask!r} is not one of {', '.join(masks)} or an integer"
            )
        bits = masks[bitmask]
    else:
        bits = int(bitmask)
    return (np.asarray(quality).astype(np.int64) & bits) == 0


@dataclass
class LightCurve:
    """Times (days, the mission's BJD offset: BKJD for Kepler/K2, BTJD for TESS), fluxes
    and what the files say beside them, one value per cadence."""

    time: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray | None = None
    quality: np.ndarray | None = None
    centroid_col: np.ndarray | None = None  # flux-weighted centroid, pixels (MOM_CENTR1)
    centroid_row: np.ndarray | None = None  # (MOM_CENTR2)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time.size)

    def __getitem__(self, keep: np.ndarray) -> LightCurve:
        """The cadences ``keep`` selects (a boolean mask or indices)."""
        sliced: dict[str, Any] = {
            name: None if (v := getattr(self, name)) is None else v[keep] for name in _ARRAYS
        }
        return replace(self, **sliced, meta=dict(self.meta))

    @property
    def mission(self) -> str | None:
        return self.meta.get("MISSION")

    def with_flux(self, flux: np.ndarray, flux_err: np.ndarray | None) -> LightCurve:
        return replace(self, flux=flux, flux_err=flux_err, meta=dict(self.meta))

    def remove_nans(self) -> LightCurve:
        """Without the cadences whose flux is NaN."""
        return self[~np.isnan(self.flux)]

    def normalize(self) -> LightCurve:
        """Flux and its error divided by the median flux."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: left NaN, as given
            median = np.nanmedian(self.flux)
        err = None if self.flux_err is None else self.flux_err / median
        out = self.with_flux(self.flux / median, err)
        out.meta["NORMALIZED"] = True
        return out

    def remove_outliers(self, sigma_lower: float, sigma_upper: float) -> LightCurve:
        """Without the cadences iterative median/standard-deviation clipping rejects (at
        most five rounds)."""
        from astropy.stats import sigma_clip

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clipped = sigma_clip(
                self.flux, sigma=5.0, sigma_lower=sigma_lower, sigma_upper=sigma_upper,
                maxiters=5, cenfunc="median", stdfunc="std", masked=True,
            )  # fmt: skip
        return self[~np.ma.getmaskarray(clipped)]

    @classmethod
    def from_lightkurve(cls, lc: Any) -> LightCurve:
        """The same cadences from a lightkurve ``LightCurve`` (or anything with its
        ``time.value``/``flux`` columns and ``meta``)."""

        def column(name: str, dtype: Any = None) -> np.ndarray | None:
            if name not in lc.colnames:
                return None
            value = lc[name]
            value = getattr(value, "value", value)
            return np.asarray(getattr(value, "unmasked", value), dtype=dtype)

        flux = column("flux")
        if flux is None:
            raise NoDataError("the light curve has no flux column")
        return cls(
            time=np.asarray(lc.time.value, dtype=float),
            flux=flux,
            flux_err=column("flux_err"),
            quality=column("quality"),
            centroid_col=column("centroid_col"),
            centroid_row=column("centroid_row"),
            meta=dict(lc.meta),
        )

    def to_lightkurve(self) -> Any:
        """A lightkurve ``KeplerLightCurve``/``TessLightCurve`` of the same cadences (for
        plugins, which are documented to receive one)."""
        from exoextract.lightcurves.read import quiet_import_lightkurve

        lk = quiet_import_lightkurve()
        tess = self.mission == "TESS"
        cls = lk.TessLightCurve if tess else lk.KeplerLightCurve
        columns = {n: getattr(self, n) for n in _ARRAYS[3:] if getattr(self, n) is not None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = cls(time=self.time, flux=self.flux, flux_err=self.flux_err, **columns,
                      time_format="btjd" if tess else "bkjd")  # fmt: skip
        out.meta.update({k: v for k, v in self.meta.items() if k != "QUALITY_MASK"})
        return out


_ARRAYS = ("time", "flux", "flux_err", "quality", "centroid_col", "centroid_row")


def as_lightcurve(lc: Any) -> LightCurve:
    """``lc`` as this module's type (lightkurve objects converted)."""
    return lc if isinstance(lc, LightCurve) else LightCurve.from_lightkurve(lc)


def stitch(pieces: Sequence[Any]) -> LightCurve:
    """Each piece normalised, then joined in the order of their first times; a column some
    piece lacks is left out of the whole."""
    usable = [as_lightcurve(p) for p in pieces]
    usable = [p for p in usable if len(p) > 0]
    if not usable:
        raise NoDataError("every light-curve file was empty after the quality mask")
    usable.sort(key=lambda p: float(p.time[0]))
    normalized = [p.normalize() for p in usable]
    if len(normalized) == 1:
        return normalized[0]
    joined: dict[str, Any] = {}
    for name in _ARRAYS:
        values = [getattr(p, name) for p in normalized]
        joined[name] = None if any(v is None for v in values) else np.concatenate(values)
    meta: dict[str, Any] = {}
    for piece in normalized:
        meta.update(piece.meta)
    return LightCurve(**joined, meta=meta)


# ----------------------------------------------------------------------- the fast reader
def archive_product(hdul: Any) -> str | None:
    """``KeplerLightCurve`` or ``TessLightCurve`` for a pipeline light curve of those missions
    (Kepler/K2 ``_llc``/``_slc``, TESS SPOC and TESS-SPOC ``_lc``), ``K2SFF`` for a K2SFF
    light curve (lightkurve's names), None for anything else (other products, pixel files,
    files whose kind only lightkurve's detector can tell)."""
    try:
        primary = hdul[0].header
        first = hdul[1].header
        creator = str(primary.get("CREATOR", "")).lower()
        origin = str(primary.get("ORIGIN", "")).lower()
        telescope = str(primary.get("TELESCOP", primary.get("MISSION", ""))).lower()
        comment = str(primary.get("COMMENT", ""))
    except (IndexError, AttributeError):
        return None
    special = (
        "qlp" in origin or "cdips" in origin or "tasoc" in origin or origin in ("cea & ssi",
        "ucsb/tglc") or "k2sc" in creator or "EVEREST" in comment or "folded" in creator
        or primary.get("LITE") is not None
        or "k2varcat" in str(getattr(hdul, "filename", lambda: "")() or "")
        or "targetpixel" in creator
    )  # fmt: skip
    if special:
        return None
    # K2SFF names itself nowhere: lightkurve knows it by its first table and column
    if first.get("EXTNAME") == "BESTAPER" and first.get("TTYPE4") == "ARCLENGTH":
        return "K2SFF"
    if first.get("EXTNAME") != "LIGHTCURVE" or not (
        "lightcurve" in creator or "fluxexporter" in creator
    ):
        return None
    return {"kepler": "KeplerLightCurve", "tess": "TessLightCurve"}.get(telescope)


def read_archive_product(
    path: str | Path, kind: str, flux_column: str, quality_bitmask: str | int, loaded: Any = None
) -> LightCurve:
    """A Kepler/K2 or TESS SPOC light-curve file (:func:`archive_product`) read with
    astropy: rows with a NaN time dropped, the quality mask applied, ``flux_column`` and
    its ``_err`` as flux and error. ``loaded``: the file's HDUList if it was read already."""
    tess = kind == "TessLightCurve"
    with _opened(path, loaded) as hdul:
        primary = hdul[0].header
        data = hdul[1].data
        names = {n.lower(): n for n in data.columns.names}

        def column(name: str) -> np.ndarray | None:
            if name not in names:
                return None
            values = np.asarray(data[names[name]])
            return values.astype(values.dtype.newbyteorder("="))

        time = column("time")
        if time is None:
            raise KeyError("TIME")
        good = ~np.isnan(time)
        quality = column("quality" if tess else "sap_quality")
        if quality is None:
            quality = np.zeros(time.size, dtype=np.int32)
        mission = primary.get("MISSION", primary.get("TELESCOP"))
        keep = good & quality_mask(quality, quality_bitmask, "TESS" if tess else mission)
        flux = column(flux_column.lower())
        if flux is None:
            raise KeyError(flux_column.upper())
        meta = {
            "MISSION": mission,
            "AUTHOR": ("TESS-SPOC" if "tess-spoc" in str(path) else "SPOC") if tess else "Kepler",
            "TARGETID": primary.get("TICID" if tess else "KEPLERID"),
            "LABEL": primary.get("OBJECT"),
            "RA": primary.get("RA_OBJ"),
            "DEC": primary.get("DEC_OBJ"),
            "FILENAME": str(path),
            "FLUX_ORIGIN": flux_column.lower(),
            "READER": "astropy",
            "QUALITY_BITMASK": quality_bitmask,
            "QUALITY_MASK": keep[good],
        }
        err = column("flux_err")
        err = column(f"{flux_column.lower()}_err") if err is None else err
        col, row = column("mom_centr1"), column("mom_centr2")
    return LightCurve(
        time=time[keep],
        flux=flux[keep],
        flux_err=None if err is None else err[keep],
        quality=quality[keep],
        centroid_col=None if col is None else col[keep],
        centroid_row=None if row is None else row[keep],
        meta=meta,
    )


def read_k2sff(path: str | Path, loaded: Any = None) -> LightCurve:
    """A K2SFF light curve (Vanderburg & Johnson 2014) read with astropy, as lightkurve reads
    it: the BESTAPER table's corrected flux FCOR over its times T (BKJD), rows with a NaN
    time dropped; the product carries no flux errors (NaN), quality flags or centroids.
    ``loaded``: the file's HDUList if it was read already."""
    with _opened(path, loaded) as hdul:
        primary = hdul[0].header
        data = hdul["BESTAPER"].data
        time = np.asarray(data["T"], dtype=float)
        flux = np.asarray(data["FCOR"])
        flux = flux.astype(flux.dtype.newbyteorder("="))
    good = ~np.isnan(time)
    return LightCurve(
        time=time[good],
        flux=flux[good],
        flux_err=np.full(int(good.sum()), np.nan),
        meta={  # the primary header's values, as lightkurve keeps them (for plugins)
            **{k: v for k, v in primary.items() if k and k not in ("COMMENT", "HISTORY")},
            "MISSION": primary.get("MISSION", primary.get("TELESCOP")),
            "AUTHOR": "K2SFF",
            "TARGETID": primary.get("KEPLERID"),
            "LABEL": primary.get("OBJECT"),
            "RA": primary.get("RA_OBJ"),
            "DEC": primary.get("DEC_OBJ"),
            "FILENAME": str(path),
            "FLUX_ORIGIN": "fcor",
            "READER": "astropy",
        },
    )


@contextlib.contextmanager
def _opened(path: str | Path, loaded: Any) -> Iterator[Any]:
    """``loaded`` as it is, or the file opened (and closed after)."""
    if loaded is not None:
        yield loaded
        return
    from astropy.io import fits

    with fits.open(path, memmap=False) as opened:
        yield opened
