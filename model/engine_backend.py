"""Which event calendar and stations run: the compiled ones or the pure-Python reference.

:mod:`model.events` and :mod:`model.stations` each export one name (``EventCalendar``,
``Station``): the classes of the compiled extension ``model._engine`` (built from
model/_engine.pyx by ``pip install``) when it imports, else their own pure-Python classes,
which are the reference and the fallback for an install without a compiler. Setting
``MICROGOV_PURE_PYTHON=1`` picks the Python classes. Both give the same results bit for bit
(docs/design.md "Issue 11, ninth round: a compiled event calendar and stations").
"""

from __future__ import annotations

import logging
import os
from types import ModuleType

logger = logging.getLogger(__name__)

PURE_PYTHON_VARIABLE = "MICROGOV_PURE_PYTHON"


def compiled_engine() -> ModuleType | None:
    """The compiled extension module, or None (not built, or the Python classes asked for)."""
    if os.environ.get(PURE_PYTHON_VARIABLE) == "1":
        return None
    try:
        from model import _engine
    except ImportError as error:  # not built (no compiler at install): the reference runs
        logger.info("compiled engine not available (%s): the pure-Python engine runs", error)
        return None
    return _engine


def backend_name() -> str:
    """``"compiled"`` or ``"python"``: the engine model.events and model.stations export."""
    return "python" if compiled_engine() is None else "compiled"
