"""Every resident by row, without a Mesa agent per resident (docs/design.md "Issue 11: hot path").

A district has about a million residents whose state lives in the population arrays
(:mod:`model.population`) and who act only when a case of theirs has an outcome. So
:class:`Residents` keeps full Mesa agents only for the party members (they decide:
they claim tasks, invite neighbours) and makes a light :class:`model.agents.Resident`
view of any other row when it is asked for.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, overload

from model.agents import Resident, contacts_again, learn, urges

if TYPE_CHECKING:
    import mesa

    from model.agents import PartyMember
    from model.population import Population


class Residents(Sequence[Resident]):
    """Residents by row: the party members' agents, and views of everyone else."""

    __slots__ = ("_learning_rate", "_members", "_model", "_population", "_size")

    def __init__(
        self,
        model: mesa.Model,
        population: Population,
        learning_rate: float,
        members: Mapping[int, PartyMember],
    ) -> None:
        self._model = model
        self._population = population
        self._learning_rate = learning_rate
        self._members = dict(members)
        self._size = int(population.trust.shape[0])

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, row: int) -> Resident: ...
    @overload
    def __getitem__(self, row: slice) -> list[Resident]: ...
    def __getitem__(self, row: int | slice) -> Resident | list[Resident]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(self._size))]
        row = self._row(row)
        member = self._members.get(row)
        if member is not None:
            return member
        return Resident(self._model, row, self._population, self._learning_rate)

    def learn_from(self, row: int, satisfied: bool) -> None:
        """Resident ``row`` learns from a case's outcome (:meth:`Resident.learn_from`): a
        party member's agent does; anyone else's arrays are moved by
        :func:`model.agents.learn` without a view made for the call (issue 11)."""
        if not 0 <= row < self._size:  # a negative row would move another resident's arrays
            raise IndexError(f"resident {row} out of range (0 to {self._size - 1})")
        member = self._members.get(row)
        if member is not None:
            member.learn_from(satisfied)
            return
        learn(self._population, row, self._learning_rate, satisfied)

    def contacts_again(
        self, row: int, contacts_so_far: int, probability: float, limit: int, u: float
    ) -> bool:
        """Whether resident ``row`` contacts the system again about a problem that was not
        resolved (:meth:`Resident.contacts_again`): a party member's agent decides; anyone
        else by :func:`model.agents.contacts_again`, without a view made for the call (a
        view costs ≈ 2 µs of a call that decides in a comparison; issue 11, thirty-third
        round)."""
        member = self._members.get(self._row(row))
        if member is not None:
            return member.contacts_again(contacts_so_far, probability, limit, u)
        return contacts_again(contacts_so_far, probability, limit, u)

    def urges(self, row: int, probability: float, u: float) -> bool:
        """Whether resident ``row`` calls to urge a case past its time limit
        (:meth:`Resident.urges`): a party member's agent decides; anyone else by
        :func:`model.agents.urges`, without a view made for the call (issue 11)."""
        member = self._members.get(self._row(row))
        if member is not None:
            return member.urges(probability, u)
        return urges(probability, u)

    def _row(self, row: int) -> int:
        """``row`` as a row number (one from the end counts back; a numpy integer is read
        as its int; out of range: IndexError naming the range)."""
        # the lifecycle's call (a row in range, as a Python int) tests nothing else (issue 11)
        if type(row) is not int or not 0 <= row < self._size:
            if not -self._size <= row < self._size:
                raise IndexError(f"resident {row} out of range (0 to {self._size - 1})")
            row = operator.index(row) + (self._size if row < 0 else 0)  # 2.5 is refused
        return row

    def __iter__(self) -> Iterator[Resident]:
        for row in range(self._size):
            yield self[row]
