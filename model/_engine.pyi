"""Types of the compiled engine (model/_engine.pyx): the reference classes' interface."""

from collections.abc import Callable, Iterator
from typing import Any

Done = Callable[[Any], None]

SOURCE_SHA256: str

class EventCalendar:
    now: float
    processed: int
    def schedule(
        self, time: float, callback: Callable[[Any], None], argument: Any = None
    ) -> None: ...
    def run_until(self, end: float) -> None: ...
    def pending(self) -> Iterator[tuple[float, Callable[[Any], None], Any]]: ...
    def __len__(self) -> int: ...

class Station:
    name: str
    staff: float
    servers: int
    slowdown: float
    calendar: Any
    events: Any
    deadline_first: bool
    work_factor: float
    busy: int
    busy_hours: float
    busy_hours_mark: float
    jobs_done: int
    _sequence: int
    _finished: Callable[[tuple[Done, Any]], None]
    def __init__(
        self,
        name: str,
        staff: float,
        calendar: Any,
        events: Any,
        deadline_first: bool = False,
        work_factor: float = 1.0,
    ) -> None: ...
    def mark(self) -> None: ...
    @property
    def busy_hours_since_mark(self) -> float: ...
    @property
    def queue_length(self) -> int: ...
    def arrive(self, work_hours: float, done: Done, token: Any, key: float = 0.0) -> None: ...
    def _finish(self, item: tuple[Done, Any]) -> None: ...
    def queued_tokens(self) -> list[Any]: ...
    def queued_work(self) -> list[tuple[float | None, float]]: ...
    def queued_jobs(self) -> list[tuple[Done, Any]]: ...

class CalendarState:
    """model.calendar.WorkCalendar's base: the per-day lists and numbers the conversions read."""

    _cum: list[float]
    _working: list[bool]
    _starts: list[float]
    _ends: list[float]
    _known: int
    _open: float
    hours_per_day: float

# the working calendar's conversions (model.calendar.WorkCalendar's methods of these names)
def working_hours_at(self: Any, t: float) -> float: ...
def moment_at(self: Any, hours: float) -> float: ...
def _moment(self: Any, hours: float, first: int) -> float: ...
def add_working_hours(self: Any, t: float, hours: float) -> float: ...
def add_working_days(self: Any, t: float, days: float) -> float: ...
def diffuse_trust(
    rows: Any,
    starts: Any,
    ties: Any,
    weight: Any,
    trust: Any,
    disposition: Any,
    work: Any,
    neighbours: Any,
    far_from: Any,
    far_to: Any,
    w: float,
    r: float,
    simd: bool = True,
) -> tuple[bool, float]: ...

TRUST_SIMD: bool

# a day's needs (model.demand.DemandGenerator.draw, model.casework.Casework.receive)
def arrange_needs(
    day: int,
    who: Any,
    time_u: Any,
    u: Any,
    type_cdf: Any,
    place_type_cdf: Any,
    type_index: Any,
    department_cdf: Any,
    public_cdf: Any,
    multi_share: float,
    extra_draw: Any,
    offsets: Any,
    n_departments: int,
    severity_minor: Any,
    minor_share: float,
    expo: Any,
    work_mean_padded: Any,
    minor_work_share: float,
    uniforms: Any,
    disputed_share: float,
    patrol: int,
) -> tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any]: ...
def sort_needs(
    resident: Any,
    prevented: Any,
    trust: Any,
    u_report: Any,
    p_zero: float,
    slope: float,
    case_type: Any,
    visible_type: Any,
    departments: Any,
    sensor_visible: Any,
    u_sensor: Any,
    sensor_share: float,
    patrol_visible: Any,
    patrol_delay: Any,
    lifetime: float,
    u_channel: Any,
    channel_cdf: Any,
    sensor_source: int,
) -> tuple[int, int, int, list[int], list[int]]: ...
def gather_needs(
    kept: list[int],
    time: Any,
    resident: Any,
    case_type: Any,
    severity: Any,
    minor: Any,
    disputed: Any,
    uniforms: Any,
    departments: Any,
    work: Any,
    desk_row: int,
    value_rows: Any,
    values: Any,
) -> list[list[Any]]: ...
def intake_items(
    today: list[Any],
    linked: Any,
    bundling: bool,
    patrol_channel: int,
    found_type: dict[int, int],
    hotline: int,
    limits: list[float],
    small_batch: int,
) -> tuple[list[Any], list[int], Any, Any, Any]: ...
def today_entries(
    how: list[int],
    position: list[int],
    times: list[float],
    base: int,
    needs: Any,
    sensor_delay: float,
    sensor_source: int,
) -> tuple[list[Any], list[int], list[int]]: ...
def file_found(
    found: dict[int, list[Any]],
    patrolled: list[int],
    found_at: list[float],
    batch_rows: list[int],
    base: int,
    needs: Any,
    patrol_source: int,
) -> int: ...
def write_cases(
    rows: list[int],
    items: list[Any],
    case_types: list[int],
    columns: tuple[Any, ...],
    departments_out: list[tuple[int, ...]],
    work_out: list[tuple[float, ...]],
    resident_grid: Any,
    last_need: dict[int, float],
    n_departments: int,
    window: float,
    patrol_source: int,
    sensor_source: int,
    dispute_type: int,
) -> None: ...
def draw_needs(
    arrivals: Any,
    attributes: Any,
    n_needs: int,
    n_public: int,
    residents: int,
    resident_cdf: Any,
    max_extra: int,
    offset_rows: Any,
) -> tuple[Any, ...]: ...
def integer_below(generator: Any, high: int) -> int: ...
def uniform(generator: Any) -> float: ...
def uniforms(generator: Any, n: int) -> list[float]: ...
def leads_and_counts(departments: list[Any], rows: Any) -> tuple[Any, Any]: ...
def fill_rows(column: Any, rows: list[int], value: float) -> None: ...
def number_rows(column: Any, rows: list[int], first: int) -> None: ...
def scale_blocks(values: Any, bounds: list[int], factors: Any, counts: Any) -> None: ...
def diagonal_block(
    indptr: Any, indices: Any, data: Any, a: int, b: int
) -> tuple[Any, Any, Any]: ...
def group_by_degree(indptr: Any, indices: Any, far_rows: int) -> tuple[Any, Any, Any, Any]: ...
def grouping_fits(
    indptr: Any, rows: Any, starts: Any, ties: Any, far_from: Any, far_to: Any
) -> bool: ...
def stretch_order(far_from: Any, stretch: int) -> Any: ...
def symmetric_ties(first: Any, second: Any, n: int) -> tuple[Any, Any]: ...

# the case lifecycle (model/_lifecycle.pxi; its reference is model/lifecycle.py)
class CaseProgress:
    route: Any
    stage: int
    pending: int
    classified: bool
    at: Any
    settled_by_team: bool
    lead: int
    first_handling: int
    failed: bool
    quality_draws: int
    def __init__(
        self,
        route: Any,
        stage: int = 0,
        pending: int = 0,
        classified: bool = False,
        at: Any = None,
        settled_by_team: bool = False,
        lead: int = -1,
        first_handling: int = -1,
        failed: bool = False,
        quality_draws: int = 0,
    ) -> None: ...

class Lifecycle:
    """model.lifecycle.PythonLifecycle's methods and attributes, compiled."""

    def __getattr__(self, name: str) -> Any: ...

# the case log's CSV text (model/_csv_text.pxi)
CSV_TEXT: bool
CSV_INT: int
CSV_FLOAT: int
CSV_BOOL: int
CSV_CODES: int
CSV_STRING: int

def csv_text(columns: list[tuple[Any, ...]], rows: int) -> bytes | None: ...
