"""The compiled engine's ``arrange_needs`` (model/_engine.pyx) gives, bit for bit, the numpy
arithmetic of ``DemandGenerator._arrange`` on the same draws — ties between times, days of
thousands of needs (the merges of its stable sort), public problems, places with their own
case mixes — and refuses draws that do not fit together (issue 11, twelfth round)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.demand as demand_module
from experiments.scenario_files import load_scenario
from model.demand import MAX_DEPARTMENTS, PATROL, DemandGenerator

pytestmark = pytest.mark.skipif(
    demand_module.BACKEND != "compiled", reason="the compiled engine is not built"
)

CLASSROOM = Path(__file__).resolve().parent.parent / "scenarios" / "classroom.toml"
_BASE = load_scenario(CLASSROOM).parameters


def _draws(g: DemandGenerator, rng: np.random.Generator, n_needs: int, n_public: int,
           ties: int, typed: bool) -> dict[str, object]:  # fmt: skip
    """Draws shaped as ``DemandGenerator.draw`` makes them; with ``ties`` > 0 the times'
    uniforms take only ``ties`` values, so that many needs share a time."""
    n = n_needs + n_public
    time_u = rng.integers(0, ties, n) / ties if ties else rng.random(n)
    max_extra = min(g.p.demand.max_departments_per_case, g.n_departments) - 1
    type_cdf = None
    if typed:
        rows = np.cumsum(rng.random((3, len(g.type_index))) + 0.01, axis=1)
        type_cdf = rows[rng.integers(0, 3, n_needs)]
    return {
        "who": rng.integers(0, 500, n_needs),
        "time_u": time_u,
        "u": rng.random(3 * n_needs + 2 * n_public),
        "type_cdf": type_cdf,
        "extra_draw": rng.integers(0, max_extra, n) if max_extra > 0 else None,
        "offsets": (
            rng.permuted(np.tile(np.arange(1, g.n_departments), (n, 1)), axis=1)
            if g.n_departments > 1
            else None
        ),
        "severity_minor": rng.random((2, n)),
        "exponential": rng.standard_exponential((n, MAX_DEPARTMENTS)),
        "uniforms": rng.random((14, n)),
    }


def _compiled(g: DemandGenerator, day: int, d: dict) -> tuple[np.ndarray, ...]:
    engine = demand_module._engine
    assert engine is not None
    dem = g.p.demand
    return engine.arrange_needs(
        day, d["who"], d["time_u"], d["u"], g._type_cdf, d["type_cdf"], g.type_index,
        g._department_cdf, g._public_cdf, dem.multi_department_share, d["extra_draw"],
        d["offsets"], g.n_departments, d["severity_minor"], dem.minor_share,
        d["exponential"], g._work_mean_padded, dem.minor_work_share, d["uniforms"],
        dem.disputed_ownership_share, PATROL,
    )  # fmt: skip


def _generator(multi: float, max_departments: int, public_rate: float) -> DemandGenerator:
    demand = _BASE.demand.model_copy(
        update={"multi_department_share": multi, "max_departments_per_case": max_departments}
    )
    detection = _BASE.detection.model_copy(
        update={"public_problems_per_resident_per_year": public_rate}
    )
    p = _BASE.model_copy(update={"demand": demand, "detection": detection})
    streams = np.random.default_rng(0).spawn(2)
    return DemandGenerator(p, 500, streams[0], streams[1])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_needs=st.sampled_from([0, 1, 2, 15, 16, 17, 33, 400, 2500]),
    n_public=st.sampled_from([0, 1, 7, 300]),
    ties=st.sampled_from([0, 1, 3, 50]),
    typed=st.booleans(),
    multi=st.sampled_from([0.0, 0.3, 1.0]),
    max_departments=st.integers(1, 4),
    day=st.integers(0, 3000),
)
def test_compiled_arrangement_is_numpys(
    seed: int,
    n_needs: int,
    n_public: int,
    ties: int,
    typed: bool,
    multi: float,
    max_departments: int,
    day: int,
) -> None:
    """Every field, dtype and shape as numpy's arithmetic makes it, bit for bit; equal times
    keep the order the needs were drawn in (the stable order), at any size."""
    g = _generator(multi, max_departments, 0.5 if n_public else 0.0)
    draws = _draws(g, np.random.default_rng(seed), n_needs, n_public, ties, typed)
    got = _compiled(g, day, draws)
    expected = g._arrange(day, *draws.values())  # type: ignore[arg-type]
    assert len(got) == len(expected)
    for x, y in zip(got, expected, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


def test_equal_times_keep_the_order_they_were_drawn_in() -> None:
    """Needs drawn at the very same moment stay in the order they were drawn (residents
    first, then public problems) — the order numpy's stable sort gives."""
    g = _generator(0.0, 1, 0.5)
    draws = _draws(g, np.random.default_rng(3), 40, 20, 1, False)  # all at one time
    resident = _compiled(g, 7, draws)[0]
    assert resident.tolist() == [*draws["who"].tolist(), *([-1] * 20)]  # type: ignore[union-attr]


def test_draws_that_do_not_fit_together_are_refused() -> None:
    """Uniforms of another day's size, or public problems without a departments' mix, are a
    ValueError naming what does not fit, not a read past an array."""
    g = _generator(0.3, 3, 0.0)
    draws = _draws(g, np.random.default_rng(1), 10, 0, 0, False)
    short = {**draws, "u": draws["u"][:-1]}  # type: ignore[index]
    with pytest.raises(ValueError, match="uniforms do not match"):
        _compiled(g, 0, short)
    wrong = {**draws, "uniforms": np.zeros((13, 10))}
    with pytest.raises(ValueError, match="different lengths"):
        _compiled(g, 0, wrong)
    public = _draws(g, np.random.default_rng(1), 10, 2, 0, False)
    g._public_cdf = None  # as where no department sees public problems (DemandGenerator)
    with pytest.raises(ValueError, match="public problems"):
        _compiled(g, 0, public)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_needs=st.sampled_from([0, 1, 9, 250, 3000]),
    n_public=st.sampled_from([0, 1, 40]),
    residents=st.sampled_from([1, 2, 3090, 70_000, 1_148_462, 2**31 + 11, 2**33 + 5]),
    weighted=st.booleans(),
    max_extra=st.integers(-1, 3),
    n_departments=st.sampled_from([1, 2, 8, 37]),
    odd_start=st.booleans(),
)
def test_compiled_draws_are_numpys(
    seed: int,
    n_needs: int,
    n_public: int,
    residents: int,
    weighted: bool,
    max_extra: int,
    n_departments: int,
    odd_start: bool,
) -> None:
    """``draw_needs`` gives numpy's numbers — Lemire's bounded integers for small and large
    ranges, ``permuted`` row by row, uniforms, the residents by weight — and leaves both
    generators in numpy's states, whatever half-used 32-bit draw a generator starts from."""
    engine = demand_module._engine
    assert engine is not None
    cdf = np.cumsum(np.random.default_rng(seed).random(min(residents, 5000)) + 0.1)
    weights = cdf if weighted else None
    rows = (
        np.tile(np.arange(1, n_departments), (n_needs + n_public + 3, 1))
        if n_departments > 1
        else None
    )
    results = []
    for draw in (engine.draw_needs, DemandGenerator._draws):
        a, b = np.random.default_rng(seed).spawn(2)
        if odd_start:  # a 32-bit draw's other half waits in the bit generator's buffer
            a.integers(0, 7)
            b.integers(0, 7)
        got = draw(a, b, n_needs, n_public, residents, weights, max_extra, rows)
        results.append((got, a.bit_generator.state, b.bit_generator.state))
    (x, xa, xb), (y, ya, yb) = results
    for p, q in zip(x, y, strict=True):
        assert (p is None) == (q is None)
        if p is not None:
            assert p.dtype == q.dtype and p.shape == q.shape and p.tobytes() == q.tobytes()
    assert xa == ya and xb == yb


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    residents=st.sampled_from([1, 2, 17, 3090, 70_000]),
    without_weight=st.sampled_from([0.0, 0.5, 0.99]),
    n_needs=st.sampled_from([1, 300, 5000]),
)
def test_residents_drawn_by_weight_are_numpys_whatever_the_guide_knows(
    seed: int, residents: int, without_weight: float, n_needs: int
) -> None:
    """The residents drawn by weight are numpy's: with residents of no weight (equal
    cumulative weights, whose upper bound is the last of them), and after the
    distribution's entries were changed in place with its total kept — the compiled
    search's guide, made once for a distribution, then knows other entries, and each
    answer it finds is checked against the entries themselves."""
    engine = demand_module._engine
    assert engine is not None
    rng = np.random.default_rng(seed)
    weights = rng.random(residents) * (rng.random(residents) >= without_weight)
    weights[-1] += 0.5  # a positive total
    cdf = np.cumsum(weights)

    def drawn() -> list[bytes]:
        results = []
        for draw in (engine.draw_needs, DemandGenerator._draws):
            a, b = np.random.default_rng(seed).spawn(2)
            results.append(draw(a, b, n_needs, 0, residents, cdf, 0, None)[0].tobytes())
        return results

    compiled, numpy = drawn()
    assert compiled == numpy
    top = cdf[-1]
    cdf[:-1] = np.sort(rng.random(residents - 1)) * top  # the same object and total
    compiled, numpy = drawn()
    assert compiled == numpy


def test_draws_that_disagree_with_numpy_fall_back_to_numpy(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """If the compiled draws ever differ from the installed numpy's (a numpy release that
    changed its algorithms), the check at first use says so once and numpy's own calls
    draw every day's needs: the run's results do not depend on the build."""
    engine = demand_module._engine
    assert engine is not None

    class Shifted:
        def __getattr__(self, name: str) -> object:
            return getattr(engine, name)

        @staticmethod
        def draw_needs(*args: object) -> tuple:
            drawn = list(engine.draw_needs(*args))
            drawn[1] = drawn[1] + 1e-9  # the times' uniforms, off by a hair
            return tuple(drawn)

    monkeypatch.setattr(demand_module, "_engine", Shifted())
    monkeypatch.setattr(demand_module, "_agree", [])
    g = _generator(0.3, 3, 0.5)
    plain = _generator(0.3, 3, 0.5)
    plain.backend = "python"
    with caplog.at_level("WARNING", logger="model.demand"):
        for day in range(3):
            assert g.draw(day).time.tobytes() == plain.draw(day).time.tobytes()
    assert demand_module._agree == [False]
    assert sum("needs differ from numpy" in r.getMessage() for r in caplog.records) == 1
