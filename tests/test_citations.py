from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence_cli.citations import author_year_refs, find_citations, numbered_refs


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("affinity than CD28 [2].", [2]),
        ("Hodgkin’s lymphoma [27–30].", [27, 28, 29, 30]),
        ("responded to treatment [27–28].", [27, 28]),
        ("with a hyphen [4-6] too", [4, 5, 6]),
        ("a list [31, 32] here", [31, 32]),
        ("mixed [11–12, 14] group", [11, 12, 14]),
        ("semicolons [1; 4–5]", [1, 4, 5]),
        ("two groups [18], [19], and [20]", [18, 19, 20]),
        ("unsorted [9] then [3]", [3, 9]),
        ("registered [NCT01234567] trial", []),
        ("graded [Level of evidence A1]", []),
        ("a ratio [95% CI, 0.45–0.83]", []),
        ("reversed [9–3] range", []),
        ("zero [0] is no reference", []),
        ("bracket [see below] only", []),
        ("no citation at all.", []),
    ],
)
def test_numbered_refs(text, refs):
    assert numbered_refs(text) == refs


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("the gp100 peptide vaccine (Hodi 2010).", ["Hodi 2010"]),
        ("at 12 sites (Smith et al., 2019).", ["Smith et al. 2019"]),
        ("by consensus (Jones and Lee 2020; Brown 2018).", ["Jones and Lee 2020", "Brown 2018"]),
        ("investigational and Food and Drug Administration (FDA) approved", []),
        ("tilts the balance (measureable tumor regression) were", []),
    ],
)
def test_author_year(text, names):
    assert author_year_refs(text) == names


def test_citation_spans_point_at_the_marker():
    text = "A [1] and B [2–3]."
    assert [(c.text, text[c.start : c.end], c.refs) for c in find_citations(text)] == [
        ("[1]", "[1]", (1,)),
        ("[2–3]", "[2–3]", (2, 3)),
    ]


@given(st.text())
def test_parser_never_fails_and_returns_positive_sorted_refs(text):
    refs = numbered_refs(text)
    assert refs == sorted(set(refs))
    assert all(r >= 1 for r in refs)


@given(st.lists(st.integers(min_value=1, max_value=999), min_size=1, max_size=8))
def test_lists_round_trip(numbers):
    text = "claim [" + ", ".join(map(str, numbers)) + "]."
    assert numbered_refs(text) == sorted(set(numbers))
