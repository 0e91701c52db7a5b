"""One readable report per results folder: a self-contained HTML page and a Markdown version.

:func:`write_report` reads a results folder (never the experiment files: the folder is the
record), computes the statistics of :mod:`analysis.statistics`, draws the figures of
:mod:`analysis.plots` that apply, and writes

- ``report.html``: one file, figures embedded as base64 PNG, no script, no external link;
- ``report.md`` with the figures as PNG files in ``figures/`` beside it.

Contents: the experiment's question as the title; for compare experiments the answer box
(:mod:`analysis.answer`: reforms ranked on the main outcomes, a reforms × outcomes grid in
natural units with verdicts, what it rests on, scale and horizon), then the reform effects
in detail, scenario means and the figures; sweep and sensitivity sections for those kinds;
the runs, what differs between the scenarios, the governance network and every stored
outcome in appendices, and the manifest facts (seeds, versions, dates, git commit) needed
to reproduce the result.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from analysis import answer, plots
from analysis import formatting as fmt
from analysis import statistics as st
from analysis.decomposition import SectionFigure, SectionTable, decomposition_sections
from analysis.formatting import outcome_label, parameter_label
from analysis.results import Results, ResultsError, RunProgress, load_results
from model.outcomes import OUTCOME_NAMES, find_outcome, per_type_outcomes

logger = logging.getLogger(__name__)

REPORT_FOLDER = "report"
HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"
FIGURE_FOLDER = "figures"
# Assumption: when the experiment file requests no precision, an effect is reported as
# imprecise when its interval is wider than ±10 % of the reference level — roughly the
# smallest change a policymaker would act on.
DEFAULT_PRECISION = st.PrecisionTarget(0.10)
# Outcomes of the headline table when the experiment file names none (README "What a run reports").
HEADLINE_OUTCOMES: tuple[str, ...] = (
    "resolution_time_median_days",
    "resolution_time_p90_days",
    "on_time_share",
    "satisfaction_share",
    "trust_mean",
    "participation_share",
    "representativeness",
    "staff_hours_per_case",
)
MAX_FIGURES_PER_SECTION = 12
MAX_NETWORK_NODES = 300  # network pictures are for small scenarios (docs/design.md: no big layouts)
_RESOLUTION_VARIABLE = "resolution_time_days"
WEEK_DAYS = 7  # daily series are drawn as weekly means
# The trust colour scale of the network figure spans at least 0.1 (ten times the registry's
# practical threshold of 0.01), so that noise does not look like a pattern (assumption).
NETWORK_TRUST_SPAN = 0.1
_SKIPPED_SETTINGS = {"name", "title", "description", "extends"}


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_report` wrote its files.

    Attributes:
        html: the self-contained HTML page.
        markdown: the Markdown version.
        figures: the PNG files the Markdown version shows.
    """

    html: Path
    markdown: Path
    figures: tuple[Path, ...]


# ---------------------------------------------------------------------- document blocks
@dataclass
class _Heading:
    level: int
    text: str


@dataclass
class _Text:
    text: str
    css: str = ""


@dataclass
class _Bullets:
    items: list[str]
    css: str = ""


@dataclass
class _Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class _Image:
    name: str
    caption: str
    png: bytes


@dataclass
class _Code:
    text: str
    summary: str
    language: str = ""


@dataclass
class _Document:
    title: str
    blocks: list[Any] = field(default_factory=list)

    def add(self, *blocks: Any) -> None:
        self.blocks.extend(blocks)

    def figure(self, name: str, figure: Figure, caption: str) -> None:
        self.blocks.append(_Image(name, caption, plots.figure_png(figure)))


# ---------------------------------------------------------------------- formatting
def _number(value: Any, digits: int = 3) -> str:
    """A number for a table: 3 significant digits, thousands separators, '–' when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    if math.isnan(number):
        return "–"
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number != 0 and abs(number) >= 10 ** (digits + 1):
        text = f"{number:,.0f}"
    else:
        text = f"{number:.{digits}g}"
        if "e" in text:
            text = f"{number:.2e}"
    return text.replace("-", "−")


def _interval(low: Any, high: Any) -> str:
    if _number(low) == "–" or _number(high) == "–":
        return ""
    return f"[{_number(low)}, {_number(high)}]"


def _with_interval(value: Any, low: Any, high: Any) -> str:
    interval = _interval(low, high)
    return f"{_number(value)} {interval}".strip()


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _setting(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# ---------------------------------------------------------------------- scenario settings
def scenario_settings(results: Results) -> dict[str, dict[str, Any]]:
    """Each scenario's stored settings as dotted field → value.

    Read from the manifest's ``scenarios`` entries: ``raw`` (the merged scenario mapping),
    else ``parameters``, else ``toml`` text; when none is stored, the experiment file's own
    ``[[scenarios]]`` entries (file and overrides) are used. Keys ``name``,
    ``description`` and ``extends`` are left out.
    """
    return _scenario_settings(results)[0]


def _scenario_settings(results: Results) -> tuple[dict[str, dict[str, Any]], bool]:
    """(settings, complete): complete is False when only experiment-file overrides are known."""
    described = results.scenario_descriptions()
    settings: dict[str, dict[str, Any]] = {}
    for name, entry in described.items():
        mapping: Any = entry.get("raw") or entry.get("parameters")
        if mapping is None and isinstance(entry.get("toml"), str):
            try:
                mapping = tomllib.loads(entry["toml"])
            except tomllib.TOMLDecodeError:
                mapping = None
        if isinstance(mapping, Mapping):
            flat = _flatten(mapping)
            settings[name] = {k: v for k, v in flat.items() if k not in _SKIPPED_SETTINGS}
    if settings:
        return settings, True
    return _settings_from_experiment_text(results), False


def _settings_from_experiment_text(results: Results) -> dict[str, dict[str, Any]]:
    experiment = results.manifest.get("experiment")
    text = experiment.get("text") if isinstance(experiment, Mapping) else None
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    entries = spec.get("scenarios")
    if not isinstance(entries, list):
        return {}
    names = results.scenarios()
    settings: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue
        path = str(entry.get("path", ""))
        name = entry.get("name") or (names[i] if i < len(names) else Path(path).stem)
        values: dict[str, Any] = {"scenario file": path}
        overrides = entry.get("overrides")
        if isinstance(overrides, Mapping):
            values.update(_flatten(overrides))
        settings[str(name)] = values
    return settings


def scenario_differences(
    settings: Mapping[str, Mapping[str, Any]], unset: str = "(default)"
) -> pd.DataFrame:
    """Settings whose values differ between scenarios: one row per dotted field.

    Columns: ``setting`` and one per scenario; a field a scenario does not set shows
    ``unset``.
    """
    names = list(settings)
    keys = sorted({key for values in settings.values() for key in values})
    rows = []
    for key in keys:
        shown = [_setting(settings[n][key]) if key in settings[n] else "(default)" for n in names]
        if len(set(shown)) > 1:
            rows.append([key, *shown])
    return pd.DataFrame(rows, columns=["setting", *names])


def ordered_outcomes(names: Sequence[str]) -> list[str]:
    """Outcome names in model order: fixed outcomes, per-type, per-group, then the rest."""
    fixed = {name: i for i, name in enumerate((*OUTCOME_NAMES, *per_type_outcomes()))}
    groups = {name: i for i, (name, _, _) in enumerate(st.participation_groups(names))}

    def key(name: str) -> tuple[int, int, str]:
        if name in fixed:
            return 0, fixed[name], name
        if name in groups:
            return 1, groups[name], name
        return 2, 0, name

    return sorted(names, key=key)


# ---------------------------------------------------------------------- sections
def _choose_outcomes(results: Results, stored: Sequence[str]) -> list[str]:
    if results.meta_value("outcomes"):
        return results.outcomes_of_interest
    chosen = [name for name in HEADLINE_OUTCOMES if name in stored]
    return chosen or list(stored)[:8]


def _precision(results: Results) -> tuple[st.Precision, float, str]:
    """The precision target, confidence level and a sentence saying where they come from."""
    stored = results.meta_value("precision")
    target = st.precision_from_meta(stored)
    confidence = st.DEFAULT_CONFIDENCE
    if isinstance(stored, Mapping) and isinstance(stored.get("confidence"), int | float):
        confidence = float(stored["confidence"])
    if target is not None:
        scope = ", ".join(target.outcomes) if target.outcomes else "every outcome"
        how = "of |mean|" if target.relative else "in outcome units"
        return (
            target,
            confidence,
            f"Precision target from the experiment file: half-width ≤ {target.target:g} "
            f"{how} for {scope}, at {round(confidence * 100)} % confidence.",
        )
    return (
        DEFAULT_PRECISION,
        confidence,
        "The experiment file requests no precision; an effect is flagged when its "
        f"{round(confidence * 100)} % interval is wider than ±{DEFAULT_PRECISION.target:.0%} of "
        "the reference level (assumption).",
    )


def _unfinished_note(results: Results) -> _Text | None:
    """The warning at the top of an unfinished experiment's report: planned against stored
    runs, the points with no run yet, and the command that finishes it (None when finished)."""
    progress = results.progress()
    if not progress.unfinished:
        return None
    missing = progress.points_without_runs
    kind = "scenario" if results.kind not in ("sweep", "sensitivity") else "point"
    none_yet = (
        f" No successful run yet of {', '.join(missing[:5])}"
        + (f" and {len(missing) - 5:,} more {kind}s." if len(missing) > 5 else ".")
        if missing
        else ""
    )
    command = results.resume_command()
    finish = (
        f"To finish it, run `{command}`, then write this report again."
        if command
        else "To finish it, run the experiment again into this folder with --resume, then "
        "write this report again."
    )
    return _Text(
        f"Unfinished experiment: {progress.counts_text()}, of {progress.points:,} "
        f"{kind}(s) × {progress.replications:,} replications. Everything below rests on the "
        f"stored runs only.{none_yet} {finish}",
        css="warning",
    )


def _runs_section(doc: _Document, results: Results) -> None:
    runs = results.runs()
    ok = runs[runs["status"] == "ok"]
    failed = runs[runs["status"] != "ok"]
    points = results.points()
    progress = results.progress()
    # every point counts, those with no successful run as 0
    replications = (
        ok.groupby("point_id")["replication"].nunique().reindex(points["point_id"], fill_value=0)
    )
    doc.add(_Heading(2, "Runs"))
    rows = [
        ["Experiment kind", results.kind],
        ["Scenarios", ", ".join(results.scenarios()) or "–"],
        ["Points (scenario configurations)", f"{len(points):,}"],
        [
            "Planned runs",
            f"{progress.planned:,} ({progress.points:,} points × "
            f"{progress.replications:,} replications)",
        ],
        [
            "Replications per point (successful)",
            "–"
            if replications.empty
            else (
                f"{replications.min():,}"
                if replications.min() == replications.max()
                else f"{replications.min():,}–{replications.max():,}"
            ),
        ],
        ["Successful runs", f"{len(ok):,}"],
        ["Failed runs", f"{len(failed):,}"],
        [
            "Not run",
            f"{progress.not_run:,} (unfinished)" if progress.unfinished else "0",
        ],
    ]
    doc.add(_Table(["Fact", "Value"], rows))
    note = _unfinished_note(results)
    if note is not None:
        doc.add(note)
    if len(failed):
        items = []
        for row in failed.head(10).itertuples(index=False):
            lines = [line for line in str(row.error or "").strip().splitlines() if line.strip()]
            items.append(f"{row.run_key}: {lines[-1] if lines else 'no error text stored'}")
        if len(failed) > 10:
            items.append(f"… and {len(failed) - 10:,} more (see the runs table)")
        doc.add(
            _Text(
                f"{len(failed):,} run(s) failed; statistics use the successful runs only, and "
                "paired effects only replications that succeeded under both scenarios.",
                css="warning",
            ),
            _Bullets(items),
        )


def _summary_table(
    summary: pd.DataFrame,
    names: Sequence[str],
    groups: Sequence[str],
    confidence: float,
    titles: Mapping[str, str] | None = None,
) -> _Table:
    by = "scenario" if "scenario" in summary else "point_id"
    level = round(confidence * 100)
    header = ["Outcome", *[f"{(titles or {}).get(g, g)} mean [{level} % CI]" for g in groups]]
    indexed = summary.set_index([by, "outcome"]) if len(summary) else summary
    rows = []
    for name in names:
        row = [outcome_label(name)]
        for group in groups:
            if len(summary) and (group, name) in indexed.index:
                r = indexed.loc[(group, name)]
                row.append(
                    fmt.format_level_with_interval(name, r["mean"], r["ci_low"], r["ci_high"])
                )
            else:
                row.append("–")
        rows.append(row)
    return _Table(header, rows)


# ---------------------------------------------------------------------- the answer
_MARKS = {
    answer.BETTER: "▲ better",
    answer.WORSE: "▼ worse",
    answer.HIGHER: "↑ higher",
    answer.LOWER: "↓ lower",
    answer.NO_PRACTICAL_DIFFERENCE: "≈ no practical difference",
    answer.UNCLEAR: "? unclear: interval spans zero",
    answer.NO_DATA: "no data",
}


@dataclass
class _Cell:
    text: str
    verdict: str = ""


@dataclass
class _Answer:
    """The summary box: the reforms ranked, a reforms × outcomes grid, what it rests on."""

    lead: str
    each: str  # the best reform on each main outcome
    header: list[str]
    notes: list[str]  # one per outcome column: direction and threshold
    rows: list[tuple[str, str, str, list[_Cell]]]  # rank, scenario name, label, cells
    assumptions: list[str]
    assumptions_note: str
    assumptions_source: str  # the one source of every assumption listed, or "" (each has its own)
    assumptions_caveat: str  # what a reader must know to weigh the listed weights, or ""
    facts: str
    legend: str
    overloads: str = ""  # the rows with overloaded runs (time outcomes censored), or ""


def _overload_text(results: Results, rows: Sequence[str], titles: Mapping[str, str]) -> str:
    """Which rows of the answer have overloaded runs, and how many of their runs: a run
    whose department or backlog could not keep up has its time outcomes censored (they
    understate the wait), which the grid's intervals do not show. "" when none has.
    A row is a scenario (compare) or a point (sweep); runs are matched by either."""
    tidy = results.outcomes(outcomes=["overloaded"])
    if tidy.empty:
        return ""
    parts = []
    for row in rows:
        mine = tidy[(tidy["scenario"].astype(str) == row) | (tidy["point_id"].astype(str) == row)]
        if len(mine) == 0:
            continue
        overloaded = int((mine["value"] >= 1.0).sum())
        if overloaded:
            parts.append(f"{titles.get(row, row)} {overloaded} of {len(mine)} runs")
    if not parts:
        return ""
    return (
        "Overloaded runs (a department or the backlog could not keep up, so time outcomes "
        "understate the wait): " + "; ".join(parts) + "."
    )


def _threshold_text(outcome: str, threshold: float, level: float) -> str:
    """'matters from ±0.5 days', in the unit of the reference level."""
    if not math.isfinite(threshold):
        return "no threshold"
    text = fmt.format_effect(outcome, threshold, math.nan, math.nan, level)
    return f"matters from ±{text.lstrip('+')}"


def _scale_text(
    facts: answer.RunFacts, scenarios: Sequence[str], progress: RunProgress | None = None
) -> str:
    counts = [facts.residents[s] for s in scenarios if s in facts.residents]
    if not counts:
        scale = "residents not recorded"
    elif min(counts) == max(counts):
        first = next(s for s in scenarios if s in facts.residents)
        communities, grids = facts.communities[first], facts.grids[first]
        scale = (
            f"{counts[0]:,} residents per scenario ({communities:,} "
            f"{'community' if communities == 1 else 'communities'}, {grids:,} grids)"
        )
    else:
        scale = f"{min(counts):,}–{max(counts):,} residents"
    horizon = f"{facts.days:,} simulated days" if facts.days else "horizon not recorded"
    warmup = (
        f"warm-up {facts.warmup_days:g} days left out of the statistics"
        if facts.warmup_days
        else "no warm-up (statistics include the start-up days)"
    )
    runs = f"{facts.replications:,} replications per scenario" if facts.replications else ""
    if runs and progress is not None and progress.unfinished:
        runs += (
            f" planned, only {progress.ok + progress.failed:,} of {progress.planned:,} runs "
            "stored (unfinished)"
        )
    return " · ".join(p for p in (f"Scale: {scale}", horizon, warmup, runs) if p)


def _answer_block(
    results: Results,
    effects: pd.DataFrame,
    summary: pd.DataFrame,
    reference: str,
    scenarios: Sequence[str],
    titles: Mapping[str, str],
    confidence: float,
    order: Sequence[str] | None = None,
    row_header: str = "Sweep point",
) -> tuple[_Answer, pd.DataFrame]:
    """The summary box of a compare report, and the verdict table it was built from.

    ``order``: rows in this order (a sweep's points by factor value) instead of ranked; the
    first column then numbers them.
    """
    stored = list(dict.fromkeys(effects["outcome"]))
    main = answer.main_outcomes(results, stored)
    verdicts = answer.verdict_table(effects, answer.thresholds(results))
    ranking = answer.rank_reforms(verdicts, main)
    indexed = verdicts.set_index(["scenario", "outcome"])
    means = summary.set_index(["scenario", "outcome"]) if len(summary) else summary
    level = round(confidence * 100)

    def effect_text(scenario: str, outcome: str) -> str:
        r = indexed.loc[(scenario, outcome)]
        if r["reference_mean"] == 0 and r["scenario_mean"] == 0:
            return "0 in both"  # e.g. participation where neither holds consultations
        return fmt.format_effect(
            outcome, r["difference"], r["ci_low"], r["ci_high"], r["reference_mean"]
        )

    header = [
        "Rank" if order is None else "#",
        "Scenario" if order is None else row_header,
        *[outcome_label(o, unit=False) for o in main],
    ]
    notes = []
    for outcome in main:
        entry = find_outcome(outcome)
        direction = entry.direction if entry is not None else None
        rows_of = verdicts[verdicts["outcome"] == outcome]
        threshold = float(rows_of["threshold"].iloc[0]) if len(rows_of) else math.nan
        reference_level = float(rows_of["reference_mean"].iloc[0]) if len(rows_of) else math.nan
        said = {"higher": "higher is better", "lower": "lower is better"}.get(
            direction or "", "no better direction"
        )
        notes.append(f"{said} · {_threshold_text(outcome, threshold, reference_level)}")
    rows: list[tuple[str, str, str, list[_Cell]]] = []
    cells = []
    for outcome in main:
        if len(summary) and (reference, outcome) in means.index:
            r = means.loc[(reference, outcome)]
            text = fmt.format_level_with_interval(outcome, r["mean"], r["ci_low"], r["ci_high"])
        else:
            text = "–"
        cells.append(_Cell(text, "reference"))
    rows.append(("ref.", reference, titles.get(reference, reference), cells))
    ranks = {str(r.scenario): str(r.rank) for r in ranking.itertuples(index=False)}
    listed = [s for s in order if s in ranks] if order is not None else list(ranks)
    for i, scenario in enumerate(listed, start=1):
        cells = []
        for outcome in main:
            if (scenario, outcome) in indexed.index:
                verdict = str(indexed.loc[(scenario, outcome), "verdict"])
                cells.append(_Cell(effect_text(scenario, outcome), verdict))
            else:
                cells.append(_Cell("–", answer.NO_DATA))
        rows.append(
            (
                ranks[scenario] if order is None else str(i),
                scenario,
                titles.get(scenario, scenario),
                cells,
            )
        )
    # in sentences a sweep point is "<factor> = <value>", in the grid just its value
    named = (
        {k: f"{row_header} = {v}" for k, v in titles.items()}
        if order is not None and row_header != "Sweep point"
        else dict(titles)
    )
    lead = _lead_sentence(ranking, verdicts, main, reference, named, effect_text)
    if order is not None:
        lead = lead.replace("No reform is", "No sweep point is")
    assumptions, note = answer.key_assumptions(results, main)
    # one source for all (a sensitivity folder's ranking) is said once, before the list
    sources = {a.source for a in assumptions}
    shared = sources.pop() if len(sources) == 1 and len(assumptions) > 1 else ""
    assumption_texts = [
        f"{parameter_label(a.factor)} — {weight_text(a)}"
        + f" on {outcome_label(a.outcome, unit=False).lower()}"
        + ("" if shared else f" ({a.source})")
        for a in assumptions
    ]
    caveat = (
        "A total-order index above 1 is the estimate's error, not the factor's share: the "
        "sensitivity design was too small for it (more `samples` give a sharper one)."
        if any(a.total_order and a.weight > 1.0 for a in assumptions)
        else ""
    )
    no_data = any(cell.verdict == answer.NO_DATA for *_, cells in rows for cell in cells)
    legend = _legend(named.get(reference, reference), level, no_data)
    block = _Answer(
        lead=lead,
        each=_best_per_outcome(verdicts, main, named, effect_text),
        header=header,
        notes=notes,
        rows=rows,
        assumptions=assumption_texts,
        assumptions_note=note,
        assumptions_source=shared,
        assumptions_caveat=caveat,
        facts=_scale_text(answer.run_facts(results), results.scenarios(), results.progress()),
        legend=legend,
        overloads=_overload_text(results, [reference, *listed], named),
    )
    return block, verdicts


def _legend(reference: str, level: int, no_data: bool) -> str:
    """How to read the answer's table; where a cell has no data (``no_data``), why that may
    be."""
    text = (
        f"Reference row: {reference}: mean with its {level} % interval. "
        f"Other rows: paired difference from it (same seeds) with its {level} % interval. "
        "▲/▼ better/worse by the outcome's direction; ≈ the difference is below the smallest "
        "that matters; ? the interval spans zero (more replications needed)."
    )
    if no_data:
        text += (
            " – no data: no pair of runs gave the outcome a value. A percentile of resolution "
            "time has none while more than its share of the measured cases (half for the "
            "median, a tenth for the 90th percentile) is still open when a run ends: a "
            "longer run measures it."
        )
    return text


def _lead_sentence(
    ranking: pd.DataFrame,
    verdicts: pd.DataFrame,
    main: Sequence[str],
    reference: str,
    titles: Mapping[str, str],
    effect_text: Any,
) -> str:
    if ranking.empty or not main:
        return "No reform has paired effects on the main outcomes yet."
    best = str(ranking["scenario"].iloc[0])
    mine = verdicts[(verdicts["scenario"] == best) & verdicts["outcome"].isin(main)]

    def listed(verdict: str) -> str:
        chosen = mine[mine["verdict"] == verdict]["outcome"]
        return "; ".join(
            f"{outcome_label(o, unit=False).lower()} {effect_text(best, o)}" for o in chosen
        )

    better, worse = listed(answer.BETTER), listed(answer.WORSE)
    reference_title = titles.get(reference, reference)
    if not better:
        return (
            f"No reform is better than {reference_title} on any main outcome at these "
            "replications: the effects below are too small to matter or too uncertain."
        )
    text = f"{titles.get(best, best)} does best: better than {reference_title} on {better}"
    text += f"; worse on {worse}." if worse else "; worse on none of the main outcomes."
    return text


def weight_text(assumption: answer.Assumption) -> str:
    """'weight 0.30 [0.00, 0.80]': the weight with its interval where it has one, cut at 0
    below as the Morris table and plot cut μ*'s (a scaled μ* and a total-order index are
    never negative: a bootstrap half-width wider than the weight is its imprecision). A
    negative estimate (a total-order index from a small design) keeps its interval uncut."""
    weight, text = assumption.weight, f"weight {assumption.weight:.2f}"
    if assumption.conf is None:
        return text
    low = weight - assumption.conf
    return f"{text} [{max(0.0, low) if weight >= 0 else low:.2f}, {weight + assumption.conf:.2f}]"


def _best_per_outcome(
    verdicts: pd.DataFrame, main: Sequence[str], titles: Mapping[str, str], effect_text: Any
) -> str:
    """'Best on each: <outcome>: <reform> (<effect>); …' over outcomes with a direction."""
    parts = []
    for outcome in main:
        entry = find_outcome(outcome)
        if entry is None or entry.direction is None:
            continue
        rows = verdicts[verdicts["outcome"] == outcome]
        better = rows[rows["verdict"] == answer.BETTER]
        label = outcome_label(outcome, unit=False).lower()
        if better.empty:
            parts.append(f"{label}: {_none_better(set(rows['verdict']))}")
            continue
        sign = 1.0 if entry.direction == "higher" else -1.0
        top = better.loc[(sign * better["difference"].astype(float)).idxmax()]
        scenario = str(top["scenario"])
        parts.append(
            f"{label}: {titles.get(scenario, scenario)} ({effect_text(scenario, outcome)})"
        )
    return "Best on each: " + "; ".join(parts) + "." if parts else ""


def _none_better(verdicts: set[str]) -> str:
    """Why no reform is best on an outcome, from its reforms' verdicts: no data for any, no
    practical difference for all, or else none clearly better (intervals spanning zero,
    reforms worse)."""
    if verdicts <= {answer.NO_DATA}:
        return "no data"
    if verdicts == {answer.NO_PRACTICAL_DIFFERENCE}:
        return "none makes a practical difference"
    return "none is clearly better"


def _compare_section(
    doc: _Document,
    results: Results,
    wide: pd.DataFrame,
    names: list[str],
    precision: st.Precision,
    confidence: float,
    precision_note: str,
) -> None:
    stored = results.scenarios()
    reference = results.reference or (stored[0] if stored else None)
    scenarios = [s for s in results.scenarios() if s in set(wide.get("scenario", []))]
    titles = answer.scenario_titles(results)
    colours = plots.scenario_colours(stored)
    legend = {s: answer.plain_title(titles.get(s, s)) for s in stored}
    level = round(confidence * 100)
    if reference is None or reference not in scenarios:
        doc.add(_Text(f"The reference scenario {reference!r} has no successful runs.", "warning"))
        return
    outcomes_all = st.outcome_columns(wide)
    main = answer.main_outcomes(results, outcomes_all)
    chosen = list(dict.fromkeys([*main, *names]))
    effects = st.paired_differences(
        wide,
        reference,
        names=chosen,
        confidence=confidence,
        precision=precision,
        requested=precision is not DEFAULT_PRECISION,  # the report's own default: a note
    )
    summary = st.summarise(wide, names=chosen, confidence=confidence)
    block, verdicts = _answer_block(
        results, effects, summary, reference, scenarios, titles, confidence
    )
    doc.add(block)
    reference_title = titles.get(reference, reference)
    doc.add(_Heading(2, "Reform effects in detail"))
    doc.add(
        _Text(
            f"Each scenario is compared with {reference_title} on common random numbers: "
            f"replication i of every scenario ran on the same seed, so the {level} % intervals "
            "are paired-t intervals of the per-replication differences (scenario − reference)."
        )
    )
    rows = []
    # grouped by outcome (the reforms side by side), outcomes in the order of interest
    order = {name: i for i, name in enumerate(chosen)}
    by_outcome = verdicts.assign(_order=verdicts["outcome"].map(order)).sort_values(
        "_order", kind="stable"
    )
    for row in by_outcome.itertuples(index=False):
        outcome = str(row.outcome)
        rows.append(
            [
                outcome_label(outcome),
                titles.get(str(row.scenario), str(row.scenario)),
                fmt.format_level(outcome, row.reference_mean),
                fmt.format_level(outcome, row.scenario_mean),
                fmt.format_effect(
                    outcome, row.difference, row.ci_low, row.ci_high, row.reference_mean
                ),
                _MARKS.get(str(row.verdict), str(row.verdict)),
                f"{row.n:,}",
            ]
        )
    doc.add(
        _Table(
            [
                "Outcome",
                "Scenario",
                f"{reference_title} mean",
                "Scenario mean",
                f"Difference [{level} % CI]",
                "Verdict",
                "Pairs",
            ],
            rows,
            caption="Reform effects (scenario − reference), paired by replication; shares in "
            "percentage points (pp), times in days, hours or minutes, counts as whole numbers.",
        )
    )
    warnings = [w for w in effects["warning"] if w]
    doc.add(_Text(precision_note))
    if warnings:
        doc.add(
            _Text("Replications too few for the precision stated above:", css="warning"),
            _Bullets(warnings),
        )
    doc.add(_Heading(3, "Scenario means"))
    doc.add(_summary_table(summary, chosen, scenarios, confidence, titles))
    finite = effects[effects["relative_change"].astype(float).map(math.isfinite)]
    if len(finite):
        doc.figure(
            "forest",
            plots.plot_forest(
                effects, answer.plain_title(reference_title), confidence, colours, legend
            ),
            f"Paired effects against {reference_title}, as a share of the reference mean, with "
            f"{level} % intervals.",
        )
    _distribution_and_timeseries_figures(doc, results, confidence, colours, legend)
    full = st.summarise(wide, confidence=confidence)
    consulting = _consulting_scenarios(full)
    table = st.participation_table(full)
    table = table[table["scenario"].isin(consulting)] if len(table) else table
    if len(table):
        doc.figure(
            "participation",
            plots.plot_participation(table, confidence=confidence, colours=colours, labels=legend),
            "Participation in consultations by age group and party membership, for the "
            f"scenarios that hold consultations (mean over replications, {level} % intervals).",
        )


def _consulting_scenarios(summary: pd.DataFrame) -> list[str]:
    """Scenarios that held consultation meetings (or had any participation)."""
    held = summary[summary["outcome"].isin(["meetings_held", "participation_share"])]
    return sorted({str(s) for s, m in zip(held["scenario"], held["mean"], strict=True) if m > 0})


def _distribution_and_timeseries_figures(
    doc: _Document,
    results: Results,
    confidence: float,
    colours: plots.Colours,
    legend: Mapping[str, str],
) -> None:
    level = round(confidence * 100)
    variables = results.distribution_variables()
    if variables:
        variable = _RESOLUTION_VARIABLE if _RESOLUTION_VARIABLE in variables else variables[0]
        pooled = st.pooled_distribution(results.distributions(variable))
        if len(pooled):
            doc.figure(
                "resolution_ecdf",
                plots.plot_resolution_ecdf(pooled, colours=colours, labels=legend),
                "Share of closed cases resolved within a given time: the cases reported "
                "after the warm-up and closed by the end, pooled over replications (from the "
                "stored histograms).",
            )
            quantiles = st.distribution_quantiles(pooled)
            name = "resolution_time_median_days"
            doc.add(
                _Table(
                    ["Scenario", "Closed cases", "Median", "90th percentile"],
                    [
                        [
                            legend.get(str(r.scenario), str(r.scenario)),
                            f"{r.cases:,.0f}",
                            fmt.format_level(name, r.q50),
                            fmt.format_level(name, r.q90),
                        ]
                        for r in quantiles.itertuples(index=False)
                    ],
                    caption="Resolution time of the closed cases reported after the warm-up, "
                    "pooled over replications (read within the stored histogram bins). "
                    "Cases still open at the end are not in it, so these quantiles read "
                    "lower than the outcome table's median and 90th percentile, which count "
                    "them as unfinished and are means of each run's own value.",
                )
            )
    stored = set(results.timeseries_variables())
    for variable, caption in (
        ("backlog", "Open cases over time"),
        ("trust_mean", "Mean trust over time"),
    ):
        if variable in stored:
            weekly = st.period_means(results.timeseries([variable]), WEEK_DAYS)
            bands = st.timeseries_bands(weekly, variable, confidence=confidence)
            doc.figure(
                variable,
                plots.plot_timeseries_bands(
                    bands,
                    variable,
                    confidence=confidence,
                    colours=colours,
                    labels=legend,
                    period_days=WEEK_DAYS,
                ),
                f"{caption}: weekly means, mean over replications with its {level} % band.",
            )


def _network_section(doc: _Document, results: Results) -> None:
    """Appendix: every scenario's governance network in one figure on shared colour scales."""
    units = results.units()
    if units.empty or units["node"].nunique() > MAX_NETWORK_NODES:
        return
    titles = answer.scenario_titles(results)
    labels = {"backlog": "Open cases at the end", "trust": "Mean trust at the end (0–1)"}
    variables = {v: labels[v] for v in labels if v in set(units["variable"])}
    panels = []
    for scenario in results.scenarios():
        rows = units[units["scenario"] == scenario]
        if rows.empty:
            continue
        values = {v: plots.unit_means(rows, v) for v in variables}
        graph = plots.network_from_units(rows)
        panels.append((answer.plain_title(titles.get(scenario, scenario)), graph, values))
    if not panels or not variables:
        return
    doc.add(
        _Heading(2, "Appendix: the governance network"),
        _Text(
            "Each unit of the hierarchy coloured by its value at the end of the run, averaged "
            "over replications; each column shares one colour scale across scenarios, so "
            "colours compare between scenarios. Grey units have no value."
        ),
    )
    doc.figure(
        "network",
        plots.plot_networks(panels, variables, {"trust": NETWORK_TRUST_SPAN}),
        "End-of-run backlog and trust per unit, every scenario on the same scales.",
    )


def _sweep_answer(
    doc: _Document,
    results: Results,
    wide: pd.DataFrame,
    parameters: pd.DataFrame,
    factors: Sequence[str],
    confidence: float,
) -> None:
    """The answer box of a sweep: each point against the lowest one on the main outcomes,
    paired by replication (every point ran the same seeds)."""
    stored = st.outcome_columns(wide)
    main = answer.main_outcomes(results, stored)
    if not factors or not main or "point_id" not in wide:
        return
    table = parameters.copy()
    numeric = [f for f in factors if pd.to_numeric(table[f], errors="coerce").notna().all()]
    for factor in numeric:
        table[factor] = pd.to_numeric(table[factor])
    table = table.sort_values(numeric, kind="stable") if numeric else table
    order = [str(p) for p in table["point_id"]]
    one = len(factors) == 1
    titles = {
        str(r["point_id"]): ", ".join(
            _setting(r[f]) if one else f"{parameter_label(f)} = {_setting(r[f])}" for f in factors
        )
        for r in table.to_dict("records")
    }
    by_point = wide.assign(scenario=wide["point_id"].astype(str))
    if order[0] not in set(by_point["scenario"]):
        return
    effects = st.paired_differences(by_point, order[0], names=main, confidence=confidence)
    summary = st.summarise(by_point, names=main, confidence=confidence)
    block, _ = _answer_block(
        results,
        effects,
        summary,
        order[0],
        order,
        titles,
        confidence,
        order=order[1:],
        row_header=parameter_label(factors[0]) if one else "Sweep point",
    )
    doc.add(block)


def _sweep_section(
    doc: _Document,
    results: Results,
    wide: pd.DataFrame,
    names: list[str],
    precision: st.Precision,
    confidence: float,
) -> None:
    level = round(confidence * 100)
    parameters = results.point_parameters()
    factors = results.factors()
    _sweep_answer(doc, results, wide, parameters, factors, confidence)
    doc.add(_Heading(2, "Sweep: response curves"))
    doc.add(
        _Text(
            f"Every point ran the same replication seeds (common random numbers). Bands are "
            f"{level} % t intervals of the mean over replications. Swept: "
            f"{'; '.join(f'{parameter_label(f)} (`{f}`)' for f in factors) or 'nothing'}."
        )
    )
    curves = st.sweep_curves(wide, parameters, names=names, confidence=confidence)
    header = [
        "Point",
        *[parameter_label(f) for f in factors],
        *[f"{outcome_label(n)} [{level} % CI]" for n in names],
    ]
    rows = []
    indexed = curves.set_index(["point_id", "outcome"]) if len(curves) else curves
    for point in parameters.to_dict("records"):
        point_id = point["point_id"]
        row = [str(point_id), *[_setting(point.get(f)) for f in factors]]
        for name in names:
            if len(curves) and (point_id, name) in indexed.index:
                r = indexed.loc[(point_id, name)]
                row.append(
                    fmt.format_level_with_interval(name, r["mean"], r["ci_low"], r["ci_high"])
                )
            else:
                row.append("–")
        rows.append(row)
    doc.add(_Table(header, rows, caption="Outcome means at each sweep point."))
    drawn = 0
    for factor in factors:
        if not pd.to_numeric(parameters[factor], errors="coerce").notna().all():
            continue
        for name in names:
            if drawn >= MAX_FIGURES_PER_SECTION:
                break
            doc.figure(
                f"sweep_{drawn:02d}",
                plots.plot_sweep(curves, factor, name, confidence),
                f"{outcome_label(name, unit=False)} against "
                f"{parameter_label(factor)[:1].lower()}{parameter_label(factor)[1:]}.",
            )
            drawn += 1
    warnings = [w for w in curves["warning"] if w] if precision is not None else []
    if warnings:
        doc.add(
            _Text("Replications too few for the precision stated above:", css="warning"),
            _Bullets(warnings[:20]),
        )


def _sensitivity_section(doc: _Document, results: Results, names: Sequence[str]) -> None:
    table = results.sensitivity()
    if names and table["outcome"].isin(names).any():
        table = table[table["outcome"].isin(names)]  # the experiment's outcomes of interest
    doc.add(_Heading(2, "Sensitivity analysis"))
    factors = results.meta_value("factors")
    if isinstance(factors, list) and factors and isinstance(factors[0], Mapping):
        keys = [k for k in ("name", "lower", "upper", "distribution", "integer") if k in factors[0]]
        doc.add(
            _Table(
                [k.capitalize() for k in keys],
                [[_setting(f.get(k)) for k in keys] for f in factors],
                caption="Factors and their ranges.",
            )
        )
    if table.empty:
        doc.add(_Text("No sensitivity indices are stored in this results folder yet."))
        return
    noise = results.sensitivity_noise()
    if len(noise) and "outcome" in noise and names and noise["outcome"].isin(names).any():
        noise = noise[noise["outcome"].isin(names)]
    if len(noise) and "outcome" in noise:
        shown = [c for c in ("noise_share", "noise_share_of_point_means", "note") if c in noise]
        doc.add(
            _Heading(3, "Seed noise"),
            _Text(
                "Share of each outcome's variance that comes from replication seeds rather than "
                "from the factors: the part of a seed's effect that differs between design "
                "points (every point runs on the same seeds, so a shift a seed gives every "
                "point alike cancels in the indices and is not counted). The indices of an "
                "outcome with a large share need more replications per design point."
            ),
            _Table(
                ["Outcome", *[c.replace("_", " ") for c in shown]],
                [
                    [outcome_label(str(r["outcome"]))]
                    + [_number(r[c]) if c != "note" else str(r[c] or "") for c in shown]
                    for r in noise.to_dict("records")
                ],
            ),
        )
    sobol = st.sobol_table(table)
    if len(sobol):
        doc.add(
            _Heading(3, "Sobol indices"),
            _Text(
                "S1: share of the outcome's variance due to the factor alone; ST: including its "
                "interactions. Intervals are the stored bootstrap half-widths (SALib)."
            ),
            _Table(
                ["Outcome", "Factor", "S1 [CI]", "ST [CI]"],
                [
                    [
                        outcome_label(r.outcome),
                        parameter_label(str(r.factor)),
                        _with_interval(r.S1, r.S1_low, r.S1_high),
                        _with_interval(r.ST, r.ST_low, r.ST_high),
                    ]
                    for r in sobol.itertuples(index=False)
                ],
            ),
        )
        for i, outcome in enumerate(
            list(dict.fromkeys(sobol["outcome"]))[:MAX_FIGURES_PER_SECTION]
        ):
            doc.figure(
                f"sobol_{i:02d}",
                plots.plot_sobol(sobol, outcome),
                f"Sobol indices of {outcome_label(outcome, unit=False)}.",
            )
    morris = st.morris_table(table)
    if len(morris):
        doc.add(
            _Heading(3, "Morris screening"),
            _Text(
                "μ*: mean absolute elementary effect (importance); σ: their spread "
                "(non-linearity or interactions)."
            ),
            _Table(
                ["Outcome", "Factor", "μ* [CI]", "σ", "μ"],
                [
                    [
                        outcome_label(r.outcome),
                        parameter_label(str(r.factor)),
                        _with_interval(r.mu_star, r.mu_star_low, r.mu_star_high),
                        _number(r.sigma),
                        _number(r.mu),
                    ]
                    for r in morris.itertuples(index=False)
                ],
            ),
        )
        for i, outcome in enumerate(
            list(dict.fromkeys(morris["outcome"]))[:MAX_FIGURES_PER_SECTION]
        ):
            doc.figure(
                f"morris_{i:02d}",
                plots.plot_morris(morris, outcome),
                f"Morris screening of {outcome_label(outcome, unit=False)}.",
            )


def _differences_section(doc: _Document, results: Results) -> None:
    compare = results.kind not in ("sweep", "sensitivity")
    doc.add(_Heading(2, "What differs between the scenarios" if compare else "Base scenario"))
    settings, complete = _scenario_settings(results)
    described = results.scenario_descriptions()
    if described:
        doc.add(
            _Table(
                ["Scenario", "File", "Digest"],
                [
                    [
                        name,
                        str(entry.get("file") or entry.get("path") or "–"),
                        str(entry.get("digest") or entry.get("sha256") or "–"),
                    ]
                    for name, entry in described.items()
                ],
                caption="Scenario files; equal digests mean the model got the same parameters.",
            )
        )
    if len(settings) < 2:
        if compare:
            doc.add(
                _Text(
                    "The results folder does not record the scenarios' settings, so their "
                    "differences cannot be listed here; compare the scenario files above."
                )
            )
        else:
            doc.add(_Text("One base scenario; the points differ only in the swept fields."))
        return
    unset = "(default)" if complete else "(as in its file)"
    differences = scenario_differences(settings, unset)
    if differences.empty:
        doc.add(_Text("The stored settings of the scenarios are identical."))
        return
    caption = (
        "Settings written in the scenario files (and experiment overrides) that differ; "
        "(default) means the model default applies."
        if complete
        else "The results folder stores only the experiment file, so this lists each "
        "scenario's file and the overrides the experiment applies to it; (as in its file) "
        "means the scenario file's own value applies."
    )
    doc.add(
        _Table(
            ["Setting", *differences.columns[1:]],
            differences.astype(str).values.tolist(),
            caption=caption,
        )
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (manifests are read leniently)."""
    return value if isinstance(value, Mapping) else {}


def _manifest_section(doc: _Document, results: Results) -> None:
    manifest = results.manifest
    meta = results.meta
    experiment = _mapping(manifest.get("experiment"))
    seeds = _mapping(manifest.get("seeds"))
    git = _mapping(manifest.get("git"))
    packages = _mapping(manifest.get("packages") or manifest.get("versions"))
    machine = _mapping(manifest.get("machine"))
    sessions = manifest.get("sessions") if isinstance(manifest.get("sessions"), list) else []
    doc.add(_Heading(2, "Reproducing this result"))
    commit = git.get("commit")
    rows = [
        ["Experiment", f"{results.name} ({results.kind})"],
        ["Experiment file", str(experiment.get("file") or meta.get("experiment_file") or "–")],
        ["Experiment file sha256", str(experiment.get("sha256") or meta.get("file_hash") or "–")],
        ["Results folder", str(results.folder)],
        ["Root seed", _setting(seeds.get("root", meta.get("root_seed", "–")))],
        ["Replications", _setting(meta.get("replications", seeds.get("replications", "–")))],
        ["Seed rule", str(seeds.get("rule") or meta.get("seed_rule") or "–")],
        ["Started", str(manifest.get("started_at") or meta.get("created_at") or "–")],
        ["Finished", str(manifest.get("finished_at") or "–")],
        [
            "Git commit",
            "–"
            if not commit
            else f"{commit}{' (uncommitted changes)' if git.get('dirty') else ''}",
        ],
    ]
    if packages:
        rows.append(
            [
                "Versions",
                ", ".join(f"{k} {v}" for k, v in packages.items() if v is not None) or "–",
            ]
        )
    if machine:
        rows.append(["Machine", ", ".join(f"{k}: {v}" for k, v in machine.items() if v)])
    if sessions:
        rows.append(
            [
                "Sessions",
                "; ".join(
                    f"{s.get('started_at', '?')} → {s.get('finished_at') or '?'} "
                    f"({s.get('status', '?')})"
                    for s in sessions
                    if isinstance(s, Mapping)
                ),
            ]
        )
    doc.add(_Table(["Fact", "Value"], rows))
    file = experiment.get("file") or meta.get("experiment_file")
    if file and results.kind in ("compare", "sweep", "sensitivity"):
        doc.add(
            _Text(
                f"To re-run: check out the commit above and run "
                f"`microgov {results.kind} {file} --out NEW_FOLDER`; the same seeds give the "
                "same results whichever executor runs them."
            )
        )
    text = experiment.get("text")
    if isinstance(text, str) and text.strip():
        doc.add(_Code(text, "Experiment file as run", "toml"))


def _appendix(doc: _Document, results: Results, wide: pd.DataFrame, confidence: float) -> None:
    """Every stored outcome per scenario (compare experiments; sweeps table their points)."""
    names = ordered_outcomes(st.outcome_columns(wide))
    groups = [s for s in results.scenarios() if s in set(wide["scenario"])]
    if not names or not groups:
        return
    summary = st.summarise(wide, names=names, confidence=confidence)
    doc.add(_Heading(2, "Appendix: every stored outcome"))
    doc.add(_summary_table(summary, names, groups, confidence))


def _decomposition_sections(doc: _Document, results: Results) -> None:
    """The effect by mechanism (``microgov explain``), when the folder holds explains."""
    for section in decomposition_sections(results):
        doc.add(_Heading(2, section.title))
        for block in section.blocks:
            if isinstance(block, SectionTable):
                doc.add(_Table(block.header, block.rows, block.caption))
            elif isinstance(block, SectionFigure):
                doc.add(_Image(block.name, block.caption, block.png))
            else:
                doc.add(_Text(block))


# ---------------------------------------------------------------------- building
def build_document(results: Results) -> _Document:
    """The report's content as blocks (rendered by :func:`render_html` / :func:`render_markdown`).

    The experiment's question is the title; a compare report opens with the summary box
    (:class:`_Answer`), then the details, the figures and the appendices.
    """
    asked = answer.question(results)
    doc = _Document(asked or f"microgov report: {results.name}")
    description = results.meta_value("description")
    intro = f"{results.kind.capitalize()} experiment `{results.name}`"
    if results.reference:
        titles = answer.scenario_titles(results)
        intro += f", against {titles.get(results.reference, results.reference)}"
    doc.add(_Text(intro + (f". {description}" if description else "."), css="subtitle"))
    unfinished = _unfinished_note(results)  # on the first screen, before any result
    if unfinished is not None:
        doc.add(unfinished)
    if results.kind == "calibrate":  # the fit report lives in analysis/calibration.py
        from analysis.calibration import add_fit_report

        _runs_section(doc, results)
        add_fit_report(doc, results)
        _manifest_section(doc, results)
        return doc
    wide = results.outcomes(wide=True)
    stored = st.outcome_columns(wide)
    names = [n for n in _choose_outcomes(results, stored) if n in stored]
    precision, confidence, precision_note = _precision(results)
    if wide.empty:
        doc.add(_Text("No successful runs are stored yet, so there is nothing to summarise."))
    elif results.kind not in ("sweep", "sensitivity"):  # compare, or an unknown kind
        _compare_section(doc, results, wide, names, precision, confidence, precision_note)
    elif results.kind == "sweep":
        _sweep_section(doc, results, wide, names, precision, confidence)
    if results.kind == "sensitivity":
        _sensitivity_section(doc, results, names)
    _runs_section(doc, results)
    _differences_section(doc, results)
    _decomposition_sections(doc, results)  # microgov explain (issue 9): analysis/decomposition.py
    if results.kind not in ("sweep", "sensitivity"):
        _network_section(doc, results)
    if not wide.empty and results.kind not in ("sweep", "sensitivity"):
        _appendix(doc, results, wide, confidence)
    _manifest_section(doc, results)
    return doc


_CSS = """
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", sans-serif;
       margin: .8rem auto 2rem; max-width: 76rem; padding: 0 1rem; color: #1a1a1a;
       line-height: 1.4; overflow-wrap: break-word; }
h1 { font-size: 1.45rem; margin: .2rem 0 .1rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; }
p.subtitle { color: #555; margin: 0 0 .5rem; font-size: .9rem; }
.scroll { overflow-x: auto; max-width: 100%; margin: .6rem 0; }
table { border-collapse: collapse; font-size: .88rem; }
th, td { border: 1px solid #ccc; padding: .2rem .45rem; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th, table.grid td { overflow-wrap: normal; }
table.grid td.rank, table.grid th:first-child { white-space: nowrap; width: 2.5rem; }
table.grid td.scenario { min-width: 9rem; }
th { background: #f0f0f0; }
caption { caption-side: bottom; font-size: .82rem; color: #555; text-align: left; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #444; }
.warning { background: #fff4e5; border-left: 4px solid #e69500; padding: .4rem .8rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
section.answer { border: 2px solid #2b4c7e; border-radius: 6px; padding: .5rem .8rem .4rem;
                 background: #f7f9fc; }
section.answer h2 { margin: 0 0 .2rem; border: 0; font-size: 1.05rem; color: #2b4c7e; }
section.answer p { margin: .25rem 0; }
p.lead { font-size: 1.02rem; font-weight: 600; }
table.grid { font-size: .86rem; background: white; width: 100%; }
table.grid th small, table.grid td small { display: block; font-weight: normal; color: #555;
                                           font-size: .76rem; }
table.grid td.better { background: #e3f4e3; }
table.grid td.worse { background: #fbe3e1; }
table.grid td.reference { background: #f3f3f3; }
table.grid td.unclear { color: #555; }
table.grid td.rank { text-align: center; font-weight: 600; }
p.rests, p.facts, p.legend { font-size: .84rem; color: #333; }
p.overloads { font-size: .84rem; color: #7a3b00; font-weight: 600; }
p.each { font-size: .92rem; }
"""


def render_html(doc: _Document) -> str:
    """The document as one self-contained HTML page (figures embedded, no script)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{esc(doc.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(doc.title)}</h1>",
    ]
    for block in doc.blocks:
        if isinstance(block, _Heading):
            parts.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, _Text):
            css = f' class="{block.css}"' if block.css else ""
            parts.append(f"<p{css}>{_inline_code_html(block.text)}</p>")
        elif isinstance(block, _Bullets):
            items = "".join(f"<li>{esc(item)}</li>" for item in block.items)
            parts.append(f"<ul>{items}</ul>")
        elif isinstance(block, _Answer):
            parts.append(_answer_html(block))
        elif isinstance(block, _Table):
            caption = f"<caption>{esc(block.caption)}</caption>" if block.caption else ""
            header = "".join(f"<th>{esc(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
                for row in block.rows
            )
            parts.append(
                f'<div class="scroll"><table>{caption}<thead><tr>{header}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>"
            )
        elif isinstance(block, _Image):
            data = base64.b64encode(block.png).decode("ascii")
            parts.append(
                f'<figure id="figure-{esc(block.name)}"><img src="data:image/png;base64,{data}" '
                f'alt="{esc(block.caption)}"><figcaption>{esc(block.caption)}</figcaption></figure>'
            )
        elif isinstance(block, _Code):
            parts.append(
                f"<details><summary>{esc(block.summary)}</summary>"
                f"<pre><code>{esc(block.text)}</code></pre></details>"
            )
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _answer_html(block: _Answer) -> str:
    """The summary box: lead sentence, ranked grid, what it rests on, scale and horizon."""
    esc = html.escape
    header = "".join(
        f"<th>{esc(h)}</th>"
        if i < 2
        else f"<th>{esc(h)}<small>{esc(block.notes[i - 2])}</small></th>"
        for i, h in enumerate(block.header)
    )
    body = []
    for rank, name, label, cells in block.rows:
        shown = esc(label) if label == name else f"{esc(label)}<small>{esc(name)}</small>"
        tds = "".join(
            f'<td class="effect {esc(c.verdict.split(":")[0].replace(" ", "-"))}" '
            f'data-verdict="{esc(c.verdict)}">{esc(c.text)}'
            f"<small>{esc(_MARKS.get(c.verdict, 'reference level'))}</small></td>"
            for c in cells
        )
        body.append(
            f'<tr data-scenario="{esc(name)}"><td class="rank">{esc(rank)}</td>'
            f'<td class="scenario">{shown}</td>{tds}</tr>'
        )
    rests = (
        "<strong>Rests most on</strong>"
        + (f" (each: {esc(block.assumptions_source)})" if block.assumptions_source else "")
        + "<strong>:</strong> "
        + "; ".join(esc(a) for a in block.assumptions)
        + "."
        + (f" {_inline_code_html(block.assumptions_caveat)}" if block.assumptions_caveat else "")
        if block.assumptions
        else f"<strong>Rests on:</strong> {_inline_code_html(block.assumptions_note)}"
    )
    return (
        '<section class="answer" id="answer"><h2>Answer</h2>'
        f'<p class="lead">{esc(block.lead)}</p><p class="each">{esc(block.each)}</p>'
        f'<div class="scroll"><table class="grid"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        f'<p class="rests">{rests}</p>'
        + (f'<p class="overloads">⚠ {esc(block.overloads)}</p>' if block.overloads else "")
        + f'<p class="facts">{esc(block.facts)}</p>'
        f'<p class="legend">{esc(block.legend)}</p></section>'
    )


def _answer_markdown(block: _Answer) -> list[str]:
    lines = ["## Answer", "", f"**{block.lead}**", "", block.each, ""]
    header = [h if i < 2 else f"{h} ({block.notes[i - 2]})" for i, h in enumerate(block.header)]
    lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
    lines.append("|" + "---|" * len(header))
    for rank, name, label, cells in block.rows:
        shown = label if label == name else f"{label} ({name})"
        texts = [f"{c.text} {_MARKS.get(c.verdict, '(reference level)')}" for c in cells]
        lines.append("| " + " | ".join(_md_cell(t) for t in [rank, shown, *texts]) + " |")
    lines.append("")
    if block.assumptions:
        source = f" (each: {block.assumptions_source})" if block.assumptions_source else ""
        lines += [f"**Rests most on**{source}**:**", ""]
        lines += [f"- {a}" for a in block.assumptions] + [""]
        if block.assumptions_caveat:
            lines += [block.assumptions_caveat, ""]
    else:
        lines += [f"**Rests on:** {block.assumptions_note}", ""]
    if block.overloads:
        lines += [f"**⚠ {block.overloads}**", ""]
    lines += [block.facts, "", f"*{block.legend}*", ""]
    return lines


def _inline_code_html(text: str) -> str:
    pieces = text.split("`")
    return "".join(
        f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(pieces)
    )


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: _Document, figure_paths: Mapping[str, str]) -> str:
    """The document as Markdown; ``figure_paths`` maps a figure name to its relative path."""
    lines = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, _Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, _Answer):
            lines += _answer_markdown(block)
        elif isinstance(block, _Text):
            lines += [f"> **Note:** {block.text}" if block.css == "warning" else block.text, ""]
        elif isinstance(block, _Bullets):
            lines += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, _Table):
            lines.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
            lines.append("|" + "---|" * len(block.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines += (["", f"*{block.caption}*"] if block.caption else []) + [""]
        elif isinstance(block, _Image):
            lines += [
                f"![{block.caption}]({figure_paths[block.name]})",
                "",
                f"*{block.caption}*",
                "",
            ]
        elif isinstance(block, _Code):
            lines += [
                f"**{block.summary}**",
                "",
                f"```{block.language}",
                block.text.rstrip(),
                "```",
                "",
            ]
    return "\n".join(lines)


def write_report(results_dir: str | Path, out_dir: str | Path | None = None) -> ReportPaths:
    """Write the HTML and Markdown reports of one results folder.

    Args:
        results_dir: the results folder (``results.sqlite`` + ``manifest.json``).
        out_dir: where to write; default ``<results_dir>/report``.

    Returns:
        The paths of the HTML page, the Markdown file and the figure PNGs.

    Raises:
        analysis.results.ResultsError: ``results_dir`` is not a readable results folder, or
            the report's folder is a file or cannot be written (said as ``microgov run --out``
            says it).
    """
    results = load_results(results_dir)
    out = Path(out_dir) if out_dir is not None else results.folder / REPORT_FOLDER
    _prepare_folder(out, default=out_dir is None)
    doc = build_document(results)
    figure_folder = out / FIGURE_FOLDER
    figures: list[Path] = []
    relative: dict[str, str] = {}
    for block in doc.blocks:
        if isinstance(block, _Image):
            figure_folder.mkdir(exist_ok=True)
            path = figure_folder / f"{block.name}.png"
            path.write_bytes(block.png)
            figures.append(path)
            relative[block.name] = f"{FIGURE_FOLDER}/{block.name}.png"
    html_path = out / HTML_NAME
    markdown_path = out / MARKDOWN_NAME
    html_path.write_text(render_html(doc), encoding="utf-8")
    markdown_path.write_text(render_markdown(doc, relative), encoding="utf-8")
    logger.info("report of %s written to %s", results.folder, out)
    return ReportPaths(html=html_path, markdown=markdown_path, figures=tuple(figures))


def _prepare_folder(out: Path, *, default: bool) -> None:
    """Make the report's folder and check that it can be written, before the report is built.

    Raises:
        ResultsError: one line naming the folder, what is wrong and what is allowed.
    """
    allowed = (
        "a writable folder for the report: choose one with --out"
        if default
        else "a writable folder for --out"
    )
    if out.exists() and not out.is_dir():
        raise ResultsError(f"{out}: exists and is not a folder; allowed: a folder for --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out, prefix=".microgov-write-test-"):
            pass
    except OSError as error:
        raise ResultsError(
            f"{out}: cannot write the report into this folder ({error.strerror or error}); "
            f"allowed: {allowed}"
        ) from None


def report_outcomes(results: Results) -> list[str]:
    """The outcomes the headline table shows for ``results`` (for callers and tests)."""
    return _choose_outcomes(results, results.outcome_names())
