"""Which event calendar and stations run: the compiled ones or the pure-Python reference.

:mod:`model.events` and :mod:`model.stations` each export one name (``EventCalendar``,
``Station``): the classes of the compiled extension ``model._engine`` (built from
model/_engine.pyx by ``pip install``) when it imports and is this checkout's own build, else
their own pure-Python classes, which are the reference and the fallback for an install
without a compiler. Both give the same results bit for bit (docs/design.md "Issue 11, ninth
round: a compiled event calendar and stations").

Two variables, each ``0`` or ``1`` (empty is unset): ``MICROGOV_PURE_PYTHON=1`` picks the
Python classes; ``MICROGOV_REQUIRE_COMPILED=1`` makes a missing, stale (built from another
``_engine.pyx``) or foreign (another checkout's) extension an error instead of a WARNING
and the Python classes (docs/design.md "The compiled engine's build: stale and foreign
builds refused").
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

logger = logging.getLogger(__name__)

PURE_PYTHON_VARIABLE = "MICROGOV_PURE_PYTHON"
REQUIRE_COMPILED_VARIABLE = "MICROGOV_REQUIRE_COMPILED"
MODEL_DIR = Path(__file__).resolve().parent
ENGINE_SOURCE = "_engine.pyx"
# the files _engine.pyx includes (the compiled lifecycle, the case log's text) and the C++ it
# is built with (model/_shortest.cpp and its header): each in the source digest, by name
ENGINE_INCLUDES = ("_*.pxi", "_*.h", "_*.cpp")
REBUILD = "run `python setup.py build_ext --inplace` in the checkout, or reinstall the package"

_warned: set[str] = set()  # each fallback is logged once per process


class EngineBuildError(RuntimeError):
    """The compiled engine is required (MICROGOV_REQUIRE_COMPILED=1) but missing or stale."""


class EngineSettingError(ValueError):
    """A switch of the environment has a value other than ``0``, ``1`` or empty; raised when
    the model is imported, so the command line reports it by name, as bad input."""


def flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """The switch ``name`` of the environment: ``"1"`` on; ``"0"``, empty or unset off."""
    value = (os.environ if environ is None else environ).get(name, "")
    if value not in ("", "0", "1"):
        raise EngineSettingError(
            f"environment variable {name}: {value!r} is not allowed; allowed: 0, 1 or empty"
        )
    return value == "1"


def _import_engine() -> ModuleType:
    return importlib.import_module("model._engine")


def refusal(engine: ModuleType, model_dir: Path = MODEL_DIR) -> str | None:
    """Why ``engine`` must not run, or None: built elsewhere than ``model_dir`` (another
    checkout's, through an editable install's finder), or from an ``_engine.pyx`` other than
    the one in ``model_dir`` (a failed rebuild left the old one)."""
    built = Path(str(getattr(engine, "__file__", "") or "")).resolve()
    if built.parent != model_dir.resolve():
        return (
            f"the compiled engine {built} is not this checkout's (model is {model_dir}): {REBUILD}"
        )
    digest = source_digest(model_dir)
    if digest is not None and getattr(engine, "SOURCE_SHA256", None) != digest:
        source = model_dir / ENGINE_SOURCE
        return f"the compiled engine {built} was built from another {source}: {REBUILD}"
    return None


def source_digest(model_dir: Path = MODEL_DIR) -> str | None:
    """The sha256 of the engine's source in ``model_dir`` — ``_engine.pyx``, then the files it
    includes and is built with (``ENGINE_INCLUDES``) by name — as setup.py builds it into the module; None
    where no ``_engine.pyx`` is there (an installed wheel: nothing to compare)."""
    source = model_dir / ENGINE_SOURCE
    if not source.exists():
        return None
    digest = hashlib.sha256(source.read_bytes())
    parts = {part for pattern in ENGINE_INCLUDES for part in model_dir.glob(pattern)}
    for part in sorted(parts, key=lambda part: part.name):
        digest.update(part.read_bytes())
    return digest.hexdigest()


def compiled_engine(
    load: Callable[[], ModuleType] = _import_engine,
    model_dir: Path = MODEL_DIR,
    environ: Mapping[str, str] | None = None,
) -> ModuleType | None:
    """The compiled extension module, or None: the Python classes asked for, or the module
    missing, stale or foreign (a WARNING, once; an :class:`EngineBuildError` when the compiled
    engine is required). ``load``, ``model_dir`` and ``environ`` are there for tests."""
    require = flag(REQUIRE_COMPILED_VARIABLE, environ)  # read, and checked, either way
    if flag(PURE_PYTHON_VARIABLE, environ):
        return None
    problem: str | None
    try:
        engine = load()
    except ImportError as error:  # not built (no compiler at install)
        problem = f"the compiled engine is not built ({error}): {REBUILD}"
    else:
        problem = refusal(engine, model_dir)
        if problem is None:
            return engine
    assert problem is not None
    if require:
        raise EngineBuildError(f"{problem} ({REQUIRE_COMPILED_VARIABLE}=1)")
    if problem not in _warned:
        _warned.add(problem)
        logger.warning("%s; the pure-Python engine runs (the same results, slower)", problem)
    return None


def agrees_with_numpy(
    answers: list[bool], check: Callable[[], bool], what: str, log: logging.Logger
) -> bool:
    """Whether a compiled copy of numpy's algorithms gives numpy's numbers here: ``check()``
    runs once per process and its answer is kept in ``answers``. A numpy release could
    change an algorithm; if the two differ, the caller runs numpy's own calls, and ``log``
    says so once, naming ``what`` (the same results, slower)."""
    if not answers:
        same = bool(check())
        if not same:
            import numpy as np  # only to name its version

            log.warning(
                "the compiled engine's %s differ from numpy %s's: numpy's own calls make "
                "them (the same results, slower)",
                what,
                np.__version__,
            )
        answers.append(same)
    return answers[0]
