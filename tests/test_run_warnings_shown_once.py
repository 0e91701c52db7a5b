"""A run's warnings are shown once: listed by ``microgov run`` after its table, stored and
counted by an experiment's runner — not also logged by the model run by run (a Sobol'
experiment printed about a thousand lines of them, one per run and warning, from every
worker). Elsewhere (``replicate``, a model used directly) they are logged as before."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.cli import main
from experiments.executors import SerialExecutor
from experiments.runner import replicate, run_experiment
from experiments.scenario_files import SCENARIOS_FOLDER, apply_overrides, load_scenario
from experiments.store import ResultStore
from model import outcomes
from model.outcomes import warnings_not_logged

ROOT = Path(__file__).resolve().parents[1]
# one urban-management staff member per 100k residents: the classroom's department is
# overloaded within 60 days (utilisation above 0.9: warnings)
OVERLOADED = "departments.urban_management.staff_per_100k_residents=1"


def _run_warnings(caplog) -> list[str]:
    """The run warnings the model logged (model.outcomes, WARNING) that reached the log."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "model.outcomes" and r.levelno == logging.WARNING
    ]


def _overloaded_experiment(folder: Path, replications: int = 2) -> Path:
    """A compare experiment of the overloaded classroom against the classroom, 60 days."""
    (folder / "scenarios").mkdir(parents=True)
    (folder / "experiments").mkdir()
    (folder / "scenarios" / "overloaded.toml").write_text(
        f'extends = "{(SCENARIOS_FOLDER / "classroom.toml").as_posix()}"\n'
        'name = "overloaded"\n'
        "[simulation]\nwarmup_days = 0\n"
        "[departments.urban_management]\nstaff_per_100k_residents = 1\n",
        encoding="utf-8",
    )
    path = folder / "experiments" / "ov.toml"
    path.write_text(
        f'name = "ov"\nkind = "compare"\nseed = 3\nreplications = {replications}\ndays = 60\n'
        'reference = "overloaded"\n'
        '[[scenarios]]\npath = "../scenarios/overloaded.toml"\n'
        f'[[scenarios]]\npath = "{(SCENARIOS_FOLDER / "classroom.toml").as_posix()}"\n',
        encoding="utf-8",
    )
    return path


def _stored_warnings(out: Path) -> int:
    with ResultStore.open(out) as store:
        return len(store.warnings())


def test_warnings_not_logged_drops_only_run_warnings_of_this_thread(caplog) -> None:
    """Inside, this thread's run warnings are dropped; another warning of the module, other
    threads' run warnings and everything after leaving (an exception included) are logged."""
    caplog.set_level(logging.INFO)

    def run_warning(message: str) -> None:  # as run_warnings logs one
        outcomes.logger.warning(message, extra={outcomes._RUN_WARNING: True})

    run_warning("before")
    with warnings_not_logged():
        run_warning("inside")
        outcomes.logger.warning("another warning inside")
        with warnings_not_logged():
            run_warning("nested")
        run_warning("inside, after the nested block")
        other = threading.Thread(target=run_warning, args=("another thread",))
        other.start()
        other.join()
    with pytest.raises(RuntimeError), warnings_not_logged():
        run_warning("before a failure")
        raise RuntimeError("a run that fails")
    run_warning("after")
    assert _run_warnings(caplog) == [
        "before",
        "another warning inside",
        "another thread",
        "after",
    ]


def test_microgov_run_lists_its_warnings_without_logging_them(capsys, caplog) -> None:
    """`microgov run` on an overloaded classroom lists its warnings after the table, and the
    model's log of them stays quiet (before, each was shown twice)."""
    status = main(
        ["run", "classroom", "--days", "60", "--set", OVERLOADED, "--no-files", "--no-progress"]
    )
    printed = capsys.readouterr().out
    assert status == 0, printed
    listed = printed.split("warnings (", 1)[-1]
    assert "department urban_management busy" in listed, printed
    assert _run_warnings(caplog) == [], "the list is the only place they are shown"


def test_an_experiment_stores_its_runs_warnings_without_logging_them(tmp_path, caplog) -> None:
    """Serially: the runs' warnings go to table warnings, none to the log."""
    out = tmp_path / "out"
    report = run_experiment(_overloaded_experiment(tmp_path), out, workers=1)
    assert report.warned_runs >= 2, "the overloaded runs warned"
    assert _stored_warnings(out) >= 2
    assert _run_warnings(caplog) == []


def test_pool_workers_print_no_run_warnings(tmp_path) -> None:
    """`microgov compare --workers 2` in a fresh process: nothing on standard error from the
    workers (before, a line per run and warning), the warnings stored and counted."""
    out = tmp_path / "out"
    command = [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())"]
    experiment = str(_overloaded_experiment(tmp_path))
    done = subprocess.run(
        [*command, "compare", experiment, "--workers", "2", "--out", str(out), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "of its staff's time, above 90 %" not in done.stderr, done.stderr
    assert "run(s) reported warnings" in done.stdout, done.stdout
    assert _stored_warnings(out) >= 2


def test_replicate_still_logs_run_warnings(caplog) -> None:
    """`replicate` (a notebook's helper, whose rows carry no warnings) logs them as before."""
    scenario = load_scenario(SCENARIOS_FOLDER / "classroom.toml")
    field, value = OVERLOADED.split("=")
    overloaded = apply_overrides(scenario, {field: float(value)})
    replicate([overloaded], 1, days=60, executor=SerialExecutor())
    assert any("department urban_management busy" in m for m in _run_warnings(caplog))


@pytest.mark.parametrize(("days", "short"), [(60, True), (179, True), (180, False)])
def test_load_warnings_say_when_the_measurement_is_short(days: int, short: bool) -> None:
    """A department's load over fewer than SETTLED_LOAD_DAYS measured days swings (the
    classroom's busiest read 101 % over 60 days, 83 % over a year): its warnings say so and
    how long to run; from that length on they do not."""
    from experiments.runs import run_single

    scenario = load_scenario(SCENARIOS_FOLDER / "classroom.toml")
    field, value = OVERLOADED.split("=")
    overloaded = apply_overrides(scenario, {field: float(value)})
    with warnings_not_logged():
        found = run_single(overloaded, 0, days=days).warnings
    load = [
        w for w in found if "department urban_management busy" in w or w.startswith("overloaded")
    ]
    assert len(load) == 2, f"the overloaded department warns, and so does the overload: {found}"
    note = f"measured over only {days} days"
    assert all((note in w) == short for w in load), load
    assert (f"judge it on {outcomes.SETTLED_LOAD_DAYS} days or more" in load[0]) == short, load


def test_an_overload_by_backlog_is_not_said_to_be_a_short_measurement() -> None:
    """Only a busy department's overload is hedged on a short run: an overload by a backlog
    of more than a month of arrivals is not a load that swings."""
    from types import SimpleNamespace

    model = SimpleNamespace(measured_days=60, department_names=["transport"])
    summary = {"department_utilisation_transport": 0.5, "department_utilisation_max": 0.5}
    with warnings_not_logged():
        (by_backlog,) = outcomes.run_warnings(model, {**summary, "overloaded": 1.0})  # type: ignore[arg-type]
        busy = {"department_utilisation_transport": 0.99, "department_utilisation_max": 0.99}
        by_load = outcomes.run_warnings(model, {**busy, "overloaded": 1.0})  # type: ignore[arg-type]
    assert by_backlog.startswith("overloaded") and "measured over only" not in by_backlog
    assert len(by_load) == 2 and all("measured over only 60 days" in w for w in by_load), by_load
