"""Writing scenario files: a scenario that ``extends`` a base and sets dotted fields.

Used by ``microgov calibrate`` (the calibrated scenario) and ``microgov fit-logs`` (the
scenario estimated from a log). The file extends the base by a path relative to itself,
carries its provenance in comments, and is read back after writing, so a file that would
not validate is never left behind silently.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from experiments.atomic_files import replaced_whole
from experiments.errors import InputError
from experiments.scenario_files import Scenario, load_scenario


def toml_value(value: Any) -> str:
    """A TOML literal for a scenario value (numbers, booleans, strings, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} to a scenario file")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        pairs = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + pairs + " }"
    raise ValueError(f"cannot write {type(value).__name__} {value!r} to a scenario file")


def toml_key(key: str) -> str:
    """A bare key when TOML allows it, else a quoted one."""
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key, ensure_ascii=False)


def scenario_tables(
    values: Mapping[str, Any], comments: Mapping[str, str] | None = None
) -> list[str]:
    """Dotted fields as TOML tables (``demand.x = 1`` → ``[demand]`` / ``x = 1``)."""
    comments = comments or {}
    tables: dict[str, list[tuple[str, Any, str]]] = {}
    for dotted, value in values.items():
        parts = dotted.split(".")
        table = ".".join(toml_key(p) for p in parts[:-1])
        tables.setdefault(table, []).append((parts[-1], value, comments.get(dotted, "")))
    lines: list[str] = []
    for table in sorted(tables):
        lines += ["", f"[{table}]"]
        for key, value, comment in tables[table]:
            line = f"{toml_key(key)} = {toml_value(value)}"
            lines.append(f"{line}  # {comment}" if comment else line)
    return lines


WRITTEN_BY = "by `microgov "
"""What the first line of a scenario this module wrote holds: "written by `microgov
calibrate`", "estimated by `microgov fit-logs`" (its provenance header)."""


def check_scenario_target(path: Path, option: str) -> None:
    """Refuse, before any work, a target for a written scenario that cannot take it: a
    folder, a path inside a file, or an existing file that microgov did not write (a
    hand-written or shipped scenario would be lost; one written by ``calibrate`` or
    ``fit-logs`` is refreshed in place). ``option`` names the setting (``--scenario-out``)."""
    if path.is_dir():
        raise InputError("is a folder", file=path, field=option, allowed="a .toml file path")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(
                    f"is inside {parent}, which is a file, not a folder",
                    file=path,
                    field=option,
                    allowed="a .toml file path in a folder",
                )
            break
    if path.is_file():
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                first = handle.readline()
        except OSError as exc:
            raise InputError(f"cannot be read ({exc.strerror or exc})", file=path) from None
        if WRITTEN_BY not in first:
            raise InputError(
                "exists and was not written by microgov: it would be replaced; nothing was changed",
                file=path,
                field=option,
                allowed="a new file, or one an earlier calibrate or fit-logs wrote",
            )


def write_extending_scenario(
    path: Path,
    base: Path,
    *,
    name: str,
    description: str,
    header: Sequence[str],
    values: Mapping[str, Any],
    comments: Mapping[str, str] | None = None,
    title: str = "",
) -> Scenario:
    """Write a scenario that extends ``base`` and sets ``values``; return it as loaded back.

    Args:
        path: the file to write (its folder is created).
        base: the scenario file it extends (written relative to ``path``).
        name, description: the new scenario's own keys.
        header: comment lines (without ``#``) written first: provenance.
        values: dotted field → value.
        comments: dotted field → a comment written after its value.
        title: the reader's title (reports, views); none written when empty (a title is
            not inherited through ``extends``).

    Raises:
        InputError: the written file does not validate (from ``load_scenario``).
    """
    if not header or WRITTEN_BY not in header[0]:
        raise ValueError(f"a written scenario's header starts with {WRITTEN_BY!r}…")
    check_scenario_target(path, "the scenario file")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = base.resolve()
    try:
        extends = os.path.relpath(source, path.resolve().parent)
    except ValueError:  # another drive (Windows)
        extends = str(source)
    lines = [f"# {line}" if line else "#" for line in header]
    lines += [
        "",
        f"extends = {toml_value(extends)}",
        f"name = {toml_value(name)}",
        *([f"title = {toml_value(title)}"] if title else []),
        f"description = {toml_value(description)}",
        *scenario_tables(values, comments),
    ]
    # written beside, checked, then renamed over the old file: a scenario that others
    # extend (baseline_calibrated) is never left half-written or invalid
    with replaced_whole(path, ".toml") as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written = load_scenario(tmp)
    return dataclasses.replace(written, path=path)


__all__ = ["scenario_tables", "toml_key", "toml_value", "write_extending_scenario"]
