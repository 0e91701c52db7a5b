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
