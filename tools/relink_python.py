"""The interpreter the project's environment is made from: this one, or this one relinked
statically (docs/design.md "The environment's interpreter relinked statically").

pyenv's default build of CPython (``--enable-shared``) runs every Python function out of a
shared ``libpython``, compiled as position-independent code: each look-up of the thread
state goes through ``__tls_get_addr`` and each call between the library's functions through
its procedure linkage table. The same build leaves ``python.o`` and ``libpythonX.Y.a`` (the
same objects, archived) in its ``config`` folder; linking them into an executable, as the
build's own static ``python`` would be linked, lets the linker turn those indirections into
direct accesses. Same objects, same results bit for bit; on the model's work, ≈ 4 % fewer
instructions and ≈ 5–8 % less time (docs/performance.md, "Issue 11, fourteenth round").

Usage (the Makefile does this before ``-m venv``)::

    python tools/relink_python.py DEST     # prints the interpreter to make the venv from

It prints ``DEST/bin/pythonX.Y`` after linking it there and checking that it runs and is
this interpreter's version, or this interpreter's own path when it cannot be relinked (not
CPython, not a shared build, no archive or ``python.o``, no C compiler, a failed link or
check, or ``MICROGOV_RELINK=0``), saying why on standard error. ``DEST/relinked.json``
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


def why_not(config: Mapping[str, Any], implementation: str, environ: Mapping[str, str]) -> str:
    """Why this interpreter is used as it is (empty when it can be relinked)."""
    if environ.get("MICROGOV_RELINK", "1") == "0":
        return "MICROGOV_RELINK=0"
    if implementation != "CPython":
        return f"{implementation} is not CPython"
    if not config.get("Py_ENABLE_SHARED"):
        return "not a shared-libpython build (its executable is linked statically already)"
    if link_command(config, Path("python")) is None:
        return f"no python.o and {config.get('LIBRARY')} in {config.get('LIBPL')}"
    return ""


def relink(dest: Path, config: Mapping[str, Any] | None = None) -> Path:
    """Link this interpreter statically into ``dest/bin`` and check it; return the path of
    the interpreter to use (the relinked one, or this one with the reason on stderr).
    ``config``: sysconfig's variables (tests pass altered ones)."""
    (dest / MARKER).unlink(missing_ok=True)  # a record says what the last relink made
    if config is None:
        config = sysconfig.get_config_vars()
    reason = why_not(config, platform.python_implementation(), os.environ)
    if reason:
        return _as_is(reason)
    version = str(config["VERSION"])
    binary = dest / "bin" / f"python{version}"
    binary.parent.mkdir(parents=True, exist_ok=True)
    command = link_command(config, binary)
    assert command is not None  # why_not checked it
    try:
        linked = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        return _as_is(f"the link did not run: {error}")
    if linked.returncode != 0:
        return _as_is(f"the link failed: {linked.stderr.strip()[-500:]}")
    check = "import sys, array, math, _heapq; print(sys.version)"
    try:
        ran = subprocess.run([str(binary), "-c", check], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return _as_is(f"the relinked interpreter did not run: {error}")
    if ran.returncode != 0 or ran.stdout.strip() != sys.version:
        return _as_is(f"the relinked interpreter is not this one: {ran.stdout or ran.stderr}")
    record = {"version": sys.version, "from": sys.executable, "command": command}
    (dest / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return binary


def _as_is(reason: str) -> Path:
    print(f"relink_python: using {sys.executable} as it is: {reason}", file=sys.stderr)
    return Path(sys.executable)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/relink_python.py DEST", file=sys.stderr)
        return 2
    print(relink(Path(argv[0]).resolve()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
