"""Checkpoints: every finished chunk of outcomes is one Parquet file, written atomically.

A file appears under its final name only when it is complete (temporary name, fsync,
``os.replace``, fsync of the folder), so a kill at any moment leaves either the whole file
or no file. The set of checkpoint files is the truth about what is done; the manifest
describes the run and is rewritten the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from exoextract.errors import CheckpointError
from exoextract.execution.attempts import Outcome
from exoextract.targets import Target

CHUNK_NAME = re.compile(r"^chunk-(\d{5})-(\d{4})\.parquet$")
SCHEMA_KEY = b"exoextract"


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, writer: Any, hint: str) -> None:
    """Call ``writer(handle)`` on a temporary file, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise CheckpointError(f"cannot write {path}: {error.strerror or error} — {hint}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_parquet(
    path: Path, frame: pd.DataFrame, hint: str, metadata: Mapping[str, Any] | None = None
) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged[SCHEMA_KEY] = json.dumps(metadata).encode()
        table = table.replace_schema_metadata(merged)
    atomic_write_bytes(path, lambda handle: pq.write_table(table, handle), hint)


def write_json(path: Path, data: Mapping[str, Any], hint: str) -> None:
    blob = json.dumps(data, indent=1, default=str).encode()
    atomic_write_bytes(path, lambda handle: handle.write(blob), hint)


class CheckpointStore:
    """The ``checkpoints/`` folder of a run."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.dir = self.run_dir / "checkpoints"
        self.hint = f"free some disk space, then run: exoextract resume {self.run_dir}"
        self._sequences: dict[int, int] | None = None  # next file number per chunk

    def files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if CHUNK_NAME.match(p.name))

    def remove_temporaries(self) -> int:
        """Delete half-written files left by a killed run; they were never valid."""
        removed = 0
        if self.dir.is_dir():
            for path in self.dir.iterdir():
                if path.name.startswith(".") and path.name.endswith(".tmp"):
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _next_sequence(self, chunk: int) -> int:
        """The folder is listed once per store; later writes only update the counters."""
        if self._sequences is None:
            self._sequences = {}
            for path in self.files():
                match = CHUNK_NAME.match(path.name)
                if match:
                    number, sequence = int(match.group(1)), int(match.group(2))
                    self._sequences[number] = max(self._sequences.get(number, 0), sequence + 1)
        sequence = self._sequences.get(chunk, 0)
        self._sequences[chunk] = sequence + 1
        return sequence

    def write(self, chunk: int, rows: Iterable[Mapping[str, Any]]) -> Path | None:
        """Write one batch of outcome rows; returns the file (None for no rows)."""
        rows = list(rows)
        if not rows:
            return None
        path = self.dir / f"chunk-{chunk:05d}-{self._next_sequence(chunk):04d}.parquet"
        write_parquet(path, pd.DataFrame.from_records(rows), self.hint)
        return path

    def load(self) -> pd.DataFrame:
        """Every checkpointed row, one per key (a later file wins over an earlier one).

        Files are read as Arrow tables and joined once (columns a file lacks are null),
        then converted to pandas once, the Arrow buffers released as they are converted:
        the rows are not held twice over."""
        tables = []
        for path in self.files():
            try:
                table = pq.ParquetFile(path).read()
            except Exception as error:  # pragma: no cover - atomic writes prevent this
                raise CheckpointError(
                    f"checkpoint {path} is unreadable ({error}) — move it away and resume "
                    "to recompute its targets"
                ) from None
            if table.num_rows:
                tables.append(table.replace_schema_metadata(None))
        if not tables:
            return pd.DataFrame(columns=["key", "status"])
        joined = pa.concat_tables(tables, promote_options="permissive")
        del tables
        frame = joined.to_pandas(self_destruct=True, split_blocks=True)
        del joined
        return frame.drop_duplicates(subset="key", keep="last").reset_index(drop=True)

    def rows_of(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The latest checkpointed row of each of ``keys`` that has one (missing values as
        NaN in numeric columns, None in the others). The files are read newest first, their
        ``key`` column alone until a file holds a wanted key, and stop once every key is
        found: a sheet of a 10,000-star run reads a few files, not all of them."""
        wanted = set(keys)
        found: dict[str, dict[str, Any]] = {}
        for path in reversed(self.files()):
            try:
                present = set(pq.read_table(path, columns=["key"]).column("key").to_pylist())
                hits = (wanted - set(found)) & present
                if not hits:
                    continue
                table = pq.read_table(path, filters=[("key", "in", sorted(hits))])
            except Exception as error:  # pragma: no cover - atomic writes prevent this
                raise CheckpointError(
                    f"checkpoint {path} is unreadable ({error}) — move it away and resume "
                    "to recompute its targets"
                ) from None
            latest = {str(r["key"]): r for r in table.to_pandas().to_dict("records")}
            for key, record in latest.items():  # within a file too, the later row wins
                found.setdefault(key, record)
            if set(found) >= wanted:
                break
        return found

    def done_keys(self, retry: Iterable[str] = ()) -> set[str]:
        """Keys with an outcome, except those whose status is in ``retry`` (a later file's
        outcome wins). Reads only the key and status columns of each file."""
        status: dict[str, str] = {}
        for path in self.files():
            try:
                table = pq.ParquetFile(path).read(columns=["key", "status"])
            except Exception as error:  # pragma: no cover - atomic writes prevent this
                raise CheckpointError(
                    f"checkpoint {path} is unreadable ({error}) — move it away and resume "
                    "to recompute its targets"
                ) from None
            status.update(
                zip(
                    table.column("key").to_pylist(), table.column("status").to_pylist(), strict=True
                )
            )
        retry = set(retry)
        return {key for key, state in status.items() if state not in retry}


SIGNALS_COLUMN = "signals_json"  # a checkpoint column: the star's signals, on its first row


def checkpoint_rows(outcome: Outcome, star: Sequence[Target]) -> list[dict[str, Any]]:
    """A star's checkpoint rows, one per candidate; the first also carries the star's
    signals (as JSON: ``signals.parquet`` is built from them when the run completes)."""
    rows = [checkpoint_row(outcome, target) for target in star]
    found = (outcome.data or {}).get("signals")
    if rows and found:
        rows[0][SIGNALS_COLUMN] = json.dumps(found)
    return rows


def checkpoint_row(outcome: Outcome, target: Target) -> dict[str, Any]:
    """One checkpoint row: a candidate (or star) with its star's outcome."""
    row: dict[str, Any] = {
        "key": target.key,
        "target_id": target.target_id,
        "candidate": target.candidate,
        "status": outcome.status,
        "error_type": outcome.error_type,
        "message": outcome.message,
        "attempts": outcome.attempts,
        "seconds": outcome.seconds,
        "exit_code": outcome.exit_code,
    }
    rows = (outcome.data or {}).get("rows") or {}
    row.update(rows.get(target.key) or {})
    return row
