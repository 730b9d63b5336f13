"""exoextract: crash-proof batch extraction of light-curve features for exoplanet ML."""

__version__ = "0.1.0"
