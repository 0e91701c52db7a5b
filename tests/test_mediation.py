"""Neighbourhood disputes and their mediation: the sit-in schedule, the mediators' decisions,
the dispute path under every routing policy, and the joint platform's effect (on common
random numbers) coming from its mechanisms."""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.calendar import WorkCalendar
from model.cases import CASE_TYPES
from model.events import EventCalendar
from model.governance import GovernanceModel
from model.mediation import DisputeDemand, Mediators, ScheduleCalendar
from model.outcomes import RunOutput, find_outcome
from model.parameters import ModelParameters
from model.places import DemandWeights
from model.policies.base import Unit
from model.policies.mediation import (
    PROFESSIONS,
    SCHEDULE_PERIOD_DAYS,
    SESSIONS_PER_STREET,
    CommunityMediation,
    JointPlatformMediation,
    profession_needed,
)
from model.policies.registry import PolicyError, builtin_kinds, resolve_policy
from model.stations import Station

SEEDS = (1, 2, 3)
SMALL = {
    "streets": 1,
    "communities_per_street": 2,
    "grids_per_community": 3,
    "residents_per_grid": 300,
}
DISPUTE = CASE_TYPES.index("neighbour_dispute")
NEUTRAL = {
    m.parameter: m.neutral
    for m in JointPlatformMediation.MECHANISMS
    if not m.structural  # the assumed strengths; the schedule stays
}


def _calendar(horizon: int = 200) -> WorkCalendar:
    return WorkCalendar(8.0, 5, 0, horizon)


# ------------------------------------------------------------------ the schedule
@given(days=st.integers(0, 20), offset=st.integers(0, 40))
@settings(max_examples=40, deadline=None)
def test_a_profession_sits_in_on_its_days_of_every_four_week_month(days: int, offset: int) -> None:
    """ScheduleCalendar: exactly ``days`` working days present in each 28-day month, never
    on a weekend."""
    base = _calendar(140)
    schedule = ScheduleCalendar(base, days, offset)
    present = np.array([schedule.present(d) for d in range(140)])
    assert not (present & ~base.is_working[:140]).any(), "present on a day off"
    per_month = present.reshape(-1, SCHEDULE_PERIOD_DAYS).sum(axis=1)
    assert (per_month == min(days, 20)).all(), per_month


@pytest.mark.parametrize("horizon", [3, 30])
def test_a_profession_keeps_its_days_past_the_horizon(horizon: int) -> None:
    """Asked about days past the base calendar's horizon, a ScheduleCalendar extends with
    the profession's own sitting days (not the base's weekly pattern), and its working
    hours grow only on those days; the last day it knows is always its last one (a
    horizon shorter than a week too, where the base's own lists were longer)."""
    base = _calendar(horizon)
    schedule = ScheduleCalendar(base, 2, 1)
    assert schedule._known == len(schedule._working) - 1
    days = range(horizon, 150)
    sits = [schedule.works_on(d) for d in days]
    assert sits == [schedule.present(d) for d in days]
    assert 0 < sum(sits) < sum(base.works_on(d) for d in days), "the base's days, not its own"
    hours = [schedule.working_hours_at(float(d)) for d in (*days, 150)]
    grew = [b > a for a, b in pairwise(hours)]
    assert grew == sits, "working hours grew on a day the profession is away"
    assert schedule._known == len(schedule._working) - 1


def test_work_at_a_session_waits_for_the_professions_day() -> None:
    """A job arriving at a judge's session ends on a day the judge sits in, and no sooner
    than that day opens."""
    base = _calendar()
    schedule = ScheduleCalendar(base, 2, 0)
    events = EventCalendar()
    station = Station("judge", 1.0, schedule, events)
    done: list[float] = []
    events.schedule(1.2, lambda _: station.arrive(3.0, lambda _: done.append(events.now), None))
    events.run_until(100.0)
    assert len(done) == 1
    end = done[0]
    assert schedule.present(int(end)), f"finished on day {end:.2f}, when the judge is away"
    first = next(d for d in range(1, 100) if schedule.present(d))
    assert int(end) >= first


# --------------------------------------------------------------- the decisions
def test_settlement_probability_follows_the_mediator_type() -> None:
    """Mediators.settles compares the case's uniform with its mediators' probability."""
    policy = JointPlatformMediation(
        grid_settlement_probability=0.1,
        community_settlement_probability=0.2,
        department_settlement_probability=0.5,
        platform_settlement_gain=0.0,
        professional_settlement_gain=float(np.log(9.0)),  # odds 1 → 9
    )
    mediators = Mediators(policy, np.random.default_rng(0))
    cases = [
        (Unit("grid", 0), 0.1),
        (Unit("community", 0), 0.2),
        (Unit("mediation", 0), 0.5),  # the platform's own mediators, no gain: the department's
        (Unit("mediation", 1), 0.9),  # a profession's session
    ]
    for unit, p in cases:
        assert mediators.settles(unit, p - 0.01) and not mediators.settles(unit, p + 0.01), unit


def test_professions_share_the_disputes_and_absent_ones_leave_them_to_the_mediators() -> None:
    """profession_needed splits severities evenly over the four professions; a dispute whose
    profession does not sit in goes to the platform's own mediators (session 0)."""
    needed = [profession_needed(s) for s in np.linspace(0, 1, 400, endpoint=False)]
    assert sorted(set(needed)) == list(range(len(PROFESSIONS)))
    assert np.bincount(needed).tolist() == [100] * len(PROFESSIONS)
    judge = PROFESSIONS.index("judge")
    severity = next(s for s in np.linspace(0, 1, 400) if profession_needed(s) == judge)
    view = _case_view(severity, street=1)
    present = JointPlatformMediation().escalation(view, None)  # type: ignore[arg-type]
    absent = JointPlatformMediation(judge_days_per_month=0).escalation(view, None)  # type: ignore[arg-type]
    assert present[0].visits[0].unit == Unit("mediation", SESSIONS_PER_STREET + 1 + judge)
    assert absent[0].visits[0].unit == Unit("mediation", SESSIONS_PER_STREET)


def _case_view(severity: float, street: int = 0) -> Any:
    from model.policies.base import CaseView

    return CaseView(
        case_id=0,
        case_type="neighbour_dispute",
        source="grid_worker",
        departments=(1,),
        grid=0,
        community=0,
        street=street,
        minor=False,
        enforcement=False,
        repeat=False,
        severity=float(severity),
        time_limit_working_days=20.0,
        returns=0,
    )


def test_a_schedule_beyond_a_month_is_refused_with_the_field_named() -> None:
    """judge_days_per_month = 25 is an error naming the field and the allowed range."""
    with pytest.raises(PolicyError, match="judge_days_per_month"):
        resolve_policy("mediation", {"kind": "joint_platform", "judge_days_per_month": 25})
    with pytest.raises(PolicyError, match="unknown mediation kind"):
        resolve_policy("mediation", {"kind": "court"})


# ------------------------------------------------------------ whole runs, CRN
def _parameters(mediation: dict[str, Any], routing: str = "hierarchical", **demand: Any) -> Any:
    return ModelParameters.model_validate(
        {
            "population": SMALL,
            "routing": {"kind": routing},
            "mediation": mediation,
            "demand": {"neighbour_disputes_per_resident_per_year": 0.15, **demand},
            "simulation": {"days": 180, "warmup_days": 20},
        }
    )


@given(
    department=st.floats(0.0, 1.0),
    relapse=st.floats(0.0, 1.0),
)
@settings(max_examples=50, deadline=None)
def test_neutral_strengths_mean_the_departments_values_whatever_they_are(
    department: float, relapse: float
) -> None:
    """At neutral strengths (0 log-odds) the platform's mediators and professionals settle,
    and their settlements relapse, exactly as the scenario's department path does."""
    policy = JointPlatformMediation(
        department_settlement_probability=department, relapse_probability=relapse, **NEUTRAL
    )
    for unit in (Unit("mediation", 0), Unit("mediation", 1), Unit("mediation", 4)):
        assert policy.settlement_probability(unit) == pytest.approx(department)
        assert policy.relapse_probability_at(unit) == pytest.approx(relapse)


@cache
def _model(
    mediation: tuple[tuple[str, Any], ...], seed: int, routing: str = "hierarchical"
) -> GovernanceModel:
    model = GovernanceModel(_parameters(dict(mediation), routing), seed)
    model.run()
    return model


def _run(
    mediation: tuple[tuple[str, Any], ...], seed: int, routing: str = "hierarchical"
) -> RunOutput:
    return _model(mediation, seed, routing).output()


def _mean(name: str, mediation: dict[str, Any]) -> float:
    key = tuple(sorted(mediation.items()))
    return float(np.mean([_run(key, s).summary[name] for s in SEEDS]))


@pytest.mark.parametrize("routing", builtin_kinds("routing"))
def test_disputes_follow_the_mediation_path_under_every_routing_policy(routing: str) -> None:
    """Whatever the routing, a dispute is mediated (never dispatched to an owner, never
    returned or parked), and every case is closed, parked or open at the end."""
    model = _model((("kind", "joint_platform"),), 1, routing)
    out = model.output()
    cases = out.cases
    disputes = cases[cases["case_type"] == "neighbour_dispute"]
    assert len(disputes) > 50
    assert out.summary["neighbour_disputes_brought"] > 0
    closed = disputes[disputes["closed"].notna()]
    assert (closed["returns"] == 0).all() and disputes["parked"].isna().all()
    s = out.summary
    # the summary's counts against the case lifecycle's own: its running totals, and the
    # cases still in its table neither closed nor parked
    assert s["cases_closed"] == model.casework.closed_total
    assert s["cases_parked"] == model.casework.parked_total
    status = model.casework.status()
    assert s["cases_open"] == np.isin(status, ("open", "queued")).sum()
    settled = sum(s[f"neighbour_disputes_settled_{k}"] for k in ("grid", "community", "escalation"))
    assert settled > 0 and s["neighbour_disputes_escalated"] > 0


def test_the_joint_platform_settles_more_escalated_disputes_and_fewer_come_back() -> None:
    """joint_platform vs community on the same seeds: more disputes settled after
    escalation, fewer left unsettled, fewer repeat disputes (expertise, binding settlements)."""
    community = {"kind": "community"}
    platform = {"kind": "joint_platform"}
    assert _mean("neighbour_disputes_settled_escalation", platform) > 1.2 * _mean(
        "neighbour_disputes_settled_escalation", community
    )
    assert _mean("neighbour_disputes_unsettled", platform) < _mean(
        "neighbour_disputes_unsettled", community
    )
    assert _mean("repeat_neighbour_disputes", platform) < _mean(
        "repeat_neighbour_disputes", community
    )
    # the same disputes arise on both paths (common random numbers; reporting follows trust)
    brought = [_mean("neighbour_disputes_brought", m) for m in (community, platform)]
    assert abs(brought[0] - brought[1]) <= 0.05 * brought[0], brought


def test_with_neutral_strengths_the_platform_settles_no_more_than_the_slow_path() -> None:
    """With its settlement and relapse strengths neutral, the platform settles escalated
    disputes as often as the pre-reform department path: what is left is the path and the
    schedule (timing), not a better outcome."""
    community = _mean("neighbour_dispute_settlement_share", {"kind": "community"})
    neutral = _mean("neighbour_dispute_settlement_share", {"kind": "joint_platform", **NEUTRAL})
    strong = _mean("neighbour_dispute_settlement_share", {"kind": "joint_platform"})
    assert abs(neutral - community) < 0.02, (community, neutral)
    assert strong > neutral + 0.01, (neutral, strong)


def test_matched_expertise_settles_more_but_the_sit_in_day_costs_time() -> None:
    """The professions' mechanism, not its inputs: with only the professional gain on, a
    platform where the professions sit in settles more escalated disputes than one where
    they never do (each dispute meets the profession it needs), and with every strength
    neutral the same schedule only makes disputes wait for their profession's day."""
    never = {f"{p}_days_per_month": 0 for p in PROFESSIONS}
    expertise = {"kind": "joint_platform", "platform_settlement_gain": 0.0,
                 "binding_settlement_gain": 0.0}  # fmt: skip
    assert _mean("neighbour_disputes_settled_escalation", expertise) > 1.2 * _mean(
        "neighbour_disputes_settled_escalation", {**expertise, **never}
    )
    neutral = {"kind": "joint_platform", **NEUTRAL}
    wait = "resolution_time_mean_days_neighbour_dispute"
    assert _mean(wait, neutral) > _mean(wait, {**neutral, **never})


def test_a_profession_that_sits_in_more_often_shortens_the_wait_for_its_session() -> None:
    """The schedule is capacity: with the judge, prosecutor, police officer and lawyer on
    every working day, escalated disputes are resolved sooner than on a few days a month."""
    rare = {"kind": "joint_platform", **{f"{p}_days_per_month": 1 for p in PROFESSIONS}}
    daily = {"kind": "joint_platform", **{f"{p}_days_per_month": 20 for p in PROFESSIONS}}
    p90 = "resolution_time_p90_days_neighbour_dispute"

    def censored(mediation: dict[str, Any]) -> float:
        # NaN: the 90th percentile falls among disputes still open at the end (longer still)
        key = tuple(sorted(mediation.items()))
        return float(np.mean([np.nan_to_num(_run(key, s).summary[p90], nan=np.inf) for s in SEEDS]))

    assert censored(daily) < censored(rare), (censored(daily), censored(rare))


def test_disputes_leave_the_f2_mix_of_the_other_types_intact() -> None:
    """case_share_* (residents' first contacts by F2 type) is the same with and without
    disputes (they are extra demand, outside the mix)."""
    with_disputes = _run((("kind", "community"),), 1).summary
    model = GovernanceModel(
        _parameters({"kind": "community"}, neighbour_disputes_per_resident_per_year=0.0), 1
    )
    model.run()
    without = model.output().summary
    for t in CASE_TYPES[:5]:
        name = f"case_share_{t}"
        assert abs(with_disputes[name] - without[name]) < 0.01, (
            t,
            with_disputes[name],
            without[name],
        )
    assert without["neighbour_disputes_brought"] == 0


def test_every_dispute_outcome_is_in_the_registry() -> None:
    """Each neighbour-dispute summary key has a registry entry (labels, units, direction)."""
    summary = _run((("kind", "community"),), 1).summary
    names = [n for n in summary if "neighbour_dispute" in n]
    assert len(names) >= 9
    for name in names:
        assert find_outcome(name) is not None, name


def test_community_mediation_has_no_platform() -> None:
    """The pre-reform path builds no platform sessions and escalates to the department."""
    policy = CommunityMediation()
    assert policy.platform_staff() == 0.0
    stages = policy.escalation(_case_view(0.5), _system())
    assert [s.role for s in stages] == ["review", "mediate"]
    assert stages[-1].visits[0].unit == Unit("department", 1)


def _system() -> Any:
    model = GovernanceModel(_parameters({"kind": "community"}), 0)
    return model.system_view


def test_disputes_arise_in_proportion_to_the_communities_need_rates() -> None:
    """With community types, a resident's disputes follow their place's need rate (as the
    needs do); without types every resident is equally likely."""
    residents = 400
    need = np.where(np.arange(residents) < residents // 2, 1.0, 3.0)  # a second place × 3
    places = DemandWeights(
        resident_cdf=np.cumsum(need),
        resident_place=(need > 1).astype(np.int32),
        type_cdf=np.ones((2, 5)),
        public_weight=float(residents),
        public_grid_cdf=np.ones(1),
    )
    p = ModelParameters.model_validate(
        {"demand": {"neighbour_disputes_per_resident_per_year": 3.65}}
    )
    typed = DisputeDemand(p, residents, np.random.default_rng(1), places)
    who = np.concatenate([typed.draw(day).resident for day in range(200)])
    heavy = float((who >= residents // 2).mean())
    assert heavy == pytest.approx(0.75, abs=0.03), "three times the disputes per resident"
    assert len(who) == pytest.approx(0.01 * need.sum() * 200, rel=0.1), "rate × weight"
    plain = DisputeDemand(p, residents, np.random.default_rng(1))
    who = np.concatenate([plain.draw(day).resident for day in range(200)])
    assert float((who >= residents // 2).mean()) == pytest.approx(0.5, abs=0.04)
