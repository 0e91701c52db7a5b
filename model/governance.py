"""``GovernanceModel``: residents, grid workers, party members, offices and departments
on the governance network; one Mesa step is one day.

Built from validated, frozen :class:`model.parameters.ModelParameters` whose
``routing`` and ``consultation`` fields are policy instances. No file I/O, no
printing, no seeding from the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from model.agents import (
    CommunityOffice,
    Department,
    DistrictCentre,
    GridWorker,
    Office,
    PartyMember,
    StreetOffice,
)
from model.busy_time import unfinished_hours
from model.calendar import WorkCalendar
from model.case_retirement import CaseRetirement, CaseSink
from model.case_tallies import CaseRows, CaseTallies
from model.casework import Casework
from model.collector import quiet_collector
from model.daily_collector import DailyCollector
from model.demand import DemandGenerator
from model.events import EventCalendar
from model.mediation import DisputeDemand, platform_stations
from model.meetings import Deliberation
from model.network import build_hierarchy, build_space
from model.outcomes import MAX_UNIT_NODES, RunOutput, case_log, run_warnings, summarise
from model.parameters import ModelParameters
from model.party import Organisations
from model.places import build_layout, demand_weights, place_geography
from model.policies.accountability import AccountabilityPolicy
from model.policies.base import ConsultationPolicy, RoutingPolicy, SystemView, Unit, read_only
from model.population import build_population
from model.projects import MicroSpaces
from model.residents import Residents
from model.sensors import SensorNetwork
from model.stations import Station
from model.streams import STREAM_NAMES, as_seed_sequence, stream
from model.trust_diffusion import diffuse_trust
from model.units import Units


class GovernanceModel(mesa.Model):
    """The urban micro-governance model (one step = one day).

    With a ``case_sink`` (a callable taking a case-log frame), finished cases are retired
    from the case table during the run and handed to the sink, so memory stays flat in
    the number of days; ``output()`` then hands the remaining cases to the sink too and
    its ``cases`` frame is empty (model/case_retirement.py). Without one, every case
    stays in the table and in ``output().cases``.
    """

    # the build creates a district's agents and arrays and few cycles: the collector stays
    # quiet meanwhile, as in a run (model/collector.py; issue 11, seventh round)
    @quiet_collector()
    def __init__(
        self,
        parameters: ModelParameters,
        seed: int | np.random.SeedSequence = 0,
        case_sink: CaseSink | None = None,
    ) -> None:
        seed_sequence = as_seed_sequence(seed)
        streams = {name: stream(seed_sequence, name) for name in STREAM_NAMES}
        super().__init__(rng=int(streams["mesa"].integers(2**63)))
        self.parameters = parameters
        self.seed_sequence = seed_sequence
        self.streams = streams
        self.routing: RoutingPolicy = parameters.routing
        self.consultation: ConsultationPolicy = parameters.consultation
        self.accountability: AccountabilityPolicy = parameters.accountability
        self.day = 0  # days simulated so far, warm-up included
        self.warmup_days = parameters.simulation.warmup_days

        p = parameters
        self.calendar = WorkCalendar(
            p.calendar.working_hours_per_day,
            p.calendar.working_days_per_week,
            p.simulation.start_weekday,
            horizon_days=p.simulation.total_days + 60,
        )
        self.events = EventCalendar()
        # streets and towns, community types (model/places.py)
        self.layout = build_layout(p)
        self.population = build_population(
            p.population, p.social, streams["population"], self.layout
        )
        self.department_names = tuple(p.departments)
        self.n_grids = self.layout.n_grids
        self.n_communities = self.layout.n_communities
        self.places = demand_weights(self.layout, self.population.grid, p.demand.case_type_shares)
        self.geography = place_geography(self.layout, self.population.grid, self.places)

        self.graph: nx.Graph = build_hierarchy(
            p.population, list(self.department_names), self.layout
        )
        self.grid_space = build_space(self.graph, self.random)
        self.department_rating = np.full(len(self.department_names), 0.8)  # assumption: middling
        self._queue_lengths = np.zeros(len(self.department_names), dtype=np.int64)
        self.units = self._build_units()
        # the departments' stations, fixed at build, read every day (step and reporters)
        self._daily_stations = tuple(self.units.department_stations)
        self.system_view = SystemView(
            department_names=self.department_names,
            department_staff=read_only(np.array([s.staff for s in self.department_stations])),
            department_queue_length=read_only(self._queue_lengths),
            department_rating=read_only(self.department_rating),
            department_enforcement=read_only(
                np.array([d.enforcement for d in p.departments.values()])
            ),
            classification_accuracy=p.coordination.classification_accuracy,
            handoff_delay_hours=p.coordination.handoff_delay_hours,
            centre_review_hours=p.offices.centre_review_hours,
            street_review_hours=p.offices.street_review_hours,
            community_review_hours=p.offices.community_review_hours,
            on_the_spot_hours=p.offices.on_the_spot_hours,
            return_check_hours=p.coordination.return_check_hours,
            embedded_departments=read_only(self.embedded_departments),
            management_enforcement_joint=p.coordination.management_enforcement_joint,
        )
        self.casework = Casework(
            p,
            self.calendar,
            self.events,
            self.units,
            self.routing,
            self.system_view,
            self.residents,
            self.population.trust,
            self.geography,
            streams,
        )
        # 一张屏: sensor false alarms and the checks they cost (model/sensors.py)
        self.sensors = SensorNetwork(
            p,
            self.calendar,
            self.events,
            self.units,
            self.geography,
            streams["sensors"],
            self.warmup_days,
        )
        self.retirement = CaseRetirement(self, case_sink) if case_sink is not None else None
        self.deliberation = Deliberation(
            p, self.population, self.consultation, self.events, self.n_communities, streams
        )
        # the community party organisations and other volunteers (党建引领, 多元主体)
        self.organisation = Organisations(
            self,
            p,
            self.population,
            self.geography,
            self.residents,
            self.units,
            self.calendar,
            self.events,
            self.n_communities,
            streams["organisation"],
        )
        self.organisation.deliberation = self.deliberation
        self.casework.organisation = self.organisation
        self.deliberation.organisation = self.organisation
        self.demand = DemandGenerator(
            p, self.population.size, streams["arrivals"], streams["case_attributes"], self.places
        )
        self.projects = MicroSpaces(
            p,
            self.population,
            self.geography,
            self.units,
            self.events,
            self.casework,
            self.deliberation,
            self.demand,
            streams["projects"],
        )
        # neighbourhood disputes: more demand, from their own stream (model.mediation)
        self.disputes = DisputeDemand(p, self.population.size, streams["disputes"], self.places)
        self.datacollector = DailyCollector(model_reporters=self._daily_reporters())
        self.initial_trust_mean = float(self.population.trust.mean())
        self.warmup_trust_mean = self.initial_trust_mean
        self._trust_total: float | None = None  # the day's trust step's sum (_mean_trust)
        # staff hours still to be worked at the warm-up's end by jobs then in service, per
        # station (model/busy_time.py): the measured period's share of those jobs
        self._unfinished_at_mark: dict[int, float] = {}
        if self.warmup_days == 0:
            self._end_warmup()

    # ------------------------------------------------------------ construction
    def _build_units(self) -> Units:
        p = self.parameters
        residents = self.population.size
        cal, ev = self.calendar, self.events
        hours = p.calendar.working_hours_per_day
        co = p.coordination
        discipline = getattr(self.routing, "queue_discipline", None) or co.queue_discipline
        deadline_first = discipline == "deadline"
        # departments ranked on timeliness work to their deadlines (考核, F9.1)
        regime = self.accountability
        departments_deadline_first = deadline_first or Department.works_to_deadlines(
            getattr(regime, "weights", {}), getattr(regime, "stakes", 0.0)
        )
        n_departments = len(self.department_names)
        # 下沉: a share of every department's staff moves down to the communities (seed §三(二))
        moved_share = co.staff_moved_to_communities_share
        with_tasks = co.tasks_moved_with_staff
        departments: list[Department] = []
        moved_total = 0.0
        self.embedded_departments = np.zeros(n_departments, dtype=bool)
        cells = self.grid_space._cells
        for d, (name, dept) in enumerate(p.departments.items()):
            staff = dept.staff_per_100k_residents * residents / 100_000  # FTE, fractional
            moved = staff * moved_share
            moved_total += moved
            self.embedded_departments[d] = moved > 0 and with_tasks
            station = Station(
                f"department:{name}", staff - moved, cal, ev, departments_deadline_first
            )
            agent = Department(
                self,
                d,
                name,
                station,
                dept.enforcement,
                p.handling,
                co.return_check_hours,
                self.department_rating,
            )
            agent.cell = cells[("department", d)]
            departments.append(agent)
        moved_per_community = moved_total / self.n_communities
        # With their tasks, the moved staff settle the sunk departments' minor cases in the
        # community; without them they only add to the community office's review staff.
        embedded: list[Station | None] = [
            Station(f"embedded:{c}", moved_per_community, cal, ev, deadline_first)
            if with_tasks and moved_per_community > 0
            else None
            for c in range(self.n_communities)
        ]
        office_staff = p.offices.community_staff + (0.0 if with_tasks else moved_per_community)
        # 小马拉大车: staff time taken by non-case tasks stretches case work (assumption)
        admin_share = min(0.9, p.offices.community_admin_hours_per_day / (office_staff * hours))
        catalogue = frozenset(
            self.department_names.index(name) for name in co.catalogue_departments
        )

        def office(cls: type[Office], index: int, station: Station, accuracy: float) -> Office:
            agent = cls(
                self,
                index,
                station,
                accuracy,
                catalogue,
                co.catalogue_accuracy,
                n_departments,
                self._review_hours[cls.level],
            )
            agent.cell = cells[(cls.level, index)]
            return agent

        self._review_hours = {
            "centre": p.offices.centre_review_hours,
            "street": p.offices.street_review_hours,
            "community": p.offices.community_review_hours,
        }
        communities = [
            office(
                CommunityOffice,
                c,
                Station(
                    f"community:{c}",
                    office_staff,
                    cal,
                    ev,
                    deadline_first,
                    work_factor=1.0 / (1.0 - admin_share),
                ),
                co.community_classification_accuracy,
            )
            for c in range(self.n_communities)
        ]
        streets = [
            office(
                StreetOffice,
                s,
                Station(f"street:{s}", p.offices.street_staff, cal, ev, deadline_first),
                co.classification_accuracy,
            )
            for s in range(p.population.streets)
        ]
        centre = office(
            DistrictCentre,
            0,
            Station("centre:0", p.offices.centre_staff, cal, ev, deadline_first),
            co.classification_accuracy,
        )
        patrol_share = min(0.9, p.detection.patrol_hours_per_day / hours)
        grid_workers = []
        for g in range(self.n_grids):
            team = Station(
                f"grid:{g}",
                p.offices.grid_workers_per_grid,
                cal,
                ev,
                deadline_first,
                work_factor=1.0 / (1.0 - patrol_share),
            )
            worker = GridWorker(
                self,
                g,
                team,
                p.offices.verification_hours,
                p.handling.verification_catch_probability,
            )
            worker.cell = cells[("grid", g)]
            grid_workers.append(worker)
        volunteers = self._build_residents()
        # party-member volunteers of each grid claim small tasks (任务快速认领, seed §二(二))
        party = [
            Station(f"party:{g}", max(1, len(volunteers[g])), cal, ev, deadline_first)
            for g in range(self.n_grids)
        ]
        return Units(
            centre=centre,
            streets=streets,
            communities=communities,
            grid_workers=grid_workers,
            departments=departments,
            party=party,
            volunteers=volunteers,
            embedded=embedded,
            # each street's joint mediation platform, if the mediation policy has one
            platforms=platform_stations(p.mediation, p.population.streets, cal, ev, deadline_first),
        )

    def _build_residents(self) -> list[list[PartyMember]]:
        """Every resident by row: party members as agents in their grid's cell, everyone
        else as a light view made on access (:mod:`model.residents`); returns each grid's
        volunteers."""
        cells = self.grid_space._cells
        pop = self.population
        learning = self.parameters.feedback.trust_learning_rate
        claim = self.parameters.party.claim_probability
        members: dict[int, PartyMember] = {}
        volunteers: list[list[PartyMember]] = [[] for _ in range(self.n_grids)]
        rows = np.flatnonzero(pop.party_member)
        for row, grid, volunteer in zip(
            rows.tolist(), pop.grid[rows].tolist(), pop.volunteer[rows].tolist(), strict=True
        ):
            member = PartyMember(self, row, pop, learning, volunteer, claim)
            if volunteer:
                volunteers[grid].append(member)
            member.cell = cells[("grid", grid)]
            members[row] = member
        self.residents = Residents(self, pop, learning, members)
        return volunteers

    def _daily_reporters(self) -> dict[str, Callable[[GovernanceModel], float]]:
        return {
            "day": lambda m: m.day,
            "needs_generated": lambda m: m.casework.needs_generated,
            "cases_reported": lambda m: m.casework.cases.added,
            "cases_closed": lambda m: m.casework.closed_total,
            "cases_parked": lambda m: m.casework.parked_total,
            "backlog": lambda m: (
                m.casework.cases.added - m.casework.closed_total - m.casework.parked_total
            ),
            # the kept stations, lists rather than generators: the same sums, fewer frames
            "department_queue": lambda m: int(sum([s.queue_length for s in m._daily_stations])),
            "department_busy_hours": lambda m: float(
                sum([s.busy_hours for s in m._daily_stations])
            ),
            "trust_mean": GovernanceModel._mean_trust,  # a plain function of the model
            "collective_issues_open": lambda m: m.deliberation.collective_issues_open,
            "participants": lambda m: int(np.count_nonzero(m.deliberation.participated)),
            "projects_in_use": lambda m: m.projects.in_use,
        }

    # ------------------------------------------------------------------- time
    def step(self) -> None:
        """One day: needs arise, case events run, meetings, trust moves, data is collected."""
        day = self.day
        self._trust_total = None  # a sum left from a day without a collection is stale
        if day == self.warmup_days and day > 0:
            self._end_warmup()
        self.organisation.step(day)
        self.casework.receive(self.demand.draw(day), day)
        self.sensors.raise_false_alarms(day)
        self.casework.receive(self.disputes.draw(day), day)
        self.events.run_until(day + 1.0)
        self.casework.urge_overdue(day + 1.0)
        if self.retirement is not None:
            self.retirement.step(day + 1.0)
        if (day + 1) % self.accountability.period_days == 0:
            self._hold_to_account(day + 1)
        self.deliberation.raise_issues()
        self.deliberation.hold_meetings(day)
        self.deliberation.erode_trust()
        self.projects.step(day)
        self._diffuse_trust()
        for d, station in enumerate(self._daily_stations):
            self._queue_lengths[d] = station.queue_length + station.busy
        self.datacollector.collect(self)  # the row of day ``self.day`` (0-based), at its end
        self.day += 1

    def _hold_to_account(self, day: int) -> None:
        """The period's league table (考核): the regime sets each department's pressure,
        and each department decides how to respond (docs/design.md "Accountability")."""
        league = self.casework.league_table(day)
        incentives = self.accountability.assess(league, self.streams["accountability"])
        for department, pressure in zip(
            self.units.departments, incentives.pressure.tolist(), strict=True
        ):
            department.respond_to(float(pressure), incentives.weights)
        self.casework.reset_league()

    def _end_warmup(self) -> None:
        """The measured period starts now: staff hours, meetings and participation count
        from here on, and trust change is measured from here (docs/design.md "Warm-up")."""
        for station in self.units.all_stations():
            station.mark()
        self._unfinished_at_mark = unfinished_hours(self.events)
        self.deliberation.mark()
        self.projects.mark()
        self.casework.mark()
        self.organisation.mark()
        self.warmup_trust_mean = float(self.population.trust.mean())

    @property
    def measured_days(self) -> int:
        """Days simulated after the warm-up."""
        return max(0, self.day - self.warmup_days)

    def run(self, days: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Run the warm-up, then ``days`` measured days (default: ``simulation.days``).

        ``progress`` is called after each day with the days simulated so far, out of
        ``warmup_days + days``.
        """
        measured = self.parameters.simulation.days if days is None else days
        with quiet_collector():  # the built model is left out of garbage collections
            for _ in range(self.warmup_days + measured):
                self.step()
                if progress is not None:
                    progress(self.day)

    def _diffuse_trust(self) -> None:
        """Neighbours' trust pulls one's own: one sparse product per day (assumption;
        model/trust_diffusion.py). The step's sum of the new trust is kept for the day's
        mean (:meth:`_mean_trust`)."""
        w = self.parameters.social.neighbour_influence_per_day
        r = self.parameters.social.disposition_weight_per_day
        if w <= 0 and r <= 0:
            return
        self._trust_total = diffuse_trust(self.population, w, r)

    def _mean_trust(self) -> float:
        """The residents' mean trust now, as ``trust.mean()`` computes it (numpy's sum, then
        the division). The sum is the trust step's own where the step was the last change
        to trust before this call — in :meth:`step`, only the day's row is collected after
        it — and is used once; otherwise numpy sums the vector (issue 11)."""
        total, self._trust_total = self._trust_total, None
        trust = self.population.trust
        return (float(_SUM(trust)) if total is None else total) / trust.shape[0]

    # ----------------------------------------------------------------- lookup
    def station(self, unit: Unit) -> Station:
        return self.units.station(unit)

    def all_stations(self) -> Iterator[Station]:
        """Every station, volunteers' included."""
        return self.units.all_stations()

    def staff_stations(self) -> Iterator[Station]:
        """Stations of paid staff (not party volunteers)."""
        return self.units.staff_stations()

    @property
    def department_stations(self) -> list[Station]:
        return self.units.department_stations

    @property
    def grid_stations(self) -> list[Station]:
        return self.units.grid_stations

    @property
    def community_stations(self) -> list[Station]:
        return self.units.community_stations

    @property
    def party_stations(self) -> list[Station]:
        return self.units.party

    def unit_values(self, name: str) -> dict[tuple[str, int], float]:
        """Per node of :attr:`graph`: 'backlog' (open cases) or 'trust' (mean over residents)."""
        pop = self.population
        cases = self.casework.cases
        if name == "trust":
            per_grid = np.bincount(
                pop.grid, weights=pop.trust, minlength=self.n_grids
            ) / np.maximum(np.bincount(pop.grid, minlength=self.n_grids), 1)
        elif name == "backlog":
            # open cases: neither closed nor parked (挂账 cases left the active backlog)
            open_mask = np.isnan(cases.column("closed")) & np.isnan(cases.column("parked"))
            per_grid = np.bincount(cases.column("grid")[open_mask], minlength=self.n_grids).astype(
                float
            )
        else:
            raise ValueError(f"unknown unit value {name!r}; allowed: backlog, trust")
        values: dict[tuple[str, int], float] = {}
        for g in range(self.n_grids):
            values[("grid", g)] = float(per_grid[g])
        layout = self.layout
        per_community = _group(per_grid, layout.grid_community, self.n_communities, name)
        for c in range(self.n_communities):
            values[("community", c)] = float(per_community[c])
        per_street = _group(per_community, layout.community_street, layout.n_streets, name)
        for s in range(layout.n_streets):
            values[("street", s)] = float(per_street[s])
        streets = per_street
        values[("centre", 0)] = float(streets.mean() if name == "trust" else streets.sum())
        for d, station in enumerate(self.department_stations):
            values[("department", d)] = (
                float(station.queue_length + station.busy) if name == "backlog" else np.nan
            )
        return values

    # ---------------------------------------------------------------- results
    def live_cases(self) -> CaseRows:
        """The cases still in the case table (all of them unless a case sink retires
        finished ones), in case-number order."""
        cases = self.casework.cases
        rows = None
        if cases.live < cases.size:
            live = np.flatnonzero(cases.column("number") >= 0)
            rows = live[np.argsort(cases.column("number")[live], kind="stable")]
        return CaseRows(cases, rows, self.events.now, self.warmup_days)

    def case_tallies(self) -> CaseTallies:
        """What the summary needs of every case so far: the retired ones' tallies plus the
        live ones' (model/case_tallies.py)."""
        retired = self.retirement.tallies if self.retirement is not None else CaseTallies()
        return retired.plus(self.live_cases())

    def measured_busy(self) -> Callable[[Station], float]:
        """Each station's staff hours worked within the measured period so far: its jobs'
        hours counted at their start since the warm-up's end, plus what jobs in service then
        had still to work, less what jobs in service now have still to work
        (model/busy_time.py). Reads the pending events once, when called."""
        at_mark = self._unfinished_at_mark
        now = unfinished_hours(self.events)

        def hours(station: Station) -> float:
            key = id(station)
            return station.busy_hours_since_mark + at_mark.get(key, 0.0) - now.get(key, 0.0)

        return hours

    def output(self) -> RunOutput:
        """Summary, daily time series (measured days, day 0 = the first after the warm-up),
        case log (every case, with a ``measured`` flag) and warnings of the run so far.

        With a case sink, the cases still in the table go to the sink (call this once, at
        the end) and the returned ``cases`` frame is empty, with the log's columns."""
        status = self.casework.status()
        timeseries = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        timeseries = timeseries[timeseries["day"] >= self.warmup_days].reset_index(drop=True)
        timeseries["day"] -= self.warmup_days
        small = self.graph.number_of_nodes() <= MAX_UNIT_NODES
        summary = summarise(self, status)
        live = self.live_cases()
        cases = case_log(self, status if live.rows is None else status[live.rows], live)
        if self.retirement is not None:
            self.retirement.finish(cases)
            cases = cases.iloc[0:0]
        return RunOutput(
            summary=summary,
            timeseries=timeseries,
            cases=cases,
            units=self.unit_table() if small else pd.DataFrame(),
            warnings=run_warnings(self, summary),
        )

    def unit_table(self) -> pd.DataFrame:
        """Final backlog and mean trust per unit of :attr:`graph`, in long format."""
        rows = []
        values = {name: self.unit_values(name) for name in ("backlog", "trust")}
        for node, data in self.graph.nodes(data=True):
            level, index = node
            above = _LEVEL_ABOVE.get(level)
            parent = next(
                (f"{p[0]}:{p[1]}" for p in self.graph.neighbors(node) if p[0] == above), None
            )
            for variable, per_node in values.items():
                rows.append(
                    {
                        "node": f"{level}:{index}",
                        "level": level,
                        "parent": parent,
                        "name": data.get("name", f"{level} {index}"),
                        "variable": variable,
                        "value": per_node.get(node, np.nan),
                    }
                )
        return pd.DataFrame(rows)


def _group(values: np.ndarray, parent: np.ndarray, n: int, name: str) -> np.ndarray:
    """Per parent unit: the mean (trust) or sum (backlog) of its children's values."""
    total = np.bincount(parent, weights=values, minlength=n)
    if name != "trust":
        return total
    return total / np.maximum(np.bincount(parent, minlength=n), 1)


# ``ndarray.sum`` without the Python frames around it (issue 11, eighth round)
_SUM = np.add.reduce

# the level each level hangs from in the governance hierarchy
_LEVEL_ABOVE = {
    "street": "centre",
    "community": "street",
    "grid": "community",
    "department": "centre",
}
