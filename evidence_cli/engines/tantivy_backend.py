"""The tantivy engine (tantivy-py, the official Python bindings of the Rust search library; MIT): the only module
that imports tantivy.

Text arrives analysed (evidence_cli.analysis) and is indexed as whitespace-separated terms, so the terms are the
whoosh engine's. Scores are tantivy's BM25 (the same K1 and B; its IDF is ln(1 + (N - n + 0.5) / (n + 0.5)) where
whoosh's is ln(N / (n + 1)) + 1). A set of claims is a tantivy query, counted or intersected in Rust; the claims
file position of each claim (``pos``) is a fast field and the claim's number in the adapter.
"""

from __future__ import annotations

import math
import os
import threading
import zlib
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path

import tantivy
from tantivy import Occur
from tantivy import Query as Q

HEAP = 256_000_000  # the writer's memory (tantivy splits it between its threads)
CANDIDATES = 40  # the first candidate lists are at least this long (then four times longer until exact)
INDEX_THREADS = 1  # one: tantivy's document order is then the claims file's (two interleave; no faster at 100k)
LEAD = 1e4  # a matched term's constant score when candidates are ranked by terms matched first (BM25 sums stay below)
STORED_FIELDS = ("near", "near_entities", "terms", "entities", "data")
SEP = "\x1f"  # none of them holds it: stems and ids have no control characters, and JSON escapes them
ORDER_FILE = "claims-order"  # "1" when tantivy's document order is the claims file's (see _in_claims_order)
RAW_FIELDS = ("id", "doc", "section", "section_path", "section_title", "kind", "tier", "refs")
# Each claim's STORED_FIELDS (joined by SEP, UTF-8) one after another in claims-file order, and where each begins
# (8-byte unsigned, native order, one more than the claims: the last is the file's size). tantivy's document store
# compresses blocks of claims: a claim read at random decompresses a block (14 us at 100k claims), which a
# search of 30 hits paid some 18 times; here it is one read of its own bytes (2-3 us).
STORE_FILE = "stored-fields.bin"
OFFSETS_FILE = "stored-fields.offsets"


def schema():
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("pos", indexed=True, fast=True)
    for name in RAW_FIELDS:  # whole values, several per claim for refs and section_path
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("entity", tokenizer_name="raw", index_option="freq")  # scored, like whoosh's
    builder.add_text_field("names", tokenizer_name="raw", index_option="basic")  # uncurated: filters only
    builder.add_text_field("text", tokenizer_name="whitespace", index_option="freq")  # no phrase queries: no positions
    return builder.build()  # nothing stored in tantivy: see STORE_FILE


def write(target: Path, records: Iterable[dict], count: int, progress: Callable[[int, int], None] | None) -> None:
    """Index ``records`` (see index.build; in claims-file order) into the existing, empty folder ``target``, with
    their stored fields (STORE_FILE), and note whether tantivy's document order is the claims file's
    (ORDER_FILE)."""
    ix = tantivy.Index(schema(), path=str(target), reuse=False)
    writer = ix.writer(heap_size=HEAP, num_threads=INDEX_THREADS)
    offsets = array("Q", [0])
    with (target / STORE_FILE).open("wb") as store:
        for r in records:
            if r["pos"] < len(offsets) - 1:
                raise ValueError(f"index records out of order: claim {r['pos']} after {len(offsets) - 2}")
            while len(offsets) - 1 < r["pos"]:  # a claim not indexed (orphaned): an empty entry
                offsets.append(offsets[-1])
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
            for name in r["names"]:
                doc.add_text("names", name)
            doc.add_text("text", " ".join(r["stems"]))
            # with the claim's own terms and entities: which query terms a hit matches is read from them (see
            # index.matches) instead of asking tantivy once per term
            stored = (r["near"], r["near_entities"], " ".join(set(r["stems"])),
                      " ".join(e.lower() for e in r["entities"]), r["data"])
            offsets.append(offsets[-1] + store.write(SEP.join(stored).encode("utf-8")))
            writer.add_document(doc)
            if progress and (r["pos"] % 500 == 0 or r["pos"] + 1 == count):
                progress(r["pos"] + 1, count)
    data = offsets.tobytes()  # forwards by construction: each offset is the last plus a claim's length
    with (target / OFFSETS_FILE).open("wb") as fh:
        fh.write(data)
        fh.write(array("Q", [zlib.crc32(data)]).tobytes())  # the last 8 bytes: what a damaged copy fails
    writer.commit()
    writer.wait_merging_threads()
    ix.reload()
    (target / ORDER_FILE).write_text("1" if _in_claims_order(ix.searcher()) else "0", encoding="ascii")


def _in_claims_order(searcher) -> bool:
    """Whether tantivy's document order is the claims file's: every claim found, in document order (tantivy's
    order for ties), has a larger ``pos`` than the one before. True for one indexing thread until segments are
    merged out of order; then tantivy's own tie-breaking is claims-file order and top_scores can rely on it."""
    n = searcher.num_docs
    if n == 0:
        return True
    hits = searcher.search(Q.all_query(), limit=n, count=False).hits  # all score 1: in document order
    pos = searcher.fast_field_values("pos", [a for _, a in hits])
    return pos == sorted(pos)  # positions are unique


def open_backend(folder: Path) -> TantivyBackend:
    """The index in ``folder``; ValueError when it is damaged (tantivy checks each file's footer on opening; a
    file too short to hold one makes it panic, which is reported the same way)."""
    try:
        ix = tantivy.Index.open(str(folder))
        try:
            ordered = (folder / ORDER_FILE).read_text(encoding="ascii") == "1"
        except (OSError, UnicodeDecodeError):  # an index from before the file: ranked without relying on it
            ordered = False
        backend = TantivyBackend(ix, ix.searcher(), ordered, _StoredFields(folder))
        if backend._store.count < backend.doc_count():
            raise ValueError(f"{folder}: the stored fields are of {backend._store.count} claims, the index of "
                             f"{backend.doc_count()}")
        if backend.doc_count():  # reads a term, a posting list and a stored claim
            backend.stored(backend.in_order(None, 1)[0])
        return backend
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # pyo3's, a BaseException: a Rust assertion failed
            raise
        raise ValueError(f"{folder}: tantivy could not read the index ({exc})") from None


class _StoredFields:
    """The claims' stored fields (STORE_FILE), read by claims-file position. The file is read, not mapped: a copy
    cut short while open is a short read (a damaged index), never a SIGBUS."""

    def __init__(self, folder: Path) -> None:
        self.offsets = array("Q")
        with (folder / OFFSETS_FILE).open("rb") as fh:
            data = fh.read()
        width = self.offsets.itemsize
        if len(data) % width or len(data) < 2 * width:
            raise ValueError(f"{folder / OFFSETS_FILE}: not a list of offsets")
        # the offsets as written (so never backwards) when their CRC-32 agrees: 1 ms for a million claims, where
        # checking that each offset follows the last took 35
        body, check = memoryview(data)[:-width], array("Q", data[-width:])[0]  # (a view: no copy of the bytes)
        disagree = f"{folder}: the stored fields and their offsets do not agree"
        if zlib.crc32(body) != check:
            raise ValueError(disagree)
        self.offsets.frombytes(body)
        self.count = len(self.offsets) - 1
        self._fh = (folder / STORE_FILE).open("rb", buffering=0)
        size = os.fstat(self._fh.fileno()).st_size
        if self.offsets[0] != 0 or self.offsets[-1] != size:
            self._fh.close()
            raise ValueError(disagree)
        self._lock = threading.Lock()  # for a seek and a read where there is no pread (threads share the file)

    def read(self, pos: int) -> bytes:
        start, end = self.offsets[pos], self.offsets[pos + 1]
        if end < start:  # only a file rewritten with its CRC: the index is not what was built
            raise ValueError(f"stored fields: offsets go backwards at claim {pos}")
        if hasattr(os, "pread"):
            return os.pread(self._fh.fileno(), end - start, start)
        with self._lock:
            self._fh.seek(start)
            return self._fh.read(end - start)

    def __del__(self) -> None:
        fh = getattr(self, "_fh", None)
        if fh is not None:
            fh.close()


class QueryDocs:
    """A set of claims as a tantivy query, evaluated only when counted or asked about some claims. ``None`` is
    the empty set."""

    __slots__ = ("_count", "backend", "query")

    def __init__(self, backend: TantivyBackend, query, count: int | None = None) -> None:
        self.backend = backend
        self.query = query
        self._count: int | None = count if query is not None else 0  # when known (a term's document frequency)

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

    def __init__(self, ix, searcher, ordered: bool, store: _StoredFields) -> None:
        self.ix = ix
        self.ordered = ordered  # tantivy's document order is the claims file's: its ties are cut in that order
        self.schema = ix.schema
        self.searcher = searcher
        self._n = searcher.num_docs
        self._store = store

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
        n = self.doc_frequency(field, text)  # exact: nothing is ever deleted from an index
        return QueryDocs(self, self._term(field, text) if n else None, n)

    def nothing(self) -> QueryDocs:
        return QueryDocs(self, None)

    def union(self, sets: Iterable[QueryDocs]) -> QueryDocs:
        sets = [s for s in sets if s.query is not None]
        if len(sets) < 2:
            return sets[0] if sets else QueryDocs(self, None)
        return QueryDocs(self, Q.boolean_query([(Occur.Should, s.query) for s in sets]))

    def restrict(self, plan) -> QueryDocs | None:
        T = self._term

        def any_of(queries):
            return queries[0] if len(queries) == 1 else Q.boolean_query([(Occur.Should, q) for q in queries])

        filters = []
        if plan.refs or plan.doc_refs:  # any of the numbers: plain ones in any document, DOC:N in that one
            filters.append(any_of([T("refs", str(r)) for r in plan.refs]
                                  + [Q.boolean_query([(Occur.Must, T("doc", d)), (Occur.Must, T("refs", str(r)))])
                                     for d, r in plan.doc_refs]))
        filters += [any_of([T("entity", e.lower()), T("names", e.lower())]) for e in plan.entity_filter]
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
        return [p for p, _ in self._hits(query, limit, **options)]

    def top_scores(self, terms, k: int, allowed: QueryDocs | None, coord: float,
                   doc_groups: dict | None) -> list[tuple[int, float]]:
        """The best ``k`` claims for an OR of ``terms`` (field, text, boost) by BM25, within ``allowed``; with
        ``coord``, each score times (query terms matched / query terms) ** coord, as whoosh_backend.top_scores
        does; ties in claims-file order. Exact: the same claims as scoring every match.

        Candidates are tantivy's best m by BM25 and, with coordination, their terms matched (one search, whatever
        the number of terms); a claim not in that list scores at most its last BM25 (times a factor of at most
        1), and when the k-th candidate beats that, they are the answer. Otherwise more candidates are tantivy's
        best m by the number of terms matched and then BM25 (each term a constant score far above any BM25 sum),
        their exact BM25 and terms matched read in one search each. A claim in neither list scores at most a
        bound read from the two lists' last entries; while the k-th candidate does not beat it (or ties it: a
        tied claim further down might come first in the claims file), m grows four times, until a list is
        complete."""
        should = [(Occur.Should, self._term(f, t) if b == 1.0 else Q.boost_query(self._term(f, t), b))
                  for f, t, b in terms if self.doc_frequency(f, t)]
        if not should or (allowed is not None and allowed.query is None):
            return []
        must = [] if allowed is None else [(Occur.Must, Q.const_score_query(allowed.query, 0.0))]
        groups = doc_groups
        if groups is None and coord:
            groups = {(f, t): self.docs(f, t) for f, t, _ in terms}
        n_groups = len(groups) if groups else 0
        each = [g.query for g in groups.values() if g.query is not None] if coord and n_groups > 1 else []
        factor = [(n / n_groups) ** coord for n in range(n_groups + 1)] if each else []
        lead = [(Occur.Should, Q.const_score_query(q, LEAD)) for q in each]
        # tantivy sums a claim's clause scores in float32: each addition is off by at most half a unit in the last
        # place of the sum, at most LEAD * (groups + 1); the bound allows that error in both claims compared
        slack = (len(each) + len(should) + 2) * 2.0 ** (math.frexp(LEAD * (len(each) + 1))[1] - 24)
        bm25: dict[int, float] = {}
        matched: dict[int, int] = {}

        def count_terms(candidates: dict[int, float]) -> None:
            uncounted = [d for d in candidates if d not in matched]
            if uncounted:
                counts = self._scores(Q.boolean_query(
                    [(Occur.Must, self._among(uncounted))]
                    + [(Occur.Should, Q.const_score_query(q, 1.0)) for q in each]), len(uncounted), keep_zero=True)
                matched.update((d, round(counts.get(d, 0.0))) for d in uncounted)

        def ranked_by(candidates: dict[int, float]) -> list[tuple[int, float]]:
            """Best first, ties in claims-file order; with coordination, each BM25 times its factor."""
            scored = ((d, s * factor[matched[d]]) for d, s in candidates.items()) if each else candidates.items()
            return sorted(scored, key=lambda item: (-item[1], item[0]))

        m = max(2 * k, CANDIDATES)
        while True:
            first = self._hits(Q.boolean_query(must + should), m)
            complete = len(first) < m or first[-1][1] <= 0  # with ``allowed``, unmatched claims score 0
            bm25.update((d, s) for d, s in first if s > 0)
            bound = first[-1][1] if first else 0.0
            near = 0.0
            if each:
                count_terms(bm25)
                ranked = ranked_by(bm25)
                if complete or self._beats(ranked, k, bound, first):
                    # a claim not in the first list has no more BM25 than its last, and a factor of at most 1
                    return ranked[:k]
                by_terms = self._hits(Q.boolean_query(must + lead + should), m)
                complete = len(by_terms) < m or by_terms[-1][1] <= 0
                more = [d for d, _ in by_terms if d not in bm25]
                if more:  # their exact BM25, as the first search gives it
                    bm25.update(self._scores(Q.boolean_query([(Occur.Must, self._among(more)), *should]),
                                             len(more)))
                count_terms(bm25)
                if by_terms:  # a claim in neither list matches fewer terms than the last by terms, or as many
                    n_last = min(int(by_terms[-1][1] // LEAD), n_groups)  # and no more BM25 than it has
                    s_last = by_terms[-1][1] - LEAD * n_last + slack
                    if s_last < bound:  # known only to float32's precision: must be beaten by a margin
                        near, bound = factor[n_last] * s_last, factor[n_last - 1] * bound if n_last else 0.0
                    else:
                        bound = factor[n_last] * bound
            ranked = ranked_by(bm25)
            if complete or self._beats(ranked, k, bound, first, near):
                return ranked[:k]
            m *= 4

    def _beats(self, ranked: list[tuple[int, float]], k: int, bound: float, first: list[tuple[int, float]],
               near: float = 0.0) -> bool:
        """Whether the k-th of ``ranked`` beats every claim not among the candidates: one scoring at most
        ``bound`` exactly, and one known only to float32's precision scoring about ``near``."""
        if len(ranked) < k:
            return False
        pos, score = ranked[k - 1]
        # ``bound`` is exact: a claim outside the candidates scoring it has the BM25 of the first list's last
        # claim, so in an index in claims order it comes after that claim in the file
        return score > near * (1 + 1e-6) and (score > bound or (
            self.ordered and score >= bound and first[-1][0] >= pos))

    def _among(self, docnums: list[int]):
        """The claims at these positions, scoring nothing."""
        return Q.const_score_query(Q.boolean_query([(Occur.Should, Q.term_query(self.schema, "pos", d))
                                                    for d in docnums]), 0.0)

    def _hits(self, query, limit: int, **options) -> list[tuple[int, float]]:
        """(claims-file position, score) of tantivy's best ``limit`` for ``query``, in its order (or ``options``')."""
        hits = self.search(query, limit=max(1, limit), count=False, **options).hits
        if not hits:
            return []
        found = self.searcher.fast_field_values("pos", [a for _, a in hits])
        return [(p, s) for p, (s, _) in zip(found, hits, strict=True)]

    def _scores(self, query, limit: int, keep_zero: bool = False) -> dict[int, float]:
        """The claims ``query`` finds, with their scores."""
        return {p: s for p, s in self._hits(query, limit) if s > 0 or keep_zero}

    def in_order(self, allowed: QueryDocs | None, limit: int) -> list[int]:
        """The first ``limit`` claims (of ``allowed``, or all) in claims-file order."""
        if allowed is not None and allowed.query is None:
            return []
        query = allowed.query if allowed is not None else Q.all_query()
        return self.positions(query, limit, order_by_field="pos", order=tantivy.Order.Asc)

    def stored(self, docnum: int) -> dict:
        if not 0 <= docnum < self._store.count:
            raise KeyError(docnum)
        try:
            data = self._store.read(docnum)
            if not data:  # a claim that is not indexed (orphaned)
                raise KeyError(docnum)
            return dict(zip(STORED_FIELDS, data.decode("utf-8").split(SEP), strict=True))
        except (OSError, UnicodeDecodeError, ValueError):  # a short read, bytes that are not a claim's fields
            from evidence_cli.errors import IndexError_

            raise IndexError_(f"the tantivy index's stored fields could not be read (claim {docnum}); remove the "
                              "index folder and run the command again") from None

    def expand_prefix(self, field: str, prefix: str, limit: int) -> list[str]:
        # the first ``limit`` in alphabetical order, as whoosh's expand_prefix (tantivy's limit keeps the most frequent)
        return sorted(t for t, _ in self.searcher.terms_with_prefix(field, prefix))[:limit]

    def terms(self, field: str) -> list[str]:
        return sorted(t for t, _ in self.searcher.terms_with_prefix(field, ""))
