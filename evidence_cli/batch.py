"""Batch lookups: one query per input line, plain text or a JSON object; one result per line, in order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from evidence_cli.errors import EvidenceError

MAX_LIMIT = 1000
CHUNK = 64  # input lines a worker process is given at a time (with --jobs)
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


def run_batch(lines: Iterable[str | bytes], handle, default_limit: int = 5, first_line: int = 1) -> Iterator[dict]:
    """Yield one result per non-blank input line, in order: {"id", "query", "hits"} (plus "corrections" when a
    misspelt name was corrected, "readings" for shorthand, and "coverage" and "uncovered": each term's number of
    matching claims, and the terms no claim mentions) or {"id", "error"}. Lines may be bytes: a line that is not
    UTF-8 is an error of its own. ``first_line`` is the number of the first line (ids and messages name lines)."""
    from evidence_cli import index
    from evidence_cli.query_plan import check_filters, nothing_to_search, plan_query
    from evidence_cli.views.catalog import claim_row

    matcher = index.matcher(handle)
    sections = index.sections(handle)
    documents = index.documents(handle)
    for lineno, raw in enumerate(lines, first_line):
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
                raise LineError(q.id, nothing_to_search(q.query, 'a filter such as {"ref": 45}'))
            check_filters(plan, sections, documents)
            found = index.search(handle, plan, limit=q.limit, highlight=False)
            hits = [claim_row(h) for h in found.hits]  # no private keys: no highlights were asked for
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


def run_batch_in_workers(lines: Iterable[str | bytes], folder: Path, jobs: int,
                         default_limit: int = 5) -> Iterator[dict]:
    """``run_batch``'s results, in the same order, from ``jobs`` worker processes, each with the index at
    ``folder`` (open and fresh in this process) open itself and given CHUNK lines at a time. Workers are started
    afresh (spawn), not forked: a fork would copy an open engine's threads' locks in whatever state they are in.
    Raises EvidenceError when a worker cannot open the index or stops."""
    import concurrent.futures
    import multiprocessing
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    pending: deque = deque()
    try:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_open,
                                                    initargs=(str(folder),)) as pool:
            try:
                for start, chunk in _chunks(lines, CHUNK):
                    pending.append(pool.submit(_worker_run, chunk, default_limit, start))
                    while len(pending) > 2 * jobs:  # a few chunks ahead of the output, not the whole input
                        yield from pending.popleft().result()
                while pending:
                    yield from pending.popleft().result()
            except BaseException:  # Ctrl-C, a closed pipe, a stopped worker: the rest is not waited for
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    except BrokenProcessPool:
        raise EvidenceError("batch: a worker process failed or stopped (out of memory?); run the batch again with "
                            "--jobs 1, which names the problem if there is one") from None


def _chunks(lines: Iterable[str | bytes], size: int) -> Iterator[tuple[int, list[str | bytes]]]:
    """(number of the first line, the lines) of ``size`` lines at a time, blank lines included."""
    chunk: list[str | bytes] = []
    start = 1
    for lineno, line in enumerate(lines, 1):
        if not chunk:
            start = lineno
        chunk.append(line)
        if len(chunk) >= size:
            yield start, chunk
            chunk = []
    if chunk:
        yield start, chunk


_WORKER: dict = {}  # the index a worker process opened


def _worker_open(folder: str) -> None:
    import signal

    from evidence_cli import index

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: no worker's traceback
    _WORKER["handle"] = index.open_folder(Path(folder))


def _worker_run(lines: list[str | bytes], default_limit: int, first_line: int) -> list[dict]:
    return list(run_batch(lines, _WORKER["handle"], default_limit, first_line))
