"""Which model modules run compiled (mypyc), and the interpreted fallback (issue 11).

The case engine's modules (:data:`COMPILED`) are compiled to C extensions by mypyc when
the package is installed (``setup.py``; ``make compile`` rebuilds them in place). The
compiled and the interpreted modules are the same source and give the same results bit
for bit (``tests/test_native.py`` checks it); compiled they run the per-case path about
a quarter faster (docs/performance.md).

A compiled module is used only while it matches its source: the build records the
sha256 of each source beside the extensions (``native_sources.json``), and on import of
:mod:`model` a finder checks it. If a source changed since the build, if the record is
missing, or if ``MICROGOV_PURE_PYTHON=1`` is set, every module of :data:`COMPILED` is
loaded from its ``.py`` file instead (all or none: compiled modules reach each other's
classes natively, so a mix is not safe), and :func:`status` says why.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

COMPILED = ("model.events", "model.calendar", "model.stations", "model.casework")
"""The modules mypyc compiles: the event loop, working time, queues and the case path."""

DIGEST_FILE = "native_sources.json"
PURE_ENV = "MICROGOV_PURE_PYTHON"
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NativeStatus:
    """Whether the compiled modules are in use, and if not, why."""

    compiled: bool
    reason: str


def source_digests(package_dir: Path = _PACKAGE_DIR) -> dict[str, str]:
    """The sha256 of each compiled module's source, by module name."""
    digests = {}
    for name in COMPILED:
        path = package_dir / (name.split(".", 1)[1].replace(".", "/") + ".py")
        digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _has_extension(package_dir: Path, name: str) -> bool:
    stem = name.rsplit(".", 1)[1]
    return any(
        (package_dir / (stem + suffix)).is_file()
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def decide(package_dir: Path = _PACKAGE_DIR, environ: dict[str, str] | None = None) -> NativeStatus:
    """Whether the compiled modules in ``package_dir`` may be used, and why not if not."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(PURE_ENV, "") not in ("", "0"):
        return NativeStatus(False, f"{PURE_ENV}={environ[PURE_ENV]} asks for the interpreted model")
    missing = [name for name in COMPILED if not _has_extension(package_dir, name)]
    if missing:
        return NativeStatus(False, f"not compiled ({', '.join(missing)} has no extension)")
    record = package_dir / DIGEST_FILE
    try:
        built = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return NativeStatus(False, f"{record} is missing or unreadable: the build is unknown")
    changed = [
        name for name, digest in source_digests(package_dir).items() if built.get(name) != digest
    ]
    if changed:
        return NativeStatus(
            False,
            f"{', '.join(changed)} changed since it was compiled (rebuild: make compile)",
        )
    return NativeStatus(True, "compiled by mypyc, matching the sources")


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Loads the modules of :data:`COMPILED` from their ``.py`` files."""

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED:
            return None
        source = self.package_dir / (fullname.split(".", 1)[1] + ".py")
        return importlib.util.spec_from_file_location(fullname, source)


_status: NativeStatus | None = None


def status() -> NativeStatus:
    """Whether this process runs the compiled modules, and why not if not.

    Decided once per process, on import of :mod:`model`: when compiled modules exist but
    may not be used, a finder loads every module of :data:`COMPILED` from its source.
    """
    global _status
    if _status is None:
        _status = decide()
        if not _status.compiled and _has_extension(_PACKAGE_DIR, COMPILED[0]):
            sys.meta_path.insert(0, _SourceFinder(_PACKAGE_DIR))
    return _status
