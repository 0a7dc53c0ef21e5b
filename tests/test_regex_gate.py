"""regex_gate: the strings a pattern's every match holds, and the gate that skips texts without them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import tagging
from evidence_cli.regex_gate import Gated, fold, required


@pytest.mark.parametrize(("pattern", "flags", "needles"), [
    (r"\bmight\b", re.I, {"might"}),
    (r"\bbind|Signal|express", re.I, {"bind", "signal", "express"}),
    (r"a?bc", 0, {"bc"}),
    (r"\b(?:is|are) (?:currently )?unknown\b|\bunknown\b", re.I, {"unknown"}),
    (r"(?:x|yz)+q", 0, None),  # q alone is required: a one-letter needle is kept
    (r"[A-Z]\d", 0, None),
    (r"colou?r", 0, {"colo"}),
    (r"(?:ab)*cd", 0, {"cd"}),
    (r"\bphase III\b|\brandomized phase III\b", re.I, {"phase iii"}),  # the longer one holds the shorter
    (r"(?=x)", 0, None),
    (r"x|", 0, None),  # the empty alternative needs nothing
])
def test_required_strings_of_a_pattern(pattern, flags, needles):
    found = required(re.compile(pattern, flags))
    if pattern == r"(?:x|yz)+q":
        assert found == frozenset({"q"})
        return
    assert found == (frozenset(needles) if needles is not None else None)


def test_fold_maps_every_character_ignorecase_equates_with_an_ascii_letter_to_that_letter():
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for char in re.compile(letter, re.I).findall(everything):
            assert fold(char) == letter, (letter, char)
    for char in re.compile("[0-9 %,.;:-]").findall(everything):
        assert fold(char) == char


GATES = [(name, value) for name, value in vars(tagging).items() if isinstance(value, Gated)]
GATES += [(f"{name}[{i}]", g) for name in ("_HEDGE_RE", "_TIER_RE", "_NUMBER_RE")
          for i, (g, _) in enumerate(getattr(tagging, name))]
WORDS = sorted({n for _, g in GATES for n in (g.needles or ())} | {"phase III", "CI 0.4-0.9", "12%", "PD-L1"})
MATCHES = st.one_of([st.from_regex(g.rx, fullmatch=True) for _, g in GATES])  # texts each pattern matches
VARIANTS = {"s": "sSſ", "i": "iIıİ", "k": "kKK", "a": "aA", "e": "eE", "o": "oO", "t": "tT", "h": "hH", "r": "rR"}


@st.composite
def texts(draw) -> str:
    """Texts made of the gates' own strings, their letters in either case or as one of the four non-ASCII
    letters IGNORECASE equates with ASCII ones, with other words, digits and punctuation between."""
    parts = []
    for word in draw(st.lists(st.sampled_from(WORDS) | MATCHES, max_size=5)):
        parts.append("".join(draw(st.sampled_from(VARIANTS.get(c, c))) for c in word))
        parts.append(draw(st.text(alphabet="ab Z19%.-,;\u2013\u00b5", max_size=4)))
    return "".join(parts)


@settings(max_examples=400, deadline=None)
@given(texts())
def test_a_gated_pattern_finds_what_the_pattern_finds(text):
    folded = fold(text)
    for name, gate in GATES:
        expected = [m.span() for m in gate.rx.finditer(text)]
        assert [m.span() for m in gate.finditer(text, folded)] == expected, name
        assert [m.span() for m in gate.finditer(text)] == expected, name
        assert (gate.search(text, folded) is None) == (not expected), name


def test_the_tagging_patterns_are_gated():
    """The gates are worth having: most of tagging's patterns have strings to look for first."""
    assert sum(g.needles is not None for _, g in GATES) >= 0.75 * len(GATES)
    assert next(g for g, _ in tagging._HEDGE_RE if g.rx.pattern == r"\bmight\b").needles == frozenset({"might"})
