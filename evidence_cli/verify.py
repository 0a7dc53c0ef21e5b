"""Check a markdown note's quotes against the current claims.

A quoted claim is a blockquote, or a quotation in double quotes, that names a claim id: as `evidence export` writes
them ("> text" then "> — `id` (§2.5), refs [43] *(hedged: might)*") and as a person pastes them
(“text” (wong2017-2.5-05, [43])). For each one the verdict is:

- ``ok``: the claim exists, the quote is its text (whitespace, line breaks and markdown escapes aside; "…" or
  "[…]" may stand for an omitted part), the refs given are the claim's, and a hedged claim is marked hedged;
- ``changed``: the claim's text is no longer what is quoted (the current text is given, and the id of the claim
  whose text it now is, if any);
- ``unknown claim``: no claim has that id (where the quoted text is now another claim's, that id is given);
- ``refs differ``: the reference numbers given are not the claim's;
- ``hedge not marked``: the claim is hedged and the quote does not say so;
- ``not a quote of any claim``: the text is far from the claim it names, and from every other claim.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from evidence_cli.errors import DataError, Problem

# a claim id: <doc>-<section>-<n> (section: a number path, s<k>, abs, kw, front, …) or <doc>-fig<n>
_ID_BODY = r"[A-Za-z0-9][\w.-]*?-(?:[A-Za-z0-9][\w.]*-\d+|fig\d+|tab\d+)"
CLAIM_ID = re.compile(rf"(?<![\w.-])({_ID_BODY})(?![\w-])")


def id_pattern(doc_ids: list[str]) -> re.Pattern:
    """Claim ids, and anything that starts like one of these documents' ids ("wong2017-2.5.17", "wong2017_2.5-17",
    "wong2017"): a mistyped id next to a quote is reported, never skipped."""
    if not doc_ids:
        return CLAIM_ID
    docs = "|".join(re.escape(d) for d in sorted(doc_ids, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])((?:{docs})(?:[-_.:][\w.-]*\w)?|{_ID_BODY})(?![\w-])")


_ELISION = re.compile(r"\s*(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.)\s*")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # markdown's backslash escapes of ASCII punctuation
_HEDGE_MARK = re.compile(r"(?<!not )(?<!un)\bhedged\b", re.IGNORECASE)
_CONTEXT = re.compile(r"\(context:[^)]*\)", re.IGNORECASE)
_NO_REF = re.compile(r"\bno ref(?:erence)?s?\b|\bnone in (?:the )?sentence\b|\buncited\b", re.IGNORECASE)
_REF_GROUP = re.compile(r"\[\s*(\d+(?:\s*[–—-]\s*\d+)?(?:\s*,\s*\d+(?:\s*[–—-]\s*\d+)?)*)\s*\]")
_REFS_WORD = re.compile(r"\brefs?\.?\s*:?\s*((?:\d+(?:\s*[–—-]\s*\d+)?)(?:\s*(?:,|and)\s*\d+(?:\s*[–—-]\s*\d+)?)*)",
                        re.IGNORECASE)
_INLINE = re.compile(r"[“\"]([^”\"]{12,}?)[”\"]")
CHANGED_SIMILARITY = 0.5  # below this, a quote is not a changed version of the claim it names


@dataclass
class Verdict:
    """One quoted claim of the note and what became of it."""

    line: int
    claim: str
    status: str
    quote: str
    refs_quoted: list[int] | None  # None: the quote gives no reference numbers
    refs: list[int] = field(default_factory=list)  # the claim's refs now
    doc: str | None = None
    text: str | None = None  # the claim's text now, where it differs
    hedged: bool = False
    now_claim: str | None = None  # an unknown id whose quoted text is now this claim's

    def to_dict(self) -> dict:
        out = {"line": self.line, "claim": self.claim, "status": self.status, "quote": self.quote,
               "refs_quoted": self.refs_quoted, "refs": self.refs, "doc": self.doc, "hedged": self.hedged}
        if self.text is not None:
            out["text"] = self.text
        if self.now_claim is not None:
            out["now_claim"] = self.now_claim
        return out


@dataclass
class _Quote:
    line: int
    text: str
    claims: list[str]  # the ids it names (two for two consecutive sentences quoted together)
    tail: str  # what follows the ids: refs, hedge mark

    @property
    def claim(self) -> str:
        return ", ".join(self.claims)


def read_note(data: bytes, name: str) -> str:
    """The note as text; a binary or non-UTF-8 file is a DataError naming it."""
    if b"\x00" in data[:8192]:
        raise DataError(Problem(name, None, "this is a binary file, not a markdown note"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(Problem(name, line, "not UTF-8 text; save the note as UTF-8")) from None


def find_quotes(note: str, ids: re.Pattern = CLAIM_ID, known: tuple[str, ...] = ()) -> list[_Quote]:
    """Every quoted claim of a markdown note, in order (``ids``: what a claim id looks like; ``known``: the
    corpus's document ids, whose claim ids count wherever they stand in a blockquote)."""
    lines = note.splitlines()
    quotes: list[_Quote] = []
    start = _front_matter_end(lines)
    i = start
    fence = False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
            i += 1
            continue
        if fence:
            i += 1
            continue
        if line.lstrip().startswith(">"):
            first = i
            block = []
            while i < len(lines) and lines[i].lstrip().startswith(">"):
                block.append(re.sub(r"^\s*>\s?", "", lines[i]))
                i += 1
            quotes.extend(_block_quotes(block, first + 1, ids, known))
            continue
        if line.strip():  # a paragraph: a quotation may run over its line breaks
            first = i
            paragraph = []
            while (i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith((">", "```", "~~~"))):
                paragraph.append(lines[i])
                i += 1
            quotes.extend(_inline_quotes("\n".join(paragraph), first + 1, ids))
            continue
        i += 1
    return quotes


def _front_matter_end(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for j in range(1, len(lines)):
            if lines[j].strip() in ("---", "..."):
                return j + 1
    return 0


_ATTRIBUTION = re.compile(r"\s*(?:[—–-]{1,2}|source:|claim:?)?\s*[(\[`]*\s*", re.IGNORECASE)


def _block_quotes(block: list[str], first_line: int, ids: re.Pattern, known: tuple[str, ...] = ()) -> list[_Quote]:
    """A blockquote is one quoted claim when it names a claim id: its text is every line before the line with the
    id (an attribution line "— `id` …", or the id at the end of the text)."""
    out = []
    text_lines: list[str] = []
    start = first_line
    for k, line in enumerate(block):
        # an id of one of the documents, or one set off as an id: opening the line (an attribution), or after a
        # bracket, backtick or dash ("… 2011. (wong2017-2.1-26)"); other id-shaped words are the text's ("SARS-CoV-2")
        m = next((x for x in ids.finditer(line) if x.group(1).startswith(known)
                  or _ATTRIBUTION.fullmatch(line[: x.start()]) or re.search(r"[(\[`—–]\s*$", line[: x.start()])),
                 None)
        if m is None:
            if not text_lines:
                start = first_line + k
            text_lines.append(line)
            continue
        before = line[: m.start()]
        attribution = _ATTRIBUTION.fullmatch(before)
        if attribution is None:  # "… in 2011. (wong2017-2.1-26, no ref)": the id ends the quoted text
            text_lines.append(re.sub(r"[\s(\[`—–-]+$", "", before))
        text = "\n".join(text_lines).strip()
        named, tail = _ids_then_tail(line[m.start():], ids)
        if text:
            out.append(_Quote(start, text, named, tail))
        text_lines = []
        start = first_line + k + 1
    return out


def _inline_quotes(text: str, lineno: int, ids: re.Pattern) -> list[_Quote]:
    """Quotations of a paragraph (lines joined by line breaks) that name a claim id: after the quotation ("…" (id,
    refs [4])), or, on a line with one id and one quotation (a table row, "id: “…”"), anywhere on that line."""
    import bisect

    out = []
    found = list(_INLINE.finditer(text))
    breaks = [i for i, ch in enumerate(text) if ch == "\n"]
    for k, m in enumerate(found):
        end = found[k + 1].start() if k + 1 < len(found) else len(text)
        after = text[m.end():end]  # up to the next quotation: linear in the paragraph
        line = lineno + bisect.bisect_left(breaks, m.start())
        idm = ids.search(after)
        if idm is not None and re.fullmatch(r"[\s(\[`,;:—–-]*", after[: idm.start()]):
            named, tail = _ids_then_tail(after[idm.start():], ids)
            out.append(_Quote(line, m.group(1), named, tail))
            continue
        start = text.rfind("\n", 0, m.start()) + 1
        stop = text.find("\n", m.end())
        whole = text[start: stop if stop >= 0 else len(text)]
        inside = range(m.start() - start, m.end() - start)  # an id-shaped word of the quotation is not its id
        named_at = [x for x in ids.finditer(whole) if x.start() not in inside]
        if len(named_at) == 1 and len(_INLINE.findall(whole)) == 1:
            out.append(_Quote(line, m.group(1), [named_at[0].group(1)], whole[named_at[0].end():]))
    return out


def _ids_then_tail(text: str, ids: re.Pattern) -> tuple[list[str], str]:
    """The ids at the start of an attribution ("`a`, `b` (§2.5), refs [4]") and what follows them."""
    named = []
    at = 0
    while True:
        m = ids.match(text, at) if named else ids.search(text, at)
        if m is None:
            break
        named.append(m.group(1))
        at = m.end()
        gap = re.match(r"[`\s]*(?:,|and|&|\+)?[`\s]*", text[at:])
        if not gap or not ids.match(text, at + gap.end()) or not gap.group(0).strip(" `"):
            break
        at += gap.end()
    return named, text[at:]


def quoted_refs(tail: str) -> list[int] | None:
    """The reference numbers an attribution gives ("refs [43]", "[27–30]", "no reference"); None when it gives
    none. Context refs ("(context: [8] from …)") are not the claim's."""
    tail = _CONTEXT.sub(" ", tail)
    tail = re.split(r"\*\(|\(hedged|\[hedged", tail, maxsplit=1)[0]
    groups = _REF_GROUP.findall(tail) or _REFS_WORD.findall(tail)
    if not groups:
        return [] if _NO_REF.search(tail) else None
    out = [n for group in groups for n in _expand(group)]
    return list(dict.fromkeys(out))


def quoted_context(tail: str) -> list[int] | None:
    """The context refs an attribution gives ("(context: [8] from …)"), or None."""
    m = _CONTEXT.search(tail)
    if m is None:
        return None
    return [int(n) for group in _REF_GROUP.findall(m.group(0)) for n in _expand(group)]


def _expand(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|and)\s*", group):
        ends = [int(x) for x in re.split(r"\s*[–—-]\s*", part) if x.strip().isdigit()]
        out.extend(range(ends[0], ends[1] + 1) if len(ends) == 2 and 0 < ends[1] - ends[0] < 200 else ends)
    return out


def _bare(text: str) -> str:
    """Normalised text without its citation markers: a quote may leave "[45]" to its attribution."""
    return " ".join(_MARKER.sub(" ", _normal(text)).split()).replace(" .", ".").replace(" ,", ",")


_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*[–—,-]\s*\d+)*\s*\]")


def _normal(text: str) -> str:
    text = _ESCAPE.sub(r"\1", text)
    text = text.replace("“", '"').replace("”", '"').replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def matches(quote: str, claim_text: str) -> bool:
    """The quote is the claim's text, whitespace and escapes aside; "…" or "[…]" may stand for omitted words
    (whole words only), and a quote may leave all its citation markers ("[45]") to its attribution, but the
    markers it keeps must be the claim's."""
    q, c = _normal(quote), _normal(claim_text)
    if q == c:
        return True
    if not _MARKER.search(q):  # no markers kept: compare with the claim's text without its markers
        c = _bare(claim_text)
        q = _bare(quote)
        if q == c:
            return True
    elif [m.strip() for m in _MARKER.findall(q)] != [m.strip() for m in _MARKER.findall(c)] and not _ELISION.search(q):
        return False
    if not _ELISION.search(q) or _ELISION.search(c):
        return False
    pieces = [p for p in _ELISION.split(q) if p]
    at = 0
    for n, piece in enumerate(pieces):
        found = _find_words(c, piece, at)
        if found < 0 or (n == 0 and not _ELISION.match(q) and found != 0):
            return False
        at = found + len(piece)
    return bool(_ELISION.search(q[-6:])) or at == len(c)


def _find_words(text: str, piece: str, start: int) -> int:
    """Where ``piece`` stands in ``text`` (from ``start``) as whole words: "… complete …" is not in "incomplete"."""
    for m in re.finditer(re.escape(piece), text[start:]):
        a, b = start + m.start(), start + m.end()
        before_ok = not (piece[0].isalnum() and a > 0 and text[a - 1].isalnum())
        after_ok = not (piece[-1].isalnum() and b < len(text) and text[b].isalnum())
        if before_ok and after_ok:
            return a
    return -1


def verify_note(note: str, claims: list[dict], name: str = "note") -> list[Verdict]:
    """Each quoted claim of ``note`` checked against ``claims`` (see the module's docstring)."""
    by_id = {c["id"]: c for c in claims if not c.get("orphaned")}
    by_text = {_normal(c["text"]): c["id"] for c in by_id.values()}
    out = []
    docs = sorted({c["doc"] for c in by_id.values()})
    for q in find_quotes(note, id_pattern(docs), tuple(docs)):
        refs_quoted = quoted_refs(q.tail)
        context_quoted = quoted_context(q.tail)
        hedge_marked = bool(_HEDGE_MARK.search(q.tail) or _HEDGE_MARK.search(q.text))
        shown = " ".join(q.text.split())
        named = [by_id.get(cid) for cid in q.claims]
        if None in named:
            now = by_text.get(_normal(q.text))
            out.append(Verdict(q.line, q.claim, "unknown claim", shown, refs_quoted, now_claim=now))
            continue
        text = " ".join(c["text"] for c in named)
        refs = list(dict.fromkeys(r for c in named for r in c.get("refs") or []))
        context = list(dict.fromkeys(r for c in named for r in c.get("context_refs") or []))
        hedged = any((c.get("hedging") or {}).get("level", "none") != "none" for c in named)
        verdict = Verdict(q.line, q.claim, "ok", shown, refs_quoted, refs, named[0]["doc"], hedged=hedged)
        if not matches(q.text, text):
            # drift: the claim's text moved on (a re-ingest, a correction), or the quoted text is now another
            # claim's (ids shift when a sentence is added before it); far from both, it quotes no claim
            other = by_text.get(_normal(q.text))
            close = difflib.SequenceMatcher(None, _normal(q.text), _normal(text)).ratio()
            cut = len(_bare(q.text)) >= 12 and _bare(q.text) in _bare(text)  # shortened, with no "…" to say so
            verdict.status = ("changed" if other or cut or close >= CHANGED_SIMILARITY
                              else "not a quote of any claim")
            verdict.now_claim = other
            verdict.text = text
        elif refs_quoted is not None and sorted(refs_quoted) != sorted(refs):
            verdict.status = "refs differ"
        elif context_quoted is not None and sorted(context_quoted) != sorted(context):
            verdict.status = "refs differ"  # the context refs a note gives are checked too
        elif hedged and not hedge_marked:
            verdict.status = "hedge not marked"
        out.append(verdict)
    return out
