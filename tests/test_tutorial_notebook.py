"""docs/tutorial.ipynb is docs/tutorial.md as a notebook, and it runs in a Jupyter kernel."""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
BUDGET_CPU_S = 60.0  # kernel and the shell commands it starts, in CPU seconds


def make_notebook() -> ModuleType:
    """docs/make_notebook.py, imported as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "make_notebook", ROOT / "docs" / "make_notebook.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_in_sync_with_markdown() -> None:
    """The committed notebook is what make_notebook.py writes from the committed Markdown."""
    module = make_notebook()
    expected = module.notebook_text((ROOT / "docs" / "tutorial.md").read_text("utf-8"))
    assert NOTEBOOK.read_text("utf-8") == expected, (
        "docs/tutorial.ipynb is out of date: run python docs/make_notebook.py"
    )
    assert module.main(["--check"]) == 0, "--check agrees"


def test_every_block_becomes_a_cell() -> None:
    """Python blocks are code cells in order; console lines are shell cells, except the server."""
    module = make_notebook()
    markdown = (
        "Intro\n\n```python\nx = 1\n```\n\nText\n\n"
        "```console\nmicrogov run a\nmicrogov run b\n```\n\n"
        "```console\nmicrogov view\n```\nEnd\n"
    )
    cells = module.cells_from_markdown(markdown)
    kinds = [(c["cell_type"], "".join(c["source"])) for c in cells]
    assert kinds[:4] == [
        ("markdown", "Intro"),
        ("code", "x = 1"),
        ("markdown", "Text"),
        ("code", "!microgov run a\n!microgov run b"),
    ], kinds
    assert kinds[4][0] == "markdown" and "microgov view" in kinds[4][1], "the server stays text"
    assert kinds[4][1].endswith("End"), "text after the last block kept"


def test_notebook_is_valid_nbformat() -> None:
    """The notebook validates against the nbformat 4 schema."""
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.reads(NOTEBOOK.read_text("utf-8"), as_version=4)
    nbformat.validate(notebook)
    assert all(not c.get("outputs") for c in notebook.cells), "committed without outputs"


def test_notebook_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs in a real Jupyter kernel (nbclient), within the CPU budget."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # As in an activated environment: `!microgov` finds this environment's command.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The kernel starts in docs/, as Jupyter does for a notebook there; the setup cell moves
    # it to the project folder.
    notebook = nbformat.reads(NOTEBOOK.read_text("utf-8"), as_version=4)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "docs")}},
    )
    client.execute()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"cells raised: {json.dumps(errors)[:2000]}"
    text = "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    assert "working in" in text and str(ROOT) in text, "the setup cell moved to the project folder"
    assert "classroom" in text, "the shell cells ran microgov"
    assert "did you mean 'routing__kind'" in text, "the keyword section ran"
    assert cpu > 1.0, f"the kernel's CPU time was measured ({cpu:.2f} s)"
    assert cpu < BUDGET_CPU_S, f"the notebook took {cpu:.1f} s of CPU (budget {BUDGET_CPU_S:.0f} s)"
