"""A case's way from registration to closure: the lifecycle's hot path (issue 11, step 4).

:class:`model.casework.Casework` inherits these methods from ``Lifecycle``: the compiled
class of model/_lifecycle.pxi (built into ``model._engine``) where the engine is built,
else :class:`PythonLifecycle` here, which is the reference the compiled class follows
statement by statement — the same calls to the agents and policies, in the same order, the
same draws from the same streams, the same events — so that both give the same results
bit for bit (whole runs: tests/test_lifecycle_backends.py; step by step:
tests/test_lifecycle_twins.py). ``Progress``, where a case in progress is on its route, is
likewise the compiled ``CaseProgress`` or :class:`PythonProgress`.

The methods read the attributes :class:`~model.casework.Casework` sets (``progress``,
``cases``, ``units``, ``events``, ``calendar``, ``p``, the random streams, the bound
callbacks) and call its other methods (``_route``, ``_reclassify``, ``_mediated``,
``_park``, ``_stream``, ``_contacts``, ``_maybe_contact_again``, ``_contact_again``,
``_needs_enforcement``).

Those, the agents' and the policies' methods are called by name on both backends, so a
subclass or a test may replace them. The lifecycle's own steps are not: the compiled
class calls its steps directly (C calls), so replacing one of them on a ``Casework``
changes only the calls from outside the lifecycle (the events' callbacks bound when the
``Casework`` is made, and other modules), whereas the reference looks each up by name.

The compiled class checks a case's row once per step (IndexError outside the table's rows
in use) and then reads its typed columns unchecked; the reference's array look-ups raise
only past the columns' capacity (they grow in blocks) and wrap a negative row as Python does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from model.agents import resolves
from model.cases import CASE_TYPES, SOURCES
from model.deadline_days import DeadlineDays
from model.demand import INQUIRY
from model.engine_backend import compiled_engine
from model.mediation import NEIGHBOUR_DISPUTE
from model.policies.base import CaseView, Route, Unit, UnitLevel, Visit
from model.route_memo import readable_parts
from model.scalar_draws import uniform

if TYPE_CHECKING:
    import numpy as np

    from model.agents import Office
    from model.calendar import WorkCalendar
    from model.casework import CaseTable
    from model.events import EventCalendar
    from model.geography import Geography
    from model.mediation import Mediators
    from model.parameters import ModelParameters
    from model.party import Organisations
    from model.residents import Residents
    from model.route_memo import RouteMemo
    from model.units import Units

HANDLING_ROLES = ("handle", "resolve")
MINUTE = 1.0 / (24 * 60)  # in days
HOTLINE, GRID_WORKER, PARTY_MEMBER, PATROL_SOURCE, SENSOR_SOURCE = range(len(SOURCES))
CENTRE = Unit("centre", 0)  # where hotline calls and sensor alarms are registered (F6.5)


@dataclass(slots=True)
class PythonProgress:
    """Where a case in progress is on its route (the reference; ``Progress`` is the
    compiled ``CaseProgress`` where the engine is built, with the same fields)."""

    route: Route
    stage: int = 0
    pending: int = 0
    classified: bool = False  # the office holding it has named the lead department
    at: Unit | None = None  # the unit holding the case between stages
    settled_by_team: bool = False  # the grid's own workers settled it (they saw the result)
    lead: int = -1  # the department that took it on as its owner
    first_handling: int = -1  # index of the first handling stage (where a reopening restarts)
    failed: bool = False  # some handling did not resolve the problem
    quality_draws: int = 0  # handling judged so far (the first uses the pre-drawn uniform)


class PythonLifecycle:
    """The reference of the compiled ``Lifecycle``: a stage begins, a visit arrives at its
    unit, a visit ends. A base class of :class:`~model.casework.Casework` (see the module's
    docstring for what it reads)."""

    # the attributes and methods Casework has (declared for the type checker)
    p: ModelParameters
    cases: CaseTable
    units: Units
    geography: Geography
    events: EventCalendar
    calendar: WorkCalendar
    residents: Residents
    mediators: Mediators
    organisation: Organisations | None
    progress: dict[int, PythonProgress]
    returned_by: dict[int, set[int]]
    dispute_rngs: dict[int, np.random.Generator]
    league: dict[str, list[int]]
    travels: bool
    gaming_rng: np.random.Generator
    handling_rng: np.random.Generator
    classification_rng: np.random.Generator
    claims_rng: np.random.Generator
    contacts_rng: np.random.Generator
    closed_total: int
    disputes: int
    _units_made: dict[tuple[str, int], Unit]
    _return_visits: dict[tuple[int, float], Visit]
    _arrive_callback: Callable[[tuple[int, Visit, str]], None]
    _done_callback: Callable[[tuple[int, Unit, str, float, bool]], None]
    _returned_callback: Callable[[tuple[int, int]], None]
    _verify_callback: Callable[[tuple[int, float]], None]
    _verified_callback: Callable[[int], None]
    _dispatch_callback: Callable[[int], None]
    _answer_callback: Callable[[int], None]
    _routing_memo: RouteMemo | None
    _mediation_memo: RouteMemo | None
    _digital_memo: RouteMemo | None
    pending_found: int
    parked_total: int
    limits: list[float]
    deadlines: DeadlineDays

    if TYPE_CHECKING:

        def _route(self, cid: int, intake: Unit) -> Route: ...
        def _reclassify(self, cid: int) -> None: ...
        def _park(self, cid: int) -> None: ...
        def _mediated(self, cid: int, unit: Unit, prog: PythonProgress) -> bool: ...
        def _stream(self, cid: int, default: np.random.Generator) -> np.random.Generator: ...
        def _contacts(self, cid: int) -> np.random.Generator: ...
        def _maybe_contact_again(self, cid: int) -> None: ...
        def _contact_again(self, parent: int) -> None: ...
        def _mark_linked(self, cid: int, batch: Any, need: int, part: int) -> None: ...
        def _needs_enforcement(self, departments: tuple[int, ...]) -> bool: ...

    # ------------------------------------------------------------ routing
    def case_view(self, cid: int) -> CaseView:
        """What a routing policy may know about case ``cid`` (the compiled lifecycle makes the
        same view with its slots filled in C: docs/design.md "Three per-case Python calls
        fewer, a case's view filled in C, and no generator per bundle")."""
        cases = self.cases
        depts = cases.departments[cid]
        grid = cases.grid[cid]
        case_type = cases.case_type[cid]
        geography = self.geography
        community = geography.grid_community[grid]
        return CaseView(
            case_id=cases.number[cid],
            case_type=CASE_TYPES[case_type],
            source=SOURCES[cases.source[cid]],
            departments=depts,
            grid=grid,
            community=community,
            street=geography.community_street[community],
            minor=bool(cases.minor[cid]),
            enforcement=self._needs_enforcement(depts),
            repeat=bool(cases.repeat[cid]),
            severity=float(cases.severity[cid]),
            time_limit_working_days=self.limits[case_type],
            returns=cases.returns[cid],
            work_hours=cases.work[cid],
        )

    def _route_case(self, cid: int, intake: Unit) -> Route:
        """Case ``cid``'s route from ``intake``: a memoized one where its memo has it (a
        patrol's find on the digital network, a neighbourhood dispute, or any other case but a
        bundle, as Casework._route chooses the memo; model/route_memo.py), looked up here
        with the key the memo's ``parts`` make; else Casework._route's, which asks the policy
        and fills the memo. The compiled class makes the key in C, and a miss too where
        Casework._route and RouteMemo.route are as written (the routes a plain dict)."""
        cases = self.cases
        digital = self._digital_memo is not None and cases.source[cid] == PATROL_SOURCE
        if digital:
            memo = self._digital_memo
        elif cases.bundle[cid]:
            memo = None  # handled in one pass: Casework._route
        elif cases.case_type[cid] == NEIGHBOUR_DISPUTE:
            memo = self._mediation_memo
        else:
            memo = self._routing_memo
        if memo is not None and readable_parts(memo.parts):
            route = memo.routes.get(memo.key(cid))
            if route is not None:
                return route
        return self._route(cid, intake)

    # ------------------------------------------------------------ registration
    def _register_new(
        self,
        cids: list[int],
        items: list[tuple[float, Any, int, int, int, int | None]],
        registered: list[float] | list[None],
        deadlines: list[float] | list[None],
    ) -> None:
        """A day's new cases (rows ``cids``) registered in the order of creation
        (Casework._create): ``items[k]`` is the ``k``-th one's (moment, need rows, row in them,
        source, need number, part). A patrol's find leaves the patrols' count; a linked
        request is marked (``_mark_linked``, part not None); then :meth:`_register`, with the
        times the caller computed for the batch (None: computed there)."""
        for k, (now, batch, i, source, need, part) in enumerate(items):
            cid = cids[k]
            if source == PATROL_SOURCE:
                self.pending_found -= 1
            if part is not None:
                self._mark_linked(cid, batch, need, part)
            self._register(cid, source, now, batch.u_desk[i], registered[k], deadlines[k])

    def _register(
        self,
        cid: int,
        source: int,
        now: float,
        u_desk: float,
        registered: float | None = None,
        deadline: float | None = None,
    ) -> None:
        """Registration (F3.4), the time limit (F4.1), an answer at the front desk for an
        inquiry, or the dispatch event. ``registered`` and ``deadline``: the times, if the
        caller computed them for a batch (Casework._create), as this would."""
        cases = self.cases
        intake = self.p.intake
        case_type = cases.case_type[cid]
        if registered is None or deadline is None:
            if source == HOTLINE:
                registered = now + intake.registration_minutes * MINUTE
            else:
                # taken in person: registered when the grid worker is next at work (F4.6)
                registered = (
                    self.calendar.add_working_hours(now, 0.0) + intake.registration_minutes * MINUTE
                )
            deadline = self.calendar.add_working_days(registered, self.limits[case_type])
        cases.registered[cid] = registered
        cases.deadline[cid] = deadline
        cases.promised[cid] = deadline  # the limit the resident was told; reclassification keeps it
        if case_type == INQUIRY and u_desk < intake.front_desk_inquiry_resolution_share:
            # answered at the first contact (hotline front desk F3.1-F3.4, or the grid worker)
            # in person, the answer comes when the grid worker is at work (registration)
            answered = (
                now if source == HOTLINE else registered
            ) + intake.front_desk_minutes * MINUTE
            if answered < math.floor(now) + 1.0:  # today: closed with today's cases
                self._answer_at_once(cid, answered)
            else:  # asked out of hours: open until the answer, the next working morning
                self.events.schedule(answered, self._answer_callback, cid)
            return
        if cases.resident[cid] >= 0:
            self.deadlines.add(deadline, cid)
        self.events.schedule(registered, self._dispatch_callback, cid)

    def _answer(self, cid: int) -> None:
        self._answer_at_once(cid, self.events.now)

    def _answer_at_once(self, cid: int, answered: float) -> None:
        """An inquiry answered at the first contact, at ``answered`` (F3.1–F3.4)."""
        cases = self.cases
        cases.on_the_spot[cid] = True
        cases.handled[cid] = answered
        cases.resolved[cid] = True
        self._close(cid, answered)

    def _dispatch(self, cid: int) -> None:
        self.cases.dispatched[cid] = self.events.now
        source = self.cases.source[cid]
        intake = (
            CENTRE
            if source in (HOTLINE, SENSOR_SOURCE)
            else self._unit("grid", self.cases.grid[cid])
        )
        route = self._route_case(cid, intake)
        # positional: a call with keywords costs a dictionary more (issue 11, eighth round)
        self.progress[cid] = Progress(route, 0, 0, False, intake)
        self._enter_stage(cid)

    def _unit(self, level: UnitLevel, index: int) -> Unit:
        """The unit ``(level, index)``, made once: a frozen dataclass's construction costs
        several dictionary look-ups (issue 11, seventh round); a Unit is a value."""
        unit = self._units_made.get((level, index))
        if unit is None:
            unit = self._units_made[(level, index)] = Unit(level, index)
        return unit

    def dispatcher(self, cid: int, holder: Unit | None) -> Office:
        """The office that classifies case ``cid`` held by ``holder``: the office itself,
        else the case's community office (grid level) or street office (departments)."""
        if holder is not None and holder.level in ("centre", "street", "community"):
            return self.units.dispatcher(holder)
        community = self.geography.grid_community[self.cases.grid[cid]]
        if holder is not None and holder.level in ("grid", "party", "embedded"):
            return self.units.communities[community]
        return self.units.streets[self.geography.community_street[community]]

    def _turned_away(self, cid: int, prog: Progress) -> bool:
        """The office holding the case names its lead department (:meth:`Office.classify`),
        which takes it on or returns it (:meth:`Department.accepts`): not its job (退件,
        F4.5, F9.2), or a case of disputed ownership it will not own (职责交叉, F9.5)."""
        cases = self.cases
        needed = cases.departments[cid]
        returned = self.returned_by.get(cid, ())
        u = cases.u_classify[cid] if not returned else self.classification_rng.random()
        office = self.dispatcher(cid, prog.at)
        chosen = office.classify(needed, returned, u, self.classification_rng)
        department = self.units.departments[chosen]
        self.league["received"][chosen] += 1
        disputed = bool(cases.disputed[cid])
        # the first naming uses the case's pre-drawn uniform (common random numbers)
        u_dispute = cases.u_dispute[cid] if not returned else float(self.handling_rng.random())
        if department.accepts(needed, disputed, prog.route.first_unit_leads, u_dispute):
            self.league["accepted"][chosen] += 1
            prog.lead = chosen
            cases.owner[cid] = chosen
            if department.pressure > 0 and department.reclassifies(self.gaming_rng.random()):
                self._reclassify(cid)
            return False
        if chosen in needed:
            self.disputes += 1
        cases.handoffs[cid] += 1
        prog.pending = 1
        prog.at = self._unit(office.level, office.index)  # type: ignore[arg-type]
        # the return visit, made once per department and check time (a frozen dataclass's
        # construction costs several times the look-up; issue 11, eighth round)
        hours = department.return_check_hours
        visit = self._return_visits.get((chosen, hours))
        if visit is None:
            visit = Visit(self._unit("department", chosen), work_hours=hours)
            self._return_visits[(chosen, hours)] = visit
        at = self.calendar.add_working_hours(self.events.now, self._delay(prog.route))
        self.events.schedule(at, self._arrive_callback, (cid, visit, "return"))
        return True

    def _offer_to_party(self, cid: int, visits: tuple[Visit, ...]) -> tuple[Visit, ...]:
        """A small task offered to the grid's volunteers (任务快速认领; who, in what order:
        :meth:`model.party.Organisations.offer`): one who takes it settles it on
        volunteered time and the grid worker only logs it; otherwise the grid's own
        workers settle it."""
        if self.organisation is not None:
            taken = self.organisation.offer(
                self.cases.grid[cid],
                self.cases.source[cid] == PARTY_MEMBER,
                visits[0].work_hours,
                self.p.party.claim_logging_hours,
                self.claims_rng,
            )
            if taken is not None:
                return taken
        self.progress[cid].settled_by_team = True
        return visits

    def _default_work(self, cid: int, unit: Unit) -> float:
        """The work a visit to a unit other than a department takes when the route gives
        none: the staff moved down, a grid or party group, an office's review; a visit to
        any other level must give its work (a department's: :meth:`_visit_arrive`)."""
        level = unit.level
        if level == "embedded":
            return self.cases.work[cid][0]  # the moved staff do the department's own work
        if level in ("grid", "party"):
            return self.p.offices.on_the_spot_hours
        return self.units.dispatcher(unit).review_hours

    def _travel_hours(self, cid: int, unit: Unit, role: str, settled_by_team: bool) -> float:
        """Travel to the site of case ``cid`` beyond the street baseline's (community types,
        model/places.py): a department's per handling; a grid worker's (or the staff moved
        down to the community's) when they settle it on the spot. Volunteers live there."""
        level = unit.level
        grid = self.cases.grid[cid]
        if level == "department" and role == "handle":
            return self.geography.department_travel_hours[grid]
        if role == "resolve" and (level == "embedded" or (level == "grid" and settled_by_team)):
            return self.geography.grid_travel_hours[grid]
        return 0.0

    def _returned(self, item: tuple[int, int]) -> None:
        """Back from a department that would not take it: parked (挂账, F4.5, F9.5) after
        ``handling.returns_before_parking`` returns; else the policy routes it again and
        the office that classified it reviews it again, knowing who returned it."""
        cid, department = item
        cases = self.cases
        cases.returns[cid] += 1
        if cases.returns[cid] >= self.p.handling.returns_before_parking:
            self._park(cid)
            return
        self.returned_by.setdefault(cid, set()).add(department)
        self.progress[cid] = self._restart(cid, department)
        self._enter_stage(cid)

    def _restart(self, cid: int, department: int) -> PythonProgress:
        """Where a case returned by ``department`` starts again: the policy's new route,
        from its last review before the first handling, else its first handling (or its
        end); one pass over the stages (issue 11, seventeenth round)."""
        held = self._unit("department", department)
        route = self._route_case(cid, held)
        stages = route.stages
        stage = len(stages)
        review = -1
        for k, s in enumerate(stages):
            role = s.role
            if role == "handle":
                stage = k
                break
            if role == "review":
                review = k
        if review >= 0:
            stage = review
        return Progress(route, stage, 0, False, held)  # positional, as _dispatch

    def _enter_stage(self, cid: int) -> None:
        prog = self.progress[cid]
        route = prog.route
        stages = route.stages
        index = prog.stage
        if index >= len(stages):
            self._handled(cid)
            return
        stage = stages[index]
        role = stage.role
        if prog.first_handling < 0 and role in HANDLING_ROLES:
            prog.first_handling = index
        if role == "handle" and not prog.classified:
            prog.classified = True
            if self._turned_away(cid, prog):
                return
        visits = stage.visits
        resolve = role == "resolve"
        if resolve and stage.claimable:
            visits = self._offer_to_party(cid, visits)
        elif resolve and visits and visits[0].unit.level == "grid":
            prog.settled_by_team = True
        prog.pending = len(visits)
        events = self.events
        now = events.now
        at_unit = prog.at
        for v in visits:
            unit = v.unit
            # ``unit == at_unit`` without the dataclass's __eq__ call and its two tuples
            if resolve or (
                at_unit is not None and unit.index == at_unit.index and unit.level == at_unit.level
            ):
                # settled where the case already is (a settlement has no hand-off either)
                delay = 0.0
            else:
                given = v.response_hours
                if given is None:  # the route's hand-off delay (``_delay``, without its call)
                    given = route.handoff_delay_hours
                delay = self.p.coordination.handoff_delay_hours if given is None else given
                self.cases.handoffs[cid] += 1
            if delay > 0:
                at = self.calendar.add_working_hours(now, delay)
                events.schedule(at, self._arrive_callback, (cid, v, role))
            else:
                self._visit_arrive((cid, v, role))

    def _visit_arrive(self, item: tuple[int, Visit, str]) -> None:
        """A visit reaches its unit: the work it takes there (the visit's own, else the
        department's for its part of the case, else :meth:`_default_work`; the travel; the
        department's effort) joins the unit's queue with the case's key."""
        cid, visit, role = item
        unit = visit.unit
        prog = self.progress[cid]
        route = prog.route
        cases = self.cases
        work = visit.work_hours
        department = None
        if unit.level == "department":
            # the department's station, without ``Units.station``'s call (issue 11)
            index = unit.index
            department = self.units.departments[index]
            station = department.station
            if work is None:  # its part of the case's work, and the route's overhead if it leads
                row = cases.departments[cid]
                slot = row.index(index) if index in row else 0
                work = department.work_hours(cases.work[cid][slot], slot == 0, route.overhead_hours)
        else:
            station = self.units.station(unit)
            if work is None:
                work = self._default_work(cid, unit)
        if self.travels and role in HANDLING_ROLES:  # no travel for a review or a return
            work += self._travel_hours(cid, unit, role, prog.settled_by_team)
        effort, premature = 1.0, False
        if department is None:
            key = cases.deadline[cid] + route.priority
        else:
            key = department.queue_key(cases.deadline[cid], route.priority)
            if role == "handle" and visit.work_hours is None:
                u = self.gaming_rng.random() if department.pressure > 0 else 1.0
                effort, premature = department.effort(u)
                work *= effort
        if role == "return":
            station.arrive(work, self._returned_callback, (cid, unit.index), key)
        else:
            station.arrive(work, self._done_callback, (cid, unit, role, effort, premature), key)

    def _quality_draw(self, cid: int, prog: PythonProgress, primary: bool) -> float:
        """The uniform that decides whether a handling resolves the case: the case's pre-drawn
        one for its first primary handling (the lead department's, or the on-the-spot
        settlement), so common random numbers hold; the ``handling`` stream otherwise."""
        if primary and prog.quality_draws == 0 and self.cases.reopened[cid] == 0:
            prog.quality_draws = 1
            return self.cases.u_quality[cid]
        return uniform(self.handling_rng)

    def _visit_done(self, item: tuple[int, Unit, str, float, bool]) -> None:
        cid, unit, role, effort, premature = item
        prog = self.progress[cid]
        if role == "handle" and unit.level == "department":
            index = unit.index
            department = self.units.departments[index]
            department.rate(self.events.now <= self.cases.deadline[cid])
            lead = index == prog.lead
            ok = department.resolves(effort, self._quality_draw(cid, prog, primary=lead))
            # with a lead (首接负责, F4.7) the lead answers for the whole case; without one
            # every department's part must succeed
            if lead or not prog.route.first_unit_leads:
                prog.failed |= not ok
            if premature:
                self.cases.premature[cid] += 1
        prog.pending -= 1
        if prog.pending > 0:
            return
        if role == "resolve":
            ok = resolves(self.p.handling, 1.0, self._quality_draw(cid, prog, primary=True))
            prog.failed |= not ok
            self.cases.on_the_spot[cid] = True
            self._handled(cid)
            return
        if role == "mediate" and self._mediated(cid, unit, prog):
            return
        prog.at = prog.route.stages[prog.stage].visits[0].unit
        prog.stage += 1
        self._enter_stage(cid)

    def _delay(self, route: Route) -> float:
        d = route.handoff_delay_hours
        return self.p.coordination.handoff_delay_hours if d is None else d

    # ------------------------------------------- verification, call-back, closure
    def _handled(self, cid: int) -> None:
        cases = self.cases
        events = self.events
        now = events.now
        cases.handled[cid] = now
        prog = self.progress[cid]
        cases.resolved[cid] = not prog.failed
        grid = cases.grid[cid]
        worker = self.units.grid_workers[grid]
        hours = worker.verification_hours(prog.settled_by_team)
        if hours > 0 and self.travels:  # the check is on site (community types)
            hours += self.geography.grid_travel_hours[grid]
        delay = 0.0 if cases.on_the_spot[cid] else self._delay(prog.route)
        at = self.calendar.add_working_hours(now, delay) if delay > 0 else now
        events.schedule(at, self._verify_callback, (cid, hours))

    def _verify(self, item: tuple[int, float]) -> None:
        cid, hours = item
        if hours <= 0:
            self._verified(cid)
            return
        cases = self.cases
        team = self.units.grid_workers[cases.grid[cid]].station
        team.arrive(hours, self._verified_callback, cid, cases.deadline[cid])

    def _verified(self, cid: int) -> None:
        """The grid worker's on-site check (F9.5), then the call-back (回访, F9.3): a case
        found unresolved is reopened (重新办理) up to ``feedback.reopen_limit`` times."""
        cases = self.cases
        prog = self.progress[cid]
        worker = self.units.grid_workers[cases.grid[cid]]
        resolved = bool(cases.resolved[cid])
        reopened = cases.reopened[cid]
        feedback = self.p.feedback
        can_reopen = reopened < feedback.reopen_limit
        u_verify = (
            cases.u_verify[cid] if reopened == 0 else uniform(self._stream(cid, self.handling_rng))
        )
        if can_reopen and worker.catches(resolved, prog.settled_by_team, u_verify):
            self._reopen(cid)
            return
        if cases.resident[cid] >= 0:
            u = cases.u_callback[cid] if reopened == 0 else self._contacts(cid).random()
            if u < feedback.callback_share and not resolved and can_reopen:
                self._reopen(cid)
                return
        self._close(cid, self.events.now)

    def _reopen(self, cid: int) -> None:
        """Handled again by the same units from the first handling stage (重新办理, F9.3)."""
        self.cases.reopened[cid] += 1
        prog = self.progress[cid]
        prog.stage = max(prog.first_handling, 0)
        prog.failed = False
        prog.settled_by_team = False  # whoever settles it this time decides the check
        prog.classified = True  # its owner keeps it
        prog.at = self._unit("grid", self.cases.grid[cid])
        self._enter_stage(cid)

    def _close(self, cid: int, now: float) -> None:
        """Closed; the resident rates the experience and learns from it, and contacts the
        system again if the problem was not resolved."""
        cases = self.cases
        if not cases.on_the_spot[cid] or cases.case_type[cid] != INQUIRY:
            cases.verified[cid] = now
        cases.closed[cid] = now
        self.progress.pop(cid, None)
        self.returned_by.pop(cid, None)
        resolved = bool(cases.resolved[cid])
        on_time = now <= cases.deadline[cid]
        resident = cases.resident[cid]
        satisfied = False
        if resident >= 0:
            satisfied = bool(cases.u_satisfy[cid] < self.satisfaction_probability(cid, now))
            cases.satisfied[cid] = satisfied
            self.residents.learn_from(resident, satisfied)
        owner = cases.owner[cid]
        if owner >= 0:
            league = self.league
            league["handled"][owner] += 1
            league["resolved"][owner] += resolved
            league["on_time"][owner] += on_time
            if resident >= 0:
                league["rated"][owner] += 1
                league["satisfied"][owner] += satisfied
        self.closed_total += 1
        if not resolved:
            self._maybe_contact_again(cid)
        elif cases.relapsed[cid] and resident >= 0:
            # a settlement that does not hold: the dispute comes back (a repeat dispute)
            delay = self.mediators.relapse_delay_days(self._stream(cid, self.contacts_rng))
            cases.followups[cid] += 1
            self.events.schedule(now + delay, self._contact_again, cid)
        self.dispute_rngs.pop(cid, None)

    def satisfaction_probability(self, cid: int, now: float) -> float:
        """Chance of a "satisfied" rating from the experience of case ``cid`` closed at ``now``
        (resolved or not, time past the limit, reopenings, a repeat contact; M11, F5.5)."""
        cases = self.cases
        fb = self.p.feedback
        registered, deadline = cases.registered[cid], cases.promised[cid]
        late = max(0.0, now - deadline) / max(deadline - registered, MINUTE)
        logit = (
            fb.satisfaction_logit_base
            + (fb.satisfaction_logit_resolved if cases.resolved[cid] else 0.0)
            + fb.satisfaction_logit_per_limit_late * late
            + fb.satisfaction_logit_per_reopening * cases.reopened[cid]
            + (fb.satisfaction_logit_repeat if cases.repeat[cid] else 0.0)
        )
        try:
            return 1.0 / (1.0 + math.exp(-logit))
        except OverflowError:  # so far past its limit that no one is satisfied (C's exp: inf)
            return 0.0


_engine = compiled_engine()
if TYPE_CHECKING:
    Progress = PythonProgress
    Lifecycle = PythonLifecycle
else:
    Progress = PythonProgress if _engine is None else _engine.CaseProgress
    Lifecycle = PythonLifecycle if _engine is None else _engine.Lifecycle
