"""The interpreter the project's environment is made from: this one, or this one relinked
statically (docs/design.md "The environment's interpreter relinked statically").

pyenv's default build of CPython (``--enable-shared``) runs every Python function out of a
shared ``libpython``, compiled as position-independent code: each look-up of the thread
state goes through ``__tls_get_addr`` and each call between the library's functions through
its procedure linkage table. The same build leaves ``python.o`` and ``libpythonX.Y.a`` (the
same objects, archived) in its ``config`` folder; linking them into an executable, as the
build's own static ``python`` would be linked, lets the linker turn those indirections into
direct accesses. Same objects, same results bit for bit; on the model's work, ≈ 4 % fewer
instructions and 5–11 % less time (docs/performance.md, "Issue 11, fourteenth round").

Usage (the Makefile does this before ``-m venv``)::

    python tools/relink_python.py DEST     # prints the interpreter to make the venv from

It prints ``DEST/bin/pythonX.Y`` after linking it there and checking that it runs and is
this interpreter's version and standard library with no shared libpython mapped, or this
interpreter's own path when it cannot be relinked (not CPython, no shared libpython loaded,
no archive or ``python.o``, no C compiler, a failed link or check, or
``MICROGOV_RELINK=0``), saying why on standard error. ``DEST/relinked.json``
records what was linked (benchmarks/machine.py reports it).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MARKER = "relinked.json"  # beside bin/ in DEST: what was linked, from which files


def link_command(config: Mapping[str, Any], output: Path) -> list[str] | None:
    """The command that links ``output`` from the build's ``python.o`` and static archive
    as CPython's Makefile links its ``python`` (``LINKCC``, ``PY_CORE_LDFLAGS``,
    ``LINKFORSHARED``, ``LIBS``, ``MODLIBS``, ``SYSLIBS``); None when the build left no
    archive or ``python.o`` or names no linker."""
    libpl, library, linker = config.get("LIBPL"), config.get("LIBRARY"), config.get("LINKCC")
    if not (libpl and library and linker):
        return None
    main, archive = Path(libpl) / "python.o", Path(libpl) / str(library)
    if not (main.is_file() and archive.is_file()):
        return None

    def words(name: str) -> list[str]:
        return shlex.split(str(config.get(name) or ""))

    return [
        *shlex.split(str(linker)),
        *words("PY_CORE_LDFLAGS"),
        *words("LINKFORSHARED"),
        "-o",
        str(output),
        str(main),
        str(archive),
        *words("LIBS"),
        *words("MODLIBS"),
        *words("SYSLIBS"),
    ]


def libpython_loaded(maps: str | None = None) -> bool | None:
    """Whether a shared ``libpython`` is mapped into this process (``maps``: the text of
    ``/proc/self/maps``, read when not given; None where there is none to read). The build
    record alone does not say: Debian's and Ubuntu's static binaries carry the record of
    their shared build. benchmarks/machine.py reports it as ``libpython_loaded``."""
    if maps is None:
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
                maps = handle.read()
        except OSError:
            return None
    return any("libpython" in line.rsplit("/", 1)[-1] for line in maps.splitlines())


def why_not(
    config: Mapping[str, Any],
    implementation: str,
    environ: Mapping[str, str],
    loaded: bool | None,
) -> str:
    """Why this interpreter is used as it is (empty when it can be relinked); ``loaded``:
    whether this process runs on a shared libpython (:func:`libpython_loaded`)."""
    if environ.get("MICROGOV_RELINK", "1") == "0":
        return "MICROGOV_RELINK=0"
    if implementation != "CPython":
        return f"{implementation} is not CPython"
    if not config.get("Py_ENABLE_SHARED") or loaded is False:
        return "its executable is linked statically already (no shared libpython loaded)"
    if loaded is None:
        return "cannot tell whether a shared libpython is loaded (no /proc/self/maps)"
    missing = [name for name in ("LIBPL", "LIBRARY", "LINKCC") if not config.get(name)]
    if missing:
        return f"its build record names no {', '.join(missing)}"
    if link_command(config, Path("python")) is None:
        return f"no python.o and {config.get('LIBRARY')} in {config.get('LIBPL')}"
    return ""


# what the relinked binary prints: its version and standard library, and whether a shared
# libpython is mapped into it (it must not be; this module's test, imported from argv[1])
_CHECK = (
    "import sys, array, math, _heapq; sys.path.insert(0, sys.argv[1]); "
    "from relink_python import libpython_loaded; "
    "print(repr((sys.version, sys.base_prefix, libpython_loaded())))"
)


def relink(
    dest: Path,
    config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    loaded: bool | None = None,
) -> Path:
    """Link this interpreter statically into ``dest/bin`` and check it; return the path of
    the interpreter to use (the relinked one, or this one with the reason on stderr).
    ``config`` (sysconfig's variables), ``environ`` and ``loaded`` default to this
    process's (tests pass altered ones)."""
    (dest / MARKER).unlink(missing_ok=True)  # a record says what the last relink made
    if config is None:
        config = sysconfig.get_config_vars()
    if environ is None:
        environ = os.environ
    if loaded is None:
        loaded = libpython_loaded()
    reason = why_not(config, platform.python_implementation(), environ, loaded)
    if reason:
        return _as_is(reason)
    binary = dest / "bin" / f"python{config.get('VERSION') or sys.version_info[0]}"
    command = link_command(config, binary)
    assert command is not None  # why_not checked it
    try:
        binary.parent.mkdir(parents=True, exist_ok=True)
        linked = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return _as_is(f"the link did not run: {error}")
    if linked.returncode != 0:
        return _as_is(f"the link failed: {linked.stderr.strip()[-500:]}")
    try:
        here = str(Path(__file__).resolve().parent)
        ran = subprocess.run(
            [str(binary), "-c", _CHECK, here],
            capture_output=True, text=True, errors="replace", timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        return _as_is(f"the relinked interpreter did not run: {error}")
    expected = repr((sys.version, sys.base_prefix, False))
    if ran.returncode != 0 or ran.stdout.strip() != expected:
        said = (ran.stdout or ran.stderr).strip()[-500:]
        return _as_is(f"the relinked interpreter is not this one statically linked: {said}")
    record = {"version": sys.version, "from": sys.executable, "command": command}
    try:
        (dest / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        return _as_is(f"cannot write {dest / MARKER}: {error}")
    return binary


def _as_is(reason: str) -> Path:
    print(f"relink_python: using {sys.executable} as it is: {reason}", file=sys.stderr)
    return Path(sys.executable)


def main(argv: list[str]) -> int:
    """Print the interpreter to make the environment from; 2 on a wrong call."""
    if len(argv) != 1 or not argv[0]:
        print("usage: python tools/relink_python.py DEST", file=sys.stderr)
        return 2
    try:
        interpreter = relink(Path(argv[0]).resolve())
    except (OSError, ValueError) as error:  # e.g. a build record shlex cannot split
        interpreter = _as_is(f"{type(error).__name__}: {error}")
    print(interpreter)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
