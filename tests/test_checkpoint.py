"""Checkpoints: atomic files, exact round trips, never a half-written file."""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exoextract.errors import CheckpointError
from exoextract.run.checkpoint import CheckpointStore, atomic_write_bytes

names = st.text(min_size=1, max_size=20)  # unicode, quotes, newlines: all must survive
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none())


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(names, values, st.sampled_from(["ok", "failed"])),
        max_size=15,
        unique_by=lambda r: r[0],
    )
)
def test_round_trip(tmp_path: Path, rows: list[tuple[str, float | None, str]]) -> None:
    store = CheckpointStore(tmp_path / f"run{abs(hash(tuple(rows)))}")
    records = [{"key": k, "target_id": k, "status": s, "tls_period": v} for k, v, s in rows]
    written = store.write(0, records)
    assert (written is None) == (not rows)  # an empty chunk writes nothing
    loaded = store.load()
    assert list(loaded["key"]) == [r["key"] for r in records]
    for record, (_, got) in zip(records, loaded.iterrows(), strict=True):
        want = record["tls_period"]
        if want is None or (isinstance(want, float) and math.isnan(want)):
            assert pd.isna(got["tls_period"])
        else:
            assert got["tls_period"] == want
    assert store.done_keys() == {r["key"] for r in records}


def test_later_files_win_and_retry_statuses_are_not_done(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.write(0, [{"key": "a", "status": "failed"}, {"key": "b", "status": "ok"}])
    store.write(0, [{"key": "a", "status": "ok"}])
    assert [p.name for p in store.files()] == [
        "chunk-00000-0000.parquet",
        "chunk-00000-0001.parquet",
    ]
    loaded = store.load().set_index("key")
    assert loaded.loc["a", "status"] == "ok" and len(loaded) == 2
    store.write(1, [{"key": "c", "status": "timed_out"}])
    assert store.done_keys(retry=("timed_out",)) == {"a", "b"}


def test_rows_of_gives_the_latest_row_of_each_key_as_load_does(tmp_path: Path) -> None:
    """A sheet reads its star's rows alone: the same rows ``load`` keeps (a later file wins,
    and a later row within a file), NaN where a value is missing, nothing for an unknown
    key."""
    store = CheckpointStore(tmp_path)
    store.write(0, [{"key": "a", "status": "failed", "x": 1.0}, {"key": "b", "status": "ok"}])
    store.write(
        0, [{"key": "a", "status": "ok", "x": None}, {"key": "a", "status": "ok", "x": 3.0}]
    )
    store.write(1, [{"key": "c", "status": "ok", "x": 5.0}])
    rows = store.rows_of(["a", "b", "zzz"])
    assert set(rows) == {"a", "b"}
    assert rows["a"]["status"] == "ok" and rows["a"]["x"] == 3.0
    assert rows["b"]["status"] == "ok" and math.isnan(rows["b"]["x"])
    loaded = store.load().set_index("key")
    assert loaded.loc["a", "x"] == rows["a"]["x"]


def test_a_failing_writer_leaves_no_file(tmp_path: Path) -> None:
    def writer(handle: object) -> None:
        handle.write(b"PAR1 half")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    target = tmp_path / "checkpoints" / "chunk-00000-0000.parquet"
    with pytest.raises(CheckpointError, match="No space left on device — free it"):
        atomic_write_bytes(target, writer, "free it")
    assert list(target.parent.iterdir()) == []


def _write_under_file_size_limit(tmp_path: Path, limit: int, default_xfsz: bool) -> int:
    """Write a checkpoint in a child whose files may not grow past ``limit`` bytes."""
    script = (
        "import signal, sys\n"
        + ("signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n" if default_xfsz else "")
        + "from exoextract.run.checkpoint import CheckpointStore\n"
        "rows = [{'key': f'k{i}', 'status': 'ok', 'x': float(i), 'note': 'y' * 200}"
        " for i in range(500)]\n"
        "try:\n"
        "    CheckpointStore(sys.argv[1]).write(3, rows)\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e); sys.exit(3)\n"
    )

    def limit_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        preexec_fn=limit_size,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode


def test_disk_full_during_write_leaves_no_file(tmp_path: Path) -> None:
    code = _write_under_file_size_limit(tmp_path, 4096, default_xfsz=False)
    assert code == 3  # EFBIG surfaced as CheckpointError
    folder = tmp_path / "checkpoints"
    assert [p.name for p in folder.iterdir()] == []
    assert CheckpointStore(tmp_path).load().empty


def test_process_killed_during_write_leaves_only_a_temporary(tmp_path: Path) -> None:
    code = _write_under_file_size_limit(tmp_path, 4096, default_xfsz=True)
    assert code == -signal.SIGXFSZ  # the kernel killed it mid-write
    store = CheckpointStore(tmp_path)
    assert store.files() == []  # no file under a final name
    leftovers = os.listdir(store.dir)
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")
    assert store.remove_temporaries() == 1
    assert os.listdir(store.dir) == []
