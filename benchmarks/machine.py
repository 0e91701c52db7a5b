"""What the machine gives right now: its load, how much of a second core it has free,
and how the interpreter running the benchmark was built.

Shared by the benchmarks that judge a parallel speed-up (``bench_pool.py``,
``bench_parallel.py``): on a shared machine other processes take cores, so a speed-up
is read against the **ceiling** measured around it — ``workers`` pure-Python burns at once
against one alone (2.0 on an idle 2-core machine, ≈ 1 when it is saturated).

Every benchmark's JSON also records :func:`interpreter_build`: the model is bound by
pure-Python work, and the same CPython version ran its kind of work ≈ 1.15× faster
(1.1–1.2×) when built with profile-guided and link-time optimisation (PGO + LTO) than without
(docs/performance.md, "Issue 11, seventh round: the interpreter's build").
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import shlex
import sys
import sysconfig
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_TOOLS = str(Path(__file__).resolve().parents[1] / "tools")
if _TOOLS not in sys.path:
    sys.path.insert(0, _TOOLS)
# whether a shared libpython is mapped (the fact itself, where ``Py_ENABLE_SHARED`` is only
# what the build record says: Debian's and Ubuntu's ``/usr/bin/python3.x`` is a static,
# PGO + LTO binary whose record is the one of their shared build); the relink's record name
from relink_python import MARKER  # noqa: E402
from relink_python import libpython_loaded as libpython_mapped  # noqa: E402

# the sysconfig variables that say how CPython was compiled and linked
BUILD_FLAG_VARIABLES = (
    "CONFIG_ARGS",
    "PY_CFLAGS_NODIST",
    "PY_LDFLAGS_NODIST",
    "CFLAGS",
    "CFLAGS_NODIST",
    "LDFLAGS_NODIST",
)


def load_average() -> float:
    """The 1-minute load average (NaN where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def burn(loops: int) -> float:
    """Pure-Python work; its wall time measures how much CPU a process gets."""
    start = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i * i
    return time.perf_counter() - start


def parallel_ceiling(workers: int = 2, loops: int = 3_000_000) -> dict[str, float]:
    """``workers`` burns at once in fresh processes against one alone (best of two).

    Returns the seconds alone and together, and ``ceiling`` = workers × alone / together:
    the speed-up the machine can give now, so ``speedup / ceiling`` is the code's own."""
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(abs, range(workers))  # started
        alone = min(pool.map(burn, [loops])[0] for _ in range(2))
        start = time.perf_counter()
        pool.map(burn, [loops] * workers, chunksize=1)
        together = time.perf_counter() - start
    return {"alone_s": alone, "together_s": together, "ceiling": workers * alone / together}


def build_words(config: Mapping[str, Any]) -> list[str]:
    """The configure arguments and compiler/linker flags of a sysconfig record, one a word.

    A configure argument that sets a variable (``'CFLAGS=-O2 -flto'``) gives its flags as
    words of their own (``-O2``, ``-flto``)."""
    words: list[str] = []
    for name in BUILD_FLAG_VARIABLES:
        value = config.get(name)
        if not isinstance(value, str):
            continue
        try:
            parts = shlex.split(value)
        except ValueError:  # unbalanced quotes: plain words will do
            parts = value.split()
        for part in parts:
            for word in part.split():
                if not word.startswith("-") and "=" in word:  # NAME=-flag
                    word = word.partition("=")[2]
                if word:
                    words.append(word)
    return words


def _built_with(words: list[str], configure_option: str, flag: str) -> bool:
    """Whether ``configure_option`` (not ``=no``) or a compiler flag starting ``flag`` is there."""
    for word in words:
        option, _, value = word.partition("=")
        if option == configure_option and value != "no":
            return True
        if word.startswith(flag):
            return True
    return False


def interpreter_build(
    config: Mapping[str, Any] | None = None,
    implementation: str | None = None,
    maps: str | None = None,
    relinked: bool | None = None,
) -> dict[str, Any]:
    """How the running interpreter was built: PGO, LTO, shared libpython, relinked.

    ``config`` (sysconfig's variables), ``implementation`` (``platform``'s name),
    ``maps`` (the text of ``/proc/self/maps``) and ``relinked`` (whether the binary is
    this build's objects relinked statically by tools/relink_python.py; by default, read
    beside the running binary when ``config`` is not given, else False)
    default to the running interpreter's; tests pass fabricated ones. ``pgo`` is true when
    ``--enable-optimizations`` is among the configure arguments or ``-fprofile-use`` among
    the flags; ``lto`` when ``--with-lto`` or ``-flto`` is. Their absence means ``False``
    only when the record describes this binary; it does not when the interpreter is not
    CPython, or when the record says shared but no ``libpython`` is loaded (Debian's and
    Ubuntu's packagers add PGO and LTO outside configure and keep those flags out of
    sysconfig): then ``None``, unknown — unless the binary is a relink of the record's
    own objects.
    """
    if relinked is None:  # the running binary's, with the running interpreter's record only
        relinked = config is None and relinked_record() is not None
    if config is None:
        config = sysconfig.get_config_vars()
    if implementation is None:
        implementation = platform.python_implementation()
    shared = bool(config.get("Py_ENABLE_SHARED"))
    loaded = libpython_mapped(maps)
    matches = implementation == "CPython" and config.get("CONFIG_ARGS") is not None
    if shared and loaded is False and not relinked:
        matches = False  # the record is another build's (see libpython_mapped)
    words = build_words(config)

    def built_with(configure_option: str, flag: str) -> bool | None:
        if _built_with(words, configure_option, flag):
            return True
        return False if matches else None

    return {
        "implementation": implementation,
        "version": platform.python_version(),
        "compiler": platform.python_compiler(),
        "executable": sys.executable,
        "pgo": built_with("--enable-optimizations", "-fprofile-use"),
        "lto": built_with("--with-lto", "-flto"),
        "shared_libpython": shared,
        "libpython_loaded": loaded,
        "relinked_static": relinked,
        "build_record_matches_binary": matches,
        "config_args": config.get("CONFIG_ARGS"),
        "engine_backend": engine_backend(),
    }


def relinked_record(executable: str | None = None) -> dict[str, Any] | None:
    """tools/relink_python.py's record of the running binary (``executable``, by default
    this process's, symbolic links followed), when it is such a relink of this version;
    else None."""
    binary = Path(os.path.realpath(executable or sys.executable))
    marker = binary.parent.parent / MARKER
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("version") != sys.version:
        return None
    return record


def engine_backend() -> str | None:
    """Which case engine the model runs in this process: ``"compiled"`` (model/_engine.pyx
    built) or ``"python"`` (docs/design.md "Issue 11, ninth round: a compiled event calendar
    and stations"); None where the model does not import."""
    try:
        from model.events import BACKEND
    except ImportError:
        return None
    return BACKEND


if __name__ == "__main__":  # python benchmarks/machine.py: this interpreter's build, as JSON
    print(json.dumps(interpreter_build(), indent=2))
