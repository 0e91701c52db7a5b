"""The compiled case engine (model/native.py): used only when current, same results as its sources."""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import golden_summaries as golden
import pytest

import model.casework
from model import native

ROOT = Path(__file__).resolve().parents[1]


def _fake_build(folder: Path, *, extensions: bool = True, record: bool = True) -> None:
    """A package folder with the compiled modules' sources, extensions and build record."""
    for name in native.COMPILED:
        stem = name.rsplit(".", 1)[1]
        (folder / f"{stem}.py").write_text(f"# {stem}\n", encoding="utf-8")
        if extensions:
            (folder / (stem + importlib.machinery.EXTENSION_SUFFIXES[0])).write_bytes(b"")
    if record:
        digests = {
            name: hashlib.sha256(f"# {name.rsplit('.', 1)[1]}\n".encode()).hexdigest()
            for name in native.COMPILED
        }
        (folder / native.DIGEST_FILE).write_text(json.dumps(digests), encoding="utf-8")


def test_a_current_build_is_used(tmp_path: Path) -> None:
    """Extensions whose recorded sources match the files are used."""
    _fake_build(tmp_path)
    assert native.decide(tmp_path, environ={}).compiled


def test_a_changed_source_falls_back_and_names_the_module(tmp_path: Path) -> None:
    """A source edited after the build is run interpreted, and the reason names it."""
    _fake_build(tmp_path)
    (tmp_path / "stations.py").write_text("# edited\n", encoding="utf-8")
    decision = native.decide(tmp_path, environ={})
    assert not decision.compiled
    assert "model.stations changed" in decision.reason
    assert "make compile" in decision.reason


@pytest.mark.parametrize(
    ("build", "environ", "reason"),
    [
        ({"extensions": False}, {}, "not compiled"),
        ({"record": False}, {}, "missing or unreadable"),
        ({}, {native.PURE_ENV: "1"}, f"{native.PURE_ENV}=1"),
    ],
)
def test_no_build_no_record_or_asked_for_runs_interpreted(
    tmp_path: Path, build: dict[str, bool], environ: dict[str, str], reason: str
) -> None:
    """Without extensions, without a build record, or when asked, the sources are used."""
    _fake_build(tmp_path, **build)
    decision = native.decide(tmp_path, environ=environ)
    assert not decision.compiled
    assert reason in decision.reason


def test_this_process_runs_what_the_status_says() -> None:
    """status() agrees with the files the case engine's modules were loaded from."""
    compiled = not (model.casework.__file__ or "").endswith(".py")
    assert native.status().compiled == compiled


@pytest.mark.skipif(
    os.environ.get("MICROGOV_REQUIRE_COMPILED") != "1",
    reason="only where the build must have compiled the engine (CI sets MICROGOV_REQUIRE_COMPILED)",
)
def test_the_installed_engine_is_compiled() -> None:
    """Where a compiler is available (CI), the installed package runs the compiled engine."""
    assert native.status().compiled, native.status().reason


def test_compiled_and_interpreted_runs_are_identical() -> None:
    """A seeded run gives bit-for-bit the same summary interpreted as in this process."""
    case = golden.CASES[0]
    script = (
        "import json, sys; sys.path.insert(0, 'tests'); import golden_summaries as g; "
        "import model.casework as c; assert c.__file__.endswith('.py'), c.__file__; "
        "print(json.dumps(g.compute(g.CASES[0])))"
    )
    environ = {**os.environ, native.PURE_ENV: "1"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    interpreted = json.loads(done.stdout.strip().splitlines()[-1])
    here = golden.compute(case)
    assert set(here) == set(interpreted)
    differing = {
        name: (here[name], interpreted[name])
        for name in here
        if here[name] != interpreted[name]
        and not (math.isnan(here[name]) and math.isnan(interpreted[name]))
    }
    assert not differing, f"compiled {native.status().compiled}: {differing}"


@pytest.mark.slow  # type-checks the model package (≈50 s)
def test_a_build_mypyc_refuses_leaves_no_current_record(tmp_path: Path) -> None:
    """When mypyc refuses a source, the build warns, and extensions left from before are not used."""
    for name in ("setup.py", "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    shutil.copytree(
        ROOT / "model",
        tmp_path / "model",
        ignore=shutil.ignore_patterns("*.so", "*.json", "__pycache__"),
    )
    package = tmp_path / "model"
    for name in native.COMPILED:  # extensions of an earlier build, and its record
        stem = name.rsplit(".", 1)[1]
        (package / (stem + importlib.machinery.EXTENSION_SUFFIXES[0])).write_bytes(b"")
    (package / native.DIGEST_FILE).write_text(
        json.dumps(native.source_digests(package)), encoding="utf-8"
    )
    events = package / "events.py"
    events.write_text(
        events.read_text(encoding="utf-8") + "\nNOT_AN_INT: int = 'text'\n", encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != native.PURE_ENV},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "will run interpreted" in done.stderr + done.stdout
    assert json.loads((package / native.DIGEST_FILE).read_text(encoding="utf-8")) == {}
    decision = native.decide(package, environ={})
    assert not decision.compiled
    assert "model.events" in decision.reason and "changed since it was compiled" in decision.reason
