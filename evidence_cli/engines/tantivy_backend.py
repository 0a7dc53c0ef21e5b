"""The tantivy engine (tantivy-py, the official Python bindings of the Rust search library; MIT): the only module
that imports tantivy.

Text arrives analysed (evidence_cli.analysis) and is indexed as whitespace-separated terms, so the terms are the
whoosh engine's. Scores are tantivy's BM25 (the same K1 and B; its IDF is ln(1 + (N - n + 0.5) / (n + 0.5)) where
whoosh's is ln(N / (n + 1)) + 1). A set of claims is a tantivy query, counted or intersected in Rust; the claims
file position of each claim (``pos``) is a fast field and the claim's number in the adapter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import tantivy
from tantivy import Occur
from tantivy import Query as Q

HEAP = 256_000_000  # the writer's memory (tantivy splits it between its threads)
CANDIDATES = 100  # at least this many best BM25 hits are re-scored with coordination
LEAD = 1e4  # a matched term's constant score when candidates are ranked by terms matched first (BM25 sums stay below)
STORED_FIELDS = ("near", "near_entities", "terms", "entities", "data")
SEP = "\x1f"  # none of them holds it: stems and ids have no control characters, and JSON escapes them
RAW_FIELDS = ("id", "doc", "section", "section_path", "section_title", "kind", "tier", "refs")


def schema():
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("pos", indexed=True, fast=True)
    for name in RAW_FIELDS:  # whole values, several per claim for refs and section_path
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("entity", tokenizer_name="raw", index_option="freq")  # scored, like whoosh's
    builder.add_text_field("text", tokenizer_name="whitespace", index_option="freq")  # no phrase queries: no positions
    builder.add_bytes_field("stored", stored=True)  # STORED_FIELDS, joined by SEP
    return builder.build()


def write(target: Path, records: Iterable[dict], count: int, progress: Callable[[int, int], None] | None) -> None:
    """Index ``records`` (see index.build) into the existing, empty folder ``target``; two indexing threads from
    50,000 claims (the claims-file position, not tantivy's document number, is each claim's number)."""
    ix = tantivy.Index(schema(), path=str(target), reuse=False)
    writer = ix.writer(heap_size=HEAP, num_threads=1 if count < 50_000 else 2)
    for r in records:
        doc = tantivy.Document()
        doc.add_unsigned("pos", r["pos"])
        for name in ("id", "doc", "section", "section_title", "kind", "tier"):
            doc.add_text(name, r[name])
        parts = r["section"].split(".")
        for i in range(1, len(parts)):  # "2.5.1" is inside "2" and "2.5" (a section filter takes its subsections)
            doc.add_text("section_path", ".".join(parts[:i]))
        for ref in r["refs"]:
            doc.add_text("refs", ref)
        for e in r["entities"]:
            doc.add_text("entity", e.lower())
        doc.add_text("text", " ".join(r["stems"]))
        # with the claim's own terms and entities: which query terms a hit matches is read from them (see
        # index.matches) instead of asking tantivy once per term
        stored = (r["near"], r["near_entities"], " ".join(set(r["stems"])), " ".join(e.lower() for e in r["entities"]),
                  r["data"])
        doc.add_bytes("stored", SEP.join(stored).encode("utf-8"))
        writer.add_document(doc)
        if progress and (r["pos"] % 500 == 0 or r["pos"] + 1 == count):
            progress(r["pos"] + 1, count)
    writer.commit()
    writer.wait_merging_threads()


def open_backend(folder: Path) -> TantivyBackend:
    """The index in ``folder``; ValueError when it is damaged (tantivy checks each file's footer on opening; a
    file too short to hold one makes it panic, which is reported the same way)."""
    try:
        ix = tantivy.Index.open(str(folder))
        backend = TantivyBackend(ix, ix.searcher())
        if backend.doc_count():  # reads a term, a posting list and a stored claim
            backend.stored(backend.in_order(None, 1)[0])
        return backend
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # pyo3's, a BaseException: a Rust assertion failed
            raise
        raise ValueError(f"{folder}: tantivy could not read the index ({exc})") from None


class QueryDocs:
    """A set of claims as a tantivy query, evaluated only when counted or asked about some claims. ``None`` is
    the empty set."""

    __slots__ = ("_count", "backend", "query")

    def __init__(self, backend: TantivyBackend, query) -> None:
        self.backend = backend
        self.query = query
        self._count: int | None = None if query is not None else 0

    def __and__(self, other: QueryDocs) -> QueryDocs:
        if self.query is None or other.query is None:
            return QueryDocs(self.backend, None)
        return QueryDocs(self.backend, Q.boolean_query([(Occur.Must, self.query), (Occur.Must, other.query)]))

    def __or__(self, other: QueryDocs) -> QueryDocs:
        if self.query is None:
            return other
        if other.query is None:
            return self
        return QueryDocs(self.backend, Q.boolean_query([(Occur.Should, self.query), (Occur.Should, other.query)]))

    def count(self) -> int:
        if self._count is None:
            self._count = self.backend.search(self.query, limit=1, count=True).count
        return self._count

    def __bool__(self) -> bool:
        return self.count() > 0

    def members(self, docnums: Iterable[int]) -> set[int]:
        """Which of ``docnums`` are in the set: one search, in Rust."""
        docnums = list(dict.fromkeys(docnums))
        if self.query is None or not docnums:
            return set()
        return set(self.backend.positions(Q.boolean_query(
            [(Occur.Must, self.query), (Occur.Must, self.backend._among(docnums))]), len(docnums)))


class TantivyBackend:
    name = "tantivy"
    stores_terms = True  # stored() gives each claim's "terms" and "entities"

    def __init__(self, ix, searcher) -> None:
        self.ix = ix
        self.schema = ix.schema
        self.searcher = searcher
        self._n = searcher.num_docs
        self._addresses: dict[int, object] = {}  # pos -> DocAddress, for the hits found so far

    def search(self, query, **options):
        """tantivy's search; a Rust panic (a file damaged after the index was opened) is an IndexError_."""
        try:
            return self.searcher.search(query, **options)
        except BaseException as exc:
            if type(exc).__name__ != "PanicException" and not isinstance(exc, ValueError):
                raise
            from evidence_cli.errors import IndexError_

            raise IndexError_(f"the tantivy index could not be read ({str(exc).splitlines()[0]}); run the command "
                              "again, which rebuilds a damaged index, or remove the index folder") from None

    def _term(self, field: str, text: str):
        return Q.term_query(self.schema, field, text, index_option="freq" if field in ("text", "entity") else "basic")

    def doc_count(self) -> int:
        return self._n

    def doc_frequency(self, field: str, text: str) -> int:
        try:
            return self.searcher.doc_freq(field, text)
        except ValueError as exc:  # a damaged term dictionary or postings file
            from evidence_cli.errors import IndexError_

            raise IndexError_(f"the tantivy index could not be read ({str(exc).splitlines()[0]}); remove the index "
                              "folder and run the command again") from None

    def idf(self, field: str, text: str) -> float:
        n = self.doc_frequency(field, text)
        return math.log(1 + (self._n - n + 0.5) / (n + 0.5))  # tantivy's BM25 IDF

    def docs(self, field: str, text: str) -> QueryDocs:
        return QueryDocs(self, self._term(field, text) if self.doc_frequency(field, text) else None)

    def nothing(self) -> QueryDocs:
        return QueryDocs(self, None)

    def union(self, sets: Iterable[QueryDocs]) -> QueryDocs:
        queries = [s.query for s in sets if s.query is not None]
        if len(queries) < 2:
            return QueryDocs(self, queries[0] if queries else None)
        return QueryDocs(self, Q.boolean_query([(Occur.Should, q) for q in queries]))

    def restrict(self, plan) -> QueryDocs | None:
        T = self._term

        def any_of(queries):
            return queries[0] if len(queries) == 1 else Q.boolean_query([(Occur.Should, q) for q in queries])

        filters = []
        if plan.refs or plan.doc_refs:  # any of the numbers: plain ones in any document, DOC:N in that one
            filters.append(any_of([T("refs", str(r)) for r in plan.refs]
                                  + [Q.boolean_query([(Occur.Must, T("doc", d)), (Occur.Must, T("refs", str(r)))])
                                     for d, r in plan.doc_refs]))
        filters += [T("entity", e.lower()) for e in plan.entity_filter]
        if plan.sections:
            filters.append(any_of([q for s in plan.sections for q in (
                T("section", s), T("section_path", s.rstrip(".")), T("section_title", " ".join(s.split())))]))
        for field, values in (("kind", plan.kinds), ("tier", plan.tiers), ("doc", plan.docs)):
            if values:
                filters.append(any_of([T(field, v) for v in values]))
        if not filters:
            return None
        return QueryDocs(self, filters[0] if len(filters) == 1
                         else Q.boolean_query([(Occur.Must, f) for f in filters]))

    def positions(self, query, limit: int, **options) -> list[int]:
        """The claims-file positions of the first ``limit`` claims ``query`` finds."""
        hits = self.search(query, limit=max(1, limit), count=False, **options).hits
        addresses = [a for _, a in hits]
        found = self.searcher.fast_field_values("pos", addresses)
        self._addresses.update(zip(found, addresses, strict=True))
        return found

    def top_scores(self, terms, k: int, allowed: QueryDocs | None, coord: float,
                   doc_groups: dict | None) -> list[tuple[int, float]]:
        """The best ``k`` claims for an OR of ``terms`` (field, text, boost) by BM25, within ``allowed``; with
        ``coord``, each score times (query terms matched / query terms) ** coord, as whoosh_backend.top_scores
        does; ties in claims-file order.

        The candidates are tantivy's best max(4k, CANDIDATES) by BM25 and, with coordination, its best by the
        number of terms matched and then BM25 (each term a constant score far above any BM25 sum); their exact
        BM25 and their number of terms matched are then read in one search each, whatever the number of terms."""
        should = [(Occur.Should, self._term(f, t) if b == 1.0 else Q.boost_query(self._term(f, t), b))
                  for f, t, b in terms if self.doc_frequency(f, t)]
        if not should or (allowed is not None and allowed.query is None):
            return []
        must = [] if allowed is None else [(Occur.Must, Q.const_score_query(allowed.query, 0.0))]
        groups = doc_groups
        if groups is None and coord:
            groups = {(f, t): self.docs(f, t) for f, t, _ in terms}
        n_groups = len(groups) if groups else 0
        m = max(4 * k, CANDIDATES)
        scores = self._scores(Q.boolean_query(must + should), m)
        if coord and n_groups > 1 and scores:
            each = [g.query for g in groups.values() if g.query is not None]
            lead = [(Occur.Should, Q.const_score_query(q, LEAD)) for q in each]
            more = [d for d in self._scores(Q.boolean_query(must + lead + should), m) if d not in scores]
            if more:  # their exact BM25, as the first search would give it
                scores.update(self._scores(Q.boolean_query([(Occur.Must, self._among(more)), *should]), len(more)))
            counts = self._scores(Q.boolean_query([(Occur.Must, self._among(list(scores)))]
                                                  + [(Occur.Should, Q.const_score_query(q, 1.0)) for q in each]),
                                  len(scores), keep_zero=True)
            scores = {d: s * (round(counts.get(d, 0.0)) / n_groups) ** coord for d, s in scores.items()}
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]

    def _among(self, docnums: list[int]):
        """The claims at these positions, scoring nothing."""
        return Q.const_score_query(Q.boolean_query([(Occur.Should, Q.term_query(self.schema, "pos", d))
                                                    for d in docnums]), 0.0)

    def _scores(self, query, limit: int, keep_zero: bool = False) -> dict[int, float]:
        hits = [(s, a) for s, a in self.search(query, limit=max(1, limit), count=False).hits
                if s > 0 or keep_zero]
        if not hits:
            return {}
        found = self.searcher.fast_field_values("pos", [a for _, a in hits])
        self._addresses.update(zip(found, (a for _, a in hits), strict=True))
        return {p: s for p, (s, _) in zip(found, hits, strict=True)}

    def in_order(self, allowed: QueryDocs | None, limit: int) -> list[int]:
        """The first ``limit`` claims (of ``allowed``, or all) in claims-file order."""
        if allowed is not None and allowed.query is None:
            return []
        query = allowed.query if allowed is not None else Q.all_query()
        return self.positions(query, limit, order_by_field="pos", order=tantivy.Order.Asc)

    def stored(self, docnum: int) -> dict:
        address = self._addresses.get(docnum)
        if address is None:
            self.positions(Q.term_query(self.schema, "pos", docnum), 1)
            address = self._addresses[docnum]
        return dict(zip(STORED_FIELDS, self.searcher.doc(address).to_dict()["stored"][0].decode("utf-8").split(SEP),
                        strict=True))

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        # the first ``limit`` in alphabetical order, as whoosh's expand_prefix (tantivy's limit keeps the most frequent)
        return sorted(t for t, _ in self.searcher.terms_with_prefix(field, prefix))[:limit]

    def terms(self, field: str) -> list[str]:
        return sorted(t for t, _ in self.searcher.terms_with_prefix(field, ""))
