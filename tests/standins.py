"""Small picklable stand-ins for ``experiments.runs.run_single`` used by the experiment tests.

They read a few real scenario fields and return a ``RunOutput`` quickly, so the
runner, executors and store can be tested without the full model. Hooks (test
only): ``coordination.handoff_delay_hours == 13`` makes :func:`fake_run` raise; the
environment variable ``MICROGOV_STANDIN_SLEEP`` (seconds) slows every run down.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from model.outcomes import OUTCOME_NAMES, RunOutput

FAILING_HANDOFF_DELAY_HOURS = 13.0
# Ishigami factors, each a share in [0, 1] mapped to [-π, π].
ISHIGAMI_FIELDS = (
    "coordination.classification_accuracy",
    "feedback.callback_share",
    "handling.dispute_probability",
)


def _output(summary: dict[str, float], rng: np.random.Generator, days: int) -> RunOutput:
    timeseries = pd.DataFrame(
        {
            "day": np.arange(days),
            "backlog": rng.poisson(5.0, days).astype(float),
            "trust_mean": rng.random(days),
        }
    )
    n = 12
    reported = rng.random(n) * days
    closed = reported + rng.exponential(3.0, n)
    closed[::4] = np.nan  # some cases still open
    cases = pd.DataFrame(
        {
            "case_id": np.arange(n),
            "case_type": np.array(["inquiry", "help", "complaint"])[np.arange(n) % 3],
            "reported": reported,
            "closed": closed,
            "status": np.where(np.isnan(closed), "open", "closed"),
        }
    )
    return RunOutput(summary=summary, timeseries=timeseries, cases=cases)


def fake_run(scenario, seed, days=None, progress=None) -> RunOutput:
    """A noisy stand-in: resolution time falls with urban-management staff; raises on a hook value."""
    p = scenario.parameters
    if p.coordination.handoff_delay_hours == FAILING_HANDOFF_DELAY_HOURS:
        raise RuntimeError("stand-in model failure (handoff_delay_hours = 13 is the test hook)")
    pause = float(os.environ.get("MICROGOV_STANDIN_SLEEP", "0") or 0)
    if pause:
        time.sleep(pause)
    rng = np.random.default_rng(seed)
    days = days or p.simulation.days
    staff = p.departments["urban_management"].staff_per_100k_residents
    noise = rng.normal(0.0, 0.2, 2)  # drawn first: independent of how many outcomes exist
    summary = {name: float(rng.random()) for name in OUTCOME_NAMES}
    summary["resolution_time_median_days"] = 40.0 / staff + float(noise[0])
    summary["resolution_time_mean_days"] = 50.0 / staff + float(noise[1])
    summary["participation_share"] = (
        0.2 + 0.01 * p.population.residents_per_grid / 100 + 0.01 * rng.random()
    )
    summary["collective_issues_open"] = math.nan  # undefined outcomes are NaN
    return _output(summary, rng, days)


def ishigami_run(scenario, seed, days=None, progress=None) -> RunOutput:
    """The Ishigami function (a = 7, b = 0.1) of three share fields mapped to [-π, π], no noise."""
    p = scenario.parameters
    x1, x2, x3 = (
        -math.pi + 2 * math.pi * value
        for value in (
            p.coordination.classification_accuracy,
            p.feedback.callback_share,
            p.handling.dispute_probability,
        )
    )
    y = math.sin(x1) + 7.0 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)
    rng = np.random.default_rng(seed)
    summary = {"resolution_time_mean_days": y, "trust_mean": 0.5 + 0.01 * rng.random()}
    return RunOutput(summary=summary, timeseries=pd.DataFrame(), cases=pd.DataFrame())


def quick_run(scenario, seed, days=None, progress=None) -> RunOutput:
    """Almost no work: measures the runner's own overhead per run (benchmarks)."""
    rng = np.random.default_rng(seed)
    return RunOutput(
        summary={"trust_mean": float(rng.random())}, timeseries=pd.DataFrame(), cases=pd.DataFrame()
    )


# ---------------------------------------------------------------------------
# Tiny files for experiment tests
# ---------------------------------------------------------------------------

TINY_SCENARIO = """\
name = "tiny"
description = "two grids of 60 residents: a run of 30 days takes a fraction of a second"
[simulation]
warmup_days = 0                 # tests measure from day 0 (the warm-up has its own tests)
[population]
communities_per_street = 1
grids_per_community = 2
residents_per_grid = 60
"""

TINY_INTEGRATED = """\
extends = "tiny.toml"
name = "tiny_integrated"
[routing]
kind = "integrated"
"""


def write_tiny_scenarios(folder):
    """Write scenarios/tiny.toml and scenarios/tiny_integrated.toml under ``folder``; return the folder."""
    scenarios = folder / "scenarios"
    scenarios.mkdir(parents=True, exist_ok=True)
    (scenarios / "tiny.toml").write_text(TINY_SCENARIO, encoding="utf-8")
    (scenarios / "tiny_integrated.toml").write_text(TINY_INTEGRATED, encoding="utf-8")
    return scenarios


def write_experiment(folder, name, text):
    """Write ``experiments/<name>.toml`` under ``folder`` (tiny scenarios included); return its path."""
    write_tiny_scenarios(folder)
    experiments = folder / "experiments"
    experiments.mkdir(parents=True, exist_ok=True)
    path = experiments / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def compare_text(name="tiny_compare", replications=2, days=20, extra=""):
    """A compare experiment over the two tiny scenarios."""
    return f"""\
name = "{name}"
kind = "compare"
seed = 11
replications = {replications}
days = {days}
reference = "tiny"
outcomes = ["resolution_time_median_days", "participation_share"]
{extra}
[[scenarios]]
path = "../scenarios/tiny.toml"
[[scenarios]]
path = "../scenarios/tiny_integrated.toml"
"""


def sweep_text(name="tiny_sweep", replications=3, delays=(1.0, 4.0), staff=(10, 20), extra=""):
    """A grid sweep over urban-management staff and hand-off delay of the tiny scenario."""
    return f"""\
name = "{name}"
kind = "sweep"
scenario = "../scenarios/tiny.toml"
seed = 5
replications = {replications}
days = 10
{extra}
[grid]
"departments.urban_management.staff_per_100k_residents" = {list(staff)}
"coordination.handoff_delay_hours" = {list(delays)}
"""


class StopAfter:
    """A run function that makes ``runs`` runs of ``run``, then stops like Ctrl-C does
    (an experiment left unfinished; serial runs only: the count lives in this process)."""

    def __init__(self, run: Callable[..., Any], runs: int) -> None:
        self.run, self.left = run, runs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.left <= 0:
            raise KeyboardInterrupt
        self.left -= 1
        return self.run(*args, **kwargs)
