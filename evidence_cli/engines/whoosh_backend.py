"""The whoosh engine (whoosh-reloaded, pure Python): the only module that imports whoosh.

Scores are whoosh's BM25F, computed here a posting block at a time from whoosh-reloaded 2.7's codec (its own
matcher tree costs a few microseconds per posting in Python); on any other codec everything falls back to
whoosh's own search.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

PROCS_FROM = 5000  # two writer processes from this many claims (2 cores here); one is faster below
SCORED_TERMS = 1024  # terms whose scored postings an open index remembers
SCORED_POSTINGS = 500_000  # and postings in all (about 70 bytes each)
FILTER_SETS = 256  # filter combinations whose claims an open index remembers
FILTER_DOCS = 2_000_000  # and claims in all (a set of ints: about 60 bytes each)
POSITIONS_READ = 50_000  # up to this many documents, their claims-file positions are read into a list at once


def _import_whoosh() -> None:
    """Import whoosh without three modules it imports and this project never reaches: urllib.request (for
    whoosh.compat's ``urlretrieve``, which no whoosh module calls), asyncio (through the cached_property
    package, for one ``deleted_docs_set`` property) and whoosh.lang.morph_en (its word-variation regexes, for the
    ``Variations`` query). They cost about 28 ms of a 150 ms query. Stand-ins are in sys.modules only while
    whoosh is imported, and only for modules not already imported: the stand-in ``urlretrieve`` and
    ``variations`` import the real ones if they are ever called, and ``functools.cached_property`` does what the
    package's does for a plain method."""
    import functools
    import sys
    import types

    if "whoosh.searching" in sys.modules:
        return

    def urlretrieve(*args, **kwargs):
        from urllib.request import urlretrieve as real

        return real(*args, **kwargs)

    def variations(*args, **kwargs):
        from whoosh.lang.morph_en import variations as real

        return real(*args, **kwargs)

    stand_ins = {name: types.ModuleType(name) for name in ("urllib.request", "cached_property",
                                                           "whoosh.lang.morph_en")}
    stand_ins["urllib.request"].urlretrieve = urlretrieve
    stand_ins["cached_property"].cached_property = functools.cached_property
    stand_ins["whoosh.lang.morph_en"].variations = variations
    placed = [name for name in stand_ins if name not in sys.modules]
    for name in placed:
        sys.modules[name] = stand_ins[name]
    try:
        import whoosh.compat
        import whoosh.reading
        import whoosh.searching  # noqa: F401 (it imports whoosh.query.terms, the only importer of morph_en)
    finally:
        for name in placed:
            if sys.modules.get(name) is stand_ins[name]:
                del sys.modules[name]
        lang = sys.modules.get("whoosh.lang")
        if lang is not None and getattr(lang, "morph_en", None) is stand_ins["whoosh.lang.morph_en"]:
            del lang.morph_en


_import_whoosh()


class SetDocs:
    """A set of document numbers, held in memory."""

    __slots__ = ("docs",)

    def __init__(self, docs: set[int]) -> None:
        self.docs = docs

    def __and__(self, other: SetDocs) -> SetDocs:
        return SetDocs(self.docs & other.docs)

    def __or__(self, other: SetDocs) -> SetDocs:
        return SetDocs(self.docs | other.docs)

    def __bool__(self) -> bool:
        return bool(self.docs)

    def count(self) -> int:
        return len(self.docs)

    def members(self, docnums: Iterable[int]) -> set[int]:
        """Which of ``docnums`` are in the set."""
        return {d for d in docnums if d in self.docs}


def schema():
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

    analyzer = StemmingAnalyzer(stoplist=None, minsize=1)  # = evidence_cli.analysis.stems
    return Schema(
        id=ID(stored=True, unique=True),
        pos=NUMERIC(stored=True, sortable=True),
        doc=ID,
        section=ID(stored=True),
        section_title=ID,  # lower-cased: --section takes a heading's words too ("results", not only "s8")
        kind=ID,
        tier=ID,
        refs=KEYWORD(commas=True),
        entity=KEYWORD(commas=True, lowercase=True, scorable=True),
        names=KEYWORD(commas=True, lowercase=True),  # uncurated names, for filters only (see index.build)
        text=TEXT(analyzer=analyzer, phrase=False),  # positions are not used: no phrase queries
        # stems found in the neighbouring sentences of the paragraph but not in the claim itself, for re-ranking
        near=STORED,
        near_entities=STORED,  # entity ids of those sentences, to tell whether a passage covers a query
        data=STORED,
    )


def write(target: Path, records: Iterable[dict], count: int, progress: Callable[[int, int], None] | None) -> None:
    """Index ``records`` (see index.build) into the existing, empty folder ``target``."""
    from whoosh import index as windex

    ix = windex.create_in(str(target), schema())
    writer = ix.writer(limitmb=256, procs=2, multisegment=True) if count > PROCS_FROM else ix.writer(limitmb=256)
    try:
        for r in records:
            writer.add_document(id=r["id"], pos=r["pos"], doc=r["doc"], section=r["section"],
                                section_title=r["section_title"], kind=r["kind"], tier=r["tier"],
                                refs=",".join(r["refs"]), entity=",".join(r["entities"]), names=",".join(r["names"]),
                                text=r["text"],
                                near=r["near"], near_entities=r["near_entities"], data=r["data"])
            if progress and (r["pos"] % 500 == 0 or r["pos"] + 1 == count):
                progress(r["pos"] + 1, count)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise


def open_backend(folder: Path) -> WhooshBackend:
    from whoosh import index as windex

    ix = windex.open_dir(str(folder))
    searcher = ix.searcher()  # opens the segment files: a truncated index fails here
    searcher.doc_count()
    return WhooshBackend(ix, searcher)


class WhooshBackend:
    name = "whoosh"

    def __init__(self, ix, searcher) -> None:
        from evidence_cli.index import Memo

        self.ix = ix
        self.searcher = searcher  # BM25F, reused by every query of this process
        self.reader = searcher.reader()
        # each term's scored postings, for the next query that asks for the term (an index is never edited)
        self.postings = Memo(SCORED_TERMS, SCORED_POSTINGS)
        self._frequencies = Memo(4 * SCORED_TERMS)  # (what, field, term) -> document frequency or IDF
        self._positions: list[int] | None = None  # each document's claims-file position, read when first needed
        # the claims a filter allows (--doc, --kind, ref:...), for the next query with the same filters
        self._filters = Memo(FILTER_SETS, FILTER_DOCS)

    def positions(self):
        """Each document's claims-file position (the ``pos`` column): a list, read once, for an index of up to
        POSITIONS_READ documents (some 40 ms at 50k); whoosh's column reader beyond."""
        if self._positions is None:
            column = self.reader.column_reader("pos")
            if self.searcher.doc_count_all() > POSITIONS_READ:
                return column
            self._positions = list(column)
        return self._positions

    def doc_count(self) -> int:
        return self.searcher.doc_count()

    def doc_frequency(self, field: str, text: str) -> int:
        return self._frequencies.get(("df", field, text), lambda: self.reader.doc_frequency(field, text))

    def idf(self, field: str, text: str) -> float:
        return self._frequencies.get(("idf", field, text), lambda: self.searcher.idf(field, text))

    def docs(self, field: str, text: str) -> SetDocs:
        return SetDocs(posting_docs(self.searcher, field, text))

    def nothing(self) -> SetDocs:
        return SetDocs(set())

    def union(self, sets: Iterable[SetDocs]) -> SetDocs:
        return SetDocs(set().union(*(s.docs for s in sets)))

    def restrict(self, plan) -> SetDocs | None:
        filters = _filters(plan)
        if not filters:
            return None
        from whoosh import query as Q

        query = Q.And(filters)
        # keyed by the query itself (its repr names every term); a set the search only reads (SetDocs' operations
        # make new sets), so it can be shared
        return self._filters.get(repr(query), lambda: SetDocs(set(self.searcher.docs_for_query(query))),
                                 weigh=lambda s: len(s.docs))

    def top_scores(self, terms, k: int, allowed: SetDocs | None, coord: float,
                   doc_groups: dict | None) -> list[tuple[int, float]]:
        return top_scores(self.searcher, terms, k, None if allowed is None else allowed.docs, coord=coord,
                          doc_groups=None if doc_groups is None else {g: s.docs for g, s in doc_groups.items()},
                          memo=self.postings, positions=self.positions())

    def in_order(self, allowed: SetDocs | None, limit: int) -> list[int]:
        """The first ``limit`` documents (of ``allowed``, or all) in claims-file order."""
        import heapq

        pos = self.positions()
        docs = allowed.docs if allowed is not None else range(self.searcher.doc_count_all())
        return heapq.nsmallest(limit, docs, key=pos.__getitem__)

    def stored(self, docnum: int) -> dict:
        return self.searcher.stored_fields(docnum)

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        return [t.decode("utf-8") for t in itertools.islice(self.reader.expand_prefix(field, prefix), limit)]

    def terms(self, field: str) -> list[str]:
        return sorted(t.decode("utf-8") for t in self.searcher.lexicon(field))


def _filters(plan) -> list:
    from whoosh import query as Q

    filters = []
    if plan.refs or plan.doc_refs:  # any of the numbers: plain ones in any document, DOC:N in that one
        filters.append(Q.Or([Q.Term("refs", str(r)) for r in plan.refs]
                            + [Q.And([Q.Term("doc", d), Q.Term("refs", str(r))]) for d, r in plan.doc_refs]))
    if plan.entity_filter:
        filters.append(Q.And([Q.Or([Q.Term("entity", e.lower()), Q.Term("names", e.lower())])
                              for e in plan.entity_filter]))
    if plan.sections:
        filters.append(Q.Or([Q.Or([Q.Term("section", s), Q.Prefix("section", s.rstrip(".") + "."),
                                   Q.Term("section_title", " ".join(s.split()))]) for s in plan.sections]))
    if plan.kinds:
        filters.append(Q.Or([Q.Term("kind", k) for k in plan.kinds]))
    if plan.tiers:
        filters.append(Q.Or([Q.Term("tier", t) for t in plan.tiers]))
    if plan.docs:
        filters.append(Q.Or([Q.Term("doc", d) for d in plan.docs]))
    return filters
def posting_docs(searcher, field: str, text: str) -> set[int]:
    """The documents whose ``field`` holds ``text``: read a posting block at a time (whoosh's matcher costs a few
    microseconds per posting in Python), through whoosh's matcher on any other codec."""
    out: set[int] = set()
    try:
        btext = searcher.schema[field].to_bytes(text)
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            if reader.has_deletions():
                raise _NoFastPath
            if (field, btext) not in reader:
                continue
            m = reader.postings(field, btext)
            if not all(hasattr(m, a) for a in ("_read_ids", "_next_block", "_ids")):
                raise _NoFastPath
            while m.is_active():
                m._read_ids()
                out.update(m._ids if not offset else map(offset.__add__, m._ids))
                m._next_block()
        return out
    except (_NoFastPath, AttributeError, ImportError):
        from whoosh import query as Q

        return set(searcher.docs_for_query(Q.Term(field, text)))


def top_scores(searcher, terms: list[tuple[str, str, float]], k: int, allowed: set[int] | None = None,
               coord: float = 0.0, groups: list[str] | None = None,
               doc_groups: dict | None = None, memo=None, positions=None) -> list[tuple[int, float]]:
    """The best ``k`` documents for an OR of ``terms`` (field, text, boost), as (docnum, score), best first and
    ties in claims-file order (the ``pos`` column: with two writer processes, docnums interleave). Scores are
    whoosh's BM25F: the same statistics and per-posting formula, summed over the terms (tests/test_scoring.py
    compares them with whoosh's own to 1e-12). With ``coord``, each score is then multiplied by the share of the
    terms the document matches, to that power (Lucene's classic coordination factor at 1); ``groups`` (one label
    per term) makes terms with the same label count once, e.g. a word and its synonyms; ``doc_groups`` (label ->
    the documents matching it) gives the groups' matches directly instead, e.g. for a phrase's words together.

    Term at a time over whole posting blocks: whoosh's own matcher tree costs a few microseconds per posting in
    Python and cannot prune when many claims tie (and then its top-k was seen to miss tied documents). This reads
    whoosh-reloaded 2.7's block arrays; on any other codec it falls back to scoring all matches through whoosh.
    ``memo`` (an index.Memo) remembers each term's scored postings for the next query; ``positions`` (the ``pos``
    column, or a list of it) saves reading the column again."""
    scores: dict[int, float] = {}
    # docs matched per group: counted directly for a one-term group, as a set where synonyms could double-count
    matched: tuple[Counter, dict[str, set[int]]] | None = None
    if doc_groups is not None:
        n_groups = len(doc_groups)
    else:
        groups = groups or [f"{f}:{t}" for f, t, _ in terms]
        n_groups = len(set(groups))
    if doc_groups is None and coord and n_groups > 1:
        matched = (Counter(), {g: set() for g in groups if groups.count(g) > 1})
    try:
        for sub, offset in searcher.leaf_searchers():
            _score_segment(searcher, sub.reader(), offset, terms, scores, matched, groups, memo)
    except (_NoFastPath, AttributeError, ImportError):  # not the codec this reads: whoosh scores every match
        from whoosh import query as Q

        matches = searcher.search(Q.Or([Q.Term(f, t, boost=b) for f, t, b in terms]), limit=None)
        scores = {hit.docnum: hit.score for hit in matches}
        if matched is not None:
            matched = (Counter(), {g: set() for g in groups})
            for (f, t, _), g in zip(terms, groups, strict=True):
                matched[1][g].update(searcher.docs_for_query(Q.Term(f, t)))
    if allowed is not None:
        scores = {d: s for d, s in scores.items() if d in allowed}
    if doc_groups is not None and coord and n_groups > 1:
        matched = (Counter(), doc_groups)
    if matched is not None:
        counts, sets = matched
        for docs in sets.values():
            counts.update(docs)
        factor = [(n / n_groups) ** coord for n in range(n_groups + 1)]
        scores = {d: s * factor[counts[d]] for d, s in scores.items()}
    if len(scores) > k:
        import heapq

        floor = heapq.nlargest(k, scores.values())[-1]
        scores = {d: s for d, s in scores.items() if s >= floor}  # keeps every tie at the k-th score
    pos = positions if positions is not None else searcher.reader().column_reader("pos")
    # (each claim's position is its own: no two keys tie, and negating a float is exact)
    return [(d, -s) for s, _, d in sorted([(-s, pos[d], d) for d, s in scores.items()])[:k]]


class _NoFastPath(Exception):
    pass


@cache
def _byte_lengths() -> list[int]:
    """whoosh stores each field length in one byte; this is its decoding table."""
    from whoosh.util.numeric import byte_to_length

    return [byte_to_length(b) for b in range(256)]


def _field_lengths(reader, field: str) -> bytes:
    """The encoded length of ``field`` in every document of a segment, read in one go (whoosh reads one per call)."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

    column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    if column is None or column._fixedlen != 1:
        raise _NoFastPath
    count = reader.doc_count_all()
    raw = bytes(column._dbfile.get(column._basepos, min(column._count, count)))
    return raw + bytes(count - len(raw))


def _score_segment(searcher, reader, offset: int, terms, scores: dict[int, float], matched, groups, memo) -> None:
    if reader.has_deletions():
        raise _NoFastPath
    get = scores.get
    for i, (field, text, boost) in enumerate(terms):
        if memo is None:
            docnums, weights = _scored_postings(searcher, reader, offset, field, text, boost)
        else:
            docnums, weights = memo.get((offset, field, text, boost),
                                        lambda f=field, t=text, b=boost: _scored_postings(searcher, reader, offset,
                                                                                          f, t, b),
                                        weigh=lambda v: len(v[0]))
        if not scores:  # the first term: its scores as they are (a term's documents are each once in it)
            scores.update(zip(docnums, weights, strict=True))
        else:
            for docnum, s in zip(docnums, weights, strict=True):
                scores[docnum] = get(docnum, 0.0) + s
        if matched is not None:
            counts, sets = matched
            sets.get(groups[i], counts).update(docnums)


def _scored_postings(searcher, reader, offset: int, field: str, text: str,
                     boost: float) -> tuple[list[int], list[float]]:
    """The documents of one segment holding a term (numbered from ``offset``) and the term's score in each: its
    BM25F part, times its boost (or whoosh's weight, for a field without lengths)."""
    docnums: list[int] = []
    weights: list[float] = []
    btext = searcher.schema[field].to_bytes(text)
    if (field, btext) not in reader:
        return docnums, weights
    m = reader.postings(field, btext)
    if not all(hasattr(m, a) for a in ("_read_ids", "_read_weights", "_next_block", "_ids", "_weights")):
        raise _NoFastPath
    weighting = searcher.weighting
    scorable = searcher.schema[field].scorable
    if scorable:
        if not hasattr(weighting, "K1"):
            raise _NoFastPath
        raw = _field_lengths(reader, field)
        length = _byte_lengths()
        idf = searcher.idf(field, text)
        avgfl = searcher.avg_field_length(field) or 1
        B = weighting._field_B.get(field, weighting.B)
        K1 = weighting.K1
    while m.is_active():
        m._read_ids()
        m._read_weights()
        if scorable:  # whoosh.scoring.bm25(idf, tf, fl, avgfl, B, K1), then the term's boost
            for docnum, tf in zip(m._ids, m._weights, strict=True):
                s = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length[raw[docnum]] / avgfl)))
                if boost != 1.0:
                    s *= boost
                docnums.append(docnum + offset)
                weights.append(s)
        else:  # whoosh's WeightScorer: the term's weight
            for docnum, tf in zip(m._ids, m._weights, strict=True):
                docnums.append(docnum + offset)
                weights.append(tf * boost)
        m._next_block()
    return docnums, weights
