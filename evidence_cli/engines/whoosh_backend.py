"""The whoosh engine (whoosh-reloaded, pure Python): the only module that imports whoosh.

whoosh writes the index. A query reads whoosh's files through engines.whoosh_files, which imports no whoosh (a
third of a cold query was importing it), and scores them with whoosh's BM25F here, a posting block at a time
(whoosh's own matcher tree costs a few microseconds per posting in Python). An index that module cannot describe
(another whoosh codec) is searched through whoosh's own reader and searcher, one term at a time.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from evidence_cli.engines import whoosh_files

PROCS_FROM = 5000  # two writer processes from this many claims (2 cores here); one is faster below
SCORED_TERMS = 1024  # terms whose scored postings an open index remembers
SCORED_POSTINGS = 500_000  # and postings in all (about 70 bytes each)
FILTER_SETS = 256  # filter combinations whose claims an open index remembers
FILTER_DOCS = 2_000_000  # and claims in all (a set of ints: about 60 bytes each)
POSITIONS_READ = 50_000  # whoosh's own reader: up to this many documents, positions are read into a list at once


def _import_whoosh() -> None:
    """Import whoosh without three modules it imports and this project never reaches: urllib.request (for
    whoosh.compat's ``urlretrieve``, which no whoosh module calls), asyncio (through the cached_property
    package, for one ``deleted_docs_set`` property) and whoosh.lang.morph_en (its word-variation regexes, for the
    ``Variations`` query). They cost about 28 ms of a 150 ms query. Stand-ins are in sys.modules only while
    whoosh is imported, and only for modules not already imported: the stand-in ``urlretrieve`` and
    ``variations`` import the real ones if they are ever called, and ``functools.cached_property`` does what the
    package's does for a plain method. Only a build, or an index whoosh_files cannot read, imports whoosh."""
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
    _import_whoosh()
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
    _import_whoosh()
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
    manifest = whoosh_files.describe(windex.open_dir(str(target)))
    if manifest is not None:  # (the folder is published whole once built: index.build)
        import json

        (target / whoosh_files.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def open_backend(folder: Path):
    """whoosh_files' reader of the index, or whoosh's own when it has no manifest that reader knows."""
    files = whoosh_files.open_files(folder)
    if files is not None:
        return FilesBackend(files)
    _import_whoosh()
    from whoosh import index as windex

    ix = windex.open_dir(str(folder))
    searcher = ix.searcher()  # opens the segment files: a truncated index fails here
    searcher.doc_count()
    return WhooshBackend(ix, searcher)


class _Backend:
    """What both readers share: memos, set algebra, filters, ranking."""

    name = "whoosh"

    def __init__(self) -> None:
        from evidence_cli.index import Memo

        # each term's scored postings, for the next query that asks for the term (an index is never edited)
        self.postings = Memo(SCORED_TERMS, SCORED_POSTINGS)
        self._frequencies = Memo(4 * SCORED_TERMS)  # (what, field, term) -> document frequency or IDF
        # the claims a filter allows (--doc, --kind, ref:...), for the next query with the same filters
        self._filters = Memo(FILTER_SETS, FILTER_DOCS)

    def doc_frequency(self, field: str, text: str) -> int:
        return self._frequencies.get(("df", field, text), lambda: self._doc_frequency(field, text))

    def idf(self, field: str, text: str) -> float:
        return self._frequencies.get(("idf", field, text), lambda: self._idf(field, text))

    def docs(self, field: str, text: str) -> SetDocs:
        return SetDocs(self._docs(field, text))

    def nothing(self) -> SetDocs:
        return SetDocs(set())

    def union(self, sets: Iterable[SetDocs]) -> SetDocs:
        return SetDocs(set().union(*(s.docs for s in sets)))

    def restrict(self, plan) -> SetDocs | None:
        filters = _filters(plan)
        if not filters:
            return None
        query = ("and", filters)
        # keyed by the filter itself; a set the search only reads (SetDocs' operations make new sets), so shared
        return self._filters.get(query, lambda: SetDocs(self._filter_docs(query)), weigh=lambda s: len(s.docs))

    def top_scores(self, terms, k: int, allowed: SetDocs | None, coord: float,
                   doc_groups: dict | None) -> list[tuple[int, float]]:
        def scored(field: str, text: str, boost: float) -> tuple[list[int], list[float]]:
            return self.postings.get((field, text, boost), lambda: self._scored_postings(field, text, boost),
                                     weigh=lambda v: len(v[0]))

        return top_scores(scored, terms, k, None if allowed is None else allowed.docs, coord=coord,
                          doc_groups=None if doc_groups is None else {g: s.docs for g, s in doc_groups.items()},
                          positions=self.positions())

    def in_order(self, allowed: SetDocs | None, limit: int) -> list[int]:
        """The first ``limit`` documents (of ``allowed``, or all) in claims-file order."""
        import heapq

        pos = self.positions()
        docs = allowed.docs if allowed is not None else range(self.doc_count_all())
        return heapq.nsmallest(limit, docs, key=pos.__getitem__)


class FilesBackend(_Backend):
    """The index read through whoosh_files: no whoosh import."""

    def __init__(self, files: whoosh_files.WhooshFiles) -> None:
        super().__init__()
        self.files = files
        self._positions: list[int] | None = None

    def positions(self) -> list[int]:
        if self._positions is None:
            self._positions = self.files.positions()
        return self._positions

    def doc_count(self) -> int:
        return self.files.doc_count_all  # (no deletions: whoosh_files.describe)

    def doc_count_all(self) -> int:
        return self.files.doc_count_all

    def _doc_frequency(self, field: str, text: str) -> int:
        return self.files.doc_frequency(field, text)

    def _idf(self, field: str, text: str) -> float:
        return self.files.idf(field, text)

    def _docs(self, field: str, text: str) -> set[int]:
        return self.files.docs(field, text)

    def _filter_docs(self, node: tuple) -> set[int]:
        """The documents a filter (see _filters) allows: whoosh's Term, Prefix, And and Or, as sets."""
        what = node[0]
        if what == "term":
            return self.files.docs(node[1], node[2])
        if what == "prefix":
            return set().union(*(self.files.docs(node[1], t) for t in self.files.terms_with_prefix(node[1], node[2])))
        parts = [self._filter_docs(n) for n in node[1]]
        return set.intersection(*parts) if what == "and" else set().union(*parts)

    def _scored_postings(self, field: str, text: str, boost: float) -> tuple[list[int], list[float]]:
        """The documents holding a term and its score in each: whoosh's BM25F (whoosh.scoring.bm25, its
        BM25FScorer's statistics), times the term's boost; a field without lengths scores its weight."""
        files = self.files
        docnums: list[int] = []
        weights: list[float] = []
        btext = text.encode("utf-8")
        scorable = files.scorable(field)
        if scorable:
            length = files.byte_lengths
            idf = self.idf(field, text)
            avgfl = files.avg_field_length(field)
            B = files.field_B.get(field, files.B)
            K1 = files.K1
        for seg in files.segments:
            offset = seg.offset
            raw = seg.field_lengths(field) if scorable else b""
            for ids, tfs in seg.postings(field, btext):
                if scorable:
                    for docnum, tf in zip(ids, tfs, strict=True):
                        s = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length[raw[docnum]] / avgfl)))
                        if boost != 1.0:
                            s *= boost
                        docnums.append(docnum + offset)
                        weights.append(s)
                else:
                    docnums.extend([d + offset for d in ids] if offset else ids)
                    weights.extend([tf * boost for tf in tfs])
        return docnums, weights

    def stored(self, docnum: int) -> dict:
        return self.files.stored(docnum)

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        return list(itertools.islice(self.files.terms_with_prefix(field, prefix), limit))

    def terms(self, field: str) -> list[str]:
        return list(self.files.terms_with_prefix(field, ""))


class WhooshBackend(_Backend):
    """The index read through whoosh's own reader and searcher (BM25F), for an index whoosh_files cannot read."""

    def __init__(self, ix, searcher) -> None:
        super().__init__()
        self.ix = ix
        self.searcher = searcher  # reused by every query of this process
        self.reader = searcher.reader()
        self._positions: list[int] | None = None  # each document's claims-file position, read when first needed

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

    def doc_count_all(self) -> int:
        return self.searcher.doc_count_all()

    def _doc_frequency(self, field: str, text: str) -> int:
        return self.reader.doc_frequency(field, text)

    def _idf(self, field: str, text: str) -> float:
        return self.searcher.idf(field, text)

    def _docs(self, field: str, text: str) -> set[int]:
        from whoosh import query as Q

        return set(self.searcher.docs_for_query(Q.Term(field, text)))

    def _filter_docs(self, node: tuple) -> set[int]:
        return set(self.searcher.docs_for_query(_whoosh_query(node)))

    def _scored_postings(self, field: str, text: str, boost: float) -> tuple[list[int], list[float]]:
        from whoosh import query as Q

        hits = self.searcher.search(Q.Term(field, text, boost=boost), limit=None)
        pairs = sorted((hit.docnum, hit.score) for hit in hits)
        return [d for d, _ in pairs], [s for _, s in pairs]

    def stored(self, docnum: int) -> dict:
        return self.searcher.stored_fields(docnum)

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        return [t.decode("utf-8") for t in itertools.islice(self.reader.expand_prefix(field, prefix), limit)]

    def terms(self, field: str) -> list[str]:
        return sorted(t.decode("utf-8") for t in self.searcher.lexicon(field))


def _filters(plan) -> tuple:
    """The plan's filters, each a tree of ("term", field, text), ("prefix", field, text), ("and", parts) and
    ("or", parts): all of them must hold."""
    def any_of(parts) -> tuple:
        return ("or", tuple(parts))

    filters = []
    if plan.refs or plan.doc_refs:  # any of the numbers: plain ones in any document, DOC:N in that one
        filters.append(any_of([("term", "refs", str(r)) for r in plan.refs]
                              + [("and", (("term", "doc", d), ("term", "refs", str(r)))) for d, r in plan.doc_refs]))
    if plan.entity_filter:
        filters.append(("and", tuple(any_of([("term", "entity", e.lower()), ("term", "names", e.lower())])
                                     for e in plan.entity_filter)))
    if plan.sections:
        filters.append(any_of([any_of([("term", "section", s), ("prefix", "section", s.rstrip(".") + "."),
                                       ("term", "section_title", " ".join(s.split()))]) for s in plan.sections]))
    if plan.kinds:
        filters.append(any_of([("term", "kind", k) for k in plan.kinds]))
    if plan.tiers:
        filters.append(any_of([("term", "tier", t) for t in plan.tiers]))
    if plan.docs:
        filters.append(any_of([("term", "doc", d) for d in plan.docs]))
    return tuple(filters)


def _whoosh_query(node: tuple):
    from whoosh import query as Q

    if node[0] == "term":
        return Q.Term(node[1], node[2])
    if node[0] == "prefix":
        return Q.Prefix(node[1], node[2])
    return (Q.And if node[0] == "and" else Q.Or)([_whoosh_query(n) for n in node[1]])


def top_scores(scored: Callable[[str, str, float], tuple[list[int], list[float]]],
               terms: list[tuple[str, str, float]], k: int, allowed: set[int] | None = None,
               coord: float = 0.0, groups: list[str] | None = None,
               doc_groups: dict | None = None, positions=None) -> list[tuple[int, float]]:
    """The best ``k`` documents for an OR of ``terms`` (field, text, boost), as (docnum, score), best first and
    ties in claims-file order (``positions``, the ``pos`` column: with two writer processes, docnums interleave).
    ``scored(field, text, boost)`` gives a term's documents and its score in each, whoosh's BM25F; they are summed
    over the terms, term at a time (tests/test_scoring.py compares the sums with whoosh's own search to 1e-12).
    With ``coord``, each score is then multiplied by the share of the terms the document matches, to that power
    (Lucene's classic coordination factor at 1); ``groups`` (one label per term) makes terms with the same label
    count once, e.g. a word and its synonyms; ``doc_groups`` (label -> the documents matching it) gives the groups'
    matches directly instead, e.g. for a phrase's words together.

    Term at a time: whoosh's own matcher tree costs a few microseconds per posting in Python and cannot prune
    when many claims tie (and then its top-k was seen to miss tied documents)."""
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
    get = scores.get
    for i, (field, text, boost) in enumerate(terms):
        docnums, weights = scored(field, text, boost)
        if not scores:  # the first term: its scores as they are (a term's documents are each once in it)
            scores.update(zip(docnums, weights, strict=True))
        else:
            for docnum, s in zip(docnums, weights, strict=True):
                scores[docnum] = get(docnum, 0.0) + s
        if matched is not None:
            counts, sets = matched
            sets.get(groups[i], counts).update(docnums)
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
    pos = positions
    # (each claim's position is its own: no two keys tie, and negating a float is exact)
    return [(d, -s) for s, _, d in sorted([(-s, pos[d], d) for d, s in scores.items()])[:k]]
