"""The fit report of a calibration (``microgov report`` on a ``calibrate`` results folder).

Reads stored results only (never ``experiments``): the targets and fitted parameters come
from the ``meta`` table, the candidates from ``calibration_candidates`` and the outcomes
of each candidate's replications from ``outcomes``. Sections:

- the fit: every *fit* target against the model at the best candidate — the model's mean
  with its 95 % t interval over the replications, the target's tolerance interval, the
  standardised distance, its share of the objective, and whether the mean lies within
  tolerance;
- the holdout targets on their own table (never in the objective);
- the objective's history (every candidate and the running best);
- profile plots, when the calibration made them: for a grid of values of each fitted
  parameter, the best objective found with the other parameters re-optimised. A flat
  profile means the targets do not identify that parameter.

Each figure has its own function (``plot_objective_history``, ``plot_profile``,
``plot_target_distances``).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis import plots
from analysis.results import Results, ResultsError

FIT_STUDY = "fit"
CHECK_STUDY = "check"  # the best candidate rerun on fresh seeds (experiments/calibration.py)
CONFIDENCE = 0.95


# ---------------------------------------------------------------------- tables
def candidates(results: Results) -> pd.DataFrame:
    """Every candidate: point_id, study, number, batch, objective, status, note, and one
    column per fitted parameter (empty when the table is absent)."""
    connection = sqlite3.connect(f"{results.database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        if "calibration_candidates" not in tables:
            return pd.DataFrame()
        frame = pd.read_sql_query(
            "SELECT point_id, study, number, batch, parameters, objective, status, note "
            "FROM calibration_candidates ORDER BY study, number",
            connection,
        )
    except (sqlite3.Error, pd.errors.DatabaseError) as error:
        raise ResultsError(f"{results.database}: cannot read candidates ({error})") from error
    finally:
        connection.close()
    values = pd.DataFrame([json.loads(p) for p in frame["parameters"]], index=frame.index)
    frame["objective"] = pd.to_numeric(frame["objective"], errors="coerce").astype(float)
    return pd.concat([frame.drop(columns=["parameters"]), values], axis=1)


def targets(results: Results) -> list[dict[str, Any]]:
    """The stored targets (file order), as written by the calibration."""
    value = results.meta.get("targets")
    return [dict(t) for t in value] if isinstance(value, list) else []


def fitted_parameters(results: Results) -> list[dict[str, Any]]:
    """The fitted parameters with their bounds (``name``, ``lower``, ``upper``, ``log``, …)."""
    value = results.meta.get("parameters")
    return [dict(p) for p in value] if isinstance(value, list) else []


def best_candidate(table: pd.DataFrame) -> pd.Series | None:
    """The fit candidate with the lowest objective (the earliest on ties)."""
    if table.empty:
        return None
    fit = table[(table["study"] == FIT_STUDY) & table["objective"].notna()]
    if fit.empty:
        return None
    return fit.sort_values(["objective", "number"], kind="stable").iloc[0]


def target_fit(results: Results, point_id: str, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Every target against the model at ``point_id``.

    Columns: name, group, outcome, source, place, period, reform, value, scale, band,
    target_low, target_high, mean, low, high, n, z (standardised distance), weight,
    contribution (w·z², fit targets only), within (|mean − value| ≤ band), available.
    """
    wanted = targets(results)
    outcomes = sorted({t["outcome"] for t in wanted})
    tidy = results.outcomes(outcomes=outcomes)
    tidy = tidy[tidy["point_id"] == point_id]
    rows = []
    for target in wanted:
        data = tidy.loc[tidy["outcome"] == target["outcome"], "value"].to_numpy(dtype=float)
        data = data[np.isfinite(data)]
        n = int(data.size)
        mean = float(data.mean()) if n else math.nan
        half = (
            float(stats.t.ppf(0.5 + confidence / 2, n - 1) * data.std(ddof=1) / math.sqrt(n))
            if n > 1
            else math.nan
        )
        value, scale, band = float(target["value"]), float(target["scale"]), float(target["band"])
        z = (mean - value) / scale if n else math.nan
        fit = target.get("group") == "fit"
        rows.append(
            {
                "name": target["name"],
                "group": target.get("group", "fit"),
                "outcome": target["outcome"],
                "source": target.get("source", ""),
                "place": target.get("place", ""),
                "period": target.get("period", ""),
                "reform": target.get("reform", ""),
                "value": value,
                "scale": scale,
                "band": band,
                "target_low": value - band,
                "target_high": value + band,
                "mean": mean,
                "low": mean - half,
                "high": mean + half,
                "n": n,
                "z": z,
                "weight": float(target.get("weight", 1.0)),
                "contribution": float(target.get("weight", 1.0)) * z * z if fit else math.nan,
                "within": bool(n and abs(mean - value) <= band),
                "available": n > 0,
            }
        )
    return pd.DataFrame(rows)


def objective_history(table: pd.DataFrame) -> pd.DataFrame:
    """The fit's candidates in order: number, batch, objective, best_so_far."""
    fit = table[table["study"] == FIT_STUDY].sort_values("number")
    history = fit[["number", "batch", "objective"]].reset_index(drop=True)
    history["best_so_far"] = (
        history["objective"].fillna(math.inf).cummin().replace(math.inf, np.nan)
    )
    return history


def profile(table: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """One row per grid value of ``parameter``: value, best objective, candidates."""
    if table.empty:
        return pd.DataFrame(columns=["value", "objective", "candidates"])
    mine = table[table["study"].str.startswith(f"profile/{parameter}/")]
    if mine.empty:
        return pd.DataFrame(columns=["value", "objective", "candidates"])
    grouped = mine.groupby("study")
    rows = [
        {
            "value": float(group[parameter].iloc[0]),
            "objective": float(group["objective"].min()),
            "candidates": len(group),
        }
        for _, group in grouped
    ]
    return pd.DataFrame(rows).sort_values("value", ignore_index=True)


# ---------------------------------------------------------------------- figures
def plot_objective_history(history: pd.DataFrame) -> Figure:
    """Every candidate's objective (dots) and the running best (line), log scale when it spans decades."""
    figure = plots.new_figure()
    axes = figure.add_subplot()
    if history.empty or history["objective"].notna().sum() == 0:
        axes.text(0.5, 0.5, "no candidate with an objective", ha="center", transform=axes.transAxes)
        return figure
    axes.scatter(history["number"], history["objective"], s=14, alpha=0.6, label="candidate")
    axes.step(
        history["number"], history["best_so_far"], where="post", color="black", label="best so far"
    )
    positive = history["objective"].dropna()
    if (positive > 0).all() and positive.max() / max(positive.min(), 1e-12) > 100:
        axes.set_yscale("log")
    for batch_start in history.groupby("batch")["number"].min().iloc[1:]:
        axes.axvline(batch_start - 0.5, color="0.85", linewidth=0.6, zorder=0)
    axes.set_xlabel("candidate (in the order proposed; grey lines separate batches)")
    axes.set_ylabel("objective J (weighted squared standardised distance)")
    axes.legend(loc="upper right")
    return figure


def plot_profile(
    table: pd.DataFrame, parameter: str, best_value: float | None, best_objective: float | None
) -> Figure:
    """The profile of one parameter: best objective with the others re-optimised, per value."""
    figure = plots.new_figure(6.0, 3.8)
    axes = figure.add_subplot()
    if table.empty:
        axes.text(0.5, 0.5, "no profile stored", ha="center", transform=axes.transAxes)
        return figure
    axes.plot(table["value"], table["objective"], marker="o", label="others re-optimised")
    if best_value is not None and best_objective is not None and math.isfinite(best_objective):
        axes.scatter(
            [best_value],
            [best_objective],
            marker="*",
            s=120,
            color="C3",
            zorder=3,
            label="best fit",
        )
    axes.set_xlabel(plots.outcome_label(parameter))
    axes.set_ylabel("objective J")
    axes.legend(loc="best")
    return figure


def plot_target_distances(fit: pd.DataFrame) -> Figure:
    """Standardised distance of each target ((model − value) / uncertainty) with its tolerance band."""
    shown = fit[fit["available"]].reset_index(drop=True)
    figure = plots.new_figure(7.0, 0.9 + 0.35 * max(len(shown), 1))
    axes = figure.add_subplot()
    if shown.empty:
        axes.text(0.5, 0.5, "no target to show", ha="center", transform=axes.transAxes)
        return figure
    y = np.arange(len(shown))[::-1]
    colours = ["C0" if g == "fit" else "C2" for g in shown["group"]]
    low = (shown["low"] - shown["value"]) / shown["scale"]
    high = (shown["high"] - shown["value"]) / shown["scale"]
    axes.errorbar(
        shown["z"],
        y,
        xerr=np.vstack([(shown["z"] - low).fillna(0), (high - shown["z"]).fillna(0)]),
        fmt="none",
        ecolor="0.4",
    )
    axes.scatter(shown["z"], y, c=colours, zorder=3)
    for yi, band, scale in zip(y, shown["band"], shown["scale"], strict=True):
        axes.plot([-band / scale, band / scale], [yi, yi], color="0.8", linewidth=6, zorder=0)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(y, [f"{n} ({g})" for n, g in zip(shown["name"], shown["group"], strict=True)])
    axes.set_xlabel("(model − target) / uncertainty; grey: tolerance; blue: fit, green: holdout")
    return figure


# ---------------------------------------------------------------------- report sections
def add_fit_report(doc: Any, results: Results) -> None:
    """Add the fit report's sections to a ``analysis.report`` document."""
    from analysis.report import _Bullets, _Heading, _number, _Table, _Text

    table = candidates(results)
    best = best_candidate(table)
    meta = results.meta
    doc.add(_Heading(2, "Calibration"))
    facts = [
        [
            "Target file",
            f"{meta.get('targets_file', '–')} (sha256 {str(meta.get('targets_sha256', ''))[:16]}…)",
        ],
        ["Objective", str(meta.get("objective", "–"))],
        ["Stopping", str(meta.get("stop_reason", "not finished"))],
        [
            "Fit candidates",
            f"{int((table['study'] == FIT_STUDY).sum()) if not table.empty else 0:,}",
        ],
        ["Replications per candidate", str(meta.get("replications", "–"))],
        ["Calibrated scenario", str(meta.get("calibrated_scenario", "not written yet"))],
    ]
    doc.add(_Table(["Fact", "Value"], facts))
    if best is None:
        doc.add(
            _Text("No candidate has an objective yet, so there is no fit to report.", css="warning")
        )
        return
    parameters = fitted_parameters(results)
    doc.add(_Heading(3, "Fitted parameters"))
    doc.add(
        _Table(
            ["Parameter", "Fitted value", "Searched range"],
            [
                [
                    p["name"],
                    _number(best[p["name"]], 4),
                    f"[{_number(p['lower'])}, {_number(p['upper'])}]"
                    + (" log" if p.get("log") else ""),
                ]
                for p in parameters
            ]
            + settled_rows(meta),
            caption=f"Best candidate {best['point_id']}, objective {_number(best['objective'], 4)}."
            + settled_caption(meta),
        )
    )
    check = table[(table["study"] == CHECK_STUDY) & table["objective"].notna()]
    shown = str(check["point_id"].iloc[0]) if not check.empty else str(best["point_id"])
    fit = target_fit(results, shown)
    seeds = (
        f"the best candidate's parameters run on {meta.get('replications', 'R')} fresh seeds "
        f"(objective {_number(check['objective'].iloc[0], 4)} there, "
        f"{_number(best['objective'], 4)} on the fit seeds)"
        if not check.empty
        else f"the best candidate on the fit seeds (objective {_number(best['objective'], 4)})"
    )
    header = [
        "Target",
        "Outcome",
        "Published",
        "Tolerance interval",
        "Model (95 % interval)",
        "z",
        "Share of J",
        "Within",
        "Source",
        "Describes",
    ]
    total = float(np.nansum(fit["contribution"])) if not fit.empty else math.nan

    def rows(group: str) -> list[list[str]]:
        out = []
        for r in fit[fit["group"] == group].itertuples(index=False):
            share = r.contribution / total if group == "fit" and total > 0 else math.nan
            out.append(
                [
                    r.name,
                    r.outcome,
                    _number(r.value),
                    f"[{_number(r.target_low)}, {_number(r.target_high)}]",
                    f"{_number(r.mean)} [{_number(r.low)}, {_number(r.high)}]"
                    if r.available
                    else "not reported by the model",
                    _number(r.z, 2),
                    "–" if math.isnan(share) else f"{100 * share:.0f} %",
                    ("yes" if r.within else "NO") if r.available else "–",
                    r.source,
                    "; ".join(x for x in (r.place, r.period, r.reform) if x),
                ]
            )
        return out

    fit_rows = rows("fit")
    within = int(fit.loc[fit["group"] == "fit", "within"].sum())
    doc.add(_Heading(3, "Fit targets against the model"))
    doc.add(
        _Table(
            header,
            fit_rows,
            caption=f"{within} of {len(fit_rows)} fit targets within tolerance; model: {seeds}.",
        )
    )
    doc.figure(
        "target_distances",
        plot_target_distances(fit),
        "Standardised distance of every target at the best candidate.",
    )
    doc.add(_Heading(3, "Holdout targets (never in the objective)"))
    holdout_rows = rows("holdout")
    if holdout_rows:
        doc.add(_Table(header, holdout_rows))
    else:
        doc.add(_Text("The target file has no holdout target."))
    doc.add(_Heading(3, "Objective history"))
    history = objective_history(table)
    doc.figure(
        "objective_history",
        plot_objective_history(history),
        "Objective of every fit candidate and the best so far.",
    )
    profiles = {p["name"]: profile(table, p["name"]) for p in parameters}
    doc.add(_Heading(3, "Profiles (identifiability)"))
    if not any(len(p) for p in profiles.values()):
        doc.add(
            _Text("No profiles were computed (add [calibration.profile] to the experiment file).")
        )
        return
    notes = []
    for name, frame in profiles.items():
        if frame.empty:
            continue
        doc.figure(
            f"profile_{name.replace('.', '_')}",
            plot_profile(frame, name, float(best[name]), float(best["objective"])),
            f"Profile of {name}: the best objective at each value with the other parameters re-optimised.",
        )
        notes.append(_identifiability_note(name, frame, float(best["objective"])))
    doc.add(_Bullets(notes))


def settled_rows(meta: Mapping[str, Any]) -> list[list[str]]:
    """The ``[calibration.settle]`` field as a row of the fitted-parameters table (or none)."""
    from analysis.report import _number

    if "settle_parameter" not in meta or "settle_value" not in meta:
        return []
    value = float(meta["settle_value"])
    return [[str(meta["settle_parameter"]), _number(value, 4), "settled (not searched)"]]


def settled_caption(meta: Mapping[str, Any]) -> str:
    """How the settled field was found: iterations, residual, the pre-fit (empty without one)."""
    from analysis.report import _number

    if "settle_steps" not in meta:
        return ""
    steps = meta["settle_steps"]
    chain = " → ".join(_number(float(s["start"]), 3) for s in steps)
    chain += f" → {_number(float(steps[-1]['settled']), 3)}"
    residual = meta.get("settle_residual")
    moved = "–" if residual is None else _number(float(residual), 3)
    return (
        f" {meta['settle_parameter']} settled at the level {meta.get('settle_outcome')} keeps"
        f" ({len(steps)} fixed-point iteration(s) at the pre-fit's best, {chain}; one more at"
        f" the fit's best moves it {moved}); the fit shown is the refit with it, after a"
        f" pre-fit of {meta.get('prefit_candidates', '–')} candidates"
        f" (best objective {_number(float(meta.get('prefit_best_objective', math.nan)), 4)})."
    )


def _identifiability_note(name: str, frame: pd.DataFrame, best: float) -> str:
    """One line: how much the objective rises across a parameter's profile."""
    finite = frame["objective"].dropna()
    if finite.empty:
        return f"{name}: no profile value has an objective."
    rise = float(finite.max() - min(best, float(finite.min())))
    # J is a sum of squared standardised distances: a rise below 1 across the whole range is
    # less than one uncertainty on one target (assumption: the threshold of "flat").
    verdict = (
        "flat: the targets hardly identify it"
        if rise < 1.0
        else "the objective rises away from the fit: identified within the searched range"
    )
    return f"{name}: the profile's objective spans {rise:.3g} (best fit {best:.3g}); {verdict}."


def profile_tables(results: Results) -> Mapping[str, pd.DataFrame]:
    """Every fitted parameter's profile table (empty tables when no profile was computed)."""
    table = candidates(results)
    return {p["name"]: profile(table, p["name"]) for p in fitted_parameters(results)}


__all__: Sequence[str] = (
    "add_fit_report",
    "best_candidate",
    "candidates",
    "fitted_parameters",
    "objective_history",
    "plot_objective_history",
    "plot_profile",
    "plot_target_distances",
    "profile",
    "profile_tables",
    "target_fit",
    "targets",
)
