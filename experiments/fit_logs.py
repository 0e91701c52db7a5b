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

import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.errors import InputError
from experiments.log_maps import IGNORE, MapSpec, closest, load_map
from experiments.scenario_files import load_scenario, resolve_scenario_path
from experiments.scenario_writer import check_scenario_target, write_extending_scenario
from model.cases import CASE_TYPES, REPORTED_TYPES

logger = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS_PER_YEAR = 365.0
EXAMPLE_ROWS = 5


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
                    suggestion=closest(column, frame.columns),
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


NOT_WRITTEN = "estimated, not written"


class _Estimator:
    """Estimates from one log: each method reads some columns and adds rows to the table.

    ``usable`` marks rows with a mapped case type and a readable arrival time; every other
    row has been counted in ``rows`` with its reason.
    """

    def __init__(self, frame: pd.DataFrame, spec: MapSpec, cases: Path) -> None:
        self.frame, self.spec, self.cases = frame, spec, cases
        self.columns = spec.columns
        self.rows = _Rows()
        self.estimates: list[dict[str, Any]] = []
        self.written: dict[str, Any] = {}
        self.comments: dict[str, str] = {}
        columns = self.columns
        self.case_type = frame[columns.case_type].str.strip().map(spec.case_types)
        unmapped = self.case_type.isna().to_numpy()
        self.drop(
            f"request type not in [case_types] (column {columns.case_type!r})",
            unmapped,
            columns.case_type,
        )
        ignored = (self.case_type == IGNORE).to_numpy()
        self.drop("request type mapped to 'ignore'", ignored, columns.case_type)
        self.arrival = self.times(columns.arrival, "arrival")
        blank = (frame[columns.arrival].str.strip() == "").to_numpy()
        self.drop(f"arrival time blank (column {columns.arrival!r})", blank, None)
        self.usable = ~unmapped & ~ignored & self.arrival.notna().to_numpy()
        if not self.usable.any():
            raise InputError(
                "no row is usable (every row lacks a mapped request type or a readable arrival "
                "time); see the map's [case_types] and [columns] arrival",
                file=cases,
            )
        self.start = self.arrival  # closure and planned times count from dispatch, else arrival
        if columns.dispatched is not None:
            self.start = self.times(columns.dispatched, "dispatch").fillna(self.arrival)
        self.closed = self.times(columns.closed, "closure") if columns.closed else None
        self.unit = frame[columns.unit].str.strip() if columns.unit is not None else None
        self.days = 0

    # -- helpers -----------------------------------------------------------------

    def drop(self, reason: str, mask: np.ndarray, column: str | None) -> None:
        self.rows.drop(reason, mask, self.frame, column)

    def times(self, column: str, quantity: str) -> pd.Series:
        return _times(self.frame, column, self.spec, self.rows, quantity, self.cases)

    def coded(
        self, column: str | None, codes: Mapping[Any, list[str]], quantity: str
    ) -> pd.Series | None:
        return _coded(self.frame, column, codes, self.rows, quantity)

    def add(
        self,
        quantity: str,
        key: str,
        value: float,
        n: int,
        scenario_field: str = "",
        status: str = "estimated",
        note: str = "",
    ) -> None:
        self.estimates.append(
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

    def write(self, field_path: str, value: Any, comment: str) -> None:
        self.written[field_path] = value
        self.comments[field_path] = comment

    def share(self, quantity: str, labels: pd.Series | None, label: Any, target: str) -> None:
        """The share of usable rows with a known label that carry ``label`` (a target)."""
        if labels is None:
            return
        known = self.usable & labels.notna().to_numpy()
        if known.any():
            value = float((labels[known] == label).mean())
            self.add(
                quantity,
                "",
                value,
                int(known.sum()),
                status=NOT_WRITTEN,
                note=f"a target ({target})",
            )

    # -- estimates ---------------------------------------------------------------

    def arrivals(self) -> None:
        """Observed period, arrival rates by case type and weekday, mix and volume."""
        data = pd.DataFrame(
            {
                "case_type": self.case_type[self.usable].to_numpy(),
                "arrival": self.arrival[self.usable].to_numpy(),
            }
        )
        first_day = data["arrival"].min().normalize()
        last_day = data["arrival"].max().normalize()
        self.days = days = int((last_day - first_day).days) + 1
        calendar = pd.date_range(first_day, last_day, freq="D")
        weekday_days = np.bincount(calendar.day_of_week, minlength=7)
        self.add(
            "observed period",
            "days",
            float(days),
            len(data),
            note=f"{first_day.date()} to {last_day.date()}",
        )
        counts = data["case_type"].value_counts()
        weekday = data["arrival"].dt.day_of_week.to_numpy()
        for name in CASE_TYPES:
            n = int(counts.get(name, 0))
            if not n:
                continue
            self.add("arrival rate per day", name, n / days, n)
            per = np.bincount(weekday[data["case_type"].to_numpy() == name], minlength=7)
            for d, day_name in enumerate(WEEKDAYS):
                if weekday_days[d]:
                    self.add(
                        "arrival rate per day by weekday",
                        f"{name} {day_name}",
                        per[d] / weekday_days[d],
                        int(per[d]),
                        status=NOT_WRITTEN,
                        note="the model has no weekday profile of needs",
                    )
        reported = {t: int(counts.get(t, 0)) for t in REPORTED_TYPES}
        total = sum(reported.values())
        if not total:
            return
        shares = {t: n / total for t, n in reported.items()}
        self.write("demand.case_type_shares", shares, f"from {total} resident-reported orders")
        for t, share in shares.items():
            self.add("case-type share", t, share, reported[t], "demand.case_type_shares")
        if self.spec.residents is None:
            self.add(
                "requests per resident per year",
                "",
                math.nan,
                total,
                status="not estimated",
                note="needs the number of residents (residents = … in the map)",
            )
            return
        per_resident = total / days * DAYS_PER_YEAR / self.spec.residents
        self.add(
            "requests per resident per year",
            "",
            per_resident,
            total,
            "demand.needs_per_resident_per_year",
            note="reported requests: a lower bound of needs (unreported needs are not in a log); "
            "also a calibration target (requests_per_resident_per_year)",
        )
        self.write(
            "demand.needs_per_resident_per_year",
            per_resident,
            "lower bound: reported requests per resident per year; calibrate with reporting.*",
        )

    def closure_times(self) -> None:
        """Closure-time median, p90 and mean (days) over all units and per handling unit."""
        if self.closed is None:
            self.add(
                "closure time",
                "",
                math.nan,
                0,
                status="not estimated",
                note="no closed column in the map",
            )
            return
        columns = self.columns
        is_closed = self.closed.notna()
        status = self.coded(columns.status, self.spec.values.status, "status")
        if status is not None:
            is_closed &= status.ne("open")
        duration = (self.closed - self.start).dt.total_seconds() / 86_400
        negative = self.usable & is_closed.to_numpy() & (duration < 0).to_numpy()
        self.drop(
            "closure before arrival/dispatch (closure time not used)", negative, columns.closed
        )
        ok = self.usable & is_closed.to_numpy() & (duration >= 0).to_numpy()
        groups: dict[str, np.ndarray] = {"all units": ok}
        if self.unit is not None:
            blank = self.usable & (self.unit == "").to_numpy()
            self.drop(f"handling unit blank (column {columns.unit!r})", blank, None)
            for name in sorted(set(self.unit[ok])):
                if name:
                    groups[name] = ok & (self.unit == name).to_numpy()
        for name, mask in groups.items():
            values = duration[mask].to_numpy(dtype=float)
            if not values.size:
                continue
            for stat, statistic in (
                ("median", float(np.median(values))),
                ("p90", float(np.quantile(values, 0.9))),
                ("mean", float(values.mean())),
            ):
                self.add(
                    f"closure time, {stat} (days)",
                    name,
                    statistic,
                    int(values.size),
                    status=NOT_WRITTEN,
                    note="a target (resolution_time_*); closure time includes queueing, so it is "
                    "not work content",
                )

    def time_limits(self) -> None:
        """Planned time limits per case type, and the on-time share."""
        if self.columns.deadline is None:
            return
        deadline = self.times(self.columns.deadline, "planned handling")
        limit = (deadline - self.start).dt.total_seconds() / 86_400
        for name in CASE_TYPES:
            mask = self.usable & (self.case_type == name).to_numpy() & limit.notna().to_numpy()
            if mask.any():
                self.add(
                    "planned time limit, median (calendar days)",
                    name,
                    float(np.median(limit[mask])),
                    int(mask.sum()),
                    status=NOT_WRITTEN,
                    note=f"compare with time_limits.{name} (working days, F4.1)",
                )
        if self.closed is not None:
            on_time = (self.closed <= deadline).where(self.closed.notna() & deadline.notna())
            self.share("on-time share", on_time, True, "on_time_share")

    def routing(self) -> None:
        """Front-desk share (of inquiries: a scenario field) and the return share."""
        columns = self.columns
        mode = self.coded(columns.handling_mode, self.spec.values.handling_mode, "handling_mode")
        if mode is not None:
            inquiries = (
                self.usable & (self.case_type == "inquiry").to_numpy() & mode.notna().to_numpy()
            )
            if inquiries.any():
                share = float((mode[inquiries] == "front_desk").mean())
                key = "intake.front_desk_inquiry_resolution_share"
                self.add("front-desk share of inquiries", "", share, int(inquiries.sum()), key)
                self.write(key, share, f"from {int(inquiries.sum())} inquiries")
            self.share("front-desk share of all orders", mode, "front_desk", "front_desk_share")
        if columns.returns is None:
            return
        text = self.frame[columns.returns].str.strip()
        number = pd.to_numeric(text, errors="coerce")
        bad = self.usable & (text != "").to_numpy() & number.isna().to_numpy()
        self.drop(
            f"number of returns not a number (column {columns.returns!r})", bad, columns.returns
        )
        dispatched = self.usable & number.notna().to_numpy()
        if mode is not None:
            dispatched &= (mode == "dispatched").to_numpy()
        if dispatched.any():
            returned = float((number[dispatched] > 0).mean())
            key = "coordination.classification_accuracy"
            self.add(
                "return share of dispatched orders",
                "",
                returned,
                int(dispatched.sum()),
                key,
                note="accuracy = 1 − return share (assumption: a misrouted order is returned)",
            )
            self.write(key, 1.0 - returned, "1 − observed return share (assumption)")

    def departments(self, departments: list[str]) -> None:
        """Departments' case shares from the handling units, and work content from staffing."""
        if self.unit is None or not self.spec.units:
            self.add(
                "department case shares",
                "",
                math.nan,
                0,
                status="not estimated",
                note="needs columns.unit and a [units] map",
            )
            return
        department = self.unit.map(self.spec.units)
        unmapped = self.usable & department.isna().to_numpy() & (self.unit != "").to_numpy()
        self.drop(
            f"handling unit not in [units] (column {self.columns.unit!r}; department shares)",
            unmapped,
            self.columns.unit,
        )
        mapped = self.usable & department.notna().to_numpy() & (department != IGNORE).to_numpy()
        if not mapped.any():
            return
        counts = department[mapped].value_counts()
        total = int(mapped.sum())
        for name in departments:
            n = int(counts.get(name, 0))
            key = f"departments.{name}.case_share"
            note = "" if n else "no order in the log: share 0"
            self.add("department case share", name, n / total, n, key, note=note)
            self.write(key, n / total, f"{n} of {total} orders with a mapped unit")
        self.work_content(counts)

    def work_content(self, counts: pd.Series) -> None:
        """Staff-hours per case from staffing figures (utilisation × available hours / cases)."""
        quantity = "work content (staff-hours per case)"
        s = self.spec.staffing
        if s is None:
            self.add(
                quantity,
                "",
                math.nan,
                0,
                status="not estimated",
                note="needs staffing figures: add [staffing] (staff per department, utilisation) "
                "to the map",
            )
            return
        working_days = self.days * s.working_days_per_week / 7
        for name, staff in s.staff.items():
            n = int(counts.get(name, 0))
            if not n:
                self.add(
                    quantity,
                    name,
                    math.nan,
                    0,
                    status="not estimated",
                    note="no order of this department in the log",
                )
                continue
            hours = s.utilisation * staff * s.working_hours_per_day * working_days / n
            key = f"departments.{name}.work_hours_mean"
            self.add(
                quantity,
                name,
                hours,
                n,
                key,
                note="utilisation × staff × working hours / orders (assumption: staff serve only "
                "these orders)",
            )
            self.write(
                key, hours, f"{s.utilisation:g} × {staff:g} staff × working hours / {n} orders"
            )
            if self.spec.residents is not None:
                key = f"departments.{name}.staff_per_100k_residents"
                per_100k = staff / self.spec.residents * 100_000
                self.add("staff per 100k residents", name, per_100k, n, key)
                self.write(key, per_100k, f"{staff:g} staff / {self.spec.residents} residents")

    def outcomes(self) -> None:
        """Resolution and satisfaction shares: calibration targets, not scenario fields."""
        values = self.spec.values
        resolved = self.coded(self.columns.resolved, values.resolved, "resolved")
        self.share("resolution share", resolved, "yes", "resolution_share")
        satisfied = self.coded(self.columns.satisfaction, values.satisfaction, "satisfaction")
        self.share("satisfaction share", satisfied, "satisfied", "satisfaction_share")


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
    if out is not None:  # before reading the log: a target that cannot take the file
        check_scenario_target(Path(out), "--out")
    spec = load_map(map_file)
    if base is not None:
        base_path = resolve_scenario_path(base)
    else:
        try:
            base_path = resolve_scenario_path(_map_relative(map_file, spec.base))
        except InputError as exc:  # said as the map's ``base``, where it was given
            raise InputError(
                exc.reason,
                file=map_file,
                field="base",
                value=spec.base,
                allowed=exc.allowed,
                suggestion=exc.suggestion,
            ) from None
    departments = list(load_scenario(base_path).parameters.departments)
    for value, department in spec.units.items():
        if department != IGNORE and department not in departments:
            raise InputError(
                "is not a department of the base scenario",
                file=map_file,
                field=f"units.{value!r}",
                value=department,
                allowed=", ".join([*departments, IGNORE]),
                suggestion=closest(department, departments),
            )
    frame = _read_log(cases, spec, map_file)
    estimator = _Estimator(frame, spec, cases)
    estimator.arrivals()
    estimator.closure_times()
    estimator.time_limits()
    estimator.routing()
    estimator.departments(departments)
    estimator.outcomes()
    estimates = pd.DataFrame(estimator.estimates)
    used = int(estimator.usable.sum())

    scenario_file = Path(out) if out is not None else cases.with_name(f"{cases.stem}_fitted.toml")
    log_hash = hashlib.sha256(cases.read_bytes()).hexdigest()
    _write_scenario(
        scenario_file,
        base_path,
        cases,
        map_file,
        log_hash,
        estimator.written,
        estimator.comments,
        len(frame),
        used,
    )
    table_file = scenario_file.with_name(f"{scenario_file.stem}.estimates.md")
    result = FitLogsResult(
        estimates, estimator.rows.table(), scenario_file, table_file, len(frame), estimator.written
    )
    table_file.write_text(result.table_text() + "\n", encoding="utf-8")
    estimates.to_csv(table_file.with_suffix(".csv"), index=False)
    logger.info("fit-logs: %d of %d rows used; scenario %s", used, len(frame), scenario_file)
    return result


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


__all__ = ["FitLogsResult", "fit_logs"]
