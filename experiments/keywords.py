"""``GovernanceModel`` from keyword arguments, for ``mesa.batch_run`` and Mesa's SolaraViz.

Mesa's tools build a model as ``model_cls(**kwargs)``. :class:`KeywordGovernanceModel`
accepts that call and turns the keywords into a validated scenario, checked by the same
schema and the same override rules as scenario files and sweeps
(:func:`experiments.scenario_files.apply_overrides`).

**Naming rule.** A keyword is a dotted field path of the scenario schema with every
``.`` written ``__`` (two underscores)::

    population.communities_per_street                     population__communities_per_street
    routing.kind                                          routing__kind
    departments.urban_management.staff_per_100k_residents departments__urban_management__staff_per_100k_residents
    consultation.invitations_per_member                   consultation__invitations_per_member

plus three keywords of their own:

- ``seed``: the replication seed (an int, or a ``numpy.random.SeedSequence``); required,
  because an unseeded run could not be repeated. ``mesa.batch_run(..., rng=[0, 1, 2])``
  passes it as ``seed=0``, ``seed=1``, ….
- ``scenario``: the base the fields change — a scenario name or ``.toml`` path
  (``"classroom"``), a loaded :class:`~experiments.scenario_files.Scenario`, a
  :class:`~model.parameters.ModelParameters`, or a mapping written like a scenario file
  (sections merge over the model defaults). Default: the model defaults.
- the run stops after the warm-up and the scenario's ``simulation.days`` (set ``simulation__days=30``):
  the model sets ``running = False``, which ends ``batch_run`` and Solara's play loop.

On the last day every outcome of ``model.outcomes.OUTCOME_NAMES`` (and the resolution
times by case type) is written into the data collector's last row beside the daily
variables, so ``batch_run`` (``data_collection_period=-1``) returns the same numbers
as ``run_single`` and ``microgov sweep``. An unknown keyword is an
:class:`~experiments.errors.InputError` naming the closest valid keyword.

The wrapper lives in ``experiments`` and not in ``model``: it reads scenario files and
reuses the override rules, which the model layer must not know (docs/design.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from experiments.errors import InputError, closest
from experiments.scenario_files import (
    Scenario,
    apply_overrides,
    check_field_path,
    field_paths,
    load_scenario,
    parameters_mapping,
    resolve_scenario_path,
    scenario_from_mapping,
)
from model.daily_collector import DailyCollector
from model.governance import GovernanceModel
from model.outcomes import OUTCOME_NAMES, RunOutput, per_type_outcomes
from model.parameters import ModelParameters

SEPARATOR = "__"
OWN_KEYWORDS: tuple[str, ...] = ("seed", "scenario")
# Outcomes written into the data collector's last row (a fixed list: Mesa's DataCollector
# needs its columns before the first day; per-group participation shares are left out).
RECORDED_OUTCOMES: tuple[str, ...] = (*OUTCOME_NAMES, *per_type_outcomes())

BaseScenario = Scenario | ModelParameters | Mapping[str, Any] | str | Path | None


def keyword_name(dotted: str) -> str:
    """The keyword of a dotted field path: ``"routing.kind"`` → ``"routing__kind"``."""
    return dotted.replace(".", SEPARATOR)


def dotted_name(keyword: str) -> str:
    """The dotted field path of a keyword: ``"routing__kind"`` → ``"routing.kind"``."""
    return keyword.replace(SEPARATOR, ".")


def keyword_names(scenario: BaseScenario = None) -> list[str]:
    """Every field keyword of ``scenario`` (policy parameters of its current kinds included)."""
    return [keyword_name(p) for p in field_paths(base_scenario(scenario).parameters)]


def base_scenario(scenario: BaseScenario = None) -> Scenario:
    """The base scenario a keyword model starts from (see the module docstring)."""
    if scenario is None:
        return scenario_from_mapping({}, name="defaults")
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, ModelParameters):
        return scenario_from_mapping(parameters_mapping(scenario), name=scenario.name)
    if isinstance(scenario, Mapping):
        return scenario_from_mapping(scenario)
    if isinstance(scenario, str | Path):
        return load_scenario(resolve_scenario_path(scenario))
    raise InputError(
        "is not a scenario",
        field="scenario",
        value=scenario,
        allowed="a scenario name or .toml path, a Scenario, a ModelParameters or a mapping",
    )


def build_scenario(scenario: BaseScenario = None, **fields: Any) -> Scenario:
    """``scenario`` with the keyword fields set, validated (see the naming rule above).

    Raises:
        InputError: for a keyword that names no field (with the closest valid keyword) or
            a value the field does not accept (the keyword is named).
    """
    base = base_scenario(scenario)
    if not fields:
        return base
    overrides = {dotted_name(k): v for k, v in fields.items()}
    # A field inside a policy whose kind the same call changes belongs to the new kind:
    # apply_overrides checks it after switching (as sweeps do).
    switched = {k.removesuffix(".kind") for k in overrides if k.endswith(".kind")}
    problems = []
    for keyword, dotted in zip(fields, overrides, strict=True):
        if any(dotted.startswith(f"{prefix}.") for prefix in switched) and not dotted.endswith(
            ".kind"
        ):
            continue
        try:
            check_field_path(base, dotted)
        except InputError:
            problems.append(_unknown_keyword(base, keyword))
    if problems:
        raise InputError.combine(problems)
    try:
        return apply_overrides(base, overrides)
    except InputError as exc:
        raise _in_keywords(exc) from None


def _unknown_keyword(base: Scenario, keyword: str) -> InputError:
    names = [*OWN_KEYWORDS, *keyword_names(base)]
    return InputError(
        "is not a keyword of the model",
        field=keyword,
        allowed="seed, scenario, or a dotted field path with '.' written '__' "
        "(e.g. population__communities_per_street, routing__kind)",
        suggestion=closest(keyword, names, cutoff=0.5),
    )


def _in_keywords(error: InputError) -> InputError:
    """The same problems with their fields spelled as keywords."""
    problems = [
        InputError(
            p.reason,
            file=p.file,
            field=None if p.field is None else keyword_name(p.field),
            value=p.value,
            allowed=p.allowed,
            suggestion=None if p.suggestion is None else keyword_name(p.suggestion),
        )
        for p in error.all_problems()
    ]
    return InputError.combine(problems)


class KeywordGovernanceModel(GovernanceModel):
    """:class:`~model.governance.GovernanceModel` built from keyword arguments.

    ``KeywordGovernanceModel(seed=1, scenario="classroom", routing__kind="integrated",
    simulation__days=30)``; see the module docstring for the naming rule.

    Attributes:
        built_scenario: the validated scenario the keywords produced.
        keywords: the field keywords as given (``seed`` and ``scenario`` left out).
        outcome_columns: the outcomes added to the data collector (NaN before the last day).
    """

    def __init__(
        self,
        seed: int | np.random.SeedSequence | None = None,
        scenario: BaseScenario = None,
        **fields: Any,
    ) -> None:
        if seed is None:
            raise InputError(
                "is required: every run is seeded so that it can be repeated",
                field="seed",
                allowed="a whole number ≥ 0 (with mesa.batch_run, pass rng=[0, 1, …])",
            )
        if isinstance(seed, bool) or not isinstance(
            seed, int | np.integer | np.random.SeedSequence
        ):
            raise InputError(
                "is not a seed", field="seed", value=seed, allowed="a whole number ≥ 0"
            )
        if not isinstance(seed, np.random.SeedSequence) and int(seed) < 0:
            raise InputError(
                "is not a seed", field="seed", value=seed, allowed="a whole number ≥ 0"
            )
        built = build_scenario(scenario, **fields)
        super().__init__(built.parameters, seed=seed)
        self.built_scenario = built
        self.keywords = dict(fields)
        self._outcomes: dict[str, float] = {}
        # The daily variables, then one column per outcome, NaN until the last day. An outcome
        # that is also a daily variable (trust_mean, cases_closed, …) keeps its daily column:
        # its last row is the end-of-run value.
        daily = dict(self.datacollector.model_reporters)
        self.outcome_columns = [name for name in RECORDED_OUTCOMES if name not in daily]
        self.datacollector = DailyCollector(
            model_reporters=daily | {name: _outcome_reporter(name) for name in self.outcome_columns}
        )

    def step(self) -> None:
        """One day; after the warm-up and the last measured day, record outcomes and stop."""
        super().step()
        if self.day == self.parameters.simulation.total_days:
            self._outcomes = dict(self.output().summary)
            rows = self.datacollector.model_vars
            for name in self.outcome_columns:
                rows[name][-1] = self._outcomes.get(name, math.nan)
            self.running = False

    def output(self) -> RunOutput:
        """As :meth:`GovernanceModel.output`; the time series without the outcome columns."""
        output = super().output()
        timeseries = output.timeseries.drop(columns=self.outcome_columns)
        return dataclasses.replace(output, timeseries=timeseries)


def _outcome_reporter(name: str) -> Any:
    """A data-collector reporter of one outcome: NaN until the last day records it."""
    return lambda model: model._outcomes.get(name, math.nan)


__all__ = [
    "SEPARATOR",
    "KeywordGovernanceModel",
    "base_scenario",
    "build_scenario",
    "dotted_name",
    "keyword_name",
    "keyword_names",
]
