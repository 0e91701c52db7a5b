"""Why does a reform work? Its effect decomposed by mechanism (``microgov explain``).

Reads an explain results folder (``kind = "explain"``, written by experiments/explain.py;
its ``meta`` table holds under ``explain`` the mechanisms and which point plays which
role) and, per outcome, pairs the runs by replication (common random numbers: every
variant ran on the same seeds). With Y(·) one replication's outcome:

- total effect Δ = Y(reform) − Y(reference);
- structural part S = Y(all mechanisms neutral) − Y(reference): what cannot be switched
  off (a change of policy kind, a table only one scenario has);
- for each mechanism k, its effect *alone* a_k = Y(only k on) − Y(all neutral), and the
  effect it *carries* c_k = Y(reform) − Y(reform with k neutral) (what is lost without it);
- the interaction left over I = Δ − S − Σ_k a_k, so that Δ = S + Σ_k a_k + I exactly, in
  every replication. Without interactions a_k = c_k and I = 0.

Each term's interval is a paired Student-t interval across replications; its share of
the effect, mean(term) / mean(Δ), gets a delta-method (ratio-estimator) interval, and is
left out when Δ's own interval covers 0 (a share of nothing is no answer). A replication
is used for an outcome only when every variant has a finite value there, so that the
identity holds run by run.

:func:`decomposition_sections` gives the report's section (a table and a waterfall figure
per outcome) for an explain folder or for a compare folder whose experiment asked for
explains (``<folder>/explain/<reform>/``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analysis import plots
from analysis.results import Results, ResultsError, load_results
from analysis.statistics import DEFAULT_CONFIDENCE, t_interval

logger = logging.getLogger(__name__)

EXPLAIN_FOLDER = "explain"  # where a compare folder keeps its explains (experiments/explain.py)
# Outcomes decomposed when the explain names none, in this order, those that are stored
# (assumption: the indicators 接诉即办 is judged by, F9.1, then time and trust).
KEY_OUTCOMES: tuple[str, ...] = (
    "resolution_share",
    "satisfaction_share",
    "on_time_share",
    "resolution_time_median_days",
    "resolution_time_p90_days",
    "trust_mean",
)
MAX_FIGURES = 12
DECOMPOSITION_COLUMNS: tuple[str, ...] = (
    "outcome",
    "term",  # total | structural | alone | carried | interaction
    "mechanism",  # dotted path for alone / carried, else ""
    "name",
    "estimate",
    "ci_low",
    "ci_high",
    "share",
    "share_low",
    "share_high",
    "n",
    "reference_mean",
    "reform_mean",
)


@dataclass(frozen=True)
class ExplainPlan:
    """What an explain folder ran: its mechanisms and the point of every role.

    Attributes:
        reform, reference: the points of the reform and of the reference.
        reform_scenario, reference_scenario: their scenario names.
        mechanisms: one mapping per mechanism (path, name, origin, kind, value, neutral,
            description, source, structural).
        inactive: declared mechanisms the reform does not use (path, name, reason).
        fixed: differences that stay on in every variant (path, reform, reference).
        points: (role, mechanism path or None) → point id; roles ``reference``,
            ``reform``, ``neutral``, ``off``, ``alone``.
    """

    reform: str
    reference: str
    reform_scenario: str
    reference_scenario: str
    mechanisms: tuple[Mapping[str, Any], ...]
    inactive: tuple[Mapping[str, Any], ...]
    fixed: tuple[Mapping[str, Any], ...]
    points: Mapping[tuple[str, str | None], str]

    @classmethod
    def from_meta(cls, value: Any, where: str = "meta") -> ExplainPlan:
        """Read the ``explain`` meta value (raise ResultsError naming what is missing)."""
        if not isinstance(value, Mapping):
            raise ResultsError(f"{where}: 'explain' is not a JSON object")
        try:
            points = {
                (str(v["role"]), None if v.get("mechanism") is None else str(v["mechanism"])): str(
                    v["point"]
                )
                for v in value["variants"]
            }
            plan = cls(
                reform=str(value["reform"]),
                reference=str(value["reference"]),
                reform_scenario=str(value.get("reform_scenario", value["reform"])),
                reference_scenario=str(value.get("reference_scenario", value["reference"])),
                mechanisms=tuple(value["mechanisms"]),
                inactive=tuple(value.get("inactive", ())),
                fixed=tuple(value.get("fixed", ())),
                points=points,
            )
        except (KeyError, TypeError) as error:
            raise ResultsError(f"{where}: 'explain' lacks {error}") from error
        missing = [
            f"{role} {path}"
            for path in plan.paths
            for role in ("off", "alone")
            if (role, path) not in points
        ] + [role for role in ("reference", "reform", "neutral") if (role, None) not in points]
        if missing:
            raise ResultsError(f"{where}: 'explain' names no point for {', '.join(missing)}")
        return plan

    @property
    def paths(self) -> list[str]:
        """The mechanisms' dotted paths, in order."""
        return [str(m["path"]) for m in self.mechanisms]

    def name_of(self, path: str) -> str:
        """A mechanism's short name (its path when names repeat)."""
        names = [str(m.get("name", m["path"])) for m in self.mechanisms]
        for mechanism in self.mechanisms:
            if mechanism["path"] == path:
                name = str(mechanism.get("name", path))
                return name if names.count(name) == 1 else path
        return path


def explain_plan(results: Results) -> ExplainPlan | None:
    """The plan of an explain results folder; None for any other folder."""
    value = results.meta.get("explain")
    if value is None:
        return None
    return ExplainPlan.from_meta(value, f"{results.database}: meta")


def decomposition_outcomes(results: Results, chosen: Sequence[str] | None = None) -> list[str]:
    """The outcomes to decompose: ``chosen``, else those the explain named, else the stored
    :data:`KEY_OUTCOMES` (all stored outcomes when none of them is)."""
    stored = results.outcome_names()
    names = list(chosen) if chosen else list(results.meta_value("outcomes") or [])
    if names:
        unknown = [n for n in names if n not in stored]
        if unknown and stored:
            logger.warning("%s: not stored: %s", results.folder, ", ".join(unknown))
        return [n for n in names if n in stored]
    return [n for n in KEY_OUTCOMES if n in stored] or stored


# ---------------------------------------------------------------------- the decomposition
def decompose(
    wide: pd.DataFrame,
    plan: ExplainPlan,
    outcomes: Sequence[str],
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """The decomposition of each outcome (module docstring), one row per term.

    Args:
        wide: outcomes of ok runs, one row per run (``Results.outcomes(wide=True)``).
        plan: the explain plan (:func:`explain_plan`).
        outcomes: outcomes to decompose.
        confidence: confidence level of every interval.

    Returns:
        Columns :data:`DECOMPOSITION_COLUMNS`; per outcome the rows total, structural,
        alone and carried per mechanism, interaction.
    """
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        series = _paired(wide, plan, outcome)
        if series is None:
            continue
        n = len(series[("reference", None)])
        reference, reform = series[("reference", None)], series[("reform", None)]
        neutral = series[("neutral", None)]
        total = reform - reference
        structural = neutral - reference
        alone = {p: series[("alone", p)] - neutral for p in plan.paths}
        carried = {p: reform - series[("off", p)] for p in plan.paths}
        interaction = total - structural - sum(alone.values(), np.zeros(n))
        total_interval = t_interval(total, confidence)
        defined = (
            n >= 1
            and total_interval.mean != 0
            and not (n >= 2 and total_interval.low <= 0 <= total_interval.high)
        )
        base = {
            "outcome": outcome,
            "n": n,
            "reference_mean": float(reference.mean()),
            "reform_mean": float(reform.mean()),
        }

        terms = [("total", total, "", "total effect")]
        terms.append(("structural", structural, "", "structural (fixed differences)"))
        for path in plan.paths:
            terms.append(("alone", alone[path], path, plan.name_of(path)))
            terms.append(("carried", carried[path], path, plan.name_of(path)))
        terms.append(("interaction", interaction, "", "interaction (left over)"))
        for term, values, path, name in terms:
            interval = t_interval(values, confidence)
            share, low, high = _share(values, total, confidence) if defined else (math.nan,) * 3
            rows.append(
                base
                | {
                    "term": term,
                    "mechanism": path,
                    "name": name,
                    "estimate": interval.mean,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "share": share,
                    "share_low": low,
                    "share_high": high,
                }
            )
    return pd.DataFrame(rows, columns=list(DECOMPOSITION_COLUMNS))


def _paired(
    wide: pd.DataFrame, plan: ExplainPlan, outcome: str
) -> dict[tuple[str, str | None], np.ndarray] | None:
    """Each role's values on the replications where every variant has a finite value."""
    if outcome not in wide.columns:
        return None
    by_point = {
        point: frame.set_index("replication")[outcome].astype(float)
        for point, frame in wide.groupby("point_id", sort=False)
    }
    needed = set(plan.points.values())
    if not needed <= set(by_point):
        logger.info("%s: no runs yet of %s", outcome, ", ".join(sorted(needed - set(by_point))))
        return None
    common: pd.Index | None = None
    for point in needed:
        finite = by_point[point][np.isfinite(by_point[point])].index
        common = finite if common is None else common.intersection(finite)
    if common is None or common.empty:
        return None
    common = common.sort_values()
    return {key: by_point[point].loc[common].to_numpy() for key, point in plan.points.items()}


def _share(values: np.ndarray, total: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """mean(values) / mean(total) with a delta-method t interval (ratio estimator)."""
    mean_total = float(total.mean())
    share = float(values.mean()) / mean_total
    n = len(values)
    if n < 2:
        return share, math.nan, math.nan
    residual = values - share * total
    spread = float(residual.std(ddof=1)) / (math.sqrt(n) * abs(mean_total))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * spread
    return share, share - half, share + half


def decomposition(
    results: Results,
    outcomes: Sequence[str] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:
    """The decomposition table of an explain results folder (empty for another folder)."""
    plan = explain_plan(results)
    if plan is None:
        return pd.DataFrame(columns=list(DECOMPOSITION_COLUMNS))
    wide = results.outcomes(wide=True)
    if wide.empty:
        return pd.DataFrame(columns=list(DECOMPOSITION_COLUMNS))
    return decompose(wide, plan, decomposition_outcomes(results, outcomes), confidence)


# ---------------------------------------------------------------------- words and numbers
def _number(value: Any) -> str:
    number = float(value)
    if math.isnan(number):
        return "–"
    if number == 0:
        return "0"
    text = f"{number:+.3g}" if abs(number) < 1e4 else f"{number:+,.0f}"
    return text.replace("-", "−")


def _with_interval(value: Any, low: Any, high: Any) -> str:
    if math.isnan(float(low)) or math.isnan(float(high)):
        return _number(value)
    return f"{_number(value)} [{_number(low)}, {_number(high)}]"


def _percent(value: Any, low: Any = math.nan, high: Any = math.nan) -> str:
    if math.isnan(float(value)):
        return "–"
    text = f"{100 * float(value):.0f} %"
    if not (math.isnan(float(low)) or math.isnan(float(high))):
        text += f" [{100 * float(low):.0f}, {100 * float(high):.0f}]"
    return text.replace("-", "−")


def decomposition_rows(table: pd.DataFrame, outcome: str) -> list[list[str]]:
    """One outcome's decomposition as table rows: part, effect alone, its share, effect
    carried, its share (intervals in brackets)."""
    rows: list[list[str]] = []
    frame = table[table["outcome"] == outcome]
    carried = {r.mechanism: r for r in frame[frame["term"] == "carried"].itertuples(index=False)}
    for r in frame.itertuples(index=False):
        if r.term == "carried":
            continue
        cells = [
            str(r.name),
            _with_interval(r.estimate, r.ci_low, r.ci_high),
            _percent(r.share)
            if r.term == "total"
            else _percent(r.share, r.share_low, r.share_high),
        ]
        if r.term == "alone":
            c = carried[r.mechanism]
            cells += [
                _with_interval(c.estimate, c.ci_low, c.ci_high),
                _percent(c.share, c.share_low, c.share_high),
            ]
        else:
            cells += ["", ""]
        rows.append(cells)
    return rows


DECOMPOSITION_HEADER = ["Part", "Effect alone [CI]", "Share", "Carried [CI]", "Share"]


def decomposition_text(
    table: pd.DataFrame, plan: ExplainPlan, confidence: float = DEFAULT_CONFIDENCE
) -> str:
    """The decomposition as plain text for the terminal."""
    if table.empty:
        return "no decomposition yet: some variants have no successful runs"
    level = f"{100 * confidence:.0f} %"
    lines = [
        f"Effect of {plan.reform_scenario} against {plan.reference_scenario}, by mechanism "
        f"(paired replications; [{level} interval]).",
        "  alone: the mechanism on, every other neutral, against all neutral; "
        "carried: what the reform loses when it alone is neutral.",
        "  Shares are of the total effect; – when the total's interval covers 0.",
    ]
    for outcome in dict.fromkeys(table["outcome"]):
        first = table[table["outcome"] == outcome].iloc[0]
        lines.append("")
        lines.append(
            f"{plots.outcome_label(outcome)}: {plan.reference_scenario} "
            f"{float(first.reference_mean):.4g} → {plan.reform_scenario} "
            f"{float(first.reform_mean):.4g} (n = {int(first.n)})"
        )
        rows = [DECOMPOSITION_HEADER, *decomposition_rows(table, outcome)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(DECOMPOSITION_HEADER))]
        for row in rows:
            lines.append(
                "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            )
    if plan.fixed:
        lines.append("")
        lines.append(
            "Fixed differences (on in every variant; the structural part): "
            + ", ".join(f"{f['path']} {f['reference']!r} → {f['reform']!r}" for f in plan.fixed)
        )
    if plan.inactive:
        lines.append(
            "Not switched (inactive): "
            + ", ".join(f"{m['path']} ({m['reason']})" for m in plan.inactive)
        )
    return "\n".join(lines)


def mechanism_rows(plan: ExplainPlan) -> list[list[str]]:
    """The switched mechanisms: name, path, value in the reform, neutral value, origin, source."""
    return [
        [
            plan.name_of(str(m["path"])),
            str(m["path"]),
            repr(m.get("value")),
            repr(m.get("neutral")),
            f"{m.get('origin', '')}{' (structural)' if m.get('structural') else ''}",
            str(m.get("source", "")),
        ]
        for m in plan.mechanisms
    ]


# ---------------------------------------------------------------------- the figure
def plot_decomposition(table: pd.DataFrame, outcome: str, plan: ExplainPlan) -> Figure:
    """A waterfall from the reference (0) to the reform's effect: the structural part, each
    mechanism alone, the interaction, then the total, each with its interval."""
    frame = table[table["outcome"] == outcome]
    steps = [r for r in frame.itertuples(index=False) if r.term in ("structural", "alone")]
    steps += [r for r in frame.itertuples(index=False) if r.term == "interaction"]
    total = next(r for r in frame.itertuples(index=False) if r.term == "total")
    figure = plots.new_figure(7.0, 1.4 + 0.42 * (len(steps) + 1))
    axes = figure.add_subplot()
    palette = plots.group_colours(["increase", "decrease", "total"])
    start = 0.0
    labels = []
    for i, step in enumerate(steps):
        estimate = 0.0 if math.isnan(step.estimate) else float(step.estimate)
        colour = palette["increase" if estimate >= 0 else "decrease"]
        axes.barh(i, estimate, left=start, color=colour, height=0.6)
        end = start + estimate
        if not math.isnan(step.ci_low):
            axes.errorbar(
                end,
                i,
                xerr=[[estimate - step.ci_low], [step.ci_high - estimate]],
                color="black",
                capsize=3,
                linewidth=1,
            )
        start = end
        labels.append(str(step.name))
    axes.barh(len(steps), total.estimate, left=0.0, color=palette["total"], height=0.6)
    if not math.isnan(total.ci_low):
        axes.errorbar(
            total.estimate,
            len(steps),
            xerr=[[total.estimate - total.ci_low], [total.ci_high - total.estimate]],
            color="black",
            capsize=3,
            linewidth=1,
        )
    labels.append("total effect")
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.axvline(0.0, color="grey", linewidth=0.8)
    axes.set_xlabel(
        f"Change in {plots.outcome_label(outcome, unit=False).lower()} against "
        f"{plan.reference_scenario} ({plots.outcome_unit(outcome) or 'outcome units'})"
    )
    axes.set_title(f"{plots.outcome_label(outcome, unit=False)}: {plan.reform_scenario}")
    return figure


# ---------------------------------------------------------------------- report section
@dataclass(frozen=True)
class SectionTable:
    """A table of a report section."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass(frozen=True)
class SectionFigure:
    """A figure of a report section, as PNG bytes."""

    name: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class ReportSection:
    """A report section: a title and paragraphs, tables and figures in order."""

    title: str
    blocks: tuple[str | SectionTable | SectionFigure, ...]


def decomposition_sections(
    results: Results, confidence: float = DEFAULT_CONFIDENCE
) -> list[ReportSection]:
    """The decomposition sections of a results folder: its own when it is an explain
    folder, and one per explain a compare experiment asked for (``explain/<reform>/``)."""
    folders: list[Results] = []
    if explain_plan(results) is not None:
        folders.append(results)
    sections: list[ReportSection] = []
    for path in explain_folders(results.folder):
        try:
            folders.append(load_results(path))
        except ResultsError as error:
            sections.append(
                ReportSection(
                    f"Effect by mechanism: {path.name}",
                    (f"The explain results in {path} cannot be read: {error}",),
                )
            )
    for index, folder in enumerate(folders):
        sections.append(_section(folder, index, confidence))
    return sections


def _section(results: Results, index: int, confidence: float) -> ReportSection:
    plan = explain_plan(results)
    assert plan is not None
    title = f"Why does {plan.reform_scenario} work? Its effect by mechanism"
    table = decomposition(results, confidence=confidence)
    level = f"{100 * confidence:.0f} %"
    intro = (
        f"Each mechanism of {plan.reform_scenario} was switched to its neutral value in turn "
        "(the effect it carries: what the reform loses without it) and on alone with every "
        "other neutral (its effect alone), on the same seeds as the reform and "
        f"{plan.reference_scenario} (common random numbers). The structural part is the reform "
        "with every mechanism neutral against the reference; the interaction is what the "
        "structural part and the mechanisms alone leave of the total. Intervals are paired "
        f"{level} t intervals across replications; shares are of the total effect, and are "
        "not shown when the total's interval covers zero."
    )
    blocks: list[str | SectionTable | SectionFigure] = [
        intro,
        SectionTable(
            ["Mechanism", "Parameter", "Reform", "Neutral", "Kind", "Source"],
            mechanism_rows(plan),
            caption="The mechanisms switched (settings: where the reform differs from "
            "the reference; neutral is the reference's value).",
        ),
    ]
    if plan.fixed:
        blocks.append(
            "Fixed differences, on in every variant (the structural part): "
            + "; ".join(f"{f['path']}: {f['reference']!r} → {f['reform']!r}" for f in plan.fixed)
            + "."
        )
    if table.empty:
        blocks.append("No decomposition yet: some variants have no successful runs.")
        return ReportSection(title, tuple(blocks))
    for number, outcome in enumerate(dict.fromkeys(table["outcome"])):
        first = table[table["outcome"] == outcome].iloc[0]
        blocks.append(
            SectionTable(
                DECOMPOSITION_HEADER,
                decomposition_rows(table, outcome),
                caption=f"{plots.outcome_label(outcome)}: {plan.reference_scenario} "
                f"{float(first.reference_mean):.4g} → {plan.reform_scenario} "
                f"{float(first.reform_mean):.4g}, {int(first.n)} paired replications.",
            )
        )
        if number < MAX_FIGURES:
            figure = plot_decomposition(table, outcome, plan)
            blocks.append(
                SectionFigure(
                    f"explain_{index:02d}_{number:02d}",
                    f"{plots.outcome_label(outcome, unit=False)}: from {plan.reference_scenario} "
                    f"to {plan.reform_scenario}, step by step (bars: effect alone; whiskers: "
                    f"{level} intervals).",
                    plots.figure_png(figure),
                )
            )
    return ReportSection(title, tuple(blocks))


def explain_folders(folder: str | Path) -> list[Path]:
    """The explain results folders a compare folder holds (``explain/<reform>/``)."""
    sub = Path(folder) / EXPLAIN_FOLDER
    return sorted(p for p in sub.iterdir() if p.is_dir()) if sub.is_dir() else []


__all__ = [
    "DECOMPOSITION_COLUMNS",
    "KEY_OUTCOMES",
    "ExplainPlan",
    "ReportSection",
    "SectionFigure",
    "SectionTable",
    "decompose",
    "decomposition",
    "decomposition_outcomes",
    "decomposition_rows",
    "decomposition_sections",
    "decomposition_text",
    "explain_folders",
    "explain_plan",
    "mechanism_rows",
    "plot_decomposition",
]
