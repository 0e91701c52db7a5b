"""docs/robustness.md runs as written, in a copy of the project folder (docs/design.md "Conventions": executed docs)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "robustness.md"
EXPERIMENT = ROOT / "experiments" / "routing_robustness.toml"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    """The fenced code blocks of the page as (language, code), in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text("utf-8"))]


def test_toml_excerpt_is_the_shipped_file() -> None:
    """The experiment file shown on the page is the one shipped (no drift)."""
    shipped = EXPERIMENT.read_text("utf-8")
    excerpts = [code for lang, code in blocks() if lang == "toml"]
    assert excerpts, "the page shows the experiment's [grid] and [roles]"
    for code in excerpts:
        assert code in shipped, f"not in {EXPERIMENT.name}:\n{code}"


def test_robustness_page_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console and Python blocks run in order, and the comparison the text draws holds."""
    (tmp_path / "experiments").mkdir()
    shutil.copy(EXPERIMENT, tmp_path / "experiments" / EXPERIMENT.name)
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "robustness_doc"}
    for number, (lang, code) in enumerate(blocks(), start=1):
        if lang == "python":
            exec(compile(code, f"{DOC.name} block {number}", "exec"), namespace)
        elif lang == "console":
            for line in code.splitlines():
                assert line.startswith("microgov "), f"console lines must be microgov: {line!r}"
                status = main(shlex.split(line)[1:])
                assert status == 0, f"{line!r} exited with {status}"
        else:
            assert lang == "toml", f"block of type {lang!r} would not be checked"
    out = capsys.readouterr().out
    assert "max_regret" in out and "integrated" in out, "the table is printed"
    reform, more_staff = namespace["reform"], namespace["more_staff"]
    assert reform["worst"] < more_staff["worst"], (
        "the text says integrated routing with today's staff has the smaller worst case"
    )
    assert reform["max_regret"] < more_staff["max_regret"], (
        "the text says integrated routing with today's staff has the smaller maximum regret"
    )
