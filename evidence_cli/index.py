"""The index adapter: build, open, stamp and search, over the engines of evidence_cli/engines (whoosh by default,
tantivy for large libraries). Nothing here imports an engine's library.

The index is a cache of claims.yaml, kept under the user cache directory (or --index-dir / $EVIDENCE_INDEX_DIR)
in a folder named by the schema version, the engine, the lexicon's SHA-256 and the claims file's. A folder with that
name is complete by construction: it is built in a temporary folder and renamed into place, so a concurrent reader
never sees a half-built index, and a changed claims file simply has no folder yet (stale: rebuilt, with a note on
stderr).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import marshal
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from evidence_cli.engines import ENGINES
from evidence_cli.errors import IndexError_

INDEX_SCHEMA_VERSION = 16
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
SPEC_MEMO = 1024  # terms whose forms and claims a handle remembers
SPEC_MEMO_CLAIMS = 1_000_000  # and claim numbers in their sets, when an engine holds them in memory (whoosh)
PASSAGE_MEMO = 2048  # best hits whose stored passage a handle remembers
WIDEN_MIN = 7  # a word no claim uses, with a stem this long, is also looked for as the words that begin like it


@dataclass
class IndexHandle:
    path: Path
    backend: object  # the engine's open index (engines/*_backend.py), reused by every query of this process
    aliases: list  # [alias, entity id, case_sensitive]
    engine: str = "whoosh"
    built: bool = False
    vocab: dict = dc_field(default_factory=dict)  # query.json: shorthand, drug targets, documents' reference lists
    matcher: object = None  # the AliasMatcher of this index, made on first use
    # what one query works out and the next may ask again (a long batch or MCP session): each term's forms and
    # claim set, each best hit's stored passage; bounded, the oldest forgotten first
    specs: Memo = dc_field(default_factory=lambda: Memo(SPEC_MEMO, SPEC_MEMO_CLAIMS))
    passages: Memo = dc_field(default_factory=lambda: Memo(PASSAGE_MEMO))


class Memo:
    """A cache of at most ``size`` values and ``weight`` units of weight (a value's ``weigh``, default 1) that
    forgets its oldest entries first. Safe to share between threads (the MCP server runs tools in a pool)."""

    def __init__(self, size: int, weight: int | None = None) -> None:
        import threading
        from collections import OrderedDict

        self.size = size
        self.weight = weight if weight is not None else size
        self.held = 0
        # key -> (value, weight), oldest first; an OrderedDict forgets its oldest at once, where a dict's first key
        # is found past the slots of the keys removed before it (a miss in a full memo of 2,048: 1.3 -> 0.8 us)
        self.values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, make, weigh=None):
        found = self.values.get(key)
        if found is not None:
            return found[0]
        value = make()  # outside the lock: two threads may both make it, and one is kept
        units = 1 if weigh is None else max(1, weigh(value))
        if units <= self.weight:
            with self._lock:
                if key not in self.values:
                    while self.values and (len(self.values) >= self.size or self.held + units > self.weight):
                        self.held -= self.values.popitem(last=False)[1][1]
                    self.values[key] = (value, units)
                    self.held += units
        return value


def matcher(handle: IndexHandle):
    """The alias matcher for queries on this index: lexicon names and shorthand, the drugs of each target, and
    typo correction towards the lexicon's names and the corpus's own words that leaves alone the words the indexed
    claims use. Made once per open index (its corrections are remembered)."""
    if handle.matcher is None:
        handle.matcher = _make_matcher(handle)
    return handle.matcher


def _make_matcher(handle: IndexHandle):
    from evidence_cli.analysis import stems
    from evidence_cli.query_plan import AliasMatcher, Shorthand, english_words

    backend = handle.backend

    def in_corpus(word: str) -> bool:
        terms = stems(word)
        return bool(terms) and all(backend.doc_frequency("text", t) > 0 for t in terms)

    def vocabulary() -> list[str]:
        try:
            words = json.loads((handle.path / "words.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            words = []
        # and the names claims were tagged with by their shape ("tmprss2", "cx-5461"): words with digits or
        # hyphens, which a misspelt symbol of the user's own papers means
        return [*words, *backend.terms("names")]

    vocab = handle.vocab
    shorthand = [Shorthand(s["short"], s["means"], tuple(s["search"]), s["case_sensitive"])
                 for s in vocab.get("shorthand", [])]
    return AliasMatcher(handle.aliases, in_corpus, targets=vocab.get("targets", {}), shorthand=shorthand,
                        vocabulary=vocabulary, labels=vocab.get("labels", {}), genes=vocab.get("genes", {}),
                        in_corpus=lambda eid: backend.doc_frequency("entity", eid.lower()) > 0,
                        shape_name=lambda name: backend.doc_frequency("names", name.lower()) > 0,
                        # the English word list's sorted copy in the (private) index root, read when first asked
                        is_english=lambda word: english_words(handle.path.parent)(word))


def document_notes(handle: IndexHandle) -> dict[str, dict]:
    """Per document: whether its reference list was read (``references``) and the sidecar's note about it."""
    return handle.vocab.get("documents", {})


def claims_digest(claims_file: Path, index_root: Path | None = None) -> str:
    """SHA-256 of the claims file. With ``index_root``, remembered by (size, mtime, inode) like git's index, so
    a query on a large, unchanged claims file does not read and hash it every time."""
    return _claims_digest(claims_file, index_root)[0]


def _claims_digest(claims_file: Path, index_root: Path | None) -> tuple[str, str | None]:
    """``claims_digest``, and the text it hashed when it had to read the file (None when the memo answered)."""
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
                return memo[key][4], None
        except (OSError, ValueError, TypeError, IndexError):
            memo = {}
    from evidence_cli.store import _read_text, atomic_write_text  # not imported when the memo answers

    text = _read_text(claims_file)
    digest = text_digest(text)
    if memo_file is not None and memo_file.parent.is_dir():
        memo = {k: v for k, v in memo.items() if isinstance(v, list)} if isinstance(memo, dict) else {}
        memo[key] = [*stamp, digest]
        with contextlib.suppress(Exception):  # a cache: never fail a query over it
            atomic_write_text(memo_file, json.dumps(dict(list(memo.items())[-50:])), mode=0o600)
    return digest, text


def text_digest(text: str) -> str:
    """SHA-256 of ``text`` in UTF-8, encoded a slice at a time (a large file's whole text is not copied)."""
    import hashlib  # not imported when the digests are remembered

    from evidence_cli.store import text_slices

    digest = hashlib.sha256()
    for piece in text_slices(text):
        digest.update(piece.encode("utf-8"))
    return digest.hexdigest()


_VOCAB_WORD = re.compile(r"\b[^\W\d_]{5,}(?:-[^\W\d_]+)*\b")


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
          data: dict | None = None, engine: str = "whoosh") -> None:
    """Build an index of ``claims_file`` with ``engine`` into the folder ``target`` (which must not exist)."""
    from evidence_cli.store import load_claims

    if data is None:
        data = load_claims(claims_file)
    # The claims are kept to the end: the garbage collector's passes need not walk them (100k claims are millions of
    # objects, 0.5 s a pass) nor, in the forked child of _two_processes, copy the pages they are on.
    gc.freeze()
    try:
        _build(claims_file, target, progress, data, engine)
    finally:
        gc.unfreeze()


def _build(claims_file: Path, target: Path, progress: Callable[[int, int], None] | None, data: dict,
           engine: str) -> None:
    from evidence_cli.analysis import stems as analyse
    from evidence_cli.engines import engine_module
    from evidence_cli.lexicon import lexicon

    module = engine_module(engine)
    lex = lexicon()
    claims = data["claims"]
    target.mkdir(parents=True)

    def records(start: int, stop: int):
        """The index records of the claims at positions [start, stop)."""
        window: dict[int, list[str]] = {}  # terms of the claims around pos, each analysed once

        def stems(j: int) -> list[str]:
            if j not in window:
                window[j] = analyse(claims[j]["text"])
            return window[j]

        for pos in range(start, stop):
            c = claims[pos]
            window.pop(pos - 2, None)
            if c.get("orphaned"):
                continue  # kept in the file for its hand edits, but its sentence is not in the source
            ents = [e["id"] for e in c.get("entities") or [] if e.get("curated", True)]  # lexicon names only
            # a biomarker such as "IDO expression" also counts as a mention of its gene (IDO1)
            ents += [lex[e].extra["gene"] for e in ents if e in lex and "gene" in lex[e].extra]
            ents = list(dict.fromkeys(ents))
            near = _neighbours(claims, pos)
            yield {
                "id": c["id"],
                "pos": pos,
                "doc": c["doc"],
                "section": c["section"],
                "section_title": " ".join(c.get("section_title", "").lower().split()),
                "kind": c.get("kind", ""),
                "tier": c.get("tier", ""),
                "refs": [str(r) for r in c.get("refs") or []],
                "entities": ents,
                # names tagged by their shape (not in the lexicon): for --entity filters only, never scored
                "names": list(dict.fromkeys(e["id"].lower() for e in c.get("entities") or []
                                            if e.get("curated", True) is False)),
                "text": c["text"],
                "stems": stems(pos),
                "near": " ".join(sorted(set().union(*(stems(j) for j in near)) - set(stems(pos)))),
                "near_entities": " ".join(sorted({e["id"].lower() for j in near
                                                  for e in claims[j].get("entities") or [] if e.get("curated", True)}
                                                 - {e.lower() for e in ents})),
                "data": json.dumps(display_record(c), ensure_ascii=False),
            }

    with _two_processes(records, len(claims), target.parent) as both:
        module.write(target, both, len(claims), progress)
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
             "schema_version": INDEX_SCHEMA_VERSION, "engine": engine, "claims_count": len(claims)}
    (target / "stamp.json").write_text(json.dumps(stamp), encoding="utf-8")


PARALLEL_BUILD_MIN = 20_000  # claims from which a second process makes most index records (fewer: not worth it)


def _one_thread() -> bool:
    """Whether this process runs one thread (Linux's /proc; False elsewhere), and a child of it is reaped normally
    (SIGCHLD not ignored). A fork copies only the calling thread: a lock another thread held (an engine's, the
    allocator's, the import lock) would stay locked in the child. An engine opened earlier in this process (a
    long-lived API user, a rebuild) leaves its threads running, and then the build keeps to one process."""
    import signal

    if getattr(signal, "SIGCHLD", None) is None or signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        return False
    return _proc_number("/proc/self/status", "Threads:") == 1


def _proc_number(path: str, label: str) -> int | None:
    """The first number on the line of a /proc file that starts with ``label`` (None when there is none)."""
    try:
        with open(path, encoding="ascii") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(label))
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _room_for_a_child() -> bool:
    """Whether this process uses at most a quarter of the memory the system has available (Linux's /proc; False
    elsewhere): reading the claims it shares, the child copies the pages they are on (CPython writes reference
    counts), about half of this process's, which must not push a large library's build into swap."""
    resident_kib = _proc_number("/proc/self/status", "VmRSS:")
    available_kib = _proc_number("/proc/meminfo", "MemAvailable:")
    return resident_kib is not None and available_kib is not None and 4 * resident_kib <= available_kib


@contextlib.contextmanager
def _two_processes(records: Callable[[int, int], Iterable[dict]], count: int, scratch_dir: Path):
    """``records(0, count)``, in order; from PARALLEL_BUILD_MIN claims, on a machine with two cores or more, a
    forked child makes the later 55% meanwhile (Python holds the GIL: one process makes about 20,000 a second)
    and writes them to a file in ``scratch_dir`` (0600, removed after), read once the first part is done. If the
    child cannot start or fails, this process makes those records itself. The child is forked only from a process
    with one thread (see _one_thread), and runs only Python over the claims it shares with it (frozen by build)."""
    if (count < PARALLEL_BUILD_MIN or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork")
            or not _one_thread() or not _room_for_a_child()):
        yield records(0, count)
        return
    import marshal  # records are str, int, list and dict only: marshal writes and reads them fastest
    import tempfile

    half = count * 9 // 20  # the child makes a little more: this process also hands every record to the engine
    try:
        fd, scratch = tempfile.mkstemp(prefix=".records-", dir=scratch_dir)
    except OSError:  # nowhere to put them: one process
        yield records(0, count)
        return
    try:
        pid = os.fork()
    except OSError:
        pid = None
    if pid == 0:  # the child: its half, in chunks, then out without running the parent's exit handlers
        status = 1
        try:
            gc.disable()  # records hold no cycles, and the child lives a few seconds
            with os.fdopen(fd, "wb") as fh:
                chunk: list[dict] = []
                for r in records(half, count):
                    chunk.append(r)
                    if len(chunk) == 1000:
                        marshal.dump(chunk, fh)
                        chunk = []
                marshal.dump(chunk, fh)
            status = 0
        finally:
            os._exit(status)
    os.close(fd)

    running = pid is not None  # not yet waited for (a reaped child's number may be another process's)

    def second_half():
        nonlocal running
        done = False
        if running:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:  # reaped by someone else (SIGCHLD ignored after all): its file is not trusted
                status = 1
            running, done = False, status == 0
        if not done:
            yield from records(half, count)
            return
        with open(scratch, "rb") as fh:
            while True:
                try:
                    yield from marshal.load(fh)
                except EOFError:
                    return

    try:
        yield itertools.chain(records(0, half), second_half())
    finally:
        if running:  # interrupted before the second half was read: stop the child
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
                os.waitpid(pid, 0)
        with contextlib.suppress(OSError):
            os.unlink(scratch)


def open_index(
    claims_file: Path,
    index_root: Path,
    *,
    note: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    rebuild: bool = False,
    engine: str | None = None,
) -> IndexHandle:
    """Open the fresh index for ``claims_file``, building it first when there is none (or ``rebuild``).
    ``engine``: whoosh or tantivy (default: $EVIDENCE_ENGINE, then whoosh)."""
    from evidence_cli.engines import engine_module, engine_name
    from evidence_cli.paths import private_folder

    engine = engine_name(engine)
    engine_module(engine)  # a missing library is a usage error before anything is read or built
    private_folder(index_root)
    digest, hashed = _claims_digest(claims_file, index_root)
    name = _index_name(digest, engine, index_root)
    final = index_root / name
    if not rebuild:
        handle = _try_open(final)
        if handle is not None:
            return handle
    from evidence_cli.store import load_claims_text

    # a broken claims file fails here, before any note; the parse cache beside the indexes spares unchanged claims.
    # What is indexed is the text that was hashed, read once, or the file read again (it may have changed since).
    data, text = load_claims_text(claims_file, cache_dir=index_root, text=hashed)
    if hashed is None and text_digest(text) != digest:  # name the index by what is indexed
        digest = text_digest(text)
        name = _index_name(digest, engine, index_root)
        final = index_root / name
    del text, hashed  # the file's text is not needed to build (a million claims: 1.5 GB when not all ASCII)
    if not rebuild:
        if final.exists():
            if note:
                note(f"index at {final} is damaged; rebuilding")
        elif note:
            note(_build_note(index_root, claims_file, digest, engine))
    import tempfile

    try:
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=index_root))  # 0700, as mkdtemp makes them
    except OSError as exc:
        raise IndexError_(f"{index_root}: cannot create the index folder ({exc.strerror}); "
                          "set --index-dir or $EVIDENCE_INDEX_DIR to a writable folder") from None
    umask = os.umask(0o077)  # index files 0600, whatever the user's umask
    try:
        try:
            build(claims_file, tmp / name, progress=progress, data=data, engine=engine)
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


def _build_note(index_root: Path, claims_file: Path, digest: str, engine: str) -> str:
    """Why an index is being built: none yet, the claims changed, or the indexes there are of this claims file
    were built by another engine or another version of evidence."""
    mine = str(claims_file.resolve())  # an older index of this claims file (others' do not make it stale)
    others = [st for p in index_root.glob("v*-*") if p.is_dir() and (st := _stamp(p)).get("claims") == mine]
    same = [st for st in others if st.get("claims_sha256") == digest]
    if any(st.get("schema_version") == INDEX_SCHEMA_VERSION and st.get("engine", "whoosh") != engine for st in same):
        other = next(st.get("engine", "whoosh") for st in same if st.get("engine", "whoosh") != engine)
        return (f"the index there was built by the {other} engine; building a {engine} index "
                "(--engine or $EVIDENCE_ENGINE choose; each engine keeps its own)")
    if same:
        return "the index was built by another version of evidence; rebuilding"
    if others:
        return "index is stale (claims changed); rebuilding"
    return f"building the index in {index_root}" + (f" ({engine} engine)" if engine != "whoosh" else "")


def _index_name(claims_sha: str, engine: str = "whoosh", index_root: Path | None = None) -> str:
    """The index folder's name: the schema version, the engine, the lexicon it was built with (its aliases,
    shorthand and targets are in the index; its SHA-256 remembered in ``index_root`` as the claims file's is)
    and the claims file's SHA-256."""
    from evidence_cli.errors import EvidenceError
    from evidence_cli.paths import LEXICON

    try:
        lexicon_sha = claims_digest(LEXICON, index_root)[:12]
    except EvidenceError:
        lexicon_sha = "none"
    return f"v{INDEX_SCHEMA_VERSION}-{engine}-l{lexicon_sha}-{claims_sha}"


def open_folder(folder: Path) -> IndexHandle:
    """The index in ``folder``, as it is (one another process found fresh, e.g. for `batch --jobs` workers)."""
    handle = _try_open(folder)
    if handle is None:
        raise IndexError_(f"the index at {folder} could not be opened (removed or rebuilt meanwhile?); run the "
                          "command again")
    return handle


def _try_open(folder: Path) -> IndexHandle | None:
    stamp = _stamp(folder)
    engine = stamp.get("engine")
    if stamp.get("schema_version") != INDEX_SCHEMA_VERSION or engine not in ENGINES:
        return None
    try:
        from evidence_cli.engines import engine_module

        backend = engine_module(engine).open_backend(folder)
        aliases = json.loads((folder / "aliases.json").read_text(encoding="utf-8"))
        vocab = json.loads((folder / "query.json").read_text(encoding="utf-8"))
        return IndexHandle(folder, backend, aliases, engine=engine, vocab=vocab)
    except Exception:  # engines raise many kinds on damaged files (tantivy a ValueError, whoosh its own); rebuild
        return None


def _stamp(folder: Path) -> dict:
    """The folder's stamp.json ({} when it has none that can be read)."""
    try:
        stamp = json.loads((folder / "stamp.json").read_text(encoding="utf-8"))
        return stamp if isinstance(stamp, dict) else {}
    except (OSError, ValueError):
        return {}


def _stamp_claims(folder: Path) -> str | None:
    return _stamp(folder).get("claims")


def _prune(root: Path, keep: Path, claims_file: Path) -> None:
    """Remove old indexes of this claims file (all but KEEP_OLD, for processes still reading them), and indexes
    of other claims files built more than STALE_DAYS ago (a rebuild is cheap); recent ones are left alone."""
    import time

    mine = str(claims_file.resolve())
    folders = [p for p in root.glob("v*-*") if p.is_dir() and p != keep]
    olds = [p for p in folders if _stamp_claims(p) == mine]
    doomed = []
    for engine in {_stamp(p).get("engine") for p in olds}:  # each engine keeps its own recent ones
        mine_here = sorted((p for p in olds if _stamp(p).get("engine") == engine), key=lambda p: p.stat().st_mtime)
        doomed += mine_here[: max(0, len(mine_here) - KEEP_OLD)]
    cutoff = time.time() - STALE_DAYS * 86400
    doomed += [p for p in folders if p not in olds and p.stat().st_mtime < cutoff]
    for p in doomed:
        shutil.rmtree(p, ignore_errors=True)
    from evidence_cli.query_plan import english_words_file
    from evidence_cli.store import parse_cache_path

    _remove_stale(root, "parsed-*.json", parse_cache_path(root, claims_file), cutoff)
    try:
        current = english_words_file(root)  # another pyspellchecker's copy (or layout's), once it is as old
    except (OSError, RuntimeError):  # its word list cannot be read: nothing is removed
        return
    _remove_stale(root, "english-words-*.txt", current, cutoff)


def _remove_stale(root: Path, pattern: str, keep: Path, cutoff: float) -> None:
    """Remove the files of ``root`` matching ``pattern``, but ``keep``, last changed before ``cutoff``."""
    for p in root.glob(pattern):
        with contextlib.suppress(OSError):
            if p != keep and p.stat().st_mtime < cutoff:
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
    spans to emphasise in a terminal, unless ``highlight`` is false); with each term's coverage of the corpus.
    The claims a term matches are the engine's lazy sets: counted, intersected and asked about the best hits,
    never listed."""
    backend = handle.backend
    n_docs = max(1, backend.doc_count())
    allowed = backend.restrict(plan)  # filters restrict, not rank
    specs = [_remembered_spec(handle, t) for t in plan.terms]
    for spec in specs:
        spec["count"] = spec["docs"].count()
        spec["generic"] = n_docs >= GENERIC_MIN_CLAIMS and spec["count"] > GENERIC_SHARE * n_docs
        spec["within"] = spec["count"] if allowed is None or not spec["count"] else (spec["docs"] & allowed).count()
    specific = [x for x in specs if not x["generic"]]
    # generic words rank little and cost a lot: searched only when the query has nothing else; a generic name
    # still ranks, but a claim must match one of the specific terms when there are any
    scoring = ([x for x in specs if not x["generic"] or x["term"].entities] if specific else specs)
    stems = list(dict.fromkeys(st for x in scoring for st in x["stems"]))
    common = {st for st in stems if backend.doc_frequency("text", st) > COMMON_TERM_SHARE * n_docs}
    if len(common) < len(stems) or any(x["term"].entities for x in scoring):
        stems = [st for st in stems if st not in common]
    terms = [("text", st, 1.0) for st in stems]
    terms += [("entity", e.lower(), 1.5) for e in dict.fromkeys(e for x in scoring for e in x["term"].entities)]
    hits: list[dict] = []
    pool = max(limit, RERANK_POOL) if stems else limit
    ranked = []  # (score, docnum)
    passage: dict[int, _Passage] = {}  # the best hits' passages, taken from the memo once per search
    if terms:
        idf = {st: backend.idf("text", st) for st in stems}
        # coordination counts the query's terms (a word with its synonyms and forms, a name with its drugs)
        doc_groups = {i: x["docs"] for i, x in enumerate(scoring)} if len(scoring) > 1 else None
        # a claim must match one of the specific terms (all of a phrase's words, a name, not only a word it ranks
        # by); when every scoring term is one specific word or name, a claim that scores has one, and the engine
        # need not intersect (tantivy then ranks without a filter clause)
        single = allowed is None and all(not x["generic"] and not x["term"].rank_words and not x["widened"]
                                         and all(len(p) <= 1 for p in x["phrases"]) for x in scoring)
        matching = None if single else backend.union(x["docs"] for x in specific or scoring)
        within = matching if allowed is None or matching is None else matching & allowed
        for docnum, score in backend.top_scores(terms, pool, within, COORD, doc_groups):
            found = passage[docnum] = _passage(handle, docnum)
            if stems and not found.near.isdisjoint(idf):  # passage-level evidence: a query word found only in a
                score += sum(NEAR_BOOST * idf[st] for st in stems if st in found.near)  # neighbouring sentence
            ranked.append((score, docnum))
        ranked.sort(key=lambda item: -item[0])
    elif not plan.terms:  # filters alone: document order
        passage = {d: _passage(handle, d) for d in backend.in_order(allowed, pool)}
        ranked = [(None, d) for d in passage]
    pool_docs = [docnum for _, docnum in ranked]
    for x in specs:  # which of the best hits each term matches
        if not pool_docs or not x["count"]:
            x["hits"] = set()
        elif getattr(backend, "stores_terms", False):  # from the hits' own stored terms, in Python, when asked
            x["hits"] = _StoredMatches(x, passage)
        else:  # one question per term to the engine
            x["hits"] = x["docs"].members(pool_docs)
    shown = {st for x in specs for st in x["stems"]}

    for score, docnum in ranked[:limit]:
        record = passage[docnum].record()
        record["score"] = round(score, 4) if score is not None else None  # filters alone do not rank
        if plan.terms:
            record["matched"] = [x["term"].label for x in specs if docnum in x["hits"]]
            record["unmatched"] = [x["term"].label for x in specs if docnum not in x["hits"]]
            nearby = [x["term"].label for x in specs if docnum not in x["hits"] and passage[docnum].has(x)]
            if nearby:
                record["nearby"] = nearby  # found only in a neighbouring sentence of the paragraph
        if highlight:
            record["_highlights"] = _highlights(record, shown, set(plan.entities))
        hits.append(record)
    from evidence_cli.query_plan import function_words

    common = function_words()
    for x in specs:
        t = x["term"]
        x["incidental"] = t.incidental or (not t.entities and t.reading is None and t.label.casefold() in common)
    coverage = [TermCoverage(x["term"].label, x["within"], x["generic"], x["term"].reading, x["widened"],
                             x["incidental"]) for x in specs]
    isolated = None
    specific = [x for x in specific if not x["incidental"]]
    if len(specific) > 1 and all(x["within"] for x in specific):
        # a specific term that no passage of the best hits (a claim with its neighbouring sentences) mentions
        # together with another specific term: the corpus speaks of it, but not in this question's context
        together: set[int] = set()
        for _, docnum in ranked:
            found = [i for i, x in enumerate(specific) if docnum in x["hits"] or passage[docnum].has(x)]
            if len(found) > 1:
                together.update(found)
                if len(together) == len(specific):  # every term is with another: no more to learn
                    break
        isolated = [x["term"].label for i, x in enumerate(specific) if i not in together]
    return SearchResult(hits, coverage, isolated)


def _passage(handle: IndexHandle, docnum: int) -> _Passage:
    """A claim's stored fields with its passage, from the engine once per handle (while remembered)."""
    return handle.passages.get(docnum, lambda: _Passage(docnum, handle.backend.stored(docnum)))


def _remembered_spec(handle: IndexHandle, term) -> dict:
    """``_term_spec`` of the term, a fresh dict each call (a search adds its own keys), worked out once per handle
    for the same words, names and gene (while remembered)."""
    key = (tuple(term.phrases), tuple(term.entities), tuple(term.rank_words), term.gene)
    spec = handle.specs.get(key, lambda: _term_spec(handle.backend, term),
                            weigh=lambda s: len(getattr(s["docs"], "docs", ())))
    return {**spec, "term": term, "key": key}


def matches(spec: dict, fields: dict) -> bool:
    """Whether a claim, by its stored ``terms`` and ``entities``, is one of the claims ``spec["docs"]`` holds: it
    names one of the term's entities, holds a form of every word of one of its phrases, or names its gene and
    holds every word of the name (the rules of _term_spec_once, claim by claim)."""
    terms = fields.get("_terms")
    if terms is None:
        terms = fields["_terms"] = set(fields["terms"].split())
        fields["_entities"] = set(fields["entities"].split())
    entities = fields["_entities"]
    term = spec["term"]
    if not spec["entity_keys"].isdisjoint(entities):
        return True
    for phrase in spec["phrases"]:
        if phrase and all(not forms.isdisjoint(terms) for forms in phrase):
            return True
    return bool(term.gene and term.gene.lower() in entities and term.rank_words
                and all(not spec["rank_forms"][w].isdisjoint(terms) for w in term.rank_words))


class _StoredMatches:
    """The best hits that match a term (``docnum in it``), each answered from the hit's own stored terms when first
    asked: a search asks about the hits it shows and the few it looks at for isolated terms, not the whole pool."""

    __slots__ = ("passages", "spec")

    def __init__(self, spec: dict, passages: dict[int, _Passage]) -> None:
        self.spec = spec
        self.passages = passages

    def __contains__(self, docnum: int) -> bool:
        found = self.passages.get(docnum)
        return found is not None and found.matches(self.spec)


class _Passage:
    """A claim with its neighbouring sentences, as stored in the index; its own stems are analysed once, when a
    phrase first needs them."""

    def __init__(self, docnum: int, fields: dict) -> None:
        self.docnum = docnum
        self.fields = fields
        self.near = set(fields.get("near", "").split())
        self.near_entities = set(fields.get("near_entities", "").split())
        self._stems: set[str] | None = None
        self._record: bytes | None = None
        self._answers: dict = {}  # (question, the term's key) -> answer, for the terms asked about so far

    def record(self) -> dict:
        """The claim's display record, a new one each call (a search adds its own keys): decoded from the index's
        JSON once and kept as marshal's bytes, made here and never read from a file, which give a copy in half the
        time of decoding the JSON again."""
        if self._record is None:
            self._record = marshal.dumps(json.loads(self.fields["data"]))
        return marshal.loads(self._record)

    def matches(self, spec: dict) -> bool:
        """``matches(spec, fields)``, remembered for the term."""
        key = ("matches", spec["key"])
        if key not in self._answers:
            self._answers[key] = matches(spec, self.fields)
        return self._answers[key]

    def has(self, spec: dict) -> bool:
        """Whether the claim or its neighbouring sentences mention a term (``spec["hits"]``: the best hits that
        match it)."""
        if self.docnum in spec["hits"]:
            return True
        key = ("near", spec["key"])
        if key not in self._answers:
            self._answers[key] = self._near(spec)
        return self._answers[key]

    def _near(self, spec: dict) -> bool:
        if not spec["entity_keys"].isdisjoint(self.near_entities):
            return True
        if not self.near or not spec["phrases"]:
            return False
        if self._stems is None:
            from evidence_cli.analysis import stems

            own = self.fields.get("terms")  # the claim's own stems, where the engine stores them (tantivy)
            self._stems = self.near | (set(own.split()) if own is not None
                                       else set(stems(json.loads(self.fields["data"])["text"])))
        return any(all(not forms.isdisjoint(self._stems) for forms in phrase) for phrase in spec["phrases"])


_TOKEN = re.compile(r"\w+(?:\.?\w+)*")  # the analysis's words (evidence_cli.analysis.TOKEN)


def _term_spec(backend, term) -> dict:
    """A term's stems (with the corpus's other forms of each word) and the claims it matches: those mentioning
    one of its entities, or all the words of one of its phrases. A term no claim matches is tried again with
    each word also standing for the corpus's words that begin like it."""
    spec = _term_spec_once(backend, term, widen=False)
    return spec if spec["docs"] or term.entities else _term_spec_once(backend, term, widen=True)


def _term_spec_once(backend, term, widen: bool) -> dict:
    from evidence_cli.analysis import stems as analyse

    df = backend.doc_frequency
    docs = backend.nothing()
    stems: list[str] = []
    widened: list[str] = []
    phrases: list[list[set[str]]] = []  # per phrase, per word: its forms
    for phrase in term.phrases:
        phrase_docs = None
        phrases.append([])
        for word in _TOKEN.findall(phrase.casefold()):
            forms = analyse(word)
            forms += [st for v in _inflections(word) for st in analyse(v)
                      if st not in forms and df("text", st) > 0]
            split = _split_compound(backend, word) if widen else None
            if split:  # "cutoff" as the corpus writes it, "cut-off": both halves in the same claim
                widened.append(" ".join(split))
                halves = [set(analyse(h)) for h in split]
                word_docs = _intersect([backend.union(backend.docs("text", st) for st in h) for h in halves])
                phrase_docs = word_docs if phrase_docs is None else phrase_docs & word_docs
                stems.extend(st for h in halves for st in h)
                phrases[-1].extend(halves)
                continue
            if widen and len(forms[0]) >= WIDEN_MIN and not any(df("text", st) for st in forms):
                # a word no claim uses ("synergy"): the corpus's words that begin like it ("synergize"), on a
                # prefix that keeps most of the word ("internal" does not become "inter…")
                prefix = forms[0][: max(WIDEN_MIN, -(-4 * len(forms[0]) // 5))]
                more = backend.expand_prefix("text", prefix, 50)
                if more:
                    forms += more
                    widened.append(prefix)
            word_docs = backend.union(backend.docs("text", st) for st in forms if df("text", st))
            phrase_docs = word_docs if phrase_docs is None else phrase_docs & word_docs
            stems.extend(forms)
            phrases[-1].append(set(forms))
        if phrase_docs is not None:
            docs = docs | phrase_docs
    for e in term.entities:
        docs = docs | backend.docs("entity", e.lower())
    word_docs_all = None
    rank_forms: dict[str, set[str]] = {}
    for word in term.rank_words:  # "PD-L1 expression" also ranks "expression", but matches only by the name
        forms = analyse(word)
        rank_forms[word] = set(forms)
        stems.extend(forms)
        found = backend.union(backend.docs("text", st) for st in forms)
        word_docs_all = found if word_docs_all is None else word_docs_all & found
    if term.gene and word_docs_all:  # or by its gene with all the name's words: "expression of PD-L1"
        docs = docs | (backend.docs("entity", term.gene.lower()) & word_docs_all)
    return {"term": term, "stems": list(dict.fromkeys(stems)), "docs": docs, "phrases": phrases, "widened": widened,
            "rank_forms": rank_forms, "entity_keys": frozenset(e.lower() for e in term.entities)}


def _intersect(sets: list):
    out = sets[0]
    for s in sets[1:]:
        out = out & s
    return out


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


def _split_compound(backend, word: str) -> tuple[str, str] | None:
    """A word no claim uses that the corpus writes as two ("cutoff" -> "cut", "off"): both halves are words of
    the corpus, the first of three letters or more; the longest first half wins."""
    from evidence_cli.analysis import stems

    df = backend.doc_frequency
    if len(word) < 6 or not word.isalpha() or any(df("text", t) for t in stems(word)):
        return None
    for i in range(len(word) - 2, 2, -1):
        head, tail = word[:i], word[i:]
        if all(df("text", t) for part in (head, tail) for t in stems(part)):
            return head, tail
    return None


def documents(handle: IndexHandle) -> list[str]:
    """The document ids in the index."""
    return handle.backend.terms("doc")


def sections(handle: IndexHandle) -> list[str]:
    """The section ids in the index, in reading order (abstract, keywords, then by number), then the section
    titles (lower-cased), which a filter may name instead."""
    ids = sorted(handle.backend.terms("section"), key=_section_order)
    titles = handle.backend.terms("section_title")
    return ids + [t for t in titles if t and t not in ids]


def _section_order(section: str) -> tuple:
    head = {"front": 0, "abstract": 1, "keywords": 2}
    if section in head:
        return (head[section], ())
    return (3, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in section.split(".")))


def _highlights(record: dict, stems: set[str], entities: set[str]) -> list[tuple[int, int]]:
    from evidence_cli.analysis import stem_spans

    spans = [(e["start"], e["end"]) for e in record.get("entities") or [] if e["id"] in entities and "start" in e]
    if stems:
        spans += [(start, end) for st, start, end in stem_spans(record["text"]) if st in stems]
    return sorted(set(spans))
