"""Period search shared by the BLS and TLS families.

:func:`box_spectrum` is the fast blind search: a box (BLS) log-likelihood for every trial
period from ``period_min`` to ``period_max``, computed with a fast-folding algorithm on
the light curve binned per period octave (:mod:`exoextract.science.search.ffa`). The families then
refine only the strongest peaks at full resolution on the unbinned data (astropy's BLS for
``bls_``, transitleastsquares for ``tls_``). :mod:`exoextract.science.search.durations` holds the
physical duration limits both use.
"""

from exoextract.science.search.box import (
    Spectrum,
    box_spectrum,
    peak_indices,
    pooled_chi2,
    tls_spectra,
)

__all__ = ["Spectrum", "box_spectrum", "peak_indices", "pooled_chi2", "tls_spectra"]
