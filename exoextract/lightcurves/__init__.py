"""Light-curve files: reading them, their names, their headers, lightkurve's cache."""
