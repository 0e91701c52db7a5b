"""benchmarks/machine.py's record of the interpreter build (PGO, LTO, shared libpython)."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# /proc/self/maps lines of a process with and without a shared libpython
MAPS_SHARED = (
    "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1 /opt/py/bin/python3.12\n"
    "7f1c2a000000-7f1c2a100000 r-xp 00000000 08:01 2 /opt/py/lib/libpython3.12.so.1.0\n"
    "7f1c2b000000-7f1c2b100000 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
)
MAPS_STATIC = (
    "55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1 /usr/bin/python3.11\n"
    "7f1c2b000000-7f1c2b100000 r-xp 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
)

# sysconfig records as the builds write them (abridged)
PYENV = {  # pyenv's default build: shared, neither PGO nor LTO
    "CONFIG_ARGS": "'--prefix=/root/.pyenv/versions/3.12.1' '--enable-shared' "
    "'LDFLAGS=-L/root/.pyenv/versions/3.12.1/lib -Wl,-rpath,/root/.pyenv/versions/3.12.1/lib'",
    "PY_CFLAGS_NODIST": "-std=c11 -Wextra -fvisibility=hidden -I./Include/internal",
    "CFLAGS": "-fno-strict-overflow -Wsign-compare -DNDEBUG -g -O3 -Wall",
    "Py_ENABLE_SHARED": 1,
}
OPTIMIZED = {  # python.org / python-build-standalone style: configure does PGO and LTO
    "CONFIG_ARGS": "'--prefix=/install' '--enable-optimizations' '--with-lto'",
    "PY_CFLAGS_NODIST": "-std=c11 -flto -fuse-linker-plugin -ffat-lto-objects",
    "CFLAGS": "-DNDEBUG -g -O3 -Wall",
    "Py_ENABLE_SHARED": 0,
}
FLAGS_ONLY = {  # a packager passing the compiler flags by hand, not through configure
    "CONFIG_ARGS": "'--prefix=/usr' 'CFLAGS=-g -fprofile-use -fprofile-correction' "
    "'LDFLAGS=-flto=auto'",
    "CFLAGS": "-O2",
    "Py_ENABLE_SHARED": 0,
}
DEBIAN = {  # Debian's /usr/bin/python3.11: a static PGO + LTO binary with the shared record
    "CONFIG_ARGS": "'--enable-shared' '--prefix=/usr' '--with-computed-gotos' "
    "'CFLAGS=-g   -fstack-protector-strong -Wformat ' 'LDFLAGS=  -g -fwrapv -O2   '",
    "PY_CFLAGS_NODIST": "-std=c11 -Wextra -fvisibility=hidden",
    "CFLAGS": "-Wsign-compare -DNDEBUG -g -fwrapv -O2 -Wall",
    "PGO_PROF_GEN_FLAG": "-fprofile-generate",  # every build has this Makefile default
    "Py_ENABLE_SHARED": 1,
}


@pytest.fixture(scope="module")
def machine() -> Iterator[ModuleType]:
    """benchmarks/machine.py, imported as the benchmark scripts import it."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import machine as module
    finally:
        sys.path.remove(str(BENCHMARKS))
    yield module


def test_pyenv_build_is_neither_pgo_nor_lto(machine: ModuleType) -> None:
    """pyenv's default record: no PGO, no LTO, a shared libpython that is loaded."""
    build = machine.interpreter_build(PYENV, "CPython", MAPS_SHARED)
    assert (build["pgo"], build["lto"]) == (False, False), build
    assert build["shared_libpython"] is True and build["libpython_loaded"] is True, build
    assert build["build_record_matches_binary"] is True, build


def test_optimized_build_by_configure_is_pgo_and_lto(machine: ModuleType) -> None:
    """--enable-optimizations and --with-lto among the configure arguments: PGO and LTO."""
    build = machine.interpreter_build(OPTIMIZED, "CPython", MAPS_STATIC)
    assert (build["pgo"], build["lto"]) == (True, True), build
    assert build["shared_libpython"] is False and build["libpython_loaded"] is False, build


def test_optimized_build_by_compiler_flags_is_pgo_and_lto(machine: ModuleType) -> None:
    """-fprofile-use and -flto=auto inside CFLAGS=/LDFLAGS= configure arguments count too."""
    build = machine.interpreter_build(FLAGS_ONLY, "CPython", MAPS_STATIC)
    assert (build["pgo"], build["lto"]) == (True, True), build


def test_lto_alone_and_disabled_lto(machine: ModuleType) -> None:
    """--with-lto without PGO is LTO only; --with-lto=no is no LTO."""
    lto_only = dict(PYENV, CONFIG_ARGS=PYENV["CONFIG_ARGS"] + " '--with-lto=thin'")
    build = machine.interpreter_build(lto_only, "CPython", MAPS_SHARED)
    assert (build["pgo"], build["lto"]) == (False, True), build
    disabled = dict(PYENV, CONFIG_ARGS=PYENV["CONFIG_ARGS"] + " '--with-lto=no'")
    assert machine.interpreter_build(disabled, "CPython", MAPS_SHARED)["lto"] is False


def test_record_of_another_build_is_unknown_not_false(machine: ModuleType) -> None:
    """A shared record with no libpython loaded (Debian, Ubuntu) leaves PGO and LTO unknown."""
    build = machine.interpreter_build(DEBIAN, "CPython", MAPS_STATIC)
    assert build["build_record_matches_binary"] is False, build
    assert (build["pgo"], build["lto"]) == (None, None), build
    assert build["shared_libpython"] is True and build["libpython_loaded"] is False, build


def test_not_cpython_is_unknown(machine: ModuleType) -> None:
    """Another implementation's absent flags say nothing: PGO and LTO unknown."""
    build = machine.interpreter_build({"CONFIG_ARGS": None}, "PyPy", MAPS_STATIC)
    assert (build["pgo"], build["lto"]) == (None, None), build
    assert build["implementation"] == "PyPy", build


def test_libpython_mapped_reads_the_file_names(machine: ModuleType) -> None:
    """A mapped libpython*.so counts; a folder merely named libpython does not."""
    assert machine.libpython_mapped(MAPS_SHARED) is True
    assert machine.libpython_mapped(MAPS_STATIC) is False
    folder = "7f1c2b000000-7f1c2b100000 r-xp 0 08:01 3 /opt/libpython/lib/libc.so.6\n"
    assert machine.libpython_mapped(folder) is False


_FLAG = st.sampled_from(
    ["-O2", "-O3", "-g", "-Wall", "-fwrapv", "-fno-lto", "-fprofile-generate", "-DNDEBUG"]
)


@given(
    flags=st.lists(_FLAG, max_size=6),
    pgo=st.booleans(),
    lto=st.booleans(),
    by_configure=st.booleans(),
)
def test_detection_follows_the_flags(
    machine: ModuleType, flags: list[str], pgo: bool, lto: bool, by_configure: bool
) -> None:
    """Among unrelated flags, PGO and LTO are found exactly when their option or flag is there."""
    args = ["'--prefix=/x'"]
    cflags = list(flags)
    if pgo and by_configure:
        args.append("'--enable-optimizations'")
    elif pgo:
        cflags.append("-fprofile-use")
    if lto and by_configure:
        args.append("'--with-lto'")
    elif lto:
        cflags.append("-flto")
    config: dict[str, Any] = {
        "CONFIG_ARGS": " ".join(args),
        "PY_CFLAGS_NODIST": " ".join(cflags),
        "Py_ENABLE_SHARED": 0,
    }
    build = machine.interpreter_build(config, "CPython", MAPS_STATIC)
    assert (build["pgo"], build["lto"]) == (pgo, lto), (config, build)


def test_running_interpreter(machine: ModuleType) -> None:
    """On the running interpreter the record agrees with sysconfig, platform and ldd."""
    build = machine.interpreter_build()
    assert build["implementation"] == platform.python_implementation()
    assert build["version"] == platform.python_version()
    assert build["shared_libpython"] is bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
    args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    if "--enable-optimizations" in args:
        assert build["pgo"] is True, build
    if "--with-lto" in args:
        assert build["lto"] is True, build
    if build["build_record_matches_binary"]:
        assert build["pgo"] in (True, False) and build["lto"] in (True, False), build
    else:
        assert build["pgo"] in (True, None) and build["lto"] in (True, None), build
    ldd = shutil.which("ldd")
    if sys.platform.startswith("linux") and ldd is not None:
        linked = subprocess.run(
            [ldd, sys.executable], capture_output=True, text=True, check=False
        ).stdout
        if "libpython" in linked:  # linked against it, so loaded when running
            assert build["libpython_loaded"] is True, (linked, build)


def test_machine_script_prints_the_build() -> None:
    """python benchmarks/machine.py prints this interpreter's build as JSON."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "machine.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    build = json.loads(done.stdout)
    assert build["version"] == platform.python_version(), build
    assert build["shared_libpython"] is bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))


def test_benchmark_outputs_carry_the_build(machine: ModuleType) -> None:
    """bench_engine, bench_scenarios and bench_parallel record the build in their JSON."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_engine
        import bench_parallel
        import bench_scenarios
    finally:
        sys.path.remove(str(BENCHMARKS))
    expected = machine.interpreter_build()
    for module in (bench_engine, bench_scenarios, bench_parallel):
        assert module.machine()["interpreter"] == expected, module.__name__
