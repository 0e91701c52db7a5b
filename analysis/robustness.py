"""Robustness of policy levers across uncertainties (docs/robustness.md).

A sweep may mark each factor with a role (``[roles]`` in the experiment file,
EMA Workbench's vocabulary): a **lever** is a policy choice (routing kind, staff), an
**uncertainty** a parameter nobody controls (classification accuracy, demand). For
every setting of the levers this module asks how the outcome fares across every setting
of the uncertainties:

- ``mean``, ``best``, ``worst``: over the uncertainty settings, of the point means
  (mean over replications); best and worst follow the outcome's direction.
- ``max_regret`` (Savage's minimax regret): in each uncertainty setting, the regret of a
  lever setting is how far it falls short of the best lever setting *in that same
  setting*, in the outcome's units (≥ 0); ``max_regret`` is the largest regret over the
  uncertainty settings. The most robust choice has the smallest ``max_regret``: it is
  never far from the best, whatever the uncertainties turn out to be. ``rank`` orders the
  lever settings by ``max_regret``, then by ``worst``.
- ``satisficing_share`` (only when a threshold is given): the share of uncertainty
  settings in which the outcome meets the threshold (≤ for lower-is-better outcomes).

Point means carry replication noise; with common random numbers it largely cancels in
the regrets, but a regret smaller than the outcome's confidence interval is not a
difference. Every lever setting must have been run in every uncertainty setting (a
grid sweep does that); a missing combination is an error, not a silently shorter row.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

import model.outcomes as model_outcomes
from analysis.results import Results, ResultsError

ROLES: tuple[str, ...] = ("lever", "uncertainty")
Direction = Literal["higher", "lower"]

# Outcome directions until the outcome registry of model.outcomes carries them
# (``find_outcome(name).direction``, issue 14); read only when the registry has no entry.
# TODO(issue 14): remove once model.outcomes.find_outcome is merged.
_LOWER_IS_BETTER = re.compile(
    r"^(resolution_time_.*|returns_share|handoffs_per_case|backlog_mean|backlog_final|"
    r"cases_open|cases_queued|needs_lapsed|unreported_share|collective_issues_open|"
    r"equity_resolution_time_cv|equity_on_time_gap|staff_hours_per_case|"
    r"community_overload_share)$"
)
_HIGHER_IS_BETTER = re.compile(
    r"^(on_time_share|resolution_share|on_the_spot_share|satisfaction_share|trust_mean|"
    r"trust_change|participation_share.*|representativeness|implementation_share)$"
)


def outcome_direction(name: str, directions: Mapping[str, str] | None = None) -> Direction:
    """Whether higher or lower values of ``name`` are better.

    ``directions`` (outcome → "higher" | "lower") wins; then the outcome registry of
    ``model.outcomes``; then a local table.

    Raises:
        ResultsError: the outcome has no direction (a volume such as ``cases_generated``)
            and none was given.
    """
    given = (directions or {}).get(name)
    if given is not None:
        if given not in ("higher", "lower"):
            raise ResultsError(
                f"direction of {name!r} is {given!r}; allowed: 'higher' or 'lower' (is better)"
            )
        return "higher" if given == "higher" else "lower"
    find = getattr(model_outcomes, "find_outcome", None)
    entry = find(name) if find is not None else None
    registered = getattr(entry, "direction", None)
    if registered in ("higher", "lower"):
        return "higher" if registered == "higher" else "lower"
    if _LOWER_IS_BETTER.match(name):
        return "lower"
    if _HIGHER_IS_BETTER.match(name):
        return "higher"
    raise ResultsError(
        f"outcome {name!r} has no direction (neither more nor less is better); give one with "
        f"directions={{{name!r}: 'higher' or 'lower'}}"
    )


def factor_roles(results: Results) -> dict[str, str]:
    """The ``[roles]`` table of the experiment that wrote ``results`` (factor → role).

    Read from the experiment file's text kept in the manifest.

    Raises:
        ResultsError: the experiment declared no roles.
    """
    text = (results.manifest.get("experiment") or {}).get("text") or ""
    try:
        roles = tomllib.loads(text).get("roles") if text else None
    except tomllib.TOMLDecodeError as exc:
        raise ResultsError(
            f"{results.folder}: the stored experiment file is not TOML: {exc}"
        ) from None
    if not isinstance(roles, dict) or not roles:
        raise ResultsError(
            f"{results.folder}: the experiment marks no factor as 'lever' or 'uncertainty'; add a "
            "[roles] table to the sweep (docs/robustness.md) or pass roles= explicitly"
        )
    return {str(k): str(v) for k, v in roles.items()}


def point_means(results: Results, outcome: str) -> pd.DataFrame:
    """One row per point: its parameter columns, ``mean`` of ``outcome`` and ``n`` replications."""
    runs = results.outcomes(outcomes=[outcome])
    if runs.empty:
        raise ResultsError(f"{results.folder}: no successful run reports {outcome!r}")
    stats = runs.groupby("point_id")["value"].agg(mean="mean", n="count").reset_index()
    return results.point_parameters().merge(stats, on="point_id", how="left")


def robustness_frame(
    means: pd.DataFrame,
    levers: Sequence[str],
    uncertainties: Sequence[str],
    outcome: str,
    direction: Direction,
    threshold: float | None = None,
) -> pd.DataFrame:
    """The robustness table of one outcome from point means (a pure function).

    Args:
        means: one row per point with the lever and uncertainty columns and ``mean``.
        levers, uncertainties: the factor columns of each role.
        outcome: the outcome's name (copied into the table).
        direction: "lower" or "higher" is better.
        threshold: for ``satisficing_share``; None leaves the column out.

    Returns:
        One row per lever setting: ``outcome``, ``direction``, the lever columns,
        ``settings`` (uncertainty settings), ``mean``, ``best``, ``worst``, ``worst_at``
        (the uncertainty setting of the worst case), ``max_regret``, ``rank`` and, with a
        threshold, ``satisficing_share``; ordered by ``rank``.

    Raises:
        ResultsError: no lever or no uncertainty, or a lever setting not run in some
            uncertainty setting (or without a successful run there).
    """
    levers, uncertainties = list(levers), list(uncertainties)
    if not levers or not uncertainties:
        raise ResultsError(
            "a robustness table needs at least one lever and one uncertainty "
            f"(levers: {levers or 'none'}; uncertainties: {uncertainties or 'none'})"
        )
    missing = [c for c in (*levers, *uncertainties) if c not in means.columns]
    if missing:
        raise ResultsError(
            f"factor(s) {', '.join(missing)} are not parameters of these results; "
            f"parameters: {', '.join(c for c in means.columns if c not in ('point_id', 'scenario', 'mean', 'n'))}"
        )
    keyed = means.assign(
        _lever=_setting_labels(means, levers), _uncertainty=_setting_labels(means, uncertainties)
    )
    table = keyed.pivot_table(index="_lever", columns="_uncertainty", values="mean", aggfunc="mean")
    lever_order = list(dict.fromkeys(keyed["_lever"]))
    uncertainty_order = list(dict.fromkeys(keyed["_uncertainty"]))
    table = table.reindex(index=lever_order, columns=uncertainty_order)
    gaps = [
        (lever, u)
        for lever in lever_order
        for u in uncertainty_order
        if pd.isna(table.loc[lever, u])
    ]
    if gaps:
        shown = "; ".join(f"{lever} under {u}" for lever, u in gaps[:5])
        raise ResultsError(
            f"{outcome}: {len(gaps)} lever × uncertainty combination(s) have no successful run "
            f"({shown}); regret needs every lever setting in every uncertainty setting"
        )
    lower = direction == "lower"
    best_per_setting = table.min(axis=0) if lower else table.max(axis=0)
    regret = (table - best_per_setting) if lower else (best_per_setting - table)
    worst = table.max(axis=1) if lower else table.min(axis=1)
    rows: list[dict[str, Any]] = []
    first = keyed.drop_duplicates("_lever").set_index("_lever")
    for lever in lever_order:
        values = table.loc[lever]
        row: dict[str, Any] = {"outcome": outcome, "direction": direction}
        row.update({name: first.loc[lever, name] for name in levers})
        row.update(
            settings=int(values.size),
            mean=float(values.mean()),
            best=float(values.min() if lower else values.max()),
            worst=float(worst[lever]),
            worst_at=str(values.idxmax() if lower else values.idxmin()),
            max_regret=float(regret.loc[lever].max()),
        )
        if threshold is not None:
            met = values <= threshold if lower else values >= threshold
            row["satisficing_share"] = float(met.mean())
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(
        ["max_regret", "worst"], ascending=[True, lower], kind="stable"
    ).reset_index(drop=True)
    frame.insert(len(frame.columns), "rank", range(1, len(frame) + 1))
    return frame


def _setting_labels(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """``field=value, …`` of each row over ``columns`` (one label per factor setting)."""
    return frame[list(columns)].apply(
        lambda row: ", ".join(f"{c}={row[c]}" for c in columns), axis=1
    )


def robustness_table(
    results: Results,
    outcomes: Sequence[str] | None = None,
    roles: Mapping[str, str] | None = None,
    directions: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """For each lever setting, each outcome's mean, best, worst and maximum regret across the
    uncertainty settings (see the module docstring for the measures).

    Args:
        results: a sweep's results (``analysis.results.load_results``).
        outcomes: the outcomes to assess; default the experiment's outcomes of interest.
        roles: factor → "lever" | "uncertainty"; default the experiment's ``[roles]``.
        directions: outcome → "higher" | "lower" (is better), for outcomes without one.
        thresholds: outcome → the level to meet, for ``satisficing_share``.

    Returns:
        The tables of :func:`robustness_frame`, one after the other.

    Raises:
        ResultsError: no roles, an unknown role, a varying factor without a role, an
            outcome without a direction, or an incomplete lever × uncertainty design.
    """
    roles = dict(roles) if roles is not None else factor_roles(results)
    bad = {k: v for k, v in roles.items() if v not in ROLES}
    if bad:
        raise ResultsError(f"unknown role(s) {bad}; allowed: {', '.join(repr(r) for r in ROLES)}")
    unmarked = [f for f in results.factors() if f not in roles]
    if unmarked:
        raise ResultsError(
            f"{results.folder}: factor(s) {', '.join(unmarked)} vary between points but have no "
            "role; give each a role ('lever' or 'uncertainty'), or the table would mix their settings"
        )
    levers = [k for k, v in roles.items() if v == "lever"]
    uncertainties = [k for k, v in roles.items() if v == "uncertainty"]
    chosen = list(outcomes) if outcomes is not None else results.outcomes_of_interest
    frames = [
        robustness_frame(
            point_means(results, name),
            levers,
            uncertainties,
            name,
            outcome_direction(name, directions),
            None if thresholds is None else thresholds.get(name),
        )
        for name in chosen
    ]
    return pd.concat(frames, ignore_index=True)
