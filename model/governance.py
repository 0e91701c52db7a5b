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
    PartyMember,
    Resident,
    StreetOffice,
)
from model.calendar import WorkCalendar
from model.casework import Casework
from model.demand import DemandGenerator
from model.events import EventCalendar
from model.meetings import Deliberation
from model.network import build_hierarchy, build_space
from model.outcomes import MAX_UNIT_NODES, RunOutput, case_log, summarise
from model.parameters import ModelParameters
from model.policies.base import ConsultationPolicy, RoutingPolicy, SystemView, Unit, read_only
from model.population import build_population
from model.stations import Station
from model.streams import STREAM_NAMES, as_seed_sequence, stream


class GovernanceModel(mesa.Model):
    """The urban micro-governance model (one step = one day)."""

    def __init__(self, parameters: ModelParameters, seed: int | np.random.SeedSequence = 0) -> None:
        seed_sequence = as_seed_sequence(seed)
        streams = {name: stream(seed_sequence, name) for name in STREAM_NAMES}
        super().__init__(rng=int(streams["mesa"].integers(2**63)))
        self.parameters = parameters
        self.seed_sequence = seed_sequence
        self.streams = streams
        self.routing: RoutingPolicy = parameters.routing
        self.consultation: ConsultationPolicy = parameters.consultation
        self.day = 0
        self.need_offset = 0
        self.closed_total = 0

        p = parameters
        self.calendar = WorkCalendar(
            p.calendar.working_hours_per_day,
            p.calendar.working_days_per_week,
            p.simulation.start_weekday,
            horizon_days=p.simulation.days + 60,
        )
        self.events = EventCalendar()
        self.population = build_population(p.population, p.social, streams["population"])
        self.initial_trust_mean = float(self.population.trust.mean())
        self.resident_grid: list[int] = self.population.grid.tolist()
        self.department_names = tuple(p.departments)
        self.n_grids = p.population.grids
        self.n_communities = p.population.streets * p.population.communities_per_street
        self.grid_community = [g // p.population.grids_per_community for g in range(self.n_grids)]
        self.community_street = [
            c // p.population.communities_per_street for c in range(self.n_communities)
        ]

        self.graph: nx.Graph = build_hierarchy(p.population, list(self.department_names))
        self.grid_space = build_space(self.graph, self.random)
        self._build_units()
        self._build_agents()

        self.casework = Casework(self)
        self.deliberation = Deliberation(self)
        self.demand = DemandGenerator(
            p, self.population.size, streams["arrivals"], streams["case_attributes"]
        )
        self.datacollector = mesa.DataCollector(model_reporters=self._daily_reporters())
        self.system_view = SystemView(
            department_names=self.department_names,
            department_staff=read_only(np.array([s.servers for s in self.department_stations])),
            department_queue_length=read_only(self._queue_lengths),
            department_rating=read_only(self.casework.department_rating),
            department_enforcement=read_only(self.casework.enforcement),
            classification_accuracy=p.coordination.classification_accuracy,
            handoff_delay_hours=p.coordination.handoff_delay_hours,
            centre_review_hours=p.offices.centre_review_hours,
            street_review_hours=p.offices.street_review_hours,
            community_review_hours=p.offices.community_review_hours,
            on_the_spot_hours=p.offices.on_the_spot_hours,
            return_check_hours=p.coordination.return_check_hours,
        )

    # ------------------------------------------------------------ construction
    def _build_units(self) -> None:
        p = self.parameters
        residents = self.population.size
        cal, ev = self.calendar, self.events
        hours = p.calendar.working_hours_per_day
        moved_share = p.coordination.staff_moved_to_communities_share
        discipline = (
            getattr(self.routing, "queue_discipline", None) or p.coordination.queue_discipline
        )
        deadline_first = discipline == "deadline"
        self.department_stations: list[Station] = []
        moved_total = 0
        for name, dept in p.departments.items():
            staff = max(1, round(dept.staff_per_100k_residents * residents / 100_000))
            moved = min(staff - 1, round(staff * moved_share))
            moved_total += moved
            self.department_stations.append(
                Station(f"department:{name}", staff - moved, cal, ev, deadline_first)
            )
        # 下沉: department staff moved down to community offices, spread evenly (seed §三(二))
        extra = np.full(self.n_communities, moved_total // self.n_communities)
        extra[: moved_total % self.n_communities] += 1
        self.community_stations = [
            Station(
                f"community:{c}",
                p.offices.community_staff + int(extra[c]),
                cal,
                ev,
                deadline_first,
                # 小马拉大车: staff time taken by non-case tasks stretches case work (assumption)
                work_factor=1.0
                / (
                    1.0
                    - min(
                        0.9,
                        p.offices.community_admin_hours_per_day
                        / ((p.offices.community_staff + int(extra[c])) * hours),
                    )
                ),
            )
            for c in range(self.n_communities)
        ]
        self.street_stations = [
            Station(f"street:{s}", p.offices.street_staff, cal, ev, deadline_first)
            for s in range(p.population.streets)
        ]
        self.centre_station = Station("centre:0", p.offices.centre_staff, cal, ev, deadline_first)
        # party-member volunteers of each grid claim small tasks (任务快速认领, seed §二(二))
        volunteers = np.bincount(
            self.population.grid[self.population.volunteer], minlength=self.n_grids
        )
        self.party_stations = [
            Station(f"party:{g}", max(1, int(volunteers[g])), cal, ev, deadline_first)
            for g in range(self.n_grids)
        ]
        patrol_share = min(0.9, p.detection.patrol_hours_per_day / hours)
        self.grid_stations = [
            Station(
                f"grid:{g}",
                p.offices.grid_workers_per_grid,
                cal,
                ev,
                deadline_first,
                work_factor=1.0 / (1.0 - patrol_share),
            )
            for g in range(self.n_grids)
        ]
        self._queue_lengths = np.zeros(len(self.department_stations), dtype=np.int64)
        self.review_hours = {
            "centre": p.offices.centre_review_hours,
            "street": p.offices.street_review_hours,
            "community": p.offices.community_review_hours,
        }

    def _build_agents(self) -> None:
        cells = self.grid_space._cells
        pop = self.population
        self.residents: list[Resident] = []
        append = self.residents.append
        for row, (grid, party, volunteer) in enumerate(
            zip(pop.grid.tolist(), pop.party_member.tolist(), pop.volunteer.tolist(), strict=True)
        ):
            agent = PartyMember(self, row, volunteer) if party else Resident(self, row)
            agent.cell = cells[("grid", grid)]
            append(agent)
        for g, station in enumerate(self.grid_stations):
            for _ in range(station.servers):
                GridWorker(self, g, station).cell = cells[("grid", g)]
        for d, station in enumerate(self.department_stations):
            Department(self, d, self.department_names[d], station).cell = cells[("department", d)]
        DistrictCentre(self, 0, self.centre_station).cell = cells[("centre", 0)]
        for s, station in enumerate(self.street_stations):
            StreetOffice(self, s, station).cell = cells[("street", s)]
        for c, station in enumerate(self.community_stations):
            CommunityOffice(self, c, station).cell = cells[("community", c)]

    def _daily_reporters(self) -> dict[str, Callable[[GovernanceModel], float]]:
        return {
            "day": lambda m: m.day,
            "needs_generated": lambda m: m.casework.needs_generated,
            "cases_reported": lambda m: m.casework.cases.size,
            "cases_closed": lambda m: m.closed_total,
            "backlog": lambda m: m.casework.cases.size - m.closed_total,
            "department_queue": lambda m: int(sum(s.queue_length for s in m.department_stations)),
            "department_busy_hours": lambda m: float(
                sum(s.busy_hours for s in m.department_stations)
            ),
            "trust_mean": lambda m: float(m.population.trust.mean()),
            "collective_issues_open": lambda m: m.deliberation.collective_issues_open,
            "participants": lambda m: int(m.deliberation.participated.sum()),
        }

    # ------------------------------------------------------------------- time
    def step(self) -> None:
        """One day: needs arise, case events run, meetings, trust moves, data is collected."""
        day = self.day
        self.casework.receive(self.demand.draw(day))
        self.events.run_until(day + 1.0)
        self.deliberation.raise_issues()
        self.deliberation.hold_meetings(day)
        self.deliberation.erode_trust()
        self._diffuse_trust()
        for d, station in enumerate(self.department_stations):
            self._queue_lengths[d] = station.queue_length + station.busy
        self.datacollector.collect(self)  # the row of day ``self.day`` (0-based), at its end
        self.day += 1

    def run(self, days: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Run ``days`` days (default: the scenario's ``simulation.days``)."""
        total = self.parameters.simulation.days if days is None else days
        for _ in range(total):
            self.step()
            if progress is not None:
                progress(self.day)

    def _diffuse_trust(self) -> None:
        """Neighbours' trust pulls one's own: one sparse product per day (assumption)."""
        w = self.parameters.social.neighbour_influence_per_day
        if w <= 0:
            return
        pop = self.population
        neighbours = pop.influence.dot(pop.trust.astype(np.float32))
        if pop.isolated.any():  # nobody to listen to: one's own trust stays
            neighbours[pop.isolated] = pop.trust[pop.isolated]
        pop.trust[:] = (1.0 - w) * pop.trust + w * neighbours
        np.clip(pop.trust, 0.0, 1.0, out=pop.trust)

    # ----------------------------------------------------------------- lookup
    def station(self, unit: Unit) -> Station:
        level, i = unit.level, unit.index
        if level == "department":
            return self.department_stations[i]
        if level == "grid":
            return self.grid_stations[i]
        if level == "party":
            return self.party_stations[i]
        if level == "community":
            return self.community_stations[i]
        if level == "street":
            return self.street_stations[i]
        if level == "centre":
            return self.centre_station
        raise ValueError(f"unknown unit level {level!r}")

    def all_stations(self) -> Iterator[Station]:
        """Every station, volunteers' included."""
        yield from self.staff_stations()
        yield from self.party_stations

    def staff_stations(self) -> Iterator[Station]:
        """Stations of paid staff (not party volunteers)."""
        yield self.centre_station
        yield from self.street_stations
        yield from self.community_stations
        yield from self.grid_stations
        yield from self.department_stations

    def resident_agent(self, row: int) -> Resident:
        return self.residents[row]

    def public_grid(self, need: int) -> int:
        """Grid of a public-space problem: a fixed hash of the need's number (exogenous)."""
        return (need * 2654435761) % self.n_grids

    def unit_values(self, name: str) -> dict[tuple[str, int], float]:
        """Per node of :attr:`graph`: 'backlog' (open cases) or 'trust' (mean over residents)."""
        pop = self.population
        cases = self.casework.cases
        if name == "trust":
            per_grid = np.bincount(
                pop.grid, weights=pop.trust, minlength=self.n_grids
            ) / np.maximum(np.bincount(pop.grid, minlength=self.n_grids), 1)
        elif name == "backlog":
            open_mask = np.isnan(cases.column("closed"))
            per_grid = np.bincount(cases.column("grid")[open_mask], minlength=self.n_grids).astype(
                float
            )
        else:
            raise ValueError(f"unknown unit value {name!r}; allowed: backlog, trust")
        values: dict[tuple[str, int], float] = {}
        for g in range(self.n_grids):
            values[("grid", g)] = float(per_grid[g])
        gpc = self.parameters.population.grids_per_community
        for c in range(self.n_communities):
            chunk = per_grid[c * gpc : (c + 1) * gpc]
            values[("community", c)] = float(chunk.mean() if name == "trust" else chunk.sum())
        cps = self.parameters.population.communities_per_street
        for s in range(self.parameters.population.streets):
            chunk = np.array([values[("community", c)] for c in range(s * cps, (s + 1) * cps)])
            values[("street", s)] = float(chunk.mean() if name == "trust" else chunk.sum())
        streets = np.array(
            [values[("street", s)] for s in range(self.parameters.population.streets)]
        )
        values[("centre", 0)] = float(streets.mean() if name == "trust" else streets.sum())
        for d, station in enumerate(self.department_stations):
            values[("department", d)] = (
                float(station.queue_length + station.busy) if name == "backlog" else np.nan
            )
        return values

    # ---------------------------------------------------------------- results
    def output(self) -> RunOutput:
        """Summary, daily time series and case log of the run so far."""
        status = self.casework.status()
        timeseries = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        small = self.graph.number_of_nodes() <= MAX_UNIT_NODES
        return RunOutput(
            summary=summarise(self, status),
            timeseries=timeseries,
            cases=case_log(self, status),
            units=self.unit_table() if small else pd.DataFrame(),
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


# the level each level hangs from in the governance hierarchy
_LEVEL_ABOVE = {
    "street": "centre",
    "community": "street",
    "grid": "community",
    "department": "centre",
}
