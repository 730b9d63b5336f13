"""The fault suite: one hostile target per batch, with the real fault, never a mock.

Every case runs a small batch through the real pipeline (synthetic stars, statistics only,
plus the hostile plugin from tests/plugins/exo_hostile.py). The hostile target must end with
the right status; every other target must succeed; afterwards no worker or process started
by a task may be left running (checked after every test by the fixture in conftest.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from exoextract.run.runner import RunResult, start_run

from conftest import fast_settings

GOOD = 3


def run_batch(tmp_path: Path, fault: str, **overrides: Any) -> tuple[RunResult, pd.DataFrame]:
    lines = ["target,fault,state,sleep"]
    for i in range(GOOD):
        lines.append(f"TIC {500 + i},,,")
    lines.append(f"TIC 599,{fault},{tmp_path / 'state'},{overrides.pop('sleep', '')}")
    csv = tmp_path / "targets.csv"
    csv.write_text("\n".join(lines) + "\n")
    values: dict[str, Any] = dict(
        source="synthetic",
        run_tls=False,
        run_bls=False,
        workers=2,
        timeout=4.0,
        retries=1,
        quarantine_after=2,
        stall_margin=2.0,
        extra_features=("exo_hostile:fault",),
    )
    values.update(overrides)
    result = start_run(csv, fast_settings(**values), out_dir=tmp_path / "run")
    assert result.complete
    assert result.counts.get("ok", 0) >= GOOD, (result.counts, result.events)
    table = pd.concat(
        [
            pd.read_parquet(result.features_path).assign(status="ok"),
            pd.read_parquet(result.failures_path),
        ],
        ignore_index=True,
    )
    assert sorted(table["target_id"]) == [f"TIC {500 + i}" for i in range(GOOD)] + ["TIC 599"]
    return result, table.set_index("target_id")


def hostile(table: pd.DataFrame) -> pd.Series:
    return table.loc["TIC 599"]


def test_hang_is_timed_out_and_retried(tmp_path: Path) -> None:
    result, table = run_batch(tmp_path, "hang")
    row = hostile(table)
    assert row["status"] == "timed_out"
    assert row["attempts"] == 2  # one retry
    assert "no result after 4 s; worker killed" in row["message"]
    assert result.counts == {"ok": GOOD, "timed_out": 1}


def test_hang_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    _, table = run_batch(tmp_path, "hang_ignore_term", retries=0)
    assert hostile(table)["status"] == "timed_out"


@pytest.mark.parametrize(
    ("fault", "exit_code", "how"),
    [
        ("exit", 1, "exit code 1"),
        ("segfault", -11, "signal SIGSEGV"),
        ("sigkill", -9, "signal SIGKILL"),
    ],
)
def test_worker_deaths_are_quarantined(
    tmp_path: Path, fault: str, exit_code: int, how: str
) -> None:
    _, table = run_batch(tmp_path, fault)
    row = hostile(table)
    assert row["status"] == "quarantined"
    assert row["exit_code"] == exit_code
    assert row["attempts"] == 2
    assert row["message"] == f"killed its worker 2 times (last: {how}); not retried again"


def test_one_death_without_retries_is_crashed(tmp_path: Path) -> None:
    _, table = run_batch(tmp_path, "segfault", retries=0)
    row = hostile(table)
    assert (row["status"], row["exit_code"]) == ("crashed", -11)
    assert row["message"] == "worker died (signal SIGSEGV)"


def test_memory_past_the_cap(tmp_path: Path) -> None:
    _, table = run_batch(tmp_path, "memory", max_memory_per_worker="700MB")
    row = hostile(table)
    assert row["status"] == "memory_exceeded"
    assert row["attempts"] == 1  # the same star would need the same memory: not retried
    assert "over the 668 MiB cap; killed" in row["message"]


def test_raised_exception_fails_only_its_target(tmp_path: Path) -> None:
    _, table = run_batch(tmp_path, "raise")
    row = hostile(table)
    assert (row["status"], row["error_type"], row["attempts"]) == ("failed", "RuntimeError", 1)
    assert row["message"].startswith("boom from a plugin (at exo_hostile.py:")


def test_unpicklable_return_value(tmp_path: Path) -> None:
    _, table = run_batch(tmp_path, "unpicklable_value")
    row = hostile(table)
    assert (row["status"], row["error_type"]) == ("failed", "PluginError")
    assert row["message"] == (
        "exo_hostile:fault returned 'weird' = function; features must be numbers"
    )


def test_exception_that_cannot_be_pickled(tmp_path: Path) -> None:
    _, table = run_batch(tmp_path, "unpicklable_exception")
    row = hostile(table)
    assert (row["status"], row["error_type"]) == ("failed", "Unpicklable")
    assert "an exception holding a lock" in row["message"]


def test_flaky_error_succeeds_on_the_second_attempt(tmp_path: Path) -> None:
    result, table = run_batch(tmp_path, "flaky")
    row = hostile(table)
    assert row["status"] == "ok"
    assert result.counts == {"ok": GOOD + 1}
    attempts = pd.read_parquet(sorted((tmp_path / "run" / "checkpoints").glob("*.parquet"))[-1])
    assert attempts.set_index("key").loc["TIC 599", "attempts"] == 2


def test_slow_but_within_timeout(tmp_path: Path) -> None:
    result, table = run_batch(tmp_path, "slow", sleep=2.5)
    assert hostile(table)["status"] == "ok"
    assert result.counts == {"ok": GOOD + 1}


@pytest.mark.parametrize("fault", ["child_hang", "child_hang_ignore_term"])
def test_processes_started_by_a_hung_task_die_with_it(tmp_path: Path, fault: str) -> None:
    _, table = run_batch(tmp_path, fault, retries=0)
    assert hostile(table)["status"] == "timed_out"
    # the autouse fixture proves the marked child process is gone


def test_pool_deadlock_is_rebuilt(tmp_path: Path) -> None:
    # The default 4 s per attempt, not 2 s: one CI run ended the hostile target timed_out.
    # pebble cannot time a task out in the deadlocked pool (stopping its worker needs the
    # held channel lock), so that was a retry in the rebuilt pool taking over 2 s on a
    # loaded machine. The stall is still detected at timeout + grace + margin, 7 s.
    result, table = run_batch(tmp_path, "deadlock", pool_rebuilds=2)
    assert result.rebuilds >= 1, (result.failures, result.events)
    assert any("no progress" in e for e in result.events)
    row = hostile(table)
    assert row["status"] in {"ok", "crashed"}, (row.to_dict(), result.events)
    assert result.counts.get("ok", 0) >= GOOD


def test_repeated_stalls_fall_back_to_sequential(tmp_path: Path) -> None:
    # The default 4 s per attempt, as above: a CI run at 2 s timed every attempt out (the
    # good stars' too, before the hostile reached its fault), so the pool never stalled.
    result, _ = run_batch(tmp_path, "deadlock", pool_rebuilds=0)
    assert result.sequential_fallback, (result.counts, result.events)
    assert any("finishing sequentially" in e for e in result.events)


@pytest.mark.slow
def test_fifty_targets_five_hostile(tmp_path: Path) -> None:
    hostile_rows = {
        "TIC 9001": ("hang", "timed_out"),
        "TIC 9002": ("segfault", "quarantined"),
        "TIC 9003": ("memory", "memory_exceeded"),
        "TIC 9004": ("raise", "failed"),
        "TIC 9005": ("child_hang", "timed_out"),
    }
    lines = ["target,fault"] + [f"TIC {700 + i}," for i in range(45)]
    lines += [f"{target},{fault}" for target, (fault, _) in hostile_rows.items()]
    csv = tmp_path / "targets.csv"
    csv.write_text("\n".join(lines) + "\n")
    settings = fast_settings(
        source="synthetic",
        run_tls=False,
        run_bls=False,
        workers=2,
        timeout=4.0,
        retries=1,
        max_memory_per_worker="700MB",
        chunk_size=10,
        extra_features=("exo_hostile:fault",),
    )
    started = time.monotonic()
    result = start_run(csv, settings, out_dir=tmp_path / "run")
    elapsed = time.monotonic() - started
    assert result.complete
    assert result.counts["ok"] == 45
    failures = pd.read_parquet(result.failures_path).set_index("target_id")
    assert {t: failures.loc[t, "status"] for t in hostile_rows} == {
        t: status for t, (_, status) in hostile_rows.items()
    }
    # two hung targets, two attempts each, are the critical path: bounded by the timeouts
    budget = 2 * 2 * (settings.timeout + settings.kill_grace) + 45 * 1.0
    assert elapsed < budget
