"""The one form of an error message on the command line: ``error: <message>`` on
standard error.

Its own light module (the standard library only), so that ``app.cli`` can print an error
without importing ``app.console`` — which imports the model, Mesa and pandas, and which
cannot be imported at all when an engine switch is wrong (docs/design.md "Warm pool
workers").
"""

from __future__ import annotations

import sys
from typing import TextIO


def print_error(message: object, stream: TextIO | None = None) -> None:
    """Print ``error: <message>`` on standard error (or ``stream``)."""
    print(f"error: {message}", file=stream if stream is not None else sys.stderr)
