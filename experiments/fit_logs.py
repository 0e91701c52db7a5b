"""Estimate scenario fields from a work-order log: ``microgov fit-logs CASES.csv --map MAP.toml``.

Real exports (12345 hotlines, digital city management, 311) name their columns and
request types differently; a *map file* says which column holds which quantity and which
request types are which case types (``scenarios/maps/*.toml``; F9.8 lists the fields of a
Chinese work order)::

    base = "baseline"               # scenario the written one extends (name or path)
    residents = 49440               # residents served (per-resident rates, staffing)

    [file]
    encoding = "utf-8"              # e.g. gb18030 for many Chinese exports
    delimiter = ","
    time_format = "%Y-%m-%d %H:%M:%S"   # optional; else ISO 8601

    [columns]                       # quantity → column of the export; only arrival and case_type are required
    arrival = "派单时间"            # when the order arrived (call time, else dispatch time)
    case_type = "诉求性质"
    unit = "承办部门"
    dispatched = "派单时间"
    deadline = "计划办结时间"
    closed = "办结时间"
    ...

    [case_types]                    # request type → model case type, or "ignore"
    "咨询" = "inquiry"
    [units]                         # handling unit → model department (optional)
    "区城市管理局" = "urban_management"
    [values]                        # which codes mean what, per coded column
    status = { closed = ["已办结"], open = ["办理中"] }

What it estimates, where the columns allow: arrival rates by case type and weekday;
closure-time distributions (closed − dispatched, else − arrival) per owning unit; planned
time limits per case type; front-desk, return, resolution, satisfaction and on-time shares;
the case-type mix and departments' case shares. It writes into the scenario only what maps
onto a scenario field (``demand.case_type_shares``, ``demand.needs_per_resident_per_year``
as a lower bound, ``intake.front_desk_inquiry_resolution_share``,
``coordination.classification_accuracy``, ``departments.<d>.case_share`` and, with
staffing figures, ``staff_per_100k_residents`` and ``work_hours_mean``); the table says what
it estimated, where it went, and what it could not estimate and why. Work content needs
staffing figures (``[staffing]`` in the map): without them it is not estimated.

Rows it cannot use are counted by reason (with the first row numbers and values) and
reported, never silently dropped. Row numbers are the CSV's line numbers (the header is
line 1).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from experiments.errors import InputError
from experiments.scenario_files import load_scenario, resolve_scenario_path
from experiments.scenario_writer import write_extending_scenario
from model.cases import CASE_TYPES, REPORTED_TYPES

logger = logging.getLogger(__name__)

IGNORE = "ignore"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS_PER_YEAR = 365.0
EXAMPLE_ROWS = 5


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileSpec(_Spec):
    """How to read the CSV."""

    encoding: str = "utf-8"
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    time_format: str | None = None  # strptime format; None: ISO 8601


class ColumnSpec(_Spec):
    """Quantity → column name of the export (F9.8 fields where a Chinese export has them)."""

    arrival: str  # when the order arrived: call time, else dispatch time
    case_type: str  # nature of the request (诉求性质)
    unit: str | None = None  # handling department (承办部门)
    dispatched: str | None = None  # dispatch time (派单时间)
    deadline: str | None = None  # planned handling time (计划办结时间)
    closed: str | None = None  # closure time (办结时间)
    rated: str | None = None  # time of the caller's rating (回访时间)
    status: str | None = None  # work-order status (工单状态)
    handling_mode: str | None = None  # handling mode (办理方式)
    resolved: str | None = None  # department's resolution (部门办理结果)
    satisfaction: str | None = None  # satisfaction (满意度)
    returns: str | None = None  # number of returns (退件次数)


class ValueSpec(_Spec):
    """Which codes of the coded columns mean what."""

    status: dict[Literal["closed", "open"], list[str]] = Field(default_factory=dict)
    handling_mode: dict[Literal["front_desk", "dispatched"], list[str]] = Field(
        default_factory=dict
    )
    resolved: dict[Literal["yes", "no"], list[str]] = Field(default_factory=dict)
    satisfaction: dict[Literal["satisfied", "unsatisfied"], list[str]] = Field(default_factory=dict)


class StaffingSpec(_Spec):
    """Staff per department, for work content (staff-hours per case)."""

    staff: dict[str, Annotated[float, Field(gt=0)]]
    utilisation: Annotated[float, Field(gt=0, le=1)]  # share of working time spent on cases
    working_hours_per_day: Annotated[float, Field(gt=0, le=24)] = 8.0
    working_days_per_week: Annotated[int, Field(ge=1, le=7)] = 5


class MapSpec(_Spec):
    """A map file."""

    description: str = ""
    base: str = "baseline"
    residents: Annotated[int, Field(ge=1)] | None = None
    file: FileSpec = FileSpec()
    columns: ColumnSpec
    case_types: dict[str, str]
    units: dict[str, str] = Field(default_factory=dict)
    values: ValueSpec = ValueSpec()
    staffing: StaffingSpec | None = None


@dataclass(frozen=True)
class FitLogsResult:
    """What :func:`fit_logs` estimated and wrote.

    Attributes:
        estimates: quantity, key, value, n, scenario_field, status, note.
        dropped: reason, rows, first_rows, examples (rows not used for a quantity).
        scenario_file: the written scenario.
        table_file: the Markdown table (a CSV with the same stem beside it).
        rows: data rows in the log.
    """

    estimates: pd.DataFrame
    dropped: pd.DataFrame
    scenario_file: Path
    table_file: Path
    rows: int
    written: dict[str, Any] = field(default_factory=dict)

    def table_text(self) -> str:
        """The estimates and the unused rows as text (also the Markdown file's content)."""
        return _markdown(self.estimates, self.dropped, self.rows)


def load_map(path: str | Path) -> MapSpec:
    """Read and validate a map file (errors name the file and the field)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("map file not found", file=path)
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"not a valid TOML file: {exc}", file=path) from None
    try:
        spec = MapSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                problems.append(InputError("unknown key", file=path, field=where))
            elif err["type"] == "missing":
                problems.append(InputError("required key is missing", file=path, field=where))
            else:
                problems.append(
                    InputError(f"{err['msg']} (got {err.get('input')!r})", file=path, field=where)
                )
        raise InputError.combine(problems) from None
    allowed = (*CASE_TYPES, IGNORE)
    for value, case_type in spec.case_types.items():
        if case_type not in allowed:
            raise InputError(
                "is not a case type",
                file=path,
                field=f"case_types.{value!r}",
                value=case_type,
                allowed=", ".join(allowed),
                suggestion=_closest(case_type, allowed),
            )
    return spec


def _closest(word: str, candidates: Any) -> str | None:
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return found[0] if found else None


class _Rows:
    """Counts of rows not used, by reason, with the first row numbers and values."""

    def __init__(self) -> None:
        self.reasons: dict[str, tuple[int, list[int], list[str]]] = {}

    def drop(self, reason: str, mask: np.ndarray, frame: pd.DataFrame, column: str | None) -> None:
        count = int(mask.sum())
        if not count:
            return
        rows = (np.flatnonzero(mask)[:EXAMPLE_ROWS] + 2).tolist()  # CSV line numbers
        values = [repr(v) for v in frame.loc[mask, column].head(EXAMPLE_ROWS)] if column else []
        old = self.reasons.get(reason, (0, [], []))
        self.reasons[reason] = (old[0] + count, (old[1] + rows)[:EXAMPLE_ROWS], values)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "reason": reason,
                    "rows": count,
                    "first_rows": ", ".join(str(r) for r in rows),
                    "examples": ", ".join(values),
                }
                for reason, (count, rows, values) in self.reasons.items()
            ],
            columns=["reason", "rows", "first_rows", "examples"],
        )


def _read_log(path: Path, spec: MapSpec, map_path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError("work-order log not found", file=path)
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding=spec.file.encoding,
            sep=spec.file.delimiter,
        )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"cannot decode the file as {spec.file.encoding} ({exc.reason} at byte {exc.start}); "
            "set [file] encoding in the map (e.g. gb18030)",
            file=path,
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, LookupError) as exc:
        raise InputError(f"cannot read the CSV ({exc})", file=path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    problems = []
    for quantity, column in spec.columns.model_dump().items():
        if column is not None and column not in frame.columns:
            problems.append(
                InputError(
                    f"names column {column!r}, which {path} does not have",
                    file=map_path,
                    field=f"columns.{quantity}",
                    allowed=", ".join(frame.columns),
                    suggestion=_closest(column, frame.columns),
                )
            )
    if problems:
        raise InputError.combine(problems)
    if frame.empty:
        raise InputError("the log has no data rows", file=path)
    return frame


def _times(
    frame: pd.DataFrame, column: str, spec: MapSpec, rows: _Rows, quantity: str, path: Path
) -> pd.Series:
    """Parse a time column; blank cells are NaT, unreadable ones are counted (and NaT)."""
    text = frame[column].str.strip()
    blank = text == ""
    parsed = pd.to_datetime(
        text.where(~blank), format=spec.file.time_format or "ISO8601", errors="coerce"
    )
    bad = (~blank & parsed.isna()).to_numpy()
    if bad.all():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"row {first + 2}, column {column!r} = {frame[column].iloc[first]!r}: not a date-time "
            f"(format {spec.file.time_format or 'ISO 8601'}); no row of this column can be read: "
            "check [file] time_format in the map",
            file=path,
        )
    rows.drop(f"{quantity} time unreadable (column {column!r})", bad, frame, column)
    return parsed


def _coded(
    frame: pd.DataFrame,
    column: str | None,
    codes: Mapping[Any, list[str]],
    rows: _Rows,
    quantity: str,
) -> pd.Series | None:
    """Map a coded column onto labels; values not in the map are counted and left as None."""
    if column is None or not codes:
        return None
    lookup = {value: label for label, values in codes.items() for value in values}
    text = frame[column].str.strip()
    labels = text.map(lookup)
    unknown = (labels.isna() & (text != "")).to_numpy()
    rows.drop(
        f"{quantity}: value not listed in [values.{quantity}] (column {column!r})",
        unknown,
        frame,
        column,
    )
    return labels


def fit_logs(
    cases: str | Path,
    map_file: str | Path,
    *,
    base: str | Path | None = None,
    out: str | Path | None = None,
) -> FitLogsResult:
    """Estimate scenario fields from a work-order log and write a scenario and a table.

    Raises:
        InputError: an unreadable log or map, a map naming a column the log lacks, a case
            type or department that does not exist, or no usable row.
    """
    cases, map_file = Path(cases), Path(map_file)
    spec = load_map(map_file)
    base_path = resolve_scenario_path(
        base if base is not None else _map_relative(map_file, spec.base)
    )
    base_scenario = load_scenario(base_path)
    departments = list(base_scenario.parameters.departments)
    for value, department in spec.units.items():
        if department != IGNORE and department not in departments:
            raise InputError(
                "is not a department of the base scenario",
                file=map_file,
                field=f"units.{value!r}",
                value=department,
                allowed=", ".join([*departments, IGNORE]),
                suggestion=_closest(department, departments),
            )
    frame = _read_log(cases, spec, map_file)
    columns = spec.columns
    rows = _Rows()
    estimates: list[dict[str, Any]] = []

    def add(
        quantity: str,
        key: str,
        value: float,
        n: int,
        scenario_field: str = "",
        status: str = "estimated",
        note: str = "",
    ) -> None:
        estimates.append(
            {
                "quantity": quantity,
                "key": key,
                "value": value,
                "n": n,
                "scenario_field": scenario_field,
                "status": status,
                "note": note,
            }
        )

    # -- case types and arrivals ----------------------------------------------
    raw_type = frame[columns.case_type].str.strip()
    case_type = raw_type.map(spec.case_types)
    unmapped = case_type.isna().to_numpy()
    rows.drop(
        f"request type not in [case_types] (column {columns.case_type!r})",
        unmapped,
        frame,
        columns.case_type,
    )
    ignored = (case_type == IGNORE).to_numpy()
    rows.drop("request type mapped to 'ignore'", ignored, frame, columns.case_type)
    arrival = _times(frame, columns.arrival, spec, rows, "arrival", cases)
    missing_arrival = (frame[columns.arrival].str.strip() == "").to_numpy()
    rows.drop(f"arrival time blank (column {columns.arrival!r})", missing_arrival, frame, None)
    usable = ~unmapped & ~ignored & arrival.notna().to_numpy()
    if not usable.any():
        raise InputError(
            "no row is usable (every row lacks a mapped request type or a readable arrival "
            "time); see the map's [case_types] and [columns] arrival",
            file=cases,
        )
    data = pd.DataFrame(
        {"case_type": case_type[usable].to_numpy(), "arrival": arrival[usable].to_numpy()},
        index=frame.index[usable],
    )
    first_day = data["arrival"].min().normalize()
    last_day = data["arrival"].max().normalize()
    days = int((last_day - first_day).days) + 1
    calendar = pd.date_range(first_day, last_day, freq="D")
    weekday_days = np.bincount(calendar.day_of_week, minlength=7)
    add(
        "observed period",
        "days",
        float(days),
        int(usable.sum()),
        note=f"{first_day.date()} to {last_day.date()}",
    )
    counts = data["case_type"].value_counts()
    for name in CASE_TYPES:
        n = int(counts.get(name, 0))
        if n:
            add("arrival rate per day", name, n / days, n)
    weekday = data["arrival"].dt.day_of_week.to_numpy()
    for name in CASE_TYPES:
        mine = data["case_type"].to_numpy() == name
        if not mine.any():
            continue
        per = np.bincount(weekday[mine], minlength=7)
        for d, day_name in enumerate(WEEKDAYS):
            if weekday_days[d]:
                add(
                    "arrival rate per day by weekday",
                    f"{name} {day_name}",
                    per[d] / weekday_days[d],
                    int(per[d]),
                    status="estimated, not written",
                    note="the model has no weekday profile of needs",
                )
    written: dict[str, Any] = {}
    comments: dict[str, str] = {}
    reported = {t: int(counts.get(t, 0)) for t in REPORTED_TYPES}
    total_reported = sum(reported.values())
    if total_reported:
        shares = {t: n / total_reported for t, n in reported.items()}
        written["demand.case_type_shares"] = shares
        comments["demand.case_type_shares"] = f"from {total_reported} resident-reported orders"
        for t, share in shares.items():
            add("case-type share", t, share, reported[t], "demand.case_type_shares")
        if spec.residents is not None:
            per_resident = total_reported / days * DAYS_PER_YEAR / spec.residents
            add(
                "requests per resident per year",
                "",
                per_resident,
                total_reported,
                "demand.needs_per_resident_per_year",
                note="reported requests: a lower bound of needs (unreported needs are not in a log); "
                "also a calibration target (requests_per_resident_per_year)",
            )
            written["demand.needs_per_resident_per_year"] = per_resident
            comments["demand.needs_per_resident_per_year"] = (
                "lower bound: reported requests per resident per year; calibrate with reporting.*"
            )
        else:
            add(
                "requests per resident per year",
                "",
                math.nan,
                total_reported,
                status="not estimated",
                note="needs the number of residents (residents = … in the map)",
            )

    # -- units, closure times, time limits ---------------------------------------
    start = arrival
    if columns.dispatched is not None:
        dispatched = _times(frame, columns.dispatched, spec, rows, "dispatch", cases)
        start = dispatched.fillna(arrival)
    closed = (
        _times(frame, columns.closed, spec, rows, "closure", cases)
        if columns.closed is not None
        else None
    )
    status = _coded(frame, columns.status, spec.values.status, rows, "status")
    unit = frame[columns.unit].str.strip() if columns.unit is not None else None
    if closed is not None:
        is_closed = closed.notna()
        if status is not None:
            is_closed &= status.ne("open")
        duration = (closed - start).dt.total_seconds() / 86_400
        negative = usable & is_closed.to_numpy() & (duration < 0).to_numpy()
        rows.drop(
            "closure before arrival/dispatch (closure time not used)",
            negative,
            frame,
            columns.closed,
        )
        ok = usable & is_closed.to_numpy() & (duration >= 0).to_numpy()
        groups: dict[str, np.ndarray] = {"all units": ok}
        if unit is not None:
            blank_unit = usable & (unit == "").to_numpy()
            rows.drop(f"handling unit blank (column {columns.unit!r})", blank_unit, frame, None)
            for name in sorted(set(unit[ok])):
                if name:
                    groups[name] = ok & (unit == name).to_numpy()
        for name, mask in groups.items():
            values = duration[mask].to_numpy(dtype=float)
            if values.size:
                for stat, statistic in (
                    ("median", float(np.median(values))),
                    ("p90", float(np.quantile(values, 0.9))),
                    ("mean", float(values.mean())),
                ):
                    add(
                        f"closure time, {stat} (days)",
                        name,
                        statistic,
                        int(values.size),
                        status="estimated, not written",
                        note="a target (resolution_time_*); closure time includes queueing, so it "
                        "is not work content",
                    )
    else:
        add(
            "closure time",
            "",
            math.nan,
            0,
            status="not estimated",
            note="no closed column in the map",
        )
    if columns.deadline is not None:
        deadline = _times(frame, columns.deadline, spec, rows, "planned handling", cases)
        limit = (deadline - start).dt.total_seconds() / 86_400
        for name in CASE_TYPES:
            mask = usable & (case_type == name).to_numpy() & limit.notna().to_numpy()
            if mask.any():
                add(
                    "planned time limit, median (calendar days)",
                    name,
                    float(np.median(limit[mask])),
                    int(mask.sum()),
                    status="estimated, not written",
                    note=f"compare with time_limits.{name} (working days, F4.1)",
                )
        if closed is not None:
            both = usable & closed.notna().to_numpy() & deadline.notna().to_numpy()
            if both.any():
                on_time = (closed[both] <= deadline[both]).to_numpy()
                add(
                    "on-time share",
                    "",
                    float(on_time.mean()),
                    int(both.sum()),
                    status="estimated, not written",
                    note="a target (on_time_share)",
                )

    # -- routing: front desk, returns, departments -------------------------------
    mode = _coded(frame, columns.handling_mode, spec.values.handling_mode, rows, "handling_mode")
    if mode is not None:
        inquiries = usable & (case_type == "inquiry").to_numpy() & mode.notna().to_numpy()
        if inquiries.any():
            share = float((mode[inquiries] == "front_desk").mean())
            add(
                "front-desk share of inquiries",
                "",
                share,
                int(inquiries.sum()),
                "intake.front_desk_inquiry_resolution_share",
            )
            written["intake.front_desk_inquiry_resolution_share"] = share
            comments["intake.front_desk_inquiry_resolution_share"] = (
                f"from {int(inquiries.sum())} inquiries"
            )
        known = usable & mode.notna().to_numpy()
        if known.any():
            add(
                "front-desk share of all orders",
                "",
                float((mode[known] == "front_desk").mean()),
                int(known.sum()),
                status="estimated, not written",
                note="a target (front_desk_share)",
            )
    if columns.returns is not None:
        text = frame[columns.returns].str.strip()
        number = pd.to_numeric(text, errors="coerce")
        bad = usable & (text != "").to_numpy() & number.isna().to_numpy()
        rows.drop(
            f"number of returns not a number (column {columns.returns!r})",
            bad,
            frame,
            columns.returns,
        )
        dispatched_rows = usable & number.notna().to_numpy()
        if mode is not None:
            dispatched_rows &= (mode == "dispatched").to_numpy()
        if dispatched_rows.any():
            returned = float((number[dispatched_rows] > 0).mean())
            add(
                "return share of dispatched orders",
                "",
                returned,
                int(dispatched_rows.sum()),
                "coordination.classification_accuracy",
                note="accuracy = 1 − return share (assumption: a misrouted order is returned)",
            )
            written["coordination.classification_accuracy"] = 1.0 - returned
            comments["coordination.classification_accuracy"] = (
                "1 − observed return share (assumption)"
            )
    if unit is not None and spec.units:
        department = unit.map(spec.units)
        unmapped_unit = usable & department.isna().to_numpy() & (unit != "").to_numpy()
        rows.drop(
            f"handling unit not in [units] (column {columns.unit!r}; department shares)",
            unmapped_unit,
            frame,
            columns.unit,
        )
        mapped = usable & department.notna().to_numpy() & (department != IGNORE).to_numpy()
        if mapped.any():
            share_counts = department[mapped].value_counts()
            total = int(mapped.sum())
            for name in departments:
                n = int(share_counts.get(name, 0))
                key = f"departments.{name}.case_share"
                add(
                    "department case share",
                    name,
                    n / total,
                    n,
                    key,
                    note="" if n else "no order in the log: share 0",
                )
                written[key] = n / total
                comments[key] = f"{n} of {total} orders with a mapped unit"
            _work_content(spec, share_counts, days, written, comments, add)
    elif unit is None or not spec.units:
        add(
            "department case shares",
            "",
            math.nan,
            0,
            status="not estimated",
            note="needs columns.unit and a [units] map",
        )

    # -- outcomes usable as calibration targets ----------------------------------
    resolved = _coded(frame, columns.resolved, spec.values.resolved, rows, "resolved")
    if resolved is not None:
        known = usable & resolved.notna().to_numpy()
        if known.any():
            add(
                "resolution share",
                "",
                float((resolved[known] == "yes").mean()),
                int(known.sum()),
                status="estimated, not written",
                note="a target (resolution_share)",
            )
    satisfied = _coded(frame, columns.satisfaction, spec.values.satisfaction, rows, "satisfaction")
    if satisfied is not None:
        known = usable & satisfied.notna().to_numpy()
        if known.any():
            add(
                "satisfaction share",
                "",
                float((satisfied[known] == "satisfied").mean()),
                int(known.sum()),
                status="estimated, not written",
                note="a target (satisfaction_share)",
            )
    estimates_frame = pd.DataFrame(estimates)
    dropped = rows.table()

    # -- outputs ----------------------------------------------------------------
    scenario_file = Path(out) if out is not None else cases.with_name(f"{cases.stem}_fitted.toml")
    log_hash = hashlib.sha256(cases.read_bytes()).hexdigest()
    _write_scenario(
        scenario_file,
        base_path,
        cases,
        map_file,
        log_hash,
        written,
        comments,
        len(frame),
        int(usable.sum()),
    )
    table_file = scenario_file.with_name(f"{scenario_file.stem}.estimates.md")
    result = FitLogsResult(estimates_frame, dropped, scenario_file, table_file, len(frame), written)
    table_file.write_text(result.table_text() + "\n", encoding="utf-8")
    estimates_frame.to_csv(table_file.with_suffix(".csv"), index=False)
    logger.info(
        "fit-logs: %d of %d rows used; scenario %s", int(usable.sum()), len(frame), scenario_file
    )
    return result


def _work_content(
    spec: MapSpec,
    counts: pd.Series,
    days: int,
    written: dict[str, Any],
    comments: dict[str, str],
    add: Any,
) -> None:
    """Staff-hours per case from staffing figures (utilisation × available hours / cases)."""
    if spec.staffing is None:
        add(
            "work content (staff-hours per case)",
            "",
            math.nan,
            0,
            status="not estimated",
            note="needs staffing figures: add [staffing] (staff per department, utilisation) to the map",
        )
        return
    s = spec.staffing
    working_days = days * s.working_days_per_week / 7
    for name, staff in s.staff.items():
        n = int(counts.get(name, 0))
        if not n:
            add(
                "work content (staff-hours per case)",
                name,
                math.nan,
                0,
                status="not estimated",
                note="no order of this department in the log",
            )
            continue
        hours = s.utilisation * staff * s.working_hours_per_day * working_days / n
        key = f"departments.{name}.work_hours_mean"
        add(
            "work content (staff-hours per case)",
            name,
            hours,
            n,
            key,
            note="utilisation × staff × working hours / orders (assumption: staff serve only these orders)",
        )
        written[key] = hours
        comments[key] = f"{s.utilisation:g} × {staff:g} staff × working hours / {n} orders"
        if spec.residents is not None:
            per_100k = staff / spec.residents * 100_000
            written[f"departments.{name}.staff_per_100k_residents"] = per_100k
            comments[f"departments.{name}.staff_per_100k_residents"] = (
                f"{staff:g} staff / {spec.residents} residents"
            )
            add(
                "staff per 100k residents",
                name,
                per_100k,
                n,
                f"departments.{name}.staff_per_100k_residents",
            )


def _map_relative(map_file: Path, reference: str) -> str | Path:
    candidate = map_file.parent / reference
    return candidate if candidate.suffix == ".toml" and candidate.is_file() else reference


def _write_scenario(
    path: Path,
    base: Path,
    cases: Path,
    map_file: Path,
    log_hash: str,
    values: Mapping[str, Any],
    comments: Mapping[str, str],
    rows: int,
    used: int,
) -> None:
    plain: dict[str, Any] = {
        k: ({t: round(v, 6) for t, v in val.items()} if isinstance(val, dict) else val)
        for k, val in values.items()
    }
    if "demand.case_type_shares" in plain:  # rounding must keep the sum at 1
        shares = plain["demand.case_type_shares"]
        largest = max(shares, key=lambda t: shares[t])
        shares[largest] = round(1.0 - sum(v for t, v in shares.items() if t != largest), 6)
    department_keys = [k for k in plain if k.endswith(".case_share")]
    if department_keys:
        rounded = {k: round(float(plain[k]), 6) for k in department_keys}
        largest = max(rounded, key=lambda k: rounded[k])
        rounded[largest] = round(1.0 - sum(v for k, v in rounded.items() if k != largest), 6)
        plain.update(rounded)
    header = [
        f"{path.stem} — estimated by `microgov fit-logs` from a work-order log.",
        f"log: {cases} (sha256 {log_hash}); {used} of {rows} rows used (see the estimates table)",
        f"map: {map_file}",
        "Values are estimates from the log; fields the log cannot inform keep the base's values.",
    ]
    write_extending_scenario(
        path,
        base,
        name=path.stem,
        description=f"{base.stem} with values estimated from {cases.name}",
        header=header,
        values=plain,
        comments=comments,
    )


def _markdown(estimates: pd.DataFrame, dropped: pd.DataFrame, rows: int) -> str:
    lines = [
        "| quantity | key | value | n | scenario field | status | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in estimates.itertuples(index=False):
        value = "–" if isinstance(r.value, float) and math.isnan(r.value) else f"{r.value:.4g}"
        lines.append(
            f"| {r.quantity} | {r.key} | {value} | {r.n} | {r.scenario_field or '–'} | {r.status} | {r.note} |"
        )
    lines += [
        "",
        f"Rows not used ({rows} data rows in the log; a row may be unusable for one quantity only):",
        "",
    ]
    if dropped.empty:
        lines.append("none")
    else:
        lines += ["| reason | rows | first rows (line numbers) | examples |", "|---|---|---|---|"]
        for r in dropped.itertuples(index=False):
            lines.append(f"| {r.reason} | {r.rows} | {r.first_rows} | {r.examples} |")
    return "\n".join(lines)


__all__ = ["FitLogsResult", "MapSpec", "fit_logs", "load_map"]
