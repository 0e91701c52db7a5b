"""Collective issues and deliberation (议事协商): topics, meetings, projects, feedback.

Collective issues (parking, old-compound renovation, pocket parks — seed §二(三), §三(一))
arise per community; while open they slowly erode residents' trust. The
consultation policy decides when meetings are held and who is likely to attend;
this module samples attendance, turns decisions into projects and, when a project
is implemented, closes the issue and raises trust (成果转化落实反馈, seed §二(四)).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from model.engine_backend import compiled_engine
from model.events import EventCalendar
from model.policies.base import CommunityView, ConsultationPolicy, read_only
from model.population import Population

if TYPE_CHECKING:
    from model.parameters import ModelParameters
    from model.party import Organisations

_ENGINE = compiled_engine()  # None: the pure-Python engine asked for, or not built


def _python_scale_blocks(
    values: np.ndarray, bounds: list[int], factors: np.ndarray, counts: np.ndarray
) -> None:
    """``values[bounds[c]:bounds[c + 1]] *= factors[c]`` for each ``c`` whose count is not
    zero, in order (the reference of the compiled engine's ``scale_blocks``)."""
    for c in counts.nonzero()[0].tolist():
        values[bounds[c] : bounds[c + 1]] *= factors[c]


def _scale_blocks(
    values: np.ndarray, bounds: list[int], factors: np.ndarray, counts: np.ndarray
) -> None:
    """:func:`_python_scale_blocks`, by the compiled engine where it is built and the arrays
    are of its types (one call, where a numpy slice product per block was ≈ 1.5–3 µs; issue
    11, thirty-fourth round)."""
    if (
        _ENGINE is not None
        and values.dtype == np.float64
        and values.flags.c_contiguous
        and values.flags.writeable
    ):
        _ENGINE.scale_blocks(values, bounds, factors, counts)
    else:
        _python_scale_blocks(values, bounds, factors, counts)


def community_ties(ties: sp.csr_matrix, a: int, b: int) -> sp.csr_matrix:
    """The ties among residents ``a`` … ``b − 1`` (a community's block): ``ties[a:b, a:b]``,
    taken by the compiled engine's ``diagonal_block`` where it is built and the ties are
    canonical CSR of its types (the same entries in the same order, in a matrix of the same
    class; two binary searches and one copy a row where scipy's slice goes over the rows
    twice: ≈ 0.1 s of a district meeting day; issue 11, thirty-fifth round). Each call
    makes a new matrix, as the slice does: a policy may change its view's ties."""
    if (
        _ENGINE is not None
        and isinstance(ties, sp.csr_matrix)
        and ties.indices.dtype == np.int32
        and ties.indptr.dtype == np.int32
        and ties.data.dtype == np.float64
        and all(part.flags.c_contiguous for part in (ties.indptr, ties.indices, ties.data))
        and ties.has_canonical_format
        and 0 <= a <= b <= ties.shape[0] == ties.shape[1]
    ):
        indptr, indices, data = _ENGINE.diagonal_block(ties.indptr, ties.indices, ties.data, a, b)
        return type(ties)((data, indices, indptr), shape=(b - a, b - a))
    return ties[a:b, a:b]


class Deliberation:
    """State of collective issues, meetings and projects in every community.

    Args:
        parameters: the run's parameters.
        population: the residents (trust, age, party membership, ties).
        policy: the consultation policy.
        events: the event calendar (projects are implemented later).
        n_communities: number of communities.
        streams: the named random streams ('collective_issues', 'consultation', 'attendance').
    """

    def __init__(
        self,
        parameters: ModelParameters,
        population: Population,
        policy: ConsultationPolicy,
        events: EventCalendar,
        n_communities: int,
        streams: Mapping[str, np.random.Generator],
    ) -> None:
        self.p = parameters
        self.population = population
        self.policy = policy
        self.events = events
        self.open_issues = np.zeros(n_communities, dtype=np.int64)
        self.in_progress = np.zeros(n_communities, dtype=np.int64)
        self.issues_raised = 0
        self.issues_settled_top_down = 0
        self.meetings_held = 0
        self.decisions_made = 0
        self.projects_implemented = 0
        self.projects_failed = 0
        self.staff_hours = 0.0
        self.participated = np.zeros(population.size, dtype=bool)
        self.attendances = 0
        # residents are stored grid by grid, so each community is a contiguous block
        # (as Python ints: the daily erosion and the meetings read them)
        self.bounds: list[int] = np.searchsorted(
            population.community, np.arange(n_communities + 1)
        ).tolist()
        self.issue_rng = streams["collective_issues"]
        self.policy_rng = streams["consultation"]
        self.attendance_rng = streams["attendance"]
        # the community party organisations (model.party): route issues, bring residents
        # to meetings and follow decisions up; set by the model
        self.organisation: Organisations | None = None
        # called with the community when a decision is implemented (micro-space projects)
        self.on_implemented: Callable[[int], None] | None = None

    def mark(self) -> None:
        """Start the measured period: meetings, decisions, projects, staff hours and
        participation count from now (open issues and projects under way carry over)."""
        self.issues_raised = 0
        self.meetings_held = 0
        self.decisions_made = 0
        self.projects_implemented = 0
        self.projects_failed = 0
        self.staff_hours = 0.0
        self.attendances = 0
        self.participated[:] = False

    def raise_issues(self) -> None:
        """New collective issues today (Poisson per community); some open ones are settled
        top-down, without deliberation (binomial at the top-down rate)."""
        demand = self.p.demand
        new = self.issue_rng.poisson(
            demand.collective_issues_per_community_per_year / 365.0, self.open_issues.shape[0]
        )
        settled = _binomials(
            self.issue_rng,
            self.open_issues,
            min(1.0, demand.collective_issue_top_down_rate_per_year / 365.0),
        )
        if self.organisation is not None:
            settled = settled - self.organisation.route_issues(settled)
        self.open_issues += new - settled
        self.issues_raised += int(_SUM(new))
        self.issues_settled_top_down += int(_SUM(settled))

    def erode_trust(self) -> None:
        """Open collective issues erode trust in their community (assumption)."""
        drag = self.p.feedback.collective_issue_trust_drag_per_year / 365.0
        if drag <= 0 or not _ANY(self.open_issues):
            return
        per_community = 1.0 - drag * np.minimum(self.open_issues, 5)
        # residents are sorted by community (``bounds``): each community with open issues
        # is scaled in place; the others' factor is exactly 1.0, which changes no value
        # (issue 11, seventh round: no district-sized factor array a day)
        _scale_blocks(self.population.trust, self.bounds, per_community, self.open_issues)

    def hold_meetings(self, day: int) -> None:
        """Meetings in every community on the policy's meeting days."""
        policy = self.policy
        if not policy.meets_on(day):
            return
        pop = self.population
        for c in range(self.open_issues.shape[0]):
            a, b = self.bounds[c], self.bounds[c + 1]
            if b <= a:
                continue
            view = CommunityView(
                day=day,
                community=c,
                trust=read_only(pop.trust[a:b]),
                age_group=read_only(pop.age_group[a:b]),
                age_groups=pop.age_groups,
                party_member=read_only(pop.party_member[a:b]),
                ties=community_ties(pop.ties, a, b),
                open_collective_issues=int(self.open_issues[c]),
            )
            meeting = policy.convene(view, self.policy_rng)
            if meeting is None:
                continue
            self.meetings_held += 1
            self.staff_hours += meeting.staff_hours
            probability = meeting.attendance_probability
            if self.organisation is not None:
                probability = self.organisation.turnout(c, a, probability)
            attends = self.attendance_rng.random(b - a) < np.clip(probability, 0.0, 1.0)
            count = int(attends.sum())
            self.attendances += count
            self.participated[a:b] |= attends
            if count < meeting.quorum:
                continue
            decided = int(min(meeting.topics, self.open_issues[c]))
            if decided == 0:
                continue
            self.decisions_made += decided
            self.open_issues[c] -= decided
            self.in_progress[c] += decided
            implemented = self.attendance_rng.random(decided) < meeting.decision_quality
            when = self.events.now + meeting.implementation_days
            for ok in implemented.tolist():
                self.events.schedule(
                    when, self._implement if ok else self._fail, (c, attends.copy())
                )

    def _implement(self, item: tuple[int, np.ndarray]) -> None:
        """A decision implemented and reported back: the issue closes, trust rises."""
        c, attended = item
        self.in_progress[c] -= 1
        self.projects_implemented += 1
        gain = self.p.feedback.project_trust_gain
        a, b = self.bounds[c], self.bounds[c + 1]
        trust = self.population.trust[a:b]
        boost = np.where(attended, 2.0 * gain, gain)  # participants see the result first-hand
        trust += boost * (1.0 - trust)
        if self.on_implemented is not None:
            self.on_implemented(c)

    def _fail(self, item: tuple[int, np.ndarray]) -> None:
        """A decision that was not implemented: the issue is open again (unless the party
        organisation follows it up, model.party)."""
        if self.organisation is not None and self.organisation.follow_up(item):
            return
        c, _ = item
        self.in_progress[c] -= 1
        self.open_issues[c] += 1
        self.projects_failed += 1

    @property
    def collective_issues_open(self) -> int:
        return int(_SUM(self.open_issues) + _SUM(self.in_progress))


# ``ndarray.sum`` and ``any``: the ufuncs' reductions they call, without their Python frames
# (issue 11, eighth round: a few microseconds of a small scenario's day)
_SUM = np.add.reduce
_ANY = np.logical_or.reduce

# up to this many communities with open issues, their top-down settlements are drawn one
# ``binomial`` call each (≈0.5 µs) rather than one call for the array (≈40 µs; issue 11)
SCALAR_BINOMIALS = 32


def _binomials(rng: np.random.Generator, n: np.ndarray, p: float) -> np.ndarray:
    """``rng.binomial(n, p)`` for an int64 array ``n``, bit for bit, generator state too:
    numpy draws element by element with the generator's one binomial cache, and draws
    nothing for ``n == 0``, so few non-zero counts are drawn one scalar call each
    (tests/test_daily_draws.py)."""
    nonzero = n.nonzero()[0]  # ``np.flatnonzero`` of the 1-D ``n``, without its wrappers
    if nonzero.shape[0] > SCALAR_BINOMIALS:
        return rng.binomial(n, p)
    out = np.zeros(n.shape, dtype=np.int64)
    for c in nonzero.tolist():
        out[c] = rng.binomial(int(n[c]), p)
    return out
