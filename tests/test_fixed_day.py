"""A day's fixed work without numpy's and scipy's Python wrappers (issue 11, eighth round):
the trust product into kept work space, the daily reporters and counts by the ufuncs'
reductions give, bit for bit, what the plain calls give."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.scenario_files import load_scenario
from model.governance import GovernanceModel
from model.meetings import Deliberation
from model.projects import IN_USE
from model.sparse_product import csr_product_into

CLASSROOM = Path(__file__).resolve().parent.parent / "scenarios" / "classroom.toml"


def _bits(a: np.ndarray) -> list[int]:
    view = np.int32 if a.dtype == np.float32 else np.int64
    return a.view(view).tolist()  # equal bits: −0.0 and NaN payloads too


_VALUES = st.sampled_from([0.0, -0.0, 1.0, 0.5, 1.0 / 3.0, 1e-30, -2.5, 7.0, 1e30])


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 5), min_size=1, max_size=10),
    columns=st.integers(1, 12),
    dtype=st.sampled_from([np.float32, np.float64]),
    index=st.sampled_from([np.int32, np.int64]),
    x=st.lists(_VALUES, min_size=12, max_size=12),
    seed=st.integers(0, 2**16),
)
def test_product_into_equals_dot_bit_for_bit(
    counts: list[int],
    columns: int,
    dtype: type[np.floating],
    index: type[np.signedinteger],
    x: list[float],
    seed: int,
) -> None:
    """Any CSR matrix (empty rows, unsorted and repeated columns summed as stored, either
    index width) times any vector: the bits of ``matrix.dot(x)``, whatever ``out`` held."""
    rng = np.random.default_rng(seed)
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(index)
    nnz = int(indptr[-1])
    indices = rng.integers(0, columns, nnz).astype(index)
    data = rng.choice(np.array([0.25, 1.0 / 3.0, -0.0, 1.0, 1e-20, -3.0], dtype=dtype), nnz)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(counts), columns))
    vector: np.ndarray = np.array(x[:columns], dtype=dtype)
    out: np.ndarray = np.full(len(counts), np.nan, dtype=dtype)
    result = csr_product_into(matrix, vector, out)
    assert result is out
    assert _bits(out) == _bits(matrix.dot(vector))


def test_product_into_falls_back_to_the_public_product(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scipy without the private kernel or stored shape: the public product, same bits."""
    import model.sparse_product as product

    rng = np.random.default_rng(3)
    matrix = sp.random(40, 30, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    x = rng.random(30).astype(np.float32)
    expected = csr_product_into(matrix, x, np.empty(40, np.float32)).copy()
    for name, value in (("_csr_matvec", None), ("_PRIVATE", False)):
        with monkeypatch.context() as patch:
            patch.setattr(product, name, value)
            out = np.full(40, np.nan, np.float32)
            assert csr_product_into(matrix, x, out) is out
            assert _bits(out) == _bits(expected) == _bits(matrix.dot(x))


def test_product_into_refuses_what_it_would_have_to_convert() -> None:
    """Another dtype, shape or format, or a strided vector: a TypeError naming what it needs,
    and ``out`` left as it was."""
    matrix = sp.csr_matrix(np.eye(3, dtype=np.float32))
    x = np.ones(3, dtype=np.float32)
    cases: list[tuple[Any, np.ndarray, np.ndarray]] = [
        (matrix, x.astype(np.float64), np.zeros(3, np.float32)),
        (matrix, x, np.zeros(3, np.float64)),
        (matrix, x, np.zeros(4, np.float32)),
        (matrix, np.ones(6, np.float32)[::2], np.zeros(3, np.float32)),
        (matrix.tocsc(), x, np.zeros(3, np.float32)),
        (matrix.toarray(), x, np.zeros(3, np.float32)),
    ]
    for bad_matrix, bad_x, bad_out in cases:
        before = bad_out.copy()
        with pytest.raises(TypeError, match="csr_product_into needs"):
            csr_product_into(bad_matrix, bad_x, bad_out)
        assert _bits(bad_out) == _bits(before)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(0.0, 1.0) | _VALUES, min_size=2, max_size=300))
def test_trust_mean_reporter_is_the_arrays_mean(values: list[float]) -> None:
    """The ``trust_mean`` column: the bits of ``float(trust.mean())`` for any trust values
    (summed by numpy here: no trust step ran; the step's own sum is tested against numpy's in
    tests/test_trust_diffusion.py)."""
    trust = np.array(values)
    model = SimpleNamespace(population=SimpleNamespace(trust=trust), _trust_total=None)
    reporters = GovernanceModel._daily_reporters(model)  # type: ignore[arg-type]
    value = reporters["trust_mean"](model)  # type: ignore[arg-type]
    assert type(value) is float
    assert _bits(np.array([value])) == _bits(np.array([float(trust.mean())]))


def test_a_days_counts_are_the_plain_sums() -> None:
    """Over 60 classroom days: every reporter gives the plain expression's value and type,
    and the issues raised grow by the plain sum of the day's Poisson draws, as an int."""
    model = GovernanceModel(load_scenario(CLASSROOM).parameters, seed=3)
    reporters = model._daily_reporters()
    drawn: list[np.ndarray] = []
    model.deliberation.issue_rng = _Recording(model.deliberation.issue_rng, drawn)
    for _ in range(60):
        raised = model.deliberation.issues_raised
        drawn.clear()
        model.step()
        d: Deliberation = model.deliberation
        stations = model.department_stations
        plain = {
            "trust_mean": float(model.population.trust.mean()),
            "department_queue": int(sum(s.queue_length for s in stations)),
            "department_busy_hours": float(sum(s.busy_hours for s in stations)),
            "collective_issues_open": int(d.open_issues.sum() + d.in_progress.sum()),
            "projects_in_use": int((model.projects.status == IN_USE).sum()),
        }
        for name, expected in plain.items():
            value = reporters[name](model)
            assert type(value) is type(expected) and value == expected, name
        assert len(drawn) == 1
        assert type(d.issues_raised) is int
        assert d.issues_raised - raised == sum(int(k) for k in drawn[0])
    assert model.datacollector.model_vars["trust_mean"][-1] == float(model.population.trust.mean())


class _Recording:
    """A generator whose Poisson draws are recorded (every other method as it is)."""

    def __init__(self, rng: np.random.Generator, drawn: list[np.ndarray]) -> None:
        self._rng = rng
        self._drawn = drawn

    def poisson(self, *args: Any, **kwargs: Any) -> Any:
        values = self._rng.poisson(*args, **kwargs)
        self._drawn.append(np.array(values, copy=True))
        return values

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rng, name)
