"""Build the compiled engine (model/_engine.pyx and what it includes); the metadata is pyproject's.

The extension (C from the .pyx, and model/_shortest.cpp: C++17's std::to_chars for the case
log's floats) is optional: without Cython or a C or C++ compiler (or with ``MICROGOV_PURE_PYTHON=1``
at run time) model.events and model.stations use their pure-Python classes, the reference;
with ``MICROGOV_REQUIRE_COMPILED=1`` a failed build is an error. It is compiled without fast
math and without floating-point contraction (no fused multiply-add) so that every float
operation is the reference's, bit for bit; the sha256 of the .pyx and of the files it
includes and is built with (model/_*.pxi, _*.h, _*.cpp) is built into the module
(``SOURCE_SHA256``) so that a stale or foreign build is refused at run time (docs/design.md
"Issue 11, ninth round: a compiled event calendar and stations" and "The compiled engine's
build: stale and foreign builds refused").
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

logger = logging.getLogger("setup")

SOURCE = Path("model") / "_engine.pyx"
# what _engine.pyx includes and is built with, as model.engine_backend.ENGINE_INCLUDES
INCLUDES = ("_*.pxi", "_*.h", "_*.cpp")
SHORTEST = Path("model") / "_shortest.cpp"  # C++17's std::to_chars (the case log's floats)
REQUIRE_VARIABLE = "MICROGOV_REQUIRE_COMPILED"
# by compiler: no fast math, no contraction (MSVC's /fp:precise may still contract: see docs)
STRICT_FLOATS = {"msvc": ["/fp:precise"]}
STRICT_FLOATS_DEFAULT = ["-ffp-contract=off", "-fno-fast-math"]  # gcc, clang, MinGW


def required() -> bool:
    """Whether ``MICROGOV_REQUIRE_COMPILED=1``: a build that fails is then an error."""
    value = os.environ.get(REQUIRE_VARIABLE, "")
    if value not in ("", "0", "1"):
        raise SystemExit(
            f"environment variable {REQUIRE_VARIABLE}: {value!r} is not allowed; "
            "allowed: 0, 1 or empty"
        )
    return value == "1"


class OptionalBuildExt(build_ext):
    """Build the extension, but let the install go on without it (the Python classes run);
    a failed build removes its stale target, and is an error under MICROGOV_REQUIRE_COMPILED=1."""

    def build_extensions(self) -> None:
        flags = STRICT_FLOATS.get(self.compiler.compiler_type, STRICT_FLOATS_DEFAULT)
        for ext in self.extensions:
            ext.extra_compile_args = [*ext.extra_compile_args, *flags]
        super().build_extensions()

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler, no Python headers: the pure-Python backend
            self.failed(error)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:
            self.failed(error)

    def failed(self, error: Exception) -> None:
        """Remove a target an earlier build left (it would run stale), then warn or raise."""
        inplace = self.inplace  # setuptools builds into build/ with inplace off, then copies
        for self.inplace in (0, 1):
            for ext in self.extensions:
                target = Path(self.get_ext_fullpath(ext.name))
                if target.exists():
                    target.unlink()
                    logger.warning("removed the stale %s", target)
        self.inplace = inplace
        if required():
            raise error
        logger.warning("model._engine not built (%s): the pure-Python engine will run", error)


def source_digest() -> str:
    """The sha256 of the engine's source: _engine.pyx, then the files it includes and is built
    with (``INCLUDES``: model/_*.pxi, _*.h, _*.cpp) by name — as
    model.engine_backend.source_digest checks it (not imported here: importing the model
    package needs its dependencies, which a build may not have yet)."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    parts = {part for pattern in INCLUDES for part in SOURCE.parent.glob(pattern)}
    for part in sorted(parts, key=lambda part: part.name):
        digest.update(part.read_bytes())
    return digest.hexdigest()


def extensions() -> list[Extension]:
    """The engine's extension from its Cython source, its sha256 built in; none without Cython."""
    try:
        from Cython.Build import cythonize
    except ImportError:
        if required():
            raise
        logger.warning("Cython is not installed: model._engine not built, the Python engine runs")
        return []
    digest = source_digest()
    engine = Extension(
        "model._engine",
        [str(SOURCE), str(SHORTEST)],
        define_macros=[("MICROGOV_ENGINE_SHA256", digest)],  # bare hex, made a string in C
    )
    try:
        return cythonize([engine], compiler_directives={"language_level": "3"})
    except Exception as error:  # the .pyx does not compile: an earlier build would run stale
        for stale in [*SOURCE.parent.glob("_engine*.so"), *SOURCE.parent.glob("_engine*.pyd")]:
            stale.unlink()
            logger.warning("removed the stale %s", stale)
        if required():
            raise
        logger.warning("model._engine not built (%s): the pure-Python engine will run", error)
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
