"""Build step: compile the case engine with mypyc (model/native.py lists the modules).

Everything else about the package is in pyproject.toml. The compilation is optional:
with ``MICROGOV_PURE_PYTHON=1`` set, or when it fails (no C compiler), the package
installs interpreted and runs the same model, slower (docs/design.md "A compiled case
engine"). ``make compile`` rebuilds the extensions in place after a source changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).parent))
from model.native import COMPILED, DIGEST_FILE, PURE_ENV

WANTED = os.environ.get(PURE_ENV, "") in ("", "0")
SOURCES = [name.replace(".", "/") + ".py" for name in COMPILED]


class NativeDistribution(Distribution):
    """A platform wheel when the engine is compiled (its extensions are made in build_ext)."""

    def has_ext_modules(self) -> bool:
        return WANTED


class CompileEngine(build_ext):
    """mypyc's extensions, made when the build needs them (not when pip reads metadata)."""

    compiled = True  # cleared when mypyc refuses the sources

    def finalize_options(self) -> None:
        if WANTED and not self.distribution.ext_modules:
            try:
                from mypyc.build import mypycify

                # mypy's own flags first: a `type: ignore` needed under the dev tools' stubs
                # must not fail the build in pip's isolated environment, which lacks them
                self.distribution.ext_modules = mypycify(
                    ["--no-warn-unused-ignores", *SOURCES],
                    opt_level="3",
                    group_name="model._native",
                )
            except (Exception, SystemExit) as error:  # mypyc missing or refusing the sources
                self.warn(f"the case engine was not compiled ({error}); it will run interpreted")
                self.compiled = False
        super().finalize_options()

    def run(self) -> None:
        digests = {
            name: hashlib.sha256(Path(path).read_bytes()).hexdigest()
            for name, path in zip(COMPILED, SOURCES, strict=True)
        }
        try:
            super().run()
        except Exception as error:  # no compiler: the interpreted package still works
            self.warn(f"the case engine was not compiled ({error}); it will run interpreted")
            self.compiled = False
        if not self.compiled:
            # the build was tried (make does not retry it at every target); extensions left
            # from an earlier build match no source now, so model/native.py will not use them
            digests = {}
        target = Path(self.get_ext_fullpath("model._native__mypyc")).parent / DIGEST_FILE
        target.write_text(json.dumps(digests, indent=1, sort_keys=True), encoding="utf-8")


setup(distclass=NativeDistribution, cmdclass={"build_ext": CompileEngine})
