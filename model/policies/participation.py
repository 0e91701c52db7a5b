"""Shared helpers of consultation policies: who takes part, and party mobilisation.

Kept as functions, not a base class (docs/design.md "Conventions"): each consultation policy calls them
with its own parameters.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from model.mechanisms import Mechanism
from model.policies.base import CommunityView

# F7.2 (Shanghai, residents'-committee elections): turnout by age 18-29 13.8 %, 50-59 55.7 %,
# 70-79 77.7 %; party members 65.1 % vs non-members 48.4 %. Expressed as log-odds shifts
# against the 30-49 group; the 30-49 value is interpolated (assumption).
AGE_LOGIT_SHIFT: dict[str, float] = {"18-29": -1.6, "30-49": 0.0, "50-69": 0.7, "70+": 1.5}
PARTY_LOGIT_SHIFT = 0.69  # logit(0.651) - logit(0.484), F7.2


# Mechanisms every consultation policy acts through (declared in each policy's MECHANISMS).
PARTY_MOBILISATION = Mechanism(
    "party_mobilisation",
    "invitations_per_member",
    0.0,
    "party members invite neighbours through their ties (党员编组入网)",
    "seed §二(二)",
)
TRUST_DRIVES_ATTENDANCE = Mechanism(
    "trust_drives_attendance",
    "trust_weight",
    0.0,
    "residents who trust the system more take part more",
    "assumption",
)


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def invitations_through_ties(
    view: CommunityView, invitations_per_member: float, rng: np.random.Generator
) -> np.ndarray:
    """Invitations each resident receives from party members among their ties.

    Each party member invites about ``invitations_per_member`` of their ties (each tie
    independently, with probability ``invitations_per_member / degree``) — party
    mobilisation (党员编组入网, seed §二(二)).
    """
    n = view.trust.shape[0]
    if invitations_per_member <= 0 or not view.party_member.any():
        return np.zeros(n, dtype=np.int64)
    ties = view.ties.tocsr()
    members = np.flatnonzero(view.party_member)
    counts = np.zeros(n, dtype=np.int64)
    indptr, indices = ties.indptr, ties.indices
    starts, ends = indptr[members], indptr[members + 1]
    degree = ends - starts
    has_ties = degree > 0
    if not has_ties.any():
        return counts
    lengths = degree[has_ties]
    # every member's ties one after another: positions starts[i] … ends[i] − 1 in order, as
    # one gather rather than a slice per member (issue 11, seventh round; the same array)
    first = np.cumsum(lengths) - lengths  # where each member's ties begin in ``neighbours``
    neighbours = indices[
        np.repeat(starts[has_ties] - first, lengths) + np.arange(int(lengths.sum()))
    ]
    # the members' own decision (their agent class); imported here, not with the module,
    # so that checking a scenario's policies imports no Mesa (issue 11: a command's start)
    from model.agents import PartyMember

    chance = PartyMember.invitation_probability(invitations_per_member, lengths)
    p = np.repeat(chance, lengths)
    invited = neighbours[rng.random(neighbours.shape[0]) < p]
    np.add.at(counts, invited, 1)
    return counts


def attendance_probability(
    view: CommunityView,
    *,
    base_logit: float,
    trust_weight: float,
    age_shift: Mapping[str, float],
    party_shift: float,
    invitations: np.ndarray,
    persuasiveness: float,
) -> np.ndarray:
    """Per-resident probability of taking part in a meeting.

    log-odds = base + trust_weight·(trust − 0.5) + age shift + party shift
    + persuasiveness·invitations (capped at 3 invitations). The shifts default to the
    F7.2 pattern; the base level is uncertain (F7.5) and meant for sensitivity analysis.
    """
    age = np.array([age_shift.get(group, 0.0) for group in view.age_groups])[view.age_group]
    logit = (
        base_logit
        + trust_weight * (view.trust - 0.5)
        + age
        + party_shift * view.party_member
        + persuasiveness * np.minimum(invitations, 3)
    )
    return logistic(logit)


def mobilised_attendance(
    view: CommunityView,
    rng: np.random.Generator,
    *,
    base_logit: float,
    trust_weight: float,
    age_shift: Mapping[str, float],
    invitations_per_member: float,
    persuasiveness: float,
) -> np.ndarray:
    """Attendance probabilities after party members' invitations through ties.

    Party mobilisation is a lever of every consultation policy (党员编组入网, seed §二(二));
    the party shift is F7.2's gap.
    """
    invitations = invitations_through_ties(view, invitations_per_member, rng)
    return attendance_probability(
        view,
        base_logit=base_logit,
        trust_weight=trust_weight,
        age_shift=age_shift,
        party_shift=PARTY_LOGIT_SHIFT,
        invitations=invitations,
        persuasiveness=persuasiveness,
    )


def on_cycle(day: int, first_meeting_day: int, cycle_days: int) -> bool:
    """Whether ``day`` is a meeting day of a fixed cycle starting at ``first_meeting_day``."""
    return day >= first_meeting_day and (day - first_meeting_day) % cycle_days == 0
