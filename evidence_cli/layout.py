"""Layout rules learned from the document itself: page furniture, boilerplate, headings, captions, list items,
back matter and superscript citations. The same rules serve lines read from a PDF (with fonts and positions)
and lines of a plain-text file (where only the text and the blank lines are known).

Nothing here names one document: furniture is what repeats across pages in the margins (or interrupts a sentence
in a text file), a heading is what stands apart in size, weight or shape, and the vocabularies (caption labels,
back-matter headings, publishers' boilerplate) are the generic ones of scientific publishing.
"""

from __future__ import annotations

import re
from collections import Counter

from evidence_cli.citations import expand_group
from evidence_cli.pdf import Line

CAPTION = re.compile(r"^(?P<label>Fig(?:ure)?s?\.?|FIGURE|Table|TABLE|Scheme|Box)\s*(?P<n>S?\d{1,3})[A-Za-z]?"
                     r"(?:\s*[.:|]|\s+(?=[A-Z]))")
BULLET = re.compile(r"^(?P<marker>[-–•*·▪◦‣●○■□►✓]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+(?=\S)")
NUMBERED_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+([A-Z][^\n]{0,118}?)\s*$")
PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)
DOI_LINE = re.compile(r"^(https?://)?(dx\.)?doi\.org/\S+$|^doi:\s*\S+$|^https?://\S+$", re.IGNORECASE)
# Publishers' boilerplate: licence and copyright boxes, article history, correspondence, check-for-updates badges.
BOILERPLATE = re.compile(
    r"^(©|\(c\)\s*\d{4}|copyright\b|open access\b|this (?:article|chapter|work) is (?:licensed|distributed)|"
    r"(?:received|accepted|published(?: online)?|revised|available online)(?::|\s+(?:\d|on\s+\d|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b))|check for updates|"
    r"\*?\s*correspondence:?|e-?mail:|full list of author information|reprints and permissions|"
    r"publisher[’']s note|citation:|cite this article|editor:|article history|rights and permissions|"
    # an e-mail address alone, an affiliation footnote ("1 Institute of ..., University ...")
    r"\S+@\S+\.[a-z]{2,}$|\d{1,2}\s*(?:department|institute|division|school|faculty|laboratory|center|centre|"
    r"university|hospital|college)\b)",
    re.IGNORECASE,
)
LICENCE_INSIDE = re.compile(r"Licensee\s+\w+\.|distributed under the terms of the Creative Commons|"
                            r"licensed under a Creative Commons", re.IGNORECASE)
REFERENCES_HEADING = re.compile(r"^(references(?: and notes)?|bibliography|literature cited|works cited|"
                                r"reference list|cited literature)\s*:?$", re.IGNORECASE)
BACK_MATTER_HEADING = re.compile(
    r"^(acknowledge?ments?|funding(?: information| sources)?|financial support|author contributions?|"
    r"contributions|competing interests?|conflicts? of interests?|declaration of (?:competing )?interests?|"
    r"disclosures?|declarations|ethics (?:approval|statement|declarations)(?: and consent to participate)?|"
    r"consent for publication|availability of data(?: and materials)?|data availability(?: statement)?|"
    r"code availability|abbreviations|supplementary (?:information|materials?|data)|additional (?:information|"
    r"files?)|author information|authors[’'] information|publisher[’']s note|reporting summary|peer review"
    r"(?: information)?|rights and permissions|about this article|electronic supplementary material)\s*[:.]?$",
    re.IGNORECASE,
)
ABSTRACT_HEADING = re.compile(r"^(abstract|summary)\s*:?$", re.IGNORECASE)
KEYWORDS = re.compile(r"^key\s?words?\b\s*:?", re.IGNORECASE)
_SUP_CITATION = re.compile(r"^\d{1,4}(?:\s*[,–—-]\s*\d{1,4})*$")
_UNITS = frozenset("m cm mm µm μm nm km s ms g kg mg l ml µl μl dl h min".split())
_SUPERSCRIPT_DIGITS = str.maketrans("0123456789+−-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻")
TERMINAL = ".!?:”\"’)]"
TRAILING_FUNCTION_WORD = re.compile(r"\b(the|a|an|of|and|or|in|on|to|with|for|by|from|as|at|that|which|is|are|"
                                    r"was|were|be|than|its|their|this|these|but|has|have)$", re.IGNORECASE)


def text_lines(raw: str) -> list[Line]:
    """The lines of a plain-text document; a form feed starts a new page (pdftotext writes them)."""
    out: list[Line] = []
    offset = 0
    page = 1
    has_pages = "\f" in raw
    for piece in raw.splitlines(keepends=True):  # (a form feed also ends a line for splitlines)
        body = piece.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        start = offset
        offset += len(piece)
        out.append(Line(body, start, page if has_pages else 0))
        page += piece[len(body):].count("\f")  # the next line is on the next page
    return out


def _shape(text: str) -> str:
    """A line's text with its numbers hidden, so "Page 3 of 18" and "Page 4 of 18" share a shape."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.strip().lower()))


def furniture(lines: list[Line]) -> set[int]:
    """Indices of running headers and footers: short lines of the same shape near the top or bottom of at least
    three pages (two for a short document), and page numbers in the margins. In a text without page breaks: a
    short line whose shape, numbers aside, recurs three times or more and that is no sentence."""
    pages = {line.page for line in lines if line.page}
    if len(pages) < 2:
        counts = Counter(_shape(line.text) for line in lines if 0 < len(line.text.strip()) <= 120)
        return {i for i, line in enumerate(lines) if 0 < len(line.text.strip()) <= 120
                and counts[_shape(line.text)] >= 3 and "#" in _shape(line.text)
                and line.text.strip()[-1:] not in ".!?:"}
    margin: dict[int, list[int]] = {}  # page -> indices of its first and last few lines
    by_page: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        if line.page and line.text.strip():
            by_page.setdefault(line.page, []).append(i)
    for page, idx in by_page.items():
        if lines[idx[0]].page_height:  # a PDF: the top and bottom 9% of the page
            h = lines[idx[0]].page_height
            margin[page] = [i for i in idx if lines[i].bottom < 0.09 * h or lines[i].top > 0.91 * h]
        else:
            margin[page] = idx[:3] + idx[-3:]
    seen: dict[str, set[int]] = {}
    for page, idx in margin.items():
        for i in idx:
            if len(lines[i].text.strip()) <= 120:
                seen.setdefault(_shape(lines[i].text), set()).add(page)
    need = 3 if len(pages) >= 4 else 2
    repeated = {shape for shape, on in seen.items() if len(on) >= need}
    out = set()
    for idx in margin.values():
        for i in idx:
            if PAGE_NUMBER.match(lines[i].text.strip()):
                out.add(i)
    for i, line in enumerate(lines):  # a running head also where page 1 sets it lower (below a masthead)
        if line.page and len(line.text.strip()) <= 120 and _shape(line.text) in repeated:
            out.add(i)
    return out


def body_size(lines: list[Line]) -> float:
    """The font size of most characters: the body text's."""
    sizes: Counter[float] = Counter()
    for line in lines:
        if line.size:
            sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


_OPERATORS = frozenset("/=+×*^−<>≤≥·")  # after a superscript, they make it a power, never a citation


def sup_citation(text: str, a: int, b: int, before: str) -> tuple[int, ...] | None:
    """The reference numbers of the superscript ``text[a:b]``, or None when it is not a citation: a citation
    is digits, commas and ranges, glued to the word or punctuation before it and not to a word after it
    (isotopes "13C", exponents "10^6", units "mm^3", powers in a formula "(width)^2/2" and footnote marks before
    a name are not citations)."""
    body = text[a:b].strip().strip(",")
    if not body or not _SUP_CITATION.match(body):
        return None
    if not before or before[-1].isspace():
        return None
    after, following = text[b : b + 1], text[b:].lstrip()[:1]
    if (after and (after.isalnum() or after in "([" or after in _OPERATORS)) or (following and following in "=<>≤≥"):
        return None  # glued to a word after it, or a power in a formula: "(width)2/2", "r2 = 0.9"
    word = re.search(r"([\w.-]+)$", before)
    token = word.group(1) if word else ""  # "IL-15" + "36,37" is a citation; "10" + "6" is an exponent
    if token.isdigit() or token.lower() in _UNITS or before.rstrip().endswith(("×", "^", "x10", "·10")):
        return None
    if before.endswith(")") and re.search(r"[×=^·]|\bx\b", before[-30:]) and re.fullmatch(r"[23]", body):
        return None  # "(length) × (width)2": a square in a formula
    return expand_group(body)


def superscript_text(text: str) -> str:
    """A superscript that is not a citation, written with superscript characters where they exist (10⁶, CD8⁺)."""
    return text.translate(_SUPERSCRIPT_DIGITS) if re.fullmatch(r"[\d+−-]+", text) else text


def is_title_line(text: str, max_words: int = 12) -> bool:
    """A short line shaped like a heading: capitalised, no sentence end, not ending on a function word."""
    words = text.split()
    if not words or len(words) > max_words or len(text) > 100:
        return False
    if not (text[0].isupper() or text[0].isdigit()):
        return False
    if text.endswith(":"):
        return len(words) <= 5
    if text[-1] in ".!?,;" or TRAILING_FUNCTION_WORD.search(text) or re.search(r"\[\d|[.!?] [A-Z\[]", text):
        return False  # a sentence, or a citation: not a title
    return not BULLET.match(text)
