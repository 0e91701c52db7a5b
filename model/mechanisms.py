"""The reform → mechanism → parameter → neutral value table ("mechanisms, not levers").

A reform acts on outcomes only through mechanisms: who receives a case, who owns it,
what units are ranked on, what residents do next. Each mechanism's assumed strength
is one named parameter of a policy, with a source (a fact id of docs/sources.md) or
"assumption", and a *neutral* value at which the mechanism does nothing.

A policy class declares its mechanisms in a class attribute::

    MECHANISMS: ClassVar[tuple[Mechanism, ...]] = (
        Mechanism("first_unit_leads", "first_unit_leads", False,
                  "the first unit to receive a case leads the others (首接负责)", "F4.7"),
    )

``microgov explain`` switches each mechanism to its neutral value in turn (and on
alone) on common random numbers; the tests and the sensitivity analysis read the same
table, so it is the one place where a mechanism is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from model.policies.registry import FAMILIES

Neutral = float | int | bool | str


@dataclass(frozen=True)
class Mechanism:
    """One mechanism of a policy.

    Attributes:
        name: identifier of the mechanism (unique within its policy).
        parameter: the policy field that sets its strength, dotted within the policy
            block (e.g. ``"gaming_propensity"``).
        neutral: the value of ``parameter`` at which the mechanism does nothing.
        description: what it does, in a sentence.
        source: a fact id (``F4.7``, ``M15`` …, see docs/sources.md) or ``"assumption"``.
        structural: True when the mechanism changes who does what (a route, an owner)
            rather than the strength of a behaviour; structural mechanisms are not
            "assumed strengths" and stay on in the neutral-strength checks.
    """

    name: str
    parameter: str
    neutral: Neutral
    description: str
    source: str
    structural: bool = False


@dataclass(frozen=True)
class LocatedMechanism:
    """A mechanism found in a scenario: where its policy block sits and which policy it is."""

    path: str  # dotted scenario path of the parameter, e.g. "routing.inner.first_unit_leads"
    family: str  # the scenario block the policy came from: "routing", "consultation", …
    kind: str  # the policy's class name
    mechanism: Mechanism


def mechanisms_of(policy: Any) -> tuple[Mechanism, ...]:
    """The mechanisms a policy instance (or class) declares (empty if none)."""
    cls = policy if isinstance(policy, type) else type(policy)
    return tuple(getattr(cls, "MECHANISMS", ()))


def locate_mechanisms(policy: Any, prefix: str, family: str) -> Iterator[LocatedMechanism]:
    """Every mechanism of ``policy`` and of the policies it wraps (an ``inner`` field),
    with its dotted scenario path under ``prefix`` (e.g. ``"routing"``)."""
    for mechanism in mechanisms_of(policy):
        yield LocatedMechanism(
            path=f"{prefix}.{mechanism.parameter}",
            family=family,
            kind=type(policy).__name__,
            mechanism=mechanism,
        )
    inner = getattr(policy, "inner", None)
    if inner is not None and not isinstance(inner, type):
        yield from locate_mechanisms(inner, f"{prefix}.inner", family)


# Scenario blocks that hold a policy: one per policy family (model.policies.registry).
POLICY_BLOCKS: tuple[str, ...] = FAMILIES


def scenario_mechanisms(parameters: Any) -> list[LocatedMechanism]:
    """Every mechanism of every policy in a validated scenario (``ModelParameters``)."""
    found: list[LocatedMechanism] = []
    for block in POLICY_BLOCKS:
        policy = getattr(parameters, block, None)
        if policy is not None:
            found.extend(locate_mechanisms(policy, block, block))
    return found


@dataclass(frozen=True)
class Behaviour:
    """An assumed behavioural strength of the engine (not of one policy): a scenario field,
    its neutral value, and its source. The sensitivity analysis varies these."""

    path: str  # dotted scenario field
    neutral: Neutral
    description: str
    source: str


# Behaviours every policy acts through (docs/design.md "Mechanisms, not levers").
BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour(
        "handling.dispute_probability",
        0.0,
        "a department returns a case of disputed ownership as not its job (职责交叉)",
        "assumption (F9.5)",
    ),
    Behaviour(
        "handling.care_gain",
        0.0,
        "a department under pressure takes more care where quality is ranked",
        "assumption",
    ),
    Behaviour(
        "handling.gaming_propensity",
        0.0,
        "a department under pressure closes cases prematurely and disputes more",
        "M4, M5, M9, M10",
    ),
    Behaviour(
        "handling.verification_catch_probability",
        0.0,
        "the grid worker's on-site check finds an unresolved closure",
        "assumption (F9.5, M5)",
    ),
    Behaviour(
        "feedback.callback_share",
        0.0,
        "the call-back reaches the resident, who can reject an unresolved closure",
        "M27 (F9.3)",
    ),
    Behaviour(
        "reporting.repeat_contact_probability",
        0.0,
        "a resident whose problem was not resolved contacts the system again",
        "M12, M14",
    ),
    Behaviour(
        "reporting.urging_probability",
        0.0,
        "a resident whose case is overdue calls to urge it (催办)",
        "F9.4",
    ),
    Behaviour(
        "feedback.trust_learning_rate",
        0.0,
        "trust follows one's own experience of a case",
        "assumption, bounded by M15",
    ),
    Behaviour(
        "social.neighbour_influence_per_day",
        0.0,
        "trust follows neighbours' trust",
        "assumption",
    ),
    Behaviour(
        "intake.bundle_coordination_hours",
        0.0,
        "the lead department coordinates each extra department of a one-thing bundle (一件事)",
        "assumption (F4.7)",
    ),
    Behaviour(
        "detection.false_alarms_per_grid_per_day_at_full_coverage",
        0.0,
        "sensors raise false alarms (误报) that the centre registers and a grid worker checks",
        "assumption (F6.6)",
    ),
)
