"""Batch lookups: one query per input line, plain text or a JSON object; one result per line, in order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from evidence_cli.errors import EvidenceError

MAX_LIMIT = 1000
FIELDS = {"id", "query", "limit", "ref", "entity", "section", "kind", "tier", "doc"}


@dataclass
class BatchQuery:
    id: object
    query: str
    limit: int = 5
    refs: list[int] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)


class LineError(Exception):
    def __init__(self, qid: object, message: str) -> None:
        super().__init__(message)
        self.qid = qid


def _as_list(value, kind: type, name: str, qid) -> list:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if kind is int:
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise LineError(qid, f"{name} must be a positive whole number (or a list of them), got {item!r}")
        elif not isinstance(item, str) or not item.strip():
            raise LineError(qid, f"{name} must be a non-empty string (or a list of them), got {item!r}")
        out.append(item)
    return out


def parse_line(line: str, lineno: int, default_limit: int = 5) -> BatchQuery:
    """A plain-text query, or a JSON object {"id", "query", "limit", "ref", "entity", "section", "kind", "tier",
    "doc"}.
    The id defaults to the line number. Raises LineError with the id to echo."""
    text = line.strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LineError(lineno, f"line {lineno}: contains characters that are not valid Unicode text") from None
    if not text.startswith(("{", "[")):
        return BatchQuery(id=lineno, query=text, limit=default_limit)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError(lineno, f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise LineError(lineno, f"line {lineno}: a JSON line must be an object with a \"query\"")
    qid = obj.get("id", lineno)
    if isinstance(qid, str):
        try:
            qid.encode("utf-8")
        except UnicodeEncodeError:
            qid = lineno
    if not isinstance(qid, str | int) or isinstance(qid, bool):
        raise LineError(lineno, f"line {lineno}: id must be a string or a number")
    unknown = sorted(set(obj) - FIELDS)
    if unknown:
        raise LineError(qid, f"unknown field(s) {', '.join(unknown)}; use {', '.join(sorted(FIELDS))}")
    query = obj.get("query", "")
    if not isinstance(query, str):
        raise LineError(qid, "query must be a string")
    limit = obj.get("limit", default_limit)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise LineError(qid, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return BatchQuery(
        id=qid, query=query, limit=limit,
        refs=_as_list(obj["ref"], int, "ref", qid) if "ref" in obj else [],
        entities=_as_list(obj["entity"], str, "entity", qid) if "entity" in obj else [],
        sections=_as_list(obj["section"], str, "section", qid) if "section" in obj else [],
        kinds=[k.lower() for k in _as_list(obj["kind"], str, "kind", qid)] if "kind" in obj else [],
        tiers=[t.lower() for t in _as_list(obj["tier"], str, "tier", qid)] if "tier" in obj else [],
        docs=_as_list(obj["doc"], str, "doc", qid) if "doc" in obj else [],
    )


def run_batch(lines: Iterable[str | bytes], handle, default_limit: int = 5) -> Iterator[dict]:
    """Yield one result per non-blank input line, in order: {"id", "query", "hits"} (plus "corrections" when a
    misspelt name was corrected, "readings" for shorthand, and "coverage" and "uncovered": each term's number of
    matching claims, and the terms no claim mentions) or {"id", "error"}. Lines may be bytes: a line that is not
    UTF-8 is an error of its own."""
    from evidence_cli import index
    from evidence_cli.query_plan import check_filters, plan_query
    from evidence_cli.views.catalog import claim_row

    matcher = index.matcher(handle)
    sections = index.sections(handle)
    documents = index.documents(handle)
    for lineno, raw in enumerate(lines, 1):
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield {"id": lineno, "error": f"line {lineno}: not valid UTF-8"}
                continue
        else:
            line = raw
        if not line.strip():
            continue
        qid: object = lineno
        try:
            q = parse_line(line, lineno, default_limit)
            qid = q.id
            try:
                q.query.encode("utf-8")
            except UnicodeEncodeError:
                raise LineError(q.id, "query contains characters that are not valid Unicode text") from None
            plan = plan_query(q.query, matcher, refs=q.refs, entities=q.entities, sections=q.sections, kinds=q.kinds,
                              tiers=q.tiers, docs=q.docs)
            if plan.empty:
                raise LineError(q.id, "nothing to search for: give a query or a filter")
            check_filters(plan, sections, documents)
            found = index.search(handle, plan, limit=q.limit, highlight=False)
            hits = [{k: v for k, v in claim_row(h).items() if not k.startswith("_")} for h in found.hits]
            result = {"id": q.id, "query": q.query, "hits": hits}
            if plan.corrections:
                result["corrections"] = plan.corrections
            if plan.readings:
                result["readings"] = plan.readings
            if found.terms:  # how the corpus covers each term: a term no claim mentions is what it does not cover
                result["coverage"] = found.coverage()
                result["uncovered"] = [t.label for t in found.terms if t.claims == 0]
            yield result
        except LineError as exc:
            yield {"id": exc.qid, "error": str(exc)}
        except EvidenceError as exc:
            yield {"id": qid, "error": str(exc)}
        except Exception as exc:
            yield {"id": qid, "error": f"could not run this line ({type(exc).__name__}); please report it"}
