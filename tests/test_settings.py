"""Settings: defaults, TOML files, flag overrides, and messages for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from exoextract.errors import InputError
from exoextract.settings import (
    Settings,
    describe_fields,
    load_settings,
    parse_size,
    result_differences,
    result_fingerprint,
    settings_from_dict,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.toml")))
def test_shipped_configs_load(name: str) -> None:
    settings = load_settings(REPO / "configs" / name)
    assert isinstance(settings, Settings)


def test_presets_are_shipped_and_differ_where_machines_differ() -> None:
    presets = {
        name: load_settings(REPO / "configs" / f"{name}.toml")
        for name in ("colab-free", "colab-pro", "laptop", "cluster")
    }
    assert presets["colab-free"].workers == 2
    assert presets["colab-pro"].workers > presets["colab-free"].workers
    assert presets["laptop"].workers == 0 and presets["cluster"].workers == 0  # automatic
    assert presets["cluster"].chunk_size > presets["laptop"].chunk_size
    assert all(p.max_memory_per_worker for p in presets.values())


def test_colab_config_is_sized_for_two_cpus() -> None:
    settings = load_settings(REPO / "configs" / "colab-free.toml")
    assert settings.workers == 2
    assert settings.max_memory_per_worker is not None


def test_flags_override_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[run]\nworkers = 3\ntimeout = 50\n[features]\nrun_tls = false\n")
    settings = load_settings(config, {"workers": 1, "timeout": None})
    assert (settings.workers, settings.timeout, settings.run_tls) == (1, 50.0, False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[run]\nworkerz = 3\n", "key 'workerz' in [run] is not a setting — fix the config"),
        (
            "[features]\nworkers = 3\n",
            "key 'workers' in [features] belongs in [run] — fix the config",
        ),
        ("workers = 3\n", "top-level key 'workers' must sit in a section such as [run]"),
        ("[run\n", "not valid TOML"),
    ],
)
def test_config_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(config)


def test_missing_config() -> None:
    with pytest.raises(InputError, match=r"config file nope\.toml not found — check the --config"):
        load_settings("nope.toml")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source": "ftp"}, "unknown source 'ftp' — use one of: local, synthetic, mast"),
        ({"workers": -1}, "setting workers must be >= 0"),
        ({"timeout": 0}, "setting timeout must be > 0"),
        ({"workers": "many"}, "setting workers = 'many' is not a valid int"),
        ({"period_min": 2, "period_max": 1}, "period_max (1.0) must be larger than period_min"),
        ({"max_memory_per_worker": "10MB"}, "below 64 MB"),
        ({"tls_backend": "gpu"}, "unknown TLS backend 'gpu'"),
    ],
)
def test_bad_values(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(None, overrides)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3GB", 3 * 10**9),
        ("1500MB", 1500 * 10**6),
        ("512MiB", 512 * 2**20),
        ("2g", 2 * 10**9),
        ("1.5GiB", int(1.5 * 2**30)),
        ("", None),
        (None, None),
        ("0", None),
    ],
)
def test_sizes(text: str | None, expected: int | None) -> None:
    assert parse_size(text) == expected


def test_bad_size() -> None:
    with pytest.raises(InputError, match="cannot read memory size 'lots' — write it like 3GB"):
        parse_size("lots")


def test_fingerprint_ignores_execution_settings() -> None:
    base = load_settings()
    assert result_fingerprint(base) == result_fingerprint(base.replace(workers=7, timeout=5.0))
    changed = base.replace(run_tls=False, period_min=1.0)
    assert result_fingerprint(base) != result_fingerprint(changed)
    assert result_differences(base, changed) == ["run_tls", "period_min"]


def test_round_trip_through_manifest_form() -> None:
    settings = load_settings(None, {"extra_features": "a:b,c:d", "max_memory_per_worker": "2GB"})
    assert settings.extra_features == ("a:b", "c:d")
    assert settings_from_dict(settings.to_dict()) == settings


def test_every_field_is_documented() -> None:
    for section, name, _, doc in describe_fields():
        assert section in {"source", "columns", "clean", "features", "run"}, name
        assert doc.endswith("."), name


def test_default_config_lists_every_setting_in_its_section() -> None:
    import re
    import tomllib
    from dataclasses import fields
    from pathlib import Path

    from exoextract.settings import Settings

    path = Path(__file__).resolve().parent.parent / "configs" / "default.toml"
    section = None
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        header = re.match(r"^\[(\w+)\]", line)
        if header:
            section = header.group(1)
        key = re.match(r"^#?\s*([a-z0-9_]+)\s*=", line)
        if key and section:
            found.setdefault(key.group(1), section)
    expected = {f.name: f.metadata["section"] for f in fields(Settings)}
    assert {k: found.get(k) for k in expected} == expected
    tomllib.loads(path.read_text())  # and it still parses


def test_presets_load_by_name_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exoextract.errors import InputError
    from exoextract.settings import PRESETS_DIR, load_settings, presets

    assert {"colab-free", "laptop", "default"} <= set(presets())
    monkeypatch.chdir(tmp_path)  # outside the repository
    by_file = load_settings(PRESETS_DIR / "colab-free.toml")
    assert load_settings("colab-free") == by_file
    assert load_settings("configs/colab-free.toml") == by_file  # the README's path, from here
    with pytest.raises(
        InputError, match=r"config file nope not found — .*name a preset \(.*laptop"
    ):
        load_settings("nope")
