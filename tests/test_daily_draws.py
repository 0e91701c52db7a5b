"""A day's draws (needs, disputes, top-down settlements, linked requests) are, bit for bit,
those of the plain numpy calls they replace, and leave every generator in the same state
(issue 11: the fixed cost of a simulated day)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import model.demand as demand_module
from experiments.scenario_files import load_scenario
from model.bundles import OneThing
from model.cases import REPORTED_TYPES
from model.demand import MAX_DEPARTMENTS, PATROL, DemandGenerator, NeedBatch, draw_residents
from model.mediation import NEIGHBOUR_DISPUTE, DisputeDemand
from model.meetings import SCALAR_BINOMIALS, _binomials
from model.parameters import ModelParameters
from model.places import DemandWeights

CLASSROOM = Path(__file__).resolve().parent.parent / "scenarios" / "classroom.toml"
_BASE = load_scenario(CLASSROOM).parameters
# the arithmetic that arranges a day's needs: numpy's always, the compiled engine's where built
BACKENDS = ["python"] if demand_module.BACKEND == "python" else ["python", "compiled"]


def _parameters(
    multi: float, max_departments: int, p_day: float, public_rate: float
) -> ModelParameters:
    demand = _BASE.demand.model_copy(
        update={"multi_department_share": multi, "max_departments_per_case": max_departments}
    )
    detection = _BASE.detection.model_copy(
        update={
            "patrol_detection_probability_per_day": p_day,
            "public_problems_per_resident_per_year": public_rate,
        }
    )
    return _BASE.model_copy(update={"demand": demand, "detection": detection})


def _places(rng: np.random.Generator, residents: int, kinds: int) -> DemandWeights:
    """Random community types: resident weights, places and per-place case mixes."""
    type_cdf = np.cumsum(rng.random((kinds, len(REPORTED_TYPES))) + 0.01, axis=1)
    return DemandWeights(
        resident_cdf=np.cumsum(rng.random(residents) + 0.1),
        resident_place=rng.integers(0, kinds, residents),
        type_cdf=type_cdf,
        public_weight=float(residents) * 0.8,
        public_grid_cdf=np.ones(1),
    )


def _plain_demand_draw(g: DemandGenerator, day: int) -> NeedBatch:
    """DemandGenerator.draw as it was written before issue 11's sixth round (plain numpy)."""
    a, b = g.arrivals, g.attributes
    places = g.places
    weight = g.residents if places is None else float(places.resident_cdf[-1])
    public_weight = g.residents if places is None else places.public_weight
    n_needs = int(a.poisson(g.need_rate * weight))
    n_public = int(a.poisson(g.public_rate * public_weight)) if g.public_share is not None else 0
    n = n_needs + n_public
    cdf = None if places is None else places.resident_cdf
    who = draw_residents(a, n_needs, g.residents, cdf)
    resident = np.concatenate((who, np.full(n_public, -1)))
    time = day + a.random(n)
    order = np.argsort(time, kind="stable")
    if places is None:
        kind = b.choice(len(g.type_index), n_needs, p=g.type_share)
    else:
        cdf = places.type_cdf[places.resident_place[who]]
        kind = (b.random(n_needs)[:, None] * cdf[:, -1:] >= cdf).sum(axis=1)
        kind = np.minimum(kind, len(g.type_index) - 1)
    case_type = np.concatenate(
        (g.type_index[kind], np.full(n_public, PATROL, dtype=np.int8))
    ).astype(np.int8)
    lead = np.concatenate(
        (
            b.choice(g.n_departments, n_needs, p=g.department_share),
            b.choice(g.n_departments, n_public, p=g.public_share) if n_public else np.empty(0, int),
        )
    )
    departments = np.full((n, MAX_DEPARTMENTS), -1, dtype=np.int16)
    departments[:, 0] = lead
    max_extra = min(g.p.demand.max_departments_per_case, g.n_departments) - 1
    multi = b.random(n) < g.p.demand.multi_department_share
    extra = (
        np.where(multi, 1 + b.integers(0, max(max_extra, 1), n), 0)
        if max_extra > 0
        else np.zeros(n, int)
    )
    offsets = (
        b.permuted(np.tile(np.arange(1, g.n_departments), (n, 1)), axis=1)
        if g.n_departments > 1
        else None
    )
    for k in range(1, MAX_DEPARTMENTS):
        has = extra >= k
        if offsets is not None and has.any():
            departments[has, k] = (lead[has] + offsets[has, k - 1]) % g.n_departments
    severity = b.random(n)
    minor = b.random(n) < g.p.demand.minor_share
    work = b.exponential(1.0, (n, MAX_DEPARTMENTS)) * np.where(
        departments >= 0, g.work_mean[np.maximum(departments, 0)], 0.0
    )
    work[minor] *= g.p.demand.minor_work_share
    uniforms = b.random((14, n))
    p_day = g.p.detection.patrol_detection_probability_per_day
    with np.errstate(divide="ignore"):
        delay = (
            np.floor(np.log(uniforms[7]) / np.log1p(-p_day)) + 1.0
            if 0 < p_day < 1
            else (np.ones(n) if p_day >= 1 else np.full(n, np.inf))
        )
    names = ("report", "channel", "desk", "classify", "satisfy", "quality", "sensor")
    batch = NeedBatch(
        resident=resident,
        time=time,
        case_type=case_type,
        departments=departments,
        severity=severity,
        minor=minor,
        work=work,
        **{f"u_{name}": uniforms[k] for k, name in enumerate(names)},
        u_callback=uniforms[8],
        u_repeat=uniforms[9],
        u_urge=uniforms[10],
        disputed=uniforms[11] < g.p.demand.disputed_ownership_share,
        u_dispute=uniforms[12],
        u_verify=uniforms[13],
        patrol_delay_days=delay,
    )
    for field in batch.__dataclass_fields__:
        if field not in ("prevented", "uniforms"):
            setattr(batch, field, getattr(batch, field)[order])
    batch.uniforms = uniforms[:, order]  # the block the u_* fields are rows of
    if g.rate_factors and g.need_grid is not None and g.thinning is not None:
        factor = np.prod(g.rate_factors, axis=0)
        grid = g.need_grid(batch)
        keep = np.where(grid >= 0, factor[grid, batch.departments[:, 0]], 1.0)
        batch.prevented = g.thinning.random(n) >= keep
        g.needs_under_factors += int((keep < 1.0).sum())
    return batch


def _assert_same_batch(got: NeedBatch, expected: NeedBatch) -> None:
    for field in got.__dataclass_fields__:
        x, y = getattr(got, field), getattr(expected, field)
        if x is None or y is None:
            assert x is None and y is None, field
            continue
        assert x.dtype == y.dtype and x.shape == y.shape, field
        assert x.tobytes() == y.tobytes(), f"{field} differs"


def _same_state(*pairs: tuple[np.random.Generator, np.random.Generator]) -> bool:
    return all(x.bit_generator.state == y.bit_generator.state for x, y in pairs)


def _generator_pair(
    p: ModelParameters, residents: int, seed: int, places: DemandWeights | None, hooks: bool
) -> tuple[DemandGenerator, DemandGenerator]:
    pair = []
    for _ in range(2):
        streams = np.random.default_rng(seed).spawn(3)
        g = DemandGenerator(p, residents, streams[0], streams[1], places)
        if hooks:  # a rate hook (as micro-space projects add) on every third resident's grid
            g.rate_factors = [
                np.full((4, g.n_departments), 0.7),
                np.full((4, g.n_departments), 0.9),
            ]
            g.need_grid = lambda batch: np.where(batch.resident % 3 == 0, batch.resident % 4, -1)
            g.thinning = streams[2]
        pair.append(g)
    return pair[0], pair[1]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    residents=st.sampled_from([1, 40, 3000]),
    multi=st.sampled_from([0.0, 0.12, 1.0]),
    max_departments=st.integers(1, 4),
    p_day=st.sampled_from([0.0, 0.3, 1.0]),
    public_rate=st.sampled_from([0.0, 0.5]),
    typed=st.booleans(),
    hooks=st.booleans(),
    backend=st.sampled_from(BACKENDS),
)
def test_a_days_needs_are_the_plain_numpy_draws(
    seed: int,
    residents: int,
    multi: float,
    max_departments: int,
    p_day: float,
    public_rate: float,
    typed: bool,
    hooks: bool,
    backend: str,
) -> None:
    """DemandGenerator.draw gives the plain implementation's batch, field by field, bit for
    bit, and leaves both streams (and the hooks' thinning) where the plain draws leave them,
    whichever arithmetic arranges the needs (numpy's, or the compiled engine's)."""
    p = _parameters(multi, max_departments, p_day, public_rate)
    places = _places(np.random.default_rng(seed), residents, 3) if typed else None
    fast, plain = _generator_pair(p, residents, seed, places, hooks)
    fast.backend = backend
    for day in range(12):
        _assert_same_batch(fast.draw(day), _plain_demand_draw(plain, day))
        assert _same_state((fast.arrivals, plain.arrivals), (fast.attributes, plain.attributes)), (
            f"day {day}: a stream moved differently"
        )
    if hooks:
        assert fast.thinning is not None and plain.thinning is not None
        assert _same_state((fast.thinning, plain.thinning))
        assert fast.needs_under_factors == plain.needs_under_factors


def test_standard_exponential_is_exponential_with_scale_one() -> None:
    """The need's work draws: standard_exponential(shape) == exponential(1.0, shape), state too."""
    for seed in range(20):
        x, y = np.random.default_rng(seed), np.random.default_rng(seed)
        shape = (seed, MAX_DEPARTMENTS)
        assert x.standard_exponential(shape).tobytes() == y.exponential(1.0, shape).tobytes()
        assert _same_state((x, y))


def _plain_dispute_draw(d: DisputeDemand, day: int) -> NeedBatch:
    """DisputeDemand.draw as it was before issue 11's sixth round."""
    rng = d.rng
    n = int(rng.poisson(d.rate * d.weight)) if d.rate > 0 else 0
    departments = np.full((n, MAX_DEPARTMENTS), -1, dtype=np.int16)
    departments[:, 0] = rng.choice(len(d.department_share), n, p=d.department_share)
    work = np.zeros((n, MAX_DEPARTMENTS))
    work[:, 0] = 1.0
    u = rng.random((13, n))
    time = np.sort(day + rng.random(n))
    resident = draw_residents(rng, n, d.residents, d.resident_cdf)
    names = ("report", "channel", "desk", "classify", "satisfy", "quality", "sensor")
    return NeedBatch(
        resident=resident,
        time=time,
        case_type=np.full(n, NEIGHBOUR_DISPUTE, dtype=np.int8),
        departments=departments,
        severity=u[0],
        minor=np.zeros(n, dtype=bool),
        work=work,
        **{f"u_{name}": u[k + 1] for k, name in enumerate(names)},
        u_callback=u[8],
        u_repeat=u[9],
        u_urge=u[10],
        u_dispute=u[11],
        u_verify=u[12],
        disputed=np.zeros(n, dtype=bool),
        patrol_delay_days=np.full(n, np.inf),
    )


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    residents=st.sampled_from([1, 300, 20_000, 200_000]),
    typed=st.booleans(),
)
def test_a_days_disputes_are_the_plain_numpy_draws(seed: int, residents: int, typed: bool) -> None:
    """DisputeDemand.draw gives the plain implementation's batch (days without disputes
    included) and leaves the disputes stream in the same state."""
    places = _places(np.random.default_rng(seed), residents, 2) if typed else None
    fast = DisputeDemand(_BASE, residents, np.random.default_rng(seed), places)
    plain = DisputeDemand(_BASE, residents, np.random.default_rng(seed), places)
    for day in range(15):
        _assert_same_batch(fast.draw(day), _plain_dispute_draw(plain, day))
        assert _same_state((fast.rng, plain.rng))


def test_a_day_without_disputes_gives_a_read_only_empty_batch() -> None:
    """No dispute today: an empty batch nobody can write into (it is shared between days)."""
    d = DisputeDemand(_BASE, 1, np.random.default_rng(0))
    empties = [batch for batch in (d.draw(day) for day in range(50)) if len(batch) == 0]
    assert empties, "one resident has no dispute on most days"
    for field in empties[0].__dataclass_fields__:
        value = getattr(empties[0], field)
        assert value is None or (value.size == 0 and not value.flags.writeable), field


@settings(max_examples=150, deadline=None)
@given(
    counts=st.lists(
        st.one_of(st.just(0), st.integers(1, 3), st.integers(4, 5000)),
        min_size=0,
        max_size=2 * SCALAR_BINOMIALS + 10,
    ),
    p=st.sampled_from([0.0, 0.003, 0.2, 0.7, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_binomials_are_numpys_array_binomial(counts: list[int], p: float, seed: int) -> None:
    """_binomials(rng, n, p) == rng.binomial(n, p) for an int64 array with zeros, below and
    above the scalar threshold, and leaves the generator in the same state."""
    n = np.array(counts, dtype=np.int64)
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    got = _binomials(ours, n, p)
    expected = numpys.binomial(n, p)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    assert _same_state((ours, numpys))
    # and the generators' binomial caches agree: the next draws are the same
    assert ours.binomial(7, 0.4, 5).tolist() == numpys.binomial(7, 0.4, 5).tolist()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 12),
    multi=st.sampled_from([0.0, 0.3, 1.0]),
    day=st.integers(0, 400),
)
def test_linked_requests_are_those_of_the_days_generator(
    seed: int, n: int, multi: float, day: int
) -> None:
    """OneThing.draw links the needs the plain rule links, also on a day with no candidate
    (no multi-department resident need), where it skips the day's generator."""
    rng = np.random.default_rng(seed)
    departments = np.full((n, MAX_DEPARTMENTS), -1, dtype=np.int16)
    departments[:, 0] = rng.integers(0, 5, n)
    departments[rng.random(n) < multi, 1] = 2
    resident = np.where(rng.random(n) < 0.8, rng.integers(0, 100, n), -1)
    demand = _BASE.demand.model_copy(update={"linked_request_share": 0.5})
    one_thing = OneThing(demand, _BASE.intake, np.random.default_rng(seed))
    one_thing.linked = frozenset({-1})  # yesterday's
    one_thing.draw(departments, resident, 1000, day)
    u = np.random.default_rng([one_thing.key, 0, day]).random(n)
    plain = (departments[:, 1] >= 0) & (resident >= 0) & (u < 0.5)
    assert one_thing.linked == frozenset((1000 + np.flatnonzero(plain)).tolist())
