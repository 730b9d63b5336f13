"""Imported once by the forkserver that forks every worker.

Thread limits go into the environment before numpy and numba load, and the heavy imports
and TLS's numba kernels are loaded here once, so a new or recycled worker starts in
milliseconds instead of re-importing astropy and reloading kernels. lightkurve is among
them only for a run with plugins (they are handed a lightkurve ``LightCurve``): the
archive's Kepler and TESS files are read with astropy alone
(:mod:`exoextract.lightcurves.lightcurve`), and a process that meets another product
imports it then.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import warnings

from exoextract.execution.isolation import LIGHTKURVE_ENV, TLS_BACKEND_ENV, limit_threads_env

limit_threads_env()


def _in_forkserver() -> bool:
    """Whether this import is the forkserver's preload (its ``main`` is on the stack)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "main" and code.co_filename.endswith("forkserver.py"):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _exit_now(server: int) -> None:
    if os.getpid() == server:  # not a worker forked from it (they leave by os._exit anyway)
        os._exit(0)


# The server ends when the run's process does; tearing down what it loaded (astropy, numba)
# took 0.3-0.5 s, during which it held the run's stdout and stderr open: a shell pipe, a
# Colab `!` cell or subprocess.run(capture_output=True) waited for it. It holds nothing to
# flush or clean (its socket is the parent's to remove), so it leaves at once.
EXITS_AT_ONCE = _in_forkserver()
if EXITS_AT_ONCE:
    atexit.register(_exit_now, os.getpid())

PRELOADED = (
    "exoextract.star.extract",
    "exoextract.sources.local",
    "exoextract.sources.synthetic",
    "exoextract.science.detrend",
    "exoextract.science.vetting",
    "exoextract.science.blind_search",
)

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import astropy.io.fits
        import astropy.stats
        import astropy.timeseries  # noqa: F401
        import numpy  # noqa: F401

        # by name (a linter cannot drop them as unused): the star's modules, the detrending,
        # vetting and search drivers and every family, with what they load; left
        # to the first star, they cost it 0.5 s inside its time limit (seconds_clean)
        for module in PRELOADED:
            importlib.import_module(module)
        from exoextract.features import FAMILIES

        for family in FAMILIES:
            family.load()

        if os.environ.get(LIGHTKURVE_ENV) == "1":  # plugins are handed a lightkurve object
            import lightkurve  # noqa: F401
except Exception:  # the forkserver must start whatever happens; workers import lazily
    pass

try:  # the search's and the detrending's kernels: loaded from numba's cache, else compiled
    from exoextract.science import savgol
    from exoextract.science.search import ffa

    ffa.warmup()
    savgol.warmup()
except Exception:  # a worker compiles on first use instead
    pass

if os.environ.get("EXOEXTRACT_WARM_TLS", "1") != "0":
    try:
        from transitleastsquares.warmup import ensure_compiled

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ensure_compiled(os.environ.get(TLS_BACKEND_ENV, "fused-pl"), verbose=False)
    except Exception:  # a worker compiles on first use instead
        pass
