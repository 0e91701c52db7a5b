"""Finite, physical ranges for every numeric parameter, and the memory a population needs.

Validation is the one place where impossible values are stopped (docs/design.md
"Conventions": validate once): a value that passes must give a run that ends in bounded time and memory.
Infinite, NaN or astronomically large hours, rates and sizes used to pass and then
hang a run or crash it (issue 13). The rule, recorded in docs/design.md:

- every number is finite (``allow_inf_nan=False``) and strictly typed: ``true`` is not
  1, ``2.0`` is not a whole number of streets, ``"3"`` is not a number;
- hours of work or delay are within a working year (:data:`MAX_HOURS`), minutes of
  one call within a working day, calendar days within the longest simulation,
  time limits within a year of working days;
- rates are at most what a population can produce (:data:`MAX_RATE_PER_RESIDENT_PER_YEAR`
  needs or problems per resident per year);
- staff counts and other sizes have a stated bound, and the memory that the
  population as a whole implies (:func:`estimated_memory_bytes`) must fit in
  :data:`MEMORY_LIMIT_BYTES`.

The bounds are far outside every value in the shipped scenarios and experiments
(tests/test_input_hardening.py checks this); they are there to refuse nonsense, not
to encode what is plausible.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field

if TYPE_CHECKING:
    from model.parameters import ModelParameters

# A working year: 250 working days of 8 hours. The longest stretch of work or delay one
# case, meeting or office task can take.
MAX_HOURS = 2_000.0
# One phone call or registration at the hotline: at most a working day.
MAX_MINUTES = 480.0
# Calendar days: the longest simulation (SimulationParameters.days).
MAX_DAYS = 3_650
# Time limits in working days (F4.1: 3-15 working days; F4.2: 1): at most a year of them.
MAX_WORKING_DAYS = 365.0
# Needs or problems per resident per year (F1.1: 0.98 hotline requests). 100 is one every
# 3.65 days for every resident, infant and elder: more than any population produces.
MAX_RATE_PER_RESIDENT_PER_YEAR = 100.0
# Staff of one office (the district centre of yongchuan.toml has 138).
MAX_STAFF = 10_000
# Staff of one department per 100,000 residents: at most every resident.
MAX_STAFF_PER_100K = 100_000.0
# Departments in one scenario (the brief names 8; a district has a few dozen).
MAX_DEPARTMENTS = 100
# Log-odds: beyond ±20 a probability is within 2e-9 of 0 or 1.
MAX_LOGIT = 20.0
# Scale factors on other parameters (misrouting, review time, age profile).
MAX_MULTIPLIER = 10.0
# Relative weights (reporting channels): only their ratios matter.
MAX_WEIGHT = 1_000.0
# People: a meeting's quorum, a party member's invitations.
MAX_PEOPLE = 100_000

# ---------------------------------------------------------------------------
# Memory implied by a population (see estimated_memory_bytes)
# ---------------------------------------------------------------------------

GIB = 1024**3
# Estimates above this are refused before the model is built. Fixed, so that a scenario
# file validates the same on every machine; ≈20 million residents at the default densities.
MEMORY_LIMIT_BYTES = 32 * GIB
# Interpreter, numpy, scipy, pandas and Mesa before any resident (measured: ≈155 MiB).
BASE_BYTES = 256 * 1024**2
# Per resident: a Mesa agent (≈440 B, docs/design.md "Notes on the libraries") and the population arrays.
RESIDENT_BYTES = 512
# Per social tie (stored non-zero): the ties and influence matrices and their build temporaries.
TIE_BYTES = 40
# Per case of a year: the case table row, per-case tuples and its output row
# (docs/performance.md: ≈0.45 KiB while running, ≈0.75 KiB with the output table).
CASE_BYTES = 768
# Per grid and per community: stations, Mesa cells and network nodes (measured ≈4 KiB each).
GRID_BYTES = 4096
COMMUNITY_BYTES = 4096


def _plain_number(value: Any) -> Any:
    """numpy scalars as Python numbers (a design matrix hands out numpy values)."""
    return value.item() if isinstance(value, np.generic) else value


def _no_negative_zero(value: float) -> float:
    """−0.0 as 0.0: it passes ``ge=0`` but numpy's draws refuse it as a negative scale
    (``initial_trust_sd = -0.0`` validated, then failed the run)."""
    return value + 0.0


# Strict: a bool, a string or (for Integer) a float is refused, not converted.
Integer = Annotated[int, BeforeValidator(_plain_number), Field(strict=True)]
Number = Annotated[
    float,
    BeforeValidator(_plain_number),
    Field(strict=True, allow_inf_nan=False),
    AfterValidator(_no_negative_zero),
]

Flag = Annotated[bool, Field(strict=True)]
"""true or false only: "no" or 0 is refused, not converted (pydantic read them as booleans)."""
NonNegative = Annotated[Number, Field(ge=0.0)]
"""Finite and ≥ 0, without an upper bound: prefer one of the bounded types below."""
Positive = Annotated[Number, Field(gt=0.0)]
"""Finite and > 0, without an upper bound: prefer one of the bounded types below."""
Share = Annotated[Number, Field(ge=0.0, le=1.0)]
Probability = Annotated[Number, Field(ge=0.0, le=1.0)]
Hours = Annotated[Number, Field(ge=0.0, le=MAX_HOURS)]
HoursPerDay = Annotated[Number, Field(ge=0.0, le=24.0)]
"""Hours of one person's working day."""
PositiveHours = Annotated[Number, Field(gt=0.0, le=MAX_HOURS)]
Minutes = Annotated[Number, Field(ge=0.0, le=MAX_MINUTES)]
Days = Annotated[Number, Field(ge=0.0, le=MAX_DAYS)]
PositiveDays = Annotated[Number, Field(gt=0.0, le=MAX_DAYS)]
Day = Annotated[Integer, Field(ge=0, le=MAX_DAYS)]
WorkingDays = Annotated[Number, Field(gt=0.0, le=MAX_WORKING_DAYS)]
RatePerResident = Annotated[Number, Field(ge=0.0, le=MAX_RATE_PER_RESIDENT_PER_YEAR)]
StaffCount = Annotated[Integer, Field(ge=1, le=MAX_STAFF)]
Logit = Annotated[Number, Field(ge=-MAX_LOGIT, le=MAX_LOGIT)]
LogitWeight = Annotated[Number, Field(ge=0.0, le=MAX_LOGIT)]
Multiplier = Annotated[Number, Field(ge=0.0, le=MAX_MULTIPLIER)]
Weight = Annotated[Number, Field(ge=0.0, le=MAX_WEIGHT)]
People = Annotated[Number, Field(ge=0.0, le=MAX_PEOPLE)]


def ties_per_resident(parameters: ModelParameters) -> float:
    """Expected stored ties per resident (non-zeros per row of the symmetric tie matrix).

    Household members (``household_size − 1``), building partners (drawn in pairs, so
    ``2·⌈building_ties/2⌉``) and weak ties, stored at both ends (``2·weak_ties``); see
    ``model.population``.
    """
    social = parameters.social
    building = 2 * math.ceil(social.building_ties_per_resident / 2)
    return (
        (parameters.population.household_size - 1.0) + building + 2 * social.weak_ties_per_resident
    )


def cases_per_resident_per_year(parameters: ModelParameters) -> float:
    """Needs, public-space problems and neighbourhood disputes per resident per year: an
    upper bound on cases."""
    return (
        parameters.demand.needs_per_resident_per_year
        + parameters.detection.public_problems_per_resident_per_year
        + parameters.demand.neighbour_disputes_per_resident_per_year
    )


def bytes_per_resident(parameters: ModelParameters) -> float:
    """Memory per resident: ``RESIDENT_BYTES + TIE_BYTES·ties + CASE_BYTES·cases per year``."""
    return (
        RESIDENT_BYTES
        + TIE_BYTES * ties_per_resident(parameters)
        + CASE_BYTES * cases_per_resident_per_year(parameters)
    )


def estimated_memory_bytes(parameters: ModelParameters) -> float:
    """Peak memory a run of ``parameters`` is expected to need, in bytes.

    ``BASE + residents·(RESIDENT + TIE·ties per resident + CASE·cases per resident per year)
    + grids·GRID + communities·COMMUNITY``: one year of cases, as the case log holds them
    (a longer run that keeps its whole case log holds more). Calibrated on the measured
    peaks of docs/performance.md: yongchuan measured 1,570 MiB, estimated ≈2,200 MiB (its
    needs of a year bound its cases from above).
    """
    residents, grids, communities = _sizes(parameters)
    return (
        BASE_BYTES
        + residents * bytes_per_resident(parameters)
        + grids * GRID_BYTES
        + communities * COMMUNITY_BYTES
    )


def _sizes(parameters: ModelParameters) -> tuple[int, int, int]:
    """Residents, grids and communities of the scenario's layout (community types included)."""
    from model.places import build_layout  # places import this module's types

    layout = build_layout(parameters)
    return layout.residents, layout.n_grids, layout.n_communities


def max_residents(parameters: ModelParameters) -> int:
    """The most residents :data:`MEMORY_LIMIT_BYTES` allows at this scenario's densities."""
    _, grids, communities = _sizes(parameters)
    room = MEMORY_LIMIT_BYTES - BASE_BYTES - grids * GRID_BYTES - communities * COMMUNITY_BYTES
    return max(0, int(room // bytes_per_resident(parameters)))


def memory_problem(parameters: ModelParameters) -> str | None:
    """Why ``parameters`` would need too much memory, or None when the estimate fits."""
    estimate = estimated_memory_bytes(parameters)
    if estimate <= MEMORY_LIMIT_BYTES:
        return None
    residents, grids, _ = _sizes(parameters)
    return (
        f"this scenario has {residents:,} residents in {grids:,} grids: "
        f"≈{estimate / GIB:,.0f} GiB of memory estimated "
        f"({bytes_per_resident(parameters):,.0f} bytes per resident for "
        f"{ties_per_resident(parameters):.1f} ties and "
        f"{cases_per_resident_per_year(parameters):.2f} cases a year); at most "
        f"{max_residents(parameters):,} residents (≈{MEMORY_LIMIT_BYTES / GIB:.0f} GiB) are "
        "allowed: lower population.streets, communities_per_street, grids_per_community or "
        "residents_per_grid"
    )


# Money in yuan: one community's yearly budget or one project's cost (a district's whole
# yearly budget for micro-spaces is far below a billion yuan).
MAX_YUAN = 1_000_000_000.0
Money = Annotated[Number, Field(ge=0.0, le=MAX_YUAN)]
# A rate per year of a slow process (wear of a built space): at most once a day.
RatePerYear = Annotated[Number, Field(ge=0.0, le=365.0)]
