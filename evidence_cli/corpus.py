"""Cut a document's lines into cleaned sentences with their spans in its text, and read its reference list.

The lines come from a PDF (evidence_cli.pdf: fonts, positions, superscripts) or a text file
(layout.text_lines); the rules that tell body text from page furniture, headings, captions, lists, boilerplate
and back matter are in evidence_cli.layout and in the segmenter below, and read the layout from the document
itself. Cleaning then: ligatures spelt out, extractor spacing undone, superscript citations taken out of the text
(kept as marks), a line-end hyphen removed only where it splits a word (``mecha-`` + ``nism``) and kept where it
is a real one (``PD-`` + ``L1``, ``T cell-`` + ``mediated``); sentences are split with care for abbreviations,
decimals and citations before or after the full stop.

Every kept character remembers its offset in the document's text (for a PDF, the extracted text), so each
sentence carries its exact span.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from evidence_cli.errors import DataError, Problem
from evidence_cli.layout import (
    ABSTRACT_HEADING,
    BACK_MATTER_HEADING,
    BOILERPLATE,
    BULLET,
    CAPTION,
    DOI_LINE,
    KEYWORDS,
    LICENCE_INSIDE,
    NUMBERED_HEADING,
    PAGE_NUMBER,
    REFERENCES_HEADING,
    TERMINAL,
    TRAILING_FUNCTION_WORD,
    body_size,
    furniture,
    is_title_line,
    sup_citation,
    superscript_text,
    text_lines,
)
from evidence_cli.pdf import Line

# A paragraph's last line is usually shorter than the text's full lines: under this share of their width (the
# width a hard-wrapped text is set to, see _Segmenter.width)
SHORT_LINE = 0.91

_WORD_BEFORE_HYPHEN = re.compile(r"([\w]+)-$")
_WORD_AFTER = re.compile(r"^([\w]+)")

# Function words that form closed compounds (sometimes, without, therefore, whereas, nevertheless, ...).
_CLOSED_PREFIXES = frozenset(
    "some with there here where what when how any every none never ever further more over under into onto upon"
    " them your self this that these those through thereby whereby other another".split()
)

ABBREVIATIONS = frozenset(
    "e.g i.e vs etc al fig figs ref refs approx ca cf dr mr mrs ms no nos vol p pp resp incl max min st".split()
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
    extracted: str = ""  # for a PDF: the kept extracted text that claim spans point into
    pages: int | None = None

    def to_dict(self) -> dict:
        out: dict = {"id": self.id, "path": self.path, "sha256": self.sha256}
        for key in ("title", "authors", "book", "publisher", "year", "doi", "licence", "extracted", "pages"):
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
    sup_refs: tuple[int, ...] = ()  # reference numbers printed as superscripts (PDF only)


def slug(name: str) -> str:
    """A document id from a file name: accents and umlauts as their letters ("Müller 2019" -> "muller-2019")."""
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "doc"


def read_bytes(path: Path) -> bytes:
    """A corpus document's bytes; a clear DataError when it is missing or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(Problem(str(path), None, "no such corpus document; pass a .pdf, .txt or .md file or a "
                                "folder")) from None
    except OSError as exc:
        raise DataError(Problem(str(path), None, f"cannot read: {exc.strerror}")) from None


def read_document(path: Path) -> tuple[DocMeta, str]:
    """Read ``path`` (UTF-8 text) and its optional metadata sidecar ``path.with_suffix('.yaml')``."""
    data = read_bytes(path)
    if b"\x00" in data:
        raise DataError(Problem(str(path), None, "looks like a binary file; the corpus must be UTF-8 text"))
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            Problem(str(path), line, "not valid UTF-8; convert it (e.g. iconv -t UTF-8) and ingest again")
        ) from None
    return read_sidecar(path, hashlib.sha256(data).hexdigest()), raw


def read_sidecar(path: Path, sha256: str) -> DocMeta:
    """The document's metadata from its optional sidecar ``path.with_suffix('.yaml')`` (id, title, authors, ...);
    the id defaults to the file name."""
    meta: dict = {}
    sidecar = path.with_suffix(".yaml")
    if sidecar.is_file():
        from evidence_cli.store import load_yaml_file

        loaded = load_yaml_file(sidecar)
        if not isinstance(loaded, dict):
            raise DataError(Problem(str(sidecar), 1, "document metadata must be a mapping (id: ..., title: ...)"))
        meta = loaded
    fields = ("path", "sha256", "extracted", "pages")
    known = {k: meta[k] for k in DocMeta.__dataclass_fields__ if k in meta and k not in fields}
    known.setdefault("id", slug(path.stem))
    known["id"] = str(known["id"])
    return DocMeta(path=path.as_posix(), sha256=sha256, **known)


class _Stream:
    """Cleaned text being assembled, with the raw offset of every character and the superscript citations
    (``marks``: the position in the text where each stood, and its reference numbers)."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.offsets: list[int] = []
        self.marks: list[tuple[int, tuple[int, ...]]] = []

    def __bool__(self) -> bool:
        return bool(self.chars)

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def span(self) -> tuple[str, int, int]:
        """The stream's text stripped, with its [start, end) offsets in the document."""
        text = self.text
        lead = len(text) - len(text.lstrip())
        text = text.strip()
        return text, self.offsets[lead], self.offsets[lead + len(text) - 1] + 1

    def tail(self, n: int) -> str:
        """The last ``n`` characters (without joining the whole stream: a paragraph can be long)."""
        return "".join(self.chars[-n:])

    def add_pairs(self, pairs: list[tuple[str, int]], marks=()) -> None:
        """Append characters with their offsets (white space runs folded) and the marks placed among them."""
        if not marks:  # (most lines: the same, without looking for a mark at each character)
            chars, offsets = self.chars, self.offsets
            after_space = not chars or chars[-1] == " "
            for ch, off in pairs:
                if ch.isspace():
                    if after_space:
                        continue
                    ch, after_space = " ", True
                else:
                    after_space = False
                chars.append(ch)
                offsets.append(off)
            return
        marks = sorted(marks)
        m = 0
        for i, (ch, off) in enumerate(pairs):
            while m < len(marks) and marks[m][0] <= i:
                self.marks.append((len(self.chars), marks[m][1]))
                m += 1
            if ch.isspace():
                if not self.chars or self.chars[-1] == " ":
                    continue
                ch = " "
            self.chars.append(ch)
            self.offsets.append(off)
        for _, refs in marks[m:]:
            self.marks.append((len(self.chars), refs))

    def join_pairs(self, pairs: list[tuple[str, int]], marks, dehyphenate: bool) -> None:
        """Append the next line: drop a word-splitting hyphen, glue after a kept hyphen or slash, else a space."""
        leading = [refs for pos, refs in marks if pos == 0]  # a superscript opening the line ends the last one
        self.marks.extend((len(self.chars), refs) for refs in leading)
        marks = [(pos, refs) for pos, refs in marks if pos != 0]
        if self.chars and self.chars[-1] == "-" and dehyphenate:
            self.chars.pop()
            self.offsets.pop()
        elif self.chars and self.chars[-1] not in "-/" and pairs:
            self.chars.append(" ")
            self.offsets.append(pairs[0][1])
        self.add_pairs(pairs, marks)


class _Hyphenation:
    """Decides whether a line-end hyphen splits a word or belongs to it, from the document's own usage."""

    def __init__(self, raw: str) -> None:
        self.compounds: set[str] = set()
        self.words: set[str] = set()
        broken = False  # the previous line ended in a hyphen: its first word is the second half of a split
        for line in raw.splitlines():
            tokens = re.findall(r"[\w]+(?:-[\w]+)*", line)
            ends_broken = line.rstrip().endswith("-")
            for k, word in enumerate(tokens):
                if (k == 0 and broken) or (k == len(tokens) - 1 and ends_broken):
                    continue
                if "-" in word:
                    parts = word.lower().split("-")
                    self.compounds.update(f"{a}-{b}" for a, b in itertools.pairwise(parts))
                else:
                    self.words.add(word.lower())
            broken = ends_broken if line.strip() else broken

    def splits_word(self, before: str, after: str) -> bool:
        left = _WORD_BEFORE_HYPHEN.search(before)
        right = _WORD_AFTER.match(after)
        if not left or not right:
            return False
        a, b = left.group(1), right.group(1)
        if b[0].isupper() or b[0].isdigit() or a[-1].isupper() or a[-1].isdigit():
            return False  # PD- / L1, MHC- / related, CTLA- / 4
        compound, closed = f"{a}-{b}".lower(), f"{a}{b}".lower()
        if closed in self.words:
            return True
        if compound in self.compounds:
            return False
        # "well-" + "established", "colony-" + "stimulating": two words the document also uses on their own
        # (not "some-" + "times", "with-" + "out": English closes compounds of function words)
        return not (len(a) >= 4 and len(b) >= 5 and a.lower() in self.words and b.lower() in self.words
                    and a.lower() not in _CLOSED_PREFIXES)


_LIGATURES = {"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
              "\u2010": "-", "\u2011": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " "}
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_SPECIAL = re.compile("[" + "".join(sorted(_INVISIBLE | set(_LIGATURES))) + "]")  # a character _line_pairs changes
_NO_SPACE_BEFORE = frozenset(",;:)]")
_NO_SPACE_AFTER = frozenset("([")
# where _tidy may drop a space: before one of those or a full stop or hyphen, or after an opening bracket
_TIDY_AT = re.compile("[ ][" + re.escape("".join(sorted(_NO_SPACE_BEFORE | {".", "-"}))) + "]|["
                      + re.escape("".join(sorted(_NO_SPACE_AFTER))) + "][ ]")


@dataclass
class Reference:
    """One entry of the document's reference list, as printed."""

    n: int
    text: str
    start: int
    end: int


@dataclass
class Segmented:
    sentences: list[Sentence]
    references: list[Reference]
    sections: dict[str, str] = field(default_factory=dict)  # every numbered section's title, with or without text
    authors: list[str] = field(default_factory=list)  # the author line of a PDF's first page, as printed


def _line_pairs(line: Line, begin: int, before: str, hyph: _Hyphenation) -> tuple[list[tuple[str, int]],
                                                                                 list[tuple[int, tuple[int, ...]]]]:
    """The characters of ``line.text[begin:]`` with their offsets, cleaned: ligatures spelt out, invisible
    characters dropped, superscript citations taken out (returned as marks at their position), and the
    extractor's stray spaces before punctuation and inside hyphenated tokens removed. ``before`` is the text
    the line continues (to tell a superscript glued to the previous line's last word)."""
    text = line.text
    groups: list[tuple[int, int]] = []  # a superscript group with a space or comma inside ("1, 3") is one group
    for a, b in sorted(line.sup):
        if groups and re.fullmatch(r"[\s,]*", text[groups[-1][1]:a]):
            groups[-1] = (groups[-1][0], b)
        else:
            groups.append((a, b))
    sup_end = dict(groups)
    pairs: list[tuple[str, int]] = []
    marks: list[tuple[int, tuple[int, ...]]] = []
    i, end = begin, len(text.rstrip())
    # "sta -" + "bly": the extractor's space before a line-end hyphen is skipped (offsets stay the file's)
    stray = end - 2 if end >= 3 and text[end - 1] == "-" and text[end - 2] == " " and text[end - 3].isalpha() else -1
    if not sup_end and stray < 0 and _SPECIAL.search(text, i, end) is None:  # each character as it is (most lines)
        start = line.start
        pairs = [(ch, start + k) for k, ch in enumerate(text[i:end], i)]
        return (pairs, marks) if _TIDY_AT.search(text, i, end) is None else _tidy(pairs, marks, hyph)
    while i < end:
        if i == stray:
            i += 1
            continue
        if i in sup_end:
            b = sup_end[i]
            context = "".join(ch for ch, _ in pairs[-40:]) if pairs else before
            refs = sup_citation(text, i, b, context)
            if refs:
                marks.append((len(pairs), refs))
            elif re.fullmatch(r"[a-z*†‡§¶#,\s]+", text[i:b]):
                pass  # a footnote mark ("patients^a", "author^*"): not a word of the sentence
            else:
                for j, ch in enumerate(superscript_text(text[i:b])):
                    pairs.append((ch, line.start + min(i + j, b - 1)))
            i = b
            continue
        ch = text[i]
        if ch in _INVISIBLE:
            if ch == "\u00ad" and i == end - 1:
                pairs.append(("-", line.start + i))  # a soft hyphen at the line end marks a split word
            i += 1
            continue
        for c in _LIGATURES.get(ch, ch):
            pairs.append((c, line.start + i))
        i += 1
    return _tidy(pairs, marks, hyph)


def _tidy(pairs, marks, hyph: _Hyphenation):
    """Remove spaces an extractor invents: before , ; : ) ] and a sentence's period, after ( and [, and inside a
    hyphenated token ("caspase -3", "res -ponses")."""
    drop: set[int] = set()
    n = len(pairs)
    for k, (ch, _) in enumerate(pairs):
        if ch != " " or k == 0 or k == n - 1:
            continue
        prev, nxt = pairs[k - 1][0], pairs[k + 1][0]
        after = pairs[k + 2][0] if k + 2 < n else ""
        before_punctuation = nxt in _NO_SPACE_BEFORE and (prev.isalnum() or prev in ")]%")
        before_full_stop = nxt == "." and prev.isalpha() and (not after or after == " ")
        if before_punctuation or before_full_stop or (prev in _NO_SPACE_AFTER and nxt.isalnum()):
            drop.add(k)
        elif nxt == "-" and prev.isalnum() and after.isalnum():
            drop.add(k)
            left = "".join(c for c, _ in pairs[max(0, k - 40):k])
            right = "".join(c for c, _ in pairs[k + 2:k + 42])
            if hyph.splits_word(left + "-", right):
                drop.add(k + 1)
    if not drop:
        return pairs, marks
    keep = [p for k, p in enumerate(pairs) if k not in drop]
    shift = [0] * (n + 1)
    for k in range(n):
        shift[k + 1] = shift[k] + (k in drop)
    return keep, [(pos - shift[pos], refs) for pos, refs in marks]


class _Section:
    """The heading the text is under: a number or an ordinal id, and its title."""

    def __init__(self) -> None:
        self.id, self.title = "front", "Front matter"
        self.unnumbered = 0
        self.numbered: dict[str, str] = {}  # "2": "Melanoma", "2.1": "Historical context"

    def set(self, heading: str) -> str:
        """Enter the section ``heading``; returns its mode: body, references or skip (back matter)."""
        bare = heading.strip().rstrip(":").strip()
        if REFERENCES_HEADING.match(bare):
            return "references"
        if BACK_MATTER_HEADING.match(bare):
            return "skip"
        if ABSTRACT_HEADING.match(bare):
            self.id, self.title = "abstract", "Abstract"
            return "body"
        m = NUMBERED_HEADING.match(bare)
        if m and not bare.endswith("."):
            self.id, self.title = m.group(1), m.group(2).strip()
            self.numbered.setdefault(self.id, self.title)
            if ABSTRACT_HEADING.match(self.title):
                self.id = "abstract"
            elif REFERENCES_HEADING.match(self.title):
                return "references"
            elif BACK_MATTER_HEADING.match(self.title):
                return "skip"
            return "body"
        self.unnumbered += 1
        self.id, self.title = f"s{self.unnumbered}", bare
        return "body"


def segment(raw: str, meta: DocMeta, lines: list[Line] | None = None) -> list[Sentence]:
    """Clean a document and cut it into sentences (see the module docstring)."""
    return segment_document(raw, meta, lines).sentences


def segment_document(raw: str, meta: DocMeta, lines: list[Line] | None = None) -> Segmented:
    """Sentences and the reference list of a document: ``raw`` is its text (for a PDF, the extracted text that
    ``lines`` point into; for a text file, the file, and ``lines`` are read from it)."""
    pdf = lines is not None
    if lines is None:
        lines = text_lines(raw)
    return _Segmenter(raw, lines, pdf).run()


class _Segmenter:
    def __init__(self, raw: str, lines: list[Line], pdf: bool) -> None:
        self.lines, self.pdf = lines, pdf
        self.hyph = _Hyphenation(raw)
        self.drop = furniture(lines)
        self.body = body_size(lines) if pdf else 0.0
        widths = sorted(len(line.text.strip()) for line in lines if line.text.strip())
        # not wrapped at a fixed width: a paragraph per line (text saved from a web page or a word processor)
        self.unwrapped = not pdf and bool(widths) and widths[int(len(widths) * 0.9)] > 200
        self.in_item = False
        self.after_heading = False
        self.caption_interrupts, self.caption_lines, self.caption_width = False, 0, 0
        # a text with (almost) no blank lines, as PDF extractors write it: blank lines cannot end a block
        self.unblanked = not pdf and sum(not line.text.strip() for line in lines) < 0.02 * max(1, len(lines))
        # the full width of a hard-wrapped line (for a text of one paragraph per line: a long paragraph)
        self.width = widths[int(len(widths) * 0.75)] if widths else 80
        self.sentences: list[Sentence] = []
        self.references: list[Reference] = []
        self.section = _Section()
        self.mode = "body"
        self.paragraph = 0
        self.stream = _Stream()
        self.caption: _Stream | None = None
        self.caption_no = 0
        self.caption_size = 0.0
        self.caption_page = 0
        self.prev_line = ""  # the last text line added to the stream (stripped)
        self.gap = False  # a blank or dropped line since prev_line
        self.boiler = False  # inside a boilerplate block (licence box...) until a blank line or a new paragraph
        self.boiler_line: Line | None = None
        self.ref: list | None = None  # the reference entry being read: [n, text stream]
        self.author_lines: list[str] = []  # page-1 lines of author names (PDF), their marks taken out

    # -- output -------------------------------------------------------------------------------------------
    def flush(self) -> None:
        if self.stream:
            self.sentences.extend(split_sentences(self.stream, self.section.id, self.section.title,
                                                  self.paragraph))
        self.stream = _Stream()

    def flush_caption(self) -> None:
        cap = self.caption
        if cap and cap.text.strip():
            text, start, end = cap.span()
            refs = tuple(sorted({r for _, group in cap.marks for r in group}))
            self.sentences.append(Sentence(text, start, end, self.section.id, self.section.title, 0, kind="figure",
                                           figure=self.caption_no, sup_refs=refs))
        self.caption = None

    def flush_ref(self) -> None:
        if self.ref is not None:
            n, stream = self.ref
            if stream.text.strip():
                self.references.append(Reference(n, *stream.span()))
        self.ref = None

    def add_to(self, stream: _Stream, line: Line, begin: int, new: bool, glue: bool = False) -> None:
        pairs, marks = _line_pairs(line, begin, stream.tail(40), self.hyph)
        while pairs and pairs[0][0].isspace():
            pairs.pop(0)
            marks = [(max(0, p - 1), r) for p, r in marks]
        if new or not stream or glue:
            stream.add_pairs(pairs, marks)
        else:
            tail_text = "".join(ch for ch, _ in pairs[:60])
            stream.join_pairs(pairs, marks, self.hyph.splits_word(stream.tail(60), tail_text))

    # -- the pass ---------------------------------------------------------------------------------------------
    def run(self) -> Segmented:
        lines = self.lines
        i = 0
        while i < len(lines):
            i = self.step(i)
        self.flush_caption()
        self.flush()
        self.flush_ref()
        self.sentences.sort(key=lambda s: s.start)  # document order (a caption is finished before its paragraph)
        return Segmented(self.sentences, self.references, self.section.numbered, _author_names(self.author_lines))

    def next_text(self, i: int) -> str:
        for line in self.lines[i + 1 : i + 12]:
            if line.text.strip():
                return line.text.strip()
        return ""

    def heading(self, text: str) -> None:
        if not self.pdf:  # in a PDF a caption set in two columns goes on past the heading between its halves
            self.flush_caption()
        self.flush()
        self.flush_ref()
        self.paragraph = 0
        self.prev_line, self.gap = "", False
        self.boiler = False
        self.mode = self.section.set(text)

    def step(self, i: int) -> int:
        line = self.lines[i]
        stripped = line.text.strip()
        if not stripped:
            if self.caption is not None and not self.pdf:
                self.flush_caption()
            self.boiler = False
            self.gap = self.gap or bool(self.prev_line)
            return i + 1
        if i in self.drop or PAGE_NUMBER.match(stripped) or (DOI_LINE.match(stripped) and self.mode != "references"):
            self.gap = self.gap or bool(self.prev_line)
            return i + 1
        if self.boiler and not self._continues_box(line, stripped):
            self.boiler = False  # the block ends where a new paragraph (or, in text, a new sentence) starts
        if self.boiler or BOILERPLATE.match(stripped) or LICENCE_INSIDE.search(stripped):
            self.boiler, self.boiler_line = True, line
            if self.mode == "references":  # a publisher's note or licence box after the list ends it
                self.flush_ref()
                self.mode = "skip"
            self.gap = self.gap or bool(self.prev_line)
            return i + 1
        return self.step_pdf(i, line, stripped) if self.pdf else self.step_text(i, line, stripped)

    def _continues_box(self, line: Line, stripped: str) -> bool:
        """The line goes on with the boilerplate box before it: in text, a line that does not start a sentence;
        in a PDF, a line of the same type on the same page, either in the same paragraph or right below the last
        line of the box in its column."""
        if not self.pdf:
            return stripped[:1].islower()
        last = self.boiler_line
        if line.page != last.page or abs(line.size - last.size) > 0.03 * last.size:
            return False
        return not line.para or (line.column == last.column and 0 < line.top - last.top <= 2 * last.size)

    # -- PDF lines: fonts and geometry --------------------------------------------------------------------
    def step_pdf(self, i: int, line: Line, stripped: str) -> int:
        if self.caption is not None and line.page != self.caption_page:
            self.flush_caption()
        body = self.body or line.size
        rel = line.size / body if body else 1.0
        body_like = abs(rel - 1) <= 0.04
        cap = CAPTION.match(stripped)
        if cap and line.para and (not body_like or line.bold or line.bold_prefix or self.mode != "body"
                                  or self._caption_like(stripped)):
            self.flush_caption()
            self.caption = _Stream()
            self.caption_no = int(re.sub(r"\D", "", cap.group("n")) or 0)
            self.caption_size, self.caption_page = line.size, line.page
            self.add_to(self.caption, line, 0, True)
            return i + 1
        if self.caption is not None and abs(line.size - self.caption_size) <= 0.03 * self.caption_size \
                and line.page == self.caption_page and not (body_like and line.para):
            self.add_to(self.caption, line, 0, False)
            return i + 1
        if (line.bold or rel > 1.04) and line.sup and _namelike(stripped) and line.page == 1 \
                and not any(x.kind == "text" for x in self.sentences) and not self.stream:
            self.author_lines.append(_without_marks(line))  # the first page's author names, marks taken out
            return i + 1
        vocabulary = REFERENCES_HEADING.match(stripped) or BACK_MATTER_HEADING.match(stripped)
        # a bold subheading set a little smaller than the text (a run-in results heading in some journals' layouts),
        # where a sentence has ended
        subheading = line.bold and rel >= 0.88 and (not self.stream or _ends_sentence(self.stream.tail(80)))
        if (line.bold or rel > 1.04) and line.para and (rel >= 0.96 or vocabulary or subheading):
            j, words = i + 1, len(stripped.split())
            while j < len(self.lines) and j - i < 4 and self._same_block(self.lines[j - 1], self.lines[j]):
                words += len(self.lines[j].text.split())
                j += 1
            text = _joined([_without_marks(ln) for ln in self.lines[i:j]], self.hyph)
            after = self.lines[j] if j < len(self.lines) else None
            distinct = after is None or after.bold != line.bold or abs(after.size - line.size) > 0.03 * line.size
            title_shaped = (text[:1].isupper() or text[:1].isdigit()) and not text.endswith(("-", ",", ";")) \
                and not TRAILING_FUNCTION_WORD.search(text)
            if j - i <= 3 and words <= 25 and distinct and title_shaped and not (text.endswith(".") and words > 8):
                if KEYWORDS.match(text):
                    self.keywords(i, j)
                else:
                    self.heading(text)
                return j
        begin = 0
        if line.bold_prefix and rel >= 0.96 and (line.para or not self.stream or _ends_sentence(self.stream.tail(80))):
            lead = _without_marks(Line(line.text[: line.bold_prefix], 0, sup=line.sup)).strip()
            if lead and len(lead.split()) <= 12:
                if KEYWORDS.match(lead):
                    self.keywords(i, i + 1)
                    return i + 1
                self.heading(lead.rstrip(".:"))
                begin = line.bold_prefix
        if self.mode == "skip":
            return i + 1
        if self.mode == "references":
            self.reference_line(line, begin)
            return i + 1
        if rel < 0.96:
            return i + 1  # smaller type: table bodies, figure labels, footnotes, affiliations
        new = not self.stream or (line.para and not self._continues(line))
        if new:
            self.flush()
            self.paragraph += 1
        self.add_to(self.stream, line, begin, new)
        self.prev_line, self.gap = stripped, False
        return i + 1

    @staticmethod
    def _same_block(a: Line, b: Line) -> bool:
        """b continues a's block of display type (a heading or title over several lines)."""
        if abs(b.size - a.size) >= 0.03 * a.size or b.bold != a.bold or b.page != a.page:
            return False
        return not b.para or 0 < b.top - a.top <= 1.6 * a.size

    def _caption_like(self, stripped: str) -> bool:
        return bool(re.match(r"^\S+\s*\S+\s*[.:|]", stripped))

    def _continues(self, line: Line) -> bool:
        """A line the geometry starts a paragraph with, which still continues the sentence before it (a new
        column or page: the previous text did not end a sentence and this one does not start one)."""
        tail = self.stream.tail(4).rstrip().rstrip("\"”’)]")
        return bool(tail) and tail[-1] not in ".!?:" and not BULLET.match(line.text)

    def keywords(self, i: int, j: int) -> None:
        self.flush()
        self.section.id, self.section.title = "keywords", "Keywords"
        stream = _Stream()
        for k in range(i, j):
            self.add_to(stream, self.lines[k], 0, k == i)
        if stream.text.strip():
            self.sentences.append(Sentence(*stream.span(), "keywords", "Keywords", 1, "keywords"))
        self.paragraph = 0

    def reference_line(self, line: Line, begin: int) -> None:
        text = line.text[begin:]
        # "12." "12)" "[12]": a number alone ("12 (2020) 100-105." wrapped from the entry before) starts none
        m = re.match(r"^\s*(?:\[(\d{1,4})\]|(\d{1,4})[.)])\s+(?=\S)", text)
        expected = self.references[-1].n + 1 if self.references else None
        if self.ref is not None:
            expected = self.ref[0] + 1
        number = int(m.group(1) or m.group(2)) if m else None
        if m and (expected is None or number == expected):
            self.flush_ref()
            stream = _Stream()
            self.add_to(stream, line, begin + m.end(), True)
            self.ref = [number, stream]
        elif self.ref is not None:
            # a DOI or URL broken at the line end goes on without a space
            glue = bool(_URL_TAIL.search(self.ref[1].tail(80))) and not text[begin:].lstrip()[:1].isupper()
            self.add_to(self.ref[1], line, begin, False, glue=glue)

    # -- plain-text lines: blank lines and shapes -----------------------------------------------------------
    def step_text(self, i: int, line: Line, stripped: str) -> int:
        if self.caption is not None:
            resumes = (self.caption_interrupts and self.caption.tail(3).rstrip()[-1:] in ".!?"
                       and stripped[:1].islower())  # the sentence the caption broke into goes on
            if CAPTION.match(stripped) or self._heading_text(i, stripped) or resumes or self.caption_lines >= 25:
                self.flush_caption()
            else:
                self.add_to(self.caption, line, 0, False)
                self.caption_lines += 1
                self.caption_width = max(self.caption_width, len(stripped))
                if self.unblanked and stripped[-1:] in ".!?" and len(stripped) < 0.7 * self.caption_width:
                    self.flush_caption()  # a short last line ends the caption where no blank line does
                return i + 1
        if ABSTRACT_HEADING.match(stripped):
            self.heading(stripped)
            return i + 1
        if KEYWORDS.match(stripped):
            self.flush()
            self.keywords(i, i + 1)
            self.prev_line, self.gap = "", False
            return i + 1
        label = _RUN_IN_LABEL.match(stripped)
        if label and (not self.prev_line or self.prev_line[-1:] in TERMINAL or self.after_heading):
            self.heading(label.group(1))  # "Results We reveal that ..." in a structured abstract
            self.prev_line, self.gap = "", False
            self.paragraph += 1
            self.add_to(self.stream, line, (len(line.text) - len(line.text.lstrip())) + label.end(), True)
            self.prev_line = stripped
            return i + 1
        heading = self._heading_text(i, stripped)
        if heading:
            j = i + 1
            if heading == 2:
                while not self.lines[j].text.strip():
                    j += 1
                stripped = _joined([stripped, self.lines[j].text], self.hyph)
                j += 1
            self.heading(stripped)
            self.after_heading = True
            return j
        self.after_heading = False
        if self._interrupts(i, stripped):
            self.gap = self.gap or bool(self.prev_line)
            return i + 1
        cap = CAPTION.match(stripped)
        mid = bool(self.prev_line) and self.prev_line[-1:] not in TERMINAL
        if cap and (self.gap or not self.prev_line or (mid and _LABELLED_CAPTION.match(stripped))):
            self.caption = _Stream()
            self.caption_interrupts, self.caption_lines, self.caption_width = mid, 1, len(stripped)
            self.caption_no = int(re.sub(r"\D", "", cap.group("n")) or 0)
            self.add_to(self.caption, line, 0, True)
            return i + 1
        if self.mode == "skip":
            return i + 1
        if self.mode == "references":
            self.reference_line(line, 0)
            self.gap = False
            return i + 1
        item = BULLET.match(line.text.lstrip())
        prev = self.prev_line
        mid_sentence = bool(prev) and not self.gap and prev[-1:] not in TERMINAL
        numbered = item is not None and item.group("marker")[-1:] in ".)"
        if item and not (mid_sentence and numbered and not self.in_item):
            self.flush()
            self.paragraph += 1
            begin = (len(line.text) - len(line.text.lstrip())) + item.end()
            self.add_to(self.stream, line, begin, True)
            self.prev_line, self.gap, self.in_item = stripped, False, True
            return i + 1
        indented = line.text[:1].isspace()
        continues_item = self.in_item and (indented or (stripped[:1].islower() and prev[-1:] not in TERMINAL))
        new_paragraph = not self.stream or (
            self.gap and prev[-1:] in TERMINAL and len(prev) < SHORT_LINE * self.width and stripped[:1].isupper()
        ) or (self.unwrapped and _ends_sentence(prev) and _starts_sentence(stripped) and not indented) or (
            self.in_item and not continues_item)
        self.in_item = continues_item
        if new_paragraph:
            self.flush()
            self.paragraph += 1
        self.add_to(self.stream, line, 0, new_paragraph)
        self.prev_line, self.gap = stripped, False
        return i + 1

    def _heading_text(self, i: int, stripped: str) -> int:
        """The number of lines (0, 1 or 2) of a plain-text heading starting here: numbered ("2.5. Title",
        "2.3 Title"), or title-shaped lines standing apart, shorter than the text's full lines (a full-width
        line without a full stop is a wrapped sentence, not a heading)."""
        prev = self.prev_line
        mid_sentence = bool(prev) and not self.gap and prev[-1:] not in TERMINAL
        m = NUMBERED_HEADING.match(stripped)
        if m:
            number = m.group(1)
            if "." not in number and not re.match(r"^\d+\.\s", stripped):
                return 0  # "3 patients had ..." / "2 Melanoma"? only "N." or "N.M" numbers are headings
            if int(number.split(".")[0]) >= 100 or mid_sentence:
                return 0  # "2011. Pembrolizumab was ..." wrapped mid-sentence is not a section heading
            title = m.group(2)
            return int(is_title_line(title, 16) and not title.endswith(":"))
        standing_apart = not prev or prev[-1:] in TERMINAL or self.after_heading  # never inside a sentence
        if mid_sentence or not standing_apart or not is_title_line(stripped) or ", " in stripped:
            return 0
        nxt = self.next_text(i)
        if not nxt or nxt[:1].isupper() or nxt[:1].isdigit() or BULLET.match(nxt):
            return int(len(stripped) < 0.8 * self.width)
        # a heading over two lines: "TMPRSS2 isoform 1 downregulation induces SARS-CoV-2" / "replication arrest"
        if not nxt[:1].islower():
            return 0
        k = next(k for k in range(i + 1, min(len(self.lines), i + 12)) if self.lines[k].text.strip())
        after = self.next_text(k)
        if (nxt[:1].islower() and len(nxt.split()) <= 8 and re.fullmatch(r"[\w\s()/-]+", nxt)
                and len(nxt) < 0.6 * self.width and (after[:1].isupper() or after[:1].isdigit())):
            return 2
        return 0

    def _interrupts(self, i: int, stripped: str) -> bool:
        """Page furniture in a text file: a short line that breaks into a sentence (the text before it does not
        end one and the text after it starts in lower case), such as a running head left by the extractor."""
        prev = self.prev_line
        if not prev or prev[-1:] in TERMINAL or len(stripped) > 100:
            return False
        nxt = self.next_text(i)
        return bool(nxt) and nxt[:1].islower() and self.gap and _title_case(stripped)


# the labels of a structured abstract, run in before the first sentence: "Results We reveal that ..."
_RUN_IN_LABEL = re.compile(r"^(Background|Introduction|Objectives?|Aims?|Purpose|Context|Importance|Methods?|"
                           r"Design|Setting|Participants|Interventions|Main outcome measures|Results|Findings|"
                           r"Conclusions?|Interpretation|Discussion|Significance)[:.]?\s+(?=[A-Z][a-z]|[A-Z]{2})")
# a caption label followed by its title, as a caption starts even inside a broken sentence: "Fig. 5 Model of ..."
_LABELLED_CAPTION = re.compile(r"^(?:Fig(?:ure)?\.?|Table)\s*S?\d{1,3}[A-Za-z]?(?:\s*[.:|]\s*|\s+)[A-Z]")
_URL_TAIL = re.compile(r"(?:https?://|doi\.org/|\b10\.\d{4,9}/)\S*[./_-]$|(?:https?://|doi\.org/)$|\b10\.$")

def _ends_sentence(text: str) -> bool:
    """The line ends a sentence: a full stop (not an abbreviation's), ! or ?, maybe with a closing quote or a
    citation after it."""
    t = re.sub(r"(\[[\d\s,;–—-]+\])+$", "", text.rstrip()).rstrip("\"”’)]")
    if not t or t[-1] not in ".!?":
        return False
    word = re.search(r"([\w.]+)$", t[:-1])
    return not (word and word.group(1).lower() in ABBREVIATIONS) or _UNIT_AFTER_NUMBER.search(t[:-1]) is not None


def _starts_sentence(text: str) -> bool:
    return bool(text) and (text[0].isupper() or text[0].isdigit() or text[0] in "\"“‘([")


def _title_case(text: str) -> bool:
    """Most words capitalised (a running title, a journal name), unlike a line of prose."""
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    return bool(words) and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def _namelike(text: str) -> bool:
    """A line of author names with affiliation marks: capitalised words, commas and "&"/"and" only."""
    words = [w for w in re.split(r"[\s,&]+", text) if w and w != "and"]
    return len(words) >= 2 and all(w[0].isupper() or not w[0].isalpha() for w in words)


def _without_marks(line: Line) -> str:
    """A line's text without its superscripts (affiliation marks, asterisks)."""
    text = line.text
    for a, b in sorted(line.sup, reverse=True):
        text = text[:a] + " " + text[b:]
    return " ".join(text.split())


def _author_names(lines: list[str]) -> list[str]:
    """Names from author lines ("Joonsu Han 1, Rimsha Bhatta1 & Hua Wang"): split at commas, "&" and "and"."""
    names = []
    for part in (p for line in lines for p in re.split(r",|&|\band\b", line)):
        name = " ".join(w for w in part.replace("*", " ").split() if not w.isdigit())
        if len(name.split()) >= 2 and all(w[0].isupper() or w[0] in "-'’" or (w.islower() and len(w) <= 3)
                                           for w in name.split()):
            names.append(name)
    return names


def _joined(texts: list[str], hyph: _Hyphenation) -> str:
    out = ""
    for t in texts:
        t = t.strip()
        if out.endswith("-") and hyph.splits_word(out[-60:], t):
            out = out[:-1] + t
        elif out.endswith(("-", "/")) or not out:
            out += t
        else:
            out += " " + t
    return "".join(_LIGATURES.get(c, c) for c in out if c not in _INVISIBLE)


# a sentence starts with a capital, a digit, a quote or bracket, or a lower-case symbol such as qPCR or mRNA
_BOUNDARY = re.compile(r"[.!?][\"”’)\]]*(?:\[[\d\s,;–—-]+\])?(?=\s+(?:[\"“‘(\[A-Z0-9•]|[a-z]{1,3}[A-Z]))")
# "30 min." and "80 V." end a sentence: a unit after a number is neither an abbreviation that goes on nor an initial
_UNIT_AFTER_NUMBER = re.compile(r"\d\s?(?:min|[A-Z])$")
_LEADING_CITATION = re.compile(r"\s*(\[[\d\s,;–—-]+\])\s*")  # matched where a sentence ends


def split_sentences(stream: _Stream, section: str, title: str, paragraph: int) -> list[Sentence]:
    """Split one paragraph into sentences at ``. `` followed by a capital, digit, quote or bracket.

    Not after an abbreviation (``e.g.``, ``vs.``, ``et al.``) or a single initial; a citation that opens the next
    sentence (``... tissue. [12] Next``) or follows the full stop (``... tissue.[12] Next``) is kept with the
    sentence it belongs to, and so is a superscript citation printed after the full stop.
    """
    text = stream.text
    cuts = [0]
    for m in _BOUNDARY.finditer(text):
        if text[m.start()] == ".":
            word = re.search(r"([\w.]+)$", text[max(0, m.start() - 40) : m.start()])
            token = word.group(1).lower() if word else ""
            if ((token.rstrip(".") in ABBREVIATIONS or re.fullmatch(r"[A-Z]", word.group(1) if word else ""))
                    and not _UNIT_AFTER_NUMBER.search(text, max(0, m.start() - 12), m.start())):
                continue
        lead = _LEADING_CITATION.match(text, m.end())  # in place: slicing the rest would be quadratic
        cuts.append(lead.end(1) if lead else m.end())
    cuts.append(len(text))
    out = []
    marks = sorted(stream.marks)
    k = 0
    for a, b in itertools.pairwise(cuts):
        piece = text[a:b]
        left = len(piece) - len(piece.lstrip())
        refs: set[int] = set()
        while k < len(marks) and (marks[k][0] <= b or b == len(text)):
            refs.update(marks[k][1])  # a mark at a cut belongs to the sentence before it
            k += 1
        piece = piece.strip()
        if not piece:
            continue
        start = a + left
        out.append(
            Sentence(piece, stream.offsets[start], stream.offsets[start + len(piece) - 1] + 1, section, title,
                     paragraph, sup_refs=tuple(sorted(refs)))
        )
    return out
