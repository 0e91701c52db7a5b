"""Console helpers for the ``microgov`` command line: outcome tables, progress bars with
Ctrl+C, and Dask's log lines. Error lines are :mod:`app.error_line`'s.

Only the app layer prints; everything below it logs (docs/design.md "Conventions").
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from analysis.formatting import format_level
from app.error_line import print_error
from model.cases import CASE_TYPES
from model.outcomes import GROUPS, OUTCOMES, find_outcome

_PER_TYPE = re.compile(r"^resolution_time_(mean|median|p90)_days_(\w+)$")
_REGISTRY_ORDER = {entry.name: i for i, entry in enumerate(OUTCOMES)}


def format_value(name: str, value: float | int | None) -> str:
    """One outcome value for people, in the registry's natural units ('n/a' when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format_level(name, value)


def outcome_table(summary: Mapping[str, float]) -> str:
    """The run's outcomes as a readable text table, grouped as the outcome registry groups
    them (volume, time, quality, participation, cost), with resolution times by case type
    in a table of their own and keys the registry does not know last."""
    lines: list[str] = []
    width = max([len(n) for n in summary] + [20])
    per_type: dict[str, dict[str, float]] = {}
    grouped: dict[str, list[str]] = {group: [] for group in GROUPS}
    other: list[str] = []
    for name, value in summary.items():
        match = _PER_TYPE.match(name)
        entry = find_outcome(name)
        if match:
            per_type.setdefault(match.group(2), {})[match.group(1)] = value
        elif entry is not None and entry.group in grouped:
            grouped[entry.group].append(name)
        else:
            other.append(name)
    for group, names in grouped.items():
        if not names:
            continue
        names.sort(key=lambda n: (_REGISTRY_ORDER.get(n, len(_REGISTRY_ORDER)), n))
        lines.append(group)
        lines += [f"  {n:<{width}}  {format_value(n, summary[n]):>16}" for n in names]
    rows = [
        (t, stats)
        for t, stats in sorted(per_type.items(), key=lambda kv: _type_order(kv[0]))
        if any(not math.isnan(v) for v in stats.values())
    ]
    if rows:
        lines.append("resolution time by case type")
        column = max([len(t) for t, _ in rows] + [12])  # the widest type's name (no overflow)
        lines.append(f"  {'case type':<{column}} {'mean':>10} {'median':>10} {'p90':>10}")
        for case_type, stats in rows:
            cells = [
                format_value(f"resolution_time_{s}_days_{case_type}", stats.get(s, math.nan))
                for s in ("mean", "median", "p90")
            ]
            lines.append(f"  {case_type:<{column}} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10}")
        if any(math.isnan(stats.get(s, math.nan)) for _, stats in rows for s in ("median", "p90")):
            # model/outcomes.py _quantiles: open cases count as longer than every closed one
            lines.append(
                "  n/a: more than 10 % (p90) or half (median) of the type's measured cases were "
                "still open at the end: the percentile lies beyond the run"
            )
    if other:
        lines.append("other")
        lines += [f"  {n:<{width}}  {format_value(n, summary[n]):>16}" for n in other]
    return "\n".join(lines)


def _type_order(case_type: str) -> int:
    return CASE_TYPES.index(case_type) if case_type in CASE_TYPES else len(CASE_TYPES)


def quiet_dask(args: Any) -> None:
    """With ``--cluster`` and without ``--verbose``, keep Dask's own INFO lines (scheduler
    start and close) from burying the summary; importing distributed sets its logger's
    level, so import it first."""
    if getattr(args, "cluster", None) and not getattr(args, "verbose", 0):
        import distributed  # noqa: F401

        logging.getLogger("distributed").setLevel(logging.WARNING)


def run_with_progress[T](
    bar: Any, run: Callable[[Callable[..., None] | None], T], interrupted: Callable[[], str]
) -> T | None:
    """``run(progress)`` with ``bar`` (or None) as its progress callback. On Ctrl+C the bar
    is closed first, then ``interrupted()`` is printed as an error, and None returned."""
    try:
        return run(None if bar is None else bar.update)
    except KeyboardInterrupt:
        pass
    finally:
        if bar is not None:  # before an error message, so that the two do not mix
            bar.close()
    print_error(interrupted())
    return None


def interrupted_line(folder: Path, stored: str = "finished runs") -> Callable[[], str]:
    """The error line for Ctrl+C during an experiment that writes to ``folder``, made when
    the interrupt comes: where ``stored`` are and how to go on, or — interrupted before
    the runner made the folder (in the command's first seconds) — that nothing was stored,
    rather than a ``--resume`` of a folder that does not exist."""

    def line() -> str:
        try:
            nothing = not (folder.is_dir() and any(folder.iterdir()))
        except OSError:  # the folder cannot be read: say where the work would be
            nothing = False
        if nothing:
            return f"interrupted; nothing was stored in {folder} yet"
        return f"interrupted; {stored} are stored in {folder}; continue with --resume"

    return line
