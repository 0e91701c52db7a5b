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
        "MODLIBS": "",
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
        str(libpl / "python.o"), str(libpl / "libpython3.12.a"), "-ldl", "-lm",
    ]  # fmt: skip


@pytest.mark.parametrize("missing", ["python.o", "libpython3.12.a"])
def test_no_objects_no_link(tool: ModuleType, tmp_path: Path, missing: str) -> None:
    """A build that left either file out cannot be relinked, and says what is missing."""
    config = _build_folder(tmp_path)
    (Path(str(config["LIBPL"])) / missing).unlink()
    assert tool.link_command(config, tmp_path / "python") is None
    assert "no python.o and libpython3.12.a" in tool.why_not(config, "CPython", {})


def test_reasons_to_keep_the_interpreter(tool: ModuleType, tmp_path: Path) -> None:
    """Switched off, another implementation, a static build: kept, each with its reason;
    a shared CPython build with its objects: relinked (no reason)."""
    config = _build_folder(tmp_path)
    assert tool.why_not(config, "CPython", {}) == ""
    assert tool.why_not(config, "CPython", {"MICROGOV_RELINK": "0"}) == "MICROGOV_RELINK=0"
    assert "not CPython" in tool.why_not(config, "PyPy", {})
    static = dict(config, Py_ENABLE_SHARED=0)
    assert "linked statically already" in tool.why_not(static, "CPython", {})


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
    assert tool.relink(dest, failing) == Path(sys.executable)
    assert "the link failed" in capsys.readouterr().err
    assert not (dest / tool.MARKER).exists()
    other = dict(failing, LINKCC=_fake_linker(tmp_path, "echo another Python"))
    assert tool.relink(dest, other) == Path(sys.executable)
    assert "is not this one: another Python" in capsys.readouterr().err
    assert not (dest / tool.MARKER).exists()


_RELINKABLE = (
    platform.python_implementation() == "CPython"
    and bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
    and sys.platform.startswith("linux")
)


@pytest.mark.skipif(not _RELINKABLE, reason="this interpreter is not a shared CPython build")
def test_the_relinked_interpreter_gives_the_same_results(
    tool: ModuleType, machine: ModuleType, tmp_path: Path
) -> None:
    """This interpreter relinked: it runs, records what it is, maps no libpython, and a
    seeded classroom run's digest (events, trust, cases, every case column) is the one
    this interpreter gives."""
    config = sysconfig.get_config_vars()
    if tool.why_not(config, "CPython", {}):
        pytest.skip(tool.why_not(config, "CPython", {}))
    binary = tool.relink(tmp_path / "interpreter")
    assert binary == tmp_path / "interpreter" / "bin" / f"python{config['VERSION']}", binary
    record = json.loads((tmp_path / "interpreter" / tool.MARKER).read_text(encoding="utf-8"))
    assert record["version"] == sys.version and record["from"] == sys.executable
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    digest = [str(BENCHMARKS / "district_digest.py"), "--scenario", "classroom", "60"]
    lines = []
    for python in (sys.executable, str(binary)):
        done = subprocess.run(
            [python, *digest], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
        )
        assert done.returncode == 0, done.stderr
        lines.append(re.sub(r" build \S+ run \S+", "", done.stdout.strip()))  # not the times
    assert "digest" in lines[0] and lines[0] == lines[1], lines
    probe = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import machine; "
        "print(json.dumps(machine.interpreter_build()))"
    )
    done = subprocess.run(
        [str(binary), "-c", probe, str(BENCHMARKS)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    build = json.loads(done.stdout)
    assert build["relinked_static"] is True and build["libpython_loaded"] is False, build
    assert build["build_record_matches_binary"] is True, build


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
    assert (other["pgo"], other["lto"], other["build_record_matches_binary"]) == (
        None,
        None,
        False,
    ), other
    relinked = machine.interpreter_build(record, "CPython", static_maps, relinked=True)
    assert (relinked["pgo"], relinked["lto"], relinked["relinked_static"]) == (
        False,
        False,
        True,
    ), relinked
    assert machine.interpreter_build(record, "CPython", static_maps)["relinked_static"] is False
