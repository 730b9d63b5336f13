"""The feature reference (docs/reference/features.md), generated from the families'
declarations: ``exoextract features`` prints it, ``make docs`` writes it, and a test fails
when the file and the code disagree, so the reference cannot drift.
"""

from __future__ import annotations

import inspect

from exoextract import features
from exoextract.features import FAMILIES, Family, reason_spec
from exoextract.science import clean, detrend
from exoextract.settings import Settings

IDENTITY = (
    ("target_id", "text", "The star: KIC, TIC or EPIC number (or a bare number)."),
    ("candidate", "text", "The candidate id (TOI-185.01, K00351.01, ...) when the input has one."),
    ("label", "text", "planet, candidate or false_positive, from the disposition column."),
    ("(input columns)", "as read", "Every other column of the input, untouched."),
)
TRAILER = (
    ("n_files", "count", "Light-curve files read for the star (quarters, sectors)."),
    ("n_redownloaded", "count", "Cached files found corrupt, set aside and downloaded again."),
    (
        "n_files_unreadable",
        "count",
        "Local files of the star left out because they are not whole (truncated, empty); "
        "the star is measured on the rest.",
    ),
    ("files_unreadable", "text", "Their file names, `; `-separated (empty: none)."),
    (
        "seconds_read",
        "s",
        "Wall seconds to find and read the light-curve files (downloads run before, in "
        "their own pool).",
    ),
    ("seconds_clean", "s", "Wall seconds of the cleaning (quality mask, clipping, flattening)."),
    (
        "seconds_<family>",
        "s",
        "Wall seconds of each enabled family (`seconds_stats`, `seconds_variability`, "
        "`seconds_bls`, `seconds_tls`, `seconds_vet`, `seconds_known`, ...): a star-level or "
        "per-signal family's own seconds on the whole star (every search and measurement; "
        "`seconds_signals` is the rest of the signals' search), a per-candidate family's on "
        "the row. The blind search both BLS and TLS start from is counted in whichever of "
        "the two runs first.",
    ),
    ("(plugin columns)", "as returned", "Columns of --extra-feature plugins, as floats."),
)
FAILURES = (
    ("target_id, candidate, label", "text", "As in the features table."),
    ("line", "count", "Line of the input file."),
    ("status", "text", "no_data, failed, timed_out, crashed, memory_exceeded or quarantined."),
    ("error_type", "text", "The exception class or failure kind."),
    ("message", "text", "What went wrong, in one line."),
    ("attempts", "count", "Tries, retries included."),
    ("seconds", "s", "Time spent on the target, all attempts."),
    ("exit_code", "", "Exit code of the worker (negative: the signal) when it died."),
    ("(input columns)", "as read", "Every other column of the input, untouched."),
)


SCOPES = {
    "star": "once per star",
    "signal": "once per signal of the star, at its ephemeris (a candidate row carries its "
    "signal's values, or its catalog ephemeris measured)",
    "candidate": "once per candidate row",
}


def _summary(doc: str | None) -> str:
    return inspect.cleandoc(doc or "").strip()


def _table(rows: list[tuple[str, str, str]]) -> list[str]:
    lines = ["| column | unit | meaning |", "| --- | --- | --- |"]
    lines.extend(
        f"| `{name}` | {unit} | {meaning} |"
        if not name.startswith("(")
        else f"| {name} | {unit} | {meaning} |"
        for name, unit, meaning in rows
    )
    return lines


INTRO = (
    "A row of `features.parquet` is one candidate (one row of the input); a row of",
    "`signals.parquet` is one signal of a star. A candidate row's per-signal columns",
    "(`bls_`, `tls_`, `vet_`, `view_`) are those of the signal that is the candidate, or",
    "are measured at its catalog ephemeris; `match` says which (see the match family).",
    "`exoextract check RUN` verifies it on a run folder.",
    "",
    "Rows of `features.parquet`, in this column order: identity, the input's own columns,",
    "then each enabled family's columns followed by its `<family>_reason` column (empty when",
    "the family ran, otherwise why its values are NaN), then `n_files`, `n_redownloaded`,",
    "the `seconds_*` timing columns and plugin columns. Rows of `signals.parquet`: the",
    "identity (with the candidate and label of the row the signal is, if any), the",
    "`signal_` columns (in the signals family below), then every per-signal family's.",
    "Numbers are float64 (NaN when they cannot be computed), reasons are text, views are",
    "lists of float. Times are in the mission's own system: BKJD (BJD - 2454833) for Kepler",
    "and K2, BTJD (BJD - 2457000) for TESS; depths are fractions of the stellar flux.",
    "",
)


def render() -> str:
    defaults = Settings()
    out = [
        "# Feature reference",
        "",
        "Generated from the code by `python scripts/reference.py` (`make docs`); do not edit.",
        f"Schema version {features.SCHEMA_VERSION} (in each Parquet file's metadata, key "
        "`exoextract`).",
        "",
        *INTRO,
        "## Identity",
        "",
        *_table(list(IDENTITY)),
        "",
        "## Cleaning",
        "",
        "Before any family: what every family's flux went through.",
        "",
        _summary(clean.__doc__),
        "",
        _summary(detrend.__doc__),
        "",
    ]
    for family in FAMILIES:
        out += _family_section(family, defaults)
    out += [
        "## After the families",
        "",
        *_table(list(TRAILER)),
        "",
        "## failures.parquet",
        "",
        *_table(list(FAILURES)),
        "",
    ]
    return "\n".join(out)


def _family_section(family: Family, defaults: Settings) -> list[str]:
    """A family's heading, when it runs, its module's documentation and its columns."""
    module = family.load()
    state = "on" if family.is_enabled(defaults) else "off"
    scope = SCOPES[family.scope]
    names = " or ".join(f"`{name}`" for name in family.settings)
    which = "Setting" if len(family.settings) == 1 else "On with any of the settings"
    out = [
        f"## {family.name}",
        "",
        f"{which} {names} ({state} by default); computed {scope}.",
        "",
        _summary(module.__doc__),
        "",
        *_table(
            [
                (c.name, c.unit + (" (list)" if c.kind == "list" else ""), c.doc)
                for c in family.columns
            ]
        ),
        f"| `{family.reason_column}` | text | {reason_spec(family).doc} |",
        "",
    ]
    if family.name == "signals":
        from exoextract.features.signals import SIGNAL_COLUMNS

        out += [
            "Each row of `signals.parquet` starts with these, then every per-signal "
            "family's columns measured at that signal:",
            "",
            *_table([(c.name, c.unit, c.doc) for c in SIGNAL_COLUMNS]),
            "",
        ]
    if family.name == "vet":
        from exoextract.science import vetting

        out += ["How the vetting metrics are measured (also for `known_`):", "",
                _summary(vetting.__doc__), ""]  # fmt: skip
    return out


if __name__ == "__main__":
    print(render(), end="")
