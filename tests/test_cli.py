"""Commands through Typer's CliRunner: exit codes and the exact messages users see."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from exoextract.cli.commands import app

runner = CliRunner()
FAST = ["--no-tls", "--workers", "2", "--source", "synthetic"]


def csv(tmp_path: Path, text: str, name: str = "targets.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_run_writes_features_and_failures(tmp_path: Path) -> None:
    targets = csv(tmp_path, "target,label\nTIC 100,planet\nTIC 101,eb\nTIC 102,var\n")
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(targets), "--out", str(out), *FAST, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["complete"] is True
    assert summary["counts"] == {"ok": 3}
    table = pd.read_parquet(out / "features.parquet")
    assert list(table["target_id"]) == ["TIC 100", "TIC 101", "TIC 102"]
    assert list(table["label"]) == ["planet", "eb", "var"]
    assert list(table.columns[:3]) == ["target_id", "label", "n_points"]
    assert not [c for c in table.columns if c.startswith("tls_")]
    assert pd.read_parquet(out / "failures.parquet").empty
    assert json.loads((out / "summary.json").read_text())["counts"] == {"ok": 3}


def test_bad_csv_exits_2_with_one_line(tmp_path: Path) -> None:
    targets = csv(tmp_path, "star\nfoo\n")
    result = runner.invoke(app, ["run", str(targets), "--out", str(tmp_path / "r"), *FAST])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {targets}: no id column — name one of: target, target_id, name, tid, tic, "
        "tic_id, ticid, kepid, kic, kic_id, epic, epic_id, epic_hostname (found: star), or set "
        "--id-column\n"
    )
    assert not (tmp_path / "r").exists()


def test_missing_csv(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "no.csv"), *FAST])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'no.csv'}: file not found — check the path\n"


def test_bad_option_value(tmp_path: Path) -> None:
    targets = csv(tmp_path, "tic\n1\n")
    result = runner.invoke(app, ["run", str(targets), "--source", "ftp"])
    assert result.exit_code == 2
    assert result.stderr == "Error: unknown source 'ftp' — use one of: local, synthetic, mast\n"


def test_strict_fails_when_a_target_fails(tmp_path: Path) -> None:
    from dataclasses import replace

    from exoextract.science.synthetic import spec_for, write_fits

    data = tmp_path / "data"
    write_fits(replace(spec_for(100, "TESS"), segments=1), data)
    targets = csv(tmp_path, "tic\n100\n5\n")
    args = ["run", str(targets), "--source", "local", "--data-dir", str(data), "--no-tls"]
    lenient = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert lenient.exit_code == 0, lenient.output  # complete: every target has an outcome
    assert "no_data" in lenient.stdout
    strict = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--strict"])
    assert strict.exit_code == 1
    failures = pd.read_parquet(tmp_path / "b" / "failures.parquet")
    assert list(failures["status"]) == ["no_data"]
    assert list(failures["line"]) == [3]


def test_existing_run_folder_is_not_overwritten(tmp_path: Path) -> None:
    targets = csv(tmp_path, "tic\n100\n")
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(targets), "--out", str(out), *FAST]).exit_code == 0
    again = runner.invoke(app, ["run", str(targets), "--out", str(out), *FAST])
    assert again.exit_code == 2
    assert again.stderr == (
        f"Error: {out} already holds a run — continue it with "
        f"`exoextract resume {out}` or choose another --out\n"
    )


def test_resume_a_finished_run_recomputes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    targets = csv(tmp_path, "tic\n100\n101\n")
    assert runner.invoke(app, ["run", str(targets), *FAST]).exit_code == 0
    result = runner.invoke(app, ["resume", "--json"])  # default: the latest run under runs/
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["computed_this_session"] == 0
    assert summary["previously_done"] == 2
    assert summary["run_dir"].startswith("runs/")


def test_resume_refuses_a_changed_input_unless_forced(tmp_path: Path) -> None:
    targets = csv(tmp_path, "tic\n100\n")
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(targets), "--out", str(out), *FAST]).exit_code == 0
    targets.write_text("tic\n100\n101\n")
    refused = runner.invoke(app, ["resume", str(out)])
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"Error: {out}: input {targets.resolve()} changed since the run started — restore "
        "it, or pass --force to continue with the new file (finished targets are kept)\n"
    )
    forced = runner.invoke(app, ["resume", str(out), "--force", "--json", "--quiet"])
    assert forced.exit_code == 0, forced.output
    summary = json.loads(forced.stdout)
    assert (summary["computed_this_session"], summary["previously_done"]) == (1, 1)


def test_resume_refuses_settings_that_change_results(tmp_path: Path) -> None:
    from exoextract.errors import RunDirError
    from exoextract.run.runner import resume_run

    targets = csv(tmp_path, "tic\n100\n")
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(targets), "--out", str(out), *FAST]).exit_code == 0
    with pytest.raises(RunDirError) as refused:
        resume_run(out, {"run_tls": True, "period_min": 1.0, "workers": 1})
    assert str(refused.value) == (
        f"{out}: resuming with different run_tls, period_min would mix two configurations "
        "in one table — drop those options, or pass --force"
    )
    assert resume_run(out, {"workers": 1}).complete  # execution settings may change


def test_resume_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["resume", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path} is not a run folder (no manifest.json) — check the path\n"
    )


@pytest.mark.parametrize("command", ["resume", "status", "report"])
def test_a_command_without_any_run_names_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [command])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: no run found under runs/ — give the run folder: exoextract {command} RUN_DIR\n"
    )


def _commands() -> list[str]:
    import typer

    return ["", *sorted(typer.main.get_command(app).commands)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _commands())
def test_help_at_80_columns_shows_every_option_whole(command: str) -> None:
    """Options in named panels, every name whole, no placeholder on flags."""
    import typer

    args = [command, "--help"] if command else ["--help"]
    result = runner.invoke(app, args, env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert "…" not in shown and "<bool>" not in shown
    group = typer.main.get_command(app)
    params = group.commands[command].params if command else group.params  # type: ignore[attr-defined]
    for param in params:
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("--"):
                assert re.search(rf"(^|\s){re.escape(name)}(\s|$)", shown, re.M), name


def test_run_help_groups_its_options_in_panels() -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    panels = re.findall(r"╭─ (.+?) ─", result.stdout)
    assert panels == [
        "Arguments",
        "Options",
        "Targets and catalog columns",
        "Light curves and archive",
        "Execution",
        "Search and features",
        "Output",
    ]


def test_extra_feature_plugin_columns_join_the_table(tmp_path: Path) -> None:
    targets = csv(tmp_path, "tic,label\n100,ab\n")
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "run",
            str(targets),
            "--out",
            str(out),
            *FAST,
            "--extra-feature",
            "exo_test_plugins:simple",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "features.parquet")
    assert table.loc[0, "my_label_len"] == 2.0
    assert table.loc[0, "my_min_flux"] < 1.0


def test_plugin_clash_with_builtin_is_a_startup_error(tmp_path: Path) -> None:
    targets = csv(tmp_path, "tic\n100\n")
    result = runner.invoke(
        app,
        [
            "run",
            str(targets),
            "--out",
            str(tmp_path / "r"),
            *FAST,
            "--extra-feature",
            "exo_test_plugins:clashing",
        ],
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: extra feature column(s) tls_period clash with built-in "
        "columns — rename them in your plugin\n"
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nomodule_xyz:f", "extra feature nomodule_xyz:f: cannot import nomodule_xyz"),
        (
            "exo_test_plugins:nope",
            "extra feature exo_test_plugins:nope: exo_test_plugins has no function nope",
        ),
        ("not a spec", "extra feature 'not a spec' must look like module:function"),
    ],
)
def test_plugin_that_cannot_load(tmp_path: Path, spec: str, message: str) -> None:
    targets = csv(tmp_path, "tic\n100\n")
    result = runner.invoke(app, ["run", str(targets), *FAST, "--extra-feature", spec])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}")


@pytest.mark.slow
def test_demo_recovers_the_injected_signals(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--stars", "4", "--out", str(tmp_path / "demo"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["with_signal"] == 2 and report["recovered"] == 2
    assert report["run"]["counts"] == {"ok": 4}
    again = runner.invoke(app, ["demo", "--stars", "4", "--out", str(tmp_path / "d2"), "--json"])
    assert again.exit_code == 0, again.output
    # one shared folder of the demo's stars beside the runs, not one more per demo
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d2", "demo", "demo-inputs"]


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("exoextract ")


def test_plain_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    targets = csv(tmp_path, "tic\n100\n101\n")
    result = runner.invoke(app, ["run", str(targets), "--out", str(tmp_path / "r"), *FAST])
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0] == f"exoextract: 2 stars, 2 worker(s), run folder {tmp_path / 'r'}"
    assert lines[-1].startswith("progress: 2/2 stars done, 0 not ok, ")
    assert "\x1b[" not in result.stderr  # no terminal escape codes in logs


def test_resume_retry_failed_runs_failures_again(tmp_path: Path) -> None:
    flag = tmp_path / "broken"
    flag.write_text("")
    targets = csv(tmp_path, f"tic,flag\n100,\n101,{flag}\n102,\n")
    out = tmp_path / "run"
    args = ["--source", "synthetic", "--no-tls", "--no-bls", "--workers", "2"]
    plugin = ["--extra-feature", "exo_test_plugins:fails_while_flagged"]
    first = runner.invoke(app, ["run", str(targets), "--out", str(out), *args, *plugin, "--json"])
    assert json.loads(first.stdout)["counts"] == {"ok": 2, "failed": 1}
    flag.unlink()  # the user fixes the cause
    plain = json.loads(runner.invoke(app, ["resume", str(out), "--json"]).stdout)
    assert plain["computed_this_session"] == 0  # without --retry-failed nothing runs again
    assert pd.read_parquet(out / "failures.parquet")["target_id"].tolist() == ["TIC 101"]
    again = json.loads(runner.invoke(app, ["resume", str(out), "--json", "--retry-failed"]).stdout)
    assert again["computed_this_session"] == 1  # only the failed target ran again
    assert again["counts"] == {"ok": 3}
    table = pd.read_parquet(out / "features.parquet")
    assert table["target_id"].tolist() == ["TIC 100", "TIC 101", "TIC 102"]  # once each
    assert table.set_index("target_id").loc["TIC 101", "attempted_ok"] == 1.0
    assert pd.read_parquet(out / "failures.parquet").empty


def test_resume_retry_failed_leaves_no_data_alone(tmp_path: Path) -> None:
    targets = csv(tmp_path, "tic\n100\n")
    out = tmp_path / "run"
    args = ["--source", "local", "--data-dir", str(tmp_path), "--no-tls", "--no-bls"]
    first = runner.invoke(app, ["run", str(targets), "--out", str(out), *args])
    assert first.exit_code == 6  # complete, and nothing succeeded
    again = json.loads(runner.invoke(app, ["resume", str(out), "--json", "--retry-failed"]).stdout)
    assert again["computed_this_session"] == 0  # no_data is final, not a failure to retry


def test_a_network_error_in_a_plugin_is_retried(tmp_path: Path) -> None:
    calls = [tmp_path / f"calls-{i}" for i in range(3)]
    targets = csv(
        tmp_path,
        f"tic,calls,status\n100,{calls[0]},\n101,{calls[1]},503\n102,{calls[2]},404\n",
    )
    out = tmp_path / "run"
    args = ["--source", "synthetic", "--no-tls", "--no-bls", "--workers", "2", "--retries", "2"]
    plugin = ["--extra-feature", "exo_test_plugins:network_hiccup"]
    result = runner.invoke(app, ["run", str(targets), "--out", str(out), *args, *plugin, "--json"])
    assert json.loads(result.stdout)["counts"] == {"ok": 1, "failed": 2}
    table = pd.read_parquet(out / "features.parquet").set_index("target_id")
    assert table.loc["TIC 100", "catalog_calls"] == 2.0  # reset once, then ok
    failures = pd.read_parquet(out / "failures.parquet").set_index("target_id")
    assert failures.loc["TIC 101", "attempts"] == 3  # HTTP 503: transient, retried twice
    assert failures.loc["TIC 102", "attempts"] == 1  # HTTP 404: a verdict, not retried
    assert failures.loc["TIC 102", "error_type"] == "HTTPError"
