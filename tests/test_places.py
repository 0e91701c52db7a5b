"""Streets and towns differ (F6.1): community types lay out grids of their own size, age
profile, travel and problem rates; the untyped street baseline is laid out as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.errors import InputError
from experiments.runs import run_single
from experiments.scenario_files import apply_overrides, load_scenario, scenario_from_mapping
from model.cases import REPORTED_TYPES
from model.parameters import ModelParameters
from model.places import build_layout, demand_weights, street_counts
from model.population import build_population

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

TYPED = {
    "population": {
        "streets": 2,
        "street_types": {"urban": 1, "rural": 1},
    },
    "community_types": {
        "urban": {
            "communities_per_street": 4,
            "grids_per_community": 3,
            "residents_per_grid": 200,
            "community_shares": {"old_compound": 0.25},
        },
        "rural": {
            "communities_per_street": 2,
            "grids_per_community": 2,
            "residents_per_grid": 100,
            "residents_per_building": 10,
            "age_group_shares": {"18-29": 0.1, "30-49": 0.1, "50-69": 0.3, "70+": 0.5},
            "grid_travel_hours": 1.0,
            "department_travel_hours": 2.0,
            "need_rate_multiplier": 0.5,
            "case_type_multipliers": {"complaint": 0.5},
        },
        "old_compound": {
            "public_problem_rate_multiplier": 3.0,
            "case_type_multipliers": {"help": 2.0},
        },
    },
}


def typed() -> ModelParameters:
    """Two streets: an urban one with an old compound, a rural town."""
    return ModelParameters.model_validate(TYPED)


def test_untyped_layout_is_the_uniform_street() -> None:
    """Without street types every grid has residents_per_grid residents, nested in order."""
    p = ModelParameters.model_validate(
        {"population": {"streets": 2, "communities_per_street": 3, "grids_per_community": 4}}
    )
    layout = build_layout(p)
    assert not layout.typed, "no community types named"
    assert layout.residents == p.population.residents, "same residents as the uniform layout"
    assert (layout.grid_community == np.arange(p.population.grids) // 4).all(), "grid → community"
    assert (layout.community_street == np.arange(6) // 3).all(), "community → street"


def test_typed_layout_sizes_types_and_embedded_communities() -> None:
    """Each street type sets its geometry; an embedded type takes its share of communities
    and inherits the street's geometry; the residents add up."""
    layout = build_layout(typed())
    assert layout.street_type == ("urban", "rural"), layout.street_type
    names = [layout.places[k].name for k in layout.community_place]
    assert names == ["urban"] * 3 + ["old_compound"] + ["rural"] * 2, names
    assert layout.residents == 4 * 3 * 200 + 2 * 2 * 100, layout.residents
    old = next(p for p in layout.places if p.name == "old_compound")
    assert old.grids_per_community == 3 and old.residents_per_grid == 200, "inherits geometry"
    rural = next(p for p in layout.places if p.name == "rural")
    assert rural.grid_travel_hours == 1.0 and rural.department_travel_hours == 2.0


def test_street_counts_scale_by_largest_remainder() -> None:
    """Counts that total the streets stay; otherwise they scale and keep the mix."""
    assert street_counts({"a": 7, "b": 16}, 23) == [("a", 7), ("b", 16)]
    assert street_counts({"a": 7, "b": 16}, 2) == [("a", 1), ("b", 1)]
    assert street_counts({"a": 7, "b": 16}, 1) == [("a", 0), ("b", 1)]


def test_population_follows_the_layout() -> None:
    """Grid sizes follow the layout, buildings stay within a grid, and the rural town's
    residents are older as its age profile says."""
    p = typed()
    layout = build_layout(p)
    pop = build_population(p.population, p.social, np.random.default_rng(3), layout)
    assert (np.bincount(pop.grid) == layout.grid_residents).all(), "grid sizes"
    assert (pop.community == layout.grid_community[pop.grid]).all(), "grid → community"
    starts = np.searchsorted(pop.building, pop.building)
    assert (pop.grid[starts] == pop.grid).all(), "a building lies within one grid"
    rural = pop.street == 1
    assert np.bincount(pop.building[rural]).max() <= 10, "rural houses of 10"
    old_share_rural = (pop.age_group[rural] == 3).mean()
    old_share_urban = (pop.age_group[~rural] == 3).mean()
    assert old_share_rural == pytest.approx(0.5, abs=0.07), old_share_rural
    assert old_share_urban == pytest.approx(0.16, abs=0.04), old_share_urban


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.1, 5.0), min_size=5, max_size=5),
    st.lists(st.floats(0.1, 5.0), min_size=5, max_size=5),
    st.floats(0.2, 3.0),
)
def test_case_mixes_keep_the_scenario_mix(rural: list[float], old: list[float], need: float):
    """Whatever the relative multipliers, the need-weighted mix over all places is the
    scenario's case_type_shares (F2): places differ around it."""
    raw = {
        "population": TYPED["population"],
        "community_types": {
            **TYPED["community_types"],
            "rural": {
                **TYPED["community_types"]["rural"],
                "need_rate_multiplier": need,
                "case_type_multipliers": dict(zip(REPORTED_TYPES, rural, strict=True)),
            },
            "old_compound": {"case_type_multipliers": dict(zip(REPORTED_TYPES, old, strict=True))},
        },
    }
    p = ModelParameters.model_validate(raw)
    layout = build_layout(p)
    grid = np.repeat(np.arange(layout.n_grids), layout.grid_residents)
    weights = demand_weights(layout, grid, p.demand.case_type_shares)
    assert weights is not None
    need_per_resident = np.diff(weights.resident_cdf, prepend=0.0)
    rows = np.diff(weights.type_cdf, axis=1, prepend=0.0)
    overall = need_per_resident @ rows[weights.resident_place] / need_per_resident.sum()
    base = np.array([p.demand.case_type_shares[t] for t in REPORTED_TYPES])
    assert overall == pytest.approx(base, abs=1e-6), (overall, base)
    rural_row = rows[next(k for k, q in enumerate(layout.places) if q.name == "rural")]
    urban_row = rows[next(k for k, q in enumerate(layout.places) if q.name == "urban")]
    ratio = (rural_row / urban_row) / (np.array(rural) / rural[0])
    assert ratio == pytest.approx(np.full(5, ratio[0]), rel=1e-6), "relative weights hold"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"population": {"street_types": {"nowhere": 1}}}, ["nowhere", "community_types"]),
        (
            {"community_types": {"urban": {"community_shares": {"urban": 0.2}}}},
            ["urban", "itself"],
        ),
        ({"community_types": {"rural": {"age_group_shares": {"x": 1.0}}}}, ["age_group_shares"]),
        (
            {"community_types": {"rural": {"age_group_shares": {"old": 1.0}}}},
            ["age_group_shares", "'old'", "18-29, 30-49, 50-69, 70+"],
        ),
        ({"community_types": {"rural": {"case_type_multipliers": {"patrol": 1.0}}}}, ["patrol"]),
        ({"community_types": {"rural": {"grid_travel_hours": -1.0}}}, ["grid_travel_hours"]),
        (
            {"community_types": {"urban": {"community_shares": {"old_compound": 1.5}}}},
            ["community_shares"],
        ),
    ],
)
def test_bad_community_types_name_the_field(change: dict, words: list[str]) -> None:
    """A wrong community type gives an InputError naming the field and what is allowed."""
    raw: dict = {k: dict(v) for k, v in TYPED.items()}
    for section, values in change.items():
        for key, value in values.items():
            if section == "community_types" and key in raw[section]:
                raw[section][key] = {**raw[section][key], **value}
            else:
                raw[section] = {**raw[section], key: value}
    with pytest.raises(InputError) as error:
        scenario_from_mapping(raw, name="bad")
    message = str(error.value)
    for word in words:
        assert word in message, f"{word!r} not in {message}"


def test_yongchuan_layout_matches_the_census() -> None:
    """yongchuan.toml: 7 streets and 16 towns, ≈1.15 M residents of whom ≈803k urban (F6.1)."""
    p = load_scenario(SCENARIOS / "yongchuan.toml").parameters
    layout = build_layout(p)
    assert layout.street_type.count("urban_street") == 7, layout.street_type
    assert layout.street_type.count("rural_town") == 16, layout.street_type
    assert layout.residents == pytest.approx(1_148_896, rel=0.001), layout.residents
    urban = layout.grid_residents[layout.community_street[layout.grid_community] < 7].sum()
    assert urban == pytest.approx(803_458, rel=0.001), urban
    assert {q.name for q in layout.places} >= {"old_compound", "urban_village"}


def _classroom(overrides: dict[str, object]):
    scenario = load_scenario(SCENARIOS / "classroom.toml")
    base = {"consultation.kind": "none", "simulation.warmup_days": 20}
    return apply_overrides(scenario, {**base, **overrides})


PLAIN_TYPE = {"population.street_types": {"street": 1}, "community_types": {"street": {}}}


def test_a_type_that_restates_the_street_changes_nothing() -> None:
    """A single community type with no differences gives the untyped run exactly."""
    plain = run_single(_classroom({}), 5, days=40).summary
    typed_run = run_single(_classroom(PLAIN_TYPE), 5, days=40).summary
    for key in ("cases_generated", "resolution_time_median_days", "staff_hours_total"):
        assert typed_run[key] == plain[key], key
    assert typed_run["place_on_time_share_street"] == pytest.approx(
        plain["on_time_share"], abs=1e-9
    ), "one place: its on-time share is the run's"


def test_travel_costs_staff_hours_on_the_same_needs() -> None:
    """Travel to a site (a rural town's) adds grid-worker and department hours and does not
    speed resolution, on the same needs (common random numbers; trust feedback off)."""
    frozen = {
        "feedback.trust_learning_rate": 0.0,
        "social.neighbour_influence_per_day": 0.0,
        "social.disposition_weight_per_day": 0.0,
    }
    near = {**PLAIN_TYPE, **frozen}
    far = {
        **frozen,
        "population.street_types": {"town": 1},
        "community_types": {"town": {"grid_travel_hours": 1.0, "department_travel_hours": 2.0}},
    }
    a = [run_single(_classroom(near), s, days=60).summary for s in (1, 2)]
    b = [run_single(_classroom(far), s, days=60).summary for s in (1, 2)]
    for x, y in zip(a, b, strict=True):
        assert y["needs_generated"] == x["needs_generated"], "same needs"
        assert y["staff_hours_total"] > x["staff_hours_total"] + 100, "travel costs hours"
        assert y["grid_worker_utilisation"] > x["grid_worker_utilisation"], "grid workers travel"
    assert np.mean([y["resolution_time_mean_days"] for y in b]) >= np.mean(
        [x["resolution_time_mean_days"] for x in a]
    ), "travel does not speed resolution"


def test_old_compounds_bring_more_public_problems() -> None:
    """An old compound with 3× the public-problem rate gets more public-space problems per
    resident than its street, and the run's accounting holds."""
    scenario = _classroom(
        {
            "population.street_types": {"street": 1},
            "community_types": {
                "street": {"communities_per_street": 4, "community_shares": {"old": 0.5}},
                "old": {"public_problem_rate_multiplier": 3.0},
            },
            "detection.patrol_detection_probability_per_day": 0.5,
        }
    )
    model_output = run_single(scenario, 2, days=60)
    cases = model_output.cases
    layout = build_layout(scenario.parameters)
    found = cases[cases["source"] == "patrol"]
    place = layout.community_place[layout.grid_community[found["grid"].to_numpy()]]
    old = np.array([q.name == "old" for q in layout.places])[place]
    assert old.mean() == pytest.approx(0.75, abs=0.08), f"3:1 public problems, got {old.mean()}"
    s = model_output.summary
    assert s["cases_generated"] == s["cases_closed"] + s["cases_parked"] + s["cases_open"]


def test_a_scaled_down_yongchuan_runs_with_every_place() -> None:
    """yongchuan.toml scaled down to one street and one town runs, reports each community
    type's outcomes and keeps its accounting."""
    scenario = apply_overrides(
        load_scenario(SCENARIOS / "yongchuan.toml"),
        {
            "population.streets": 2,
            "community_types.urban_street.communities_per_street": 7,
            "community_types.rural_town.communities_per_street": 2,
            "simulation.warmup_days": 10,
        },
    )
    layout = build_layout(scenario.parameters)
    assert layout.street_type == ("urban_street", "rural_town"), layout.street_type
    s = run_single(scenario, 1, days=20).summary
    for place in ("urban_street", "old_compound", "urban_village", "rural_town"):
        assert f"place_on_time_share_{place}" in s, place
    assert s["cases_generated"] == s["cases_closed"] + s["cases_parked"] + s["cases_open"]


def test_the_age_groups_are_the_ones_the_consultation_policies_shift() -> None:
    """A scenario's age groups are exactly those whose turnout (F7.2) and online reach the
    consultation policies set: a group they do not know would get no shift, silently."""
    from model.place_types import AGE_GROUPS
    from model.policies.deliberation import ONLINE_AGE_LOGIT_SHIFT
    from model.policies.participation import AGE_LOGIT_SHIFT

    assert set(AGE_LOGIT_SHIFT) == set(ONLINE_AGE_LOGIT_SHIFT) == set(AGE_GROUPS)
    assert tuple(ModelParameters().population.age_group_shares) == AGE_GROUPS
