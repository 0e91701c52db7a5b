"""Consultation policies decide on fake community views, without a model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from model.policies.base import CommunityView, ConsultationPolicy, Meeting
from model.policies.consultation import CouncilConsultation, NoConsultation
from model.policies.deliberation import OnlineConsultation, OpenDeliberationConsultation
from model.policies.registry import PolicyError, builtin_kinds, policy_kind, resolve_policy

AGE_GROUPS = ("18-29", "30-49", "50-69", "70+")
MOBILISING = ("council", "open_deliberation", "online")


def make_view(
    n: int = 2000, open_issues: int = 2, seed: int = 0, **changes: object
) -> CommunityView:
    """A community of ``n`` residents: equal age groups, 7 % party members, ring-lattice ties."""
    generator = np.random.default_rng(seed)
    idx = np.arange(n)
    # each resident tied to 2 neighbours on each side (symmetric, 0/1)
    rows = np.concatenate([idx, idx, idx, idx])
    cols = np.concatenate([(idx + 1) % n, (idx - 1) % n, (idx + 2) % n, (idx - 2) % n])
    ties = sp.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(n, n))
    base = CommunityView(
        day=91,
        community=0,
        trust=np.full(n, 0.5),
        age_group=idx % len(AGE_GROUPS),
        age_groups=AGE_GROUPS,
        party_member=generator.random(n) < 0.071,
        ties=ties,
        open_collective_issues=open_issues,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def convene(policy: ConsultationPolicy, view: CommunityView, seed: int = 0) -> Meeting:
    """Convene and insist that a meeting was held."""
    meeting = policy.convene(view, np.random.default_rng(seed))
    assert meeting is not None, f"{policy!r} held no meeting"
    return meeting


def by_age(meeting: Meeting, view: CommunityView) -> dict[str, float]:
    """Mean attendance probability per age group."""
    return {
        g: float(meeting.attendance_probability[view.age_group == i].mean())
        for i, g in enumerate(AGE_GROUPS)
    }


# --------------------------------------------------------------------------- all policies


@pytest.mark.parametrize("kind", ["none", "council", "open_deliberation", "online"])
def test_every_builtin_consultation_policy_is_well_formed(kind: str) -> None:
    """Every consultation policy builds from defaults and returns probabilities in [0, 1]."""
    policy = resolve_policy("consultation", {"kind": kind})
    assert isinstance(policy, ConsultationPolicy), f"{kind} does not satisfy the protocol"
    assert policy_kind(policy) == kind, f"{kind} does not round-trip through policy_kind"
    days = [d for d in range(365) if policy.meets_on(d)]
    view = make_view()
    meeting = policy.convene(view, np.random.default_rng(0))
    if kind == "none":
        assert not days and meeting is None, "'none' never meets"
        return
    assert days, f"{kind} never meets in a year"
    assert meeting is not None, f"{kind} held no meeting on open issues"
    p = meeting.attendance_probability
    assert p.shape == view.trust.shape and np.all((p >= 0) & (p <= 1)), f"{kind}: bad probabilities"
    assert 0.0 <= meeting.decision_quality <= 1.0, (
        f"{kind}: decision quality {meeting.decision_quality}"
    )
    assert meeting.staff_hours >= 0.0 and meeting.quorum >= 1, f"{kind}: bad meeting {meeting}"
    assert 0 <= meeting.topics <= view.open_collective_issues or kind == "council", (
        f"{kind}: topics"
    )


def test_builtin_kinds_list_the_consultation_menu() -> None:
    """The consultation menu is registered under its scenario kinds."""
    assert set(builtin_kinds("consultation")) == {
        "none",
        "council",
        "open_deliberation",
        "online",
    }, f"consultation kinds: {builtin_kinds('consultation')}"


@pytest.mark.parametrize("kind", MOBILISING)
def test_more_party_mobilisation_raises_attendance(kind: str) -> None:
    """Party mobilisation is a lever of every consultation policy: more invitations, more turnout."""
    view = make_view()
    low = resolve_policy("consultation", {"kind": kind, "invitations_per_member": 0.0})
    high = resolve_policy(
        "consultation", {"kind": kind, "invitations_per_member": 4.0, "persuasiveness": 1.5}
    )
    p_low = convene(low, view).attendance_probability.sum()
    p_high = convene(high, view).attendance_probability.sum()
    assert p_high > p_low * 1.05, (
        f"{kind}: mobilisation should raise expected turnout ({p_low:.1f} → {p_high:.1f})"
    )


@pytest.mark.parametrize("kind", MOBILISING)
def test_party_members_attend_more_than_non_members(kind: str) -> None:
    """Party members have the F7.2 turnout advantage under every policy."""
    view = make_view()
    policy = resolve_policy("consultation", {"kind": kind, "invitations_per_member": 0.0})
    p = convene(policy, view).attendance_probability
    assert p[view.party_member].mean() > p[~view.party_member].mean(), (
        f"{kind}: members should attend more"
    )


@pytest.mark.parametrize("kind", MOBILISING)
def test_trust_raises_attendance(kind: str) -> None:
    """Residents who trust more take part more, under every policy."""
    policy = resolve_policy("consultation", {"kind": kind, "invitations_per_member": 0.0})
    low = convene(policy, make_view(trust=np.full(2000, 0.2))).attendance_probability.mean()
    high = convene(policy, make_view(trust=np.full(2000, 0.9))).attendance_probability.mean()
    assert high > low, f"{kind}: trust should raise attendance ({low:.4f} vs {high:.4f})"


# --------------------------------------------------------------------------- open deliberation


def test_open_deliberation_collects_topics_and_skips_empty_meetings() -> None:
    """open_deliberation: takes up the open issues (capped) and holds no meeting without any."""
    policy = OpenDeliberationConsultation(max_topics_per_meeting=3)
    assert policy.convene(make_view(open_issues=0), np.random.default_rng(0)) is None, (
        "no topic, no meeting"
    )
    assert convene(policy, make_view(open_issues=2)).topics == 2, "all open issues collected"
    assert convene(policy, make_view(open_issues=9)).topics == 3, "capped at max_topics_per_meeting"


def test_open_deliberation_draws_more_than_a_council_and_decides_better() -> None:
    """Open meetings: higher turnout and decision quality than a standing council (defaults)."""
    view = make_view()
    council = convene(CouncilConsultation(), view)
    open_meeting = convene(OpenDeliberationConsultation(), view)
    assert open_meeting.attendance_probability.mean() > council.attendance_probability.mean(), (
        "open meetings should draw more residents"
    )
    assert open_meeting.decision_quality > council.decision_quality, "feedback step raises quality"


def test_open_deliberation_keeps_the_offline_age_gradient() -> None:
    """Open meetings follow F7.2: the old attend more than the young."""
    profile = by_age(
        convene(OpenDeliberationConsultation(invitations_per_member=0.0), make_view()), make_view()
    )
    assert profile["70+"] > profile["50-69"] > profile["30-49"] > profile["18-29"], (
        f"age profile {profile}"
    )


def test_open_deliberation_topics_raise_turnout_and_staff_cost_scales() -> None:
    """More collected topics draw more residents; staff time grows with participants."""
    policy = OpenDeliberationConsultation(invitations_per_member=0.0)
    one = convene(policy, make_view(open_issues=1))
    three = convene(policy, make_view(open_issues=3))
    assert three.attendance_probability.sum() > one.attendance_probability.sum(), "topic salience"
    assert three.staff_hours > one.staff_hours > policy.staff_hours, "staff time per participant"


def test_open_deliberation_meets_on_its_cycle() -> None:
    """open_deliberation meets every cycle_days from first_meeting_day."""
    policy = OpenDeliberationConsultation(cycle_days=30, first_meeting_day=15)
    assert [d for d in range(100) if policy.meets_on(d)] == [15, 45, 75], "monthly from day 15"


# --------------------------------------------------------------------------- online


def test_online_reaches_younger_residents_than_meetings() -> None:
    """online: the age profile of participants is younger than offline (F7.2 reversed)."""
    view = make_view()
    online = by_age(convene(OnlineConsultation(invitations_per_member=0.0), view), view)
    assert online["18-29"] > online["70+"], f"online should reach the young more: {online}"
    council = convene(CouncilConsultation(invitations_per_member=0.0), view).attendance_probability
    p_online = convene(OnlineConsultation(invitations_per_member=0.0), view).attendance_probability
    young = view.age_group == 0

    def young_share(p: np.ndarray) -> float:
        return float(p[young].sum() / p.sum())

    assert young_share(p_online) > young_share(council), "online participants should be younger"


def test_online_without_digital_divide_has_no_age_gradient() -> None:
    """digital_divide_weight = 0 removes the age effect online."""
    view = make_view(party_member=np.zeros(2000, dtype=bool))
    policy = OnlineConsultation(invitations_per_member=0.0, digital_divide_weight=0.0)
    profile = by_age(convene(policy, view), view)
    assert max(profile.values()) - min(profile.values()) < 1e-12, (
        f"flat profile expected: {profile}"
    )


def test_online_is_cheap_per_participant_frequent_and_lower_quality() -> None:
    """online: meets more often, costs less staff time per participation, decides less well."""
    view = make_view()

    def staff_hours_per_participation(policy: ConsultationPolicy) -> float:
        meetings = [convene(policy, view, seed=d) for d in range(365) if policy.meets_on(d)]
        hours = sum(m.staff_hours for m in meetings)
        return hours / sum(float(m.attendance_probability.sum()) for m in meetings)

    online, offline = OnlineConsultation(), OpenDeliberationConsultation()
    per_online = staff_hours_per_participation(online)
    per_offline = staff_hours_per_participation(offline)
    assert per_online < per_offline, (
        f"online staff h per participation {per_online:.3f} vs {per_offline:.3f}"
    )
    assert convene(online, view).decision_quality < convene(offline, view).decision_quality, (
        "online deliberation should be lower quality"
    )
    meetings_per_year = sum(online.meets_on(d) for d in range(365))
    assert meetings_per_year > sum(CouncilConsultation().meets_on(d) for d in range(365)), (
        "meets more often"
    )


def test_consultation_policies_are_reproducible_with_the_same_seed() -> None:
    """Same view and seed ⇒ identical attendance probabilities."""
    for policy in (OpenDeliberationConsultation(), OnlineConsultation()):
        a = convene(policy, make_view(), seed=5).attendance_probability
        b = convene(policy, make_view(), seed=5).attendance_probability
        assert np.array_equal(a, b), f"{policy!r} is not reproducible"


def test_none_never_meets() -> None:
    """'none' holds no meetings."""
    assert NoConsultation().convene(make_view(), np.random.default_rng(0)) is None, (
        "'none' should not meet"
    )


# --------------------------------------------------------------------------- malformed blocks


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"kind": "onlin"}, "did you mean 'online'"),
        ({"kind": "online", "cycle_days": 0}, "cycle_days"),
        ({"kind": "open_deliberation", "decision_quality": 1.2}, "decision_quality"),
        (
            {"kind": "open_deliberation", "invitations_per_membre": 2},
            "did you mean 'invitations_per_member'",
        ),
        ({"kind": "online", "persuasiveness": "high"}, "persuasiveness"),
        ({"kind": "council", "quorum": 0}, "quorum"),
        ({"kind": "online", "topics_per_round": 0}, "topics_per_round"),
    ],
)
def test_malformed_consultation_blocks_get_clear_errors(
    block: dict[str, object], expected: str
) -> None:
    """A malformed consultation block raises PolicyError naming the problem."""
    with pytest.raises(PolicyError) as info:
        resolve_policy("consultation", block)
    assert expected in str(info.value), f"error {info.value!s} should mention {expected!r}"
