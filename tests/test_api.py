"""The public API: the names ``exoextract`` exports, cheap to import, each public function
documented (numpydoc Parameters/Returns) with examples that run."""

from __future__ import annotations

import doctest
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import exoextract

EXPECTED = {
    "__version__",
    # runs
    "start_run", "resume_run", "RunResult", "run_status", "RunStatus",
    # tables
    "read_tables", "RunTables", "export_run", "Exported",
    # settings
    "load_settings", "presets", "Settings",
    # the lightkurve cache
    "clean_cache", "CleanReport",
    # errors a user can cause
    "ExoextractError", "InputError", "RunDirError", "CheckpointError", "CacheError",
    "ArchiveUnreachable", "WorkersUnavailable", "Interrupted",
}  # fmt: skip
FUNCTIONS = sorted(n for n in EXPECTED if n[0].islower() and n != "__version__")


def test_the_exported_names_are_the_public_api() -> None:
    assert set(exoextract.__all__) == EXPECTED
    assert len(exoextract.__all__) == len(EXPECTED)
    for name in exoextract.__all__:
        value = getattr(exoextract, name)
        if name != "__version__":
            assert value.__module__.startswith("exoextract."), name
    assert set(dir(exoextract)) >= EXPECTED
    errors = [n for n in EXPECTED if n.endswith("Error") or n in ("WorkersUnavailable",
              "ArchiveUnreachable", "Interrupted")]  # fmt: skip
    for name in errors:
        assert issubclass(getattr(exoextract, name), exoextract.ExoextractError), name
    with pytest.raises(AttributeError, match="module 'exoextract' has no attribute 'nope'"):
        exoextract.nope  # noqa: B018


def test_importing_exoextract_loads_nothing_heavy() -> None:
    """A worker, ``--help`` or a script that only needs the errors pays for none of pandas,
    pyarrow, the pool or astropy; the names load on first use."""
    code = (
        "import sys, exoextract\n"
        "heavy = ('pandas', 'pyarrow', 'pebble', 'astropy', 'numpy', 'exoextract.run.runner')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "exoextract.InputError\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "[]"]


def test_a_runs_own_process_loads_no_science_library(tmp_path: Path) -> None:
    """The stars are computed in the workers; the run's process plans, checkpoints and
    merges. Merging read the families' columns through the search module, which imported
    numba (0.2 s of every run's wall time, after its last star)."""
    (tmp_path / "targets.csv").write_text("tic\n100200300\n")
    script = tmp_path / "one.py"
    script.write_text(
        "import sys\n"
        "from exoextract import load_settings, start_run\n"
        "if __name__ == '__main__':\n"
        "    settings = load_settings(None, {'source': 'synthetic', 'workers': 1})\n"
        "    result = start_run('targets.csv', settings, out_dir='run')\n"
        "    heavy = ('numba', 'astropy', 'scipy', 'matplotlib', 'lightkurve',\n"
        "             'transitleastsquares')\n"
        "    print(result.stars, sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "1 []"


def test_the_package_is_typed() -> None:
    assert (Path(exoextract.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_public_function_has_numpydoc_sections_and_an_example(name: str) -> None:
    doc = inspect.getdoc(getattr(exoextract, name)) or ""
    sections = ["Returns", "Examples"]
    if inspect.signature(getattr(exoextract, name)).parameters:
        sections.insert(0, "Parameters")
    for section in sections:
        assert f"\n{section}\n{'-' * len(section)}\n" in doc, f"{name}: no {section} section"
    assert ">>> " in doc


@pytest.fixture(scope="module")
def globs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """What the examples assume: a two-star targets file, a scratch folder, and a finished
    run of those stars."""
    tmp = tmp_path_factory.mktemp("api")
    targets_csv = tmp / "targets.csv"
    targets_csv.write_text("target\nTIC 1\nTIC 2\n")
    settings = exoextract.load_settings(
        None, {"source": "synthetic", "workers": 1, "run_tls": False}
    )
    result = exoextract.start_run(targets_csv, settings, out_dir=tmp / "run")
    assert result.complete
    return {"tmp": tmp, "targets_csv": targets_csv, "run_dir": result.run_dir}


@pytest.mark.parametrize("name", [*FUNCTIONS, "exoextract"])
def test_the_examples_run(name: str, globs: dict[str, object]) -> None:
    target = exoextract if name == "exoextract" else getattr(exoextract, name)
    tests = doctest.DocTestFinder(recurse=False).find(target, name)
    assert tests and tests[0].examples, f"{name} has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        test.globs = {**vars(exoextract), **globs}
        runner.run(test)
    assert runner.failures == 0, f"{name}: {runner.failures} example(s) failed (output above)"
