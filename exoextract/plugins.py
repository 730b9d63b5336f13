"""User feature plugins: ``--extra-feature module:function``.

A plugin is ``function(lc, row) -> {name: number}``: ``lc`` is the cleaned lightkurve
``LightCurve``, ``row`` the target's CSV row as a mapping. It runs in the workers under the
same supervision as the built-in families (a plugin that hangs or crashes fails only its
target). A plugin that raises fails its target (status ``failed``, not retried).
"""

from __future__ import annotations

import importlib
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from exoextract.errors import InputError, PluginError

_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_spec(spec: str) -> tuple[str, str]:
    if not _SPEC.match(spec.strip()):
        raise InputError(
            f"extra feature {spec!r} must look like module:function (e.g. myfeatures:compute)"
        )
    module, function = spec.strip().split(":")
    return module, function


def load(spec: str, search_path: str | None = None) -> Callable[..., Mapping[str, Any]]:
    """Import ``module:function``; ``search_path`` (the run's folder) is tried too."""
    module_name, function_name = parse_spec(spec)
    if search_path and search_path not in sys.path:
        sys.path.append(search_path)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(
            f"extra feature {spec}: cannot import {module_name} ({error}) — "
            "run from its folder or put it on PYTHONPATH"
        ) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise InputError(f"extra feature {spec}: {module_name} has no function {function_name}")
    return function


def validate_output(spec: str, values: Any, reserved: Iterable[str]) -> dict[str, float]:
    """Plugin output -> {name: float}, or PluginError saying what is wrong."""
    if not isinstance(values, Mapping):
        raise PluginError(
            f"{spec} returned {type(values).__name__}; return a dict of name -> number"
        )
    reserved = set(reserved)
    out: dict[str, float] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise PluginError(
                f"{spec} returned column name {name!r}; use letters, digits and underscores"
            )
        if name in reserved:
            raise PluginError(f"{spec} returned {name!r}, a built-in column; rename it")
        if isinstance(value, bool):
            out[name] = float(value)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise PluginError(
                f"{spec} returned {name!r} = {type(value).__name__}; features must be numbers"
            ) from None
        out[name] = number if not math.isnan(number) else math.nan
    return out


def run_all(
    specs: Iterable[str],
    lc: Any,
    row: Mapping[str, Any],
    reserved: Iterable[str],
    search_path: str | None,
) -> dict[str, float]:
    reserved = set(reserved)
    out: dict[str, float] = {}
    for spec in specs:
        try:
            function = load(spec, search_path)
        except InputError as error:
            raise PluginError(str(error)) from None
        values = validate_output(spec, function(lc, dict(row)), reserved | set(out))
        out.update(values)
    return out
