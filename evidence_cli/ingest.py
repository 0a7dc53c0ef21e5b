"""The ingest pipeline: corpus documents -> cleaned sentences -> citation-tagged claims -> claims.yaml."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evidence_cli import store
from evidence_cli.citations import author_year_refs, numbered_refs
from evidence_cli.corpus import DocMeta, Sentence, read_document, segment
from evidence_cli.errors import DataError, Problem


@dataclass
class IngestReport:
    path: Path
    documents: list[str] = field(default_factory=list)
    claims: int = 0
    kept: dict[str, int] = field(default_factory=dict)  # other documents' claims left as they were
    written: bool = False
    notes: list[str] = field(default_factory=list)


def section_slug(section: str) -> str:
    return {"abstract": "abs", "keywords": "kw", "front": "front"}.get(section, section)


def build_claims(meta: DocMeta, sentences: list[Sentence]) -> list[dict]:
    """Claims (plain dicts, in file order) for one document's sentences."""
    claims: list[dict] = []
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
            "refs": numbered_refs(s.text),
            "author_year": author_year_refs(s.text),
            "context_refs": [],
            "context_from": [],
            "span": [s.start, s.end],
        }
        if s.figure is not None:
            claim["figure"] = s.figure
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
    progress: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
) -> tuple[IngestReport, str]:
    """Ingest ``sources`` into the claims file ``out`` (kept curated edits; other documents' claims untouched).

    ``tag`` annotates the claims in place (entities, hedging, kind, tier, numbers). Returns the report and the
    YAML text; the file is written atomically unless ``dry_run`` or nothing changed. With ``cache_dir`` (the
    index cache), the parsed claims are also remembered there (store.write_parse_cache), so neither the next
    index build nor the next ingest parses the YAML again.
    """
    if not sources:
        raise DataError(Problem("corpus", None, "no .txt documents found; pass SOURCE files or a folder"))
    old: dict = {"schema_version": store.SCHEMA_VERSION, "documents": [], "claims": []}
    old_text = None
    if out.exists():
        old_text = out.read_text(encoding="utf-8", errors="replace")
        try:
            old = store.load_claims(out, cache_dir=cache_dir)
        except DataError as exc:
            exc.problems.append(Problem(str(out), None, "left as it is: fix it (see `evidence validate`) or move it"))
            raise DataError(exc.problems) from None
    report = IngestReport(out)
    new_docs: list[dict] = []
    new_claims: list[dict] = []
    seen_ids: set[str] = set()
    for path in sources:
        if progress:
            progress(f"reading {path}")
        meta, raw = read_document(path)
        if meta.id in seen_ids:
            raise DataError(Problem(str(path), None, f"document id {meta.id!r} is used twice; set `id:` in its .yaml"))
        seen_ids.add(meta.id)
        meta.path = _relative(path, out)
        claims = build_claims(meta, segment(raw, meta))
        if not claims:
            raise DataError(Problem(str(path), None, "no sentences found; is this the extracted text?"))
        new_docs.append(meta.to_dict())
        new_claims.extend(claims)
        report.documents.append(meta.id)
    if tag is not None:
        if progress:
            progress(f"tagging {len(new_claims)} claims")
        tag(new_claims)
    old_claims_same_docs = [c for c in old["claims"] if c.get("doc") in seen_ids]
    merged, notes = store.merge_curation(new_claims, old_claims_same_docs)
    report.notes = notes
    docs = [d for d in old["documents"] if d["id"] not in seen_ids] + new_docs
    order = {d["id"]: i for i, d in enumerate(docs)}
    kept_claims = [c for c in old["claims"] if c.get("doc") not in seen_ids]
    for c in kept_claims:
        report.kept[c["doc"]] = report.kept.get(c["doc"], 0) + 1
    claims = sorted(kept_claims + merged, key=lambda c: order.get(c["doc"], len(order)))
    data = {"schema_version": store.SCHEMA_VERSION, "documents": docs, "claims": claims}
    text = store.dump_claims(data)
    if not store._quick_ok(data):
        # never write a file `evidence validate` would reject: say what is wrong, and where it came from
        problems = store.validate_text(text, str(out))[1] or [Problem(str(out), None, "invalid claims")]
        sources_named = ", ".join(str(p) for p in sources)
        raise DataError([Problem(str(out), None, f"not written: ingesting {sources_named} would make it invalid "
                                 f"(check the document metadata .yaml): {p.message}") for p in problems[:5]])
    report.claims = len(merged)
    if not dry_run and text != old_text:
        store.atomic_write_text(out, text)
        report.written = True
    if not dry_run and cache_dir is not None:
        store.write_parse_cache(cache_dir, out, text, data)
    return report, text
