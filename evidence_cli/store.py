"""Load, validate, merge and write claims.yaml (safe YAML only; atomic writes; curated edits survive re-ingest)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from evidence_cli.errors import DataError, Problem

SCHEMA_VERSION = 1
# a library of about 4,000 papers (some 1.4M claims); beyond that a file is more likely damaged than curated
MAX_BYTES = 1024 * 1024 * 1024
MAX_TEXT = 20_000  # characters in one claim's text (the schema's maxLength): a longer "sentence" is no prose

HEADER = """\
# claims.yaml: citation-tagged claims from the corpus, written by `evidence ingest`.
# Schema: evidence_cli/data/claims.schema.json in the evidence-cli package; check with `evidence validate`.
# You may correct refs, entities, hedging, kind, tier, numbers and add fields (note: ...): ingest keeps those
# edits and lists them in curated_fields. Sentence texts come from the source; comments are not kept.
# yaml-language-server: $schema=evidence_cli/data/claims.schema.json
"""

# Fields ingest generates; a difference between the file and a fresh ingest on one of these is a person's edit.
GENERATED = (
    "id", "doc", "section", "section_title", "paragraph", "kind", "figure", "text", "refs", "author_year",
    "context_refs", "context_from", "span", "pages", "entities", "hedging", "tier", "numbers",
)
_ADDED_LATER = frozenset(("pages",))
BOOKKEEPING = ("ingest_hash", "curated_fields", "orphaned")
_ALIAS_LIKE = re.compile(r"(?:^|[\s\[{,:-])[&*][^\s,\]}]+")


def _alias_like(text: str) -> bool:
    """``_ALIAS_LIKE.search(text)``, looked for only around the text's "&" and "*" (found by str.find, in C: the
    regex alone takes over a second on a 73 MB claims file)."""
    for mark in "&*":
        i = text.find(mark)
        while i != -1:
            if _ALIAS_LIKE.search(text, i - 1 if i else 0, i + 2):
                return True
            i = text.find(mark, i + 1)
    return False


def _yaml():
    import yaml

    return yaml


@cache
def _loader():
    """CSafeLoader (SafeLoader without libyaml) that rejects duplicate mapping keys."""
    yaml = _yaml()
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a list or mapping as a key: construct_mapping reports it ("unhashable key")
                key = key_node.value
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    def refuse(what: str):
        def construct(loader, node):
            raise yaml.constructor.ConstructorError(
                None, None, f"a YAML {what} is not allowed here; put the value in quotes to make it text",
                node.start_mark)
        return construct

    for tag, what in (("timestamp", "date or timestamp"), ("binary", "binary value"), ("set", "set"),
                      ("omap", "ordered map"), ("pairs", "list of pairs")):
        StrictLoader.add_constructor(f"tag:yaml.org,2002:{tag}", refuse(what))
    return StrictLoader


@cache
def _dumper():
    """CSafeDumper that never writes anchors and aliases (our loader refuses them, and so should editors)."""
    yaml = _yaml()
    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class NoAliasDumper(base):  # type: ignore[misc, valid-type]
        def ignore_aliases(self, data):
            return True

    return NoAliasDumper


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DataError(Problem(str(path), None, f"file is {size} bytes, more than the {MAX_BYTES} allowed"))
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(
            Problem(str(path), None, "no such file; run `evidence ingest` to create it, or pass --claims PATH")
        ) from None
    except IsADirectoryError:
        raise DataError(Problem(str(path), None, "is a directory; pass the claims YAML file")) from None
    except OSError as exc:
        raise DataError(Problem(str(path), None, f"cannot read: {exc.strerror}")) from None
    if b"\x00" in data:
        raise DataError(Problem(str(path), None, "contains NUL bytes: this is not a YAML text file"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(Problem(str(path), line, "not valid UTF-8; save the file as UTF-8")) from None


def _yaml_problem(path: Path, exc: Exception, text: str | None = None) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    hint = " (YAML does not allow tabs for indentation)" if "\t" in what or re.search(r"\btabs?\b", what) else ""
    if line is None and getattr(exc, "position", None) is not None and text is not None:
        line = text.count("\n", 0, exc.position) + 1  # a reader error (a control character) has no mark
    if getattr(exc, "character", None) is not None and "unacceptable character" in what:
        what += "; remove the control character"
    return Problem(str(path), line, f"invalid YAML: {what}{hint}")


def load_yaml_file(path: Path) -> Any:
    """Safely load a small YAML file (metadata, lexicon, overrides); errors name the file and line."""
    yaml = _yaml()
    text = _read_text(path)
    try:
        node = yaml.compose(text, Loader=_loader())
        if node is None:
            return None
        _walk(node, (), {}, [], str(path), set())
        return yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        raise DataError(_yaml_problem(path, exc, text)) from None


class _Walk(Exception):
    pass


def _walk(node, path: tuple, lines: dict, problems: list[Problem], fname: str, seen: set[int]) -> None:
    """Record the line of every node by path; reject aliases (no YAML bombs) and duplicate keys."""
    yaml = _yaml()
    if id(node) in seen:
        problems.append(Problem(fname, node.start_mark.line + 1, "YAML aliases (&anchor/*alias) are not allowed"))
        raise _Walk
    seen.add(id(node))
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        keys: set = set()
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                problems.append(Problem(fname, k.start_mark.line + 1, "a key must be a plain name, not a list or "
                                        "mapping"))
                raise _Walk
            key = k.value
            if key in keys:
                problems.append(Problem(fname, k.start_mark.line + 1, f"duplicate key {key!r}"))
            keys.add(key)
            if k.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(fname, k.start_mark.line + 1, "YAML merge keys (<<) are not allowed"))
                raise _Walk
            _walk(v, (*path, key), lines, problems, fname, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk(v, (*path, i), lines, problems, fname, seen)


@cache
def _schema_validator():
    import jsonschema

    from evidence_cli.paths import CLAIMS_SCHEMA

    schema = json.loads(CLAIMS_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _describe(error) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    where = f"{path}: " if path else ""
    if error.validator == "required":
        return f"{where}{error.message}; add it (see `evidence validate --help` for the fields)"
    if error.validator == "maxLength" and isinstance(error.instance, str):
        return f"{where}is {len(error.instance)} characters long; it must be at most {error.validator_value}"
    if error.validator == "type":
        return _short(f"{where}{error.instance!r} should be of type {error.validator_value}")
    return _short(f"{where}{error.message}")


def _short(message: str, limit: int = 300) -> str:
    """A message that quotes a value keeps to a readable length (the value may be megabytes long)."""
    return message if len(message) <= limit else f"{message[:200]} … {message[-80:]}"


def _line_for(lines: dict, path: tuple) -> int | None:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def validate_text(text: str, fname: str) -> tuple[dict | None, list[Problem]]:
    """Validate claims YAML text; returns the data (or None) and every problem found, each with a line."""
    yaml = _yaml()
    problems: list[Problem] = []
    try:
        loader = _loader()(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(Path(fname), exc, text)]
    if node is None:
        return None, [Problem(fname, 1, "file is empty; run `evidence ingest` to write claims")]
    lines: dict = {}
    try:
        _walk(node, (), lines, problems, fname, set())
    except _Walk:
        return None, problems
    except RecursionError:
        return None, [Problem(fname, None, "nesting is too deep to be a claims file")]
    try:
        data = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(Path(fname), exc, text)]
    if not isinstance(data, dict):
        problems.append(Problem(fname, 1, "top level must be a mapping with schema_version, documents, claims"))
        return None, problems
    for error in sorted(_schema_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(Problem(fname, _line_for(lines, tuple(error.absolute_path)), _describe(error)))
    documents = data.get("documents") if isinstance(data.get("documents"), list) else []
    docs = {d.get("id") for d in documents if isinstance(d, dict)}
    claims = data.get("claims") if isinstance(data.get("claims"), list) else []
    seen: dict[str, int] = {}
    for i, claim in enumerate(claims):
        if not isinstance(claim, dict):
            continue
        cid = claim.get("id")
        line = _line_for(lines, ("claims", i))
        if isinstance(cid, str):
            if cid in seen:
                problems.append(Problem(fname, line, f"duplicate claim id {cid!r} (first at line {seen[cid]})"))
            else:
                seen[cid] = line or 0
        for key, value in claim.items():
            if _has_control(value):
                problems.append(Problem(fname, _line_for(lines, ("claims", i, key)), f"claim {cid!r}: {key} holds "
                                        "a control character; remove it (a terminal would obey it)"))
        doc = claim.get("doc")
        if isinstance(doc, str) and doc not in docs:
            problems.append(
                Problem(fname, _line_for(lines, ("claims", i, "doc")),
                        f"claim {cid!r} names unknown document {doc!r}; add it under documents or fix the id")
            )
    problems.sort(key=lambda p: (p.line or 0))
    return (None if problems else data), problems


def unlisted_citations(data: dict) -> list[tuple[str, str, int]]:
    """(claim id, document id, number) for every reference number a claim prints that its document's reference
    list does not hold (only for documents whose reference list was read)."""
    entries = {d["id"]: {r["n"] for r in d["references"]} for d in data.get("documents", []) if d.get("references")}
    out = []
    for c in data.get("claims", []):
        listed = entries.get(c.get("doc"))
        if listed is not None:
            out.extend((c["id"], c["doc"], n) for n in c.get("refs") or [] if n not in listed)
    return out


def validate_file(path: Path) -> list[Problem]:
    """Every problem in the claims file at ``path`` (an empty list when it is valid)."""
    return check_file(path)[1]


def check_file(path: Path) -> tuple[dict | None, list[Problem]]:
    """The data and every problem of the claims file at ``path``. A valid file takes the query path's check (a
    C-speed parse, in two processes for large files, and the schema checked by hand), so `validate` and `query`
    accept the same files; only a file that fails it is parsed again to find the lines of its problems."""
    try:
        text = _read_text(path)
    except DataError as exc:
        return None, exc.problems
    if not _alias_like(text):
        data = _check_fast(text)
        if data is not None:
            return data, []
    return validate_text(text, str(path))


def _check_fast(text: str) -> dict | None:
    """The query path's check of a whole claims file, without holding its claims parsed: the documents, and for
    each claim only id, doc and refs; None when anything fails or is doubtful (then the slow path finds lines)."""
    split = split_claim_blocks(text)
    if split is None:
        data = _parse_quietly(text)
        return data if isinstance(data, dict) and _quick_ok(data) else None
    header_text, blocks = split
    header = _parse_quietly(header_text)
    if not (isinstance(header, dict) and "claims" in header and header["claims"] is None):
        return None
    halves = _in_two_halves(blocks, _check_list)
    if any(h is None for h in halves):
        return None
    claims = [{"id": cid, "doc": doc, "refs": refs} for half in halves for cid, doc, refs in half]
    data = {**header, "claims": []}
    if not _quick_ok(data):  # the top level and every document
        return None
    ids = [c["id"] for c in claims]
    docs = {d["id"] for d in data["documents"]}
    if len(set(ids)) != len(ids) or not all(c["doc"] in docs for c in claims):
        return None
    data["claims"] = claims
    return data


def _parse_fast(text: str) -> Any:
    """The claims file's data by the fastest safe parse: claim blocks in parallel when the layout allows it."""
    split = split_claim_blocks(text)
    if split is None:
        return _parse_quietly(text)
    header_text, blocks = split
    data = _parse_quietly(header_text)
    if not (isinstance(data, dict) and "claims" in data and data["claims"] is None):
        return _parse_quietly(text)
    claims = _parse_blocks(blocks)
    if not isinstance(claims, list) or len(claims) != len(blocks):
        return None
    data["claims"] = claims
    return data


def load_claims(path: Path, cache_dir: Path | None = None) -> dict:
    """Load and validate a claims file; raise DataError listing every problem (file:line: message).

    With ``cache_dir`` (the index cache), claims whose YAML text is unchanged since the last load come from the
    parse cache there, so a hand edit of a large file costs a parse of the edited claims only."""
    return load_claims_text(path, cache_dir)[0]


def load_claims_text(path: Path, cache_dir: Path | None = None, text: str | None = None) -> tuple[dict, str]:
    """``load_claims``, and the text it read (so that what is hashed is what is indexed); given ``text``, the
    file's content already read, it is not read again."""
    text = _read_text(path) if text is None else text
    return _load_text(path, text, cache_dir), text


def _load_text(path: Path, text: str, cache_dir: Path | None) -> dict:
    if not _alias_like(text):
        # Fast path: one C-speed parse (or the parse cache) and a schema check; the slow path finds lines.
        with _collector_paused():  # no aliases: the data has no cycles
            data, keys, checked = (_load_cached(path, text, cache_dir) if cache_dir is not None
                                   else (_parse_fast(text), None, set()))
            ok = isinstance(data, dict) and _quick_ok(data, checked)
        if ok:
            if keys is not None:
                _write_blocks(cache_dir, path, keys, data)
            return data
    data, problems = validate_text(text, str(path))
    if problems or data is None:
        raise DataError(problems or [Problem(str(path), None, "not a claims file")])
    return data


def _parse_quietly(text: str) -> Any:
    yaml = _yaml()
    try:
        return yaml.load(text, Loader=_loader())
    except yaml.YAMLError:
        return None


# The parse cache: one JSON file per claims file, mapping a hash of each claim's YAML text to the parsed claim,
# and one of the text before the first claim (the documents) to what it parses to.
PARSE_CACHE_FORMAT = 4  # bump when a claim's checks (_claim_ok) change: cached claims are not checked again
_TOP_LEVEL_LINE = re.compile(r"^[^ \n#]", re.M)
_OTHER_LINE_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")  # YAML breaks lines there too; `^` does not
_HEADER_DIRECTIVE = re.compile(r"^(?:%|---|\.\.\.)", re.M)


def _other_line_break(text: str) -> bool:
    """``_OTHER_LINE_BREAK.search(text)``, with the regex run only when one of its characters is there."""
    return (("\r" in text or "\x85" in text or "\u2028" in text or "\u2029" in text)
            and _OTHER_LINE_BREAK.search(text) is not None)


def _claim_starts(text: str) -> list[int] | None:
    """Where each claim's YAML text starts (the header is everything before the first), or None when the layout
    does not guarantee that each claim's text parses on its own exactly as it does within the file. It does
    when ``claims:`` is the last top-level key and every later line is blank, indented, a comment, or starts a
    "- " item: an item cannot then continue past the next column-0 "- " line, except inside a quoted scalar or
    flow collection left open, which makes the item alone a YAML error (and the caller falls back to a full parse).
    """
    m = re.search(r"^claims:[ \t]*\n", text, re.M)
    if m is None or _other_line_break(text) or _HEADER_DIRECTIVE.search(text, 0, m.start()):
        return None  # (a directive or document marker in the header would apply to the claims too)
    starts = []
    for line in _TOP_LEVEL_LINE.finditer(text, m.end()):
        i = line.start()
        if not (text.startswith("- ", i) or text.startswith("-\n", i)):
            return None  # another top-level key, a document marker, a directive, a tab...
        starts.append(i)
    if not starts or any(line.strip() and not line.lstrip().startswith("#")
                         for line in text[m.end():starts[0]].splitlines()):
        return None  # only blank and comment lines may stand between `claims:` and its first item
    return starts


def split_claim_blocks(text: str) -> tuple[str, list[str]] | None:
    """The header (everything before the first claim) and the YAML text of each claim (see _claim_starts), or
    None when the layout does not guarantee that each claim's text parses on its own."""
    starts = _claim_starts(text)
    if starts is None:
        return None
    return text[: starts[0]], [text[a:b] for a, b in _spans(starts, len(text))]


def _spans(starts: list[int], end: int):
    return zip(starts, [*starts[1:], end], strict=True)


def _block_keys(text: str, starts: list[int]) -> list[str]:
    """Each claim's key, its text hashed from a slice dropped at once (a million claims' blocks held together would
    double the text's memory)."""
    return [_block_key(text[a:b]) for a, b in _spans(starts, len(text))]


def _block_key(block: str | bytes) -> str:
    """A claim block's cache key: a hash of its text (or of that text in UTF-8, already encoded)."""
    return hashlib.blake2b(block if isinstance(block, bytes) else block.encode("utf-8"), digest_size=16).hexdigest()


def _header_key(header: str | bytes) -> str:
    """The cache key of the text before the first claim (the documents, their reference lists): parsed once too."""
    return "header-" + _block_key(header)


def _header_of(data: dict) -> dict:
    """What the text before the first claim parses to, given the whole file's data: ``claims:`` is its last key."""
    return {**{k: v for k, v in data.items() if k != "claims"}, "claims": None}


def parse_cache_path(cache_dir: Path, claims_file: Path) -> Path:
    key = hashlib.sha256(str(Path(claims_file).resolve()).encode("utf-8")).hexdigest()[:16]
    return Path(cache_dir) / f"parsed-{key}.json"


def _cache_format() -> str:
    """The cache's own format and the PyYAML that parsed it: another PyYAML might read a value differently."""
    return f"{PARSE_CACHE_FORMAT}/pyyaml-{_yaml().__version__}"


def _cache_secret(cache_dir: Path, create: bool) -> bytes | None:
    """The key that authenticates the parse cache, kept 0600 in the (private) cache folder: a cache file that
    was not written by this user's `evidence` is not read, so a cache can never show text claims.yaml lacks."""
    path = Path(cache_dir) / "parse-cache.key"
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        if not create:
            return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(os.urandom(32).hex())
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def text_slices(text: str, size: int = 1 << 20):
    """``text`` a megabyte of characters at a time: a large text hashed or written slice by slice is never copied
    whole as bytes (a million claims' file: 0.7 GB)."""
    return (text[i:i + size] for i in range(0, len(text), size))


def _hmac(secret: bytes, body: bytes | memoryview = b""):
    """An HMAC-SHA256 of the parse cache's body, to update as it is written or to read from."""
    import hmac

    return hmac.new(secret, body, hashlib.sha256)


def _mac(secret: bytes, body: bytes | memoryview) -> str:
    return _hmac(secret, body).hexdigest()


def _read_parse_cache(cache_dir: Path, claims_file: Path) -> dict:
    """The cached claims by block key; {} unless the file is this format, written by this user (its MAC checks)."""
    try:
        # read as bytes and decoded once, with no copy of the body on the way (a million claims: 0.8 GB each)
        raw = parse_cache_path(cache_dir, claims_file).read_bytes()
        newline = raw.find(b"\n")
        header = json.loads(raw[:newline]) if newline >= 0 else None
        secret = _cache_secret(cache_dir, create=False)
        if not (isinstance(header, dict) and header.get("format") == _cache_format() and secret is not None):
            return {}
        import hmac

        body = memoryview(raw)[newline + 1:]
        if not hmac.compare_digest(str(header.get("mac", "")), _mac(secret, body)):
            return {}
        text = str(body, "utf-8")
        del body, raw
        blocks = json.loads(text)
    except (OSError, ValueError):
        return {}
    return blocks if isinstance(blocks, dict) else {}


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused while a claims file is read: a large one makes millions of
    objects, none of them in a cycle, and each collection on the way walks all of those made so far (100k claims
    from the parse cache: its 77 MB of JSON took 1.9-2.6 s to decode, 0.5-0.6 s paused)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_cached(path: Path, text: str, cache_dir: Path) -> tuple[Any, list[str] | None, set[int]]:
    """Parse ``text`` reusing the cached claims of unchanged blocks; (None, _, _) when anything is doubtful. The
    second value is the block keys when the cache should be rewritten with this text's claims, else None; the
    third, the id() of each claim that came from the cache. Those were checked before they were cached, and the
    cache's MAC says this user's evidence wrote it, so each need not be checked again on its own."""
    starts = _claim_starts(text)
    if starts is None:
        return _parse_quietly(text), None, set()  # no blocks: nothing this text could put in the cache
    keys = _block_keys(text, starts)
    cached = _read_parse_cache(cache_dir, path)
    header_text = text[: starts[0]]
    header_key = _header_key(header_text)
    missing = [text[a:b] for (a, b), k in zip(_spans(starts, len(text)), keys, strict=True)
               if k not in cached]  # only the last may lack "\n"
    data = cached[header_key] if header_key in cached else _parse_quietly(header_text)
    if not (isinstance(data, dict) and "claims" in data and data["claims"] is None):
        return None, None, set()
    fresh = _parse_blocks(missing)
    if not isinstance(fresh, list) or len(fresh) != len(missing):
        return None, None, set()
    fresh_iter = iter(fresh)
    data["claims"] = [cached[k] if k in cached else next(fresh_iter) for k in keys]
    checked = {id(cached[k]) for k in keys if k in cached}
    # a header JSON would not give back exactly is never cached, and is no reason to rewrite the cache each time
    header_cached = header_key in cached
    header_new = not header_cached and _json_exact(_header_of(data))
    stale = missing or header_new or len(cached) != len(set(keys)) + header_cached
    return data, [header_key, *keys] if stale else None, checked


PARALLEL_PARSE_MIN = 4000  # claims to parse before a second process pays for itself (~0.5 ms of YAML each)


def _parse_blocks(blocks: list[str]) -> list | None:
    """Parse claim blocks into claims; when there are many, the second half in a child process (PyYAML holds
    the GIL). None if any block is not valid YAML."""
    first, rest = _in_two_halves(blocks, _parse_list)
    if not (isinstance(first, list) and isinstance(rest, list)):
        return None
    return first + rest


def _parse_list(blocks: list[str]) -> Any:
    return _parse_quietly("".join(blocks)) if blocks else []


def _check_list(blocks: list[str], chunk: int = 1000) -> list | None:
    """Each claim block parsed and checked, a thousand at a time, keeping only (id, doc, refs): validating a
    large file does not hold it parsed whole. None when a block fails (the caller then finds the lines)."""
    out = []
    for i in range(0, len(blocks), chunk):
        part = _parse_quietly("".join(blocks[i:i + chunk]))
        if not isinstance(part, list) or len(part) != len(blocks[i:i + chunk]) or not all(map(_claim_ok, part)):
            return None
        out.extend((c["id"], c["doc"], list(c["refs"])) for c in part)
    return out


def _in_two_halves(blocks: list, work, minimum: int | None = None) -> tuple[Any, Any]:
    """``work`` on each half of the blocks, the second in a child process when there are ``minimum`` or more
    (PyYAML and spaCy's rule matching hold the GIL); if no child can run or it dies, this process does both."""
    if len(blocks) < (PARALLEL_PARSE_MIN if minimum is None else minimum) or (os.cpu_count() or 1) < 2:
        return work(blocks), []
    import multiprocessing

    half = len(blocks) // 2
    child = None
    try:
        receiver, sender = multiprocessing.Pipe(duplex=False)
        child = multiprocessing.Process(target=_work_in_child, args=(receiver, sender, work, blocks[half:]),
                                        daemon=True)
        child.start()
        sender.close()  # the child holds the only write end, so it cannot outlive us blocked on a full pipe
    except Exception:  # no child process here (sandbox limits): this one does both halves
        child = None
    try:
        first = work(blocks[:half])
        rest: Any = _NO_RESULT
        if child is not None:
            with contextlib.suppress(EOFError, OSError):  # the child died: do its half here
                rest = receiver.recv()
        if rest is _NO_RESULT:
            rest = work(blocks[half:])
    finally:
        if child is not None:
            receiver.close()
            if child.is_alive():
                child.terminate()  # interrupted: do not leave it working
            child.join(5)
    return first, rest


_NO_RESULT = object()


def _work_in_child(receiver, sender, work, blocks: list[str]) -> None:
    receiver.close()  # so that our send fails (and we exit) if the parent is gone
    with contextlib.suppress(BaseException), sender:  # quietly: the parent does this half itself if we fail
        sender.send(work(blocks))


def _json_exact(value) -> bool:
    """True when JSON gives ``value`` back unchanged: str keys, and only str, int, float, bool, None, list, dict."""
    if isinstance(value, dict):
        return all(type(k) is str and _json_exact(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_exact(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def write_parse_cache(cache_dir: Path, claims_file: Path, text: str, data: dict) -> None:
    """Remember the parsed claims of ``text`` (valid data only) for the next load. Best effort: it is a cache."""
    starts = _claim_starts(text)
    if starts is not None:
        keys = [_header_key(text[: starts[0]]), *_block_keys(text, starts)]
        _write_blocks(cache_dir, claims_file, keys, data)


def _write_blocks(cache_dir: Path, claims_file: Path, keys: list[str], data: dict) -> None:
    """The cache: ``keys`` are the header's and then each claim's (as _load_cached returns them)."""
    items = [_header_of(data), *data["claims"]]
    if len(keys) != len(items):
        return
    try:
        # a claim JSON would not give back exactly (a date, a mapping with a number as key) is simply not cached
        blocks = {k: c for k, c in zip(keys, items, strict=True) if _json_exact(c)}
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        secret = _cache_secret(cache_dir, create=True)
        if secret is None:
            return
        # the body is written a claim at a time, never held whole (a million claims: 0.75 GB, and as much again
        # while json.dumps joins it); its MAC, known at the end, replaces a placeholder of the same length
        mac = _hmac(secret)

        def header(digest: str) -> str:
            return json.dumps({"format": _cache_format(), "mac": digest})

        def parts():
            yield header("0" * mac.digest_size * 2) + "\n"
            for part in _json_parts(blocks):
                mac.update(part.encode("ascii"))
                yield part

        def finish(fh) -> None:
            fh.seek(0)
            fh.write(header(mac.hexdigest()))

        atomic_write_text(parse_cache_path(cache_dir, claims_file), parts(), mode=0o600, finish=finish)
    except Exception:
        return


def _json_parts(blocks: dict):
    """``json.dumps(blocks, separators=(",", ":"))``, an entry at a time. ASCII (non-ASCII letters as \\u escapes):
    the parts are one byte a character, where a text holding one "γ" would be two."""
    yield "{"
    for i, (key, value) in enumerate(blocks.items()):
        yield ("," if i else "") + json.dumps(key) + ":" + json.dumps(value, separators=(",", ":"))
    yield "}"


_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")
_DOC_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_LEVELS = {"none", "weak", "moderate", "strong"}
# control characters (C0 but tab and newline, DEL, C1): a claim quotes prose, and a terminal would obey them
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _ints(value, minimum: int = 1) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= minimum for v in value)


def _strs(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _has_control(value) -> bool:
    """A control character in any string of a claim (its text, a note, an entity's text...): the strings are
    gathered without recursion and searched in one go (a claims file of 100k claims holds millions of them)."""
    if isinstance(value, str):
        return CONTROL.search(value) is not None
    strings: list[str] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            strings.append(v)
        elif isinstance(v, dict):
            stack.extend(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    joined = " ".join(strings)
    return not joined.isprintable() and CONTROL.search(joined) is not None  # control characters are not printable


def _claim_ok(c) -> bool:
    """The schema's constraints on one claim, checked by hand (jsonschema is ~30x slower on 100k claims)."""
    if not (isinstance(c, dict) and isinstance(c.get("id"), str) and _ID.match(c["id"])
            and isinstance(c.get("doc"), str) and isinstance(c.get("section"), str)
            and isinstance(c.get("section_title"), str) and isinstance(c.get("text"), str) and c["text"]
            and _ints(c.get("refs")) and _ints(c.get("span"), 0) and len(c["span"]) == 2
            and len(c["text"]) <= MAX_TEXT and not _has_control(c)):
        return False
    return _optional_ok(c, _OPTIONAL)


_OPTIONAL = {
    "paragraph": lambda v: type(v) is int and v >= 0,
    "kind": lambda v: isinstance(v, str),
    "tier": lambda v: isinstance(v, str),
    "figure": lambda v: type(v) is int,
    "pages": _ints,
    "author_year": _strs,
    "context_refs": _ints,
    "context_from": _strs,
    "curated_fields": _strs,
    "ingest_hash": lambda v: isinstance(v, str),
    "entities": lambda v: isinstance(v, list) and all(
        isinstance(e, dict) and all(isinstance(e.get(k), str) for k in ("id", "type", "text"))
        and all(type(e[k]) is int for k in ("start", "end") if k in e) for e in v),
    "hedging": lambda v: isinstance(v, dict) and v.get("level") in _LEVELS and _strs(v.get("cues")),
    "numbers": lambda v: isinstance(v, list) and all(
        isinstance(n, dict) and isinstance(n.get("text"), str) and isinstance(n.get("kind"), str)
        and (("value" not in n) or (type(n["value"]) in (int, float)))
        and (("unit" not in n) or isinstance(n["unit"], str)) for n in v),
}


_DOC_OPTIONAL = {
    **{k: (lambda v: isinstance(v, str)) for k in ("title", "book", "publisher", "doi", "licence", "references_note")},
    "authors": _strs,
    "year": lambda v: type(v) is int,
    "extracted": lambda v: isinstance(v, str),
    "sections": lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(t, str) for k, t in v.items()),
    "pages": lambda v: type(v) is int and v >= 1,
    "references": lambda v: isinstance(v, list) and all(
        isinstance(r, dict) and type(r.get("n")) is int and r["n"] >= 1 and isinstance(r.get("text"), str)
        and bool(r["text"]) and all(isinstance(r[k], str) for k in ("doi", "pmid") if k in r)
        and (("pmid" not in r) or r["pmid"].isdigit()) for r in v),
    "references_available": lambda v: isinstance(v, bool),
}


def _optional_ok(record: dict, checks: dict) -> bool:
    return all(check(record[key]) for key, check in checks.items() if key in record)


def _doc_ok(d) -> bool:
    return (isinstance(d, dict) and isinstance(d.get("id"), str) and bool(_DOC_ID.match(d["id"]))
            and isinstance(d.get("path"), str) and isinstance(d.get("sha256"), str)
            and bool(_SHA.match(d["sha256"])) and _optional_ok(d, _DOC_OPTIONAL))


def _quick_ok(data: dict, checked: set[int] = frozenset()) -> bool:
    """True when the data is certainly valid; anything doubtful goes to the full check, which finds lines.
    Claims whose id() is in ``checked`` were checked on their own before (see _load_cached)."""
    if set(data) - {"schema_version", "documents", "claims"} or type(data.get("schema_version")) is not int \
            or data["schema_version"] != 1:  # (True == 1 in Python: the schema's const does not accept it)
        return False
    if not isinstance(data.get("documents"), list) or not isinstance(data.get("claims"), list):
        return False
    if not all(_doc_ok(d) for d in data["documents"]) or not all(
            _claim_ok(c) for c in data["claims"] if id(c) not in checked):
        return False
    docs = {d["id"] for d in data["documents"]}
    ids = [c["id"] for c in data["claims"]]
    return len(set(ids)) == len(ids) and all(c["doc"] in docs for c in data["claims"])


def dump_claims(data: dict) -> str:
    """Deterministic YAML for a claims mapping, with the header comment: what PyYAML writes, byte for byte, by a
    writer for the claims file's shape that is several times faster (yaml_writer.py)."""
    head, claims = _claims_parts(data)
    return head + "".join(claims or ())


def _claims_parts(data: dict) -> tuple[str, Iterable[str] | None]:
    """``dump_claims(data)`` as the text before the first claim and each claim's text, made one at a time; a shape
    the fast writer leaves to PyYAML comes whole, with None for the claims."""
    from evidence_cli.yaml_writer import dump, dump_parts

    parts = dump_parts(data)
    if parts is None:
        return HEADER + dump(data), None
    head, claims = parts
    return HEADER + head, claims


def write_claims(path: Path, data: dict, cache_dir: Path | None = None) -> bool:
    """Write ``data`` to the claims file ``path`` as ``dump_claims`` gives it, atomically and a claim at a time (a
    million claims' text, 1.5 GB as a str, is never held); a file that already holds exactly that text is left
    as it is. With ``cache_dir``, the parse cache is written as ``write_parse_cache`` would, each claim's key
    hashed from the same part. Returns whether the file was written."""
    head, claims = _claims_parts(data)
    keys: list[str] = []
    digest = hashlib.sha256()
    size = 0

    def parts():
        nonlocal size
        for part in itertools.chain((head,), claims or ()):
            blob = part.encode("utf-8")
            digest.update(blob)
            size += len(blob)
            keys.append(_block_key(blob) if keys else _header_key(blob))
            yield part

    def same() -> bool:
        try:
            return path.stat().st_size == size and file_sha256(path) == digest.hexdigest()
        except OSError:
            return False

    try:
        written = atomic_write_text(path, parts(), unless=same)
    except DataError:
        if keys:  # failed while writing
            raise
        for _ in parts():  # no temporary file could be made (a read-only folder): fine if nothing changed
            pass
        if not same():
            raise
        written = False
    if cache_dir is not None:
        if claims is not None:
            _write_blocks(cache_dir, path, keys, data)
        else:  # a shape the fast writer leaves to PyYAML: keyed as any text is
            write_parse_cache(cache_dir, path, head, data)
    return written


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_text(path: Path, text: str | Iterable[str], mode: int | None = None,
                      finish: Callable | None = None, unless: Callable[[], bool] | None = None) -> bool:
    """Write ``text`` (or its parts, one after another) to ``path`` via a temporary file in the same folder and a
    rename: all or nothing. A new file gets ``mode`` (default 0644; caches pass 0600), an existing one keeps its
    own. The text is encoded a slice at a time: a million claims' file is not copied whole as bytes. ``finish``,
    if given, is called with the open file once the text is written (to overwrite a placeholder). ``unless``, if
    given, is asked once the text is written: when it answers true, ``path`` is left as it was. Returns whether
    ``path`` was written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DataError(Problem(str(path), None, f"folder {folder} does not exist; create it or choose another path"))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise DataError(Problem(str(path), None, f"cannot write here: {exc.strerror}")) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for part in (text,) if isinstance(text, str) else text:
                for piece in text_slices(part):
                    fh.write(piece)
            if finish is not None:
                finish(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if unless is not None and unless():
            Path(tmp).unlink(missing_ok=True)
            return False
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return True
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DataError(Problem(str(path), None, f"cannot write: {exc.strerror}")) from None
        raise


def fingerprint(claim: dict, skip: set[str] | frozenset[str] = frozenset()) -> str:
    # fields added to the format later count only where present, so older files keep their stamps
    payload = {k: claim.get(k) for k in GENERATED if k not in skip and (k in claim or k not in _ADDED_LATER)}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def edited_since_ingest(claim: dict) -> bool:
    """True when a field ingest generated was changed by hand after the last ingest (which fields, the next
    ingest tells and lists in ``curated_fields``)."""
    stamp = claim.get("ingest_hash")
    if not isinstance(stamp, str):
        return True  # ingest stamps every claim it writes: this one was added (or its stamp removed) by hand
    return stamp != fingerprint(claim, set(claim.get("curated_fields") or []))


# Fields that always come from the source text: a claim quotes the source, so a hand edit of these is not kept
# (ingest says so); the rest (kind, refs, entities, hedging, tier, numbers, author_year) may be curated.
FROM_SOURCE = frozenset(("id", "doc", "section", "section_title", "paragraph", "figure", "text", "span", "pages",
                         "context_refs", "context_from"))


def merge_curation(new_claims: list[dict], old_claims: list[dict]) -> tuple[list[dict], list[str]]:
    """Carry a person's edits from ``old_claims`` onto freshly generated ``new_claims``.

    An old claim belongs to the new claim with the same sentence (document and text), wherever it now stands;
    failing that, to the new claim with its id whose sentence is new (a hand-edited text). A field is a person's
    edit when it is listed in ``curated_fields``, or when the old claim no longer matches its ``ingest_hash`` and
    the field differs from the fresh value; fields from the source text are never taken from the old claim.
    Fields a person added are kept. Old claims with edits whose sentence is gone are kept, ``orphaned: true``.
    Returns the merged claims and human-readable notes.
    """
    olds = [c for c in old_claims if isinstance(c, dict) and "id" in c]
    by_text: dict[tuple, dict] = {}
    for c in olds:
        by_text.setdefault((c.get("doc"), c.get("text")), c)
    by_id = {c["id"]: c for c in olds}
    new_texts = {(n["doc"], n["text"]) for n in new_claims}
    used: set[int] = set()
    notes: list[str] = []
    merged: list[dict] = []
    for new in new_claims:
        old = by_text.get((new["doc"], new["text"]))
        if old is None:
            candidate = by_id.get(new["id"])
            if candidate is not None and (candidate.get("doc"), candidate.get("text")) not in new_texts:
                old = candidate
        if old is not None and id(old) in used:
            old = None
        curated: set[str] = set()
        extra: dict = {}
        if old is not None:
            used.add(id(old))
            curated = {f for f in old.get("curated_fields") or [] if f in old}
            if old.get("ingest_hash") != fingerprint(old, curated):
                curated |= {k for k in GENERATED if k in old and old[k] != new.get(k)}
            dropped = sorted(curated & FROM_SOURCE)
            if dropped and old.get("text") != new["text"]:
                notes.append(f"{new['id']}: hand edits to {', '.join(dropped)} not kept: claims quote the source")
            curated -= FROM_SOURCE
            extra = {k: v for k, v in old.items() if k not in GENERATED and k not in BOOKKEEPING}
        out = dict(new)
        out["ingest_hash"] = fingerprint(new, curated)
        for k in sorted(curated):
            out[k] = old[k]  # type: ignore[index]
        out.update(extra)
        if curated:
            out["curated_fields"] = sorted(curated)
            notes.append(f"{new['id']}: kept edited {', '.join(sorted(curated))}")
        if extra:
            notes.append(f"{new['id']}: kept added {', '.join(sorted(extra))}")
        merged.append(out)
    taken_ids = {m["id"] for m in merged}
    for old in olds:
        if id(old) in used:
            continue
        has_edits = old.get("curated_fields") or any(k not in GENERATED and k not in BOOKKEEPING for k in old)
        if has_edits or old.get("ingest_hash") != fingerprint(old, set(old.get("curated_fields") or [])):
            kept = dict(old)
            if kept["id"] in taken_ids:
                kept["id"] = f"{kept['id']}-orphan"
            taken_ids.add(kept["id"])
            kept["orphaned"] = True
            merged.append(kept)
            notes.append(f"{old['id']}: its sentence is no longer in the source but it was edited by hand; "
                         f"kept as {kept['id']}, marked orphaned")
    return merged, notes
