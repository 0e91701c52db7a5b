"""The policy families added by issue 10 each have a Protocol in model/policies/base.py
that every built-in kind satisfies."""

from __future__ import annotations

import pytest

from model.policies.base import MediationPolicy, OrganisationPolicy, ProjectsPolicy
from model.policies.registry import PolicyError, builtin_kinds, policy_class

PROTOCOLS = {
    "mediation": MediationPolicy,
    "organisation": OrganisationPolicy,
    "projects": ProjectsPolicy,
}


@pytest.mark.parametrize("family", sorted(PROTOCOLS))
def test_every_built_in_kind_satisfies_its_family_protocol(family: str) -> None:
    """A default instance of each built-in kind of the family is an instance of its Protocol."""
    kinds = builtin_kinds(family)
    assert len(kinds) >= 2
    for kind in kinds:
        policy = policy_class(family, kind)()
        assert isinstance(policy, PROTOCOLS[family]), (family, kind)


def test_a_routing_class_named_as_mediation_is_refused_naming_what_it_lacks() -> None:
    """A class with route() but not the mediation protocol's methods is refused at validation."""
    with pytest.raises(PolicyError) as refused:
        policy_class("mediation", "model.policies.routing:IntegratedRouting")
    assert "platform_staff()" in str(refused.value)
    assert "settlement_probability()" in str(refused.value)
