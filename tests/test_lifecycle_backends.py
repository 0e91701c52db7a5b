"""The compiled case lifecycle (model/_lifecycle.pxi) against its reference (model/lifecycle.py).

The compiled ``Lifecycle`` follows ``PythonLifecycle`` statement by statement, so whole runs
are the same bit for bit under either: the shipped reforms on a small town (and party
building on typed communities whose rural grids travel to a site), and scenarios
drawn as the invariant tests draw them (every routing, consultation, accountability,
organisation, project and mediation kind; gaming; typed communities with travel), each run
once in this process and once in a child with ``MICROGOV_PURE_PYTHON=1``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from test_lifecycle_twins import parameters as typed_town  # party volunteers, rural trips
from test_model_reproducibility import digest  # a hash of a run's summary, series and case log

from experiments.scenario_files import load_mapping, merge_tables
from model import lifecycle
from model.engine_backend import compiled_engine
from model.governance import GovernanceModel
from model.outcomes import RunOutput
from model.parameters import ModelParameters
from model.policies.base import Route, Stage, Unit, Visit

ROOT = Path(__file__).resolve().parents[1]
ENGINE = compiled_engine()
needs_compiled = pytest.mark.skipif(ENGINE is None, reason="the compiled engine is not built")

# the shipped reforms, each on a town of six grids of 800 residents for 150 days
REFORMS = (
    "baseline_calibrated",
    "reform_party_building",
    "reform_joint_mediation",
    "reform_whistle",
    "reform_one_thing",
    "reform_sinking",
    "reform_immediate",
    "reform_digital",
)
# and 接诉即办 ranked on timeliness with strong gaming: cases re-filed under longer limits
GAMING = {"accountability": {"on_time_weight": 1.0}, "handling": {"gaming_propensity": 0.6}}
SMALL_TOWN = {
    "population": {
        "streets": 1,
        "communities_per_street": 2,
        "grids_per_community": 3,
        "residents_per_grid": 800,
    },
    "simulation": {"days": 150, "warmup_days": 0},
}
DRAWN = 10  # scenarios drawn as tests/test_model_invariants.py draws them

CHILD = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
import test_lifecycle_backends as t
for parameters, seed in pickle.load(sys.stdin.buffer):
    print(t.run_digest(parameters, seed))
"""


def run_output(parameters: ModelParameters, seed: int) -> RunOutput:
    model = GovernanceModel(parameters, seed=seed)
    model.run()
    return model.output()


def run_digest(parameters: ModelParameters, seed: int) -> str:
    return digest(run_output(parameters, seed))


def reform_runs() -> list[tuple[ModelParameters, int]]:
    runs = []
    for k, name in enumerate(REFORMS):
        data = merge_tables(load_mapping(ROOT / "scenarios" / f"{name}.toml"), SMALL_TOWN)
        runs.append((ModelParameters.model_validate(data), 3 + k))
    gaming = merge_tables(load_mapping(ROOT / "scenarios" / "reform_immediate.toml"), SMALL_TOWN)
    runs.append((ModelParameters.model_validate(merge_tables(gaming, GAMING)), 2))
    # and party building on an urban street and a rural town (typed communities, trips)
    runs.append((typed_town(), 6))
    return runs


def drawn_runs() -> list[tuple[ModelParameters, int]]:
    """``DRAWN`` scenarios of the invariant tests' strategy, the same ones every time."""
    from test_model_invariants import scenarios

    drawn: list[tuple[ModelParameters, int]] = []

    @settings(max_examples=DRAWN, derandomize=True, database=None, deadline=None)
    @given(scenario=scenarios())
    def collect(scenario: tuple[ModelParameters, int]) -> None:
        drawn.append(scenario)

    collect()
    return drawn


def reference_digests(runs: list[tuple[ModelParameters, int]]) -> list[str]:
    """The runs' fingerprints under the Python lifecycle (a child process)."""
    env = {**os.environ, "MICROGOV_PURE_PYTHON": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(Path(__file__).parent)],
        input=pickle.dumps(runs),
        capture_output=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"the reference child failed:\n{done.stderr[-3000:].decode()}"
    return done.stdout.decode().split()


@needs_compiled
def test_shipped_reforms_run_the_same_under_both_lifecycles() -> None:
    """Each shipped reform on a small town, and party building on typed communities with
    trips: the same summary, time series and case log bit
    for bit, and between them the runs take every branch of the lifecycle that the case log
    shows (returns, reopenings, premature closures, cases re-filed under a longer limit,
    settlements on the spot, volunteers' claims, mediations that fail and settlements that
    break down, disputed cases)."""
    runs = reform_runs()
    assert any(p.community_types for p, _ in runs), "no reform run has typed communities"
    outputs = [run_output(data, seed) for data, seed in runs]
    assert [digest(o) for o in outputs] == reference_digests(runs)
    cases = [o.cases for o in outputs]
    for column in ("returns", "reopened", "premature", "reclassified", "on_the_spot"):
        assert sum(int((c[column] > 0).sum()) for c in cases) > 0, f"no run has {column} cases"
    summaries = [o.summary for o in outputs]
    assert any(s["cases_taken_party_members"] > 0 for s in summaries), "no volunteer took a task"
    assert any(s["neighbour_disputes_escalated"] > 0 for s in summaries), "no mediation failed"
    assert any(s["repeat_neighbour_disputes"] > 0 for s in summaries), "no settlement broke down"
    assert any(s["disputes"] > 0 for s in summaries), "no disputed case was returned by its owner"


@needs_compiled
def test_drawn_scenarios_run_the_same_under_both_lifecycles() -> None:
    """Scenarios drawn as the invariant tests draw them (every policy kind, gaming, typed
    communities with travel) give the same runs bit for bit under both lifecycles."""
    runs = drawn_runs()
    assert len(runs) == DRAWN
    assert any(p.community_types for p, _ in runs), "no drawn scenario has typed communities"
    outputs = [run_output(p, seed) for p, seed in runs]
    assert [digest(o) for o in outputs] == reference_digests(runs)


@needs_compiled
def test_compiled_progress_has_the_reference_fields_and_defaults() -> None:
    """``CaseProgress`` is made as ``PythonProgress`` is (positional and keyword), with the
    same fields in the same order and the same defaults, and compares as it does."""
    assert ENGINE is not None
    route = Route((Stage((Visit(Unit("grid", 0)),), "resolve"),))
    names = [f.name for f in dataclasses.fields(lifecycle.PythonProgress)]
    reference = lifecycle.PythonProgress(route)
    compiled = ENGINE.CaseProgress(route)
    assert [getattr(compiled, n) for n in names] == [getattr(reference, n) for n in names]
    values = (route, 2, 1, True, Unit("centre", 0), True, 4, 1, True, 1)
    by_position = ENGINE.CaseProgress(*values)
    by_name = ENGINE.CaseProgress(**dict(zip(names, values, strict=True)))
    assert by_position == by_name
    assert [getattr(by_name, n) for n in names] == list(values)
    assert by_position != compiled
    by_name.failed |= False  # the reference's in-place update of a flag
    assert by_name.failed is True


@needs_compiled
def test_compiled_lifecycle_has_every_reference_method() -> None:
    """The compiled class defines every method of the reference (none falls through to a
    Python one by accident), and Casework runs on the compiled class."""
    from model.casework import Casework

    assert ENGINE is not None
    methods = {
        name
        for name, value in vars(lifecycle.PythonLifecycle).items()
        if callable(value) and not name.startswith("__")
    }
    assert methods <= set(dir(ENGINE.Lifecycle)), methods - set(dir(ENGINE.Lifecycle))
    assert Casework.__mro__[1] is ENGINE.Lifecycle
    assert lifecycle.Progress is ENGINE.CaseProgress
