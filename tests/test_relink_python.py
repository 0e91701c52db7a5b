"""tools/relink_python.py: the environment's interpreter relinked statically where its build
allows, this interpreter as it is otherwise — and the relinked one gives the same results."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS, BENCHMARKS = ROOT / "tools", ROOT / "benchmarks"


def _import(folder: Path, name: str) -> ModuleType:
    sys.path.insert(0, str(folder))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(folder))


@pytest.fixture(scope="module")
def tool() -> Iterator[ModuleType]:
    yield _import(TOOLS, "relink_python")


@pytest.fixture(scope="module")
def machine() -> Iterator[ModuleType]:
    yield _import(BENCHMARKS, "machine")


def _build_folder(tmp_path: Path) -> dict[str, object]:
    """A fabricated shared build whose config folder holds python.o and the archive."""
    libpl = tmp_path / "config"
    libpl.mkdir()
    (libpl / "python.o").write_bytes(b"")
    (libpl / "libpython3.12.a").write_bytes(b"")
    return {
        "Py_ENABLE_SHARED": 1,
        "LIBPL": str(libpl),
        "LIBRARY": "libpython3.12.a",
        "LINKCC": "gcc -pthread",
        "PY_CORE_LDFLAGS": "-L/opt/py/lib -Wl,-rpath,/opt/py/lib",
        "LINKFORSHARED": "-Xlinker -export-dynamic",
        "LIBS": "-ldl",
        "MODLIBS": "-lz",
        "SYSLIBS": "-lm",
        "VERSION": sysconfig.get_config_var("VERSION"),
    }


def test_link_command_is_the_builds_own_link_line(tool: ModuleType, tmp_path: Path) -> None:
    """Linker, core and export flags, the output, python.o, the archive, then the libraries."""
    config = _build_folder(tmp_path)
    libpl = Path(str(config["LIBPL"]))
    command = tool.link_command(config, tmp_path / "out" / "python3.12")
    assert command == [
        "gcc", "-pthread", "-L/opt/py/lib", "-Wl,-rpath,/opt/py/lib", "-Xlinker",
        "-export-dynamic", "-o", str(tmp_path / "out" / "python3.12"),
        str(libpl / "python.o"), str(libpl / "libpython3.12.a"), "-ldl", "-lz", "-lm",
    ]  # fmt: skip


@pytest.mark.parametrize("missing", ["python.o", "libpython3.12.a"])
def test_no_objects_no_link(tool: ModuleType, tmp_path: Path, missing: str) -> None:
    """A build that left either file out cannot be relinked, and says what is missing."""
    config = _build_folder(tmp_path)
    (Path(str(config["LIBPL"])) / missing).unlink()
    assert tool.link_command(config, tmp_path / "python") is None
    assert "no python.o and libpython3.12.a" in tool.why_not(config, "CPython", {}, True)


def test_reasons_to_keep_the_interpreter(tool: ModuleType, tmp_path: Path) -> None:
    """Switched off, another implementation, a static build (by its record, or by no
    libpython loaded whatever the record says: Debian's), no way to tell, a record naming
    no linker: kept, each with its reason; a shared CPython with its objects: relinked."""
    config = _build_folder(tmp_path)
    assert tool.why_not(config, "CPython", {}, True) == ""
    assert tool.why_not(config, "CPython", {"MICROGOV_RELINK": "0"}, True) == "MICROGOV_RELINK=0"
    assert "not CPython" in tool.why_not(config, "PyPy", {}, True)
    static = dict(config, Py_ENABLE_SHARED=0)
    assert "linked statically already" in tool.why_not(static, "CPython", {}, True)
    assert "linked statically already" in tool.why_not(config, "CPython", {}, False)
    assert "cannot tell" in tool.why_not(config, "CPython", {}, None)
    assert tool.why_not(dict(config, LINKCC=""), "CPython", {}, True) == (
        "its build record names no LINKCC"
    )
    assert tool.link_command(dict(config, LIBPL=None), tmp_path / "python") is None


def test_switched_off_by_the_environment(
    tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``MICROGOV_RELINK=0`` in the environment keeps this interpreter, says so and removes
    the record of an earlier relink."""
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / tool.MARKER).write_text("{}", encoding="utf-8")
    config = _build_folder(tmp_path)
    assert tool.relink(dest, config, {"MICROGOV_RELINK": "0"}, True) == Path(sys.executable)
    assert "as it is: MICROGOV_RELINK=0" in capsys.readouterr().err
    assert not (dest / tool.MARKER).exists()


def test_main_prints_the_interpreter_or_the_usage(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """``main`` prints the interpreter to use on its own line (here, switched off: this
    one), and the usage for a wrong call; a build record it cannot read falls back too."""
    monkeypatch.setenv("MICROGOV_RELINK", "0")
    assert tool.main([str(tmp_path / "dest")]) == 0
    assert capsys.readouterr().out == f"{sys.executable}\n"
    assert tool.main([]) == 2 and tool.main([""]) == 2
    assert "usage" in capsys.readouterr().err

    def unreadable(dest: Path) -> Path:
        raise ValueError("No closing quotation")

    monkeypatch.setattr(tool, "relink", unreadable)
    assert tool.main([str(tmp_path / "dest")]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{sys.executable}\n" and "No closing quotation" in captured.err


def _fake_linker(tmp_path: Path, program: str) -> str:
    """A 'linker' that writes ``program`` (a shell script) as its ``-o`` output."""
    script = tmp_path / "fake-ld"
    script.write_text(
        "#!/bin/sh\n"
        'while [ "$#" -gt 0 ]; do if [ "$1" = "-o" ]; then out="$2"; fi; shift; done\n'
        f"printf '%s\\n' '#!/bin/sh' '{program}' > \"$out\"\n"
        'chmod +x "$out"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return str(script)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell scripts")
def test_a_failed_link_or_check_keeps_this_interpreter(
    tool: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link that fails, or a binary that is not this interpreter, leaves this interpreter
    in use, says why and leaves no record (a record of an earlier relink is removed)."""
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / tool.MARKER).write_text("{}", encoding="utf-8")  # an earlier relink's
    failing = dict(_build_folder(tmp_path), LINKCC="false")
    assert tool.relink(dest, failing, {}, True) == Path(sys.executable)
    assert "the link failed" in capsys.readouterr().err
    assert not (dest / tool.MARKER).exists()
    other = dict(failing, LINKCC=_fake_linker(tmp_path, "echo another Python"))
    assert tool.relink(dest, other, {}, True) == Path(sys.executable)
    assert "is not this one statically linked: another Python" in capsys.readouterr().err
    assert not (dest / tool.MARKER).exists()


# the interpreter as installed (the venv's may be a relink of it already)
_SHARED = (
    Path(str(sysconfig.get_config_var("BINDIR"))) / f"python{sysconfig.get_config_var('VERSION')}"
)
_RELINKABLE = (
    platform.python_implementation() == "CPython"
    and bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
    and sys.platform.startswith("linux")
    and _SHARED.is_file()
)


@pytest.mark.skipif(not _RELINKABLE, reason="the installed interpreter is not a shared CPython")
def test_the_relinked_interpreter_gives_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed shared interpreter relinked by the tool, as the Makefile calls it: it
    records what it is, maps no libpython, and a seeded classroom run's digest (events,
    trust, cases, every case column) is the one the shared interpreter gives."""
    monkeypatch.delenv("MICROGOV_RELINK", raising=False)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    env.pop("MICROGOV_RELINK", None)
    done = subprocess.run(
        [str(_SHARED), str(TOOLS / "relink_python.py"), str(tmp_path / "interpreter")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    binary = Path(done.stdout.strip())
    if binary == _SHARED:
        pytest.skip(f"the installed interpreter was not relinked: {done.stderr}")
    assert binary == tmp_path / "interpreter" / "bin" / _SHARED.name, (binary, done.stderr)
    record = json.loads((tmp_path / "interpreter" / "relinked.json").read_text(encoding="utf-8"))
    assert record["version"] == sys.version and record["from"] == str(_SHARED), record
    digest = [str(BENCHMARKS / "district_digest.py"), "--scenario", "classroom", "60"]
    lines, maps = [], []
    for python in (_SHARED, binary):
        done = subprocess.run(
            [str(python), *digest], capture_output=True, text=True, env=env, cwd=ROOT,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines.append(re.sub(r" build \S+ run \S+", "", done.stdout.strip()))  # not the times
        probe = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); import machine; "
            "print(json.dumps(machine.interpreter_build()))"
        )
        done = subprocess.run(
            [str(python), "-c", probe, str(BENCHMARKS)],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        maps.append(json.loads(done.stdout))
    assert "digest" in lines[0] and lines[0] == lines[1], lines
    shared, relinked = maps
    assert shared["libpython_loaded"] is True and shared["relinked_static"] is False, shared
    assert relinked["relinked_static"] is True and relinked["libpython_loaded"] is False
    assert relinked["build_record_matches_binary"] is True, relinked


def test_machine_reads_the_relink_record(machine: ModuleType, tmp_path: Path) -> None:
    """A binary with a record of this version beside its bin/ is a relink (through a
    symbolic link too); a record of another version, or none, is not."""
    binary = tmp_path / "interpreter" / "bin" / "python3.12"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"")
    link = tmp_path / "venv-python"
    link.symlink_to(binary)
    assert machine.relinked_record(str(link)) is None
    marker = tmp_path / "interpreter" / "relinked.json"
    marker.write_text(json.dumps({"version": sys.version}), encoding="utf-8")
    assert machine.relinked_record(str(link)) == {"version": sys.version}
    marker.write_text(json.dumps({"version": "2.7.18"}), encoding="utf-8")
    assert machine.relinked_record(str(link)) is None
    marker.write_text("not json", encoding="utf-8")
    assert machine.relinked_record(str(link)) is None
    marker.write_text(json.dumps([sys.version]), encoding="utf-8")
    assert machine.relinked_record(str(link)) is None


def test_a_relink_makes_the_shared_record_this_binarys(machine: ModuleType) -> None:
    """pyenv's shared record with no libpython mapped: another build's record (PGO and LTO
    unknown), unless the binary is that record's objects relinked (then known: neither)."""
    record = {
        "CONFIG_ARGS": "'--prefix=/root/.pyenv/versions/3.12.1' '--enable-shared'",
        "CFLAGS": "-DNDEBUG -g -O3 -Wall",
        "Py_ENABLE_SHARED": 1,
    }
    static_maps = "55d0c0a00000-55d0c0a01000 r--p 0 08:01 1 /venv/interpreter/bin/python3.12\n"
    other = machine.interpreter_build(record, "CPython", static_maps, relinked=False)
    assert [other[k] for k in ("pgo", "lto", "build_record_matches_binary")] == [None, None, False]
    relinked = machine.interpreter_build(record, "CPython", static_maps, relinked=True)
    assert [relinked[k] for k in ("pgo", "lto", "relinked_static")] == [False, False, True]
    assert machine.interpreter_build(record, "CPython", static_maps)["relinked_static"] is False
