"""A cheap, exact test before a regular expression: the text that every match of it must contain.

Python's re tries a pattern such as ``\\bmight\\b``, or a case-insensitive alternation, at every position of the
text: a leading ``\\b`` or IGNORECASE turns off its fast search for a literal prefix, so each costs a few
microseconds a sentence, and tagging runs some fifty of them on every claim. ``required`` reads the parsed pattern
and finds strings (ASCII, lower-cased) one of which is in every match; ``Gated`` runs the pattern only when the
folded text (``fold``) holds one of them. ``str.__contains__`` is a fast scan in C. The answers are the
pattern's own: the test only skips texts in which the pattern cannot match.

Why folding is exact: a required string is made of ASCII characters the pattern matches literally. Without
IGNORECASE such a character matches only itself; with it, its other case and four non-ASCII letters
(re's documentation names them: İ, ı, ſ and the Kelvin sign). ``fold`` maps those four to their ASCII letters and
then lower-cases, which turns each of these characters into exactly one character, the lower-case ASCII letter;
every other character is left to ``str.lower``, which can only add characters a required string does not need.
"""

from __future__ import annotations

import re

# the non-ASCII letters that IGNORECASE equates with ASCII ones, and those letters
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    """``text`` as ``Gated`` looks for required strings in it."""
    return text.translate(_FOLD).lower()


def required(rx: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of ``rx`` contains (lower-case ASCII), or None when no useful set is
    found (or the pattern cannot be read: re's parser is not a public interface)."""
    try:
        from re import _parser

        needles = _sequence(_parser.parse(rx.pattern, rx.flags))
    except Exception:  # a parser of another Python version: no gate, the pattern always runs
        return None
    if not needles:
        return None
    # a string holding another is redundant: a text holding it holds the other
    return frozenset(n for n in needles if not any(m != n and m in n for m in needles))


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective of two requirements: the longer shortest string, then fewer strings."""
    if a is None or b is None:
        return a if b is None else b
    return max(a, b, key=lambda s: (min(len(n) for n in s), -len(s)))


def _sequence(items) -> frozenset[str] | None:
    """A requirement of a sequence: each item must match, so the best of any item's requirement and of each run
    of ASCII literals (a zero-width boundary between them keeps them adjacent)."""
    best = None
    run: list[str] = []
    for op, av in items:
        name = getattr(op, "name", str(op))
        if name == "LITERAL" and av < 128:
            run.append(chr(av).lower())
            continue
        if name == "AT":  # ^, $, \b, \B: match no characters
            continue
        if run:
            best = _better(best, frozenset(["".join(run)]))
            run = []
        best = _better(best, _item(name, av))
    if run:
        best = _better(best, frozenset(["".join(run)]))
    return best


def _item(name: str, av) -> frozenset[str] | None:
    if name == "SUBPATTERN":  # (group, added flags, removed flags, pattern)
        return _sequence(av[3])
    if name == "ATOMIC_GROUP":
        return _sequence(av)
    if name == "BRANCH":  # one of the alternatives matches: the union of theirs, if each has one
        found = [_sequence(alternative) for alternative in av[1]]
        return None if any(f is None for f in found) else frozenset().union(*found)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
        return _sequence(av[2])
    return None  # a character class, a repeat that may be empty, a look-around, a back-reference, ...


class Gated:
    """A compiled pattern that is run only on texts that can hold a match; ``folded`` is ``fold(text)``, for a
    caller that asks several patterns about one text."""

    __slots__ = ("groupindex", "needles", "rx")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.rx = re.compile(pattern, flags)
        self.groupindex = self.rx.groupindex
        self.needles = required(self.rx)

    def possible(self, text: str, folded: str | None = None) -> bool:
        if self.needles is None:
            return True
        if folded is None:
            folded = fold(text)
        return any(n in folded for n in self.needles)

    def search(self, text: str, folded: str | None = None) -> re.Match[str] | None:
        return self.rx.search(text) if self.possible(text, folded) else None

    def finditer(self, text: str, folded: str | None = None):
        return self.rx.finditer(text) if self.possible(text, folded) else iter(())

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.rx.match(text, pos)

    def __repr__(self) -> str:
        return f"Gated({self.rx.pattern!r}, needles={sorted(self.needles) if self.needles else None})"
