"""Shared fixtures: tests never touch the real home, cache or config directories."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exoextract.settings import Settings, load_settings

from runhelpers import marked_processes, pool_workers

HERE = Path(__file__).resolve().parent
SHARED_DATA = Path(
    os.environ.get("EXOEXTRACT_REAL_DATA", HERE.parent.parent / "shared" / "data")
).resolve()
WASP18 = SHARED_DATA / "tess" / "tess2018234235059-s0002-0000000100100827-0121-s_lc.fits"
KEPLER90_DIR = SHARED_DATA / "kepler" / "0114" / "011442793"

# Test plugins (tests/plugins/*.py) must import in workers, which the forkserver forks
# with the sys.path it had when it started.
if str(HERE / "plugins") not in sys.path:
    sys.path.insert(0, str(HERE / "plugins"))
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(HERE / "plugins"), os.environ.get("PYTHONPATH", "")) if p
)


# the flattening per period octave, at the factor measured for it
PER_OCTAVE = {"flatten_per_octave": True, "flatten_transit_factor": 4.0}


def _isolate(home: Path) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    for path in env.values():
        Path(path).mkdir(parents=True, exist_ok=True)
    return env


# The whole session (and the forkserver that forks every worker, which keeps the
# environment it started with) lives in a throwaway home.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="exoextract-test-home-"))
os.environ.update(_isolate(_SESSION_HOME))
atexit.register(shutil.rmtree, _SESSION_HOME, True)


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point HOME, XDG dirs and lightkurve's cache at a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    for key, value in _isolate(home).items():
        monkeypatch.setenv(key, value)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lightkurve as lk
        monkeypatch.setattr(lk.conf, "cache_dir", str(home / ".cache" / "lightkurve"))
    except ImportError:  # pragma: no cover
        pass
    return home


@pytest.fixture(autouse=True)
def nothing_left_running() -> Iterator[None]:
    """After every test: no pool worker of ours and no process a task started is alive."""
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (marked_processes() or pool_workers()):
        time.sleep(0.1)
    assert marked_processes() == [], "a process started by a task outlived it"
    assert pool_workers() == [], "a pool worker outlived its run"


@pytest.fixture(autouse=True)
def every_run_keeps_its_invariants(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that made runs in its tmp_path: each complete one passes
    ``exoextract check`` (each row is its candidate, each signal agrees with itself)."""
    yield
    tmp = request.node.funcargs.get("tmp_path")
    if not isinstance(tmp, Path) or request.node.get_closest_marker("unchecked_runs"):
        return
    from exoextract.run.check import check_run

    for summary in sorted(tmp.rglob("summary.json")):
        if not (summary.parent / "signals.parquet").exists():
            continue
        checked = check_run(summary.parent)
        assert checked.ok, f"{summary.parent}: " + "; ".join(checked.problems[:10])


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared mission data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def data_copy(shared_data: Path, tmp_path: Path) -> Path:
    """A writable copy of ../shared/data (the original is read-only in CI)."""
    target = tmp_path / "data"
    shutil.copytree(shared_data, target)
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return target


def fast_settings(**overrides: object) -> Settings:
    """Settings for tests: short backoff and grace, no long waits."""
    values: dict[str, object] = {
        "backoff_base": 0.05,
        "backoff_max": 0.2,
        "kill_grace": 1.0,
        "stop_grace": 2.0,
        "progress_interval": 0.5,
    }
    values.update(overrides)
    return load_settings(None, values)


def star_context(lc: object, **overrides: object) -> object:
    """A FeatureContext for a light curve, cleaned as a worker would (both flux versions)."""
    from exoextract.features import FeatureContext
    from exoextract.science.clean import clean_lightcurve

    settings = load_settings(None, overrides)
    return FeatureContext.of(clean_lightcurve(lc, settings), settings)


def star_row(lc: object, **overrides: object) -> dict[str, object]:
    """A light curve's row read alone, as a plain target list's: its strongest signal's."""
    from exoextract.star.rows import first_row

    return first_row(star_context(lc, **overrides))  # type: ignore[arg-type]


def row_of(ctx: object, candidate: object = None) -> dict[str, object]:
    """The row of ``candidate`` (default: a plain target list's row) on a star's context."""
    from exoextract.star.rows import star_rows
    from exoextract.star.task import Candidate

    chosen = candidate or Candidate(key="star")
    return star_rows(ctx, [chosen]).rows[chosen.key]  # type: ignore[arg-type, attr-defined]


def fresh_python(code: str, timeout: float = 300, **env: str) -> str:
    """The standard output of ``code`` run by a fresh Python (what a worker or a new
    command starts from), without warming TLS's kernels unless ``env`` says so; the
    process must succeed."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "EXOEXTRACT_WARM_TLS": "0", **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()
