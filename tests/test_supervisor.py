"""The supervisor on raw task functions: retries, statuses, stop, recycling, thread limits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from exoextract.execution.supervisor import Outcome, Policy, Supervisor

from exo_tasks import by_kind, noop, whoami

FAST = Policy(
    workers=2,
    timeout=5.0,
    retries=2,
    backoff_base=0.02,
    backoff_max=0.1,
    kill_grace=1.0,
    stop_grace=1.0,
    stall_margin=2.0,
    preload=("exoextract.execution.preload",),
)


def run(function: object, payloads: list[object], **changes: object) -> dict[str, Outcome]:
    from dataclasses import replace

    with Supervisor(function, replace(FAST, **changes)) as sup:  # type: ignore[arg-type]
        return {o.key: o for o in sup.run([(str(i), p) for i, p in enumerate(payloads)])}


def test_every_task_yields_exactly_one_outcome() -> None:
    outcomes = run(noop, list(range(60)))
    assert sorted(outcomes, key=int) == [str(i) for i in range(60)]
    assert all(o.ok and o.attempts == 1 for o in outcomes.values())
    assert outcomes["7"].data == {"x": 7}


def test_transient_failures_are_retried_until_they_pass(tmp_path: Path) -> None:
    payload = {"kind": "transient_until", "fail_times": 2, "marker": str(tmp_path / "m")}
    outcome = run(by_kind, [payload])["0"]
    assert (outcome.status, outcome.attempts) == ("ok", 3)


def test_retries_run_out(tmp_path: Path) -> None:
    payload = {"kind": "transient_until", "fail_times": 5, "marker": str(tmp_path / "m")}
    outcome = run(by_kind, [payload], retries=1)["0"]
    assert (outcome.status, outcome.attempts, outcome.message) == ("failed", 2, "attempt 2 failed")


def test_deterministic_failures_are_not_retried() -> None:
    outcome = run(by_kind, [{"kind": "deterministic"}])["0"]
    assert (outcome.status, outcome.attempts, outcome.error_type) == ("failed", 1, "ValueError")


def test_unpicklable_result_kills_only_its_worker() -> None:
    outcomes = run(
        by_kind, [{"kind": "ok"}, {"kind": "unpicklable_result"}, {"kind": "ok"}], retries=0
    )
    assert outcomes["0"].ok and outcomes["2"].ok
    bad = outcomes["1"]  # pebble cannot send it: the worker exits (FACTS.md)
    assert (bad.status, bad.exit_code, bad.message) == ("crashed", 1, "worker died (exit code 1)")


def test_a_result_that_is_not_an_outcome() -> None:
    outcome = run(by_kind, [{"kind": "not_a_mapping"}])["0"]
    assert (outcome.status, outcome.error_type) == ("failed", "BadWorkerResult")


def test_stop_drains_then_kills() -> None:
    from dataclasses import replace

    payloads = [{"kind": "sleep", "seconds": 30}] * 2 + [{"kind": "ok"}] * 5
    sup = Supervisor(by_kind, replace(FAST, timeout=60.0, stop_grace=0.5))
    timer = threading.Timer(1.0, sup.stop, args=(2,))
    timer.start()
    started = time.monotonic()
    outcomes = list(sup.run([(str(i), p) for i, p in enumerate(payloads)]))
    elapsed = time.monotonic() - started
    sup.close()
    assert sup.stopped_by == 2
    assert elapsed < 10  # the sleeping tasks were killed after the grace
    assert outcomes == []  # nothing finished: nothing to report, everything left to resume


def test_second_stop_is_immediate() -> None:
    from dataclasses import replace

    sup = Supervisor(by_kind, replace(FAST, timeout=60.0, stop_grace=60.0))
    threading.Timer(0.5, sup.stop, args=(2,)).start()
    threading.Timer(1.0, sup.stop, args=(2,)).start()
    started = time.monotonic()
    list(sup.run([("0", {"kind": "sleep", "seconds": 30})]))
    sup.close()
    assert time.monotonic() - started < 10


def test_workers_are_recycled_and_single_threaded() -> None:
    outcomes = run(whoami, list(range(12)), workers=2, max_tasks_per_worker=2)
    pids = {o.data["pid"] for o in outcomes.values() if o.data}
    assert len(pids) >= 6  # 12 tasks, 2 per worker
    for o in outcomes.values():
        assert o.data is not None
        assert o.data["pid"] == o.data["pgid"]  # each worker leads its own process group
        assert set(o.data["blas"]) <= {1}
        assert o.data["numba"] == 1
        assert o.data["env"]["TLS_PERSISTENT_POOL"] == "0"
        assert o.data["env"]["OMP_NUM_THREADS"] == "1"


def test_the_pebble_internals_we_rely_on_exist() -> None:
    """Fails loudly if a pebble release moves what the supervisor reaches into."""
    import multiprocessing as mp

    from pebble import ProcessPool

    from exoextract.execution.supervisor import missing_pebble_internals

    assert missing_pebble_internals() == []
    pool = ProcessPool(1, context=mp.get_context("forkserver"))
    try:
        pool.schedule(noop, args=(1,)).result(timeout=30)
        assert missing_pebble_internals(pool) == []
        assert all(isinstance(pid, int) for pid in pool._pool_manager.worker_manager.workers)
    finally:
        pool.stop()
        pool.join()


def test_a_changed_pebble_is_reported_not_silently_ignored() -> None:
    from pebble import ProcessPool

    from exoextract.execution.supervisor import missing_pebble_internals

    class Moved(ProcessPool):  # a pool whose manager is laid out differently
        _pool_manager = None

    pool = Moved.__new__(Moved)
    assert missing_pebble_internals(pool) == ["ProcessPool._pool_manager.worker_manager.workers"]


def test_an_unreadable_memory_cap_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from exoextract.execution import supervisor

    assert supervisor.memory_readable()  # psutil reads it here (Linux; macOS too)
    monkeypatch.setattr(supervisor, "memory_readable", lambda: False)
    lines: list[str] = []
    sup = Supervisor(noop, replace(FAST, max_memory=2**30), log=lines.append)
    sup.close()
    said = [
        "warning: resident memory cannot be read on this platform: the memory cap "
        "(max_memory_per_worker) is off — rely on the timeout instead"
    ]
    assert [line for line in lines if "memory cap" in line] == said
    assert [e for e in sup.stats.events if "memory cap" in e] == said  # the run's events too


def test_the_forkserver_skips_its_teardown_and_nothing_else_does(tmp_path: Path) -> None:
    """The forkserver held the run's stdout and stderr 0.3-0.5 s after the run ended while it
    tore down astropy and numba (a pipe reader, a Colab `!` cell, waited for it): its
    preload makes it leave at once. Only there: the workers forked from it leave as they
    did, and a process that imports the preload itself keeps its own exit code."""
    import os
    import subprocess
    import sys

    script = tmp_path / "server.py"
    script.write_text(
        "import multiprocessing as mp, os, sys\n"
        "import exoextract.execution.preload as preload\n"
        "def in_worker(_):\n"
        "    import exoextract.execution.preload as p\n"
        "    return p.EXITS_AT_ONCE\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('forkserver')\n"
        "    ctx.set_forkserver_preload(['exoextract.execution.preload'])\n"
        "    with ctx.Pool(1) as pool:\n"
        "        print(pool.map(in_worker, [0]), preload.EXITS_AT_ONCE)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EXOEXTRACT_WARM_TLS": "0"},
    )
    assert (done.returncode, done.stdout.strip()) == (3, "[True] False"), done.stderr[-2000:]
