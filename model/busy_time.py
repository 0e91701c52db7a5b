"""Staff hours of the measured period, a job's hours cut at the period's edges.

A station counts a job's staff hours when the job starts (``Station.busy_hours``; the hot
path adds one number). A job in service when the measured period starts or ends spans that
edge: counted whole at its start, it put hours that were worked before the period into it,
or hours still to be worked after it. On a long run the two edges balance in expectation,
but on a short one a small department's few long jobs at the end could read as more than
its staff's whole time (the classroom's market regulation, seed 0, 60 days: 101.1 %, of
which 9.1 of its 110.0 busy hours were still to be worked; docs/design.md "Busy hours
within the measured period").

:func:`unfinished_hours` gives, per station, the staff hours its jobs in service have still
to work at the events' present moment: a job at a desk until ``end`` works
``working_hours_between(now, end) / slowdown`` more staff hours on the station's own
calendar (a desk of a fractional station is staffed ``1 / slowdown`` of its time,
model/desks.py; a profession's sessions at a joint mediation platform work on its sitting
days only, model/mediation.py's ``ScheduleCalendar``). Read from the pending
events — the stations' own finishing events — twice a run (the warm-up's end and the
output), nothing on the hot path. The measured staff hours of a station are then its busy
hours since the mark, plus what was still to be worked at the mark, less what is still to be
worked now (:meth:`model.governance.GovernanceModel.measured_busy`): the staff hours
worked within the period, so that a station's utilisation is at most 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from model.stations import PythonStation, Station

if TYPE_CHECKING:
    from model.events import EventCalendar

_STATIONS = (PythonStation, Station)  # the reference, and the compiled class if built


def unfinished_hours(events: EventCalendar) -> dict[int, float]:
    """Per station (by ``id``), the staff hours of its jobs in service still to be worked
    at ``events.now``, in the station's own working time: one term per job, in the order
    the jobs end. Stations with no job in service are left out."""
    now = events.now
    left: dict[int, float] = {}
    for end, callback, _ in events.pending():
        station = getattr(callback, "__self__", None)
        if (
            isinstance(station, _STATIONS)
            and callback == station._finished  # a job's end at its desk
            and end > now
        ):
            key = id(station)
            hours = station.calendar.working_hours_between(now, end) / station.slowdown
            left[key] = left.get(key, 0.0) + hours
    return left
