"""``microgov run`` (one run of one scenario) and ``microgov validate`` (check files).

``run`` prints the outcome table and writes ``summary.json``, ``timeseries.csv`` and
``cases.csv`` into one folder: ``--out DIR``, else ``results/run-<scenario>-seed<N>/``
(``-2``, ``-3`` … appended when that folder already holds results, so nothing is ever
overwritten unasked). Every file check happens before the run starts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from app import arguments
from app.console import outcome_table
from app.error_line import print_error
from experiments.atomic_files import replaced_whole
from experiments.errors import InputError, ResourceError
from experiments.scenario_files import (
    Scenario,
    apply_overrides,
    iter_scenario_files,
    load_scenario,
    parse_toml,
    read_toml_bytes,
    resolve_scenario_path,
)

OUTPUT_FILES: tuple[str, ...] = ("summary.json", "timeseries.csv", "cases.csv")
# Show the progress bar at once above this many residents; below, only if the run
# lasts more than PROGRESS_DELAY_S (assumption: ~2 s is when people start to wonder).
PROGRESS_RESIDENTS = 30_000
PROGRESS_DELAY_S = 2.0
# Scenario files are trusted input: `kind = "package.module:Class"` imports code. This flag
# (on run, validate, compare, sweep, sensitivity) refuses such kinds.
REGISTERED_ONLY_FLAG = "--registered-kinds-only"
REGISTERED_ONLY_HELP = (
    "accept only built-in and installed (entry-point) policy kinds; a 'module:Class' kind, "
    "which would import code, is an error"
)


def register(subparsers: Any) -> None:
    """Add the ``run`` and ``validate`` subcommands."""
    run = subparsers.add_parser(
        "run",
        help="run one scenario once and print its outcomes",
        description="Run one scenario with one seed, print the outcomes and write summary.json, "
        "timeseries.csv and cases.csv.",
    )
    run.add_argument("scenario", metavar="SCENARIO", help="scenario file, or a name in scenarios/")
    run.add_argument("--seed", type=_non_negative_int, default=0, help="root seed (default 0)")
    low, high = arguments.days_bounds()
    run.add_argument(
        "--days",
        type=arguments.days,
        default=None,
        help=f"measured days after the scenario's warm-up, {low} to {high} (default: the "
        "scenario's simulation.days)",
    )
    run.add_argument(
        "--out",
        type=arguments.out_folder,
        default=None,
        metavar="DIR",
        help="output folder (default results/run-<scenario>-seed<N>/)",
    )
    run.add_argument(
        "--overwrite", action="store_true", help="replace the output files already in --out DIR"
    )
    run.add_argument("--no-files", action="store_true", help="print the outcomes only")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change one field, e.g. --set routing.kind=integrated (repeatable; TOML values)",
    )
    arguments.add_no_progress(run, "--quiet")  # --quiet: the spelling before issue 13
    run.add_argument(REGISTERED_ONLY_FLAG, action="store_true", help=REGISTERED_ONLY_HELP)
    run.set_defaults(func=run_command)

    validate = subparsers.add_parser(
        "validate",
        help="check scenario and experiment files without running them",
        description="Read and validate scenario files (a folder means its *.toml files). An "
        "experiment file (one with a top-level 'kind': compare, sweep, sensitivity, calibrate) "
        "is checked as an experiment: its fields, its scenarios and every point it would run.",
    )
    validate.add_argument("scenarios", nargs="+", metavar="FILE", help="files or folders")
    validate.add_argument(REGISTERED_ONLY_FLAG, action="store_true", help=REGISTERED_ONLY_HELP)
    validate.set_defaults(func=validate_command)


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------


def run_command(args: argparse.Namespace) -> int:
    """``microgov run``: check everything, run once, print and write the results."""
    scenario = load_scenario(
        resolve_scenario_path(args.scenario), allow_imports=not args.registered_kinds_only
    )
    if args.overrides:
        scenario = apply_overrides(scenario, parse_assignments(args.overrides))
    days = args.days if args.days is not None else scenario.parameters.simulation.days
    folder = None
    if not args.no_files:
        folder = (
            prepare_output_folder(args.out, overwrite=args.overwrite)
            if args.out is not None
            else free_default_folder(scenario.name, args.seed)
        )

    from experiments.runs import run_single  # the model is imported only when needed
    from model.outcomes import warnings_not_logged

    started = time.perf_counter()
    warmup = scenario.parameters.simulation.warmup_days
    # the case log is written as the run goes (memory stays flat in the number of days)
    try:
        with (
            _case_file(folder) as sink,
            _progress_bar(scenario, warmup + days, disabled=args.no_progress) as progress,
            warnings_not_logged(),  # listed once, after the table
        ):
            output = run_single(scenario, args.seed, days=days, progress=progress, case_sink=sink)
    except _CaseLogUnwritable as exc:  # writing the case log as the run went (a full disk)
        raise _unwritable(folder, exc.error, "the run stopped") from None
    elapsed = time.perf_counter() - started

    warnings = tuple(str(w) for w in getattr(output, "warnings", ()) or ())  # new in RunOutput
    unwritten: OSError | None = None
    if folder is not None:  # files first: a closed pipe on stdout must not lose them
        summary = summary_record(
            output.summary, scenario, seed=args.seed, days=days, warnings=warnings
        )
        try:
            _write_atomic(folder / "summary.json", lambda f: _dump_json(summary, f))
            _write_atomic(
                folder / "timeseries.csv", lambda f: output.timeseries.to_csv(f, index=False)
            )
        except OSError as exc:  # the table is still printed: the run's outcomes are not lost
            unwritten = exc
    print(
        f"{scenario.name}: {scenario.residents:,} residents, routing {scenario.routing_kind}, "
        f"consultation {scenario.consultation_kind}; seed {args.seed}, {days} days measured "
        f"after a {warmup}-day warm-up ({elapsed:.1f} s)"
    )
    print(outcome_table(output.summary))
    if warnings:
        print(f"warnings ({len(warnings)}):")
        for message in warnings:
            print(f"  {message}")
    if unwritten is not None:
        raise _unwritable(folder, unwritten, "the table above is the run's outcomes")
    if folder is not None:
        print(f"wrote {', '.join(OUTPUT_FILES)} to {folder}{os.sep}")
    return 0


def _unwritable(folder: Path | None, exc: OSError, what: str) -> ResourceError:
    """A run's files that could not be written (a full disk, a folder gone): the folder
    named, and what was kept (a full disk is the machine's, exit 1, not bad input)."""
    return ResourceError(
        f"{folder}: cannot write the run's files ({exc.strerror or exc}); {what}; files "
        "written before are left as they were"
    )


def summary_record(
    summary: Mapping[str, float],
    scenario: Scenario,
    *,
    seed: int,
    days: int,
    warnings: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What summary.json holds: scenario, scenario_digest, seed, days, warnings (the run's
    ``RunOutput.warnings``), then every outcome — counts (:func:`is_count`) as integers,
    NaN as null (JSON has no NaN), infinities as null too (strict JSON has none)."""
    record: dict[str, Any] = {
        "scenario": scenario.name,
        "scenario_digest": scenario.digest,
        "seed": seed,
        "days": days,
        "warnings": list(warnings),
    }
    for name, value in summary.items():
        number = float(value)
        if not math.isfinite(number):
            record[name] = None
        elif is_count(name) and number.is_integer():
            record[name] = int(number)
        else:
            record[name] = number
    return record


# The rule for counts (docs/design.md "Hardening the runner and store"): an outcome is a
# count when its name starts with needs_ or cases_, or ends with _held, _made, _open or
# _final, unless it ends like a ratio or mean. It is written as an integer only when its
# value is whole, so the rule can never lose a fraction.
_COUNT_PREFIXES = ("needs_", "cases_")
_COUNT_SUFFIXES = ("_held", "_made", "_open", "_final")
_NOT_COUNT_SUFFIXES = ("_share", "_mean", "_days", "_per_case", "_rate", "_utilisation")


def is_count(name: str) -> bool:
    """Whether outcome ``name`` counts things (cases, needs, meetings …) by the naming rule."""
    if name.endswith(_NOT_COUNT_SUFFIXES):
        return False
    return name.startswith(_COUNT_PREFIXES) or name.endswith(_COUNT_SUFFIXES)


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``["a.b=1", "routing.kind=integrated"]`` → ``{"a.b": 1, "routing.kind": "integrated"}``.

    Values are read as TOML (``1``, ``0.5``, ``true``, ``"text"``, ``[1, 2]``); anything
    that is not valid TOML is taken as a plain string.
    """
    overrides: dict[str, Any] = {}
    for item in assignments:
        field, sep, text = item.partition("=")
        field = field.strip()
        if not sep or not field:
            raise InputError(
                "is not FIELD=VALUE", field="--set", value=item, allowed="e.g. population.streets=2"
            )
        try:
            overrides[field] = tomllib.loads(f"value = {text.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            overrides[field] = text.strip()
    return overrides


def prepare_output_folder(folder: Path, *, overwrite: bool = False) -> Path:
    """Make sure ``folder`` can take the output files, before anything runs.

    Creates it if needed and checks that it is writable. Files other than the three
    outputs are never touched; the outputs themselves are replaced only with ``overwrite``.

    Raises:
        InputError: when the folder is a file, cannot be created, is not writable, or
            already holds output files and ``overwrite`` is false.
    """
    if folder.exists() and not folder.is_dir():
        raise InputError("exists and is not a folder", file=folder, allowed="a folder for --out")
    existing = [name for name in OUTPUT_FILES if (folder / name).exists()]
    if existing and not overwrite:
        raise InputError(
            f"already holds {', '.join(existing)}; nothing was changed",
            file=folder,
            allowed="--overwrite to replace them, or another --out folder",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".microgov-write-test-"):
            pass
    except OSError as exc:
        raise InputError(
            f"cannot write to this output folder ({exc.strerror or exc})",
            file=folder,
            allowed="a writable folder for --out",
        ) from None
    return folder


def free_default_folder(name: str, seed: int, root: Path = Path("results")) -> Path:
    """``results/run-<name>-seed<N>/``, or the first ``…-2``, ``…-3`` without output files."""
    stem = f"run-{_safe_name(name)}-seed{seed}"
    for attempt in range(1, 1000):
        folder = root / (stem if attempt == 1 else f"{stem}-{attempt}")
        if not any((folder / f).exists() for f in OUTPUT_FILES) and not (
            folder.exists() and not folder.is_dir()
        ):
            return prepare_output_folder(folder)
    raise InputError("too many earlier runs; clean it up or use --out", file=root / stem)


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-.") or "scenario"


def _write_atomic(path: Path, write: Callable[[TextIO], object]) -> None:
    # Write beside the target, then rename: an interrupted run leaves no half file.
    with replaced_whole(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        write(handle)


@contextmanager
def _case_file(folder: Path | None) -> Iterator[Callable[[Any], None]]:
    """A case sink writing ``cases.csv`` in ``folder`` as the run goes: to a file beside
    it, renamed when the run has finished (an interrupted run leaves no half file); with no
    folder, a sink that drops the cases."""
    from experiments.case_sinks import CsvCaseSink

    if folder is None:
        yield lambda frame: None
        return
    run_failed = False
    try:
        with (
            replaced_whole(folder / "cases.csv") as tmp,
            open(tmp, "w", encoding="utf-8", newline="") as handle,
        ):
            write = CsvCaseSink(handle)

            def sink(frame: Any) -> None:
                try:
                    write(frame)
                except OSError as exc:  # the file's, not the run's: said as such
                    raise _CaseLogUnwritable(exc) from exc

            try:
                yield sink
            except BaseException:
                run_failed = True  # the run's own error goes on as it is
                raise
    except OSError as exc:
        if run_failed:
            raise
        raise _CaseLogUnwritable(exc) from exc  # flushing or renaming the file at its end


class _CaseLogUnwritable(Exception):
    """The case log could not be written (``error``: the OSError), as the run went or at
    its end — told apart from an OSError of the run itself, which keeps its own message."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _dump_json(data: Mapping[str, Any], handle: TextIO) -> None:
    json.dump(data, handle, indent=2, ensure_ascii=False, allow_nan=False)
    handle.write("\n")


@contextmanager
def _progress_bar(
    scenario: Scenario, days: int, *, disabled: bool
) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on stderr for long runs (``days``: warm-up included); yields the
    ``progress(days_done)`` callback."""
    from tqdm import tqdm

    bar = tqdm(
        total=days,
        desc=scenario.name,
        unit="day",
        file=sys.stderr,
        delay=0.0 if scenario.residents > PROGRESS_RESIDENTS else PROGRESS_DELAY_S,
        disable=True if disabled else None,  # None: off when stderr is not a terminal
        leave=False,
    )

    def update(days_done: int) -> None:
        bar.update(days_done - bar.n)

    try:
        yield update
    finally:
        bar.close()


# ---------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------


def validate_command(args: argparse.Namespace) -> int:
    """``microgov validate``: one line per file; status 2 if any file has a problem."""
    valid = failed = 0
    for reference in args.scenarios:
        try:
            paths = _scenario_paths(reference)
        except InputError as exc:
            print_error(exc)
            failed += 1
            continue
        for path in paths:
            experiment = _is_experiment_file(path)
            try:
                line = (
                    _validate_experiment(path, not args.registered_kinds_only)
                    if experiment
                    else _validate_scenario(path, not args.registered_kinds_only)
                )
            except InputError as exc:
                print(f"FAIL  {path}" + ("  (read as an experiment file)" if experiment else ""))
                print_error(exc)
                failed += 1
                continue
            valid += 1
            print(f"ok  {path}  ({line})")
    if valid + failed > 1 or failed:
        print(f"{valid} valid, {failed} with problems")
    return 2 if failed else 0


def _validate_scenario(path: Path, allow_imports: bool) -> str:
    scenario = load_scenario(path, allow_imports=allow_imports)
    return (
        f"{scenario.name}, {scenario.residents:,} residents, "
        f"routing {scenario.routing_kind}, consultation {scenario.consultation_kind}"
    )


def _is_experiment_file(path: Path) -> bool:
    """Whether ``path`` is an experiment file: one with a top-level ``kind`` (a scenario's
    kinds are its policies', inside their sections). A file that does not read as TOML is
    left to the scenario loader, which names the problem."""
    try:
        return "kind" in parse_toml(read_toml_bytes(path), path)
    except InputError:
        return False


def _validate_experiment(path: Path, allow_imports: bool) -> str:
    """Load an experiment file as its command would (every point's scenario built, the
    targets of a calibration read); what it would run, in a few words."""
    from experiments.experiment_files import CalibrateSpec, load_experiment

    experiment = load_experiment(path, allow_imports=allow_imports)
    spec = experiment.spec
    if isinstance(spec, CalibrateSpec):
        from experiments.calibration import check_target_outcomes

        # a fit target's outcome the model does not report fails here, not after calibrate
        # has started (a one-day run, only when a name is not the registry's: the run path,
        # and Mesa with it, imported only then)
        base = next(iter(experiment.scenarios.values()))
        check_target_outcomes(experiment, base, _run_single_when_asked)
        what = f"{_counted(len(spec.calibration.parameters), 'parameter')} fitted to {spec.targets}"
    else:
        what = _counted(len(experiment.points), "scenario" if spec.kind == "compare" else "point")
    more = ", more until [precision] is met" if spec.precision is not None else ""
    return (
        f"experiment {experiment.name}: {experiment.kind}, {what}, "
        f"{_counted(spec.replications, 'replication')} each{more}"
    )


def _run_single_when_asked(*args: Any, **kwargs: Any) -> Any:
    """``experiments.runs.run_single``, imported when called: validating a calibration whose
    targets are all known outcomes imports no run path (issue 11: ``validate`` reads only)."""
    from experiments.runs import run_single

    return run_single(*args, **kwargs)


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _scenario_paths(reference: str) -> list[Path]:
    path = Path(reference)
    if path.is_dir():
        files = list(iter_scenario_files(path))
        if not files:
            raise InputError("holds no .toml files", file=path)
        return files
    return [resolve_scenario_path(reference)]


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; allowed: 0 or more")
    return value
