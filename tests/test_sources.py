"""Citations resolve: every fact id (F4.1, M12) and seed section (seed §二(四)) the project
cites has an entry in docs/sources.md, and no file cites a document users do not have."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "sources.md"
THIS_FILE = Path(__file__).resolve()

# Where citations live (docstrings, comments, scenario files, docs).
CITING = ("model", "experiments", "analysis", "app", "scenarios", "docs", "README.md")
# Never scanned: version control, environments, caches, run results, build output.
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    ".import_linter_cache",
    "results",
    "build",
    "dist",
    "node_modules",
}
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".sqlite", ".parquet", ".pyc", ".gz"}

# A stylized fact (F4.1) or a fact group (F3), not F401 (a lint code) nor #F1F1F1.
FACT_ID = re.compile(r"(?<![\w.#])F\d+\.\d+\b")
FACT_GROUP = re.compile(r"(?<![\w.#])F[1-9](?![\w]|\.\d)")
# A mechanism id (M12), not M/M/3, 1.15M, nor SVG path data such as "M10 20" or "M10,20".
MECHANISM_ID = re.compile(r"(?<![\w./#-])M\d{1,3}(?![\w/]|\.\d|[ ,]*-?\d)")
# A seed section: § then a section numeral and optionally a subsection in parentheses.
NUMERAL = "一二三四五六七八九十"
SEED_LABEL = re.compile(rf"§([{NUMERAL}]+(?:\([{NUMERAL}]+\))?)")
PLACEHOLDER = "§…"  # "seed §…" stands for any section where the format is explained

# Citations of documents that are not part of the project (case-sensitive: the
# project's own docs/design.md is lower case).
FORBIDDEN = {
    "../shared": re.compile(r"\.\./shared\b"),
    "/work/shared": re.compile(r"/work/shared\b"),
    "shared/<file>": re.compile(r"\bshared/(?:data|seed|BRIEF|DESIGN|STYLE|MESA_NOTES)\b"),
    "stylized_facts.md": re.compile(r"stylized_facts\.md"),
    "mechanism_evidence.md": re.compile(r"mechanism_evidence\.md"),
    "STYLE.md": re.compile(r"\bSTYLE\.md"),
    "MESA_NOTES": re.compile(r"\bMESA_NOTES\b"),
    "BRIEF": re.compile(r"\bBRIEF\b"),
    "DESIGN.md": re.compile(r"(?<![\w/])DESIGN\.md"),
}


def _normalise(text: str) -> str:
    """Full-width parentheses as ASCII, so 二（四） and 二(四) are one label."""
    return text.replace("（", "(").replace("）", ")")


def cited_fact_ids(text: str) -> set[str]:
    """Fact ids (F…, M…) and fact groups (F1 … F9) cited in a text."""
    return (
        set(FACT_ID.findall(text)) | set(FACT_GROUP.findall(text)) | set(MECHANISM_ID.findall(text))
    )


def cited_seed_labels(text: str) -> list[str]:
    """The label after every § in a text ("二(四)"); what follows a § that is no label."""
    text = _normalise(text)
    labels = []
    for start in (m.start() for m in re.finditer("§", text)):
        if text.startswith(PLACEHOLDER, start):
            continue
        match = SEED_LABEL.match(text, start)
        labels.append(match.group(1) if match else text[start + 1 : start + 9].split("\n")[0])
    return labels


def forbidden_citations(text: str) -> list[str]:
    """Names of the unavailable documents a text cites."""
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(text)]


def _text_files(*relative: str) -> list[Path]:
    """Text files under the given project paths (all of the project when none given)."""
    roots = [ROOT / r for r in relative] if relative else [ROOT]
    files: list[Path] = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in candidates:
            parts = path.relative_to(ROOT).parts
            if any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in parts):
                continue
            if path.is_file() and path.suffix not in BINARY_SUFFIXES and not _generated(path):
                files.append(path)
    return files


def _generated(path: Path) -> bool:
    """Whether ``path`` is Cython's C output of a ``.pyx`` beside it (a build product, not
    a source: its compressed string constants can spell anything, an "M0" among them)."""
    return path.suffix == ".c" and path.with_suffix(".pyx").is_file()


def _lines(path: Path) -> list[str]:
    """The lines of a text file; none for a file that is not UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        return []


def _entries() -> tuple[list[str], list[str], list[str]]:
    """Fact ids (rows), fact groups (headings) and seed labels (rows) of docs/sources.md."""
    text = _normalise(SOURCES.read_text(encoding="utf-8"))
    ids = re.findall(r"^\|\s*(F\d+\.\d+|M\d+)\s*\|", text, flags=re.MULTILINE)
    groups = re.findall(r"^###\s+(F\d+)\.\s", text, flags=re.MULTILINE)
    labels = re.findall(r"^\|\s*seed §(\S+)\s*\|", text, flags=re.MULTILINE)
    return ids, groups, labels


def test_detectors_find_citations_and_ignore_lookalikes() -> None:
    """The patterns find ids, labels and forbidden names, and skip tokens that only look alike."""
    text = "F4.1, F9.8; (F3) and M12, M3. Not F401, #F1F1F1, M/M/3, 1.15M, path M10 20 or M10,20."
    assert cited_fact_ids(text) == {"F4.1", "F9.8", "F3", "M12", "M3"}
    assert cited_seed_labels("seed §二(四), §三（三）; seed §一 and seed §…") == [
        "二(四)",
        "三(三)",
        "一",
    ]
    assert cited_seed_labels("seed §4.2") == ["4.2"]
    assert forbidden_citations("see ../shared/data, BRIEF and DESIGN.md") == [
        "../shared",
        "shared/<file>",
        "BRIEF",
        "DESIGN.md",
    ]
    assert forbidden_citations("docs/design.md; a brief note; shared routing helpers") == []


def test_sources_lists_every_id_once_and_without_gaps() -> None:
    """docs/sources.md has each id once, F groups F1-F9 and ids numbered 1..n in each group."""
    ids, groups, labels = _entries()
    duplicates = [i for i, n in Counter(ids + labels).items() if n > 1]
    assert not duplicates, f"listed more than once in docs/sources.md: {duplicates}"
    assert groups == [f"F{g}" for g in range(1, 10)], f"fact groups: {groups}"
    for group in groups:
        numbers = sorted(int(i.split(".")[1]) for i in ids if i.split(".")[0] == group)
        assert numbers == list(range(1, len(numbers) + 1)), f"{group} ids: {numbers}"
    mechanisms = sorted(int(i[1:]) for i in ids if i.startswith("M"))
    assert mechanisms == list(range(1, 30)), f"M ids: {mechanisms}"


def test_seed_sections_have_their_parent_section() -> None:
    """Every seed subsection label (二(三)) sits under a section label (二) in docs/sources.md."""
    _, _, labels = _entries()
    sections = {label for label in labels if "(" not in label}
    assert sections == {"一", "二", "三"}, f"seed sections: {sorted(sections)}"
    orphans = [label for label in labels if label.split("(")[0] not in sections]
    assert not orphans, f"seed subsections without a section: {orphans}"


@pytest.mark.parametrize("folder", CITING)
def test_cited_fact_ids_resolve(folder: str) -> None:
    """Every F…/M… id cited in the folder has an entry in docs/sources.md."""
    ids, groups, _ = _entries()
    known = set(ids) | set(groups)
    unresolved = [
        f"{path.relative_to(ROOT)}:{n}: {fact}"
        for path in _text_files(folder)
        for n, line in enumerate(_lines(path), start=1)
        for fact in sorted(cited_fact_ids(line) - known)
    ]
    assert not unresolved, "fact ids missing from docs/sources.md:\n" + "\n".join(unresolved)


@pytest.mark.parametrize("folder", CITING)
def test_cited_seed_sections_resolve(folder: str) -> None:
    """Every `seed §…` label cited in the folder is a section of the seed essay in sources.md."""
    _, _, labels = _entries()
    unresolved = [
        f"{path.relative_to(ROOT)}:{n}: §{label}"
        for path in _text_files(folder)
        for n, line in enumerate(_lines(path), start=1)
        for label in cited_seed_labels(line)
        if label not in labels
    ]
    assert not unresolved, "seed sections missing from docs/sources.md:\n" + "\n".join(unresolved)


def test_no_file_cites_documents_users_do_not_have() -> None:
    """No project file cites ../shared, BRIEF, DESIGN.md, STYLE.md, MESA_NOTES or the data files."""
    offending = [
        f"{path.relative_to(ROOT)}:{n}: {', '.join(names)}"
        for path in _text_files()
        if path.resolve() != THIS_FILE
        for n, line in enumerate(_lines(path), start=1)
        if (names := forbidden_citations(line))
    ]
    assert not offending, "citations of files not in the project:\n" + "\n".join(offending)
