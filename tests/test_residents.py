"""Residents by row: light views of the population arrays, party members as Mesa agents."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.scenario_files import Scenario
from model.agents import PartyMember, Resident
from model.governance import GovernanceModel


@pytest.fixture(scope="module")
def model(classroom: Scenario) -> GovernanceModel:
    """A freshly built classroom model (no day run)."""
    return GovernanceModel(classroom.parameters, seed=4)


def test_only_party_members_and_units_are_mesa_agents(model: GovernanceModel) -> None:
    """The Mesa model holds the party members' agents, not one agent per resident."""
    members = int(model.population.party_member.sum())
    residents = [a for a in model.agents if isinstance(a, Resident)]
    assert len(residents) == members > 0, "every resident agent is a party member"
    assert all(isinstance(a, PartyMember) for a in residents)
    assert len(model.residents) == model.population.size, "every row is reachable"


def test_party_members_are_the_same_agents_every_time(model: GovernanceModel) -> None:
    """A party member's row gives back their agent, in their grid's cell."""
    row = int(np.flatnonzero(model.population.party_member)[0])
    member = model.residents[row]
    assert isinstance(member, PartyMember) and member is model.residents[row]
    assert member.cell is model.grid_space._cells[("grid", int(model.population.grid[row]))]
    assert model.residents[row - model.population.size] is member, "negative rows count back"


def test_a_view_writes_its_own_row(model: GovernanceModel) -> None:
    """Resident.learn_from through a view moves that row's trust and nobody else's."""
    row = int(np.flatnonzero(~model.population.party_member)[0])
    view = model.residents[row]
    assert type(view) is Resident and view.row == row
    before = model.population.trust.copy()
    view.learn_from(False)
    changed = np.flatnonzero(model.population.trust != before)
    assert changed.tolist() == [row], f"only row {row} moves, got {changed.tolist()}"
    model.population.trust[:] = before


@pytest.mark.parametrize("member", [False, True], ids=["view", "party-member"])
@pytest.mark.parametrize("satisfied", [False, True])
def test_learning_by_row_is_learning_through_the_resident(
    model: GovernanceModel, member: bool, satisfied: bool
) -> None:
    """Residents.learn_from(row, …), which the lifecycle calls without a view made for it,
    moves trust and disposition bit for bit as the row's resident's own learn_from does
    (a party member's agent, or a view), and nobody else's."""
    population = model.population
    row = int(np.flatnonzero(population.party_member == member)[0])
    saved = population.trust.copy(), population.disposition.copy()
    try:
        model.residents[row].learn_from(satisfied)
        expected = population.trust.copy(), population.disposition.copy()
        population.trust[:], population.disposition[:] = saved
        model.residents.learn_from(row, satisfied)
        assert np.array_equal(population.trust, expected[0])
        assert np.array_equal(population.disposition, expected[1])
        moved = np.flatnonzero(population.trust != saved[0])
        assert moved.tolist() == [row], f"only row {row} moves, got {moved.tolist()}"
    finally:
        population.trust[:], population.disposition[:] = saved


@pytest.mark.parametrize("member", [False, True], ids=["view", "party-member"])
@settings(max_examples=60, deadline=None)
@given(
    contacts=st.integers(0, 5),
    limit=st.integers(0, 5),
    probability=st.floats(0.0, 1.0),
    u=st.floats(0.0, 1.0, exclude_max=True),
    from_the_end=st.booleans(),
)
def test_deciding_by_row_is_the_residents_own_decision(
    model: GovernanceModel,
    member: bool,
    contacts: int,
    limit: int,
    probability: float,
    u: float,
    from_the_end: bool,
) -> None:
    """Residents.contacts_again(row, …) and Residents.urges(row, …), which the casework
    calls without a view made for it, decide as the row's resident's own methods do (a
    party member's agent, or a view), for a row counted from either end."""
    residents = model.residents
    row = int(np.flatnonzero(model.population.party_member == member)[0])
    asked = row - len(residents) if from_the_end else row
    own = residents[row]
    assert residents.contacts_again(asked, contacts, probability, limit, u) is own.contacts_again(
        contacts, probability, limit, u
    )
    assert residents.urges(asked, probability, u) is own.urges(probability, u)


def test_a_party_members_own_decision_is_asked(
    model: GovernanceModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A party member's agent decides for their row (its methods, not the rule for views)."""
    row = int(np.flatnonzero(model.population.party_member)[0])
    member = model.residents[row]
    asked: list[str] = []
    monkeypatch.setattr(member, "contacts_again", lambda *a: asked.append("again") or True)
    monkeypatch.setattr(member, "urges", lambda *a: asked.append("urges") or True)
    assert model.residents.contacts_again(row, 9, 0.0, 1, 0.99)  # the rule would say no
    assert model.residents.urges(row, 0.0, 0.99)
    assert asked == ["again", "urges"]


@pytest.mark.parametrize("offset", [-1, 0], ids=["before-the-first", "past-the-end"])
def test_deciding_for_a_row_out_of_range_is_refused(model: GovernanceModel, offset: int) -> None:
    n = model.population.size
    row = -n + offset if offset < 0 else n
    with pytest.raises(IndexError, match=f"resident {row} out of range"):
        model.residents.contacts_again(row, 0, 1.0, 3, 0.5)
    with pytest.raises(IndexError, match=f"resident {row} out of range"):
        model.residents.urges(row, 1.0, 0.5)


def test_rows_out_of_range_are_refused(model: GovernanceModel) -> None:
    """Indexing past the population raises IndexError naming the range."""
    n = model.population.size
    with pytest.raises(IndexError, match=f"0 to {n - 1}"):
        model.residents[n]
    assert len(model.residents[:3]) == 3 and [r.row for r in model.residents[:3]] == [0, 1, 2]


@pytest.mark.parametrize("offset", [-1, 0], ids=["negative", "past-the-end"])
def test_learning_by_a_row_out_of_range_is_refused(model: GovernanceModel, offset: int) -> None:
    """Residents.learn_from refuses a row outside the population (a negative row would
    move another resident's arrays), and moves nobody's."""
    n = model.population.size
    row = offset if offset < 0 else n
    before = model.population.trust.copy()
    with pytest.raises(IndexError, match=f"resident {row} out of range"):
        model.residents.learn_from(row, False)
    assert np.array_equal(model.population.trust, before)


@settings(max_examples=40, deadline=None)
@given(row=st.integers(min_value=0, max_value=3089))
def test_every_row_is_its_own_resident(model: GovernanceModel, row: int) -> None:
    """Any row's resident reads that row of the trust array."""
    resident = model.residents[row % model.population.size]
    assert resident.row == row % model.population.size
    assert resident.trust == float(model.population.trust[resident.row])


def test_negative_and_numpy_rows_are_the_same_residents(model: GovernanceModel) -> None:
    """A row from the end, or as a numpy integer, is the same resident as the Python int
    the lifecycle passes: the same party member's agent, a view of the same row (whose
    ``row`` is a Python int), and out of range refused the same way."""
    n = model.population.size
    members = np.flatnonzero(model.population.party_member)
    member, other = int(members[0]), int(np.flatnonzero(~model.population.party_member)[-1])
    for row in (member, other):
        for same in (row - n, np.int64(row), np.int32(row), np.int64(row - n)):
            resident = model.residents[same]
            assert resident.row == row and type(resident.row) is int, (same, resident.row)
        assert (model.residents[row - n] is model.residents[row]) == (row == member)
    with pytest.raises(IndexError, match=f"0 to {n - 1}"):
        model.residents[np.int64(-n - 1)]
    with pytest.raises(TypeError):  # not a row, as a list refuses it
        model.residents[2.5]  # type: ignore[call-overload]
