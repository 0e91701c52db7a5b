"""Errors in user input (scenario files, experiment files, results folders, command lines),
and :class:`ResourceError` for an experiment stopped by its surroundings (disk, database, cluster).

An :class:`InputError` names the file, the dotted field, the bad value and what is
allowed, with the closest valid spelling for a typo (docs/design.md "Conventions"). The
command line prints it as ``error: <message>`` and exits with status 2 — never a
traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from os import PathLike
from typing import Any, Final


class _Missing:
    """Marker for "no value given" (``None`` is a legitimate bad value)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()
# At most this many problems are listed in a message; the rest are counted ("… and N
# more problems"): a file with millions of bad keys must not print gigabytes.
MAX_SHOWN_PROBLEMS: Final = 20


class InputError(Exception):
    """Bad user input, described so that the user can fix it without reading code.

    Attributes:
        file: the file at fault (path), or None (command line, Python call).
        field: dotted path of the field at fault (``routing.kind``), or None.
        value: the bad value; :data:`MISSING` when there is none to show.
        allowed: what would be accepted, in words (``"hierarchical, integrated"``).
        suggestion: the closest valid spelling, shown as "did you mean …?".
        reason: what is wrong; defaults to "is not allowed".
        problems: several problems found at once (e.g. every error of one file);
            when given, the message lists each of them on its own line (the first
            :data:`MAX_SHOWN_PROBLEMS`, then how many more there are).
        omitted: further problems found but not described (counted in the message).

    Example: ``InputError(file="scenarios/foo.toml", field="routing.kind", value="integrate",
    allowed="hierarchical, integrated", suggestion="integrated")`` reads::

        scenarios/foo.toml: routing.kind = 'integrate' is not allowed; allowed:
        hierarchical, integrated (did you mean 'integrated'?)

    (on one line). ``InputError("free text")`` is a plain message.
    """

    def __init__(
        self,
        reason: str = "",
        *,
        file: str | PathLike[str] | None = None,
        field: str | None = None,
        value: Any = MISSING,
        allowed: str = "",
        suggestion: str | None = None,
        problems: Sequence[InputError] = (),
        omitted: int = 0,
    ) -> None:
        self.reason = reason
        self.file = None if file is None else str(file)
        self.field = field
        self.value = value
        self.allowed = allowed
        self.suggestion = suggestion
        self.problems: tuple[InputError, ...] = tuple(problems)
        self.omitted = omitted
        super().__init__(str(self))

    @classmethod
    def combine(cls, problems: Iterable[InputError], omitted: int = 0) -> InputError:
        """One error holding several problems (a single problem is returned as is).

        ``omitted`` counts further problems that were found but not described.
        """
        found = list(problems)
        if not found:
            raise ValueError("combine() needs at least one problem")
        if len(found) == 1 and not omitted:
            return found[0]
        return cls(problems=found, omitted=omitted)

    def problem_count(self) -> int:
        """How many problems there are, described or not."""
        if not self.problems:
            return 1
        return sum(p.problem_count() for p in self.problems) + self.omitted

    def all_problems(self) -> tuple[InputError, ...]:
        """The individual problems (itself when it is a single problem)."""
        if not self.problems:
            return (self,)
        return tuple(p for problem in self.problems for p in problem.all_problems())

    def __str__(self) -> str:
        if self.problems:
            problems = self.all_problems()
            count = self.problem_count()
            lines = [f"{count:,} problems:"] if count > 1 else []
            shown = problems[:MAX_SHOWN_PROBLEMS]
            lines += [("  " if count > 1 else "") + p._line() for p in shown]
            if count > len(shown):
                lines.append(f"  … and {count - len(shown):,} more problems")
            return "\n".join(lines)
        return self._line()

    def _line(self) -> str:
        text = f"{self.file}: " if self.file else ""
        if self.field:
            text += self.field
            if self.value is not MISSING:
                text += f" = {_show(self.value)}"
        reason = self.reason or "is not allowed"
        if self.field:
            # "field = value is not allowed" reads as one phrase; other reasons follow a colon.
            text += " " + reason if reason == "is not allowed" else f": {reason}"
        else:
            text += reason
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor: make the error picklable for process pools.
        return (_rebuild, (self.__dict__.copy(),))


def _rebuild(state: dict[str, Any]) -> InputError:
    error = InputError.__new__(InputError)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``word`` (difflib ratio ≥ ``cutoff``), or None."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return matches[0] if matches else None


class ResourceError(Exception):
    """An experiment cannot go on for a reason outside its input: the disk is full, the
    results database is damaged or cannot be written, the cluster has no worker left.

    The message says what happened and what to do; runs stored before are kept. The
    command line prints ``error: <message>`` and exits with status 1 — never a traceback.
    """


class DamagedDatabase(ResourceError):
    """A :class:`ResourceError` for a results database SQLite finds damaged (its integrity
    check, or a read that fails on a malformed page): the one resource problem a reader
    of the folder (``microgov report``) checks for before it reads (app/report_commands.py).
    """


class EmptyDatabase(InputError):
    """A results folder whose database file is empty (0 bytes): the experiment stopped
    before it stored anything. ``status`` and ``report`` say it in the same words."""
