"""`make install` says in one line when the interpreter cannot work, before touching anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _make_install(python: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "install", f"PYTHON={python}", f"VENV={venv}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_too_old_python_is_refused_with_what_to_do(tmp_path: Path) -> None:
    fake = tmp_path / "python3.9"  # answers like Python 3.9 would
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.9.18"; exit 0; fi\nexit 1\n'
    )
    fake.chmod(0o755)
    result = _make_install(fake, tmp_path / "venv")
    assert result.returncode != 0
    assert (
        f"exoextract needs Python >= 3.11, but {fake} is Python 3.9.18: run "
        "'make install PYTHON=python3.11' (or 3.12, 3.13)"
    ) in result.stderr
    assert not (tmp_path / "venv").exists()


def test_missing_python_is_refused(tmp_path: Path) -> None:
    result = _make_install(tmp_path / "no-such-python", tmp_path / "venv")
    assert result.returncode != 0
    assert "is not found: run 'make install PYTHON=python3.11'" in result.stderr
    assert not (tmp_path / "venv").exists()
