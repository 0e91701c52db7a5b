"""The answer a compare report opens with: which reform does best on what, by how much, and
what that rests on (docs/design.md "Reports that answer first").

Everything here reads a results folder (never an experiment file directly): the question,
the main outcomes, threshold overrides and the sensitivity folder come from the experiment
file's text stored in the manifest (or from ``meta`` when the runner stores them there).

- :func:`judge` turns a paired effect into a verdict: better / worse (by the outcome's
  direction in the registry), higher / lower (no direction), "no practical difference"
  (below the outcome's practical threshold) or "unclear" (the interval spans zero and
  reaches past the threshold: more replications needed).
- :func:`rank_reforms` orders the reforms on the main outcomes.
- :func:`key_assumptions` names the factors the main outcomes depend on most, from the
  sensitivity results folder the experiment names, and from ``microgov explain``
  through the :func:`assumptions_from_explain` hook.
- :func:`run_facts` gives the scale (residents), horizon and warm-up of the runs.
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import statistics as st
from analysis.formatting import outcome_label
from analysis.results import Results, ResultsError, load_results
from model.outcomes import find_outcome

logger = logging.getLogger(__name__)

BETTER, WORSE = "better", "worse"
HIGHER, LOWER = "higher", "lower"
NO_PRACTICAL_DIFFERENCE = "no practical difference"
UNCLEAR = "unclear"
NO_DATA = "no data"
MAX_ASSUMPTIONS = 3
MAX_MAIN_OUTCOMES = 4
# Ranking: a verdict counts ±1; ties are broken by the effects in threshold units, each
# capped so that one huge effect cannot outweigh the others (assumption).
_TIE_BREAK_CAP = 5.0
# Resident counts when the stored settings do not say (model/parameters.py defaults).
_POPULATION_FIELDS = ("streets", "communities_per_street", "grids_per_community")


# ---------------------------------------------------------------------- experiment fields
def experiment_fields(results: Results) -> dict[str, Any]:
    """The experiment file's own keys, from ``meta`` or the stored experiment text."""
    experiment = results.manifest.get("experiment")
    text = experiment.get("text") if isinstance(experiment, Mapping) else None
    fields: dict[str, Any] = {}
    if isinstance(text, str) and text.strip():
        try:
            fields = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            logger.warning("%s: the stored experiment text is not valid TOML", results.folder)
    for key in ("question", "main_outcomes", "thresholds", "sensitivity_results"):
        stored = results.meta_value(key)
        if stored not in (None, "", [], {}):
            fields[key] = stored
    return fields


def question(results: Results) -> str:
    """The experiment's question ('' when the file asks none)."""
    value = experiment_fields(results).get("question")
    return value.strip() if isinstance(value, str) else ""


def main_outcomes(results: Results, stored: Sequence[str]) -> list[str]:
    """The outcomes the summary box ranks on: ``main_outcomes``, else the first outcomes
    of interest, else resolution time and on-time share; only stored ones."""
    fields = experiment_fields(results)
    chosen = fields.get("main_outcomes")
    if not isinstance(chosen, list) or not chosen:
        chosen = list(results.outcomes_of_interest)[:3] or [
            "resolution_time_median_days",
            "on_time_share",
        ]
    return [str(n) for n in chosen if str(n) in stored][:MAX_MAIN_OUTCOMES]


def thresholds(results: Results) -> dict[str, float]:
    """Per-outcome practical thresholds the experiment sets (stored units)."""
    table = experiment_fields(results).get("thresholds")
    if not isinstance(table, Mapping):
        return {}
    return {
        str(k): float(v)
        for k, v in table.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def scenario_titles(results: Results) -> dict[str, str]:
    """Scenario name → title: the scenario's ``title`` setting when stored, else its name."""
    titles = {name: name for name in results.scenarios()}
    for name, entry in results.scenario_descriptions().items():
        raw = entry.get("raw") if isinstance(entry, Mapping) else None
        title = raw.get("title") if isinstance(raw, Mapping) else None
        if isinstance(title, str) and title.strip():
            titles[name] = title.strip()
        else:
            titles.setdefault(name, name)
    return titles


def plain_title(title: str) -> str:
    """The title without Chinese characters (figures have no CJK font): 'Integrated · 一体化'
    → 'Integrated'."""
    kept = "".join(ch for ch in title if ord(ch) < 0x2E80)
    return " ".join(kept.replace("·", " ").replace("()", " ").split()).strip(" -—–/|") or title


# ---------------------------------------------------------------------- verdicts
def threshold_for(outcome: str, reference_mean: float, overrides: Mapping[str, float]) -> float:
    """The practical threshold of ``outcome`` (stored units): the experiment's, else the
    registry default (relative ones scaled by the reference level); NaN when unknown."""
    if outcome in overrides:
        return float(overrides[outcome])
    entry = find_outcome(outcome)
    return entry.practical_threshold(reference_mean) if entry is not None else math.nan


def judge(outcome: str, difference: float, low: float, high: float, threshold: float) -> str:
    """The verdict on one paired effect (scenario − reference).

    Below the threshold: "no practical difference" when the interval excludes zero or stays
    within ±threshold, else "unclear". At or above it: better / worse by the registry
    direction (higher / lower when the outcome has none) when the interval excludes zero,
    else "unclear".
    """
    if not math.isfinite(difference):
        return NO_DATA
    known = math.isfinite(low) and math.isfinite(high)
    excludes_zero = known and (low > 0 or high < 0)
    small = math.isfinite(threshold) and abs(difference) < threshold
    if small:
        within = known and -threshold <= low and high <= threshold
        return NO_PRACTICAL_DIFFERENCE if (excludes_zero or within or not known) else UNCLEAR
    if not excludes_zero:
        return UNCLEAR
    entry = find_outcome(outcome)
    direction = entry.direction if entry is not None else None
    if direction is None:
        return HIGHER if difference > 0 else LOWER
    return BETTER if (difference > 0) == (direction == "higher") else WORSE


def verdict_table(effects: pd.DataFrame, overrides: Mapping[str, float]) -> pd.DataFrame:
    """``effects`` (:func:`analysis.statistics.paired_differences`) with ``threshold`` and
    ``verdict`` columns."""
    table = effects.copy()
    table["threshold"] = [
        threshold_for(str(r.outcome), float(r.reference_mean), overrides)
        for r in table.itertuples(index=False)
    ]
    table["verdict"] = [
        judge(str(r.outcome), float(r.difference), float(r.ci_low), float(r.ci_high), r.threshold)
        for r in table.itertuples(index=False)
    ]
    return table


def rank_reforms(verdicts: pd.DataFrame, outcomes: Sequence[str]) -> pd.DataFrame:
    """Reforms ordered best first on ``outcomes``.

    Score: the number of outcomes a reform is better on minus those it is worse on; ties
    broken by the sum of its effects in threshold units (signed so that better is positive,
    each capped at ±5).

    Returns:
        Columns scenario, better, worse, score, tie_break, rank (1 = best).
    """
    rows = []
    for scenario, frame in verdicts[verdicts["outcome"].isin(outcomes)].groupby(
        "scenario", sort=False
    ):
        better = int((frame["verdict"] == BETTER).sum())
        worse = int((frame["verdict"] == WORSE).sum())
        tie_break = 0.0
        for r in frame.itertuples(index=False):
            entry = find_outcome(str(r.outcome))
            if entry is None or entry.direction is None:
                continue
            size = float(r.difference) / float(r.threshold) if r.threshold > 0 else math.nan
            if math.isfinite(size):
                signed = size if entry.direction == "higher" else -size
                tie_break += max(-_TIE_BREAK_CAP, min(_TIE_BREAK_CAP, signed))
        rows.append(
            {
                "scenario": scenario,
                "better": better,
                "worse": worse,
                "score": better - worse,
                "tie_break": tie_break,
            }
        )
    table = pd.DataFrame(rows, columns=["scenario", "better", "worse", "score", "tie_break"])
    table = table.sort_values(["score", "tie_break"], ascending=False, kind="stable")
    table["rank"] = range(1, len(table) + 1)
    return table.reset_index(drop=True)


# ---------------------------------------------------------------------- assumptions
@dataclass(frozen=True)
class Assumption:
    """A factor the result depends on.

    Attributes:
        factor: the dotted scenario field.
        weight: its importance (Sobol total-order index, or Morris μ* scaled to the largest).
        outcome: the main outcome it matters most for.
        source: where the ranking comes from (a sentence for the reader).
        conf: the half-width of the weight's interval where the ranking has one (SALib's
            bootstrap of a Sobol index or of Morris μ*, scaled as the weight), else None.
        total_order: whether the weight is a Sobol total-order index, which cannot exceed
            1 but whose estimate from a small design can (the report says so).
    """

    factor: str
    weight: float
    outcome: str
    source: str
    conf: float | None = None
    total_order: bool = False


def assumptions_from_explain(results: Results, outcomes: Sequence[str]) -> list[Assumption]:
    """The mechanisms that carry most of the explained reforms' effects on the main
    ``outcomes`` (``microgov explain``, asked for by a compare's ``explain``): each
    mechanism's largest carried share of a total effect, the largest first."""
    from analysis.decomposition import decomposition, explain_folders, explain_plan

    found: list[Assumption] = []
    for path in explain_folders(results.folder):
        try:
            explained = load_results(path)
        except ResultsError as error:
            logger.warning("%s: %s", path, error)
            continue
        plan = explain_plan(explained)
        if plan is None:
            continue
        stored = set(explained.outcome_names())
        table = decomposition(explained, [o for o in outcomes if o in stored])
        carried = table[(table["term"] == "carried") & table["share"].notna()]
        if carried.empty:
            continue
        carried = carried.assign(weight=carried["share"].abs())
        best = carried.sort_values("weight", ascending=False).drop_duplicates("mechanism")
        for row in best.itertuples(index=False):
            source = (
                f"`microgov explain` of {plan.reform_scenario}: {row.name} carries "
                f"{100 * float(row.share):.0f} % of its effect on {outcome_label(str(row.outcome))}"
            )
            found.append(
                Assumption(str(row.mechanism), float(row.weight), str(row.outcome), source)
            )
    found.sort(key=lambda a: a.weight, reverse=True)
    return found[:MAX_ASSUMPTIONS]


def sensitivity_folder(results: Results) -> Path | None:
    """The sensitivity results folder the experiment names (``sensitivity_results``),
    resolved against the experiment file's folder, then the working directory."""
    named = experiment_fields(results).get("sensitivity_results")
    if not isinstance(named, str) or not named.strip():
        return None
    path = Path(named)
    experiment = results.manifest.get("experiment")
    file = experiment.get("file") if isinstance(experiment, Mapping) else None
    candidates = [path] if path.is_absolute() else []
    if not path.is_absolute() and isinstance(file, str):
        candidates.append(Path(file).parent / path)
    candidates.append(path)
    found = next((c for c in candidates if c.exists()), candidates[0])
    return found.resolve() if found.exists() else Path(os.path.normpath(found))


def assumptions_from_sensitivity(
    folder: Path, outcomes: Sequence[str], compared: Sequence[str] = ()
) -> list[Assumption]:
    """The factors with the largest total-order Sobol index (or Morris μ*) on ``outcomes``.
    Each source names the scenario the indices were computed on and, when ``compared``
    (the scenarios of the result being explained) does not hold it, says so: indices of a
    classroom-sized scenario are no ranking of a street's or a district's assumptions.

    Raises:
        ResultsError: ``folder`` is not a readable results folder.
    """
    loaded = load_results(folder)
    sensitivity = loaded.sensitivity()
    if sensitivity.empty:
        return []
    chosen = [o for o in outcomes if o in set(sensitivity["outcome"])] or list(
        dict.fromkeys(sensitivity["outcome"])
    )
    sobol = st.sobol_table(sensitivity)
    by_sobol = len(sobol) > 0  # else Morris screening ranks them
    on = _computed_on(loaded.scenarios(), compared)
    source = f"Sobol total-order index, sensitivity results {folder.name}{on}"
    if by_sobol:
        table = sobol[sobol["outcome"].isin(chosen)][["outcome", "factor", "ST", "ST_conf"]]
        table = table.rename(columns={"ST": "weight", "ST_conf": "conf"})
    else:
        morris = st.morris_table(sensitivity)
        if morris.empty:
            return []
        columns = ["outcome", "factor", "mu_star", "mu_star_conf"]
        table = morris[morris["outcome"].isin(chosen)][columns].copy()
        # μ* is in outcome units: scale per outcome so that outcomes are comparable
        largest = table.groupby("outcome")["mu_star"].transform("max")
        table["weight"] = table["mu_star"] / largest
        table["conf"] = table["mu_star_conf"] / largest
        source = f"Morris μ* (scaled to the largest), sensitivity results {folder.name}{on}"
    table = table[pd.to_numeric(table["weight"], errors="coerce").notna()]
    best = table.sort_values("weight", ascending=False).drop_duplicates("factor")
    return [
        Assumption(
            str(r.factor), float(r.weight), str(r.outcome), source, _finite(r.conf), by_sobol
        )
        for r in best.head(MAX_ASSUMPTIONS).itertuples(index=False)
    ]


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None (a stored NULL)."""
    number = pd.to_numeric(value, errors="coerce")
    return float(number) if pd.notna(number) and math.isfinite(float(number)) else None


def _computed_on(scenarios: Sequence[str], compared: Sequence[str]) -> str:
    """``, computed on the classroom scenario`` (``the classroom and street scenarios``)
    for a source sentence, with `` — not one compared here`` (``none``) when ``compared``
    is given and holds none of ``scenarios``."""
    if not scenarios:
        return ""
    names = list(scenarios)
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    text = f", computed on the {listed} scenario" + ("s" if len(names) > 1 else "")
    if compared and not set(names) & set(compared):
        text += " — not one compared here" if len(names) == 1 else " — none compared here"
    return text


def key_assumptions(results: Results, outcomes: Sequence[str]) -> tuple[list[Assumption], str]:
    """Up to three assumptions the result rests on most, and a note on where they come from
    (or why none are listed)."""
    found = assumptions_from_explain(results, outcomes)
    folder = sensitivity_folder(results)
    note = ""
    if folder is None:
        if not found:
            note = (
                "The experiment names no sensitivity results (`sensitivity_results`), so the "
                "assumptions this ranking rests on are not ranked here."
            )
    elif not folder.exists():
        named = experiment_fields(results).get("sensitivity_results")
        note = (
            f"The experiment names sensitivity results at `{named}` (relative to the "
            "experiment file), which do not exist yet "
            "(run the sensitivity experiment that writes them, e.g. `microgov sensitivity "
            "experiments/sobol.toml`), so the assumptions are not ranked here."
        )
    else:
        try:
            found += assumptions_from_sensitivity(folder, outcomes, results.scenarios())
        except ResultsError as error:
            note = f"The sensitivity results the experiment names cannot be read: {error}"
    return found[:MAX_ASSUMPTIONS], note


# ---------------------------------------------------------------------- run facts
@dataclass(frozen=True)
class RunFacts:
    """Scale, horizon and warm-up of the runs (None when the folder does not say)."""

    residents: dict[str, int]
    communities: dict[str, int]
    grids: dict[str, int]
    days: int | None
    warmup_days: float | None
    replications: int | None


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


def population_size(raw: Mapping[str, Any]) -> tuple[int, int, int]:
    """(communities, grids, residents) of a scenario's stored settings (model defaults
    where a field is unset)."""
    from model.parameters import PopulationParameters  # the defaults of unset fields

    population = _section(raw, "population")
    if population.get("street_types"):  # community types (model/places.py): their own sizes
        from pydantic import ValidationError

        from model.parameters import ModelParameters
        from model.places import build_layout

        try:
            layout = build_layout(ModelParameters.model_validate(dict(raw)))
        except ValidationError as error:
            raise ValueError(str(error)) from error
        return layout.n_communities, layout.n_grids, layout.residents
    defaults = PopulationParameters()
    sizes = [
        int(population.get(key, getattr(defaults, key)))
        for key in (*_POPULATION_FIELDS, "residents_per_grid")
    ]
    communities = sizes[0] * sizes[1]
    grids = communities * sizes[2]
    return communities, grids, grids * sizes[3]


def residents(raw: Mapping[str, Any]) -> int:
    """Residents of a scenario's stored settings (model defaults where a field is unset)."""
    return population_size(raw)[2]


def _find_number(mapping: Mapping[str, Any], key: str) -> float | None:
    """The first number stored under ``key`` anywhere in nested ``mapping`` (e.g. the
    scenario's ``simulation.warmup_days``, wherever the model puts it)."""
    value = mapping.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    for nested in mapping.values():
        if isinstance(nested, Mapping):
            found = _find_number(nested, key)
            if found is not None:
                return found
    return None


def run_facts(results: Results) -> RunFacts:
    """The scale (residents per scenario), horizon (days) and warm-up the runs used."""
    counted: dict[str, int] = {}
    communities: dict[str, int] = {}
    grids: dict[str, int] = {}
    days: int | None = None
    warmup: float | None = None
    stored_days = results.meta_value("days")
    if isinstance(stored_days, int | float) and not isinstance(stored_days, bool):
        days = int(stored_days)
    for name, entry in results.scenario_descriptions().items():
        raw = entry.get("raw") if isinstance(entry, Mapping) else None
        if not isinstance(raw, Mapping):
            continue
        try:
            communities[name], grids[name], counted[name] = population_size(raw)
        except (TypeError, ValueError):
            logger.warning("%s: scenario %s: population settings unreadable", results.folder, name)
        simulation = _section(raw, "simulation")
        if days is None and isinstance(simulation.get("days"), int):
            days = int(simulation["days"])
        if warmup is None:
            warmup = _find_number(raw, "warmup_days")
    if warmup is None and "warmup_days" in results.outcome_names():
        values = results.outcomes(outcomes=["warmup_days"])["value"]
        warmup = float(values.iloc[0]) if len(values) else None
    replications = results.meta_value("replications")
    return RunFacts(
        residents=counted,
        communities=communities,
        grids=grids,
        days=days,
        warmup_days=warmup,
        replications=int(replications) if isinstance(replications, int | float) else None,
    )


def describe_effect_target(outcome: str) -> str:
    """The outcome as a column heading of the summary grid: label and direction."""
    entry = find_outcome(outcome)
    arrow = {"higher": " (higher is better)", "lower": " (lower is better)"}.get(
        entry.direction if entry is not None and entry.direction else "", ""
    )
    return outcome_label(outcome, unit=False) + arrow
