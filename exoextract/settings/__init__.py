"""One frozen settings object: every tunable of a run, with the reason it exists.

Settings come from three layers, later ones winning: the defaults (the fields), a TOML file
(``configs/*.toml``, sections only group keys for reading), and command-line flags. The
resolved object is written into the run manifest; :func:`result_fingerprint` covers the
fields that change results, so ``resume`` can refuse a run whose results would mix two
configurations while still letting a user change workers or timeouts on a new machine.

Its parts: :mod:`~exoextract.settings.fields` (the object), :mod:`~exoextract.settings.load`
(the layers), :mod:`~exoextract.settings.fingerprint` (what changes results).
"""

from exoextract.settings.fields import (
    EXECUTORS,
    MISSIONS,
    SCHEDULES,
    SEARCH_MODES,
    SOURCES,
    TLS_BACKENDS,
    Settings,
)
from exoextract.settings.fingerprint import describe_fields, result_differences, result_fingerprint
from exoextract.settings.load import (
    PRESETS_DIR,
    config_path,
    load_settings,
    parse_size,
    presets,
    read_config,
    settings_from_dict,
)

__all__ = [
    "EXECUTORS",
    "MISSIONS",
    "PRESETS_DIR",
    "SCHEDULES",
    "SEARCH_MODES",
    "SOURCES",
    "TLS_BACKENDS",
    "Settings",
    "config_path",
    "describe_fields",
    "load_settings",
    "parse_size",
    "presets",
    "read_config",
    "result_differences",
    "result_fingerprint",
    "settings_from_dict",
]
