"""The digest of the code behind a run's results (experiments/code_state.py): the same for
the same code wherever the tree is, different when a model file, ``experiments/runs.py`` or
a run-path package's version differs; computed without importing the model."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from experiments import code_state

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "from experiments.code_state import code_digest; print(code_digest())"


def _copy_tree(to: Path) -> Path:
    """The model package and the experiments package copied under ``to`` (sources only)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.c")
    shutil.copytree(ROOT / "model", to / "model", ignore=ignore)
    shutil.copytree(ROOT / "experiments", to / "experiments", ignore=ignore)
    return to


def _digest_in(tree: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", DIGEST], cwd=tree, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_digest_follows_the_code_not_the_place(tmp_path: Path) -> None:
    """A copy of the tree elsewhere has the same digest; editing a model module, adding one,
    or editing ``experiments/runs.py`` each gives another."""
    tree = _copy_tree(tmp_path / "a")
    here = _digest_in(tree)
    assert here == code_state.code_digest(), "the same sources in another place"
    digests = {here}
    edits = (
        lambda t: (t / "model" / "agents.py").write_text(
            (t / "model" / "agents.py").read_text(encoding="utf-8") + "\n# edited\n",
            encoding="utf-8",
        ),
        lambda t: (t / "model" / "policies" / "extra.py").write_text("X = 1\n", encoding="utf-8"),
        lambda t: (t / "experiments" / "runs.py").write_text(
            (t / "experiments" / "runs.py").read_text(encoding="utf-8") + "\n", encoding="utf-8"
        ),
    )
    for k, edit in enumerate(edits):
        changed = _copy_tree(tmp_path / f"edit{k}")
        edit(changed)
        digests.add(_digest_in(changed))
    assert len(digests) == 1 + len(edits), "every edit changes the digest"


def test_the_digest_follows_the_run_path_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another version of a package on a run's path (NumPy's generators, say) is other code."""
    before = code_state.code_digest()
    real = metadata.version
    monkeypatch.setattr(
        code_state.metadata, "version", lambda name: "0.0" if name == "numpy" else real(name)
    )
    code_state.code_digest.cache_clear()
    try:
        assert code_state.code_digest() != before
    finally:
        code_state.code_digest.cache_clear()


def test_the_digest_reads_the_model_without_importing_it() -> None:
    """Computing the digest runs no model code (a command computes it before its runs)."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; {DIGEST}; print(sorted(m for m in sys.modules "
         "if m == 'model' or m.startswith('model.')))"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    names = [name for name, _ in code_state.code_files()]
    assert "model/casework.py" in names and "model/_engine.pyx" in names
    assert names[-3:] == [
        "experiments/runs.py",
        "experiments/seeds.py",
        "experiments/case_sinks.py",
    ]
    assert names[:-3] == sorted(names[:-3])
