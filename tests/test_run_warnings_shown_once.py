"""A run's warnings are shown once: listed by ``microgov run`` after its table, stored and
counted by an experiment — not also logged by the model run by run (a Sobol' experiment
printed about a thousand lines of them, one per run and warning, from every worker)."""

from __future__ import annotations

import logging
import threading

import hardening_runner_standins as hs
import standins

from app.cli import main
from experiments.runner import run_experiment
from experiments.store import ResultStore
from model import outcomes
from model.outcomes import warnings_not_logged

# one urban-management staff member per 100k residents: the classroom's department is
# overloaded within 60 days (three warnings)
OVERLOADED = "departments.urban_management.staff_per_100k_residents=1"


def _model_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "model.outcomes" and r.levelno == logging.WARNING
    ]


def test_warnings_not_logged_drops_only_this_thread_s_warning_records(caplog) -> None:
    """Inside, this thread's WARNING records of model.outcomes are dropped (other levels
    and other threads' records are not); outside, and after leaving, they are logged."""
    caplog.set_level(logging.INFO)
    outcomes.logger.warning("before")
    with warnings_not_logged():
        outcomes.logger.warning("inside")
        outcomes.logger.info("an info inside")
        with warnings_not_logged():  # nested: still quiet after the inner block ends
            outcomes.logger.warning("nested")
        outcomes.logger.warning("inside, after the nested block")
        other = threading.Thread(target=outcomes.logger.warning, args=("another thread",))
        other.start()
        other.join()
    outcomes.logger.warning("after")
    assert _model_warnings(caplog) == ["before", "another thread", "after"]
    assert "an info inside" in [r.getMessage() for r in caplog.records]


def test_microgov_run_lists_each_warning_once(capsys, caplog) -> None:
    """`microgov run` on an overloaded classroom prints each warning once, in its list."""
    status = main(
        ["run", "classroom", "--days", "60", "--set", OVERLOADED, "--no-files", "--no-progress"]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    listed = [line.strip() for line in captured.out.splitlines() if "exceeds 0.9" in line]
    assert listed and len(listed) == len(set(listed)), captured.out
    assert "warnings (" in captured.out, captured.out
    assert "exceeds 0.9" not in captured.err, captured.err
    assert _model_warnings(caplog) == [], "the list is the only place they are shown"


def test_an_experiment_stores_warnings_without_logging_them(tmp_path, caplog) -> None:
    """An experiment's runs' warnings go to table warnings and the count of warned runs;
    the model's log of them is quiet (the runner lists them at INFO, with --verbose)."""

    def logging_run(scenario, seed, days=None, progress=None):
        outcomes.logger.warning("department transport utilisation 0.93 exceeds 0.9")
        return hs.warning_run(scenario, seed, days=days, progress=progress)

    path = standins.write_experiment(tmp_path, "s", standins.sweep_text(replications=1))
    out = tmp_path / "out"
    report = run_experiment(path, out, workers=1, run_fn=logging_run)
    assert report.warned_runs == 4, "every run warned"
    with ResultStore.open(out) as store:
        assert len(store.warnings()) == 4 + 2, "stored: one a run, a second at the 4 h points"
    assert _model_warnings(caplog) == []
