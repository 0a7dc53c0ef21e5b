"""Find citation markers in a sentence.

Numbered groups: ``[7]``, ``[27–30]`` and ``[27-30]`` (ranges are expanded), ``[31, 32]``, ``[1; 4–6]``.
Author–year mentions: ``(Hodi 2010)``, ``(Hodi et al. 2010)``, ``(Hodi and Day, 2010; Wolchok 2013)``.
Brackets that are not citations (``[Level of evidence A1]``, ``[NCT01234567]``, ``[95% CI, 1.2–3.4]``, a
reversed or absurdly long range) are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_RANGE = 200  # a "range" longer than this is not a citation group

_GROUP = re.compile(r"\[\s*(\d{1,4}(?:\s*[-–—]\s*\d{1,4})?(?:\s*[,;]\s*\d{1,4}(?:\s*[-–—]\s*\d{1,4})?)*)\s*\]")
_ITEM = re.compile(r"(\d{1,4})(?:\s*[-–—]\s*(\d{1,4}))?")
_NAME = r"[A-Z][A-Za-z'’\-]+(?:\s+(?:et\s+al\.?|and\s+[A-Z][A-Za-z'’\-]+|&\s+[A-Z][A-Za-z'’\-]+))?"
_AUTHOR_YEAR_ONE = re.compile(rf"({_NAME}),?\s+((?:19|20)\d\d[a-z]?)")
_AUTHOR_YEAR_GROUP = re.compile(
    rf"\(\s*({_NAME},?\s+(?:19|20)\d\d[a-z]?(?:\s*;\s*{_NAME},?\s+(?:19|20)\d\d[a-z]?)*)\s*\)"
)


@dataclass(frozen=True)
class Citation:
    """One citation group as printed: its text, its character span in the sentence and what it cites."""

    text: str
    start: int
    end: int
    refs: tuple[int, ...] = ()
    author_year: tuple[str, ...] = ()


def _expand(body: str) -> tuple[int, ...] | None:
    numbers: list[int] = []
    for m in _ITEM.finditer(body):
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        if a < 1 or b < a or b - a > MAX_RANGE:
            return None
        numbers.extend(range(a, b + 1))
    return tuple(numbers)


def expand_group(body: str) -> tuple[int, ...] | None:
    """The numbers of one citation group's body ("27–30, 32" -> 27, 28, 29, 30, 32), or None when it is no
    citation (a reversed or absurdly long range, a zero)."""
    return _expand(body) or None


def find_citations(text: str) -> list[Citation]:
    """All citation groups in ``text``, in order of appearance."""
    found: list[Citation] = []
    for m in _GROUP.finditer(text):
        refs = _expand(m.group(1))
        if refs:
            found.append(Citation(m.group(0), m.start(), m.end(), refs=refs))
    for m in _AUTHOR_YEAR_GROUP.finditer(text):
        names = tuple(" ".join(f"{a.group(1)} {a.group(2)}".split()) for a in _AUTHOR_YEAR_ONE.finditer(m.group(1)))
        found.append(Citation(m.group(0), m.start(), m.end(), author_year=names))
    found.sort(key=lambda c: c.start)
    return found


def numbered_refs(text: str) -> list[int]:
    """The reference numbers printed in ``text``: unique and sorted."""
    seen: dict[int, None] = {}
    for c in find_citations(text):
        for n in c.refs:
            seen.setdefault(n, None)
    return sorted(seen)


def author_year_refs(text: str) -> list[str]:
    """The author–year mentions in ``text``, e.g. ``["Hodi 2010"]``."""
    return [ay for c in find_citations(text) for ay in c.author_year]
