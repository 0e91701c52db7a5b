"""Command-line caps and consistency: --days, --workers, --out, --no-progress, --version,
integer counts in summary.json (issue 13)."""

from __future__ import annotations

import math

import pytest
import standins
from hypothesis import given
from hypothesis import strategies as st

from app import arguments
from app.cli import build_parser, main
from app.run_commands import is_count, summary_record
from experiments.errors import InputError
from experiments.executors import max_workers
from experiments.runner import run_experiment
from experiments.scenario_files import apply_overrides

EXPERIMENT_COMMANDS = ("compare", "sweep", "sensitivity")


@pytest.mark.parametrize("days", ["0", "3651", "1000000000", "1e9", "ten"])
def test_run_days_outside_the_schema_bounds_is_refused(days, capsys):
    """`microgov run --days` outside 1..3650 (the schema's bounds) exits 2 naming the range."""
    status = main(["run", "classroom", "--days", days, "--no-files"])
    err = capsys.readouterr().err
    assert status == 2, f"--days {days}: exit 2"
    assert "--days" in err and "allowed: 1 to 3650" in err, err


def test_days_bounds_are_the_scenario_schema_bounds(classroom):
    """The CLI bound is read from the schema: 3650 passes both, 3651 fails both."""
    low, high = arguments.days_bounds()
    assert (low, high) == (1, 3650), "simulation.days is 1..3650"
    assert arguments.days(str(high)) == high, "the upper bound itself is allowed"
    apply_overrides(classroom, {"simulation.days": high})  # accepted by the schema too
    with pytest.raises(InputError):
        apply_overrides(classroom, {"simulation.days": high + 1})


@pytest.mark.parametrize("command", EXPERIMENT_COMMANDS)
def test_workers_above_the_cap_is_refused(command, capsys):
    """--workers above 4 × CPUs (at most 64) exits 2 and says what the cap is."""
    status = main([command, "x.toml", "--workers", "1000"])
    err = capsys.readouterr().err
    assert status == 2, "bad input"
    assert f"between 1 and {max_workers()}" in err and "CPU" in err, err


def test_run_experiment_refuses_too_many_workers_before_anything(tmp_path):
    """run_experiment(workers=1000) fails before the results folder is made."""
    path = standins.write_experiment(tmp_path, "s", standins.sweep_text())
    with pytest.raises(InputError, match="--workers must be between 1 and"):
        run_experiment(path, tmp_path / "out", workers=1000, run_fn=standins.fake_run)
    assert not (tmp_path / "out").exists(), "no folder created"


def test_max_workers_rule():
    """The cap is at least the CPU count and at most max(64, CPUs)."""
    from experiments.executors import available_cpus

    cpus = available_cpus()
    assert cpus <= max_workers() <= max(64, cpus), max_workers()
    assert max_workers() == max(cpus, min(4 * cpus, 64)), "4 × CPUs, capped at 64"


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "classroom", "--out", ""],
        ["sweep", "x.toml", "--out", ""],
        ["compare", "x.toml", "--out", "  "],
    ],
)
def test_empty_out_is_refused(argv, tmp_path, monkeypatch, capsys):
    """--out "" is an error (it would write into the current folder); nothing is written."""
    monkeypatch.chdir(tmp_path)
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2 and "--out" in err and "empty folder name" in err, err
    assert list(tmp_path.iterdir()) == [], "nothing written into the current folder"


@pytest.mark.parametrize("command", ["run", *EXPERIMENT_COMMANDS])
def test_every_command_takes_no_progress(command):
    """One spelling for "no progress bar": --no-progress, on run and the experiment commands."""
    args = build_parser().parse_args([command, "x", "--no-progress"])
    assert args.no_progress is True, command


def test_old_quiet_spelling_is_a_hidden_alias(capsys):
    """`run --quiet` still works (same as --no-progress) but is no longer in the help."""
    parser = build_parser()
    assert parser.parse_args(["run", "x", "--quiet"]).no_progress is True, "alias kept"
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--help"])
    help_text = capsys.readouterr().out
    assert "--no-progress" in help_text and "--quiet" not in help_text, help_text


def test_version(capsys):
    """`microgov --version` prints the installed version and exits 0."""
    assert main(["--version"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("microgov ") and len(printed.split()) >= 2, printed


def test_worker_timeout_option(capsys):
    """--worker-timeout takes positive seconds (default 300) and refuses 0."""
    parser = build_parser()
    assert parser.parse_args(["sweep", "x"]).worker_timeout == 300.0, "default"
    assert parser.parse_args(["sweep", "x", "--worker-timeout", "2.5"]).worker_timeout == 2.5
    assert main(["sweep", "x", "--worker-timeout", "0"]) == 2
    assert "positive number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("needs_generated", True),
        ("cases_closed", True),
        ("meetings_held", True),
        ("decisions_made", True),
        ("collective_issues_open", True),
        ("backlog_final", True),
        ("backlog_mean", False),
        ("cases_closed_share", False),
        ("trust_mean", False),
        ("resolution_time_mean_days", False),
        ("handoffs_per_case", False),
        ("department_utilisation", False),
    ],
)
def test_count_rule(name, expected):
    """Counts by name: needs_/cases_ prefixes, _held/_made/_open/_final suffixes, not ratios."""
    assert is_count(name) is expected, name


@given(
    name=st.sampled_from(["cases_closed", "meetings_held", "trust_mean", "needs_found"]),
    value=st.one_of(
        st.integers(min_value=0, max_value=10**9).map(float),
        st.floats(min_value=0, max_value=1e9, allow_nan=False),
    ),
)
def test_summary_record_never_changes_a_value(classroom, name, value):
    """Property: a count is written as int only when whole; the number is never changed."""
    record = summary_record({name: value}, classroom, seed=0, days=1)
    written = record[name]
    assert float(written) == value, "same number"
    assert isinstance(written, int) == (is_count(name) and value.is_integer()), (name, written)


def test_summary_record_non_finite_is_null(classroom):
    """NaN and infinities are written as null (strict JSON), so summary.json is always written."""
    record = summary_record(
        {"trust_mean": math.nan, "backlog_mean": math.inf}, classroom, seed=0, days=1
    )
    assert record["trust_mean"] is None and record["backlog_mean"] is None, record
