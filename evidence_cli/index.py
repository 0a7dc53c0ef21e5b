"""The whoosh adapter: schema, build, open, stamp. The only module that imports whoosh.

The index is a cache of claims.yaml, kept under the user cache directory (or --index-dir / $EVIDENCE_INDEX_DIR)
in a folder named by the claims file's SHA-256, the lexicon's and the schema version. A folder with that name is
complete by construction: it is built in a temporary folder and renamed into place, so a concurrent reader never sees a
half-built index, and a changed claims file simply has no folder yet (stale: rebuilt, with a note on stderr).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cache
from pathlib import Path

from evidence_cli.errors import IndexError_

INDEX_SCHEMA_VERSION = 10
KEEP_OLD = 2  # older index folders of the same claims file kept for processes that still read them
STALE_DAYS = 30  # index folders of other claims files are removed this long after they were built
NEAR_BOOST = 0.3  # weight (times its IDF) of a query word found only in a neighbouring sentence
RERANK_POOL = 30  # best hits re-ranked with the neighbouring sentences
COMMON_TERM_SHARE = 0.2  # a query word found in more than this share of claims is dropped when others remain
COORD = 1.0  # a score is multiplied by (query terms it matches / those in the query) ** COORD
# A term found in more than this share of the searched claims is generic: it hardly tells claims apart ("tumor" in
# a corpus of tumour reviews). Generic terms are not searched beside specific ones, and matching only them is no
# answer. The share is measured on the corpus itself (document frequency), so it adapts to any review.
GENERIC_SHARE = COMMON_TERM_SHARE
GENERIC_MIN_CLAIMS = 20  # below this many claims every word is "common": no term is generic
WIDEN_MIN = 7  # a word no claim uses, with a stem this long, is also looked for as the words that begin like it


@dataclass
class IndexHandle:
    path: Path
    ix: object  # whoosh.index.Index
    aliases: list  # [alias, entity id, case_sensitive]
    searcher: object  # an open whoosh Searcher (BM25F), reused by every query of this process
    built: bool = False
    vocab: dict = dc_field(default_factory=dict)  # query.json: shorthand, drug targets, documents' reference lists
    matcher: object = None  # the AliasMatcher of this index, made on first use


def matcher(handle: IndexHandle):
    """The alias matcher for queries on this index: lexicon names and shorthand, the drugs of each target, and
    typo correction towards the lexicon's names and the corpus's own words that leaves alone the words the indexed
    claims use. Made once per open index (its corrections are remembered)."""
    if handle.matcher is None:
        handle.matcher = _make_matcher(handle)
    return handle.matcher


def _make_matcher(handle: IndexHandle):
    from evidence_cli.query_plan import AliasMatcher, Shorthand

    analyzer = handle.ix.schema["text"].analyzer
    reader = handle.searcher.reader()

    def in_corpus(word: str) -> bool:
        terms = [t.text for t in analyzer(word)]
        return bool(terms) and all(reader.doc_frequency("text", t) > 0 for t in terms)

    def vocabulary() -> list[str]:
        try:
            return json.loads((handle.path / "words.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []

    vocab = handle.vocab
    shorthand = [Shorthand(s["short"], s["means"], tuple(s["search"]), s["case_sensitive"])
                 for s in vocab.get("shorthand", [])]
    return AliasMatcher(handle.aliases, in_corpus, targets=vocab.get("targets", {}), shorthand=shorthand,
                        vocabulary=vocabulary, labels=vocab.get("labels", {}), genes=vocab.get("genes", {}),
                        in_corpus=lambda eid: reader.doc_frequency("entity", eid.lower()) > 0)


def document_notes(handle: IndexHandle) -> dict[str, dict]:
    """Per document: whether its reference list was read (``references``) and the sidecar's note about it."""
    return handle.vocab.get("documents", {})


def claims_digest(claims_file: Path, index_root: Path | None = None) -> str:
    """SHA-256 of the claims file. With ``index_root``, remembered by (size, mtime, inode) like git's index, so
    a query on a large, unchanged claims file does not read and hash it every time."""
    from evidence_cli.store import _read_text

    memo_file = index_root / "digests.json" if index_root is not None else None
    try:
        st = claims_file.stat()
        # ctime too: rewriting a file in place and setting its old mtime back still moves its ctime
        key, stamp = str(claims_file.resolve()), [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
    except OSError:
        memo_file = None
    memo: dict = {}
    if memo_file is not None and memo_file.is_file():
        try:
            memo = json.loads(memo_file.read_text(encoding="utf-8"))
            memo = memo if isinstance(memo, dict) else {}
            if isinstance(memo.get(key), list) and memo[key][:4] == stamp and len(memo[key]) == 5:
                return memo[key][4]
        except (OSError, ValueError, TypeError, IndexError):
            memo = {}
    digest = text_digest(_read_text(claims_file))
    if memo_file is not None and memo_file.parent.is_dir():
        from evidence_cli.store import atomic_write_text

        memo = {k: v for k, v in memo.items() if isinstance(v, list)} if isinstance(memo, dict) else {}
        memo[key] = [*stamp, digest]
        with contextlib.suppress(Exception):  # a cache: never fail a query over it
            atomic_write_text(memo_file, json.dumps(dict(list(memo.items())[-50:])), mode=0o600)
    return digest


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_VOCAB_WORD = re.compile(r"\b[^\W\d_]{5,}(?:-[^\W\d_]+)*\b")


def _schema():
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

    analyzer = StemmingAnalyzer(stoplist=None, minsize=1)
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
        text=TEXT(analyzer=analyzer, phrase=False),  # positions are not used: no phrase queries
        # stems found in the neighbouring sentences of the paragraph but not in the claim itself, for re-ranking
        near=STORED,
        near_entities=STORED,  # entity ids of those sentences, to tell whether a passage covers a query
        data=STORED,
    )


DISPLAY_FIELDS = (
    "id", "doc", "section", "section_title", "paragraph", "kind", "tier", "text", "refs", "author_year",
    "context_refs", "context_from", "hedging", "entities", "numbers", "curated_fields", "orphaned", "pages",
)


def _neighbours(claims: list[dict], pos: int) -> list[int]:
    """Positions of the sentences before and after ``pos`` in the same paragraph."""
    here = claims[pos]
    return [j for j in (pos - 1, pos + 1) if 0 <= j < len(claims)
            and claims[j].get("doc") == here.get("doc") and claims[j].get("section") == here.get("section")
            and claims[j].get("paragraph") == here.get("paragraph")]


def display_record(claim: dict) -> dict:
    from evidence_cli.store import edited_since_ingest

    record = {k: claim[k] for k in DISPLAY_FIELDS if k in claim}
    record["edited_since_ingest"] = edited_since_ingest(claim)  # shown when true: a person's value, not the source's
    return record


def _alias_table(lex) -> list:
    rows = []
    for e in lex.values():
        for a in dict.fromkeys((e.id, e.label, *e.aliases, *e.brands)):
            rows.append([a, e.id, e.case_sensitive or a == e.id])
        for a in dict.fromkeys(e.aliases_ci):
            rows.append([a, e.id, False])
    return rows


def build(claims_file: Path, target: Path, progress: Callable[[int, int], None] | None = None,
          data: dict | None = None) -> None:
    """Build an index of ``claims_file`` into the folder ``target`` (which must not exist)."""
    from whoosh import index as windex

    from evidence_cli.lexicon import lexicon
    from evidence_cli.store import load_claims

    if data is None:
        data = load_claims(claims_file)
    lex = lexicon()
    claims = data["claims"]
    target.mkdir(parents=True)
    ix = windex.create_in(str(target), _schema())
    analyzer = ix.schema["text"].analyzer
    # two processes for large corpora (2 cores here); one is faster below a few thousand claims
    writer = ix.writer(limitmb=256, procs=2, multisegment=True) if len(claims) > 5000 else ix.writer(limitmb=256)
    window: dict[int, set[str]] = {}  # stems of the claims around pos, each analysed once

    def stems(j: int) -> set[str]:
        if j not in window:
            window[j] = {t.text for t in analyzer(claims[j]["text"])}
        return window[j]

    try:
        for pos, c in enumerate(claims):
            window.pop(pos - 2, None)
            if c.get("orphaned"):
                continue  # kept in the file for its hand edits, but its sentence is not in the source
            ents = [e["id"] for e in c.get("entities") or [] if e.get("curated", True)]  # lexicon names only
            # a biomarker such as "IDO expression" also counts as a mention of its gene (IDO1)
            ents += [lex[e].extra["gene"] for e in ents if e in lex and "gene" in lex[e].extra]
            writer.add_document(
                id=c["id"],
                pos=pos,
                doc=c["doc"],
                section=c["section"],
                section_title=" ".join(c.get("section_title", "").lower().split()),
                kind=c.get("kind", ""),
                tier=c.get("tier", ""),
                refs=",".join(str(r) for r in c.get("refs") or []),
                entity=",".join(dict.fromkeys(ents)),
                text=c["text"],
                near=" ".join(sorted(set().union(*(stems(j) for j in _neighbours(claims, pos))) - stems(pos))),
                near_entities=" ".join(sorted({e["id"].lower() for j in _neighbours(claims, pos)
                                               for e in claims[j].get("entities") or [] if e.get("curated", True)}
                                              - {e.lower() for e in ents})),
                data=json.dumps(display_record(c), ensure_ascii=False),
            )
            if progress and (pos % 500 == 0 or pos + 1 == len(claims)):
                progress(pos + 1, len(claims))
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    (target / "aliases.json").write_text(json.dumps(_alias_table(lex), ensure_ascii=False), encoding="utf-8")
    from evidence_cli.lexicon import shorthand, targets

    documents = {d["id"]: {"references": bool(d.get("references_available") or d.get("references")),
                           **({"note": d["references_note"]} if d.get("references_note") else {})}
                 for d in data.get("documents", [])}
    vocab = {"shorthand": shorthand(), "targets": targets(lex), "labels": {e.id: e.label for e in lex.values()},
             "genes": {e.id: e.extra["gene"] for e in lex.values() if e.extra.get("gene") in lex},
             "documents": documents}
    (target / "query.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    # the corpus's own words, lower-cased, towards which a typo ("colorectl") is corrected
    words = sorted({w.casefold() for c in claims if not c.get("orphaned")
                    for w in _VOCAB_WORD.findall(c["text"])})
    (target / "words.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    stamp = {"claims": str(claims_file.resolve()), "claims_sha256": target.name.split("-")[-1],
             "schema_version": INDEX_SCHEMA_VERSION, "claims_count": len(claims)}
    (target / "stamp.json").write_text(json.dumps(stamp), encoding="utf-8")


def open_index(
    claims_file: Path,
    index_root: Path,
    *,
    note: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    rebuild: bool = False,
) -> IndexHandle:
    """Open the fresh index for ``claims_file``, building it first when there is none (or ``rebuild``)."""
    from evidence_cli.paths import private_folder

    private_folder(index_root)
    digest = claims_digest(claims_file, index_root)
    name = _index_name(digest)
    final = index_root / name
    if not rebuild:
        handle = _try_open(final)
        if handle is not None:
            return handle
    from evidence_cli.store import load_claims_text

    # a broken claims file fails here, before any note; the parse cache beside the indexes spares unchanged claims
    data, text = load_claims_text(claims_file, cache_dir=index_root)
    if text_digest(text) != digest:  # the file changed since it was hashed: name the index by what is indexed
        digest = text_digest(text)
        name = _index_name(digest)
        final = index_root / name
    if not rebuild:
        if final.exists():
            if note:
                note(f"index at {final} is damaged; rebuilding")
        elif note:
            mine = str(claims_file.resolve())  # an older index of this claims file (others' do not make it stale)
            others = [p for p in index_root.glob("v*-*") if p.is_dir() and _stamp_claims(p) == mine]
            note("index is stale (claims changed); rebuilding" if others else f"building the index in {index_root}")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=index_root))  # 0700, as mkdtemp makes them
    except OSError as exc:
        raise IndexError_(f"{index_root}: cannot create the index folder ({exc.strerror}); "
                          "set --index-dir or $EVIDENCE_INDEX_DIR to a writable folder") from None
    umask = os.umask(0o077)  # index files 0600, whatever the user's umask
    try:
        try:
            build(claims_file, tmp / name, progress=progress, data=data)
        except OSError as exc:  # a full disk, a quota, a permission: one message, nothing half-built left
            raise IndexError_(f"{index_root}: cannot write the index ({exc.strerror or exc}); free some space or "
                              "set --index-dir or $EVIDENCE_INDEX_DIR to another folder") from None
        if final.exists() and (rebuild or _try_open(final) is None):
            # damaged, or a rebuild was asked for: move it aside (readers of the old one keep their open files)
            aside = index_root / f".old-{os.getpid()}-{name}"
            with contextlib.suppress(OSError):  # another process may have moved it first
                os.replace(final, aside)
            shutil.rmtree(aside, ignore_errors=True)
        try:
            os.replace(tmp / name, final)
        except OSError:
            if not final.exists():
                raise
            # another process finished the same build first: theirs is complete, ours is discarded
    finally:
        os.umask(umask)
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(index_root, keep=final, claims_file=claims_file)
    handle = _try_open(final)
    if handle is None:
        raise IndexError_(f"{final}: the index was built but cannot be opened; remove the folder and retry")
    handle.built = True
    return handle


def _index_name(claims_sha: str) -> str:
    """The index folder's name: the schema version, the lexicon it was built with (its aliases, shorthand and
    targets are in the index) and the claims file's SHA-256."""
    from evidence_cli.paths import LEXICON

    try:
        lexicon_sha = hashlib.sha256(LEXICON.read_bytes()).hexdigest()[:12]
    except OSError:
        lexicon_sha = "none"
    return f"v{INDEX_SCHEMA_VERSION}-l{lexicon_sha}-{claims_sha}"


def _try_open(folder: Path) -> IndexHandle | None:
    if not (folder / "stamp.json").is_file():
        return None
    try:
        from whoosh import index as windex

        ix = windex.open_dir(str(folder))
        searcher = ix.searcher()  # opens the segment files: a truncated index fails here
        searcher.doc_count()
        aliases = json.loads((folder / "aliases.json").read_text(encoding="utf-8"))
        vocab = json.loads((folder / "query.json").read_text(encoding="utf-8"))
        return IndexHandle(folder, ix, aliases, searcher, vocab=vocab)
    except Exception:  # whoosh raises many kinds on damaged files; any of them means "rebuild"
        return None


def _stamp_claims(folder: Path) -> str | None:
    try:
        return json.loads((folder / "stamp.json").read_text(encoding="utf-8")).get("claims")
    except (OSError, ValueError, AttributeError):
        return None


def _prune(root: Path, keep: Path, claims_file: Path) -> None:
    """Remove old indexes of this claims file (all but KEEP_OLD, for processes still reading them), and indexes
    of other claims files built more than STALE_DAYS ago (a rebuild is cheap); recent ones are left alone."""
    import time

    mine = str(claims_file.resolve())
    folders = [p for p in root.glob("v*-*") if p.is_dir() and p != keep]
    olds = sorted((p for p in folders if _stamp_claims(p) == mine), key=lambda p: p.stat().st_mtime)
    doomed = olds[: max(0, len(olds) - KEEP_OLD)]
    cutoff = time.time() - STALE_DAYS * 86400
    doomed += [p for p in folders if p not in olds and p.stat().st_mtime < cutoff]
    for p in doomed:
        shutil.rmtree(p, ignore_errors=True)
    from evidence_cli.store import parse_cache_path

    for p in root.glob("parsed-*.json"):
        with contextlib.suppress(OSError):
            if p != parse_cache_path(root, claims_file) and p.stat().st_mtime < cutoff:
                p.unlink()


@dataclass
class TermCoverage:
    """How the corpus covers one term of a query: the claims (within the filters) that match it, whether it is
    generic (in more than GENERIC_SHARE of all claims), and how a shorthand or class name was read."""

    label: str
    claims: int
    generic: bool
    reading: str | None = None
    widened: list[str] = dc_field(default_factory=list)  # prefixes searched for a word no claim uses
    incidental: bool = False  # an English function word ("after", "first"): not a gap when missing


@dataclass
class SearchResult:
    hits: list[dict]
    terms: list[TermCoverage]
    # specific terms that no passage of the best hits mentions with another specific term (None with fewer than
    # two specific terms, or when one of them has no claim at all)
    isolated: list[str] | None

    def coverage(self) -> list[dict]:
        """Each term as {"term", "claims", "generic"}: how JSON, batch, the API and MCP give it."""
        return [{"term": t.label, "claims": t.claims, "generic": t.generic} for t in self.terms]

    @property
    def specific(self) -> list[TermCoverage]:
        """The terms that tell claims apart: neither generic nor incidental."""
        return [t for t in self.terms if not t.generic and not t.incidental]

    @property
    def gaps(self) -> list[TermCoverage]:
        """Terms no claim mentions that matter: not one of the most frequent English words."""
        return [t for t in self.terms if t.claims == 0 and not t.incidental]


def run_query(handle: IndexHandle, plan, limit: int = 10, highlight: bool = True) -> list[dict]:
    """The hits of ``search``."""
    return search(handle, plan, limit=limit, highlight=highlight).hits


def search(handle: IndexHandle, plan, limit: int = 10, highlight: bool = True) -> SearchResult:
    """Search with a QueryPlan (see query_plan.py). Each hit is a display record with ``score``, ``matched`` and
    ``unmatched`` (the labels of the query's terms it does and does not match) and ``_highlights`` (the character
    spans to emphasise in a terminal, unless ``highlight`` is false); with each term's coverage of the corpus."""
    from whoosh import query as Q

    searcher = handle.searcher
    analyzer = handle.ix.schema["text"].analyzer
    n_docs = max(1, searcher.doc_count())
    filters = _filters(plan)
    allowed = set(searcher.docs_for_query(Q.And(filters))) if filters else None  # filters restrict, not rank
    specs = [_term_spec(searcher, analyzer, t) for t in plan.terms]
    for spec in specs:
        spec["generic"] = n_docs >= GENERIC_MIN_CLAIMS and len(spec["docs"]) > GENERIC_SHARE * n_docs
    specific = [x for x in specs if not x["generic"]]
    # generic words rank little and cost a lot: searched only when the query has nothing else; a generic name
    # still ranks, but a claim must match one of the specific terms when there are any
    scoring = ([x for x in specs if not x["generic"] or x["term"].entities] if specific else specs)
    stems = list(dict.fromkeys(st for x in scoring for st in x["stems"]))
    common = {st for st in stems if searcher.doc_frequency("text", st) > COMMON_TERM_SHARE * n_docs}
    if len(common) < len(stems) or any(x["term"].entities for x in scoring):
        stems = [st for st in stems if st not in common]
    terms = [("text", st, 1.0) for st in stems]
    terms += [("entity", e.lower(), 1.5) for e in dict.fromkeys(e for x in scoring for e in x["term"].entities)]
    within = (lambda docs: docs) if allowed is None else allowed.intersection
    hits: list[dict] = []
    pool = max(limit, RERANK_POOL) if stems else limit
    ranked = []  # (score, stored fields, docnum)
    if terms:
        idf = {st: searcher.idf("text", st) for st in stems}
        # coordination counts the query's terms (a word with its synonyms and forms, a name with its drugs)
        doc_groups = {i: x["docs"] for i, x in enumerate(scoring)} if len(scoring) > 1 else None
        matching = set().union(*(x["docs"] for x in specific or scoring))
        for docnum, score in top_scores(searcher, terms, pool, within(matching), coord=COORD,
                                        doc_groups=doc_groups):
            fields = searcher.stored_fields(docnum)
            if stems:  # passage-level evidence: a query word found only in a neighbouring sentence of the paragraph
                near = set(fields.get("near", "").split())
                score += sum(NEAR_BOOST * idf[st] for st in stems if st in near)
            ranked.append((score, fields, docnum))
        ranked.sort(key=lambda item: -item[0])
    elif not plan.terms:  # filters alone: document order
        results = searcher.search(Q.And(filters) if filters else Q.Every(), limit=pool, sortedby="pos")
        ranked = [(None, hit.fields(), hit.docnum) for hit in results]
    shown = {st for x in specs for st in x["stems"]}
    passages: dict[int, _Passage] = {}

    def passage(docnum: int, fields: dict) -> _Passage:
        if docnum not in passages:
            passages[docnum] = _Passage(docnum, fields, analyzer)
        return passages[docnum]

    for score, fields, docnum in ranked[:limit]:
        record = json.loads(fields["data"])
        record["score"] = round(score, 4) if score is not None else None  # filters alone do not rank
        if plan.terms:
            record["matched"] = [x["term"].label for x in specs if docnum in x["docs"]]
            record["unmatched"] = [x["term"].label for x in specs if docnum not in x["docs"]]
            nearby = [x["term"].label for x in specs if docnum not in x["docs"] and passage(docnum, fields).has(x)]
            if nearby:
                record["nearby"] = nearby  # found only in a neighbouring sentence of the paragraph
        if highlight:
            record["_highlights"] = _highlights(record, shown, set(plan.entities), analyzer)
        hits.append(record)
    from evidence_cli.query_plan import function_words

    common = function_words()
    for x in specs:
        t = x["term"]
        x["incidental"] = t.incidental or (not t.entities and t.reading is None and t.label.casefold() in common)
    coverage = [TermCoverage(x["term"].label, len(within(x["docs"])), x["generic"], x["term"].reading,
                             x["widened"], x["incidental"]) for x in specs]
    isolated = None
    specific = [x for x in specific if not x["incidental"]]
    if len(specific) > 1 and all(within(x["docs"]) for x in specific):
        # a specific term that no passage of the best hits (a claim with its neighbouring sentences) mentions
        # together with another specific term: the corpus speaks of it, but not in this question's context
        together: set[int] = set()
        for _, fields, docnum in ranked:
            found = [i for i, x in enumerate(specific) if docnum in x["docs"] or passage(docnum, fields).has(x)]
            if len(found) > 1:
                together.update(found)
        isolated = [x["term"].label for i, x in enumerate(specific) if i not in together]
    return SearchResult(hits, coverage, isolated)


class _Passage:
    """A claim with its neighbouring sentences, as stored in the index; its own stems are analysed once, when a
    phrase first needs them."""

    def __init__(self, docnum: int, fields: dict, analyzer) -> None:
        self.docnum = docnum
        self.fields = fields
        self.analyzer = analyzer
        self.near = set(fields.get("near", "").split())
        self.near_entities = set(fields.get("near_entities", "").split())
        self._stems: set[str] | None = None

    def has(self, spec: dict) -> bool:
        """Whether the claim or its neighbouring sentences mention a term."""
        if self.docnum in spec["docs"]:
            return True
        if any(e.lower() in self.near_entities for e in spec["term"].entities):
            return True
        if not self.near or not spec["phrases"]:
            return False
        if self._stems is None:
            self._stems = self.near | {t.text for t in self.analyzer(json.loads(self.fields["data"])["text"])}
        return any(all(forms & self._stems for forms in phrase) for phrase in spec["phrases"])


def _filters(plan) -> list:
    from whoosh import query as Q

    filters = []
    if plan.refs or plan.doc_refs:  # any of the numbers: plain ones in any document, DOC:N in that one
        filters.append(Q.Or([Q.Term("refs", str(r)) for r in plan.refs]
                            + [Q.And([Q.Term("doc", d), Q.Term("refs", str(r))]) for d, r in plan.doc_refs]))
    if plan.entity_filter:
        filters.append(Q.And([Q.Term("entity", e.lower()) for e in plan.entity_filter]))
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


_TOKEN = re.compile(r"\w+(?:\.?\w+)*")  # whoosh's RegexTokenizer default


def _term_spec(searcher, analyzer, term) -> dict:
    """A term's stems (with the corpus's other forms of each word) and the claims it matches: those mentioning
    one of its entities, or all the words of one of its phrases. A term no claim matches is tried again with
    each word also standing for the corpus's words that begin like it."""
    spec = _term_spec_once(searcher, analyzer, term, widen=False)
    return spec if spec["docs"] or term.entities else _term_spec_once(searcher, analyzer, term, widen=True)


def _term_spec_once(searcher, analyzer, term, widen: bool) -> dict:
    docs: set[int] = set()
    stems: list[str] = []
    widened: list[str] = []
    phrases: list[list[set[str]]] = []  # per phrase, per word: its forms
    for phrase in term.phrases:
        phrase_docs: set[int] | None = None
        phrases.append([])
        for word in _TOKEN.findall(phrase.casefold()):
            forms = [t.text for t in analyzer(word)]
            forms += [st for v in _inflections(word) for st in (t.text for t in analyzer(v))
                      if st not in forms and searcher.doc_frequency("text", st) > 0]
            split = _split_compound(searcher, analyzer, word) if widen else None
            if split:  # "cutoff" as the corpus writes it, "cut-off": both halves in the same claim
                widened.append(" ".join(split))
                halves = [set(t.text for t in analyzer(h)) for h in split]
                word_docs = set.intersection(*(set().union(*(posting_docs(searcher, "text", st) for st in h))
                                               for h in halves))
                phrase_docs = word_docs if phrase_docs is None else phrase_docs & word_docs
                stems.extend(st for h in halves for st in h)
                phrases[-1].extend(halves)
                continue
            if widen and len(forms[0]) >= WIDEN_MIN and not any(searcher.doc_frequency("text", st) for st in forms):
                # a word no claim uses ("synergy"): the corpus's words that begin like it ("synergize"), on a
                # prefix that keeps most of the word ("internal" does not become "inter…")
                prefix = forms[0][: max(WIDEN_MIN, -(-4 * len(forms[0]) // 5))]
                more = [t.decode("utf-8") for t in itertools.islice(searcher.reader().expand_prefix("text", prefix),
                                                                     50)]
                if more:
                    forms += more
                    widened.append(prefix)
            word_docs = set().union(*(posting_docs(searcher, "text", st) for st in forms))
            phrase_docs = word_docs if phrase_docs is None else phrase_docs & word_docs
            stems.extend(forms)
            phrases[-1].append(set(forms))
        docs |= phrase_docs or set()
    for e in term.entities:
        docs |= posting_docs(searcher, "entity", e.lower())
    word_docs_all: set[int] | None = None
    for word in term.rank_words:  # "PD-L1 expression" also ranks "expression", but matches only by the name
        forms = [t.text for t in analyzer(word)]
        stems.extend(forms)
        found = set().union(*(posting_docs(searcher, "text", st) for st in forms))
        word_docs_all = found if word_docs_all is None else word_docs_all & found
    if term.gene and word_docs_all:  # or by its gene with all the name's words: "expression of PD-L1"
        docs |= posting_docs(searcher, "entity", term.gene.lower()) & word_docs_all
    return {"term": term, "stems": list(dict.fromkeys(stems)), "docs": docs, "phrases": phrases, "widened": widened}


# English verbs whose past forms a stemmer cannot join ("binds" / "bound"): base, past, past participle
_IRREGULAR_VERBS = """arise arose arisen; become became become; begin began begun; bind bound bound; break broke broken;
bring brought brought; build built built; choose chose chosen; draw drew drawn; drive drove driven; fall fell fallen;
feed fed fed; find found found; give gave given; grow grew grown; hold held held; keep kept kept; know knew known;
lead led led; leave left left; lose lost lost; make made made; mean meant meant; rise rose risen; see saw seen;
seek sought sought; send sent sent; show showed shown; shrink shrank shrunk; spread spread spread; take took taken;
teach taught taught; think thought thought; undergo underwent undergone; withdraw withdrew withdrawn;
write wrote written"""
IRREGULAR: dict[str, set[str]] = {}
for _forms in _IRREGULAR_VERBS.split(";"):
    _base, _past, _participle = _forms.split()
    for _form in (_base, _base + "s", _past, _participle):
        IRREGULAR.setdefault(_form, set()).update({_base, _base + "s", _past, _participle} - {_form})


def _inflections(word: str) -> list[str]:
    """Other forms of an English word that a stemmer may not join ("upregulated" and "upregulation" stem apart;
    "binds" and "bound"): the same base with -s, -ed, -ing and, for verbs in -ate, -ation; the forms of an
    irregular verb. Only forms the corpus uses are searched."""
    if word in IRREGULAR:
        return sorted(IRREGULAR[word])
    if len(word) < 5 or not word.isalpha():
        return []
    bases = {word}
    for suffix in ("ations", "ation", "ates", "ated", "ating", "ate", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            stem = word[: -len(suffix)]
            bases.add(stem + "ate" if suffix.startswith("at") else stem)
            if suffix in ("ing", "ed", "es"):
                bases.add(stem + "e")
    out = set()
    for base in bases:
        root = base[:-1] if base.endswith("e") else base
        out.update({base, base + "s", root + "ed", root + "ing"})
        if base.endswith("ate"):
            out.update({base[:-1] + "ion", base[:-1] + "ions"})
    out.discard(word)
    return sorted(out)


def _split_compound(searcher, analyzer, word: str) -> tuple[str, str] | None:
    """A word no claim uses that the corpus writes as two ("cutoff" -> "cut", "off"): both halves are words of
    the corpus, the first of three letters or more; the longest first half wins."""
    if len(word) < 6 or not word.isalpha() or any(searcher.doc_frequency("text", t.text) for t in analyzer(word)):
        return None
    for i in range(len(word) - 2, 2, -1):
        head, tail = word[:i], word[i:]
        if all(searcher.doc_frequency("text", t.text) for part in (head, tail) for t in analyzer(part)):
            return head, tail
    return None


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
               doc_groups: dict | None = None) -> list[tuple[int, float]]:
    """The best ``k`` documents for an OR of ``terms`` (field, text, boost), as (docnum, score), best first and
    ties in claims-file order (the ``pos`` column: with two writer processes, docnums interleave). Scores are
    whoosh's BM25F: the same statistics and per-posting formula, summed over the terms (tests/test_scoring.py
    compares them with whoosh's own to 1e-12). With ``coord``, each score is then multiplied by the share of the
    terms the document matches, to that power (Lucene's classic coordination factor at 1); ``groups`` (one label
    per term) makes terms with the same label count once, e.g. a word and its synonyms; ``doc_groups`` (label ->
    the documents matching it) gives the groups' matches directly instead, e.g. for a phrase's words together.

    Term at a time over whole posting blocks: whoosh's own matcher tree costs a few microseconds per posting in
    Python and cannot prune when many claims tie (and then its top-k was seen to miss tied documents). This reads
    whoosh-reloaded 2.7's block arrays; on any other codec it falls back to scoring all matches through whoosh."""
    from collections import Counter

    scores: dict[int, float] = {}
    groups = groups or [f"{f}:{t}" for f, t, _ in terms]
    n_groups = len(set(groups))
    # docs matched per group: counted directly for a one-term group, as a set where synonyms could double-count
    matched: tuple[Counter, dict[str, set[int]]] | None = None
    if doc_groups is not None:
        n_groups = len(doc_groups)
    elif coord and n_groups > 1:
        matched = (Counter(), {g: set() for g in groups if groups.count(g) > 1})
    try:
        for sub, offset in searcher.leaf_searchers():
            _score_segment(searcher, sub.reader(), offset, terms, scores, matched, groups)
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
    pos = searcher.reader().column_reader("pos")
    return sorted(scores.items(), key=lambda item: (-item[1], pos[item[0]]))[:k]


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


def _score_segment(searcher, reader, offset: int, terms, scores: dict[int, float], matched, groups) -> None:
    if reader.has_deletions():
        raise _NoFastPath
    weighting = searcher.weighting
    get = scores.get
    for (field, text, boost), group in zip(terms, groups, strict=True):
        btext = searcher.schema[field].to_bytes(text)
        if (field, btext) not in reader:
            continue
        m = reader.postings(field, btext)
        if not all(hasattr(m, a) for a in ("_read_ids", "_read_weights", "_next_block", "_ids", "_weights")):
            raise _NoFastPath
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
                    docnum += offset
                    scores[docnum] = get(docnum, 0.0) + s
            else:  # whoosh's WeightScorer: the term's weight
                for docnum, tf in zip(m._ids, m._weights, strict=True):
                    docnum += offset
                    scores[docnum] = get(docnum, 0.0) + tf * boost
            if matched is not None:
                counts, sets = matched
                sets.get(group, counts).update(map(offset.__add__, m._ids))
            m._next_block()


def documents(handle: IndexHandle) -> list[str]:
    """The document ids in the index."""
    return sorted(t.decode("utf-8") for t in handle.searcher.lexicon("doc"))


def sections(handle: IndexHandle) -> list[str]:
    """The section ids in the index, in reading order (abstract, keywords, then by number), then the section
    titles (lower-cased), which a filter may name instead."""
    ids = sorted((t.decode("utf-8") for t in handle.searcher.lexicon("section")), key=_section_order)
    titles = sorted(t.decode("utf-8") for t in handle.searcher.lexicon("section_title"))
    return ids + [t for t in titles if t and t not in ids]


def _section_order(section: str) -> tuple:
    head = {"front": 0, "abstract": 1, "keywords": 2}
    if section in head:
        return (head[section], ())
    return (3, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in section.split(".")))


def _highlights(record: dict, stems: set[str], entities: set[str], analyzer) -> list[tuple[int, int]]:
    spans = [(e["start"], e["end"]) for e in record.get("entities") or [] if e["id"] in entities and "start" in e]
    if stems:
        for tok in analyzer(record["text"], chars=True, mode="index"):
            if tok.text in stems:
                spans.append((tok.startchar, tok.endchar))
    return sorted(set(spans))

