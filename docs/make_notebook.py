"""Write docs/tutorial.ipynb from docs/tutorial.md, so that the two never drift.

    python docs/make_notebook.py            # rewrite docs/tutorial.ipynb
    python docs/make_notebook.py --check    # exit 1 when the notebook is out of date

The Markdown is the source. Text becomes Markdown cells, ```` ```python ```` blocks become
code cells, and ```` ```console ```` blocks become shell cells (``!microgov …``), except
a block that starts the browser view, which would never return and stays as text. A
first code cell moves the kernel to the project folder (Jupyter starts it in docs/).
The notebook is written without outputs and with fixed cell ids, so the same Markdown
always gives the same file. Only the standard library is used.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
SOURCE = DOCS / "tutorial.md"
TARGET = DOCS / "tutorial.ipynb"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*\n?", re.MULTILINE | re.DOTALL)
# Commands that serve until Ctrl+C: a notebook cell running them would never finish.
BLOCKING = ("microgov view",)

INTRO = (
    "*This notebook is generated from `docs/tutorial.md` by `docs/make_notebook.py`; "
    "edit the Markdown and run `python docs/make_notebook.py` to change it.*"
)
SETUP = """\
# The tutorial runs in the project folder (the one with pyproject.toml);
# Jupyter starts the kernel in docs/, next to this notebook.
import os
from pathlib import Path

if not Path("pyproject.toml").exists() and Path("../pyproject.toml").exists():
    os.chdir("..")
print("working in", Path.cwd())"""


def _lines(text: str) -> list[str]:
    """Notebook source: a list of lines, each but the last ending with a newline."""
    parts = text.splitlines(keepends=True)
    if parts:
        parts[-1] = parts[-1].rstrip("\n")
    return parts


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text)}


def _code(text: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": _lines(text),
    }


def cells_from_markdown(text: str) -> list[dict[str, Any]]:
    """The notebook cells of a Markdown page (see the module docstring)."""
    cells: list[dict[str, Any]] = []
    pending = ""  # Markdown text not yet put into a cell

    def flush() -> None:
        nonlocal pending
        if pending.strip():
            cells.append(_markdown(pending.strip("\n")))
        pending = ""

    position = 0
    for match in FENCE.finditer(text):
        pending += text[position : match.start()]
        position = match.end()
        language, code = match.group(1), match.group(2).rstrip("\n")
        if language == "python":
            flush()
            cells.append(_code(code))
        elif language == "console" and not code.startswith(BLOCKING):
            flush()
            cells.append(_code("\n".join(f"!{line}" for line in code.splitlines())))
        else:
            pending += match.group(0)
    pending += text[position:]
    flush()
    return cells


def notebook_text(markdown: str) -> str:
    """The notebook file's text for a Markdown page: deterministic JSON, no outputs."""
    cells = [_markdown(INTRO), _code(SETUP), *cells_from_markdown(markdown)]
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number:03d}"
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or, with --check, compare) the notebook; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the notebook is not up to date"
    )
    args = parser.parse_args(argv)
    expected = notebook_text(SOURCE.read_text("utf-8"))
    current = TARGET.read_text("utf-8") if TARGET.exists() else None
    if args.check:
        if current != expected:
            print(f"{TARGET} is out of date: run python docs/make_notebook.py", file=sys.stderr)
            return 1
        return 0
    if current != expected:
        TARGET.write_text(expected, encoding="utf-8")
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
