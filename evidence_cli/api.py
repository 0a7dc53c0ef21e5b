"""The Python API: the core the `evidence` command line is a thin layer over.

    from evidence_cli.api import Corpus

    corpus = Corpus()                                  # the claims file the CLI would use (or Corpus("papers.yaml"))
    result = corpus.query("TIM-3 ligands", limit=3)
    for hit in result.hits:
        print(hit.id, hit.refs, hit.text)
    result.notes                                       # what the CLI prints on stderr: readings, gaps
    corpus.regimens(against="tim3_upregulation")[0].basis

Every method returns typed objects (dataclasses) whose fields are the keys of the CLI's ``-f json`` output;
``to_dict()`` gives exactly that JSON object. Errors are the CLI's: ``UsageError`` for a bad argument,
``NotFoundError`` for an unknown claim, ``DataError`` for a broken claims file (all ``EvidenceError``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from evidence_cli.errors import DataError, EvidenceError, NotFoundError, UsageError

if TYPE_CHECKING:
    from evidence_cli.rows import Approval, Biomarker, CitationEntry, Document, Mechanism, Regimen, StoredClaim

__all__ = ["OMIT", "Approval", "Biomarker", "CitationEntry", "Claim", "Corpus", "DataError", "Document",
           "EvidenceError", "Mechanism", "NotFoundError", "QueryResult", "Regimen", "StoredClaim", "UsageError",
           "mechanism_ids"]


class _Omitted:
    """The default of a field the JSON leaves out where it does not apply (``pages`` of a text claim); false, so
    ``if hit.pages:`` reads as expected."""

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT: Any = _Omitted()

# The rows of the other commands are in evidence_cli.rows, imported when first asked for: a cold `evidence query`
# needs none of them, and defining a dataclass takes about half a millisecond.
_ROWS = ("StoredClaim", "Document", "CitationEntry", "Approval", "Mechanism", "Biomarker", "Regimen")


def __getattr__(name: str):
    if name in _ROWS:
        from evidence_cli import rows

        return getattr(rows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_ROWS])


@dataclass
class Record:
    """A typed row. ``extra`` holds keys a newer claims file or a curator added that this version does not name."""

    extra: dict = field(default_factory=dict, kw_only=True)

    _kind: ClassVar[str] = "record"

    @classmethod
    def from_dict(cls, row: dict):
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in row.items() if k in names}
        return cls(**known, extra={k: v for k, v in row.items() if k not in names and not k.startswith("_")})

    def to_dict(self) -> dict:
        """The object as the CLI's JSON prints it."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "extra" and getattr(self, f.name) is not OMIT}
        out.update(self.extra)
        return out


@dataclass
class Claim(Record):
    """A claim as a query, refs or entity row shows it."""

    id: str
    doc: str
    section: str
    section_title: str
    kind: str
    tier: str
    text: str
    refs: list[int]
    author_year: list[str]
    context_refs: list[int]
    context_from: list[str]
    hedged: bool
    hedging: dict
    entities: list[str]
    claims: list[str]
    pages: list[int] = OMIT
    curated_fields: list[str] = OMIT
    edited_since_ingest: bool = OMIT
    orphaned: bool = OMIT
    score: float | None = OMIT
    matched: list[str] = OMIT  # the query's terms the claim mentions
    unmatched: list[str] = OMIT  # and those it does not
    nearby: list[str] = OMIT  # terms found only in a neighbouring sentence
    reference: dict = OMIT  # refs N: the document's reference-list entry for N, where it was read
    sole_citation: bool = OMIT  # refs --single-source: no other claim cites that reference


@dataclass
class QueryResult:
    """The hits of a query, what stderr would say about it, and how the corpus covers each of its terms."""

    text: str
    hits: list[Claim]
    notes: list[str]
    coverage: list[dict]  # {"term", "claims", "generic"} per term
    corrections: dict[str, str]
    readings: dict[str, str]
    highlights: dict[str, list[tuple[int, int]]]  # claim id -> character spans of the matched words


class Corpus:
    """A claims file and its search index. Nothing is read until a method needs it; the index is built on the
    first query when there is none (``on_note`` hears "building the index …", ``progress`` its progress)."""

    def __init__(self, claims: str | Path | None = None, index_dir: str | Path | None = None, *,
                 engine: str | None = None,
                 on_note: Callable[[str], None] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        from evidence_cli import paths
        from evidence_cli.engines import engine_name

        self.claims_path = paths.claims_path(Path(claims) if claims is not None else None)
        self._index_dir = Path(index_dir) if index_dir is not None else None
        # an engine given here is checked now; $EVIDENCE_ENGINE only when an index is opened, so that a misspelt
        # variable does not stop commands that never search (show, refs, docs …)
        self.engine = engine_name(engine) if engine is not None else None
        self._on_note = on_note
        self._progress = progress
        self._data: dict | None = None
        self._handle = None
        self._stamp: tuple | None = None  # the claims file as last read: a changed file is read again

    def _fresh(self) -> None:
        """Forget what was read when the claims file changed since (a long-running notebook or MCP server must
        not answer from the old claims)."""
        import os

        try:
            st = os.stat(self.claims_path)
            stamp = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._data = None
            self._handle = None
            self._stamp = stamp

    # -- loading

    @property
    def data(self) -> dict:
        """The claims file, parsed and checked: {"schema_version", "documents", "claims"}."""
        self._fresh()
        if self._data is None:
            from evidence_cli.store import load_claims

            self._data = load_claims(self.claims_path)
        return self._data

    def data_for(self, docs: Iterable[str] | str | None = None) -> dict:
        """The data of some documents only (all when ``docs`` is empty); an unknown id is a UsageError."""
        docs = [_text("docs", d) for d in _many(docs)]
        data = self.data
        if not docs:
            return data
        known = [d["id"] for d in data["documents"]]
        unknown = [d for d in docs if d not in known]
        if unknown:
            raise UsageError(f"unknown document {unknown[0]!r}; documents here: {', '.join(known)} "
                             "(see `evidence docs`)")
        return {**data, "documents": [d for d in data["documents"] if d["id"] in docs],
                "claims": [c for c in data["claims"] if c["doc"] in docs]}

    @property
    def index(self):
        """The open search index (index.IndexHandle), built first when there is none."""
        self._fresh()
        if self._handle is None:
            from evidence_cli import index, paths

            self._handle = index.open_index(self.claims_path, paths.index_dir(self._index_dir), engine=self.engine,
                                            note=self._on_note, progress=self._progress)
        return self._handle

    # -- search

    def query(self, text: str = "", *, limit: int = 10, refs: Iterable[int] = (), entities: Iterable[str] = (),
              sections: Iterable[str] = (), kinds: Iterable[str] = (), tiers: Iterable[str] = (),
              docs: Iterable[str] = ()) -> QueryResult:
        """The claims that answer ``text`` (with the CLI's field syntax), best first, within the filters."""
        from evidence_cli import index as idx
        from evidence_cli.query_plan import check_filters, nothing_to_search, plan_query
        from evidence_cli.views.catalog import claim_row

        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
            raise UsageError(f"limit expects a whole number from 1 to 10,000, not {limit!r}")
        text = _text("text", text)
        refs = [_number("refs", r) for r in _many(refs)]
        entities, sections, kinds, tiers, docs = (
            [_text(name, v) for v in _many(values)] for name, values in
            (("entities", entities), ("sections", sections), ("kinds", kinds), ("tiers", tiers), ("docs", docs)))
        handle = self.index
        plan = plan_query(text, idx.matcher(handle), refs=refs, entities=entities, sections=sections,
                          kinds=[k.lower() for k in kinds], tiers=[t.lower() for t in tiers], docs=docs)
        if plan.empty:
            raise UsageError(nothing_to_search(text, "a filter such as --ref 45"))
        check_filters(plan, idx.sections(handle) if plan.sections else [],
                      idx.documents(handle) if plan.docs or plan.doc_refs else None)
        found = idx.search(handle, plan, limit=limit, highlight=True)
        rows = [claim_row(h) for h in found.hits]
        return QueryResult(
            text=text,
            hits=[Claim.from_dict(r) for r in rows],
            notes=query_notes(plan, found, idx.document_notes(handle)),
            coverage=found.coverage(),
            corrections=dict(plan.corrections),
            readings=dict(plan.readings),
            highlights={r["id"]: list(r.get("_highlights") or []) for r in rows},
        )

    # -- claims and references

    def show(self, claim_id: str) -> StoredClaim:
        """One claim with all its fields; NotFoundError (with close ids) for an unknown one."""
        from evidence_cli.rows import StoredClaim
        from evidence_cli.views.catalog import claim_row

        claim_id = _text("claim_id", claim_id)
        all_claims = self.data["claims"]
        pos = next((i for i, c in enumerate(all_claims) if c["id"] == claim_id), None)
        if pos is None:
            near = [c["id"] for c in all_claims if c["id"].startswith(claim_id.rsplit("-", 1)[0])][:5]
            hint = f"; did you mean {', '.join(near)}?" if near else "; find ids with `evidence query`"
            raise NotFoundError(f"no claim {claim_id!r}{hint}")
        claim = all_claims[pos]
        full = {k: v for k, v in claim.items() if k != "ingest_hash"}
        if claim_row(claim).get("edited_since_ingest"):
            full["edited_since_ingest"] = True
        full["claims"] = [claim["id"]]
        full["neighbours"] = [c["id"] for c in self.neighbours(claim_id)]
        return StoredClaim.from_dict(full)

    def neighbours(self, claim_id: str) -> list[dict]:
        """The stored claims just before and after a claim, in its document and section."""
        all_claims = self.data["claims"]
        pos = next(i for i, c in enumerate(all_claims) if c["id"] == claim_id)
        claim = all_claims[pos]
        return [c for c in all_claims[max(0, pos - 1): pos + 2]
                if c["id"] != claim_id and c["doc"] == claim["doc"] and c["section"] == claim["section"]]

    def refs(self, number: int | None = None, *, docs: Iterable[str] = ()) -> list[Claim] | list[CitationEntry]:
        """With ``number``: the claims citing it (each with its document's entry for it, where known). Without:
        the citation index, one entry per (document, reference number)."""
        from evidence_cli.rows import CitationEntry
        from evidence_cli.views.catalog import citation_index, claims_citing

        data = self.data_for(docs)
        if number is not None:
            _number("number", number)
            return [Claim.from_dict(r) for r in claims_citing(number, data["claims"], data["documents"])]
        return [CitationEntry.from_dict(r) for r in citation_index(data["claims"], data["documents"])]

    def single_source(self, *, docs: Iterable[str] = ()) -> list[Claim]:
        """Claims whose support is one reference number."""
        from evidence_cli.views.catalog import single_source

        return [Claim.from_dict(r) for r in single_source(self.data_for(docs)["claims"])]

    def docs(self) -> list[Document]:
        """The documents of the corpus, with the metadata each has."""
        from evidence_cli.rows import Document

        data = self.data
        counts: dict[str, int] = {}
        for c in data["claims"]:
            if not c.get("orphaned"):
                counts[c["doc"]] = counts.get(c["doc"], 0) + 1
        rows = []
        for d in data["documents"]:
            row: dict = {"doc": d["id"]}
            for key in ("title", "authors", "year", "doi", "licence", "pages"):
                if d.get(key):
                    row[key] = d[key]
            row["claim_count"] = counts.get(d["id"], 0)
            if d.get("references"):  # the entries of its reference list, where one was read (else not known)
                row["reference_count"] = len(d["references"])
            row["source"] = d["path"]
            if d.get("extracted"):
                row["extracted"] = d["extracted"]
            rows.append(Document.from_dict(row))
        return rows

    # -- views

    def approvals(self, drug: str | None = None, *, docs: Iterable[str] = ()) -> list[Approval]:
        """Regulatory approvals the corpus states, one per drug(s) and indication."""
        from evidence_cli.rows import Approval

        drug = None if drug is None else _text("drug", drug)
        rows = self._view("approvals", docs, drug=drug, documents=self.data_for(docs)["documents"])
        for r in rows:
            r["drug"] = (" + ".join(r["drugs"]) + (f" ({r['assay']})" if r.get("assay") else "")
                         + hedge_mark(r["hedged"], r["hedge_cues"]))
        return [Approval.from_dict(r) for r in rows]

    def resistance(self, *, docs: Iterable[str] = ()) -> list[Mechanism]:
        """Resistance mechanisms, their players and the counter-strategies the documents link to them."""
        from evidence_cli.rows import Mechanism

        return [Mechanism.from_dict(r) for r in self._view("resistance", docs)]

    def biomarkers(self, *, docs: Iterable[str] = ()) -> list[Biomarker]:
        """Predictive biomarkers with the numbers reported and the caveats."""
        from evidence_cli.rows import Biomarker

        return [Biomarker.from_dict(r) for r in self._view("biomarkers", docs)]

    def regimens(self, against: str | None = None, with_drug: str | None = None, *,
                 docs: Iterable[str] = ()) -> list[Regimen]:
        """Combination regimens with their rationale chains; ``against`` a mechanism id (`mechanism_ids()`)."""
        from evidence_cli.rows import Regimen

        against = None if against is None else _text("against", against)
        with_drug = None if with_drug is None else _text("with_drug", with_drug)
        if against is not None and against not in mechanism_ids():
            raise UsageError(f"unknown mechanism {against!r}; choose from {', '.join(mechanism_ids())}")
        return [Regimen.from_dict(r) for r in self._view("regimens", docs, against=against, with_drug=with_drug)]

    def _view(self, name: str, docs: Iterable[str], **options) -> list[dict]:
        """A domain view's rows, each document apart, with the claims a person edited named on each row."""
        from evidence_cli.views import domain

        data = self.data_for(docs)
        return _edited(domain.per_document(getattr(domain, name), data["claims"], **options), data)

    def verify(self, note: str, *, name: str = "note") -> list:
        """Check every quoted claim of a markdown note against the claims (see verify.py)."""
        from evidence_cli.verify import verify_note

        return verify_note(_text("note", note), self.data["claims"], name=name)


def _many(values) -> list:
    """A filter's values: one value or several ("docs='wong2017'" is one document, not eight letters)."""
    if values is None:
        return []
    if isinstance(values, (str, int)):
        return [values]
    return list(values)


def _text(name: str, value) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{name} expects text, not {type(value).__name__} {value!r}")
    return value


def _number(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{name} expects whole numbers of 1 or more, not {value!r}")
    return value


def mechanism_ids() -> list[str]:
    """The ids of the resistance mechanisms the tool knows (data/mechanisms.yaml)."""
    from evidence_cli.views.domain import mechanism_rules

    return [m["id"] for m in mechanism_rules()["mechanisms"]]


def hedge_mark(hedged: bool, cues: list[str]) -> str:
    """" [hedged: might]" after a label, or nothing."""
    if not hedged:
        return ""
    return f" [hedged: {', '.join(cues)}]" if cues else " [hedged]"


def _edited(rows: list[dict], data: dict) -> list[dict]:
    """Give each view row ``edited_claims``: the ids among the claims it rests on that a person changed."""
    from evidence_cli.views.catalog import edit_notes, row_claim_ids

    notes = edit_notes(data["claims"])
    for r in rows:
        edited = [cid for cid in row_claim_ids(r) if cid in notes]
        if edited:
            r["edited_claims"] = edited
    return rows


def query_notes(plan, result, documents: dict[str, dict]) -> list[str]:
    """What stderr says about a query: how shorthand and typos were read, reference questions, and what the corpus
    does not cover (a term no claim mentions, or none mentioning the terms together)."""
    from evidence_cli.index import GENERIC_SHARE

    notes = [f"reading {short!r} as {means}" for short, means in plan.readings.items()]
    notes += [f"searching {fixed!r} for {typo!r}" for typo, fixed in plan.corrections.items()]
    wanted = plan.docs or list(documents)
    missing = [d for d in wanted if not documents.get(d, {}).get("references")]
    for asked in plan.ref_questions:
        command = f"`evidence refs {' '.join(map(str, plan.refs))}`"
        notes.append(f"{asked!r} is read as a reference number: the claims citing it ({command} lists them"
                     + (" with the reference's entry" if len(missing) < len(wanted) else "") + ")")
    if plan.ref_questions and missing:
        notes.append(f"the reference list of {', '.join(missing)} is not in the corpus, so what a number stands for "
                     "is not known here" + "".join(f" ({d}: {documents[d]['note']})" for d in missing
                                                   if documents.get(d, {}).get("note")))
    scope = " within the filters" if (plan.refs or plan.entity_filter or plan.docs or plan.doc_refs or plan.sections
                                      or plan.kinds or plan.tiers) else ""
    for t in result.terms:
        for prefix in t.widened:
            notes.append(f"no claim uses {t.label!r}; searching " + (repr(prefix) if " " in prefix else
                                                                     f"the words that begin {prefix + '…'!r}"))
    for t in result.gaps:
        notes.append(f"no claim{scope} mentions {t.label!r}" + (f" (read as {t.reading})" if t.reading else ""))
    specific = result.specific
    if result.isolated:
        others = [t.label for t in specific if t.label not in result.isolated]
        if len(specific) == 2:
            notes.append(f"no sentence (with its neighbours) mentions {specific[0].label!r} and "
                         f"{specific[1].label!r} together; each hit names the terms it does not match")
        elif others:
            notes.append("no sentence (with its neighbours) mentions " + " or ".join(map(repr, result.isolated))
                         + " together with " + ", ".join(map(repr, others)) + "; each hit names the terms it does "
                         "not match")
        else:
            notes.append("no sentence (with its neighbours) mentions two of " + ", ".join(map(repr, result.isolated))
                         + " together; each hit names the terms it does not match")
    if result.terms and all(t.generic for t in result.terms):
        names = " and ".join(repr(t.label) for t in result.terms)
        notes.append(f"{names} {'each occur' if len(result.terms) > 1 else 'occurs'} in more than "
                     f"{GENERIC_SHARE:.0%} of the claims, so the hits are loosely related: add a more specific word")
    return notes
