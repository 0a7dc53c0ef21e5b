"""The ingest pipeline: corpus documents -> cleaned sentences -> citation-tagged claims -> claims.yaml."""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evidence_cli import store
from evidence_cli.citations import author_year_refs, numbered_refs
from evidence_cli.corpus import DocMeta, Reference, Sentence, read_document, segment_document
from evidence_cli.errors import DataError, Problem
from evidence_cli.layout import is_title_line

PDF_SUFFIXES = (".pdf",)
TEXT_SUFFIXES = (".txt", ".md", ".text")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>\]\[]+)")
_PMID = re.compile(r"\bPMID:?\s*(\d{5,9})\b")
_CC = re.compile(r"Creative Commons Attribution((?:[- ]Non[- ]?Commercial)?(?:[- ]No[- ]?Deriv(?:ative)?s?)?"
                 r"(?:[- ]Share[- ]?Alike)?)\s+(\d\.\d)|\bCC[- ]BY((?:-NC)?(?:-ND)?(?:-SA)?)\s+(\d\.\d)",
                 re.IGNORECASE)
_CITATION_YEAR = re.compile(r"\(((?:19|20)\d\d)\)\s*\d+\s*[:(]")
_COPYRIGHT_YEAR = re.compile(r"©\s*(?:The Author\(s\)\s*)?((?:19|20)\d\d)")


@dataclass
class IngestReport:
    path: Path
    documents: list[str] = field(default_factory=list)
    claims: int = 0
    kept: dict[str, int] = field(default_factory=dict)  # other documents' claims left as they were
    written: bool = False
    notes: list[str] = field(default_factory=list)
    text: str | None = None  # with dry_run: the YAML text that would be written


def section_slug(section: str) -> str:
    return {"abstract": "abs", "keywords": "kw", "front": "front"}.get(section, section)


@dataclass
class Source:
    """A document read and cut into sentences, before it becomes claims."""

    meta: DocMeta
    raw: str  # the text the spans point into: the file, or the text extracted from a PDF
    sentences: list[Sentence]
    references: list[Reference]
    sections: dict[str, str] = field(default_factory=dict)
    extracted: bool = False  # raw was extracted from a PDF and is kept beside the claims file


def read_source(path: Path) -> Source:
    """Read one corpus document (PDF or text) and cut it into sentences and reference-list entries."""
    if path.suffix.lower() in PDF_SUFFIXES:
        from evidence_cli.pdf import read_pdf

        meta = document_meta(path)
        pdf = read_pdf(path)
        seg = segment_document(pdf.text, meta, pdf.lines)
        _pdf_metadata(meta, pdf, seg.authors)
        return Source(meta, pdf.text, seg.sentences, seg.references, seg.sections, extracted=True)
    if path.suffix and path.suffix.lower() not in TEXT_SUFFIXES:
        raise DataError(Problem(str(path), None, f"{path.suffix} files are not read; pass a .pdf, .txt or .md "
                                "document (convert others to text first)"))
    meta, raw = read_document(path)
    if not meta.title:  # a text's first line, when it is shaped like a title ("# Title" in markdown), is its title
        first = next((line.strip() for line in raw.splitlines() if line.strip()), "")
        heading = first.lstrip("#").strip() if first.startswith("# ") else first
        if is_title_line(heading, 25) or (first.startswith("# ") and heading):
            meta.title = heading
    seg = segment_document(raw, meta)
    return Source(meta, raw, seg.sentences, seg.references, seg.sections)


def document_meta(path: Path) -> DocMeta:
    """The metadata of a binary document (its hash, its sidecar .yaml), without reading it as text."""
    import hashlib

    from evidence_cli.corpus import read_bytes, read_sidecar

    return read_sidecar(path, hashlib.sha256(read_bytes(path)).hexdigest())


def _pdf_metadata(meta: DocMeta, pdf, pdf_authors: list[str]) -> None:
    """Fill what the sidecar left out from the PDF's own metadata and its first pages, as printed there."""
    info = pdf.metadata
    first = "\n".join(line.text for line in pdf.lines if line.page <= 2)
    if not meta.title and info.get("Title", "").strip():
        meta.title = " ".join(info["Title"].split())
    if not meta.authors and len(pdf_authors) >= 2:
        meta.authors = pdf_authors  # the first page's author line (PDF metadata often names only the first)
    if not meta.authors and info.get("Author", "").strip():
        meta.authors = [a.strip() for a in re.split(r";|\band\b", info["Author"]) if a.strip()]
    if not meta.doi:
        m = _DOI.search(" ".join(info.get(k, "") for k in ("Subject", "Keywords", "Title"))) or _DOI.search(first)
        if m:
            meta.doi = m.group(1).rstrip(".,;)")
    whole = " ".join(line.text for line in pdf.lines)  # the licence box may close the article
    if not meta.licence:
        m = _CC.search(first.replace("\n", " ")) or _CC.search(whole)
        if m:
            variant = (m.group(1) if m.group(2) else m.group(3)) or ""
            short = "".join(tag for word, tag in (("non[- ]?commercial", "-NC"), ("no[- ]?deriv", "-ND"),
                                                  ("share", "-SA"))
                            if re.search(rf"(?:^|[- ]){word}", variant, re.IGNORECASE))
            if re.search(r"-NC|-ND|-SA", variant):  # the short form as printed: CC BY-NC-ND 4.0
                short = variant.upper()
            meta.licence = f"CC BY{short} {m.group(2) or m.group(4)}"
    if meta.year is None:  # the journal citation's year ("(2024) 22:5"), else the copyright year
        m = _CITATION_YEAR.search(first) or _COPYRIGHT_YEAR.search(first) or _COPYRIGHT_YEAR.search(whole)
        if m:
            meta.year = int(m.group(1))
    meta.pages = pdf.pages


def reference_list(references: list[Reference]) -> list[dict]:
    """The reference list as stored with the document: number, text as printed, DOI and PMID where printed."""
    out = []
    for r in references:
        entry: dict = {"n": r.n, "text": r.text}
        doi = _DOI.search(r.text.replace("\u200b", ""))
        if doi:
            entry["doi"] = doi.group(1).rstrip(".,;)")
        pmid = _PMID.search(r.text)
        if pmid:
            entry["pmid"] = pmid.group(1)
        out.append(entry)
    return out


def build_claims(meta: DocMeta, sentences: list[Sentence], raw: str | None = None, paged: bool = False) -> list[dict]:
    """Claims (plain dicts, in file order) for one document's sentences. With ``raw`` holding page breaks
    (form feeds), each claim also gets the pages it stands on."""
    claims: list[dict] = []
    page_starts = [0, *(m.end() for m in re.finditer("\f", raw))] if raw and (paged or "\f" in raw) else []
    counters: dict[str, int] = {}
    used: set[str] = set()
    for s in sentences:
        if s.kind == "figure":
            cid = f"{meta.id}-fig{s.figure}"
            n = 2
            while cid in used:  # two captions numbered alike (a misprint): keep both, distinct
                cid, n = f"{meta.id}-fig{s.figure}-{n}", n + 1
            used.add(cid)
        else:
            counters[s.section] = counters.get(s.section, 0) + 1
            cid = f"{meta.id}-{section_slug(s.section)}-{counters[s.section]:02d}"
        claim: dict = {
            "id": cid,
            "doc": meta.id,
            "section": s.section,
            "section_title": s.section_title,
            "paragraph": s.paragraph,
            "kind": s.kind,
            "text": s.text,
            "refs": sorted(set(numbered_refs(s.text)) | set(s.sup_refs)),
            "author_year": author_year_refs(s.text),
            "context_refs": [],
            "context_from": [],
            "span": [s.start, s.end],
        }
        if s.figure is not None:
            claim["figure"] = s.figure
        if page_starts:
            first = bisect.bisect_right(page_starts, s.start)
            last = bisect.bisect_right(page_starts, s.end - 1)
            claim["pages"] = list(range(first, last + 1))
        claims.append(claim)
    _add_context_refs(claims)
    return claims


def _add_context_refs(claims: list[dict]) -> None:
    """A sentence with no citation of its own gets, as context, the refs of the nearest cited sentence in its
    paragraph (the preceding one when two are as near). Never merged into ``refs``."""
    by_para: dict[tuple[str, int], list[dict]] = {}
    for c in claims:
        if c["kind"] == "text":
            by_para.setdefault((c["section"], c["paragraph"]), []).append(c)
    for para in by_para.values():
        before: list[int | None] = []  # the nearest cited sentence at or before each position, and after it
        last = None
        for i, p in enumerate(para):
            last = i if p["refs"] else last
            before.append(last)
        after: list[int | None] = [None] * len(para)
        last = None
        for i in range(len(para) - 1, -1, -1):
            last = i if para[i]["refs"] else last
            after[i] = last
        for i, c in enumerate(para):
            if c["refs"] or c["author_year"]:
                continue
            b, a = before[i], after[i]
            nearest = b if a is None or (b is not None and i - b <= a - i) else a
            if nearest is not None:
                source = para[nearest]
                c["context_refs"] = list(source["refs"])
                c["context_from"] = [source["id"]]


def extracted_path(claims_file: Path, doc_id: str) -> Path:
    """Where the text extracted from a PDF document is kept: ``extracted/<doc>.txt`` beside the claims file."""
    return claims_file.parent / "extracted" / f"{doc_id}.txt"


def _relative(path: Path, to: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), to.resolve().parent)).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def ingest(
    sources: list[Path],
    out: Path,
    *,
    tag: Callable[[list[dict]], None] | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int, Path | None], None] | None = None,
    cache_dir: Path | None = None,
) -> IngestReport:
    """Ingest ``sources`` into the claims file ``out`` (kept curated edits; other documents' claims untouched).

    ``tag`` annotates the claims in place (entities, hedging, kind, tier, numbers). Returns the report (with
    ``dry_run``, holding the YAML text instead of writing it); the file is written atomically, a claim at a time,
    unless nothing changed. With ``cache_dir`` (the index cache), the parsed claims are also remembered there
    (store.write_claims), so neither the next index build nor the next ingest parses the YAML again.
    """
    if not sources:
        raise DataError(Problem("corpus", None, "no .pdf, .txt or .md documents found; pass SOURCE files or a "
                                "folder"))
    if cache_dir is not None:
        from evidence_cli.paths import private_folder

        private_folder(cache_dir)  # the parse cache is read from there: only from a folder of the user's own
    old: dict = {"schema_version": store.SCHEMA_VERSION, "documents": [], "claims": []}
    if out.exists():
        try:
            old = store.load_claims(out, cache_dir=cache_dir)
        except DataError as exc:
            exc.problems.append(Problem(str(out), None, "left as it is: fix it (see `evidence validate`) or move it"))
            raise DataError(exc.problems) from None
    report = IngestReport(out)
    new_docs: list[dict] = []
    new_claims: list[dict] = []
    seen_ids: dict[str, Path] = {}
    extracted: dict[Path, str] = {}  # text extracted from PDFs, kept beside the claims file
    problems: list[Problem] = []
    for n, path in enumerate(sources):
        if progress:
            progress(n, len(sources), path)
        try:
            src = read_source(path)
        except DataError as exc:  # read every file, so one run names every bad one; then write nothing
            problems.extend(exc.problems)
            continue
        meta = src.meta
        if meta.id in seen_ids:
            problems.append(Problem(str(path), None, f"document id {meta.id!r} is also the id of "
                                    f"{seen_ids[meta.id]}; set a distinct `id:` in {path.with_suffix('.yaml')}"))
            continue
        seen_ids[meta.id] = path
        meta.path = _relative(path, out)
        if src.extracted:
            target = extracted_path(out, meta.id)
            meta.extracted = _relative(target, out)
            extracted[target] = src.raw
        sentences = [x for x in src.sentences if len(x.text) <= store.MAX_TEXT]
        if len(sentences) < len(src.sentences):  # a table or a list read as one "sentence": not prose to quote
            report.notes.append(f"{path}: left out {len(src.sentences) - len(sentences)} text block(s) longer "
                                f"than {store.MAX_TEXT} characters with no sentence end")
        claims = build_claims(meta, sentences, src.raw, paged=src.extracted)
        if not claims:
            problems.append(Problem(str(path), None, "no sentences found; is this the document's text?"))
            continue
        doc = meta.to_dict()
        if src.references:
            doc["references_available"] = True
            doc["references"] = reference_list(src.references)
        if any("." in number for number in src.sections):  # the outline of a document with subsections
            doc["sections"] = dict(src.sections)
        new_docs.append(doc)
        new_claims.extend(claims)
        report.documents.append(meta.id)
    if progress:
        progress(len(sources), len(sources), None)
    if problems:
        if len(sources) > 1:
            problems.append(Problem(str(out), None, "not written: nothing from this run was ingested; fix or leave "
                                    "out the files above and run `evidence ingest` again"))
        raise DataError(problems)
    if tag is not None:
        tag(new_claims)
    old_claims_same_docs = [c for c in old["claims"] if c.get("doc") in seen_ids]
    merged, notes = store.merge_curation(new_claims, old_claims_same_docs)
    report.notes += notes
    docs = [d for d in old["documents"] if d["id"] not in seen_ids] + new_docs
    order = {d["id"]: i for i, d in enumerate(docs)}
    kept_claims = [c for c in old["claims"] if c.get("doc") not in seen_ids]
    for c in kept_claims:
        report.kept[c["doc"]] = report.kept.get(c["doc"], 0) + 1
    claims = sorted(kept_claims + merged, key=lambda c: order.get(c["doc"], len(order)))
    data = {"schema_version": store.SCHEMA_VERSION, "documents": docs, "claims": claims}
    if not store._quick_ok(data):
        # never write a file `evidence validate` would reject: say what is wrong, and where it came from
        problems = (store.validate_text(store.dump_claims(data), str(out))[1]
                    or [Problem(str(out), None, "invalid claims")])
        sources_named = ", ".join(str(p) for p in sources)
        raise DataError([Problem(str(out), None, f"not written: ingesting {sources_named} would make it invalid "
                                 f"(check the document metadata .yaml): {p.message}") for p in problems[:5]])
    report.claims = len(merged)
    if not dry_run:
        for target, content in extracted.items():
            if not target.is_file() or target.read_text(encoding="utf-8", errors="replace") != content:
                target.parent.mkdir(parents=True, exist_ok=True)
                store.atomic_write_text(target, content)
    if dry_run:
        report.text = store.dump_claims(data)
    else:  # (the text is never held whole: a million claims' would be 1.5 GB)
        report.written = store.write_claims(out, data, cache_dir)
    return report
