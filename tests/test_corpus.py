"""Cleaning, sectioning and sentence splitting on the real chapter and on a small document of other styles."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evidence_cli.citations import find_citations
from evidence_cli.corpus import DocMeta, read_document, segment
from tests.conftest import CHAPTER, STYLES

RAW = CHAPTER.read_text(encoding="utf-8")


def test_every_reference_number_1_to_55_is_cited(chapter_claims):
    cited = {r for c in chapter_claims["claims"] for r in c["refs"]}
    assert cited == set(range(1, 56))


def test_every_citation_group_is_on_the_claim_of_its_own_sentence(chapter_claims):
    claims = chapter_claims["claims"]
    groups = [c for c in find_citations(RAW) if c.refs]
    assert len(groups) == 57  # grep -o "\[[0-9–, -]*\]" corpus/*.txt | wc -l
    for group in groups:
        owners = [c for c in claims if c["span"][0] <= group.start < c["span"][1]]
        assert len(owners) == 1, group
        assert set(group.refs) <= set(owners[0]["refs"]), (group, owners[0]["id"])


@pytest.mark.parametrize("junk", ["http", "doi.org", "Licensee", "©", "Creative Commons",
                                  "Immunotherapy - Myths", "Immune Checkpoint Blockade and Adaptive", "  "])
def test_no_headers_footers_or_licence_in_claims(chapter_claims, junk):
    assert not [c["id"] for c in chapter_claims["claims"] if junk in c["text"]]


def test_no_word_split_by_a_line_end_hyphen(chapter_claims):
    texts = " ".join(c["text"] for c in chapter_claims["claims"])
    splits = re.findall(r"([a-z]+)-[ \t]*\n\s*([a-z]+)", RAW)
    assert len(splits) > 50
    for a, b in splits:
        if (a, b) == ("mobil", "ity"):  # "high-mobil-\nity": the compound keeps its first hyphen
            assert "high-mobility" in texts
            continue
        assert f"{a}-{b}" not in texts
        assert f"{a}{b}" in texts


KEPT = ["(PD-L1)", "MHC-related", "T cell-mediated", "gene-modified", "two- to sixfold",
        "programmed death-1/programmed death-ligand 1", "IFN-γ-secreting", "Hodgkin’s lymphoma"]


@pytest.mark.parametrize("kept", KEPT)
def test_real_hyphens_and_slashes_are_kept(chapter_claims, kept):
    assert any(kept in c["text"] for c in chapter_claims["claims"])


def test_figure_caption_is_taken_out_of_the_sentence_it_interrupts(by_id):
    assert by_id["wong2017-2.6-08"]["text"] == (
        "Next-generation immunotherapeutic regimens might combine PD-1 blockers such as nivolumab/pembrolizumab "
        "with PD-L1 blockers like atezolizumab, to counteract PD-L1 upregulation induced by T cell-mediated "
        "inflammation in tumor tissue."
    )
    fig = by_id["wong2017-fig1"]
    assert fig["kind"] == "figure"
    assert fig["figure"] == 1
    assert fig["text"].startswith("Figure 1. PD-1/PD-L1 blockade promotes T cell-mediated inflammation in tumors.")
    assert fig["text"].endswith("can impair T cell activity and result in clinical resistance.")


def test_sentence_across_a_page_break_is_joined(by_id):
    assert by_id["wong2017-2.6-01"]["text"] == (
        "The mechanism of inherent and acquired/adaptive resistance to CTLA-4 and PD-1/PD-L1 immune checkpoint "
        "blockers is not fully understood and could possibly vary between individual patients and different "
        "tumor types."
    )


def test_sections_and_titles(chapter_claims):
    sections = list(dict.fromkeys((c["section"], c["section_title"]) for c in chapter_claims["claims"]))
    assert sections == [
        ("abstract", "Abstract"), ("keywords", "Keywords"), ("1", "Introduction"), ("2.1", "CTLA-4"),
        ("2.2", "PD-1"), ("2.3", "PD-L1"), ("2.4", "Predictive biomarkers for CTLA-4 and PD-1/PD-L1 blockers"),
        ("2.5", "Adaptive immune resistance"),
        ("2.6", "Strategies to counteract adaptive resistance to immune checkpoint blockade"),
    ]


@pytest.mark.parametrize(
    ("cid", "text", "refs"),
    [
        ("wong2017-2.1-08", "CTLA-4 binds to CD80 and CD86 with ~10 times higher affinity than CD28 [2].", [2]),
        ("wong2017-2.1-22", "In a randomized phase III clinical trial, melanoma patients receiving ipilimumab had a "
         "median overall survival of 10.4 months versus 6.4 months in those receiving only the gp100 peptide vaccine "
         "(Hodi 2010).", []),
        ("wong2017-2.1-26", "These trial results led to US FDA approval of ipilimumab for melanoma in 2011.", []),
        ("wong2017-2.2-22", "In large phase I clinical trials, nivolumab and pembrolizumab each demonstrated durable "
         "clinical response rates with acceptable safety profiles in patients with advanced melanoma, non-small cell "
         "lung cancer, renal cell carcinoma or Hodgkin’s lymphoma [27–30].", [27, 28, 29, 30]),
        ("wong2017-2.2-32", "Slight variances in the protein structure among different PD-1 blockers could "
         "potentially confer differences in binding affinity for the PD-1 receptor and also differences in "
         "half-life (i.e. persistence in the body).", []),
        ("wong2017-2.4-11", "Lastly, assays measuring PD-L1 in tumors have yet to establish a clear threshold of "
         "expression that defines what is considered “PD-L1-positive.”", []),
        ("wong2017-2.4-32", "In early clinical trials of nivolumab, it was found that only 1 in 33 colorectal cancer "
         "patients responded to treatment [27–28].", [27, 28]),
        ("wong2017-2.5-09", "TIM-3 is bound by multiple ligands, including galectin-9, CEACAM-1, and high-mobility "
         "group box 1 (HMGB-1).", []),
        ("wong2017-2.6-25", "These include modification to produce immunostimulatory cytokines (e.g. IFN-α, IFN-β, "
         "IL-12) and T cell trafficking molecules such as LIGHT [50–53].", [50, 51, 52, 53]),
    ],
)
def test_exact_claims(by_id, cid, text, refs):
    assert by_id[cid]["text"] == text
    assert by_id[cid]["refs"] == refs


def test_author_year_and_context_refs_are_kept_apart(by_id):
    hodi = by_id["wong2017-2.1-22"]
    assert hodi["author_year"] == ["Hodi 2010"]
    assert hodi["refs"] == []
    approval = by_id["wong2017-2.1-26"]
    assert approval["refs"] == []
    assert approval["context_refs"] == [8]
    assert approval["context_from"] == ["wong2017-2.1-25"]


def test_spans_point_at_the_raw_text(chapter_claims):
    def squash(s: str) -> str:
        return re.sub(r"[\s-]", "", s)

    for c in chapter_claims["claims"]:
        start, end = c["span"]
        raw, text = squash(RAW[start:end]), squash(c["text"])
        assert raw[:12] == text[:12], c["id"]
        assert raw[-12:] == text[-12:], c["id"]


def test_ids_are_unique_and_readable(chapter_claims):
    ids = [c["id"] for c in chapter_claims["claims"]]
    assert len(ids) == len(set(ids)) == 179
    assert all(re.fullmatch(r"wong2017-(abs|kw|\d(\.\d)?)-\d\d|wong2017-fig\d", i) for i in ids)


def _styles():
    meta, raw = read_document(STYLES)
    return [(s.section, s.text) for s in segment(raw, meta)]


def test_second_document_sentences_and_sections():
    assert _styles() == [
        ("abstract", "Checkpoint trials use many citation styles [1, 3]."),
        ("abstract", "Some groups cite ranges with a hyphen [4-6] and others with an en dash [7–9]."),
        ("keywords", "Keywords: testing, citations"),
        ("1", "Patients were enrolled at 12 sites (Smith et al., 2019)."),
        ("1", "Outcomes were graded by consensus (Jones and Lee 2020; Brown 2018)."),
        ("1", "The protocol is registered [NCT01234567] and graded [Level of evidence A1]."),
        ("1", "The hazard ratio was 0.61 [95% CI, 0.45–0.83], e.g. a 39% lower risk vs. control."),
        ("1", "A citation may follow the full stop. [10]"),
        ("1", "The next sentence cites a mixed group [11–12, 14]."),
        ("2", "Tumour responses were durable in most patients, i.e. lasting more than 6 months [2]."),
        ("2", "An ordinary bracket [see below] is not a citation, and neither is a reversed range [9–3]."),
    ]


def test_second_document_refs(tmp_path):
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims

    out = tmp_path / "claims.yaml"
    ingest([STYLES], out)
    claims = load_claims(out)["claims"]
    assert [(c["id"], c["refs"], c["author_year"]) for c in claims] == [
        ("styles-abs-01", [1, 3], []),
        ("styles-abs-02", [4, 5, 6, 7, 8, 9], []),
        ("styles-kw-01", [], []),
        ("styles-1-01", [], ["Smith et al. 2019"]),
        ("styles-1-02", [], ["Jones and Lee 2020", "Brown 2018"]),
        ("styles-1-03", [], []),
        ("styles-1-04", [], []),
        ("styles-1-05", [10], []),
        ("styles-1-06", [11, 12, 14], []),
        ("styles-2-01", [2], []),
        ("styles-2-02", [], []),
    ]


_line = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                max_size=120)


@settings(max_examples=200, deadline=None)
@given(st.lists(_line, max_size=30))
def test_cleaner_never_fails_and_spans_stay_in_bounds(lines):
    raw = "\n".join(lines)
    meta = DocMeta(id="h", path="h.txt", sha256="0" * 64)
    for s in segment(raw, meta):
        assert 0 <= s.start < s.end <= len(raw)
        assert s.text == s.text.strip()
        assert s.text


def test_a_wrapped_line_starting_with_a_year_is_not_a_heading():
    raw = ("1. Results\n\nThe drug was first approved in\n2011. Pembrolizumab was approved later [3].\n\n"
           "2. Discussion\n\nDone [4].\n")
    meta = DocMeta(id="d", path="d.txt", sha256="0" * 64)
    assert [(s.section, s.text) for s in segment(raw, meta)] == [
        ("1", "The drug was first approved in 2011."),
        ("1", "Pembrolizumab was approved later [3]."),
        ("2", "Done [4]."),
    ]


_LINE_TEXT = st.text(alphabet="ab .,;:()[]-\t\u00a0\u2009ﬁ\u00ad\u200b1", max_size=40)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_LINE_TEXT, max_size=5), begin=st.integers(0, 3), fed=st.booleans())
@example(texts=["caspase -3 and res -ponses", "in ( a ) , b ; c : d ] e .", "[ f"], begin=0, fed=False)
def test_the_fast_paths_for_plain_lines_clean_them_as_the_general_path_does(texts, begin, fed):
    """A line with no superscripts, invisible characters, ligatures or stray hyphen space is taken character for
    character, and characters without marks are appended without looking for one at each: the same pairs, text and
    offsets as the general path (forced here by a pattern that finds a special character everywhere, and by a mark
    placed after the last character)."""
    from evidence_cli import corpus
    from evidence_cli.pdf import Line

    hyph = corpus._Hyphenation("\n".join(texts))
    lines = [Line(text, 100 * k) for k, text in enumerate(texts)]
    fast = [corpus._line_pairs(line, min(begin, len(line.text)), "", hyph) for line in lines]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(corpus, "_SPECIAL", re.compile(r"(?s)."))  # every line "has" a special character
        general = [corpus._line_pairs(line, min(begin, len(line.text)), "", hyph) for line in lines]
    assert fast == general
    one, other = corpus._Stream(), corpus._Stream()
    if fed:  # the stream already holds text, ending in a space or not
        one.add_pairs([("x", 0), (" ", 1)] if begin % 2 else [("x", 0)])
        other.add_pairs([("x", 0), (" ", 1)] if begin % 2 else [("x", 0)])
    for pairs, _ in general:
        one.add_pairs(pairs)
        other.add_pairs(pairs, [(len(pairs), (99,))])  # a mark after the last character: the general path
    assert (one.chars, one.offsets) == (other.chars, other.offsets)
    assert [refs for _, refs in other.marks] == [(99,)] * len(general)


def test_a_unit_after_a_number_ends_a_sentence():
    """"30 min." and "80 V." are units, not an abbreviation that goes on or an initial: two sentences each (the
    dev-docs' methods merged them); "Dr.", "J." and "approx." still do not end one."""
    raw = ("Results\n\nCells were labelled with Cy5-IL-2 for 30 min. Compared to unlabeled DCs, they bound more "
           "[2]. The gel ran at 80 V. Note, the bands were faint. Dr. J. Smith used approx. 5 min. incubations.\n")
    meta = DocMeta(id="d", path="d.txt", sha256="0" * 64)
    assert [s.text for s in segment(raw, meta)] == [
        "Cells were labelled with Cy5-IL-2 for 30 min.", "Compared to unlabeled DCs, they bound more [2].",
        "The gel ran at 80 V.", "Note, the bands were faint.", "Dr. J. Smith used approx. 5 min. incubations."]


def test_a_full_line_before_a_blank_line_goes_on_in_a_text_wrapped_narrower():
    """A blank line after a line of the text's full width (an extractor's page break) does not end the paragraph,
    whatever width the text is wrapped at: the limit was 84 characters, the chapter's width, so in a text wrapped
    at 72 every line looked like a paragraph's last."""
    raw = ("Results\n\nImmune checkpoint blockers have changed the treatment of melanoma and\n"
           "lung cancer in the last decade, and more of the patients respond a year.\n\n"
           "Responses are durable in a minority of patients [2]. Most tumours never\n"
           "respond to them at all, and several mechanisms of resistance explain why\n"
           "this happens in so many of the patients who are treated with them now.\nOther tumours relapse later.\n\n"
           "A lack of T cells in the tumour is one such mechanism of resistance [3].\n")
    meta = DocMeta(id="d", path="d.txt", sha256="0" * 64)
    assert [s.paragraph for s in segment(raw, meta)] == [1, 1, 1, 1, 2]
