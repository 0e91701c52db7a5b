"""One model run from a validated scenario and a seed.

:func:`run_single` is a top-level function so that process pools and Dask can pickle
it; the experiment runners call it once per (scenario, replication).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from experiments.errors import InputError
from experiments.scenario_files import Scenario
from model.case_retirement import CaseSink
from model.governance import GovernanceModel
from model.outcomes import RunOutput


def as_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """``seed`` as a SeedSequence: an int ``n`` becomes ``SeedSequence(n)``.

    Raises:
        InputError: for a negative or non-integer seed.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise InputError("must be a non-negative integer", field="seed", value=seed)
    return np.random.SeedSequence(int(seed))


def run_single(
    scenario: Scenario,
    seed: int | np.random.SeedSequence,
    days: int | None = None,
    progress: Callable[[int], None] | None = None,
    case_sink: CaseSink | None = None,
) -> RunOutput:
    """Build the scenario's model with ``seed`` and run it.

    Args:
        scenario: a validated scenario (``load_scenario`` / ``apply_overrides``).
        seed: a SeedSequence (replication *i* of root *s*: ``SeedSequence(s, spawn_key=(i,))``)
            or an int ``n``, taken as ``SeedSequence(n)``.
        days: simulated days; None runs the scenario's ``simulation.days``.
        progress: called with the number of days done after each day (progress bars).
        case_sink: where the case log goes during the run (``experiments.case_sinks``):
            memory then stays flat in the number of days and the output's ``cases`` is
            empty. None keeps every case in memory and in the output.

    Returns:
        The run's summary, daily time series and case log.

    Raises:
        InputError: for a bad seed or number of days.
    """
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, numbers.Integral) or days < 1
    ):
        raise InputError("must be a positive whole number of days", field="days", value=days)
    model = GovernanceModel(scenario.parameters, seed=as_seed_sequence(seed), case_sink=case_sink)
    model.run(days=None if days is None else int(days), progress=progress)
    return model.output()
