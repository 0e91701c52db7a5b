"""Analysis layer: reads stored results only — statistics, tables, plots and reports.

It never imports ``experiments`` (an import-linter contract in pyproject.toml checks
this); the results-store schema in docs/design.md is the contract between them.

Modules:
    results: open a results folder and read its tables as pandas DataFrames.
    statistics: confidence intervals, paired reform effects, sweep curves, sensitivity tables.
    formatting: outcome values in natural units, from the outcome registry (model/outcomes.py).
    answer: verdicts, the ranking of reforms and what a result rests on (the report's answer).
    plots: matplotlib figures (explicit Figure/Axes, no pyplot state).
    report: one HTML page and a Markdown version per results folder.
"""

from analysis.results import Results, ResultsError, load_results

__all__ = ["Results", "ResultsError", "load_results"]
