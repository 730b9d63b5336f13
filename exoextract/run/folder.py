"""A run folder: manifest.json, its checkpoints and its summary, owned by :class:`RunFolder`.

The checkpoint files (:mod:`exoextract.run.checkpoint`) are the truth about what is done; the
manifest says what the run is (its input, settings and sessions) and keeps counters that
cost the same to rewrite at chunk 10 as at chunk 10,000. Only :class:`RunFolder` writes
the manifest; readers (``status``, ``plot``) open it with :func:`load_manifest`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from exoextract import __version__
from exoextract.errors import RunDirError
from exoextract.run.checkpoint import CheckpointStore, write_json
from exoextract.settings import Settings, result_fingerprint, settings_from_dict
from exoextract.targets import Target, TargetList

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
FORMAT = 1

RunState = Literal["running", "interrupted", "complete"]
"""The manifest's ``status``: a session is on it, it stopped before the end, or it is done."""


# what a table file is called: an --out with one of these is a file meant for export
TABLE_SUFFIXES = (".csv", ".parquet", ".tsv", ".txt", ".json", ".xlsx", ".fits", ".h5")


class RunFolder:
    """One run's folder: the only writer of its manifest, and the keeper of its checkpoints.

    A session goes :meth:`begin_session`, :meth:`chunk_done` per finished chunk,
    :meth:`save_partial` for the chunks an interruption leaves part done,
    :meth:`end_session`, then :meth:`finish`.
    """

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.store = CheckpointStore(path)
        self._manifest = manifest
        self._session: dict[str, Any] | None = None
        self._chunks: list[list[list[Target]]] = []

    # ------------------------------------------------------------------ making, opening
    @staticmethod
    def check_free(path: Path) -> None:
        """Refuse a folder that holds a run or anything else, before any work starts, and
        a path that is (or names) a file: ``--out`` is the run's folder."""
        if path.exists() and not path.is_dir():
            raise RunDirError(
                f"--out {path} is a file; --out names the run's folder — give a folder "
                "(e.g. runs/koi); exoextract export RUN -o FILE writes a table to a file"
            )
        if not path.exists() and path.suffix.lower() in TABLE_SUFFIXES:
            raise RunDirError(
                f"--out {path} looks like a file name; --out names the run's folder — give "
                f"a folder (e.g. {path.with_suffix('')}), then exoextract export RUN -o {path.name}"
            )
        if (path / MANIFEST).exists():
            raise RunDirError(
                f"{path} already holds a run — continue it with "
                f"`exoextract resume {path}` or choose another --out"
            )
        if path.exists() and any(path.iterdir()):
            raise RunDirError(f"{path} is not empty — choose another --out")

    @classmethod
    def create(
        cls,
        path: Path,
        csv_path: Path,
        targets: TargetList,
        settings: Settings,
        plugin_path: str | None,
    ) -> RunFolder:
        """Make the folder and write the manifest of a new run."""
        cls.check_free(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunDirError(
                f"cannot create {path}: {error.strerror or error} — choose another --out"
            ) from None
        manifest = {
            "format": FORMAT,
            "run_id": uuid.uuid4().hex[:12],
            "created": now(),
            "exoextract_version": __version__,
            "input": {
                "path": str(csv_path.resolve()),
                "sha256": targets.sha256,
                "rows": len(targets),
                "id_column": targets.id_column,
            },
            "settings": settings.to_dict(),
            "result_fingerprint": result_fingerprint(settings),
            "plugin_path": plugin_path,
            "status": "running",
            "sessions": [],
        }
        write_json(path / MANIFEST, manifest, f"check that {path} is writable")
        return cls(path, manifest)

    @classmethod
    def open(cls, path: Path) -> RunFolder:
        """The run in ``path``; RunDirError when it is not one this version can read."""
        return cls(path, load_manifest(path))

    # ------------------------------------------------------------------ what the run is
    @property
    def run_id(self) -> str:
        return str(self._manifest["run_id"])

    @property
    def state(self) -> RunState:
        state: RunState = self._manifest.get("status", "interrupted")
        return state

    @property
    def settings(self) -> Settings:
        return settings_from_dict(self._manifest["settings"])

    @property
    def input_path(self) -> Path:
        return Path(self._manifest["input"]["path"])

    @property
    def input_sha256(self) -> str | None:
        digest = self._manifest["input"].get("sha256")
        return str(digest) if digest else None

    @property
    def plugin_path(self) -> str | None:
        path = self._manifest.get("plugin_path")
        return str(path) if path else None

    def adopt(self, settings: Settings, targets: TargetList) -> None:
        """A resumed session's settings and input (saved when the session begins)."""
        self._manifest["settings"] = settings.to_dict()
        self._manifest["result_fingerprint"] = result_fingerprint(settings)
        self._manifest["input"].update(sha256=targets.sha256, rows=len(targets))

    # ------------------------------------------------------------------ a session
    def done_keys(self, retry: Iterable[str] = ()) -> set[str]:
        """Keys already checkpointed (less those whose status is in ``retry``), after
        removing what a killed write left behind."""
        self.store.remove_temporaries()
        return self.store.done_keys(retry)

    def begin_session(self, chunks: list[list[list[Target]]], done: set[str], workers: int) -> None:
        self._chunks = chunks
        self._session = {"started": now(), "workers": workers, "pid": os.getpid()}
        self._manifest["sessions"].append(self._session)
        self._manifest["status"] = "running"
        record_progress(self._manifest, chunks, done)
        self._save()

    def chunk_done(self, index: int, rows: list[dict[str, Any]]) -> None:
        """A whole chunk finished: its checkpoint, then the counters."""
        self.store.write(index, rows)
        chunk_finished(self._manifest, len(rows))
        self._save()

    def save_partial(self, index: int, rows: list[dict[str, Any]]) -> None:
        """What an interrupted session finished of a chunk (the rest runs on resume)."""
        self.store.write(index, rows)

    def end_session(self, done: set[str], stats: Mapping[str, Any]) -> None:
        """The session's end as far as it got; never raises (it runs on the way out of
        an interruption, where the checkpoints already hold everything)."""
        if self._session is not None:
            self._session.update(ended=now(), **stats)
        with contextlib.suppress(Exception):
            record_progress(self._manifest, self._chunks, done)
            self._manifest["status"] = "interrupted"
            self._save()

    def finish(self, complete: bool, summary: Mapping[str, Any]) -> None:
        """The run's state after the session, then summary.json."""
        self._manifest["status"] = "complete" if complete else "interrupted"
        self._save()
        write_json(self.path / SUMMARY, summary, self.store.hint)

    def _save(self) -> None:
        save_manifest(self.path, self._manifest)


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
        "stars": sum(len(chunk) for chunk in chunks),
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
