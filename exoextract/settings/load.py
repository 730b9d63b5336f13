"""Settings from their three layers: the defaults, a TOML file or a preset by name, and the
flags; each value coerced to its field's type, each mistake named in one line."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from exoextract.errors import InputError
from exoextract.settings.fields import Settings

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str | int | None) -> int | None:
    """'3GB' -> 3_000_000_000, '512MiB' -> 536_870_912; None or '' or 0 -> None (no cap)."""
    if text in (None, "", 0):
        return None
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise InputError(f"cannot read memory size {text!r} — write it like 3GB or 1500MB")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    letter = unit[:1] if unit not in ("b", "") else ""
    factor = 1024 ** ("kmgt".index(letter) + 1) if "i" in unit else _UNITS[letter]
    return int(number * factor) or None


def _coerce(name: str, value: Any) -> Any:
    """Turn a TOML or flag value into the field's type, or say what is wrong."""
    target = {f.name: f for f in fields(Settings)}[name]
    kind = str(target.type)
    try:
        if name == "max_memory_per_worker":
            return parse_size(value)
        if value is None:
            return None
        if "tuple" in kind:
            items = value.split(",") if isinstance(value, str) else list(value)
            cast: Any = float if "float" in kind else (int if "int" in kind else str)
            return tuple(cast(str(v).strip()) for v in items if str(v).strip())
        if kind.startswith("bool"):
            if isinstance(value, bool):
                return value
            raise ValueError
        if kind.startswith("int"):
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        if kind.startswith("float"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise InputError(f"setting {name} = {value!r} is not a valid {kind}") from None


def _flatten_toml(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    known = {f.name: f.metadata["section"] for f in fields(Settings)}
    flat: dict[str, Any] = {}
    for section, body in data.items():
        if not isinstance(body, Mapping):
            raise InputError(
                f"{path}: top-level key {section!r} must sit in a section such as [run]"
            )
        for key, value in body.items():
            if known.get(key) != section:
                where = f"belongs in [{known[key]}]" if key in known else "is not a setting"
                raise InputError(f"{path}: key {key!r} in [{section}] {where} — fix the config")
            flat[key] = value
    return flat


# the presets shipped with exoextract: configs/NAME.toml beside the package
PRESETS_DIR = Path(__file__).resolve().parents[2] / "configs"


def presets() -> list[str]:
    """Names of the shipped presets, for :func:`load_settings` and ``--config``.

    Returns
    -------
    list of str
        Sorted preset names.

    Examples
    --------
    >>> "colab-free" in presets()
    True
    """
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def config_path(config: str | Path) -> Path:
    """A config file, or a preset by name (``colab-free``) from any folder; a path such as
    ``configs/colab-free.toml`` that is not there from here finds the preset too."""
    path = Path(config)
    if path.is_file():
        return path
    name = path.stem if path.suffix == ".toml" and path.parent.name in ("configs", "") else None
    if path.suffix == "" and len(path.parts) == 1:
        name = path.name
    if name is not None and (PRESETS_DIR / f"{name}.toml").is_file():
        return PRESETS_DIR / f"{name}.toml"
    known = ", ".join(presets()) or "none found"
    raise InputError(
        f"config file {path} not found — check the --config path, or name a preset ({known})"
    )


def read_config(path: str | Path) -> dict[str, Any]:
    """Read a TOML config (a file, or a preset by name) into a flat {field: value}
    mapping, naming any mistake."""
    path = config_path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML ({error}) — fix the file") from None
    return _flatten_toml(data, path)


def load_settings(
    config: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """The run's settings: the defaults, then a config, then the overrides.

    Parameters
    ----------
    config : str or Path, optional
        A TOML file, or a preset by name (:func:`presets`: ``colab-free``, ``laptop``, ...)
        from any folder.
    overrides : mapping, optional
        Setting name -> value, as the command line's flags give them; None values are
        skipped.

    Returns
    -------
    Settings
        Frozen; each field carries its documentation (the settings reference lists them).

    Raises
    ------
    InputError
        An unknown setting, a bad value, a config file that is missing or not valid TOML.

    Examples
    --------
    >>> load_settings("colab-free").workers
    2
    >>> load_settings(None, {"timeout": "90"}).timeout
    90.0
    """
    values: dict[str, Any] = {}
    if config is not None:
        values.update(read_config(config))
    if os.environ.get("EXOEXTRACT_SCHEDULER"):
        values["scheduler"] = os.environ["EXOEXTRACT_SCHEDULER"]
    if os.environ.get("EXOEXTRACT_MAST_URL"):  # the environment beats the file, flags beat both
        values["mast_url"] = os.environ["EXOEXTRACT_MAST_URL"]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    unknown = set(values) - {f.name for f in fields(Settings)}
    if unknown:
        raise InputError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return Settings(**{k: _coerce(k, v) for k, v in values.items()})


def settings_from_dict(data: Mapping[str, Any]) -> Settings:
    """Rebuild settings recorded in a manifest (ignoring fields a newer version dropped)."""
    names = {f.name for f in fields(Settings)}
    return Settings(**{k: _coerce(k, v) for k, v in data.items() if k in names})
