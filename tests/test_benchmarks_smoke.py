"""Smoke tests of the benchmark scripts: they run at a tiny size and write their JSON.

No timing is asserted here (docs/design.md "Scale targets": the targets are measured in benchmarks/,
not in timed tests); see docs/performance.md for the figures.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def _run(
    script: str,
    *args: str,
    root: Path = ROOT,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``root``'s copy of a benchmark script from ``root`` (this checkout by default)."""
    return subprocess.run(
        [sys.executable, str(root / "benchmarks" / script), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def test_bench_engine_writes_ratios_and_waits(tmp_path: Path) -> None:
    """bench_engine with 400 customers writes wall times, ratios and mean waits per system."""
    out = tmp_path / "engine.json"
    done = _run("bench_engine.py", "--customers", "400", "--repeats", "1", "--out", str(out))
    assert done.returncode == 0, f"bench_engine failed:\n{done.stderr}"
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(results["systems"]) == {"mmc", "tandem"}, f"systems: {set(results['systems'])}"
    for name, system in results["systems"].items():
        for key in ("wall_s_median", "ratio", "mean_wait_hours", "targets"):
            assert key in system, f"{name}: key {key!r} missing from {sorted(system)}"
        assert set(system["ratio"]) == {"engine_over_heapq", "engine_over_ciw"}, (
            f"{name}: ratios {system['ratio']}"
        )
        waits = system["mean_wait_hours"]
        # the engine and the heapq loop consume the same pre-drawn times: same waits
        assert abs(waits["engine"] - waits["heapq"]) < 1e-6, f"{name}: waits differ {waits}"
    assert "| mmc |" in done.stdout, f"no markdown table printed:\n{done.stdout}"


@pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc")) is None, reason="needs a C compiler (cc or $CC)"
)
def test_case_row_layout_probe_times_three_layouts_of_the_case_table(tmp_path: Path) -> None:
    """The layout probe compiles, reads the case table's item sizes (a row's bytes padded
    to whole cache lines make its record) and writes a positive time per layout and column
    count; a column count beyond the table's is refused in one line."""
    out = tmp_path / "layout.json"
    done = _run(
        "case_row_layout.py", "--rows", "2000", "--events", "500", "--days", "3",
        "--columns", "2", "7", "--sweep-mib", "1", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    from array import array

    from model.casework import CaseTable

    sizes = [array(code).itemsize for code, _ in CaseTable._SPEC.values()]
    assert figures["item_sizes"] == sizes
    assert set(figures["by_columns"]) == {"2", "7"}
    for k, row in figures["by_columns"].items():
        assert row["record_bytes"] == -(-sum(sizes) // 64) * 64, row
        for layout in ("columns_ms", "record_ms", "hot_ms"):
            assert row[layout] > 0, (k, layout, row)
    assert "| 7 |" in done.stdout, done.stdout
    refused = _run("case_row_layout.py", "--columns", str(len(sizes) + 1))
    assert refused.returncode == 2 and refused.stderr.strip().startswith("error: --columns"), (
        refused.stderr
    )


def test_bench_scenarios_classroom_five_days(tmp_path: Path) -> None:
    """bench_scenarios runs classroom for 5 days in a child process and records its figures."""
    out = tmp_path / "scenarios.json"
    done = _run("bench_scenarios.py", "--scenarios", "classroom", "--days", "5", "--out", str(out))
    assert done.returncode == 0, f"bench_scenarios failed:\n{done.stderr}"
    results = json.loads(out.read_text(encoding="utf-8"))
    figures = results["scenarios"]["classroom"]
    for key in ("import_s", "build_s", "run_s", "model_s", "peak_rss_mib", "cpu_s", "model"):
        assert key in figures, f"key {key!r} missing from {sorted(figures)}"
    assert figures["days"] == 5, f"days recorded: {figures['days']}"
    assert 0 < figures["first_day_s"] <= figures["run_s"], figures  # of the run, its first day
    assert 0 < figures["first_day_cpu_s"] <= figures["run_cpu_s"], figures
    assert figures["peak_rss_mib"] > 0, f"peak RSS: {figures['peak_rss_mib']}"
    assert figures["targets"]["time"] is None, "a 5-day run must not be judged against targets"
    # the reference loop ran with the run's own cases and days, and the ratio is reported
    reference = figures["reference"]
    assert reference["cases"] == figures["model"]["cases_generated"], reference
    assert reference["days"] == figures["model"]["simulated_days"], reference
    assert reference["events"] == 4 * reference["cases"], reference
    ratio = figures["ratio_to_reference"]
    assert ratio["wall"] == figures["model_s"] / reference["seconds"], ratio
    assert figures["write_s"] >= 0, "results were not written"
    # a classroom's ties are all near: nothing for the far ties' trial to choose
    assert figures["model"]["trust_far_ties"] == "no far ties", figures["model"]


def _copy_checkout(tree: Path) -> Path:
    """A copy of this checkout's code (its compiled engine too) at ``tree``."""
    for name in ("app", "benchmarks", "model", "experiments", "scenarios", "tools"):
        shutil.copytree(
            ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "results")
        )
    return tree


def test_bench_scenarios_measures_the_tree_it_is_run_from(tmp_path: Path) -> None:
    """Run from another checkout, bench_scenarios' child imports that checkout's model."""
    tree = _copy_checkout(tmp_path / "other_checkout")
    out = tmp_path / "scenarios.json"
    done = _run(
        "bench_scenarios.py",
        "--scenarios",
        "classroom",
        "--days",
        "2",
        "--out",
        str(out),
        root=tree,
    )
    assert done.returncode == 0, f"bench_scenarios failed:\n{done.stderr}"
    figures = json.loads(out.read_text(encoding="utf-8"))["scenarios"]["classroom"]
    assert Path(figures["model_source"]) == tree / "model", figures["model_source"]


def test_bench_scenarios_repeats_against_another_checkout(tmp_path: Path) -> None:
    """--repeats 3 --against OTHER measures this checkout's model and the other's
    alternately, three readings each in fresh processes: the figures kept are this
    checkout's median reading, every reading is recorded, the other checkout's readings come
    from its own model, and the paired differences are the readings' differences."""
    tree = _copy_checkout(tmp_path / "other_checkout")
    out = tmp_path / "scenarios.json"
    done = _run(
        "bench_scenarios.py",
        *("--scenarios", "classroom", "--days", "2", "--no-reference", "--progress-days", "0"),
        *("--repeats", "3", "--against", str(tree), "--out", str(out)),
    )
    assert done.returncode == 0, f"bench_scenarios failed:\n{done.stderr}"
    figures = json.loads(out.read_text(encoding="utf-8"))["scenarios"]["classroom"]
    ours, theirs = figures["repeats"], figures["against"]
    assert len(ours["model_s"]) == len(theirs["model_s"]) == 3, figures
    assert figures["model_s"] == sorted(ours["model_s"])[1]  # the median reading's figures
    assert ours["median_model_s"] == sorted(ours["model_s"])[1]
    assert Path(ours["model_source"]) == ROOT / "model"
    assert Path(theirs["model_source"]) == tree / "model"
    assert Path(theirs["median_figures"]["model_source"]) == tree / "model"
    assert theirs["paired_difference_s"] == [
        a - b for a, b in zip(ours["model_s"], theirs["model_s"], strict=True)
    ]
    assert "median paired difference" in done.stdout
    # three runs of each checkout, in alternation, the other one first
    started = [line for line in done.stderr.splitlines() if "in a fresh process" in line]
    assert [str(tree) in line for line in started] == [True, False, False, True, True, False]


def test_bench_scenarios_refuses_bad_repeats_and_checkouts(tmp_path: Path) -> None:
    """A folder that is not a checkout, repeats below one, and a profile of several runs
    are refused in one line each, before anything runs."""
    for args, message in (
        (("--against", str(tmp_path)), f"--against {tmp_path}: not a checkout"),
        (("--repeats", "0"), "--repeats must be at least 1, got 0"),
        (("--repeats", "2", "--profile", "5"), "--profile measures one run"),
    ):
        done = _run("bench_scenarios.py", *args, "--out", str(tmp_path / "s.json"))
        assert done.returncode == 2, done.stderr
        assert message in done.stderr.strip().splitlines()[-1], done.stderr
        assert not (tmp_path / "s.json").exists()


def test_reference_loop_four_events_per_case_and_settled_queues() -> None:
    """The reference loop processes exactly four events per case and its queues settle."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from reference_loop import reference_loop
    finally:
        sys.path.remove(str(BENCHMARKS))
    figures = reference_loop(cases=20_000, days=100.0, grids=40, seed=3)
    assert figures["events"] == 4 * 20_000
    # three stations at utilisation 0.8: a case spends a few mean service times in the
    # system (grid ≈ 0.16 d, centre ≈ 0.08 d, department ≈ 0.32 d here), never hundreds
    assert 0.5 < figures["mean_time_in_system_days"] < 10.0, figures
    again = reference_loop(cases=20_000, days=100.0, grids=40, seed=3)
    assert again["mean_time_in_system_days"] == figures["mean_time_in_system_days"], (
        "the same seed gives the same sample path"
    )


def test_bench_parallel_shortened_demo_is_the_demo_with_fewer_runs(tmp_path: Path) -> None:
    """bench_parallel's shortened demo keeps the demo's scenarios and seed, with the asked size."""
    from experiments.experiment_files import load_experiment

    sys.path.insert(0, str(BENCHMARKS))
    try:
        from bench_parallel import DEMO, workload_file
    finally:
        sys.path.remove(str(BENCHMARKS))
    short = load_experiment(workload_file("demo", tmp_path, replications=2, days=30))
    demo = load_experiment(DEMO)
    assert (short.spec.replications, short.spec.days) == (2, 30)
    assert short.spec.seed == demo.spec.seed
    assert sorted(short.scenarios) == sorted(demo.scenarios)
    assert workload_file("demo", tmp_path, None, None) == DEMO, "unshortened: the file itself"
    street = load_experiment(workload_file("street8", tmp_path, None, None))
    assert (len(street.points) * street.spec.replications, street.spec.days) == (8, 200)


def test_bench_case_log_writes_both_and_they_read_back_equal(tmp_path: Path) -> None:
    """bench_case_log times to_csv and the CSV sink on the same rows and checks they read back equal."""
    out = tmp_path / "log.json"
    done = _run(
        "bench_case_log.py", "--rows", "3000", "--repeats", "1", "--days", "5", "--out", str(out)
    )
    assert done.returncode == 0, f"bench_case_log failed:\n{done.stderr}"
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["rows"] == 3000 and figures["reads_back_equal"] is True, figures
    assert figures["ratio_cpu"] == figures["pandas_cpu_s"] / figures["sink_cpu_s"], figures
    assert figures["same_bytes_as_arrow"] is True, figures  # the compiled writer's reference
    assert figures["arrow_ratio_cpu"] == figures["arrow_cpu_s"] / figures["sink_cpu_s"], figures


def test_bench_trust_step_times_both_steps_standalone_and_in_a_run(tmp_path: Path) -> None:
    """bench_trust_step times the kernel and the reference alone and on alternate days of a run,
    the model's step with the day's mean trust, and the grouping's first call."""
    out = tmp_path / "trust.json"
    done = _run(
        "bench_trust_step.py",
        *("--scenario", "classroom", "--calls", "3", "--days", "6", "--skip", "2"),
        *("--out", str(out)),
    )
    assert done.returncode == 0, f"bench_trust_step failed:\n{done.stderr}"
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["standalone"]["kernel"]["n"] == figures["standalone"]["reference"]["n"] == 3
    assert figures["in_run"]["kernel"]["n"] == figures["in_run"]["reference"]["n"] == 2
    assert figures["with_mean"]["model"]["n"] == 3 and figures["with_mean"]["model"]["min_ms"] > 0
    assert figures["root"] == str(ROOT), figures
    assert figures["ties"] > 0 and figures["residents"] > 0, figures
    assert figures["far_ties"] == "no far ties" and figures["layouts_in_run"] == {}, figures
    assert figures["grouping_first_call_s"] > 0, figures


def test_bench_trust_step_times_the_far_ties_two_layouts_in_a_run(tmp_path: Path) -> None:
    """With --layouts (and ties made far by --far-rows 1) a second run times the step with
    the far ties gathered and read in place on alternate days."""
    out = tmp_path / "trust.json"
    done = _run(
        "bench_trust_step.py",
        *("--scenario", "classroom", "--calls", "2", "--days", "7", "--skip", "1"),
        *("--layouts", "--far-rows", "1", "--out", str(out)),
    )
    assert done.returncode == 0, f"bench_trust_step failed:\n{done.stderr}"
    figures = json.loads(out.read_text(encoding="utf-8"))
    layouts = figures["layouts_in_run"]
    if figures["backend"] != "compiled":
        assert layouts == {}, layouts
        return
    assert layouts["gathered"]["n"] == 3 and layouts["in place"]["n"] == 3, layouts
    assert layouts["gathered"]["min_ms"] > 0 and layouts["in place"]["min_ms"] > 0, layouts


def test_district_digest_prints_a_reproducible_line() -> None:
    """district_digest on the classroom for 5 days prints the same counts and digest twice."""
    lines = []
    for _ in range(2):
        done = _run("district_digest.py", "5", "--scenario", "classroom")
        assert done.returncode == 0, f"district_digest failed:\n{done.stderr}"
        lines.append(done.stdout.split())
    first, second = lines
    assert first[0] == "classroom" and first[1] == "build", f"line: {first}"
    cases = int(first[first.index("cases") + 1])
    assert cases > 0, f"no case in 5 classroom days: {first}"
    assert first[6:] == second[6:], f"two runs differ: {first} vs {second}"


def test_district_digest_streams_the_case_log_with_the_same_results() -> None:
    """--case-log retires finished cases into a streamed log: the line adds the cases retired
    (some, in 60 street days) and the log's digest, the same on a second run; the run's
    events, trust and cases are those of the run without it."""
    lines = [
        _run("district_digest.py", "60", "--scenario", "baseline", *extra).stdout.split()
        for extra in (["--case-log"], ["--case-log"], [])
    ]
    logged, again, plain = lines
    assert logged[logged.index("events") :] == again[again.index("events") :], lines
    assert int(logged[logged.index("retired") + 1]) > 0, logged
    assert len(logged[logged.index("log") + 1]) == 16, logged
    for word in ("events", "trust", "cases"):
        assert logged[logged.index(word) + 1] == plain[plain.index(word) + 1], lines
    assert "log" not in plain and "retired" not in plain, plain


def test_district_digest_counts_calls_per_case_reproducibly() -> None:
    """--count-calls adds the Python calls per case, the same number on a second run."""
    counts = []
    for _ in range(2):
        done = _run("district_digest.py", "3", "--scenario", "classroom", "--count-calls")
        assert done.returncode == 0, f"district_digest failed:\n{done.stderr}"
        words = done.stdout.split()
        counts.append(float(words[words.index("calls_per_case") + 1]))
    assert counts[0] > 0 and counts[0] == counts[1], counts


def test_district_digest_counts_functions_that_share_a_name_apart() -> None:
    """Two functions of the same file, line and name (as every dataclass's generated
    ``__init__`` is) are both counted; pstats keeps one of them, chosen by memory address,
    which made the calls per case of one run vary between processes."""
    count_calls = runpy.run_path(str(BENCHMARKS / "district_digest.py"))["count_calls"]
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    exec(compile("def f():\n    return 1\n", "<string>", "exec"), first)
    exec(compile("def f():\n    return 2\n", "<string>", "exec"), second)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        first["f"]()
    second["f"]()
    profiler.disable()
    named = [e for e in profiler.getstats() if getattr(e.code, "co_name", "") == "f"]
    assert sorted(e.callcount for e in named) == [1, 3], named
    assert count_calls(profiler) >= 4
    assert count_calls(profiler) - pstats.Stats(profiler).total_calls in (1, 3)  # type: ignore[attr-defined]


FAKE_VALGRIND = """#!/usr/bin/env python3
# stands in for valgrind: writes a callgrind file whose total is 1000 per simulated day
# (the first argument after the script is the days), then runs the command, or fails
import subprocess, sys
MODE = "RUN"
args = sys.argv[1:]
out = next(a.split("=", 1)[1] for a in args if a.startswith("--callgrind-out-file="))
command = args[next(i for i, a in enumerate(args) if not a.startswith("--")) :]
if MODE == "FAIL":
    sys.exit("fake valgrind: made to fail")
days = int(command[2])
open(out, "w").write(f"events: Ir\\nsummary: {1000 * days + 123456}\\n")
sys.exit(subprocess.run(command).returncode)
"""


def _fake_valgrind(folder: Path, mode: str) -> dict[str, str]:
    """An environment whose PATH finds a stand-in ``valgrind`` (``mode`` RUN or FAIL)."""
    script = folder / "valgrind"
    script.write_text(FAKE_VALGRIND.replace('MODE = "RUN"', f"MODE = {mode!r}"), encoding="utf-8")
    script.chmod(0o755)
    return os.environ | {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def test_instructions_subtracts_the_shorter_run_and_reads_the_digest(tmp_path: Path) -> None:
    """With a stand-in valgrind counting 1000 per day, two classroom spans give exactly
    their days' difference, the cases created between, and one result line each."""
    out = tmp_path / "instructions.json"
    done = _run(
        "instructions.py",
        *("--scenario", "classroom", "--from-days", "2", "--to-days", "7", "--out", str(out)),
        env=_fake_valgrind(tmp_path, "RUN"),
    )
    assert done.returncode == 0, done.stderr
    (span,) = json.loads(out.read_text(encoding="utf-8"))
    assert span["instructions"] == 5000, span
    assert span["per_day"] == 1000, span
    lines = {
        days: _run("district_digest.py", str(days), "--scenario", "classroom").stdout.split()
        for days in (2, 7)
    }
    created = int(lines[7][lines[7].index("cases") + 1]) - int(
        lines[2][lines[2].index("cases") + 1]
    )
    assert span["cases"] == created, (span, created)
    assert span["result"].split() == lines[7][lines[7].index("events") :], span


def test_instructions_with_the_case_log_compares_the_logs_too(tmp_path: Path) -> None:
    """--case-log runs district_digest with its case log streamed: each span's result holds
    the cases retired and the log's digest, as district_digest prints them."""
    out = tmp_path / "instructions.json"
    done = _run(
        "instructions.py",
        *("--scenario", "classroom", "--from-days", "1", "--to-days", "3", "--out", str(out)),
        "--case-log",
        env=_fake_valgrind(tmp_path, "RUN"),
    )
    assert done.returncode == 0, done.stderr
    (span,) = json.loads(out.read_text(encoding="utf-8"))
    line = _run("district_digest.py", "3", "--scenario", "classroom", "--case-log").stdout.split()
    assert span["result"].split() == line[line.index("events") :], (span, line)
    assert span["result"].split()[-4::2] == ["retired", "log"], span


def test_instructions_reports_a_failed_run_without_a_traceback(tmp_path: Path) -> None:
    """A run that fails under valgrind: exit 1, an error naming the tree and the days, no
    traceback."""
    done = _run(
        "instructions.py",
        *("--scenario", "classroom", "--from-days", "1", "--to-days", "2"),
        env=_fake_valgrind(tmp_path, "FAIL"),
    )
    assert done.returncode == 1, done.stderr
    assert "error:" in done.stderr and "under callgrind failed" in done.stderr, done.stderr
    assert "made to fail" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_instructions_refuses_a_bad_span_and_a_missing_valgrind() -> None:
    """instructions.py names what is wrong: an empty span, or no valgrind on the PATH."""
    done = _run("instructions.py", "--from-days", "5", "--to-days", "5")
    assert done.returncode == 2 and "--from-days (5)" in done.stderr, done.stderr
    without = os.environ | {"PATH": str(ROOT / "no-such-folder")}
    done = _run("instructions.py", "--from-days", "1", "--to-days", "2", env=without)
    assert done.returncode == 2 and "valgrind is not on the PATH" in done.stderr, done.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="needs valgrind (apt-get install valgrind)"
)
def test_instructions_counts_the_same_span_twice_alike(tmp_path: Path) -> None:
    """Two counts of the same classroom days on this tree agree within 1 % and ran the same
    (slow: four runs under callgrind, ≈ 3 min)."""
    out = tmp_path / "instructions.json"
    done = _run(
        "instructions.py",
        *("--scenario", "classroom", "--from-days", "1", "--to-days", "8"),
        *("--root", str(ROOT), "--root", str(ROOT), "--out", str(out)),
        timeout=900,
    )
    assert done.returncode == 0, f"instructions failed:\n{done.stderr}"
    first, second = json.loads(out.read_text(encoding="utf-8"))
    assert first["instructions"] > 0 and first["cases"] > 0, first
    assert first["result"] == second["result"], (first["result"], second["result"])
    assert abs(second["instructions"] / first["instructions"] - 1) < 0.01, (first, second)


def _sample_days_module() -> dict[str, Any]:
    return runpy.run_path(str(BENCHMARKS / "sample_days.py"), run_name="sample_days")


def test_sample_days_sums_stacks_inside_a_day() -> None:
    """py-spy's raw stacks summed inside a day's step: the callers' frames and the samples
    outside a day are left out (the latter counted), a recursive function counts once per
    stack, paths under the root are made relative, own time goes to the innermost frame."""
    summarise = _sample_days_module()["summarise"]
    root = "/repo"
    step = "GovernanceModel.step (/repo/model/governance.py:396)"
    raw = "\n".join(
        [
            f"<module> (run.py:3);{step};walk (/repo/model/a.py:10);walk (/repo/model/a.py:12) 6",
            f"<module> (run.py:3);{step};sum (numpy/core.py:5) 3",
            f"<module> (run.py:3);{step} 1",
            "<module> (run.py:3);sleep (time.py) 5",
            "",
        ]
    )
    summary = summarise(raw, root=root, top=10)
    assert summary["samples"] == 10 and summary["outside"] == 5
    inclusive = dict(summary["inclusive"])
    assert inclusive == {
        "GovernanceModel.step (model/governance.py)": 100.0,
        "walk (model/a.py)": 60.0,
        "sum (numpy/core.py)": 30.0,
    }
    assert dict(summary["own"]) == {
        "walk (model/a.py)": 60.0,
        "sum (numpy/core.py)": 30.0,
        "GovernanceModel.step (model/governance.py)": 10.0,
    }
    assert summary["lines"][0] == ("walk (model/a.py:12)", 60.0)
    assert dict(summary["parts"]) == {
        "other": 90.0,
        "the day's step: the compiled event loop, stations and lifecycle": 10.0,
    }
    assert summarise("", root=root)["samples"] == 0


def test_sample_days_sums_own_time_by_part_of_the_model() -> None:
    """Own samples go to the part of the first rule that matches: the intake's methods and
    the day's step by name, then by file (the root's paths, and a package by its folder
    wherever it is installed); all parts together are every sample."""
    module = _sample_days_module()
    part_of = module["part_of"]
    expected = {
        "Casework._create (model/casework.py)": module["INTAKE_PART"],
        "OneThing.separate_uniforms (model/bundles.py)": module["INTAKE_PART"],
        "OneThing.one_pass (model/bundles.py)": "case lifecycle (casework, routes, calendar)",
        "PythonLifecycle._visit_done (model/lifecycle.py)": "case lifecycle (casework, routes, calendar)",
        "PythonLifecycle._register (model/lifecycle.py)": module["INTAKE_PART"],
        "GovernanceModel.step (model/governance.py)": module["STEP_PART"],
        "GovernanceModel._hold_to_account (model/governance.py)": "other",
        "diffuse_trust (model/trust_diffusion.py)": "trust step",
        "Department.rate (model/agents.py)": "agents' decisions",
        "_csv_rows (experiments/case_sinks.py)": "retiring cases and the case log",
        "f (.venv/lib/python3.12/site-packages/pandas/core/frame.py)": "retiring cases and the case log",
        "convene (model/policies/consultation.py)": "meetings, projects, consultation",
        "route (model/policies/routing.py)": "case lifecycle (casework, routes, calendar)",
        "_sum (numpy/_core/_methods.py)": "other",
    }
    assert {name: part_of(name) for name in expected} == expected
    raw = "\n".join(
        f"GovernanceModel.step (/repo/model/governance.py:1);{frame} {n}"
        for frame, n in (
            ("Casework._create (/repo/model/casework.py:9)", 2),
            ("Casework._close (/repo/model/casework.py:9)", 5),
            ("Department.rate (/repo/model/agents.py:9)", 3),
        )
    )
    parts = dict(module["summarise"](raw, root="/repo", top=1)["parts"])
    assert parts == {
        "case lifecycle (casework, routes, calendar)": 50.0,
        "agents' decisions": 30.0,
        module["INTAKE_PART"]: 20.0,
    }, "every sample, whatever --top"


def test_sample_days_samples_a_classroom_run(tmp_path: Path) -> None:
    """The classroom's days 5–300 sampled by py-spy (a dev dependency; the test attaches to
    a child process): every sample is summed inside a day, the step itself is 100 %, and the
    case lifecycle is among the functions found; the JSON has the same figures."""
    out = tmp_path / "sample.json"
    done = _run(
        "sample_days.py", "--scenario", "classroom", "--warm-days", "5", "--days", "300",
        "--rate", "400", "--out", str(out), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"sample_days failed:\n{done.stdout}\n{done.stderr}"
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["samples"] > 10, summary
    inclusive = dict(summary["inclusive"])
    assert inclusive["GovernanceModel.step (model/governance.py)"] == 100.0
    assert any(name.startswith("Casework.") for name in inclusive), sorted(inclusive)
    assert sum(share for _, share in summary["own"]) <= 100.0 + 1e-9
    assert abs(sum(share for _, share in summary["parts"]) - 100.0) < 1e-9
    assert "samples in a day's step" in done.stdout


def test_sample_days_names_a_missing_py_spy(tmp_path: Path) -> None:
    """A py-spy that is not there is a one-line error naming the option, not a traceback."""
    done = _run(
        "sample_days.py", "--scenario", "classroom", "--warm-days", "1", "--days", "1",
        "--py-spy", str(tmp_path / "no-py-spy"),
    )  # fmt: skip
    assert done.returncode == 1
    assert "--py-spy" in done.stderr and "no such executable" in done.stderr
    assert "Traceback" not in done.stderr


def test_sample_days_names_an_unknown_scenario() -> None:
    """An unknown scenario is a one-line error naming it, before any run or sampling."""
    done = _run("sample_days.py", "--scenario", "no_such_scenario", "--days", "1")
    assert done.returncode == 1
    assert "--scenario no_such_scenario" in done.stderr and "no such file" in done.stderr
    assert "Traceback" not in done.stderr


def test_bench_parallel_runs_ceiling_is_the_pools_runs_against_the_same_runs_alone() -> None:
    """The runs' ceiling: with each run of the pool a third slower than alone, two workers
    allow 1.5×, whatever the burns said; it is shown beside the speed-up, and runs of two
    different experiments are refused."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from bench_parallel import markdown, runs_ceiling
    finally:
        sys.path.remove(str(BENCHMARKS))
    phases = {"before_first_run_s": 1.0, "after_last_run_s": 0.1, "load_1min_before": 0.2}
    serial = {"runs": 8, "wall_s": 4.0, "runs_span_s": 3.0, "run_s_sum": 3.0, "busy_share": 1.0}
    pool = {"runs": 8, "wall_s": 3.0, "runs_span_s": 2.0, "run_s_sum": 4.0, "busy_share": 1.0}
    assert runs_ceiling(serial, pool, 2) == pytest.approx(1.5)
    assert runs_ceiling(serial, serial, 2) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="serial ran 8 runs and the pool 7"):
        runs_ceiling(serial, pool | {"runs": 7}, 2)
    row = {
        "serial": serial | phases,
        "pool": pool | phases,
        "speedup": 4.0 / 3.0,
        "ceiling": 1.93,
        "runs_ceiling": runs_ceiling(serial, pool, 2),
    }
    table = markdown(
        {"commit": "0" * 40, "date": "today", "workers": 2, "workloads": {"w": {"repeats": [row]}}}
    )
    header, _, serial_line, pool_line = table.splitlines()[2:]
    assert header.split("|")[12:14] == [" ceiling ", " runs' ceiling "]
    assert pool_line.split("|")[11:14] == [" 1.33 ", " 1.93 ", " 1.50 "]
    assert serial_line.split("|")[13] == "  ", "the runs' ceiling is the pool's row's"
