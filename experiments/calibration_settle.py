"""Settling a calibration: a field set to the level the fitted dynamics keep, then a refit.

Some scenario fields describe a *state* the system starts from rather than a behaviour —
``population.initial_trust_mean`` is the trust residents have on the first day. Fitting
such a field over a short run finds a level the street passes through, not one it keeps:
trust, and the requests that rise with it, drift after the fit's measured period
(docs/design.md "A stationary fitted street"). ``[calibration.settle]`` replaces fitting
it by a fixed point::

    [calibration.settle]
    parameter = "population.initial_trust_mean"   # a real-valued field, not fitted
    outcome = "trust_mean"                         # the run outcome it should equal at the end
    days = 730                                     # measured days of a settling run
    replications = 1                               # settling runs per iteration (their mean)
    iterations = 4                                 # most fixed-point iterations
    tolerance = 0.01                               # stop when one iteration moves it less
    refit_candidates = 16                          # the refit's budget

The calibration then runs in three stages (:func:`experiments.calibration.run_calibration`):

1. **pre-fit** (study ``prefit``): the fitted parameters, with the field at the value the
   scenario (or the experiment's overrides) gives it — the iteration's start;
2. **settle**: at the pre-fit's best parameters, v₀ = that start, and vₖ₊₁ = f(vₖ), the
   mean of ``outcome`` at the end of ``replications`` runs of ``days`` measured days
   started from vₖ, with Aitken's Δ² jump after every two runs (:func:`iterate`), until a
   run moves it by at most ``tolerance`` or ``iterations`` runs are used; the field is set
   to the last run's end value;
3. **refit** (study ``fit``): the fitted parameters again with the field at its settled
   value, starting from the pre-fit's best, ``refit_candidates`` candidates. The check on
   fresh seeds, the profiles and the calibrated scenario use this fit.

At the refit's best one more settling iteration measures the **residual**: how far the
field would still move (stored and written into the scenario's provenance). Settling runs
use the fit's seeds (replications 0 …) and run in the calling process; their results are
stored in the folder's meta, so a resumed calibration does not run them again.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from experiments.errors import InputError
from experiments.experiment_files import SettleSpec
from experiments.runner import Task, execute_task
from experiments.scenario_files import Scenario, apply_overrides

logger = logging.getLogger(__name__)

PREFIT_STUDY = "prefit"


@dataclass(frozen=True)
class SettleStep:
    """One fixed-point iteration: the field's value at the start and at the end of the runs."""

    start: float
    settled: float
    values: tuple[float, ...]  # the outcome at the end of each settling run

    @property
    def step(self) -> float:
        """How far the iteration moved the field."""
        return self.settled - self.start


def iterate(
    settle_once: Callable[[float], SettleStep],
    start: float,
    iterations: int,
    tolerance: float,
    done: Sequence[SettleStep] = (),
    *,
    accelerate: bool = True,
    valid: Callable[[float], bool] = lambda _: True,
) -> list[SettleStep]:
    """Fixed-point iteration vₖ₊₁ = f(vₖ) from ``start`` (steps in ``done`` are reused).

    With ``accelerate`` every second step is followed by Aitken's Δ² extrapolation
    (Steffensen's method): from v, f(v) and f(f(v)) the iteration jumps to
    f(f(v)) − (f(f(v)) − f(v))² / (f(f(v)) − 2 f(v) + v), the exact fixed point of a linear
    contraction. A slow contraction (trust moves a few percent of its gap a year) then
    settles in a few runs instead of dozens. The jump is taken only when it is at most 20
    last steps long and ``valid`` accepts it; otherwise the iteration continues from
    f(f(v)).

    Stops after a step that moves the value by at most ``tolerance``, or after
    ``iterations`` steps (runs). Returns every step; the settled value is the last step's
    ``settled``.
    """
    steps: list[SettleStep] = []
    value = start

    def run(v: float) -> SettleStep:
        k = len(steps)
        step = done[k] if k < len(done) and done[k].start == v else settle_once(v)
        steps.append(step)
        logger.info(
            "settle %d: %.6g → %.6g (step %+.3g)", len(steps), step.start, step.settled, step.step
        )
        return step

    while len(steps) < iterations:
        first = run(value)
        if abs(first.step) <= tolerance or len(steps) >= iterations:
            break
        if not accelerate:
            value = first.settled
            continue
        second = run(first.settled)
        if abs(second.step) <= tolerance:
            break
        value = second.settled
        jump = _aitken(first.start, first.settled, second.settled)
        if jump is not None and valid(jump):
            value = jump
    return steps


def _aitken(x0: float, x1: float, x2: float) -> float | None:
    """Aitken's Δ² limit of x0, x1, x2, or None when it is more than 20 last steps away."""
    denominator = x2 - 2.0 * x1 + x0
    last = x2 - x1
    if denominator == 0.0 or last == 0.0:
        return None
    limit = x2 - last * last / denominator
    extra = limit - x2
    if not math.isfinite(limit) or abs(extra) > 20 * abs(last):
        return None
    return limit


def settle_function(
    base: Scenario,
    parameters: Mapping[str, Any],
    settle: SettleSpec,
    root_seed: int,
    run_fn: Callable[..., Any],
) -> Callable[[float], SettleStep]:
    """f(v): the mean of ``settle.outcome`` at the end of runs of ``parameters`` started at v.

    Each run goes through :func:`experiments.runner.execute_task`, as a candidate's does:
    the same seeds, and a run of years retires its cases into a histogram (issue 13)."""

    def settle_once(value: float) -> SettleStep:
        scenario = apply_overrides(base, {**parameters, settle.parameter: value})
        values = []
        for r in range(settle.replications):
            task = Task("settle", base.name, r, root_seed, scenario, settle.days, run_fn)
            record = execute_task(task)
            if record.status != "ok":
                raise RuntimeError(f"calibration.settle: a settling run failed:\n{record.error}")
            values.append(float(record.summary[settle.outcome]))
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            raise RuntimeError(
                f"calibration.settle: {settle.outcome} is undefined at the end of every "
                f"settling run from {settle.parameter} = {value}"
            )
        return SettleStep(value, sum(finite) / len(finite), tuple(values))

    return settle_once


def buildable(base: Scenario, field: str) -> Callable[[float], bool]:
    """Whether a value of ``field`` gives a valid scenario (the jump's guard)."""

    def check(value: float) -> bool:
        try:
            apply_overrides(base, {field: value})
        except InputError:
            return False
        return True

    return check


def steps_record(steps: Sequence[SettleStep]) -> list[dict[str, Any]]:
    """Steps as JSON-ready dicts (for the results folder's meta)."""
    return [asdict(s) | {"values": list(s.values)} for s in steps]


def steps_from_record(record: Any) -> list[SettleStep]:
    """Steps back from :func:`steps_record`, or its JSON text (an empty list for anything else)."""
    if isinstance(record, str):
        record = json.loads(record)
    if not isinstance(record, list):
        return []
    return [SettleStep(float(r["start"]), float(r["settled"]), tuple(r["values"])) for r in record]


__all__ = [
    "PREFIT_STUDY",
    "SettleStep",
    "buildable",
    "iterate",
    "settle_function",
    "steps_from_record",
    "steps_record",
]
