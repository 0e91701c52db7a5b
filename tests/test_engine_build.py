"""The compiled engine's build and choice: stale and foreign builds refused, the switches
checked, the compiled classes final and not copied (docs/design.md "The compiled engine's
build: stale and foreign builds refused")."""

from __future__ import annotations

import ast
import copy
import hashlib
import logging
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import engine_backend
from model.calendar import WorkCalendar
from model.engine_backend import (
    PURE_PYTHON_VARIABLE,
    REQUIRE_COMPILED_VARIABLE,
    EngineBuildError,
    EngineSettingError,
    compiled_engine,
    flag,
)
from model.events import PythonEventCalendar
from model.stations import PythonStation

ROOT = Path(__file__).resolve().parents[1]
ENGINE = compiled_engine()
needs_compiled = pytest.mark.skipif(ENGINE is None, reason="the compiled engine is not built")
SOURCE_TEXT = b"# an engine's source\n"


def fake_engine(directory: Path, digest: str) -> ModuleType:
    """A module object that looks like an extension built in ``directory`` from ``digest``."""
    module = ModuleType("model._engine")
    module.__file__ = str(directory / "_engine.cpython-312-x86_64-linux-gnu.so")
    module.SOURCE_SHA256 = digest  # type: ignore[attr-defined]
    return module


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A model directory with its own _engine.pyx; the warned-once memory cleared."""
    directory = tmp_path / "model"
    directory.mkdir()
    (directory / "_engine.pyx").write_bytes(SOURCE_TEXT)
    engine_backend._warned.clear()
    return directory


def own_digest() -> str:
    return hashlib.sha256(SOURCE_TEXT).hexdigest()


def test_own_build_is_used(model_dir: Path) -> None:
    """A module built in the model directory from its _engine.pyx is the engine."""
    engine = fake_engine(model_dir, own_digest())
    assert compiled_engine(lambda: engine, model_dir, {}) is engine


def test_stale_build_is_refused_with_a_warning(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A module built from another _engine.pyx gives the Python classes and one WARNING
    naming the file and the rebuild."""
    engine = fake_engine(model_dir, "0" * 64)
    with caplog.at_level(logging.WARNING, logger="model.engine_backend"):
        assert compiled_engine(lambda: engine, model_dir, {}) is None
        assert compiled_engine(lambda: engine, model_dir, {}) is None
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert str(model_dir / "_engine.pyx") in record.getMessage()
    assert "python setup.py build_ext --inplace" in record.getMessage()


def test_foreign_build_is_refused(model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A module from another checkout (the same source even) gives the Python classes."""
    other = model_dir.parent / "elsewhere" / "model"
    engine = fake_engine(other, own_digest())
    with caplog.at_level(logging.WARNING, logger="model.engine_backend"):
        assert compiled_engine(lambda: engine, model_dir, {}) is None
    assert "is not this checkout's" in caplog.text and str(other) in caplog.text


def test_build_without_its_source_beside_it_is_used(model_dir: Path) -> None:
    """Where no _engine.pyx sits beside the module there is nothing to compare: it is used."""
    (model_dir / "_engine.pyx").unlink()
    engine = fake_engine(model_dir, "")
    assert compiled_engine(lambda: engine, model_dir, {}) is engine


@pytest.mark.parametrize("digest", ["0" * 64, "", None])
def test_required_stale_build_is_an_error(model_dir: Path, digest: str | None) -> None:
    """With MICROGOV_REQUIRE_COMPILED=1 a stale build (or one without a recorded source) is
    an error naming the file and what to run."""
    engine = fake_engine(model_dir, digest or "")
    if digest is None:
        del engine.SOURCE_SHA256
    with pytest.raises(EngineBuildError, match=r"_engine\.pyx: run `python setup.py build_ext"):
        compiled_engine(lambda: engine, model_dir, {REQUIRE_COMPILED_VARIABLE: "1"})


def test_required_foreign_build_is_an_error(model_dir: Path) -> None:
    """With MICROGOV_REQUIRE_COMPILED=1 another checkout's build is an error."""
    engine = fake_engine(model_dir.parent / "other", own_digest())
    with pytest.raises(EngineBuildError, match="not this checkout's"):
        compiled_engine(lambda: engine, model_dir, {REQUIRE_COMPILED_VARIABLE: "1"})


def test_missing_build_warns_once_or_is_an_error_when_required(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No extension: the Python classes and one WARNING; an error when it is required."""

    def absent() -> ModuleType:
        raise ImportError("No module named 'model._engine'")

    with caplog.at_level(logging.INFO, logger="model.engine_backend"):
        assert compiled_engine(absent, model_dir, {REQUIRE_COMPILED_VARIABLE: "0"}) is None
        assert compiled_engine(absent, model_dir, {}) is None
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    with pytest.raises(EngineBuildError, match="not built"):
        compiled_engine(absent, model_dir, {REQUIRE_COMPILED_VARIABLE: "1"})


def test_pure_python_is_asked_for_silently(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """MICROGOV_PURE_PYTHON=1 gives the Python classes without loading or logging anything,
    even where the compiled engine is required."""

    def load() -> ModuleType:
        raise AssertionError("the extension should not be loaded")

    environ = {PURE_PYTHON_VARIABLE: "1", REQUIRE_COMPILED_VARIABLE: "1"}
    with caplog.at_level(logging.DEBUG):
        assert compiled_engine(load, model_dir, environ) is None
    assert not caplog.records


@settings(max_examples=60, deadline=None, derandomize=True)
@given(value=st.text(max_size=4))
def test_switches_take_only_0_1_or_empty(value: str) -> None:
    """A switch is on for "1", off for "0", "" or unset; anything else is a clear error
    naming the variable and the allowed values."""
    assert flag(PURE_PYTHON_VARIABLE, {}) is False
    if value in ("", "0", "1"):
        assert flag(PURE_PYTHON_VARIABLE, {PURE_PYTHON_VARIABLE: value}) is (value == "1")
    else:
        message = (
            f"environment variable {PURE_PYTHON_VARIABLE}: {value!r} is not allowed; "
            "allowed: 0, 1 or empty"
        )
        with pytest.raises(EngineSettingError) as raised:
            flag(PURE_PYTHON_VARIABLE, {PURE_PYTHON_VARIABLE: value})
        assert str(raised.value) == message


@pytest.mark.parametrize("pure", [None, "0", "1"])
def test_require_switch_is_checked_whatever_the_engine(model_dir: Path, pure: str | None) -> None:
    """A wrong MICROGOV_REQUIRE_COMPILED is refused even when the compiled engine is good,
    and even when the Python classes are asked for (they would run unnoticed otherwise)."""
    engine = fake_engine(model_dir, own_digest())
    environ = {REQUIRE_COMPILED_VARIABLE: "yes"}
    if pure is not None:
        environ[PURE_PYTHON_VARIABLE] = pure
    with pytest.raises(EngineSettingError, match=REQUIRE_COMPILED_VARIABLE):
        compiled_engine(lambda: engine, model_dir, environ)


def test_bad_switch_value_stops_the_import() -> None:
    """MICROGOV_PURE_PYTHON=yes is refused when the model imports, in words."""
    env = {**os.environ, PURE_PYTHON_VARIABLE: "yes", "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(
        [sys.executable, "-c", "import model.events"], env=env, capture_output=True, text=True
    )
    assert shown.returncode != 0
    assert "MICROGOV_PURE_PYTHON: 'yes' is not allowed; allowed: 0, 1 or empty" in shown.stderr


COMMANDS = {
    "run": ["run", str(ROOT / "scenarios" / "classroom.toml"), "--days", "2"],
    # a pool command: its fork server is not started to repeat the error as a traceback
    "compare": ["compare", str(ROOT / "experiments" / "compare_reforms.toml")],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("variable", [PURE_PYTHON_VARIABLE, REQUIRE_COMPILED_VARIABLE])
def test_bad_switch_value_is_bad_input_on_the_command_line(
    variable: str, command: str, tmp_path: Path
) -> None:
    """The command line reports a wrong switch in one line and exits 2 (bad input), with no
    traceback, even though the model (and so the console's own error printer) cannot import;
    MICROGOV_REQUIRE_COMPILED is checked even when the compiled engine is fine."""
    env = {**os.environ, variable: "yes", "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(
        [sys.executable, "-m", "app.cli", *COMMANDS[command], "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert shown.returncode == 2, shown.stderr
    assert shown.stderr.strip() == (
        f"error: environment variable {variable}: 'yes' is not allowed; allowed: 0, 1 or empty"
    )
    assert not (tmp_path / "out").exists()


def test_engine_build_error_exits_1_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A required engine that is missing (raised wherever the model is imported) is a
    failure of the installation, not bad input: exit status 1 and its message, no traceback."""
    from app import cli

    def build_parser() -> Any:
        raise EngineBuildError("the compiled engine is not built")

    monkeypatch.setattr(cli, "build_parser", build_parser)
    assert cli.main(["run", "anything.toml"]) == cli.EXIT_FAILURE
    shown = capsys.readouterr()
    assert shown.err == "error: the compiled engine is not built\n"
    assert "Traceback" not in shown.err + shown.out


@needs_compiled
def test_compiled_engine_records_its_source() -> None:
    """The built module carries the sha256 of the _engine.pyx beside it followed by the
    files it includes and is built with, by name: the case log's text, a route's fields
    read from their slots and the compiled lifecycle (model/_csv_text.pxi, _fields.pxi,
    which _lifecycle.pxi includes, _lifecycle.pxi), the C++ of its floats
    (_shortest.cpp, .h) and the trust step's loops (_trust_step.h)."""
    model = ROOT / "model"
    text = (model / "_engine.pyx").read_bytes()
    assert b'include "_lifecycle.pxi"' in text
    assert b'include "_csv_text.pxi"' in text
    assert b'include "_fields.pxi"' in (model / "_lifecycle.pxi").read_bytes()
    assert b'cdef extern from "_trust_step.h"' in text
    names = [
        "_csv_text.pxi",
        "_fields.pxi",
        "_lifecycle.pxi",
        "_shortest.cpp",
        "_shortest.h",
        "_trust_step.h",
    ]
    for name in names:
        text += (model / name).read_bytes()
    assert ENGINE is not None
    assert ENGINE.SOURCE_SHA256 == hashlib.sha256(text).hexdigest()


@pytest.mark.parametrize("names", [["_b.pxi", "_a.pxi"], ["_b.pxi", "_a.h"], ["_z.cpp", "_y.pxi"]])
def test_a_changed_include_makes_the_build_stale(
    names: list[str], model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A module built before an included file (``_*.pxi``) or a C++ part (``_*.cpp``,
    ``_*.h``) changed is refused as stale, and one built from the source and those files,
    taken in name order whatever their kind, is used; other files (the generated
    ``_engine.c``) are not part of it."""
    later, first = names
    (model_dir / later).write_bytes(b"# later")
    (model_dir / first).write_bytes(b"# first")
    (model_dir / "_engine.c").write_bytes(b"/* generated */")
    built_before = fake_engine(model_dir, own_digest())
    with caplog.at_level(logging.WARNING, logger="model.engine_backend"):
        assert compiled_engine(lambda: built_before, model_dir, {}) is None
    assert "was built from another" in caplog.text
    current = hashlib.sha256(SOURCE_TEXT + b"# first" + b"# later").hexdigest()
    engine = fake_engine(model_dir, current)
    assert compiled_engine(lambda: engine, model_dir, {}) is engine


def test_setup_and_the_backend_digest_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """setup.py's digest (built into the module) and model.engine_backend's (checked at
    import) read the same files in the same order."""
    model = tmp_path / "model"
    model.mkdir()
    for name, text in [("_engine.pyx", b"p"), ("_q.pxi", b"q"), ("_a.cpp", b"a"), ("_m.h", b"m")]:
        (model / name).write_bytes(text)
    (model / "_engine.c").write_bytes(b"c")
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    tree.body = [  # setup.py without its last statement, the call of setup()
        node for node in tree.body if not (isinstance(node, ast.Expr) and _calls_setup(node))
    ]
    namespace: dict[str, Any] = {"__name__": "setup_under_test"}
    exec(compile(tree, "setup.py", "exec"), namespace)
    monkeypatch.chdir(tmp_path)
    digest = namespace["source_digest"]()
    assert digest == engine_backend.source_digest(model)
    assert digest == hashlib.sha256(b"pamq").hexdigest()


def test_make_rebuilds_the_engine_when_any_of_its_sources_changes() -> None:
    """The Makefile's install step (which compiles the engine) lists every file the digest
    reads — ``_engine.pyx`` and each of ``ENGINE_INCLUDES``' patterns — so that ``make test``
    after an edit of any of them builds afresh instead of finding a stale engine."""
    rule = next(
        line
        for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
        if line.startswith("$(RUN_STAMP):")
    )
    prerequisites = rule.split("#")[0]
    assert "model/_engine.pyx" in prerequisites
    for pattern in engine_backend.ENGINE_INCLUDES:
        assert f"model/{pattern}" in prerequisites, (pattern, rule)


def _calls_setup(node: ast.Expr) -> bool:
    call = node.value
    return (
        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "setup"
    )


@needs_compiled
@pytest.mark.parametrize("name", ["EventCalendar", "Station"])
def test_compiled_classes_refuse_subclasses(name: str) -> None:
    """The compiled classes are final: a subclass (whose overrides the C calls would skip)
    is refused when it is created."""
    base = getattr(ENGINE, name)
    with pytest.raises(TypeError, match="not an acceptable base type"):
        type("Sub", (base,), {})


@needs_compiled
@pytest.mark.parametrize("how", [pickle.dumps, copy.copy, copy.deepcopy])
def test_compiled_objects_refuse_copies_in_words(how: Any) -> None:
    """Pickling or copying a compiled calendar or station says why and what to do."""
    assert ENGINE is not None
    events = ENGINE.EventCalendar()
    station = ENGINE.Station("s", 1.0, WorkCalendar(8.0, 5, 0, 10), events)
    for thing in (events, station):
        with pytest.raises(TypeError, match="cannot be pickled or copied; MICROGOV_PURE_PYTHON=1"):
            how(thing)


class Extended(Exception):
    """The calendar was asked to learn days up to a moment."""


@pytest.mark.parametrize("engine", ["compiled", "python"])
@pytest.mark.parametrize("now", [2.0**63, 2.0**64, 1e300])
def test_station_far_beyond_the_calendar_asks_the_calendar(engine: str, now: float) -> None:
    """A start at a moment past 2**63 days goes to the calendar's own method (no undefined
    cast to an index), on both backends alike."""
    if engine == "compiled" and ENGINE is None:
        pytest.skip("the compiled engine is not built")
    classes: Any = ENGINE if engine == "compiled" else None
    events = classes.EventCalendar() if classes else PythonEventCalendar()
    calendar = WorkCalendar(8.0, 5, 0, 10)

    def extend(days: int) -> None:
        raise Extended(days)

    calendar._extend = extend  # type: ignore[method-assign]
    station = (classes.Station if classes else PythonStation)("s", 1.0, calendar, events)
    events.now = now
    with pytest.raises(Extended):
        station.arrive(1.0, print, "t")


def build_in(directory: Path, source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python setup.py build_ext --inplace`` of ``source`` as model/_engine.pyx in a copy
    of setup.py, with a stale target left from an earlier build."""
    (directory / "model").mkdir(exist_ok=True)
    shutil.copy(ROOT / "setup.py", directory / "setup.py")
    (directory / "model" / "_engine.pyx").write_text(source)
    (directory / "model" / "_engine.cpython-312-x86_64-linux-gnu.so").write_bytes(b"stale")
    return subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=directory,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="the stale target's name is Linux's")
@pytest.mark.parametrize("required", ["0", "1"])
def test_failed_build_removes_the_stale_target(tmp_path: Path, required: str) -> None:
    """A build that fails (here: no working C compiler) removes the extension an earlier build
    left, and fails the install only under MICROGOV_REQUIRE_COMPILED=1."""
    pytest.importorskip("Cython")
    import sysconfig

    if sysconfig.get_config_var("EXT_SUFFIX") != ".cpython-312-x86_64-linux-gnu.so":
        pytest.skip("the stale target's name is CPython 3.12 on x86-64 Linux's")
    shown = build_in(
        tmp_path, "def one():\n    return 1\n", {"CC": "false", REQUIRE_COMPILED_VARIABLE: required}
    )
    assert not list((tmp_path / "model").glob("_engine*.so")), "the stale target is removed"
    assert (shown.returncode != 0) == (required == "1"), shown.stderr


@pytest.mark.parametrize("required", ["0", "1"])
def test_source_that_does_not_compile_removes_the_stale_target(
    tmp_path: Path, required: str
) -> None:
    """An _engine.pyx that Cython refuses removes the extension an earlier build left, and
    fails the install only under MICROGOV_REQUIRE_COMPILED=1."""
    pytest.importorskip("Cython")
    shown = build_in(tmp_path, "def one(:\n", {REQUIRE_COMPILED_VARIABLE: required})
    assert not list((tmp_path / "model").glob("_engine*.so")), "the stale target is removed"
    assert (shown.returncode != 0) == (required == "1"), shown.stderr
