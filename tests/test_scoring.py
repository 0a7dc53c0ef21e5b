"""The term-at-a-time scorer against whoosh's own BM25F, on the chapter and on a multi-segment synthetic index."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import query as Q

from evidence_cli import analysis, index, store
from evidence_cli.engines import whoosh_backend
from evidence_cli.paths import BUNDLED_CLAIMS
from evidence_cli.query_plan import AliasMatcher, plan_query

QUERIES = ["TIM-3 ligands", "Keytruda approval", "why do patients relapse on anti-PD-1 therapy",
           "IDO biomarker melanoma", "chemokines T cell trafficking", "mismatch repair mutational load",
           "PD-L2 affinity", "ipilimumab melanoma survival"]


def _chapter():
    return store.load_claims(BUNDLED_CLAIMS)


def _synthetic(n: int) -> dict:
    """``n`` claims: the chapter's, copied into documents with their words shuffled (many exact score ties)."""
    base = _chapter()
    rng = random.Random(3)
    claims, docs = [], []
    for i in range(n):
        src, d = base["claims"][i % len(base["claims"])], i // len(base["claims"])
        if i % len(base["claims"]) == 0:
            docs.append({**base["documents"][0], "id": f"syn{d}"})
        words = src["text"].split()
        rng.shuffle(words)
        claims.append({**src, "id": f"syn{d}-{i}", "doc": f"syn{d}", "text": " ".join(words), "entities":
                       [e for e in src.get("entities") or [] if e["end"] <= len(src["text"])]})
    return {"schema_version": 1, "documents": docs, "claims": claims}


@pytest.fixture(scope="module", params=["chapter", "synthetic-6000"])
def handle(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    data = _chapter() if request.param == "chapter" else _synthetic(6000)  # > 5000: two writer processes
    claims_file = tmp / "claims.yaml"
    claims_file.write_text(store.dump_claims(data), encoding="utf-8")
    return index.open_index(claims_file, tmp / "idx", engine="whoosh")


@pytest.fixture(scope="module")
def searcher(handle):
    """whoosh's own searcher of the same index."""
    from whoosh import index as windex

    with windex.open_dir(str(handle.path)).searcher() as s:
        yield s


def _terms(handle, text):
    plan = plan_query(text, AliasMatcher(handle.aliases))
    stems = dict.fromkeys(t for w in plan.expanded_words() for t in analysis.stems(w))
    return [("text", s, 1.0) for s in stems] + [("entity", e.lower(), 1.5) for e in plan.entities]


def _ours(handle, terms, k, **kwargs):
    backend = handle.backend
    return whoosh_backend.top_scores(backend._scored_postings, terms, k, positions=backend.positions(), **kwargs)


def _whoosh_ranking(searcher, terms, k):
    hits = searcher.search(Q.Or([Q.Term(f, t, boost=b) for f, t, b in terms]), limit=None)  # scores every match
    pos = searcher.reader().column_reader("pos")
    return sorted(((h.docnum, h.score) for h in hits), key=lambda item: (-item[1], pos[item[0]]))[:k]


def test_the_index_is_read_without_whoosh(handle):
    assert isinstance(handle.backend, whoosh_backend.FilesBackend)
    assert len(handle.backend.files.segments) == (1 if handle.backend.doc_count() < 5000 else 2)


@pytest.mark.parametrize("text", QUERIES)
def test_top_scores_equal_whoosh_bm25f(handle, searcher, text):
    terms = _terms(handle, text)
    ours = _ours(handle, terms, 30)
    theirs = _whoosh_ranking(searcher, terms, 30)
    assert len(ours) == len(theirs) >= 5
    assert [d for d, _ in ours] == [d for d, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12)
    # through the backend, whose memo remembers each term's scored postings: the same scores exactly, twice
    assert [handle.backend.top_scores(terms, 30, None, 0.0, None) for _ in range(2)] == [ours] * 2
    assert handle.backend.postings.values


def test_whooshs_own_reader_scores_the_same(handle, searcher):
    """An index whoosh_files cannot read is searched term by term through whoosh's searcher: the same ranking."""
    slow = whoosh_backend.WhooshBackend(searcher._ix, searcher)
    for text in QUERIES[:4]:
        terms = _terms(handle, text)
        theirs = whoosh_backend.top_scores(slow._scored_postings, terms, 30, coord=1.0, positions=slow.positions())
        ours = _ours(handle, terms, 30, coord=1.0)
        assert [d for d, _ in ours] == [d for d, _ in theirs]
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12)


def test_every_tie_at_the_cut_is_considered_in_claims_file_order(handle):
    terms = _terms(handle, "mismatch repair mutational load")
    everything = _ours(handle, terms, 10**6)
    for k in (1, 5, 30):
        assert _ours(handle, terms, k) == everything[:k]
    pos = [handle.backend.stored(d)["pos"] for d, _ in everything]
    assert all(a[1] > b[1] or (a[1] == b[1] and pa < pb)
               for (a, pa), (b, pb) in itertools.pairwise(zip(everything, pos, strict=True)))


@pytest.mark.parametrize("filters", ["kind:biomarker", "entity:CD274", "ref:38"])
def test_filters_restrict_without_changing_scores_or_order(handle, filters):
    matcher = AliasMatcher(handle.aliases)
    everything = {h["id"]: h["score"] for h in index.run_query(handle, plan_query("PD-L1 expression", matcher),
                                                                 limit=10**5, highlight=False)}
    kept = index.run_query(handle, plan_query(f"PD-L1 expression {filters}", matcher), limit=10**5,
                           highlight=False)
    assert kept and all(h["id"] in everything for h in kept)
    assert [h["score"] for h in kept] == [everything[h["id"]] for h in kept]  # filters add nothing to a score
    assert [h["id"] for h in kept] == [i for i in everything if i in {h["id"] for h in kept}]


@pytest.mark.parametrize("text", ["PD-L1 expression melanoma", "chemokines T cell trafficking"])
def test_coordination_scales_by_the_share_of_terms_matched(handle, searcher, text):
    terms = _terms(handle, text)
    raw = dict(_whoosh_ranking(searcher, terms, 10**6))
    matched = {}
    for f, t, _ in terms:
        for d in searcher.docs_for_query(Q.Term(f, t)):
            matched[d] = matched.get(d, 0) + 1
    ours = _ours(handle, terms, 30, coord=1.0)
    expected = sorted(((d, s * matched[d] / len(terms)) for d, s in raw.items()), key=lambda item: -item[1])
    assert [s for _, s in ours] == pytest.approx([s for _, s in expected[:30]], rel=1e-12)
    assert all(s == pytest.approx(raw[d] * matched[d] / len(terms), rel=1e-12) for d, s in ours)


def test_coordination_counts_a_word_with_its_synonyms_once(handle, searcher):
    terms = [*_terms(handle, "PD-L1 expression melanoma"), ("text", "escap", 1.0), ("text", "evad", 1.0)]
    groups = [f"{f}:{t}" for f, t, _ in terms[:-2]] + ["evade", "evade"]
    fast = _ours(handle, terms, 30, coord=1.0, groups=groups)
    raw = dict(_ours(handle, terms, 10**6))
    matched = {}
    for (f, t, _), g in zip(terms, groups, strict=True):
        for d in searcher.docs_for_query(Q.Term(f, t)):
            matched.setdefault(d, set()).add(g)
    assert all(s == pytest.approx(raw[d] * len(matched[d]) / len(set(groups)), rel=1e-9) for d, s in fast)


def test_coordination_through_run_query(tmp_path):
    """On the chapter, "PD-L1 expression melanoma" ranks second a melanoma sentence about PD-L1-expressing
    tumour cells; plain BM25F ranked there a melanoma sentence that never names PD-L1."""
    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="whoosh")
    plan = plan_query("PD-L1 expression melanoma", AliasMatcher(handle.aliases))
    # (2.4-18 names PD-L1 expression in melanoma and leads since a name's words alone no longer count as the name)
    assert [h["id"] for h in index.run_query(handle, plan, limit=2, highlight=False)] == [
        "wong2017-2.4-18", "wong2017-2.4-27"]


@pytest.mark.parametrize("term", [("text", "tumor"), ("text", "resist"), ("entity", "cd274"), ("text", "nope")])
def test_a_terms_documents_equal_whooshs_own(handle, searcher, term):
    field, text = term
    assert handle.backend.docs(field, text).docs == set(searcher.docs_for_query(Q.Term(field, text)))


def _find_every_span(matcher: AliasMatcher, text: str) -> list[tuple[int, int, str]]:
    """AliasMatcher.find's rule, by trying every span of up to the longest alias's words at each word: the
    longest match first, a trailing stop or comma dropped, a leading "anti-" looked through."""
    import re

    tokens = [(m.start(), m.end()) for m in re.finditer(r"[\w+′'’.-]+", text)]
    longest = max((len(re.findall(r"[\w+′'’.-]+", a)) for a in [*matcher.exact, *matcher.folded]), default=1)
    spans, i = [], 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 0, -1):
            whole = text[tokens[i][0]:tokens[i + n - 1][1]]
            cands = dict.fromkeys([whole, whole.rstrip(".,;:?!")])
            hit = next(((c, eid) for c in cands for eid in [
                matcher.exact.get(c) or matcher.folded.get(c.casefold())
                or (matcher.exact.get(c[5:]) or matcher.folded.get(c[5:].casefold())
                    if c.casefold().startswith("anti-") else None)] if eid), None)
            if hit:
                spans.append((tokens[i][0], tokens[i][0] + len(hit[0]), hit[1]))
                i += n
                break
        else:
            i += 1
    return spans


_TABLE = [["PD-L1", "CD274", True], ["programmed death ligand 1", "CD274", False], ["T cell", "t_cell", False],
          ["anti-CTLA-4 antibody", "ctla4_ab", False], ["CTLA-4", "CTLA4", True], ["e.g. x", "odd", False],
          ["IL-2", "IL2", True], ["interleukin 2 receptor alpha", "IL2RA", False], ["ipilimumab", "ipi", False]]
_PIECES = ["PD-L1", "pd-l1", "programmed", "death", "ligand", "1", "T", "cell", "cells", "anti-", "anti-CTLA-4",
           "CTLA-4", "antibody", "e.g.", "x", "IL-2", "interleukin", "2", "receptor", "alpha", "Ipilimumab", "and",
           ".", ",", "?", "(", ")", "/"]


@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.lists(st.sampled_from(["", " ", "  ", "-"]), max_size=12))
def test_finding_names_tries_only_spans_that_begin_a_name_and_finds_what_every_span_finds(pieces, gaps):
    matcher = AliasMatcher(_TABLE)
    text = "".join(p + (gaps[i] if i < len(gaps) else " ") for i, p in enumerate(pieces))
    assert matcher.find(text)[0] == _find_every_span(matcher, text)


def test_a_name_whose_first_letter_case_folds_to_two_characters_is_found():
    matcher = AliasMatcher([["İmatinib", "imat", False]])
    assert matcher.find("İmatinib works")[0] == [(0, 8, "imat")]


def test_every_read_of_whooshs_files_equals_whooshs_own(handle, searcher):
    """whoosh_files reads whoosh's index without whoosh: each of its answers against whoosh's reader."""
    files = handle.backend.files
    reader = searcher.reader()
    assert files.doc_count_all == searcher.doc_count_all() == handle.backend.doc_count()
    assert files.positions() == list(reader.column_reader("pos"))
    for docnum in range(0, files.doc_count_all, 97):
        assert files.stored(docnum) == searcher.stored_fields(docnum)
    rng = random.Random(5)
    for field in ("text", "entity", "names", "refs", "doc", "section", "section_title", "kind", "tier", "id"):
        lexicon = [t.decode("utf-8") for t in searcher.lexicon(field)]
        assert handle.backend.terms(field) == sorted(lexicon)
        assert lexicon or field == "names"  # (the chapter's claims are all tagged with curated names)
        for text in rng.sample(lexicon, min(40, len(lexicon))):
            assert files.doc_frequency(field, text) == searcher.doc_frequency(field, text) > 0
            assert files.docs(field, text) == set(searcher.docs_for_query(Q.Term(field, text)))
            if files.scorable(field):
                assert files.idf(field, text) == searcher.idf(field, text)
        if files.scorable(field):
            assert files.avg_field_length(field) == (searcher.avg_field_length(field) or 1)
        for prefix in {t[:n] for t in lexicon[:30] for n in (1, 2)}:
            assert handle.backend.expand_prefix(field, prefix, 50) == [
                t.decode("utf-8") for t in itertools.islice(reader.expand_prefix(field, prefix), 50)]


@given(st.text(min_size=0, max_size=12))
def test_any_term_or_prefix_reads_as_whoosh_reads_it(handle, searcher, text):
    for field in ("text", "entity", "section"):
        assert handle.backend.files.doc_frequency(field, text) == searcher.doc_frequency(field, text)
        assert handle.backend.expand_prefix(field, text, 20) == [
            t.decode("utf-8") for t in itertools.islice(searcher.reader().expand_prefix(field, text), 20)]


@pytest.mark.parametrize("filters", ["section:2", "section:results ref:38", "kind:biomarker,mechanism",
                                     "entity:CD274 doc:wong2017"])
def test_filters_allow_what_whooshs_queries_allow(handle, searcher, filters):
    from evidence_cli.engines.whoosh_backend import _filters, _whoosh_query

    plan = plan_query(f"PD-L1 {filters}", AliasMatcher(handle.aliases))
    node = ("and", _filters(plan))
    assert node[1]
    assert handle.backend._filter_docs(node) == set(searcher.docs_for_query(_whoosh_query(node)))
