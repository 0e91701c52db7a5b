"""One readable report per results folder: a self-contained HTML page and a Markdown version.

:func:`write_report` reads a results folder (never the experiment files: the folder is the
record), computes the statistics of :mod:`analysis.statistics`, draws the figures of
:mod:`analysis.plots` that apply, and writes

- ``report.html``: one file, figures embedded as base64 PNG, no script, no external link;
- ``report.md`` with the figures as PNG files in ``figures/`` beside it.

Contents: the headline table of reform effects with intervals (compare experiments), key
findings in words, scenario means, the figures, what differs between the scenarios, sweep
and sensitivity sections for those kinds, every stored outcome in an appendix, and the
manifest facts (seeds, versions, dates, git commit) needed to reproduce the result.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from analysis import plots
from analysis import statistics as st
from analysis.results import Results, load_results
from model.outcomes import OUTCOME_NAMES, per_type_outcomes

logger = logging.getLogger(__name__)

REPORT_FOLDER = "report"
HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"
FIGURE_FOLDER = "figures"
# Assumption: when the experiment file requests no precision, an effect is reported as
# imprecise when its interval is wider than ±10 % of the reference level — roughly the
# smallest change a policymaker would act on.
DEFAULT_PRECISION = st.PrecisionTarget(0.10)
# Outcomes of the headline table when the experiment file names none (BRIEF "Outcomes").
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
MAX_NETWORK_NODES = 300  # network pictures are for small scenarios (DESIGN.md: no big layouts)
_RESOLUTION_VARIABLE = "resolution_time_days"
_SKIPPED_SETTINGS = {"name", "description", "extends"}


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


def _percent(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(number):
        return "–"
    digits = 1 if abs(number) >= 0.01 or number == 0 else 2 if abs(number) >= 0.001 else 3
    return f"{100 * number:+.{digits}f} %".replace("-", "−")


def _percent_interval(value: Any, low: Any, high: Any) -> str:
    if _percent(value) == "–":
        return "–"
    bounds = (
        f" [{_percent(low).replace(' %', '')}, {_percent(high).replace(' %', '')}]"
        if _percent(low) != "–"
        else ""
    )
    return f"{_percent(value)}{bounds}"


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


def _runs_section(doc: _Document, results: Results) -> None:
    runs = results.runs()
    ok = runs[runs["status"] == "ok"]
    failed = runs[runs["status"] != "ok"]
    points = results.points()
    replications = ok.groupby("point_id")["replication"].nunique()
    doc.add(_Heading(2, "Runs"))
    rows = [
        ["Experiment kind", results.kind],
        ["Scenarios", ", ".join(results.scenarios()) or "–"],
        ["Points (scenario configurations)", f"{len(points):,}"],
        [
            "Replications per point",
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
    ]
    doc.add(_Table(["Fact", "Value"], rows))
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
    summary: pd.DataFrame, names: Sequence[str], groups: Sequence[str], confidence: float
) -> _Table:
    by = "scenario" if "scenario" in summary else "point_id"
    header = ["Outcome", *[f"{g} mean [{round(confidence * 100)} % CI]" for g in groups]]
    indexed = summary.set_index([by, "outcome"]) if len(summary) else summary
    rows = []
    for name in names:
        row = [plots.outcome_label(name)]
        for group in groups:
            if len(summary) and (group, name) in indexed.index:
                r = indexed.loc[(group, name)]
                row.append(_with_interval(r["mean"], r["ci_low"], r["ci_high"]))
            else:
                row.append("–")
        rows.append(row)
    return _Table(header, rows)


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
    level = round(confidence * 100)
    doc.add(_Heading(2, f"Headline: reform effects against {reference}"))
    if reference is None or reference not in scenarios:
        doc.add(_Text(f"The reference scenario {reference!r} has no successful runs.", "warning"))
        return
    effects = st.paired_differences(
        wide, reference, names=names, confidence=confidence, precision=precision
    )
    doc.add(
        _Text(
            f"Each scenario is compared with {reference} on common random numbers: replication "
            f"i of every scenario ran on the same seed, so the {level} % intervals below are "
            "paired-t intervals of the per-replication differences (scenario − reference)."
        )
    )
    rows = []
    for row in effects.itertuples(index=False):
        rows.append(
            [
                plots.outcome_label(row.outcome),
                str(row.scenario),
                _number(row.reference_mean),
                _number(row.scenario_mean),
                _with_interval(row.difference, row.ci_low, row.ci_high),
                _percent_interval(row.relative_change, row.relative_low, row.relative_high),
                "yes" if row.excludes_zero else "no",
                f"{row.n:,}",
            ]
        )
    doc.add(
        _Table(
            [
                "Outcome",
                "Scenario",
                f"{reference} mean",
                "Scenario mean",
                f"Difference [{level} % CI]",
                f"Change [{level} % CI]",
                "Interval excludes 0",
                "Pairs",
            ],
            rows,
            caption="Reform effects (scenario − reference), paired by replication.",
        )
    )
    doc.add(_Heading(3, "Key findings"))
    findings = []
    for scenario in scenarios:
        if scenario == reference:
            continue
        for row in effects[effects["scenario"] == scenario].head(4).itertuples(index=False):
            if row.n < 2:
                continue
            verdict = (
                "the interval excludes zero"
                if row.excludes_zero
                else "the interval includes zero: no clear effect at these replications"
            )
            findings.append(
                f"{scenario}: {plots.outcome_label(row.outcome)} {_number(row.scenario_mean)} "
                f"against {_number(row.reference_mean)} under {reference}; difference "
                f"{_number(row.difference)}, {level} % CI {_number(row.ci_low)} to "
                f"{_number(row.ci_high)} ({_percent(row.relative_change)}); {verdict}."
            )
    doc.add(_Bullets(findings or ["Too few paired replications for intervals."]))
    warnings = [w for w in effects["warning"] if w]
    doc.add(_Text(precision_note))
    if warnings:
        doc.add(
            _Text("Replications too few for the requested precision:", css="warning"),
            _Bullets(warnings),
        )
    doc.add(_Heading(3, "Scenario means"))
    summary = st.summarise(wide, names=names, confidence=confidence)
    doc.add(_summary_table(summary, names, scenarios, confidence))
    finite = effects[effects["relative_change"].astype(float).map(math.isfinite)]
    if len(finite):
        doc.figure(
            "forest",
            plots.plot_forest(effects, reference, confidence),
            f"Paired effects against {reference}, as a share of the reference mean, with "
            f"{level} % intervals.",
        )
    _distribution_and_timeseries_figures(doc, results, confidence)
    table = st.participation_table(st.summarise(wide, confidence=confidence))
    if len(table):
        doc.figure(
            "participation",
            plots.plot_participation(table, confidence=confidence),
            "Participation in consultations by age group and party membership "
            f"(mean over replications, {level} % intervals).",
        )


def _distribution_and_timeseries_figures(
    doc: _Document, results: Results, confidence: float
) -> None:
    level = round(confidence * 100)
    variables = results.distribution_variables()
    if variables:
        variable = _RESOLUTION_VARIABLE if _RESOLUTION_VARIABLE in variables else variables[0]
        pooled = st.pooled_distribution(results.distributions(variable))
        if len(pooled):
            doc.figure(
                "resolution_ecdf",
                plots.plot_resolution_ecdf(pooled),
                "Share of closed cases resolved within a given time, pooled over "
                "replications (from the stored histograms).",
            )
            quantiles = st.distribution_quantiles(pooled)
            doc.add(
                _Table(
                    ["Scenario", "Closed cases", "Median (days)", "90th percentile (days)"],
                    [
                        [str(r.scenario), f"{r.cases:,}", _number(r.q50), _number(r.q90)]
                        for r in quantiles.itertuples(index=False)
                    ],
                    caption="Resolution time of all closed cases pooled over replications "
                    "(interpolated within histogram bins).",
                )
            )
    stored = set(results.timeseries_variables())
    for variable, caption in (
        ("backlog", "Open cases over time"),
        ("trust_mean", "Mean trust over time"),
    ):
        if variable in stored:
            bands = st.timeseries_bands(
                results.timeseries([variable]), variable, confidence=confidence
            )
            doc.figure(
                variable,
                plots.plot_timeseries_bands(bands, variable, confidence=confidence),
                f"{caption}: mean over replications with its {level} % band.",
            )


def _network_section(doc: _Document, results: Results) -> None:
    """Pictures of the governance network per scenario, when per-unit values are stored."""
    units = results.units()
    if units.empty or units["node"].nunique() > MAX_NETWORK_NODES:
        return
    doc.add(
        _Heading(2, "Governance network"),
        _Text(
            "Each unit of the hierarchy coloured by its value at the end of the run, averaged "
            "over replications; grey units have no value."
        ),
    )
    labels = {"backlog": "Open cases at the end", "trust": "Mean trust at the end (0–1)"}
    drawn = 0
    for scenario in results.scenarios():
        rows = units[units["scenario"] == scenario]
        if rows.empty:
            continue
        graph = plots.network_from_units(rows)
        for variable in [v for v in labels if v in set(rows["variable"])]:
            if drawn >= MAX_FIGURES_PER_SECTION:
                return
            doc.figure(
                f"network_{drawn:02d}",
                plots.plot_network(
                    graph,
                    plots.unit_means(rows, variable),
                    f"{scenario}: {variable}",
                    labels[variable],
                ),
                f"{labels[variable]} per unit under {scenario}.",
            )
            drawn += 1


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
    doc.add(_Heading(2, "Sweep: response curves"))
    doc.add(
        _Text(
            f"Every point ran the same replication seeds (common random numbers). Bands are "
            f"{level} % t intervals of the mean over replications. Swept fields: "
            f"{', '.join(factors) or 'none'}."
        )
    )
    curves = st.sweep_curves(wide, parameters, names=names, confidence=confidence)
    header = ["Point", *factors, *[f"{plots.outcome_label(n)} [{level} % CI]" for n in names]]
    rows = []
    indexed = curves.set_index(["point_id", "outcome"]) if len(curves) else curves
    for point in parameters.to_dict("records"):
        point_id = point["point_id"]
        row = [str(point_id), *[_setting(point.get(f)) for f in factors]]
        for name in names:
            if len(curves) and (point_id, name) in indexed.index:
                r = indexed.loc[(point_id, name)]
                row.append(_with_interval(r["mean"], r["ci_low"], r["ci_high"]))
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
                f"{plots.outcome_label(name, unit=False)} against {factor}.",
            )
            drawn += 1
    warnings = [w for w in curves["warning"] if w] if precision is not None else []
    if warnings:
        doc.add(
            _Text("Replications too few for the requested precision:", css="warning"),
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
                "from the factors; the indices of an outcome with a large share need more "
                "replications per design point."
            ),
            _Table(
                ["Outcome", *[c.replace("_", " ") for c in shown]],
                [
                    [plots.outcome_label(str(r["outcome"]))]
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
                        plots.outcome_label(r.outcome),
                        str(r.factor),
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
                f"Sobol indices of {plots.outcome_label(outcome, unit=False)}.",
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
                        plots.outcome_label(r.outcome),
                        str(r.factor),
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
                f"Morris screening of {plots.outcome_label(outcome, unit=False)}.",
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


# ---------------------------------------------------------------------- building
def build_document(results: Results) -> _Document:
    """The report's content as blocks (rendered by :func:`render_html` / :func:`render_markdown`)."""
    doc = _Document(f"microgov report: {results.name}")
    description = results.meta_value("description")
    intro = f"{results.kind.capitalize()} experiment {results.name!r}"
    if results.reference:
        intro += f", reference scenario {results.reference}"
    doc.add(_Text(intro + (f". {description}" if description else ".")))
    _runs_section(doc, results)
    if results.kind == "calibrate":  # the fit report lives in analysis/calibration.py
        from analysis.calibration import add_fit_report

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
    if results.kind not in ("sweep", "sensitivity"):
        _network_section(doc, results)
    _differences_section(doc, results)
    if not wide.empty and results.kind not in ("sweep", "sensitivity"):
        _appendix(doc, results, wide, confidence)
    _manifest_section(doc, results)
    return doc


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 64rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #333; padding-bottom: .3rem; }
h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
caption { caption-side: bottom; font-size: .85rem; color: #555; text-align: left; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #444; }
.warning { background: #fff4e5; border-left: 4px solid #e69500; padding: .4rem .8rem; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
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
        elif isinstance(block, _Table):
            caption = f"<caption>{esc(block.caption)}</caption>" if block.caption else ""
            header = "".join(f"<th>{esc(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
                for row in block.rows
            )
            parts.append(
                f"<table>{caption}<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
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
        analysis.results.ResultsError: ``results_dir`` is not a readable results folder.
    """
    results = load_results(results_dir)
    out = Path(out_dir) if out_dir is not None else results.folder / REPORT_FOLDER
    out.mkdir(parents=True, exist_ok=True)
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


def report_outcomes(results: Results) -> list[str]:
    """The outcomes the headline table shows for ``results`` (for callers and tests)."""
    return _choose_outcomes(results, results.outcome_names())
