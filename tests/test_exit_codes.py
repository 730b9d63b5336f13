"""Exit codes a script can trust and one-line errors (the README's exit-code table): a
crash has its own code, a run where nothing succeeded is not a success, ``--out`` is a
folder, targets files in other encodings or formats, an archive that does not answer, more
workers than the machine can start, and ``run.sh`` deciding "complete" from the run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from exoextract.cli.commands import EXIT_ARCHIVE, EXIT_CRASH, EXIT_NOTHING, app
from exoextract.execution.resources import worker_limit

from runhelpers import SLOW_SYNTHETIC, cli_env, exoextract_once_then

runner = CliRunner()
FAST = ["--no-tls", "--no-bls", "--workers", "2", "--source", "synthetic"]
REPO = Path(__file__).resolve().parent.parent
RUN_SH = REPO / "scripts" / "colab" / "run.sh"


def run_into(tmp_path: Path, *options: str) -> list[str]:
    """``run`` of the two-star targets file into ``tmp_path/r``, with these options."""
    return ["run", str(targets(tmp_path)), "--out", str(tmp_path / "r"), *options]


def targets(tmp_path: Path, ids: str = "TIC 100\nTIC 101\n") -> Path:
    path = tmp_path / "targets.csv"
    path.write_text("target\n" + ids)
    return path


def test_a_crash_exits_70_with_its_traceback_and_one_line() -> None:
    script = (
        "import exoextract.cli.commands as cli\n"
        "@cli.app.command()\n"
        "def boom() -> None:\n"
        "    raise RuntimeError('an unexpected state\\nsecond line')\n"
        "cli.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "boom"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == EXIT_CRASH == 70
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "Error: exoextract crashed (RuntimeError: an unexpected state) — a bug, not your input; "
        "checkpointed work is kept (exoextract resume); please report it with the traceback "
        "above (exit 70)"
    )


def test_a_run_where_nothing_succeeded_says_why_and_exits_6(tmp_path: Path) -> None:
    empty = tmp_path / "no-fits"
    empty.mkdir()
    out = tmp_path / "run"
    done = runner.invoke(
        app,
        ["run", str(targets(tmp_path)), "--out", str(out), "--data-dir", str(empty), "--no-tls"],
    )
    assert done.exit_code == EXIT_NOTHING == 6, done.output
    assert done.stderr.splitlines()[-1] == (
        f"Error: no target succeeded (2 no_data); most: no_data (NoDataError: no light-curve "
        f"file for TIC 100 under {empty}) — no light curve was found: check --source and "
        "--data-dir (or the ids)"
    )
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert len(pd.read_parquet(out / "failures.parquet")) == 2  # the outcomes are kept


def test_one_success_is_enough_for_exit_0(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    from dataclasses import replace

    from exoextract.science.synthetic import spec_for, write_fits

    write_fits(replace(spec_for(100, "TESS"), segments=1), data)
    done = runner.invoke(app, run_into(tmp_path, "--data-dir", str(data), "--no-tls", "--no-bls"))
    assert done.exit_code == 0, done.output


def test_out_that_is_a_file_or_looks_like_one_is_refused(tmp_path: Path) -> None:
    existing = tmp_path / "existing.txt"
    existing.write_text("keep me\n")
    done = runner.invoke(app, ["run", str(targets(tmp_path)), "--out", str(existing), *FAST])
    assert done.exit_code == 2
    assert done.stderr == (
        f"Error: --out {existing} is a file; --out names the run's folder — give a folder "
        "(e.g. runs/koi); exoextract export RUN -o FILE writes a table to a file\n"
    )
    assert existing.read_text() == "keep me\n"
    table = tmp_path / "features.csv"
    done = runner.invoke(app, ["run", str(targets(tmp_path)), "-o", str(table), *FAST])
    assert done.exit_code == 2
    assert done.stderr == (
        f"Error: --out {table} looks like a file name; --out names the run's folder — give a "
        f"folder (e.g. {tmp_path / 'features'}), then exoextract export RUN -o features.csv\n"
    )
    assert not table.exists()


def test_utf16_without_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes("target,label\nTIC 100,PC\nTIC 101,FP\n".encode("utf-16-le"))
    done = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "r"), *FAST, "--json"])
    assert done.exit_code == 0, done.output
    table = pd.read_parquet(tmp_path / "r" / "features.parquet")
    assert list(table["target_id"]) == ["TIC 100", "TIC 101"]
    assert list(table["label"]) == ["PC", "FP"]


def test_a_parquet_or_excel_file_given_as_targets_says_what_it_is(tmp_path: Path) -> None:
    parquet = tmp_path / "targets.parquet"
    pd.DataFrame({"target": ["TIC 100"]}).to_parquet(parquet)
    done = runner.invoke(app, ["run", str(parquet), "--out", str(tmp_path / "a"), *FAST])
    assert done.exit_code == 2
    assert done.stderr == (
        f"Error: {parquet}: is a Parquet file, not a CSV — convert it with pandas: "
        f"pd.read_parquet({str(parquet)!r}).to_csv('targets.csv', index=False)\n"
    )
    import zipfile

    xlsx = tmp_path / "targets.xlsx"
    with zipfile.ZipFile(xlsx, "w") as book:  # what an .xlsx is: a zip of XML parts
        book.writestr("[Content_Types].xml", "<Types/>")
    done = runner.invoke(app, ["run", str(xlsx), "--out", str(tmp_path / "b"), *FAST])
    assert done.exit_code == 2
    assert done.stderr == (
        f"Error: {xlsx}: is a zip archive (an Excel .xlsx?), not a CSV — save the sheet as "
        "CSV (File > Save as)\n"
    )


def test_plan_with_an_archive_that_does_not_answer_exits_7_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    done = runner.invoke(
        app,
        [
            "plan",
            str(targets(tmp_path, "KIC 1\n")),
            "--mast-url",
            url,
            "--no-measure",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
    )
    assert done.exit_code == EXIT_ARCHIVE == 7, done.output
    assert done.stderr == (
        f"Error: the archive at {url} could not be reached (Mast.Caom.Filtered: "
        "ConnectionError) — check the network (or --mast-url), then run plan again\n"
    )


def test_more_workers_than_the_machine_can_start_are_capped_with_a_line(tmp_path: Path) -> None:
    asked = worker_limit() + 1000
    options = [*FAST[:2], "--source", "synthetic", "--workers", str(asked), "--json"]
    done = runner.invoke(app, run_into(tmp_path, *options))
    assert done.exit_code == 0, done.output
    line = next(x for x in done.stderr.splitlines() if x.startswith("warning: --workers"))
    assert line.startswith(f"warning: --workers {asked} is more than this machine can start")
    assert line.endswith(f"running {worker_limit()}")
    assert json.loads(done.stdout)["counts"] == {"ok": 2}


KILL_CHILDREN = """
import os
if os.environ.get("EXO_TEST_PID") and os.getppid() != int(os.environ["EXO_TEST_PID"]):
    os._exit(3)  # every process the run starts dies at once: no worker can start
"""


def test_workers_that_cannot_start_end_the_run_with_one_line_and_exit_4(tmp_path: Path) -> None:
    """A real fault: every process the run starts (the forkserver, its workers) dies as it
    starts, as on a machine out of memory or processes. The run tries three pools, then
    ends with one line and exit 4, never a traceback or a hang; resume then completes."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(KILL_CHILDREN)
    env = cli_env()
    env.update(EXO_TEST_PID=str(os.getpid()), PYTHONPATH=f"{site}{os.pathsep}{env['PYTHONPATH']}")
    command = [sys.executable, "-m", "exoextract", *run_into(tmp_path, *FAST)]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert time.monotonic() - started < 60
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: the worker processes could not be started (")
    assert last.endswith(
        ", 3 tries) — the machine may be out of memory or processes: close other programs "
        "or use fewer --workers, then exoextract resume; finished chunks are kept"
    )
    assert done.stderr.count("warning: worker processes could not be started") == 2
    resumed = runner.invoke(app, ["resume", str(tmp_path / "r"), "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["counts"] == {"ok": 2}


def test_run_sh_says_complete_only_when_the_run_folder_is(tmp_path: Path) -> None:
    """An exoextract that exits 1 before doing anything (as a crash did before it had its
    own code): run.sh must not take 1 for "complete", it runs again until the run folder
    says complete."""
    path = targets(tmp_path)
    out = tmp_path / "drive" / "run"
    wrapper = exoextract_once_then(
        tmp_path / "exo-fails-once", tmp_path / "failed-once", "echo 'Traceback ...' >&2; exit 1"
    )
    env = cli_env()
    env.update(
        EXOEXTRACT_BIN=str(wrapper),
        EXOEXTRACT_CACHE_DIR=str(tmp_path / "cache"),
        EXOEXTRACT_RETRY_DELAY="0",
    )
    done = subprocess.run(
        ["bash", str(RUN_SH), str(path), str(out), *SLOW_SYNTHETIC],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run.sh: exoextract ended with exit 1 (incomplete or killed)" in done.stdout
    assert done.stdout.count("run.sh: complete") == 1
    assert done.stdout.rstrip().endswith(
        f"run.sh: complete: {out}/features.parquet — see: exoextract status {out}"
    )


def test_stars_and_candidates_are_counted_apart_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "koi.csv"
    path.write_text(
        "kepoi_name,kepid\nK00001.01,100\nK00001.02,100\nK00001.03,100\nK00002.01,101\n"
    )
    out = tmp_path / "r"
    done = runner.invoke(app, ["run", str(path), "--out", str(out), *FAST])
    assert done.exit_code == 0, done.output
    assert done.stderr.splitlines()[0] == (
        f"exoextract: 2 stars (4 candidates), 2 worker(s), run folder {out}"
    )
    table = [x.split("│")[1:-1] for x in done.stdout.splitlines() if x.startswith("│")]
    assert [[c.strip() for c in row] for row in table] == [["ok", "2", "4"], ["total", "2", "4"]]
    assert "stars computed now: 2, already done: 0," in done.stdout
    status = runner.invoke(app, ["status", str(out)])
    assert "stars: 2 done, 0 left of 2 (100 %); rows (candidates): 4 of 4" in status.stdout
    assert "stars/min" in status.stdout
    state = json.loads(runner.invoke(app, ["status", str(out), "--json"]).stdout)
    assert (state["stars"], state["star_counts"], state["counts"]) == (2, {"ok": 2}, {"ok": 4})


SCRIPT = (
    "from exoextract.run.runner import start_run\n"
    "from exoextract.settings import load_settings\n"
    "{guard}r = start_run('t.csv', load_settings('laptop', {{'source': 'synthetic', "
    "'run_tls': False, 'run_bls': False, 'workers': 2}}), out_dir='r')\n"
    "{guard}print('counts', r.counts)\n"
)


def _python(
    tmp_path: Path, args: list[str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "t.csv").write_text("target\nTIC 100\nTIC 101\n")
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_script_without_the_main_guard_is_refused_before_any_write(tmp_path: Path) -> None:
    script = tmp_path / "noguard.py"
    script.write_text(SCRIPT.format(guard=""))
    done = _python(tmp_path, [str(script)])
    assert done.returncode != 0
    assert done.stderr.splitlines()[-1] == (
        "exoextract.errors.InputError: noguard.py, line 3: the run starts at the top level of "
        'the script — put it under `if __name__ == "__main__":` (worker processes import the '
        "script again as they start)"
    )
    assert not (tmp_path / "r").exists()  # nothing half-made blocks the next try
    guarded = SCRIPT.format(guard="").replace("r = ", 'if __name__ == "__main__":\n    r = ')
    script.write_text(guarded.replace("print(", "    print("))
    done = _python(tmp_path, [str(script)])
    assert done.returncode == 0, done.stderr
    assert "counts {'ok': 2}" in done.stdout


def test_a_script_from_standard_input_runs_and_presets_load_by_name(tmp_path: Path) -> None:
    done = _python(tmp_path, ["-"], stdin=SCRIPT.format(guard=""))
    assert done.returncode == 0, done.stderr
    assert "counts {'ok': 2}" in done.stdout  # 'laptop': the preset, from outside the repo


def test_the_console_script_is_not_run_again_in_every_worker(tmp_path: Path) -> None:
    """A worker runs its parent's ``__main__`` script again as it starts (not a ``-m``
    module): for ``bin/exoextract`` that imported the command line, typer and rich in every
    worker (0.15 s a start). The console script's copy here says whenever it is run so."""
    mark = tmp_path / "imported-by-a-worker"
    script = tmp_path / "exoextract"
    script.write_text(
        "import sys\n"
        "if __name__ == '__mp_main__':\n"
        f"    open({str(mark)!r}, 'a').write('once\\n')\n"
        "from exoextract.cli import main\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(main())\n"
    )
    done = _python(tmp_path, [str(script), "run", str(targets(tmp_path)), *FAST, "-o", "r"])
    assert done.returncode == 0, done.stderr
    assert not mark.exists(), mark.read_text()


def test_smaller_cracks_search_flag_and_candidate_column(tmp_path: Path) -> None:
    done = runner.invoke(app, ["run", str(targets(tmp_path)), "--search", "medium", *FAST])
    assert done.exit_code == 2
    assert done.stderr == "Error: unknown --search 'medium' — use one of: fast, full\n"
    path = tmp_path / "cands.csv"
    path.write_text("target,candidate\nTIC 100,TOI-1.01\nTIC 100,TOI-1.02\n")
    done = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "c"), *FAST, "--json"])
    assert done.exit_code == 0, done.output
    assert not [w for w in json.loads(done.stdout)["warnings"] if "clashes" in w]
    table = pd.read_parquet(tmp_path / "c" / "features.parquet")
    assert list(table["candidate"]) == ["TOI-1.01", "TOI-1.02"]
    assert "input_candidate" not in table


def test_an_unclosed_quote_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text('target,label\nTIC 1,"PC\nTIC 2,FP\nTIC 3,PC\n')
    done = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "q"), *FAST])
    assert done.exit_code == 2
    assert done.stderr == (
        f'Error: {path}: line 2 opens a quote (") that does not close on that line — close '
        "it, or remove the stray quote\n"
    )


def test_no_anonymous_quality_mask_lines_from_lightkurve(shared_data: Path, tmp_path: Path) -> None:
    """TIC 8348911's sector 24 has a third of its cadences flagged: lightkurve logs it on
    every read, from every worker, naming no star."""
    from runhelpers import run_cli

    path = tmp_path / "t.csv"
    path.write_text("tic\n8348911\n")
    args = ["--data-dir", str(shared_data), "--no-tls", "--no-bls"]
    done = run_cli(["run", str(path), "--out", str(tmp_path / "r"), *args], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "of the cadences will be ignored" not in done.stderr + done.stdout
