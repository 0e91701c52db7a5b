"""Picklable run functions for the runner hardening tests (issue 13).

They wrap :func:`standins.fake_run` (imported when called, so that a pool worker that
only runs :func:`die_on_negative` starts quickly); pass their settings with
``functools.partial`` (the partial travels with each task, unlike environment
variables, which a fork server started earlier would not see).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

FAILING_HANDOFF_DELAY_HOURS = 13.0  # standins' hook value


def die_on_negative(value: int) -> int:
    """Return ``value``; a negative value kills the worker process (SIGKILL) instead."""
    if value < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def gated_run(scenario, seed, days=None, progress=None) -> Any:
    """fake_run, after waiting (at most 120 s) for the file named by MICROGOV_GATE to exist."""
    from standins import fake_run

    gate = Path(os.environ["MICROGOV_GATE"])
    deadline = time.monotonic() + 120
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return fake_run(scenario, seed, days=days)


def kill_worker_once(scenario, seed, days=None, progress=None, *, marker: str) -> Any:
    """The first run to get here kills its own worker process (SIGKILL); the others run."""
    from standins import fake_run

    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return fake_run(scenario, seed, days=days)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable: the process was killed")


def kill_worker_at_hook(scenario, seed, days=None, progress=None) -> Any:
    """Kills its worker (SIGKILL) on every run of the failing point (handoff_delay_hours = 13)."""
    from standins import fake_run

    if scenario.parameters.coordination.handoff_delay_hours == FAILING_HANDOFF_DELAY_HOURS:
        os.kill(os.getpid(), signal.SIGKILL)
    return fake_run(scenario, seed, days=days)


def warning_run(scenario, seed, days=None, progress=None) -> Any:
    """fake_run with a warning on every run, and a second one at hand-off delay 4 h."""
    from standins import fake_run

    warnings: tuple[str, ...] = ("department transport utilisation 0.93 > 0.9",)
    if scenario.parameters.coordination.handoff_delay_hours == 4.0:
        warnings += ("hand-off delay of 4 h is long",)
    return with_warnings(fake_run(scenario, seed, days=days), warnings)


def with_warnings(output: Any, warnings: tuple[str, ...]) -> Any:
    """``output`` (a RunOutput) with the ``warnings`` attribute the model is about to add."""
    from dataclasses import dataclass

    from model.outcomes import RunOutput

    @dataclass(frozen=True)
    class WarnedOutput(RunOutput):  # made here: model.outcomes is imported only when needed
        warnings: tuple[str, ...] = ()

    return WarnedOutput(
        summary=output.summary,
        timeseries=output.timeseries,
        cases=output.cases,
        units=output.units,
        warnings=warnings,
    )


def slow_run(scenario, seed, days=None, progress=None, *, seconds: float) -> Any:
    """fake_run after sleeping ``seconds`` (the setting travels with the task)."""
    from standins import fake_run

    time.sleep(seconds)
    return fake_run(scenario, seed, days=days)


def marked_run(scenario, seed, days=None, progress=None, *, folder: str) -> Any:
    """fake_run, then a new file in ``folder``: one file per run that finished in a worker."""
    import uuid

    from standins import fake_run

    output = fake_run(scenario, seed, days=days)
    (Path(folder) / uuid.uuid4().hex).touch()
    return output
