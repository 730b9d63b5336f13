"""Which settings change results: the fingerprint a run folder records, the differences
``resume`` refuses, and the fields as rows for the reference and ``--help``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

from exoextract.settings.fields import Settings, _jsonable


def result_fingerprint(settings: Settings) -> str:
    """Hash of the fields that change results; execution-only fields are left out."""
    chosen = {
        f.name: _jsonable(getattr(settings, f.name))
        for f in fields(settings)
        if f.metadata["results"]
    }
    blob = json.dumps(chosen, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def result_differences(old: Settings, new: Settings) -> list[str]:
    """Names of result-changing fields whose values differ, for the resume message."""
    return [
        f.name
        for f in fields(old)
        if f.metadata["results"] and getattr(old, f.name) != getattr(new, f.name)
    ]


def describe_fields() -> list[tuple[str, str, str, str]]:
    """(section, name, default, doc) for every field: the settings reference and `--help` use it."""
    rows = []
    for f in fields(Settings):
        rows.append((f.metadata["section"], f.name, repr(f.default), f.metadata["doc"]))
    return rows
