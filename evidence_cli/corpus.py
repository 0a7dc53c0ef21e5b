"""Read a raw PDF-extracted document and cut it into cleaned sentences with their spans in the raw text.

Cleaning, in the order it happens:

* running headers and footers (the document's and book's titles, optionally glued to a page number), bare page
  numbers, DOI lines and the licence line are dropped;
* a figure caption (``Figure 1. ...`` up to the next blank line) is taken out of the sentence it interrupts and
  kept as a sentence of its own;
* lines are rejoined: a line-end hyphen is removed when it only splits a word (``mecha-`` + ``nism``) and kept when
  it is a real one (``PD-`` + ``L1``, ``MHC-`` + ``related``); white space runs become one space;
* section headings (``Abstract``, ``Keywords:``, ``2.1. CTLA-4``) start sections; paragraphs are recovered from
  short last lines; sentences are split with care for abbreviations, decimals and citation brackets.

Every kept character remembers its offset in the raw file, so each sentence carries its exact raw span.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from evidence_cli.errors import DataError, Problem

# A full line in this extraction is ~84-100 characters; a paragraph's last line is usually shorter.
SHORT_LINE = 84

_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\.\s+([A-Z][^\n]{0,118}?)\s*$")
_FIGURE = re.compile(r"^(Figure|Fig\.)\s+(\d+)\.\s")
_KEYWORDS = re.compile(r"^Keywords?\s*:", re.IGNORECASE)
_PAGE_NUMBER = re.compile(r"^\d{1,4}$")
_DOI_LINE = re.compile(r"^(https?://)?(dx\.)?doi\.org/\S+$|^doi:\s*\S+$", re.IGNORECASE)
_LICENCE = re.compile(r"^(©|\(c\)\s*\d{4})|Licensee\s+\w+\.|distributed under the terms of the Creative Commons")
_TERMINAL = ".!?:”\"’)]"
_WORD_BEFORE_HYPHEN = re.compile(r"([\w]+)-$")
_WORD_AFTER = re.compile(r"^([\w]+)")

ABBREVIATIONS = frozenset(
    "e.g i.e vs etc al fig figs ref refs approx ca cf dr mr mrs ms no nos vol p pp resp incl max min".split()
)


@dataclass
class DocMeta:
    """A corpus document and the metadata from its sidecar ``<name>.yaml``."""

    id: str
    path: str
    sha256: str
    title: str = ""
    authors: list[str] = field(default_factory=list)
    book: str = ""
    publisher: str = ""
    year: int | None = None
    doi: str = ""
    licence: str = ""
    references_available: bool = False
    references_note: str = ""
    running_headers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out: dict = {"id": self.id, "path": self.path, "sha256": self.sha256}
        for key in ("title", "authors", "book", "publisher", "year", "doi", "licence"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out["references_available"] = self.references_available
        if self.references_note:
            out["references_note"] = self.references_note
        return out


@dataclass
class Sentence:
    """One cleaned sentence (or a figure caption, or the keyword line) and where it came from."""

    text: str
    start: int
    end: int
    section: str
    section_title: str
    paragraph: int
    kind: str = "text"  # text | figure | keywords
    figure: int | None = None


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "doc"


def read_document(path: Path) -> tuple[DocMeta, str]:
    """Read ``path`` (UTF-8 text) and its optional metadata sidecar ``path.with_suffix('.yaml')``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(Problem(str(path), None, "no such corpus document; pass a .txt file or a folder")) from None
    except OSError as exc:
        raise DataError(Problem(str(path), None, f"cannot read: {exc.strerror}")) from None
    if b"\x00" in data:
        raise DataError(Problem(str(path), None, "looks like a binary file; the corpus must be UTF-8 text"))
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            Problem(str(path), line, "not valid UTF-8; convert it (e.g. iconv -t UTF-8) and ingest again")
        ) from None
    meta: dict = {}
    sidecar = path.with_suffix(".yaml")
    if sidecar.is_file():
        from evidence_cli.store import load_yaml_file

        loaded = load_yaml_file(sidecar)
        if not isinstance(loaded, dict):
            raise DataError(Problem(str(sidecar), 1, "document metadata must be a mapping (id: ..., title: ...)"))
        meta = loaded
    known = {k: meta[k] for k in DocMeta.__dataclass_fields__ if k in meta and k not in ("path", "sha256")}
    known.setdefault("id", slug(path.stem))
    known["id"] = str(known["id"])
    return DocMeta(path=path.as_posix(), sha256=hashlib.sha256(data).hexdigest(), **known), raw


class _Stream:
    """Cleaned text being assembled, with the raw offset of every character."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.offsets: list[int] = []

    def __bool__(self) -> bool:
        return bool(self.chars)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def tail(self, n: int) -> str:
        """The last ``n`` characters (without joining the whole stream: a paragraph can be long)."""
        return "".join(self.chars[-n:])

    def add(self, content: str, offset: int) -> None:
        """Append ``content`` (starting at raw ``offset``), folding white space runs into one space."""
        for i, ch in enumerate(content):
            if ch.isspace():
                if not self.chars or self.chars[-1] == " ":
                    continue
                ch = " "
            self.chars.append(ch)
            self.offsets.append(offset + i)

    def join(self, content: str, offset: int, dehyphenate: bool) -> None:
        """Append the next line: drop a word-splitting hyphen, glue after a kept hyphen or slash, else a space."""
        if self.chars and self.chars[-1] == "-" and dehyphenate:
            self.chars.pop()
            self.offsets.pop()
        elif self.chars and self.chars[-1] not in "-/":
            self.chars.append(" ")
            self.offsets.append(offset)
        self.add(content, offset)


class _Hyphenation:
    """Decides whether a line-end hyphen splits a word or belongs to it, from the document's own usage."""

    def __init__(self, raw: str) -> None:
        self.compounds: set[str] = set()
        self.words: set[str] = set()
        for line in raw.splitlines():
            for word in re.findall(r"[\w]+(?:-[\w]+)*", line):
                if "-" in word:
                    parts = word.lower().split("-")
                    self.compounds.update(f"{a}-{b}" for a, b in itertools.pairwise(parts))
                else:
                    self.words.add(word.lower())

    def splits_word(self, before: str, after: str) -> bool:
        left = _WORD_BEFORE_HYPHEN.search(before)
        right = _WORD_AFTER.match(after)
        if not left or not right:
            return False
        a, b = left.group(1), right.group(1)
        if b[0].isupper() or b[0].isdigit() or a[-1].isupper() or a[-1].isdigit():
            return False  # PD- / L1, MHC- / related, CTLA- / 4
        compound, closed = f"{a}-{b}".lower(), f"{a}{b}".lower()
        return not (compound in self.compounds and closed not in self.words)


def _classify(stripped: str, meta: DocMeta) -> str:
    if not stripped:
        return "blank"
    for header in meta.running_headers:
        if stripped.startswith(header) and _PAGE_NUMBER.match(stripped[len(header) :].strip() or "0"):
            return "drop"
    if _PAGE_NUMBER.match(stripped) or _DOI_LINE.match(stripped) or _LICENCE.search(stripped):
        return "drop"
    if stripped == "Abstract" or _KEYWORDS.match(stripped):
        return "heading"
    if _HEADING.match(stripped) and not stripped.endswith("."):
        return "heading"
    if _FIGURE.match(stripped):
        return "figure"
    return "text"


def segment(raw: str, meta: DocMeta) -> list[Sentence]:
    """Clean ``raw`` and cut it into sentences (see the module docstring)."""
    hyph = _Hyphenation(raw)
    sentences: list[Sentence] = []
    section, title = "front", "Front matter"
    paragraph = 0
    stream = _Stream()
    caption: _Stream | None = None
    caption_no = 0
    prev_line = ""  # the last text line added to the stream (stripped)
    gap = False  # a blank or dropped line since prev_line

    def flush() -> None:
        nonlocal stream
        if stream:
            sentences.extend(split_sentences(stream, section, title, paragraph))
        stream = _Stream()

    def flush_caption() -> None:
        nonlocal caption
        if caption:
            text = caption.text.strip()
            sentences.append(
                Sentence(text, caption.offsets[0], caption.offsets[len(text) - 1] + 1, section, title, 0,
                         kind="figure", figure=caption_no)
            )
        caption = None

    offset = 0
    for line in raw.splitlines(keepends=True):
        line_start = offset
        offset += len(line)
        body = line.rstrip("\r\n")
        stripped = body.strip()
        lead = line_start + (len(body) - len(body.lstrip()))
        kind = _classify(stripped, meta)
        numbered = _HEADING.match(stripped) if kind == "heading" else None
        if numbered and (int(numbered.group(1).split(".")[0]) >= 100
                         or (prev_line and not gap and prev_line[-1:] not in _TERMINAL)):
            kind = "text"  # "2011. Pembrolizumab was ..." wrapped mid-sentence is not a section heading
        if caption is not None:
            if kind == "blank":
                flush_caption()
            elif kind == "text":
                caption.join(stripped, lead, hyph.splits_word(caption.tail(60), stripped))
                continue
            else:
                flush_caption()
        if kind in ("blank", "drop"):
            gap = gap or bool(prev_line)
            continue
        if kind == "heading":
            flush()
            paragraph = 0
            prev_line, gap = "", False
            if stripped == "Abstract":
                section, title = "abstract", "Abstract"
            elif _KEYWORDS.match(stripped):
                section, title = "keywords", "Keywords"
                stream.add(stripped, lead)
                sentences.append(Sentence(stream.text, lead, lead + len(stripped), section, title, 1, "keywords"))
                stream = _Stream()
            else:
                m = _HEADING.match(stripped)
                assert m is not None
                section, title = m.group(1), m.group(2).strip()
            continue
        if kind == "figure":
            caption = _Stream()
            caption_no = int(_FIGURE.match(stripped).group(2))  # type: ignore[union-attr]
            caption.add(stripped, lead)
            continue
        # an ordinary text line
        new_paragraph = not stream or (
            gap and prev_line[-1:] in _TERMINAL and len(prev_line) < SHORT_LINE and stripped[:1].isupper()
        )
        if new_paragraph:
            flush()
            paragraph += 1
            stream.add(stripped, lead)
        else:
            stream.join(stripped, lead, hyph.splits_word(stream.tail(60), stripped))
        prev_line, gap = stripped, False
    flush_caption()
    flush()
    sentences.sort(key=lambda s: s.start)  # document order (a caption is finished before its paragraph)
    return sentences


_BOUNDARY = re.compile(r"[.!?][\"”’)\]]*(?=\s+[\"“‘(\[A-Z0-9])")
_LEADING_CITATION = re.compile(r"\s*(\[[\d\s,;–—-]+\])\s*")  # matched where a sentence ends


def split_sentences(stream: _Stream, section: str, title: str, paragraph: int) -> list[Sentence]:
    """Split one paragraph into sentences at ``. `` followed by a capital, digit, quote or bracket.

    Not after an abbreviation (``e.g.``, ``vs.``, ``et al.``) or a single initial; a citation that opens the next
    sentence (``... tissue. [12] Next``) is moved back to the sentence it belongs to.
    """
    text = stream.text
    cuts = [0]
    for m in _BOUNDARY.finditer(text):
        if text[m.start()] == ".":
            word = re.search(r"([\w.]+)$", text[max(0, m.start() - 40) : m.start()])
            token = word.group(1).lower() if word else ""
            if token.rstrip(".") in ABBREVIATIONS or re.fullmatch(r"[a-z]", token):
                continue
        lead = _LEADING_CITATION.match(text, m.end())  # in place: slicing the rest would be quadratic
        cuts.append(lead.end(1) if lead else m.end())
    cuts.append(len(text))
    out = []
    for a, b in itertools.pairwise(cuts):
        piece = text[a:b]
        left = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if not piece:
            continue
        start = a + left
        out.append(
            Sentence(piece, stream.offsets[start], stream.offsets[start + len(piece) - 1] + 1, section, title,
                     paragraph)
        )
    return out
