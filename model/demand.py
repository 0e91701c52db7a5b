"""Residents' needs and public-space problems, drawn day by day with everything exogenous.

Each day's needs are drawn in one vectorised batch from the ``arrivals`` and
``case_attributes`` streams, in a fixed order and independent of the system's
state, so every policy faces the same needs with the same attributes (common
random numbers). Decisions that depend on the state — whether a resident
reports, whether the dispatcher names the right owner — compare these pre-drawn uniforms
against state-dependent probabilities.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from model.cases import CASE_TYPES, REPORTED_TYPES
from model.categorical import choice_cdf, choose
from model.engine_backend import agrees_with_numpy, compiled_engine
from model.parameters import ModelParameters
from model.places import DemandWeights

INQUIRY = CASE_TYPES.index("inquiry")
SUGGESTION = CASE_TYPES.index("suggestion")
PATROL = CASE_TYPES.index("patrol")
SENSOR = CASE_TYPES.index("sensor")
MAX_DEPARTMENTS = 4
logger = logging.getLogger(__name__)
_engine = compiled_engine()
BACKEND = "python" if _engine is None else "compiled"
"""Which code draws and arranges a day's needs: ``"compiled"`` (model/_engine.pyx) or
``"python"`` (numpy)."""
_agree: list[bool] = []  # _draws_agree's answer, once per process


def _draws_agree() -> bool:
    """Whether the compiled engine's ``draw_needs`` gives numpy's numbers here (checked once
    per process on a few days' worth of draws, both ways of choosing residents): it drives
    numpy's generators through their public C interface with copies of numpy's integer
    and shuffle algorithms, which a numpy release could change; if it does, numpy's own
    calls run instead, with a WARNING."""
    return agrees_with_numpy(_agree, _same_draws, "draws of the needs", logger)


def _same_draws() -> bool:
    """Whether both ways of drawing a few days' needs give the same numbers and states."""
    assert _engine is not None
    cdf = np.cumsum(np.linspace(0.5, 1.5, 300))
    rows = np.tile(np.arange(1, 9), (400, 1))
    same = True
    for k, (residents, weights) in enumerate(((300, None), (300, cdf), (2**20, None))):
        draws = []
        for draw in (_engine.draw_needs, DemandGenerator._draws):
            a, b = np.random.default_rng([7, k]).spawn(2)
            got = draw(a, b, 150, 40, residents, weights, 3, rows)
            draws.append((got, a.bit_generator.state, b.bit_generator.state))
        (x, xa, xb), (y, ya, yb) = draws
        same &= xa == ya and xb == yb
        same &= all(p.tobytes() == q.tobytes() for p, q in zip(x, y, strict=True))
    return same


# ``ndarray.all``: the ufunc's reduction it calls, without its Python frame (issue 11)
_ALL = np.logical_and.reduce


def patrol_delays(u: np.ndarray, log_miss: float) -> np.ndarray:
    """Days until a patrol finds each need: geometric, ``floor(log(u) / log_miss) + 1`` with
    ``log_miss`` the log of a day's chance to miss it; a uniform of 0 gives an infinite delay
    (never found), without numpy's divide-by-zero warning."""
    if _ALL(u):  # no uniform is 0: no log of 0 to silence (``errstate`` costs; ninth round)
        logs = np.log(u)
    else:
        with np.errstate(divide="ignore"):
            logs = np.log(u)
    return np.floor(logs / log_miss) + 1.0


UNIFORM_ROWS = (
    "u_report",
    "u_channel",
    "u_desk",
    "u_classify",
    "u_satisfy",
    "u_quality",
    "u_sensor",
    "patrol_delay",
    "u_callback",
    "u_repeat",
    "u_urge",
    "disputed",
    "u_dispute",
    "u_verify",
)
"""The rows of a day's block of uniforms (``NeedBatch.uniforms``), in the order ``draw``
gives them: each ``u_*`` field of the batch is a view of its row; ``patrol_delay`` and
``disputed`` are the uniforms the patrol's delay and the disputed flag are drawn from."""
_PATROL_DELAY_ROW = UNIFORM_ROWS.index("patrol_delay")
_DISPUTED_ROW = UNIFORM_ROWS.index("disputed")  # (the compiled arrange_needs reads row 11)


@dataclass
class NeedBatch:
    """One day's needs; all arrays have one entry per need."""

    resident: np.ndarray  # int64; -1 for a public-space problem nobody owns
    time: np.ndarray  # float64, days
    case_type: np.ndarray  # int8 index into CASE_TYPES (reported types; public problems: PATROL)
    departments: np.ndarray  # int16 (n, MAX_DEPARTMENTS), lead first, -1 padding
    severity: np.ndarray
    minor: np.ndarray  # bool
    work: np.ndarray  # float64 (n, MAX_DEPARTMENTS) staff hours per department
    u_report: np.ndarray
    u_channel: np.ndarray
    u_desk: np.ndarray
    u_classify: np.ndarray
    u_satisfy: np.ndarray
    u_quality: np.ndarray  # whether the first handling resolves it
    u_sensor: np.ndarray
    u_callback: np.ndarray  # whether the call-back reaches the resident
    u_repeat: np.ndarray  # whether an unresolved case brings a repeat contact
    u_urge: np.ndarray  # whether the resident urges an overdue case
    u_dispute: np.ndarray  # whether the owner disputes a case of unclear ownership
    u_verify: np.ndarray  # whether the on-site check catches an unresolved closure
    disputed: np.ndarray  # bool: ownership disputed between departments (职责交叉, 无主)
    patrol_delay_days: np.ndarray  # days until a patrol would find it if nobody reports it
    # bool: the need does not arise after all, its source removed (rate factors below); None: none
    prevented: np.ndarray | None = None
    # the 14 rows of uniforms the ``u_*`` fields are views of (UNIFORM_ROWS), so that the
    # intake gathers a day's kept needs in one call; None: no such block
    uniforms: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.resident.shape[0])


class DayDraws(NamedTuple):
    """A day's draws after its two counts (``DemandGenerator._draws``), in their order."""

    who: np.ndarray  # int64: each need's resident
    time_u: np.ndarray  # each need's and public problem's time of day
    u: np.ndarray  # the types', the leads' and the more-departments' uniforms
    extra_draw: np.ndarray | None  # int64: how many more departments (None: none can)
    offsets: np.ndarray | None  # int64 rows: the more departments' offsets (None: one)
    severity_minor: np.ndarray  # (2, n)
    exponential: np.ndarray  # (n, MAX_DEPARTMENTS): work content in mean hours
    uniforms: np.ndarray  # (14, n)


def draw_residents(
    rng: np.random.Generator, n: int, residents: int, cdf: np.ndarray | None
) -> np.ndarray:
    """``n`` residents whose needs (or disputes) arise: uniform over ``residents``, or in
    proportion to each one's weight when ``cdf`` (their cumulative weights, model/places.py)
    is given; one draw from ``rng`` per resident either way."""
    if cdf is None:
        return rng.integers(0, residents, n)
    return np.minimum(np.searchsorted(cdf, rng.random(n) * float(cdf[-1]), "right"), residents - 1)


class DemandGenerator:
    """Draws each day's needs for a population of ``residents`` over ``grids``."""

    def __init__(
        self,
        parameters: ModelParameters,
        residents: int,
        arrivals: np.random.Generator,
        attributes: np.random.Generator,
        places: DemandWeights | None = None,
    ) -> None:
        self.p = parameters
        self.residents = residents
        # community types (model/places.py): relative need rates, case mixes and public
        # problem rates per place; None: every resident alike (the street baseline)
        self.places = places
        self.arrivals = arrivals
        self.attributes = attributes
        depts = list(parameters.departments.values())
        self.n_departments = len(depts)
        share = np.array([d.case_share for d in depts])
        self.department_share = share / share.sum()
        self.work_mean = np.array([d.work_hours_mean for d in depts])
        self.patrol_visible = np.array([d.patrol_visible for d in depts])
        self.sensor_visible = np.array([d.sensor_visible for d in depts])
        public = np.where(self.patrol_visible | self.sensor_visible, share, 0.0)
        self.public_share = public / public.sum() if public.sum() > 0 else None
        shares = parameters.demand.case_type_shares
        self.type_index = np.array([CASE_TYPES.index(t) for t in REPORTED_TYPES], dtype=np.int8)
        probs = np.array([shares.get(t, 0.0) for t in REPORTED_TYPES])
        self.type_share = probs / probs.sum()
        self.need_rate = parameters.demand.needs_per_resident_per_year / 365.0
        self.public_rate = parameters.detection.public_problems_per_resident_per_year / 365.0
        # Rate hooks: per-grid, per-department factors (≤ 1) on the rate of needs, one array
        # (grids × departments) per hook, composed by multiplication (e.g. micro-space
        # projects, model/projects.py). A drawn need of lead department d in grid g arises
        # with probability Π factor[g, d] (thinning on the hooks' own stream); ``need_grid``
        # gives each need's grid (−1: no hook acts on it). Without hooks nothing is drawn,
        # so runs stay as they were.
        self.rate_factors: list[np.ndarray] = []
        self.need_grid: Callable[[NeedBatch], np.ndarray] | None = None
        self.thinning: np.random.Generator | None = None
        self.needs_under_factors = 0  # drawn needs whose rate a hook lowered (factor < 1)
        # what ``draw`` would otherwise rebuild every day (issue 11): the choices' cumulative
        # distributions (model/categorical.py), each department's mean hours with 0.0 after
        # the last for the padding (−1), the rows of offsets the extra departments shuffle
        self._type_cdf = choice_cdf(self.type_share)
        self._department_cdf = choice_cdf(self.department_share)
        self._public_cdf = None if self.public_share is None else choice_cdf(self.public_share)
        self._work_mean_padded = np.append(self.work_mean.astype(np.float64), 0.0)
        self._offset_rows = np.empty((0, max(self.n_departments - 1, 0)), dtype=np.int64)
        self._extra_rank = np.arange(MAX_DEPARTMENTS - 1)  # ``np.arange(k)``, k ≤ 3, kept
        p_day = parameters.detection.patrol_detection_probability_per_day
        # which code draws and arranges a day's needs: "compiled" (model/_engine.pyx) where
        # the engine is built, else "python" (``_draws``, ``_arrange``); the same batch
        self.backend = BACKEND
        # more departments a need can have than its lead (≤ 0: none)
        self._max_extra = min(parameters.demand.max_departments_per_case, self.n_departments) - 1
        self._log_miss = np.log1p(-p_day) if 0 < p_day < 1 else None

    @staticmethod
    def _draws(
        a: np.random.Generator,
        b: np.random.Generator,
        n_needs: int,
        n_public: int,
        residents: int,
        cdf: np.ndarray | None,
        max_extra: int,
        offset_rows: np.ndarray | None,
    ) -> DayDraws:
        """A day's draws after its two counts, by numpy's calls (the reference of the
        compiled engine's ``draw_needs``, the same numbers and generator states): from
        ``a`` the needs' residents and the times' uniforms; from ``b``, in their fixed
        order, one ``random`` call for the needs' types, the needs' and the public
        problems' lead departments and whether each has more, the number of more
        departments (None: none can have more), their offsets from the lead (None: one
        department), severity and minor, work content and the 14 rows of uniforms."""
        n = n_needs + n_public
        who = draw_residents(a, n_needs, residents, cdf)
        time_u = a.random(n)
        u = b.random(3 * n_needs + 2 * n_public)
        extra_draw = b.integers(0, max_extra, n) if max_extra > 0 else None
        offsets = None if offset_rows is None else b.permuted(offset_rows[:n], axis=1)
        severity_minor = b.random((2, n))
        exponential = b.standard_exponential((n, MAX_DEPARTMENTS))
        uniforms = b.random((14, n))
        return DayDraws(who, time_u, u, extra_draw, offsets, severity_minor, exponential, uniforms)

    def _arrange(
        self,
        day: int,
        who: np.ndarray,
        time_u: np.ndarray,
        u: np.ndarray,
        type_cdf: np.ndarray | None,
        extra_draw: np.ndarray | None,
        offsets: np.ndarray | None,
        severity_minor: np.ndarray,
        exponential: np.ndarray,
        uniforms: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """The reference arithmetic of :meth:`draw` in numpy (what ``arrange_needs`` of the
        compiled engine does, bit for bit): the fields of the day's needs from its draws, in
        the stable order of their times; the uniforms as one array of 14 rows."""
        n_needs = who.shape[0]
        n = time_u.shape[0]
        n_public = n - n_needs
        # ``np.full`` and ``np.argsort`` as the array methods they call (issue 11, eighth
        # round: their Python wrappers cost a small scenario's day more than their work)
        resident = np.empty(n, dtype=np.int64)
        resident[:n_needs] = who
        resident[n_needs:] = -1
        time = day + time_u
        order = time.argsort(kind="stable")
        if type_cdf is None:
            kind = choose(self._type_cdf, u[:n_needs])
        else:  # each resident's place has its own mix (model/places.py)
            kind = (u[:n_needs, None] * type_cdf[:, -1:] >= type_cdf).sum(axis=1)
            kind = np.minimum(kind, len(self.type_index) - 1)
        case_type = np.empty(n, dtype=np.int8)
        case_type[:n_needs] = self.type_index[kind]
        case_type[n_needs:] = PATROL
        lead = np.empty(n, dtype=np.int64)
        lead[:n_needs] = choose(self._department_cdf, u[n_needs : 2 * n_needs])
        if n_public:  # there are public problems only where some department sees them
            assert self._public_cdf is not None
            lead[n_needs:] = choose(self._public_cdf, u[2 * n_needs : 2 * n_needs + n_public])
        departments = np.empty((n, MAX_DEPARTMENTS), dtype=np.int16)
        departments.fill(-1)
        departments[:, 0] = lead
        multi = u[2 * n_needs + n_public :] < self.p.demand.multi_department_share
        extra = np.where(multi, 1 + extra_draw, 0) if extra_draw is not None else np.zeros(n, int)
        # extra departments: distinct, different from the lead (random offsets, fixed draws)
        if offsets is not None:
            k = min(MAX_DEPARTMENTS - 1, self.n_departments - 1)
            departments[:, 1 : 1 + k] = np.where(
                extra[:, None] > self._extra_rank[:k],
                (lead[:, None] + offsets[:, :k]) % self.n_departments,
                -1,
            )
        minor = severity_minor[1] < self.p.demand.minor_share
        work = exponential * self._work_mean_padded[departments]
        # a minor problem is a small job: ``work[minor] *= share`` as one masked ufunc call
        np.multiply(work, self.p.demand.minor_work_share, out=work, where=minor[:, None])
        # the batch in time order: every field reordered by ``order``, as one array per
        # group of fields where the draws allow
        uniforms = uniforms[:, order]
        return (
            resident[order],
            time[order],
            case_type[order],
            departments[order],
            severity_minor[0][order],
            minor[order],
            work[order],
            uniforms,
            uniforms[_DISPUTED_ROW] < self.p.demand.disputed_ownership_share,
        )

    def draw(self, day: int) -> NeedBatch:
        """All needs arising on ``day`` (residents' needs, then public-space problems).

        The draws, their order and their arithmetic are those of ``rng.choice``,
        ``np.tile``, ``np.concatenate`` and a reordering field by field; only the
        bookkeeping around them is done once or for all fields at once (issue 11,
        docs/performance.md "Issue 11, sixth round: the fixed cost of a day").
        """
        a, b = self.arrivals, self.attributes
        places = self.places
        weight = self.residents if places is None else float(places.resident_cdf[-1])
        public_weight = self.residents if places is None else places.public_weight
        n_needs = int(a.poisson(self.need_rate * weight))
        n_public = (
            int(a.poisson(self.public_rate * public_weight)) if self.public_share is not None else 0
        )
        n = n_needs + n_public
        offset_rows = None
        if self.n_departments > 1:
            if self._offset_rows.shape[0] < n:  # the rows ``np.tile`` would make, kept
                self._offset_rows = np.tile(np.arange(1, self.n_departments), (2 * n, 1))
            offset_rows = self._offset_rows
        cdf = None if places is None else places.resident_cdf
        compiled = _engine is not None and self.backend == "compiled"
        # numpy's own calls draw where the compiled draws would not give numpy's numbers
        draw = _engine.draw_needs if compiled and _draws_agree() else self._draws  # type: ignore[union-attr]
        who, time_u, u, extra_draw, offsets, severity_minor, exponential, uniforms = draw(
            a, b, n_needs, n_public, self.residents, cdf, self._max_extra, offset_rows
        )
        # each need's own case-type mix where places have their own (model/places.py)
        type_cdf = None if places is None else places.type_cdf[places.resident_place[who]]
        if compiled:
            assert _engine is not None
            d = self.p.demand
            resident, time, case_type, departments, severity, minor, work, uniforms, disputed = (
                _engine.arrange_needs(
                    day, who, time_u, u, self._type_cdf, type_cdf, self.type_index,
                    self._department_cdf, self._public_cdf, d.multi_department_share,
                    extra_draw, offsets, self.n_departments, severity_minor, d.minor_share,
                    exponential, self._work_mean_padded, d.minor_work_share, uniforms,
                    d.disputed_ownership_share, PATROL,
                )
            )  # fmt: skip
        else:
            resident, time, case_type, departments, severity, minor, work, uniforms, disputed = (
                self._arrange(
                    day, who, time_u, u, type_cdf, extra_draw, offsets, severity_minor,
                    exponential, uniforms,
                )
            )  # fmt: skip
        if self._log_miss is not None:
            delay = patrol_delays(uniforms[_PATROL_DELAY_ROW], self._log_miss)
        else:
            p_day = self.p.detection.patrol_detection_probability_per_day
            delay = np.ones(n) if p_day >= 1 else np.full(n, np.inf)
        batch = NeedBatch(
            resident=resident,
            time=time,
            case_type=case_type,
            departments=departments,
            severity=severity,
            minor=minor,
            work=work,
            **{name: uniforms[row] for row, name in enumerate(UNIFORM_ROWS) if name[:2] == "u_"},
            disputed=disputed,
            patrol_delay_days=delay,
            uniforms=uniforms,
        )
        if self.rate_factors and self.need_grid is not None and self.thinning is not None:
            factor = np.prod(self.rate_factors, axis=0)
            grid = self.need_grid(batch)  # −1: a need no hook acts on
            keep = np.where(grid >= 0, factor[grid, batch.departments[:, 0]], 1.0)
            batch.prevented = self.thinning.random(n) >= keep
            self.needs_under_factors += int((keep < 1.0).sum())
        return batch
