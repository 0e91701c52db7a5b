"""The far ties' layout chosen by timing the trust step's first days (model/far_tie_trial.py,
issue 11): the choice follows the clock, never the results — both layouts give the plain
formula's trust bit for bit, whichever is kept."""

from __future__ import annotations

import copy
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
from trust_checks import plain_trust

import model.far_tie_trial as trial_module
import model.trust_diffusion as diffusion
from model.far_tie_trial import FarTieTrial
from model.parameters import PopulationParameters, SocialParameters
from model.population import Population, build_population

COMPILED = diffusion.BACKEND == "compiled"
needs_engine = pytest.mark.skipif(not COMPILED, reason="the compiled engine is not built")

SMALL = PopulationParameters(
    streets=1, communities_per_street=2, grids_per_community=2, residents_per_grid=40
)


def _layouts() -> tuple[SimpleNamespace, SimpleNamespace]:
    return SimpleNamespace(name="gathered"), SimpleNamespace(name="in place")


def test_the_layouts_take_turns_gathered_first_until_the_choice() -> None:
    """The trial alternates the layouts, the gathered one first, until each has run its
    calls; equal medians keep the gathered layout; calls after the choice change nothing."""
    gathered, in_place = _layouts()
    trial = FarTieTrial(gathered, in_place)  # type: ignore[arg-type]
    ran = []
    for _ in range(2 * trial_module.TRIAL_CALLS):
        layout = trial.turn()
        ran.append(layout.name)
        assert trial.chosen is None
        trial.took(layout, 1.0)
    assert ran == ["gathered", "in place"] * trial_module.TRIAL_CALLS
    assert trial.chosen is gathered  # equal medians: the gathered layout stays
    assert trial.turn() is gathered
    assert trial.took(in_place, 0.0) is gathered  # decided: later calls change nothing
    assert trial.seconds == ([1.0] * trial_module.TRIAL_CALLS,) * 2


@pytest.mark.parametrize(
    ("gathered_seconds", "in_place_seconds", "chosen"),
    [
        ([1, 5, 5, 5], [1, 3, 3, 3], "in place"),  # shorter median
        ([1, 3, 3, 3], [1, 5, 5, 5], "gathered"),
        ([9, 5, 5, 5], [200, 4, 4, 4], "in place"),  # a first call's cost is not counted
        ([1, 5, 5, 100], [1, 6, 6, 6], "gathered"),  # the median, not the mean
        ([9, 5, 5, 5], [0, 4, 5.5, 6], "gathered"),  # a first call's speed is not counted
    ],
)
def test_the_layout_with_the_shorter_median_call_is_kept(
    monkeypatch: pytest.MonkeyPatch,
    gathered_seconds: list[float],
    in_place_seconds: list[float],
    chosen: str,
) -> None:
    """The layout whose median call (each one's first left out) was shorter is kept."""
    monkeypatch.setattr(trial_module, "TRIAL_CALLS", len(gathered_seconds))
    gathered, in_place = _layouts()
    trial = FarTieTrial(gathered, in_place)  # type: ignore[arg-type]
    for g, i in zip(gathered_seconds, in_place_seconds, strict=True):
        trial.took(trial.turn(), g)
        trial.took(trial.turn(), i)
    assert trial.chosen is not None and trial.chosen.name == chosen


def test_one_call_each_is_counted_when_there_is_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    """With one call each (``TRIAL_CALLS`` 1) the first calls are what there is to compare."""
    monkeypatch.setattr(trial_module, "TRIAL_CALLS", 1)
    gathered, in_place = _layouts()
    trial = FarTieTrial(gathered, in_place)  # type: ignore[arg-type]
    assert trial.took(trial.turn(), 2.0) is None
    assert trial.took(trial.turn(), 1.0) is in_place


class _Clock:
    """A clock under which each call of the step on ``slow`` (a layout's name) takes two
    seconds and on the other one second (the step reads it before and after the kernel)."""

    def __init__(self, pop: Population, slow: str) -> None:
        self.pop, self.slow, self.now, self.reads = pop, slow, 0.0, 0

    def __call__(self) -> float:
        self.reads += 1
        if self.reads % 2 == 0:  # after the kernel: the layout that ran is still the turn
            trial = self.pop.far_tie_trial
            assert trial is not None
            ran = trial.turn()
            self.now += 2.0 if ran is getattr(trial, self.slow.replace(" ", "_")) else 1.0
        return self.now


def _far_population(monkeypatch: pytest.MonkeyPatch, seed: int = 4) -> Population:
    """A small population whose ties are mostly far (``FAR_TIE_ROWS`` 1)."""
    monkeypatch.setattr(diffusion, "FAR_TIE_ROWS", 1)
    return build_population(SMALL, SocialParameters(), np.random.default_rng(seed))


def _run(pop: Population, days: int) -> list[list[int]]:
    """``days`` of the step; each day's trust, as bits."""
    out = []
    for _ in range(days):
        diffusion.diffuse_trust(pop, 0.3, 0.05)
        out.append(pop.trust.view(np.int64).tolist())
    return out


@needs_engine
@pytest.mark.parametrize("slow", ["gathered", "in place"])
def test_the_model_keeps_the_faster_layout_and_the_same_trust(
    monkeypatch: pytest.MonkeyPatch, slow: str
) -> None:
    """Under a clock that makes either layout the slower one, the model's step keeps the
    other, lets the trial go and keeps the layout after; every day's trust is the plain
    formula's, bit for bit, before, during and after the trial."""
    pop = _far_population(monkeypatch)
    plain = _far_population(monkeypatch)
    monkeypatch.setattr(trial_module, "clock", _Clock(pop, slow))
    days = 2 * trial_module.TRIAL_CALLS + 3
    trusts = _run(pop, days)
    # the plain formula, day by day (the same matrix; no grouping at all)
    expected = []
    for _ in range(days):
        plain.trust = plain_trust(plain, plain.trust, 0.3, 0.05)
        expected.append(plain.trust.view(np.int64).tolist())
    assert trusts == expected
    assert pop.far_tie_trial is None
    kept_layout = pop.ties_by_degree
    assert kept_layout is not None and kept_layout.source is pop.influence
    assert (kept_layout.far_from.shape[0] == 0) == (slow == "gathered")
    # and the kept one stays: no trial again for the same matrix
    _run(pop, 2)
    assert pop.ties_by_degree is kept_layout and pop.far_tie_trial is None


@needs_engine
def test_the_two_layouts_are_one_grouping_read_two_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """``layouts_of``'s in-place layout is ``of``'s with no far tie, its gathered one is
    ``of``'s, and each slot of the gathered one reads the resident the in-place one reads."""
    pop = _far_population(monkeypatch)
    assert pop.row_weight is not None
    gathered, in_place = diffusion.TiesByDegree.layouts_of(pop.influence, pop.row_weight)
    assert in_place is not None and gathered.far_from.shape[0] > 0
    alone = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=pop.size)
    assert alone.far_from.shape[0] == 0 and in_place.far_to.shape[0] == 0
    for name in diffusion._CHECKED:
        assert np.array_equal(getattr(in_place, name), getattr(alone, name)), name
    assert np.array_equal(gathered.rows, in_place.rows)
    # each slot read where its resident's tie is read in place
    slot_resident = np.empty(gathered.far_from.shape[0], dtype=np.int32)
    slot_resident[gathered.far_to - pop.size] = gathered.far_from
    ties = gathered.ties.copy()
    far = ties >= pop.size
    ties[far] = slot_resident[ties[far] - pop.size]
    assert np.array_equal(ties, in_place.ties)
    assert np.array_equal(
        gathered.ties, diffusion.TiesByDegree.of(pop.influence, pop.row_weight).ties
    )


def test_a_population_without_far_ties_has_nothing_to_choose() -> None:
    """No far tie (a street's or classroom's population): one layout, no trial."""
    pop = build_population(SMALL, SocialParameters(), np.random.default_rng(5))
    assert pop.row_weight is not None
    grouped, in_place = diffusion.TiesByDegree.layouts_of(pop.influence, pop.row_weight)
    assert in_place is None and grouped.far_from.shape[0] == 0
    if COMPILED:
        diffusion.diffuse_trust(pop, 0.3, 0.05)
        assert pop.ties_by_degree is not None and pop.far_tie_trial is None


@needs_engine
def test_a_grouping_put_in_by_hand_ends_the_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """A grouping put in place by hand mid-trial is the one the step runs, and the trial
    of the grouping it replaced is let go."""
    pop = _far_population(monkeypatch)
    _run(pop, 1)
    assert pop.far_tie_trial is not None
    assert pop.row_weight is not None
    mine = diffusion.TiesByDegree.of(pop.influence, pop.row_weight, far_rows=3)
    pop.ties_by_degree = mine
    _run(pop, 2 * trial_module.TRIAL_CALLS + 1)
    assert pop.ties_by_degree is mine and pop.far_tie_trial is None


@needs_engine
def test_another_matrix_starts_a_trial_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another matrix put in mid-trial (its row weights read again) is grouped afresh, with
    a trial of its own from its first call."""
    pop = _far_population(monkeypatch)
    _run(pop, 3)
    first = pop.far_tie_trial
    assert first is not None
    other = _far_population(monkeypatch, seed=6)
    pop.influence, pop.isolated = other.influence, other.isolated
    pop.__post_init__()  # the row weights read again, the grouping dropped
    assert pop.far_tie_trial is None
    _run(pop, 1)
    again = pop.far_tie_trial
    assert again is not None and again is not first and again.gathered.source is other.influence
    assert again.seconds[0] and not again.seconds[1]


@needs_engine
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_population_copied_mid_trial_goes_on_alike(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A population copied or pickled mid-trial carries its own trial of its own grouping,
    which goes on where it was (not again from the start) and ends as the original's."""
    pop = _far_population(monkeypatch)
    _run(pop, 3)
    twin = copy.deepcopy(pop) if how == "deepcopy" else pickle.loads(pickle.dumps(pop))
    trial, original = twin.far_tie_trial, pop.far_tie_trial
    assert trial is not None and original is not None and trial is not original
    assert trial.gathered is twin.ties_by_degree and trial.gathered.source is twin.influence
    assert trial.in_place.source is twin.influence
    assert trial.seconds == original.seconds
    assert _run(twin, 1) == _run(pop, 1)
    assert twin.far_tie_trial is trial and [len(s) for s in trial.seconds] == [2, 2]
    calls = 2 * trial_module.TRIAL_CALLS - 4
    assert _run(twin, calls) == _run(pop, calls)
    assert twin.far_tie_trial is None and pop.far_tie_trial is None


@needs_engine
def test_a_step_that_fails_mid_trial_counts_no_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel that refuses its arguments mid-trial raises, and the trial records nothing
    for that call: the same layout's turn comes again, and the trial ends as it would."""
    pop = _far_population(monkeypatch)
    _run(pop, 1)
    trial = pop.far_tie_trial
    assert trial is not None
    before = ([*trial.seconds[0]], [*trial.seconds[1]])
    turn = trial.turn()
    trust = pop.trust
    pop.trust = trust[:-1]
    with pytest.raises(ValueError, match="different lengths"):
        diffusion.diffuse_trust(pop, 0.3, 0.05)
    assert trial.seconds == before and trial.turn() is turn and pop.far_tie_trial is trial
    pop.trust = trust
    _run(pop, 2 * trial_module.TRIAL_CALLS - 1)
    assert pop.far_tie_trial is None and trial.chosen is pop.ties_by_degree


def test_a_time_for_a_layout_not_on_trial_is_refused() -> None:
    """``took`` for a layout that is neither of the trial's is an error, not a time counted
    for the gathered one."""
    gathered, in_place = _layouts()
    trial = FarTieTrial(gathered, in_place)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not on trial"):
        trial.took(SimpleNamespace(name="other"), 1.0)  # type: ignore[arg-type]
    assert trial.seconds == ([], [])


def test_the_layout_a_run_used_is_told_for_the_benchmarks_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``far_tie_layout`` tells a benchmark how the step read the ties: not grouped before a
    step, no far ties for a small population, on trial, then the layout kept."""
    near = build_population(SMALL, SocialParameters(), np.random.default_rng(7))
    assert diffusion.far_tie_layout(near) == "not grouped"  # no step yet
    _run(near, 1)
    assert diffusion.far_tie_layout(near) == ("no far ties" if COMPILED else "not grouped")
    if not COMPILED:
        return
    for slow, told in (("gathered", "in place"), ("in place", "gathered")):
        pop = _far_population(monkeypatch)
        monkeypatch.setattr(trial_module, "clock", _Clock(pop, slow))
        _run(pop, 1)
        assert diffusion.far_tie_layout(pop) == "on trial"
        _run(pop, 2 * trial_module.TRIAL_CALLS)
        assert diffusion.far_tie_layout(pop) == told
