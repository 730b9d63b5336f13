"""The Colab notebook (notebooks/colab.ipynb) runs, cell by cell, on the demo stars: the cells
users copy are known to work. Executed in a real Jupyter kernel (nbclient); off Colab the
mount and install cells skip themselves, the run cell runs run.sh on three synthetic stars,
and running the notebook again resumes the complete run instead of computing it twice."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "colab.ipynb"


def execute(tmp_path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    return notebook


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


@pytest.mark.slow
def test_the_colab_notebook_runs_on_the_demo_stars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "drive" / "exoextract" / "demo"
    bin_dir = str(Path(sys.executable).parent)
    monkeypatch.setenv("EXOEXTRACT_REPO_DIR", str(REPO))
    monkeypatch.setenv("EXOEXTRACT_RUN_DIR", str(run))
    monkeypatch.setenv("EXOEXTRACT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXOEXTRACT_RETRY_DELAY", "0")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.delenv("EXOEXTRACT_TARGETS", raising=False)

    first = execute(tmp_path)
    outputs = [text_of(c) for c in first.cells if c.cell_type == "code"]
    assert "run.sh: complete" in outputs[3], outputs[3]
    assert outputs[4].startswith("complete - 3 stars, 3 rows,"), outputs[4]
    assert "TIC 1" in outputs[4] and "tls_period" in outputs[4]
    assert (run / "report.html").stat().st_size > 10_000
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"

    again = execute(tmp_path)  # a reset runtime runs the cells again: nothing is recomputed
    rerun = text_of([c for c in again.cells if c.cell_type == "code"][3])
    assert "run.sh: complete" in rerun
    assert "stars computed now" not in rerun or "stars computed now: 0" in rerun
