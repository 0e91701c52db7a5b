"""Invariants of whole runs, property-based over random valid parameters (docs/design.md "Conventions").

Every case is closed, open or queued exactly once; no time runs backwards; every share
lies in [0, 1]; every need is accounted for. Checked only through the public API:
``GovernanceModel(parameters, seed).run(days)`` and ``model.output()``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from model.governance import GovernanceModel
from model.outcomes import OUTCOME_NAMES, RunOutput
from model.parameters import ModelParameters
from model.policies.registry import builtin_kinds

STATUSES = {"closed", "open", "queued", "parked"}
TIMESTAMPS = ("reported", "registered", "dispatched", "handled", "verified", "closed")
# Lifecycle order of the timestamps (F4.5); each pair (earlier, later) must hold where both are set.
ORDER = (
    ("reported", "registered"),
    ("registered", "dispatched"),
    ("dispatched", "handled"),
    ("handled", "verified"),
    ("verified", "closed"),
    ("registered", "handled"),
    ("handled", "closed"),
    ("registered", "closed"),
    ("dispatched", "closed"),
    ("registered", "deadline"),
)
EPSILON = 1e-9  # days
# A handful of examples, no shrinking: each example is a whole model run. derandomize for CI.
INVARIANT_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)


@st.composite
def scenarios(draw: st.DrawFn, only_party_with_places: bool = False) -> tuple[ModelParameters, int]:
    """Small random valid scenarios (a few hundred residents, a few weeks) and a seed.

    ``only_party_with_places``: every scenario has a party organisation and community types
    (the combination that once crashed: grids per community set by a community type).
    """
    staff_factor = draw(st.floats(min_value=0.05, max_value=3.0))
    defaults = ModelParameters().departments
    departments = {
        name: dept.model_copy(
            update={"staff_per_100k_residents": dept.staff_per_100k_residents * staff_factor}
        )
        for name, dept in defaults.items()
    }
    data: dict[str, Any] = {
        "simulation": {
            "days": draw(st.integers(min_value=3, max_value=40)),
            "warmup_days": draw(st.integers(min_value=0, max_value=10)),
            "start_weekday": draw(st.integers(min_value=0, max_value=6)),
        },
        "calendar": {
            "working_hours_per_day": draw(st.sampled_from([4.0, 8.0, 10.5, 16.0, 24.0])),
            "working_days_per_week": draw(st.integers(min_value=1, max_value=7)),
        },
        "population": {
            "streets": draw(st.integers(min_value=1, max_value=2)),
            "communities_per_street": draw(st.integers(min_value=1, max_value=2)),
            "grids_per_community": draw(st.integers(min_value=1, max_value=3)),
            "residents_per_grid": draw(st.integers(min_value=20, max_value=150)),
        },
        "demand": {
            "needs_per_resident_per_year": draw(st.floats(min_value=0.0, max_value=25.0)),
            "multi_department_share": draw(st.floats(min_value=0.0, max_value=1.0)),
            "max_departments_per_case": draw(st.integers(min_value=1, max_value=3)),
            "minor_share": draw(st.floats(min_value=0.0, max_value=1.0)),
            "disputed_ownership_share": draw(st.floats(min_value=0.0, max_value=1.0)),
            "collective_issues_per_community_per_year": draw(
                st.floats(min_value=0.0, max_value=40.0)
            ),
            "linked_request_share": draw(st.floats(min_value=0.0, max_value=1.0)),  # 一件事
        },
        "detection": {
            "patrol_detection_probability_per_day": draw(st.sampled_from([0.0, 0.04, 0.5, 1.0])),
            "sensor_coverage_share": draw(st.floats(min_value=0.0, max_value=1.0)),
            "public_problems_per_resident_per_year": draw(st.floats(min_value=0.0, max_value=3.0)),
            "false_alarms_per_grid_per_day_at_full_coverage": draw(
                st.floats(min_value=0.0, max_value=2.0)
            ),
        },
        "intake": {
            "front_desk_inquiry_resolution_share": draw(st.floats(min_value=0.0, max_value=1.0)),
            "one_thing_bundles": draw(st.booleans()),
            "bundle_coordination_hours": draw(st.floats(min_value=0.0, max_value=2.0)),
        },
        "coordination": {
            "classification_accuracy": draw(st.floats(min_value=0.0, max_value=1.0)),
            "handoff_delay_hours": draw(st.floats(min_value=0.0, max_value=8.0)),
            "community_classification_accuracy": draw(st.floats(min_value=0.0, max_value=1.0)),
            "catalogue_departments": draw(
                st.lists(st.sampled_from(list(departments)), unique=True, max_size=3)
            ),
            "staff_moved_to_communities_share": draw(st.floats(min_value=0.0, max_value=0.5)),
            "tasks_moved_with_staff": draw(st.booleans()),
            "management_enforcement_joint": draw(st.booleans()),
            "queue_discipline": draw(st.sampled_from(["fifo", "deadline"])),
        },
        "departments": departments,
        "handling": {
            "resolution_probability_full_effort": draw(st.floats(min_value=0.0, max_value=1.0)),
            "dispute_probability": draw(st.floats(min_value=0.0, max_value=1.0)),
            "gaming_propensity": draw(st.floats(min_value=0.0, max_value=1.0)),
            "returns_before_parking": draw(st.integers(min_value=1, max_value=4)),
        },
        "reporting": {
            "repeat_contact_probability": draw(st.floats(min_value=0.0, max_value=1.0)),
            "repeat_contact_delay_days": draw(st.floats(min_value=0.1, max_value=10.0)),
        },
        "accountability": {
            "kind": draw(st.sampled_from(builtin_kinds("accountability"))),
            "period_days": draw(st.integers(min_value=1, max_value=10)),
        },
        "routing": {"kind": draw(st.sampled_from(builtin_kinds("routing")))},
        "consultation": {"kind": draw(st.sampled_from(builtin_kinds("consultation")))},
    }
    if only_party_with_places:  # meetings on the first day: the volunteers' invitations run
        meeting = [k for k in builtin_kinds("consultation") if k != "none"]
        data["consultation"] = {"kind": draw(st.sampled_from(meeting)), "first_meeting_day": 0}
    if data["consultation"]["kind"] != "none":  # meet early and often so that meetings happen
        data["consultation"]["cycle_days"] = draw(st.integers(min_value=1, max_value=20))
        data["consultation"].setdefault(
            "first_meeting_day", draw(st.integers(min_value=0, max_value=10))
        )
    data.update(draw(practices(party=only_party_with_places)))
    streets = data["population"]["streets"]
    street_types, community_types = draw(places(streets, typed=only_party_with_places))
    if community_types:
        data["population"]["street_types"] = street_types
        data["community_types"] = community_types
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    return ModelParameters.model_validate(data), seed


@st.composite
def practices(draw: st.DrawFn, party: bool = False) -> dict[str, Any]:
    """The issue 10 practices: party organisation (always, if ``party``), micro-space projects
    and mediation kinds."""
    kinds = ["party_building"] if party else builtin_kinds("organisation")
    organisation: dict[str, Any] = {"kind": draw(st.sampled_from(kinds))}
    if organisation["kind"] == "party_building":  # follow-ups and report days within a short run
        organisation["follow_up_days"] = draw(st.floats(min_value=1.0, max_value=20.0))
        organisation["report_days_per_month"] = draw(st.sampled_from([0.0, 2.0, 10.0]))
        volunteers = {"min_value": int(party), "max_value": 3}  # at least one, if ``party``
        organisation["building_heads_per_grid"] = draw(st.integers(**volunteers))
        organisation["social_workers_per_community"] = draw(st.integers(**volunteers))
    projects: dict[str, Any] = {"kind": draw(st.sampled_from(builtin_kinds("projects")))}
    if projects["kind"] == "micro_renewal":
        projects["monthly_topic"] = draw(st.booleans())
        projects["budget_yuan_per_community_per_year"] = draw(
            st.sampled_from([0.0, 50_000.0, 1_000_000.0])
        )
    mediation = {"kind": draw(st.sampled_from(builtin_kinds("mediation")))}
    return {"organisation": organisation, "projects": projects, "mediation": mediation}


@st.composite
def places(
    draw: st.DrawFn, streets: int, typed: bool = False
) -> tuple[dict[str, int], dict[str, Any]]:
    """No community types (unless ``typed``), or small streets and towns (街道/镇) with
    compounds (老城区) in the streets."""
    if not (typed or draw(st.booleans())):
        return {}, {}
    urban = draw(st.integers(min_value=0, max_value=streets))
    small = {"min_value": 1, "max_value": 2}
    types: dict[str, Any] = {
        "street": {
            "communities_per_street": draw(st.integers(**small)),
            "community_shares": {"compound": draw(st.floats(min_value=0.0, max_value=1.0))},
        },
        "town": {
            "communities_per_street": draw(st.integers(**small)),
            "grids_per_community": draw(st.integers(**small)),
            "residents_per_grid": draw(st.integers(min_value=10, max_value=80)),
            "grid_travel_hours": draw(st.floats(min_value=0.0, max_value=2.0)),
            "department_travel_hours": draw(st.floats(min_value=0.0, max_value=3.0)),
            "need_rate_multiplier": draw(st.floats(min_value=0.0, max_value=2.0)),
        },
        "compound": {
            "residents_per_grid": draw(st.integers(min_value=10, max_value=80)),
            "public_problem_rate_multiplier": draw(st.floats(min_value=0.0, max_value=3.0)),
            "case_type_multipliers": {"complaint": draw(st.floats(min_value=0.0, max_value=3.0))},
        },
    }
    return {"street": urban, "town": streets - urban}, types


def counts_of(cases: pd.DataFrame, status: str) -> int:
    """Cases with ``status`` in the case log."""
    return int((cases["status"] == status).sum())


def run(parameters: ModelParameters, seed: int) -> RunOutput:
    """Run the scenario for its configured days and return its output."""
    model = GovernanceModel(parameters, seed=seed)
    model.run()
    return model.output()


@INVARIANT_SETTINGS
@given(scenario=scenarios())
def test_every_case_accounted_once(scenario: tuple[ModelParameters, int]) -> None:
    """Every case is closed, open or queued exactly once, and the summary counts agree with the log."""
    parameters, seed = scenario
    out = run(parameters, seed)
    cases, summary = out.cases, out.summary
    assert cases["case_id"].is_unique, "case ids must be unique"
    first = cases[cases["parent"] < 0]
    assert len(first) - first["need"].nunique() == summary["separate_requests"], (
        "a need becomes one first contact, or one per department when it is a linked request "
        "filed separately (一件事 not bundled)"
    )
    assert set(cases["status"].unique()) <= STATUSES, f"unknown statuses {set(cases['status'])}"
    assert len(cases) == summary["cases_generated"], "case log length vs cases_generated"
    total = summary["cases_closed"] + summary["cases_open"] + summary["cases_parked"]
    assert total == summary["cases_generated"], (
        f"closed {summary['cases_closed']} + open {summary['cases_open']} + parked "
        f"{summary['cases_parked']} != {summary['cases_generated']}"
    )
    assert counts_of(cases, "parked") == summary["cases_parked"], "parked statuses vs cases_parked"
    repeats = cases[cases["parent"] >= 0]
    assert len(repeats) == summary["repeat_contacts"], "every repeat contact is one case"
    assert repeats["parent"].isin(cases["case_id"]).all(), "a repeat contact's parent is a case"
    assert (
        repeats["need"].to_numpy()
        == cases.set_index("case_id").loc[repeats["parent"], "need"].to_numpy()
    ).all(), "a repeat contact is about its parent's need"
    assert (cases["reopened"] >= 0).all() and (
        cases.loc[cases["reopened"] > 0, "status"] != "parked"
    ).all(), "a reopened case was handled, so it was never parked"
    assert summary["cases_queued"] <= summary["cases_open"], (
        "queued cases are a subset of open ones"
    )
    counts = cases["status"].value_counts()
    assert counts.get("closed", 0) == summary["cases_closed"], "closed statuses vs cases_closed"
    assert counts.get("queued", 0) == summary["cases_queued"], "queued statuses vs cases_queued"
    assert counts.get("open", 0) + counts.get("queued", 0) == summary["cases_open"], (
        "open + queued vs cases_open"
    )
    closed_time = cases["closed"].notna()
    assert (closed_time == (cases["status"] == "closed")).all(), (
        "status 'closed' iff a closing time"
    )
    assert set(OUTCOME_NAMES) <= set(summary), (
        f"missing outcomes {set(OUTCOME_NAMES) - set(summary)}"
    )


@INVARIANT_SETTINGS
@given(scenario=scenarios())
def test_no_negative_times(scenario: tuple[ModelParameters, int]) -> None:
    """Timestamps follow the lifecycle (F4.5): reported ≤ registered ≤ dispatched ≤ handled ≤ verified ≤ closed."""
    parameters, seed = scenario
    cases = run(parameters, seed).cases
    violations = []
    for column in (*TIMESTAMPS, "deadline"):
        bad = cases[column].notna() & (cases[column] < cases["reported"] - EPSILON)
        if bad.any():
            violations.append(
                f"{column} < reported in {int(bad.sum())} cases, e.g. {_example(cases, bad)}"
            )
    for earlier, later in ORDER:
        bad = (
            cases[earlier].notna()
            & cases[later].notna()
            & (cases[later] < cases[earlier] - EPSILON)
        )
        if bad.any():
            violations.append(
                f"{later} < {earlier} in {int(bad.sum())} cases, e.g. {_example(cases, bad)}"
            )
    resolution = cases["resolution_time_days"].dropna()
    if (resolution < 0).any():
        violations.append(
            f"negative resolution_time_days: {resolution[resolution < 0].tolist()[:5]}"
        )
    assert (cases["reported"] >= 0).all(), "every case has a non-negative reported time"
    total = parameters.simulation.total_days
    assert (cases["reported"] < total).all(), "no case reported after the run (warm-up included)"
    assert not violations, "time runs backwards:\n" + "\n".join(violations)


def _example(cases: pd.DataFrame, mask: pd.Series) -> dict[str, Any]:
    """The first offending row, for the failure message."""
    row = cases[mask].iloc[0]
    keep = ("case_id", "case_type", "source", "on_the_spot", *TIMESTAMPS, "deadline")
    return {k: row[k] for k in keep}


@INVARIANT_SETTINGS
@given(scenario=scenarios())
def test_shares_within_unit_interval(scenario: tuple[ModelParameters, int]) -> None:
    """Every summary share (keys ending in _share, and representativeness) is NaN or within [0, 1]."""
    parameters, seed = scenario
    out = run(parameters, seed)
    keys = [k for k in out.summary if k.endswith("_share") or k == "representativeness"]
    assert "on_time_share" in keys and "participation_share" in keys, "share outcomes expected"
    bad = {
        k: out.summary[k]
        for k in keys
        if not (math.isnan(out.summary[k]) or 0.0 <= out.summary[k] <= 1.0)
    }
    assert not bad, f"shares outside [0, 1]: {bad}"
    cases = out.cases
    for column in ("on_time", "satisfied"):
        values = set(cases[column].dropna().unique().tolist())
        assert values <= {0.0, 1.0}, f"{column} should be 0, 1 or NaN, got {values}"
    closed = cases[cases["status"] == "closed"]
    assert closed["on_time"].notna().all(), "every closed case is on time or late"
    public = cases["resident"] < 0
    assert cases.loc[public, "satisfied"].isna().all(), "nobody rates a public-space problem"


@INVARIANT_SETTINGS
@given(scenario=scenarios())
def test_needs_accounting(scenario: tuple[ModelParameters, int]) -> None:
    """Needs generated cover the cases made from them plus the needs that lapsed unreported."""
    parameters, seed = scenario
    out = run(parameters, seed)
    summary, cases, series = out.summary, out.cases, out.timeseries
    needs = summary["needs_generated"]
    lapsed = summary["needs_lapsed"]
    separate = summary["separate_requests"]  # a linked need filed once per department (一件事)
    repeats = summary["repeat_contacts"]
    assert needs + separate + repeats >= summary["cases_generated"] + round(lapsed), (
        f"needs {needs} < cases {summary['cases_generated']} + lapsed {lapsed}"
    )
    parts = ("needs_reported", "needs_found", "needs_lapsed", "needs_awaiting_patrol")
    assert needs == sum(summary[k] for k in parts), (
        f"needs_generated {needs} != reported + found + lapsed + awaiting patrol "
        f"{[summary[k] for k in parts]}"
    )
    made = (
        summary["needs_reported"]
        + summary["needs_found"]
        + summary["repeat_contacts"]
        + summary["separate_requests"]
    )
    assert summary["cases_generated"] == made, (
        "every case is a need that was reported or found, a repeat contact about one, or a "
        "second or later separate request of a linked need (一件事 not bundled)"
    )
    if parameters.simulation.warmup_days == 0 and needs > 0:
        assert summary["unreported_share"] * needs == pytest.approx(lapsed), (
            "without a warm-up, unreported_share = needs_lapsed / needs_generated"
        )
    first = cases[cases["parent"] < 0]  # first contacts: a repeat contact is no new need
    from_residents = int((first["resident"] >= 0).sum())
    assert needs + separate >= from_residents + round(lapsed), (
        "needs (and the extra separate requests of linked ones) cover residents' cases plus "
        "lapsed needs"
    )
    if len(cases):
        # a need a micro-space removed at its source keeps its number (common random numbers)
        numbered = needs + summary["needs_prevented"]
        assert cases["need"].min() >= 0 and cases["need"].max() < numbered, (
            "need ids lie in [0, needs_generated + needs_prevented)"
        )
    assert len(series) == parameters.simulation.days, (
        f"{len(series)} daily rows for {parameters.simulation.days} days"
    )
    for column in ("needs_generated", "cases_reported", "cases_closed"):
        assert (np.diff(series[column].to_numpy()) >= 0).all(), (
            f"cumulative {column} must never fall"
        )
    last = series.iloc[-1]
    assert last["needs_generated"] == needs, "final needs_generated in the time series vs summary"
    assert last["cases_reported"] == summary["cases_generated"], "final cases_reported vs summary"
    assert last["cases_closed"] == summary["cases_closed"], "final cases_closed vs summary"
    active = series["cases_reported"] - series["cases_closed"] - series["cases_parked"]
    assert (series["backlog"] == active).all(), "backlog = open cases, parked ones excluded"


def test_timeseries_day_is_zero_based() -> None:
    """The time series has one row per day with ``day`` = 0 … days − 1 (docs/design.md contract)."""
    parameters = ModelParameters.model_validate(
        {
            "population": {
                "streets": 1,
                "communities_per_street": 1,
                "grids_per_community": 2,
                "residents_per_grid": 50,
            },
            "simulation": {"days": 5, "warmup_days": 0},
        }
    )
    series = run(parameters, 3).timeseries
    assert series["day"].tolist() == [0, 1, 2, 3, 4], (
        f"day column should be 0-based, got {series['day'].tolist()}"
    )


@pytest.mark.parametrize("routing", builtin_kinds("routing"))
@pytest.mark.parametrize("discipline", ["fifo", "deadline"])
def test_no_case_lost(routing: str, discipline: str) -> None:
    """With light load and a long horizon, every case reported before day 60 of 100 is closed."""
    parameters = ModelParameters.model_validate(
        {
            "population": {
                "streets": 1,
                "communities_per_street": 2,
                "grids_per_community": 2,
                "residents_per_grid": 150,
            },
            "simulation": {"days": 100, "warmup_days": 0},
            "demand": {"needs_per_resident_per_year": 4.0, "multi_department_share": 0.5},
            "detection": {"sensor_coverage_share": 0.5},
            "coordination": {"queue_discipline": discipline},
            "routing": {"kind": routing},
            # light load: staff are FTE per 100k residents, so 600 residents need many per 100k
            "departments": {
                name: {**d.model_dump(), "staff_per_100k_residents": 500.0}
                for name, d in ModelParameters().departments.items()
            },
        }
    )
    cases = run(parameters, 5).cases
    early = cases[cases["reported"] < 60]
    assert len(early) > 200, f"expected a few hundred early cases, got {len(early)}"
    stuck = early[~early["status"].isin(["closed", "parked"])]
    assert stuck.empty, (
        f"{len(stuck)} early cases neither closed nor parked, e.g. {stuck.head(3).to_dict('records')}"
    )


@INVARIANT_SETTINGS
@given(scenario=scenarios(only_party_with_places=True))
def test_party_organisation_with_community_types(scenario: tuple[ModelParameters, int]) -> None:
    """The invariants also hold where the party organisation meets community types."""
    for check in (
        test_every_case_accounted_once,
        test_no_negative_times,
        test_shares_within_unit_interval,
        test_needs_accounting,
    ):
        check.hypothesis.inner_test(scenario=scenario)  # type: ignore[attr-defined]


def test_needs_accounting_with_built_projects() -> None:
    """The needs accounting holds over a year in which micro-space projects are built."""
    parameters = ModelParameters.model_validate(
        {
            "population": {
                "streets": 1,
                "communities_per_street": 2,
                "grids_per_community": 2,
                "residents_per_grid": 150,
            },
            "simulation": {"days": 365, "warmup_days": 0},
            "projects": {
                "kind": "micro_renewal",
                "monthly_topic": True,
                "budget_yuan_per_community_per_year": 1_000_000.0,
            },
            "consultation": {"kind": "council", "cycle_days": 10, "first_meeting_day": 1},
        }
    )
    out = run(parameters, 1)
    assert out.summary["projects_built"] > 0, "the year builds projects (else the test is idle)"
    test_needs_accounting.hypothesis.inner_test(scenario=(parameters, 1))  # type: ignore[attr-defined]
