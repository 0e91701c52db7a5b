"""The keyword-argument model: naming rule, validation, and `mesa.batch_run` (issue 14)."""

from __future__ import annotations

import math
import multiprocessing

import mesa
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from experiments.errors import InputError
from experiments.keywords import (
    KeywordGovernanceModel,
    build_scenario,
    dotted_name,
    keyword_name,
    keyword_names,
)
from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, field_paths

DAYS = 6
WARMUP = 5  # a short warm-up keeps the test quick


@pytest.fixture
def restore_start_method():
    """mesa.batch_run forces 'spawn' for the whole process; put the old method back."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def same(a: float, b: float) -> bool:
    """Equal, or both NaN."""
    return a == b or (math.isnan(a) and math.isnan(b))


@given(st.data())
def test_naming_rule_round_trips(classroom, data):
    """Every dotted field maps to one keyword and back; no field name holds '__' itself."""
    paths = field_paths(classroom.parameters, tables=True)
    dotted = data.draw(st.sampled_from(paths))
    assert "__" not in dotted, f"{dotted} would be ambiguous under the naming rule"
    assert dotted_name(keyword_name(dotted)) == dotted, "keyword → dotted is the inverse"
    assert keyword_name(dotted).count("__") == dotted.count("."), "each dot is one '__'"


def test_keyword_names_list_the_schema(classroom):
    """keyword_names lists every leaf field of the base, spelled by the rule."""
    names = keyword_names(classroom)
    assert "population__communities_per_street" in names, "a section field"
    assert "routing__kind" in names, "a policy kind"
    assert "departments__urban_management__staff_per_100k_residents" in names, "a mapping entry"
    assert "consultation__cycle_days" in names, "a parameter of the base's council policy"


def test_keyword_model_equals_run_single(classroom):
    """Same seed and fields: the keyword model's summary and time series equal run_single's."""
    model = KeywordGovernanceModel(
        seed=4,
        scenario=classroom,
        routing__kind="integrated",
        departments__urban_management__staff_per_100k_residents=60,
        simulation__days=DAYS,
        simulation__warmup_days=WARMUP,
    )
    model.run()
    assert not model.running, "the model stops itself after simulation.days"
    expected_scenario = apply_overrides(
        classroom,
        {
            "routing.kind": "integrated",
            "departments.urban_management.staff_per_100k_residents": 60,
            "simulation.warmup_days": WARMUP,
        },
    )
    expected = run_single(expected_scenario, 4, days=DAYS)
    got = model.output()
    assert got.summary.keys() == expected.summary.keys(), "the same outcomes"
    differ = [k for k in expected.summary if not same(expected.summary[k], got.summary[k])]
    assert not differ, f"outcomes differ from run_single: {differ}"
    pd.testing.assert_frame_equal(got.timeseries, expected.timeseries)
    last = model.datacollector.get_model_vars_dataframe().iloc[-1]
    for name in ("resolution_time_mean_days", "on_time_share", "trust_mean", "backlog_mean"):
        assert same(float(last[name]), expected.summary[name]), f"{name} in the last collected row"


def test_bases_agree(classroom):
    """A name, a Scenario, its ModelParameters and a mapping give the same built parameters."""
    by_name = build_scenario("classroom", population__residents_per_grid=100)
    by_scenario = build_scenario(classroom, population__residents_per_grid=100)
    by_parameters = build_scenario(classroom.parameters, population__residents_per_grid=100)
    by_mapping = build_scenario(classroom.raw, population__residents_per_grid=100)
    digests = {s.digest for s in (by_name, by_scenario, by_parameters, by_mapping)}
    assert len(digests) == 1, "every kind of base gives the same effective parameters"
    assert by_name.parameters.population.residents_per_grid == 100, "the keyword is applied"


def test_unknown_keyword_names_the_closest(classroom):
    """A typo is an InputError naming the keyword and the closest valid one."""
    with pytest.raises(InputError) as caught:
        KeywordGovernanceModel(seed=0, scenario=classroom, population__comunities_per_street=2)
    text = str(caught.value)
    assert "population__comunities_per_street" in text, "the bad keyword is named"
    assert "did you mean 'population__communities_per_street'" in text, "closest keyword"
    with pytest.raises(InputError, match="did you mean 'seed'"):
        KeywordGovernanceModel(seed=0, scenario=classroom, sed=1)


def test_bad_value_names_the_keyword(classroom):
    """A value the schema refuses is reported under its keyword, with what is allowed."""
    with pytest.raises(InputError) as caught:
        build_scenario(classroom, population__streets=0)
    text = str(caught.value)
    assert "population__streets = 0" in text and "from 1 to 100" in text, text
    with pytest.raises(InputError, match="did you mean 'integrated'"):
        build_scenario(classroom, routing__kind="integrate")


def test_kind_switch_takes_the_new_kinds_fields(classroom):
    """routing__kind and a field of the new kind can be given together (the kind goes first)."""
    built = build_scenario(
        classroom, routing__kind="integrated", routing__joint_coordination_hours=0.3
    )
    assert built.routing_kind == "integrated", "kind switched"
    assert built.parameters.routing.joint_coordination_hours == 0.3, "new kind's field set"


def test_seed_is_required(classroom):
    """No unseeded runs: a missing or bad seed is an InputError saying what to pass."""
    with pytest.raises(InputError, match="rng=\\[0, 1"):
        KeywordGovernanceModel(scenario=classroom)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(InputError, match="seed"):
            KeywordGovernanceModel(seed=bad, scenario=classroom)


def batch(classroom, processes: int) -> pd.DataFrame:
    """2 routing kinds × 2 seeds of the classroom scenario through mesa.batch_run."""
    rows = mesa.batch_run(
        KeywordGovernanceModel,
        parameters={
            "scenario": "classroom",
            "simulation__days": DAYS,
            "simulation__warmup_days": WARMUP,
            "routing__kind": ["hierarchical", "integrated"],
        },
        rng=[0, 1],
        number_processes=processes,
        max_steps=10_000,
        display_progress=False,
    )
    return pd.DataFrame(rows).sort_values(["seed", "routing__kind"]).reset_index(drop=True)


def test_batch_run_drives_the_model(classroom, restore_start_method):
    """batch_run gets one row per run with its keywords and outcomes equal to run_single's."""
    table = batch(classroom, processes=1)
    assert len(table) == 4, "2 values × 2 seeds"
    assert (table["Step"] == WARMUP + DAYS).all(), "each run stopped after the warm-up and days"
    for row in table.itertuples(index=False):
        scenario = apply_overrides(
            classroom,
            {"routing.kind": row.routing__kind, "simulation.warmup_days": WARMUP},
        )
        expected = run_single(scenario, row.seed, days=DAYS).summary
        for name in ("resolution_time_mean_days", "returns_share", "backlog_mean"):
            assert same(getattr(row, name), expected[name]), (
                f"{name} of seed {row.seed}, {row.routing__kind}"
            )


def test_batch_run_in_processes(classroom, restore_start_method):
    """batch_run's spawned worker processes build the same models as a serial batch."""
    serial = batch(classroom, processes=1)
    parallel = batch(classroom, processes=2)
    columns = ["seed", "routing__kind", "resolution_time_mean_days", "backlog", "trust_mean"]
    pd.testing.assert_frame_equal(serial[columns], parallel[columns])
