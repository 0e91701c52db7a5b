"""一件事一次办: a resident's linked requests handled as one case ("one thing" bundles).

Some needs of a resident involve several departments as separate errands — a
renovation that needs the housing office, city management and the market regulator;
an elderly resident's move that needs civil affairs, health and the police station.
Before the reform the resident files one request per department (a *linked request*),
each with its own intake, registration, route and rating. Under 一件事一次办
(``intake.one_thing_bundles``) the first desk registers them as one case, a *bundle*,
handled in one pass: the departments take it together under a lead department
(首接负责, F4.7), which spends ``intake.bundle_coordination_hours`` per extra
department on coordination (深化办理"一件事"改革, seed §二(四); docs/design.md "One thing and one screen").

Which multi-department needs are linked requests is decided by a uniform per need
(``demand.linked_request_share``) from a generator keyed by the day and the need's place
among the day's needs, so a reform and its reference face the same linked needs whatever
they do with them, and neighbourhood disputes (numbered among the needs) move none of them
(common random numbers). The draws of a second or later separate request, and the
would-be separate routes of a bundle, come from generators keyed by the need too: no
scenario's choice shifts another need's draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from model.cases import SOURCES
from model.parameters import DemandParameters, IntakeParameters
from model.policies.base import CaseView, Route, RoutingPolicy, Stage, SystemView, Unit
from model.route_memo import declared_route_fields
from model.scalar_draws import seeded_generator, seeded_uniforms

if TYPE_CHECKING:
    from model.casework import CaseTable

PATROL_CHANNEL = SOURCES.index("patrol")  # sources before it are residents' own reports


class OneThing:
    """The linked requests of each day and, under the reform, their bundles.

    Args:
        demand: the share of multi-department needs that are linked requests.
        intake: whether intake bundles them, and the lead's coordination hours.
        rng: the ``bundles`` stream; it only gives the key of the per-day and per-need
            generators (which needs are linked; the uniforms of the second and later
            separate requests; the counterfactual routes of a bundle).
    """

    def __init__(
        self, demand: DemandParameters, intake: IntakeParameters, rng: np.random.Generator
    ) -> None:
        self.share = demand.linked_request_share
        self.bundling = intake.one_thing_bundles
        self.coordination_hours = intake.bundle_coordination_hours
        self.key = int(rng.integers(2**62))  # from the run's ``bundles`` stream
        self.linked: frozenset[int] = frozenset()  # today's linked needs, by need number
        # which cases are bundles or separate linked requests, and the hand-offs a bundle
        # saved, are case columns (CaseTable bundle, split, handoffs_saved): a case's row
        # is reused once it is retired (model.case_retirement), so nothing here is by row
        self.separate_requests = 0  # second and later separate requests of linked needs (all run)
        # a bundle's would-be separate hand-offs, by the routing policy's declared fields
        # (one policy's; ``_separate_handoffs``), and the generator of the bundle in hand
        self._memo_policy: RoutingPolicy | None = None
        self._memo_fields: tuple[str, ...] | None = None
        self._separate: dict[tuple[object, ...], int] = {}
        self._rng: np.random.Generator | None = None
        # what a policy that declares ROUTE_FIELDS is handed: it promises to draw nothing
        # (model/policies/base.py, "Memoized routes"), so no bundle needs a generator of
        # its own for it — making one cost ≈ 25–100 µs, most of a bundle's routing time at
        # district scale (issue 11, twenty-seventh round); made once, from the key, so a
        # policy that broke the promise would still take no draw from any other stream
        self._no_draws = np.random.default_rng([self.key, 3])

    def draw(
        self, departments: np.ndarray, resident: np.ndarray, first_need: int, day: int
    ) -> None:
        """Which of day ``day``'s needs (numbered from ``first_need``) are linked requests: a
        resident's need of several departments, with probability ``linked_request_share``.
        The uniforms are keyed by the day, so they depend on nothing a scenario does."""
        if self.share <= 0:
            return
        candidates = (departments[:, 1] >= 0) & (resident >= 0)
        if not candidates.any():  # the day's generator would decide nothing (issue 11)
            self.linked = frozenset()
            return
        # (``seeded_generator``: default_rng's generator, its seeding hashed in C, ≈ 1 µs
        # against ≈ 27 µs a day: issue 11, thirty-fourth round)
        u = seeded_generator((self.key, 0, int(day))).random(departments.shape[0])
        linked = candidates & (u < self.share)
        self.linked = frozenset((first_need + np.flatnonzero(linked)).tolist())

    def is_linked(self, need: int, source: int) -> bool:
        """Whether a need becoming a case from ``source`` is a linked request a resident filed."""
        return source < PATROL_CHANNEL and need in self.linked

    def separate_uniforms(self, ordinal: int, part: int) -> list[float]:
        """Own draws of the separate request ``part`` (1, 2, …) of the need ``ordinal``
        (its number among the needs, neighbourhood disputes left out): u_classify,
        u_satisfy, u_quality, u_callback, u_repeat, u_urge, u_dispute, u_verify."""
        return seeded_uniforms((self.key, 1, int(ordinal), int(part)), 8)

    def one_pass(
        self,
        cid: int,
        cases: CaseTable,
        route: Route,
        case: CaseView,
        routing: RoutingPolicy,
        system: SystemView,
        intake: Unit,
    ) -> Route:
        """The route of bundle ``cid`` (a row of ``cases``): its departments handle it
        together in one stage under the first one's lead (首接负责, F4.7), which coordinates
        the others. The first time, the hand-offs its separate requests would have had are
        recorded (``cases.handoffs_saved``; ``cases.bundle`` becomes 2)."""
        together = self._merge(route, len(case.departments))
        if cases.bundle[cid] < 2:
            self._rng = None  # the bundle's own generator, made when a policy call needs it
            work = case.work_hours or (0.0,) * 8
            separate = sum(
                self._separate_handoffs(cid, cases, case, d, w, routing, system, intake)
                for d, w in zip(case.departments, work, strict=False)
            )
            cases.handoffs_saved[cid] = separate - planned_handoffs(together, intake)
            cases.bundle[cid] = 2
        return together

    def _separate_handoffs(
        self,
        cid: int,
        cases: CaseTable,
        case: CaseView,
        department: int,
        work: float,
        routing: RoutingPolicy,
        system: SystemView,
        intake: Unit,
    ) -> int:
        """The hand-offs of bundle ``cid``'s would-be separate request to ``department``.
        A policy that declares ``ROUTE_FIELDS`` (model/route_memo.py) is asked once per
        value of those fields and ``intake`` (it promises equal routes for equal fields and
        no draw); another draws from the bundle's own generator (its need and contact), so
        it takes no draw from any other case; the first is handed the generator it promises
        not to draw from (``_no_draws``), and no bundle's own is made for it."""
        if routing is not self._memo_policy:  # the memo is one policy's
            self._memo_policy = routing
            self._memo_fields = declared_route_fields(routing)
            self._separate = {}
        fields = self._memo_fields
        key = None
        if fields is not None:
            # the declared fields of the would-be request's view, as replace() makes it below
            key = (
                intake,
                *[
                    (department,) if f == "departments" else (work,) if f == "work_hours"
                    else getattr(case, f)
                    for f in fields
                ],
            )  # fmt: skip
            known = self._separate.get(key)
            if known is not None:
                return known
        if key is not None:
            rng = self._no_draws
        elif self._rng is None:  # one generator per bundle, for all its requests in turn
            rng = self._rng = seeded_generator(
                (self.key, 2, int(cases.need[cid]), int(cases.contact[cid]))
            )
        else:
            rng = self._rng
        separate = dataclasses.replace(case, departments=(department,), work_hours=(work,))
        handoffs = planned_handoffs(routing.route(separate, system, rng), intake)
        if key is not None:
            self._separate[key] = handoffs
        return handoffs

    def _merge(self, route: Route, departments: int) -> Route:
        """One joint handling stage under a lead; a route that already is one (integrated
        routing: joint under a lead, its own coordination cost) stays as it is."""
        handle = [s for s in route.stages if s.role == "handle"]
        if not handle or (len(handle) == 1 and route.first_unit_leads):
            return route
        first = next(k for k, s in enumerate(route.stages) if s.role == "handle")
        others = [s for s in route.stages if s.role != "handle"]
        joint = Stage(tuple(v for s in handle for v in s.visits), "handle")
        return dataclasses.replace(
            route,
            stages=(*others[:first], joint, *others[first:]),
            first_unit_leads=True,
            overhead_hours=route.overhead_hours + self.coordination_hours * (departments - 1),
        )


def planned_handoffs(route: Route, intake: Unit) -> int:
    """Transfers between units a route plans, from the unit that took the case in (as
    the case lifecycle counts them: a visit where the case already is costs none)."""
    holder = intake
    count = 0
    for stage in route.stages:
        for visit in stage.visits:
            if stage.role != "resolve" and visit.unit != holder:
                count += 1
        holder = stage.visits[0].unit if stage.visits else holder
    return count


def bundle_outcomes(one_thing: OneThing, count: Callable[[str], int]) -> dict[str, float]:
    """一件事 outcomes of the measured cases, from the case tallies ``count`` (the
    ``bundle_*`` entries of ``model.case_tallies.TALLIES``): bundles, the linked requests
    merged into them, the hand-offs their separate requests would have had, and the cases
    residents filed as separate linked requests (before the reform); and, over the whole
    run for the accounting, the second and later separate requests (each a case beyond the
    need's first)."""
    return {
        "bundles": float(count("bundles")),
        "requests_merged": float(count("bundle_requests_merged")),
        "handoffs_saved": float(count("bundle_handoffs_saved")),
        "linked_request_cases": float(count("linked_request_cases")),
        "separate_requests": float(one_thing.separate_requests),
    }
