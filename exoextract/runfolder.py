"""The run folder's description of a run: manifest.json and its progress counters.

The checkpoint files (:mod:`exoextract.checkpoint`) are the truth about what is done; the
manifest says what the run is (its input, settings and sessions) and keeps counters that
cost the same to rewrite at chunk 10 as at chunk 10,000.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from exoextract.checkpoint import write_json
from exoextract.errors import RunDirError
from exoextract.targets import Target

MANIFEST = "manifest.json"
FORMAT = 1


def latest_run(runs_root: Path, command: str = "resume") -> Path:
    """The run folder under ``runs_root`` whose manifest changed last; ``command`` is the
    one the user typed, for the message when there is none."""
    manifests = sorted(runs_root.glob(f"*/{MANIFEST}"), key=lambda p: p.stat().st_mtime)
    if not manifests:
        raise RunDirError(
            f"no run found under {runs_root}/ — give the run folder: exoextract {command} RUN_DIR"
        )
    return manifests[-1].parent


def load_manifest(run_dir: Path) -> dict[str, Any]:
    import json

    path = run_dir / MANIFEST
    if not path.exists():
        raise RunDirError(f"{run_dir} is not a run folder (no {MANIFEST}) — check the path")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RunDirError(
            f"{path} is unreadable ({error}) — it is not a run you can resume"
        ) from None
    if manifest.get("format") != FORMAT:
        raise RunDirError(f"{run_dir} was written by an incompatible exoextract version")
    return manifest


def record_progress(
    manifest: dict[str, Any], chunks: list[list[list[Target]]], done: set[str]
) -> dict[str, int]:
    """Counters of the plan (computed once per session); the manifest holds only these, so
    rewriting it after each chunk costs the same at chunk 10 as at chunk 10,000."""
    sizes = [sum(len(star) for star in chunk) for chunk in chunks]
    finished = [sum(1 for star in chunk for t in star if t.key in done) for chunk in chunks]
    progress = {
        "chunks": len(chunks),
        "chunks_done": sum(1 for n, f in zip(sizes, finished, strict=True) if f == n),
        "targets": sum(sizes),
        "targets_done": sum(finished),
    }
    manifest["progress"] = progress
    manifest.pop("chunks", None)  # 0.1 listed every chunk's keys here
    manifest.pop("checkpoint_files", None)
    return progress


def chunk_finished(manifest: dict[str, Any], rows: int) -> None:
    progress = manifest["progress"]
    progress["chunks_done"] += 1
    progress["targets_done"] += rows


def save_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    manifest["updated"] = now()
    write_json(
        run_dir / MANIFEST, manifest, f"free some disk space, then run: exoextract resume {run_dir}"
    )


def new_run_dir(root: Path, csv_path: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{stamp}-{csv_path.stem}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = root / f"{stamp}-{csv_path.stem}-{n}"
    return candidate


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
