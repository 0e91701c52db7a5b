"""Map files (``scenarios/maps/*.toml``) for ``microgov fit-logs``: schema and loading.

A map file says which column of a work-order export holds which quantity, which request
types are which case types (or ``ignore``), which handling units are which departments,
which codes of the coded columns mean what, and optionally the staffing figures that work
content needs. See :mod:`experiments.fit_logs` for the format and
``scenarios/maps/hotline_12345.toml`` for an example (F9.8 fields).
"""

from __future__ import annotations

import codecs
import difflib
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from experiments.errors import InputError
from model.cases import CASE_TYPES

IGNORE = "ignore"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileSpec(_Spec):
    """How to read the CSV."""

    encoding: str = "utf-8"
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    time_format: str | None = None  # strptime format; None: ISO 8601

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            text = codecs.lookup(value)._is_text_encoding  # (zlib, base64: not for text)
        except LookupError:
            text = False
        if not text:
            raise ValueError(f"unknown text encoding {value!r}; e.g. utf-8, gb18030, gbk, utf-16")
        return value

    @field_validator("time_format")
    @classmethod
    def _readable_format(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            datetime.strptime("", value)
        except ValueError as exc:  # "does not match" is the expected answer for ""
            if "does not match" not in str(exc):
                raise ValueError(f"not a strptime format ({exc}); e.g. %Y-%m-%d %H:%M:%S") from None
        return value


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


def load_map(path: str | Path) -> MapSpec:
    """Read and validate a map file (errors name the file and the field)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("map file not found", file=path)
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # a byte-order mark is skipped
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
                suggestion=closest(case_type, allowed),
            )
    return spec


def closest(word: str, candidates: Any) -> str | None:
    """The closest candidate to ``word`` (for "did you mean" hints), or None."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.5)
    return found[0] if found else None


__all__ = ["IGNORE", "ColumnSpec", "MapSpec", "closest", "load_map"]
