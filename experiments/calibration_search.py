"""The calibration's search: parameter space, study plans, the objective, ask/tell, stopping.

:mod:`experiments.calibration` runs candidates and stores them; this module decides which
candidates to run. A *study* is one optimisation — the main fit, the check of the best
candidate on fresh seeds, or one point of a parameter's profile — described by a
:class:`StudyPlan`. Proposals come from Optuna (TPE, or random) through ask/tell; the study
is rebuilt from the stored history before every batch and the sampler seeded from (root
seed, study, batch), so proposals are a pure function of what is stored (resume reaches the
same result). The objective is the weighted sum of squared standardised distances
(:func:`objective_value`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.experiment_files import CalibrateSpec, FittedParameterSpec

FIT_STUDY = "fit"
CHECK_STUDY = "check"  # the best candidate again, on R fresh seeds


@dataclass(frozen=True)
class Dimension:
    """One fitted parameter's search space."""

    name: str
    lower: float
    upper: float
    log: bool = False
    integer: bool = False

    @classmethod
    def from_spec(cls, spec: FittedParameterSpec) -> Dimension:
        """From the experiment file's ``[[calibration.parameters]]`` entry."""
        return cls(spec.name, spec.lower, spec.upper, spec.log, spec.integer)

    def distribution(self) -> Any:
        """The Optuna distribution of this dimension."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(self.lower), int(self.upper), log=self.log)
        return FloatDistribution(self.lower, self.upper, log=self.log)

    def grid(self, points: int) -> list[float | int]:
        """``points`` values spread over the bounds (geometric on a log scale; unique integers)."""
        spread = (
            np.geomspace(self.lower, self.upper, points)
            if self.log
            else np.linspace(self.lower, self.upper, points)
        )
        if self.integer:
            return sorted({round(float(v)) for v in spread})
        return [float(v) for v in spread]


@dataclass(frozen=True)
class StudyPlan:
    """One optimisation: the main fit, or one point of a parameter's profile.

    Attributes:
        study: ``"fit"`` or ``"profile/<parameter>/<k>"``.
        index: 0 for the fit; 1, 2, … for profile points (mixed into the sampler seeds).
        prefix: point-id prefix of its candidates.
        free: the dimensions it searches.
        fixed: values held fixed (a profile's pinned parameter).
        budget: most candidates.
        batch: candidates proposed together.
        patience: batches without improvement before stopping (None: use the budget).
        startup: random candidates before TPE.
        first: the first candidate's free values (a profile's warm start), or None.
    """

    study: str
    index: int
    prefix: str
    free: tuple[Dimension, ...]
    fixed: dict[str, float | int]
    budget: int
    batch: int
    patience: int | None
    startup: int
    first: dict[str, float | int] | None = None


@dataclass(frozen=True)
class Candidate:
    """One stored candidate (a row of ``calibration_candidates``)."""

    point_id: str
    study: str
    number: int
    batch: int
    parameters: dict[str, Any]
    objective: float | None
    status: str  # pending | complete | failed
    note: str | None = None


def objective_value(
    targets: Sequence[Any], values: Mapping[str, Sequence[float]]
) -> tuple[float | None, str | None]:
    """J for one candidate from its replications' outcome values (see the module docstring).

    Args:
        targets: the fit targets (``experiments.targets.Target``).
        values: outcome name → the values of the R replications, in replication order.

    Returns:
        ``(J, None)``, or ``(None, reason)`` when a fit outcome has no finite value.
    """
    total = 0.0
    for target in targets:
        data = np.asarray(values.get(target.outcome, []), dtype=float)
        data = data[np.isfinite(data)]
        if data.size == 0:
            return None, f"outcome {target.outcome} is undefined in every replication"
        distance = (float(data.mean()) - target.value) / target.scale
        total += target.weight * distance * distance
    return total, None


def best_candidate(candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate with the lowest objective (the earliest on ties)."""
    scored = [c for c in candidates if c.objective is not None and c.status == "complete"]
    if not scored:
        return None
    return min(scored, key=lambda c: (c.objective, c.number))


def stop_reason(plan: StudyPlan, history: Sequence[Candidate]) -> str | None:
    """Why ``plan`` should propose no more candidates, or None to go on."""
    if len(history) >= plan.budget:
        return f"budget of {plan.budget} candidates used"
    if plan.patience is None or not history:
        return None
    best = best_candidate(history)
    last_batch = max(c.batch for c in history)
    best_batch = best.batch if best is not None else min(c.batch for c in history)
    if last_batch - best_batch >= plan.patience:
        return f"no better candidate in the last {plan.patience} batches"
    return None


def sampler_seed(root: int, study_index: int, batch: int) -> int:
    """The sampler seed of one batch of one study: a pure function of the stored history's place."""
    sequence = np.random.SeedSequence([int(root) % 2**63, 0xCA11B, study_index, batch])
    return int(sequence.generate_state(1)[0])


def propose(
    plan: StudyPlan,
    history: Sequence[Candidate],
    count: int,
    batch: int,
    root_seed: int,
    sampler: str,
) -> list[dict[str, Any]]:
    """Ask the optimiser for ``count`` candidates given the stored ``history`` (ask/tell).

    The study is rebuilt from the history in stored order and the sampler seeded from
    (root seed, study, batch): the same history always gives the same proposals.
    """
    if not plan.free:
        return [{} for _ in range(count)]
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed = sampler_seed(root_seed, plan.index, batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        chosen: optuna.samplers.BaseSampler
        if sampler == "random":
            chosen = optuna.samplers.RandomSampler(seed=seed)
        else:
            chosen = optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=plan.startup,
                multivariate=True,
                constant_liar=True,
            )
        study = optuna.create_study(direction="minimize", sampler=chosen)
        distributions = {d.name: d.distribution() for d in plan.free}
        for candidate in history:
            params = {d.name: candidate.parameters[d.name] for d in plan.free}
            if candidate.objective is not None and candidate.status == "complete":
                trial = create_trial(
                    params=params, distributions=distributions, value=candidate.objective
                )
            else:
                trial = create_trial(
                    params=params, distributions=distributions, state=TrialState.FAIL
                )
            study.add_trial(trial)
        proposals: list[dict[str, Any]] = []
        if not history and plan.first is not None:
            proposals.append(dict(plan.first))
        while len(proposals) < count:
            asked = study.ask(distributions)
            proposals.append({d.name: asked.params[d.name] for d in plan.free})
    return proposals


def fit_plan(spec: CalibrateSpec) -> StudyPlan:
    """The main fit's plan."""
    block = spec.calibration
    return StudyPlan(
        study=FIT_STUDY,
        index=0,
        prefix="c",
        free=tuple(Dimension.from_spec(p) for p in block.parameters),
        fixed={},
        budget=block.max_candidates,
        batch=block.batch,
        patience=block.patience,
        startup=block.startup_candidates,
    )


def check_plan(spec: CalibrateSpec, best: Mapping[str, Any]) -> StudyPlan:
    """The best candidate once more, on fresh seeds (replications R … 2R−1).

    The best of many noisy candidates looks better on the seeds it was chosen on than it
    is (the winner's curse); the fit report shows the targets on these fresh seeds.
    """
    return StudyPlan(
        study=CHECK_STUDY,
        index=999_999,
        prefix="check",
        free=(),
        fixed=dict(best),
        budget=1,
        batch=1,
        patience=None,
        startup=1,
    )


def profile_plans(spec: CalibrateSpec, best: Mapping[str, Any]) -> list[StudyPlan]:
    """One plan per grid value of each fitted parameter (empty without ``[calibration.profile]``)."""
    block = spec.calibration
    if block.profile is None:
        return []
    dimensions = [Dimension.from_spec(p) for p in block.parameters]
    plans = []
    for i, pinned in enumerate(dimensions):
        free = tuple(d for d in dimensions if d.name != pinned.name)
        budget = block.profile.candidates if free else 1
        for k, value in enumerate(pinned.grid(block.profile.points)):
            plans.append(
                StudyPlan(
                    study=f"profile/{pinned.name}/{k}",
                    index=1 + i * 1000 + k,
                    prefix=f"p{i}k{k}-",
                    free=free,
                    fixed={pinned.name: value},
                    budget=budget,
                    batch=min(block.batch, budget),
                    patience=None,
                    startup=min(block.startup_candidates, budget),
                    first={d.name: best[d.name] for d in free} if free else None,
                )
            )
    return plans


__all__ = [
    "CHECK_STUDY",
    "FIT_STUDY",
    "Candidate",
    "Dimension",
    "StudyPlan",
    "best_candidate",
    "check_plan",
    "fit_plan",
    "objective_value",
    "profile_plans",
    "propose",
    "sampler_seed",
    "stop_reason",
]
