"""exoextract: crash-proof batch extraction of light-curve features for exoplanet ML."""

__version__ = "0.2.0"  # the one place the version is written (pyproject reads it)
