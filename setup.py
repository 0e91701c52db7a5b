"""Build the compiled event calendar and stations (model/_engine.pyx); the metadata is pyproject's.

The extension is optional: without a compiler (or with ``MICROGOV_PURE_PYTHON=1`` at run time)
model.events and model.stations use their pure-Python classes, the reference. It is compiled
without ``-ffast-math`` and without floating-point contraction (no fused multiply-add) so that
every float operation is the reference's, bit for bit (docs/design.md "Issue 11, ninth round: a
compiled event calendar and stations").
"""

from __future__ import annotations

import logging
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

logger = logging.getLogger("setup")

STRICT_FLOATS = [] if sys.platform == "win32" else ["-ffp-contract=off", "-fno-fast-math"]


class OptionalBuildExt(build_ext):
    """Build the extension, but let the install go on without it (the Python classes run)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler, no Python headers: the pure-Python backend
            logger.warning("model._engine not built (%s): the pure-Python engine will run", error)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:
            logger.warning("model._engine not built (%s): the pure-Python engine will run", error)


def extensions() -> list[Extension]:
    """The engine's extension, from its Cython source."""
    from Cython.Build import cythonize

    engine = Extension("model._engine", ["model/_engine.pyx"], extra_compile_args=STRICT_FLOATS)
    return cythonize([engine], compiler_directives={"language_level": "3"})


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
