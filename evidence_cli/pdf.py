"""Read a PDF's text layer into lines with their page, position, font size, weight and superscripts.

pypdfium2 (PDFium, Apache-2.0/BSD-3-Clause) gives every glyph with its box, baseline, font size and font name.
The reader groups glyphs into lines, orders the lines of a two-column page column by column (lines spanning
the gutter, such as a full-width title or figure, separate the bands), marks glyphs that sit raised and
smaller than their line (superscripts) or lowered and smaller (subscripts), and starts a paragraph where the
vertical gap or the first-line indent says so. Nothing here knows any document: every threshold is relative to
the page's own glyph sizes.

The extracted text (lines joined by newlines, pages by form feeds) is what claim spans point into.
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from evidence_cli.errors import DataError, Problem

MAX_PAGES = 500  # a larger PDF is a book or a scan batch: split it first
MAX_BYTES = 200 * 1024 * 1024

_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi|\.B$|-B$|,B$|-Bd|Bd$", re.IGNORECASE)
_FORCE_BOLD = 1 << 18


@dataclass
class Line:
    """One line of a document, from a PDF or a text file, with what the layout rules need to know of it."""

    text: str
    start: int  # offset of text[0] in the document's extracted text
    page: int = 0  # 1-based; 0 when the source has no pages
    size: float = 0.0  # the line's font size in points (0: unknown, plain text)
    bold: bool = False
    sup: tuple[tuple[int, int], ...] = ()  # [a, b) ranges of raised, smaller glyphs in text
    x0: float = 0.0
    x1: float = 0.0
    top: float = 0.0  # distance from the page top, in points
    bottom: float = 0.0
    column: int = 0  # 0 left or only column, 1 right column, -1 spanning the gutter
    para: bool = False  # the geometry says a new paragraph starts here
    bold_prefix: int = 0  # length of a bold run at the start of a line that continues in regular type
    page_height: float = 0.0


@dataclass
class PdfDocument:
    lines: list[Line]
    text: str  # the extracted text the line offsets point into
    pages: int
    metadata: dict = field(default_factory=dict)


@dataclass
class _Glyph:
    ch: str
    x0: float
    x1: float
    top: float
    bottom: float
    base: float  # baseline, distance from the page top
    size: float
    bold: bool


class _Run:
    def __init__(self, g: _Glyph) -> None:
        self.glyphs = [g]
        self.flags = [""]  # "" normal, "sup", "sub"
        self.base = g.base
        self.size = g.size

    def x1(self) -> float:
        return max(g.x1 for g in self.glyphs if not g.ch.isspace()) if self.glyphs else 0.0

    def accepts(self, g: _Glyph) -> str | None:
        """"" (same line), "sup"/"sub" (a raised or lowered smaller glyph of this line) or None (a new line)."""
        last = next((x for x in reversed(self.glyphs) if not x.ch.isspace()), self.glyphs[-1])
        if g.x0 < last.x0 - 0.5 * self.size or g.x0 - last.x1 > 0.9 * max(self.size, g.size):
            return None  # moved back (a new line) or jumped across a gutter
        dy = g.base - self.base
        if abs(dy) <= 0.25 * self.size and g.size >= 0.85 * self.size:
            return ""
        if g.size < 0.85 * self.size:
            if -0.75 * self.size <= dy < -0.1 * self.size:
                return "sup"
            if 0.05 * self.size < dy <= 0.5 * self.size:
                return "sub"
            if abs(dy) <= 0.1 * self.size:
                return ""  # small capitals, a smaller symbol on the baseline
        if (g.size > self.size / 0.85 and 0.1 * g.size < dy <= 0.75 * g.size
                and all(x.ch.isspace() or x.size < 0.85 * g.size for x in self.glyphs)):
            return "rebase"  # the run so far was superscripts at a line start ("13C", a footnote mark)
        return None

    def add(self, g: _Glyph, how: str) -> None:
        if how == "rebase":
            self.flags = ["sup" if not x.ch.isspace() else "" for x in self.glyphs]
            self.base, self.size = g.base, g.size
            how = ""
        self.glyphs.append(g)
        self.flags.append(how)


def _glyphs(textpage, raw, height: float) -> list[_Glyph]:
    """Every glyph of the page, in PDFium's order, with a space where PDFium puts one (generated or not)."""
    n = raw.FPDFText_CountChars(textpage)
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    ox, oy = ctypes.c_double(), ctypes.c_double()
    matrix = raw.FS_MATRIX()
    loose = raw.FS_RECTF()
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    out: list[_Glyph] = []
    font_cache: dict[bytes, bool] = {}
    for i in range(n):
        code = raw.FPDFText_GetUnicode(textpage, i)
        if code in (0x0D, 0x0A):
            continue
        ch = chr(code) if code < 0x110000 else "\ufffd"
        if code in (0x02, 0xFFFE):
            ch = "-"  # PDFium's mark for a hyphen at a line end
        if ch.isspace():
            if out and not out[-1].ch.isspace():
                g = out[-1]
                out.append(_Glyph(" ", g.x1, g.x1, g.top, g.bottom, g.base, g.size, g.bold))
            continue
        if abs(raw.FPDFText_GetCharAngle(textpage, i)) > 0.01:
            continue  # rotated text: margin notes, axis labels
        raw.FPDFText_GetCharBox(textpage, i, left, right, bottom, top)
        raw.FPDFText_GetLooseCharBox(textpage, i, loose)  # x from the advance: a narrow "1" is no word gap
        raw.FPDFText_GetCharOrigin(textpage, i, ox, oy)
        raw.FPDFText_GetMatrix(textpage, i, matrix)
        scale = abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5 or 1.0
        size = raw.FPDFText_GetFontSize(textpage, i) * scale
        if size <= 0:
            continue
        raw.FPDFText_GetFontInfo(textpage, i, name, len(name), flags)
        key = name.value + bytes([flags.value & _FORCE_BOLD > 0])
        bold = font_cache.get(key)
        if bold is None:
            font = name.value.decode("latin-1").split("+")[-1]
            bold = font_cache[key] = bool(_BOLD_NAME.search(font)) or bool(flags.value & _FORCE_BOLD)
        weight = raw.FPDFText_GetFontWeight(textpage, i)
        if weight >= 600:
            bold = True
        out.append(_Glyph(ch, loose.left, loose.right, height - top.value, height - bottom.value,
                          height - oy.value, size, bold))
    return out


def _runs(glyphs: list[_Glyph]) -> list[_Run]:
    runs: list[_Run] = []
    cur: _Run | None = None
    for g in glyphs:
        if g.ch.isspace():
            if cur is not None:
                cur.add(g, "")
            continue
        how = cur.accepts(g) if cur is not None else None
        if how is None:
            cur = _Run(g)
            runs.append(cur)
        else:
            cur.add(g, how)
    return runs


def _run_text(run: _Run) -> tuple[str, tuple[tuple[int, int], ...], int]:
    """The run's text (a space where PDFium has one or where glyphs stand apart), its superscript ranges, and
    the length of a bold start that the line continues in regular type."""
    chars: list[str] = []
    sup: list[tuple[int, int]] = []
    prev: _Glyph | None = None
    prev_flag = ""
    bold_end = None
    lead: bool | None = None  # None before the first glyph of the line's own type (superscripts aside)
    for g, flag in zip(run.glyphs, run.flags, strict=True):
        if g.ch.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
            prev = None
            continue
        if prev is not None and chars and chars[-1] != " " and g.x0 - prev.x1 > 0.1 * run.size and flag == prev_flag:
            chars.append(" ")  # glyphs set apart without a space character
        if flag == "sup":
            if sup and sup[-1][1] == len(chars):
                sup[-1] = (sup[-1][0], len(chars) + 1)
            else:
                sup.append((len(chars), len(chars) + 1))
        elif lead is None:
            lead = g.bold  # the line starts in bold: where the bold ends is its run-in heading's end
        elif lead and not g.bold:
            bold_end, lead = len(chars), False
            while bold_end and chars[bold_end - 1] == " ":
                bold_end -= 1
        chars.append(g.ch)
        prev, prev_flag = g, flag
    text = "".join(chars).rstrip()
    return text, tuple((a, min(b, len(text))) for a, b in sup if a < len(text)), bold_end or 0


def _column_split(runs: list[_Run], width: float) -> float | None:
    """The x of the gutter of a two-column page, or None. The gutter is the middle position crossed by fewest
    text lines, and the page has two columns when lines stand side by side on one baseline across it."""
    long_runs = [r for r in runs if len(r.glyphs) >= 12]
    if len(long_runs) < 8:
        return None
    by_base = sorted(long_runs, key=lambda r: r.base)
    bases = [r.base for r in by_base]
    side_by_side: list[tuple[float, float]] = []  # (right end of the left line, left end of the right line)
    for r in long_runs:
        i = bisect.bisect_left(bases, r.base - 0.5 * r.size)
        while i < len(bases) and bases[i] <= r.base + 0.5 * r.size:
            other = by_base[i]
            if other.glyphs[0].x0 > r.x1() + 0.5 * r.size:
                side_by_side.append((r.x1(), other.glyphs[0].x0))
            i += 1
    counts = []
    x = width * 0.3
    while x <= width * 0.7:
        counts.append((sum(1 for a, b in side_by_side if a <= x + 1 and b >= x - 1), x))
        x += 1.0
    best = max(counts)[0] if counts else 0
    if best < 3:
        return None
    at_best = [x for n, x in counts if n == best]
    return (at_best[0] + at_best[-1]) / 2  # the middle of the gutter


def _order(runs: list[_Run], split: float | None) -> list[tuple[_Run, int]]:
    """Reading order: top to bottom; on a two-column page, in bands between the lines that span the gutter
    (a title, a full-width figure or table), the left column first, then the right one."""
    if split is None:
        return [(r, 0) for r in sorted(runs, key=lambda r: (round(r.base, 1), r.glyphs[0].x0))]
    placed = []
    for r in runs:
        x0, x1 = r.glyphs[0].x0, r.x1()
        col = 0 if x1 <= split + 1 else 1 if x0 >= split - 1 else -1
        placed.append((r, col))
    spanning = sorted(r.base for r, c in placed if c == -1)

    def key(rc: tuple[_Run, int]) -> tuple:
        r, c = rc
        band = bisect.bisect_left(spanning, r.base)  # spanning lines above this one
        return (band, c == -1, c, round(r.base, 1), r.glyphs[0].x0)

    return sorted(placed, key=key)


def _merge_same_line(runs: list[_Run], split: float | None) -> list[_Run]:
    """Join runs that PDFium gave apart but that sit on one baseline side by side (justified words, a list
    number and its text, a name and its affiliation mark): gaps up to three font sizes within one column (not a
    sidebar beside it), never across the gutter, and up to four font sizes where the page has no columns."""
    def side(x: float) -> int:
        return 0 if split is None else int(x > split)

    rows: list[list[_Run]] = []
    for r in sorted(runs, key=lambda r: (r.base, r.glyphs[0].x0)):
        if rows and abs(r.base - rows[-1][0].base) <= 0.25 * rows[-1][0].size:
            rows[-1].append(r)
        else:
            rows.append([r])
    keep: set[int] = set()
    for row in rows:
        row.sort(key=lambda r: r.glyphs[0].x0)
        cur = row[0]
        keep.add(id(cur))
        for r in row[1:]:
            gap = r.glyphs[0].x0 - cur.x1()
            crossing = side(cur.glyphs[0].x0) != side(cur.x1()) or side(r.glyphs[0].x0) != side(r.x1())
            if split is None or crossing:
                near = gap <= (4 if split is None else 2) * cur.size
            else:  # two column lines: wide justified gaps on one side of the gutter, never across it
                near = side(cur.x1()) == side(r.glyphs[0].x0) and gap <= 3 * cur.size
            if abs(r.size - cur.size) < 0.15 * cur.size and -0.5 * cur.size <= gap and near:
                if gap > 0.15 * cur.size:
                    g = cur.glyphs[-1]
                    cur.glyphs.append(_Glyph(" ", g.x1, g.x1, g.top, g.bottom, g.base, g.size, g.bold))
                    cur.flags.append("")
                cur.glyphs.extend(r.glyphs)
                cur.flags.extend(r.flags)
            else:
                cur = r
                keep.add(id(cur))
    return [r for r in runs if id(r) in keep]


def read_pdf(path: Path) -> PdfDocument:
    """Read ``path`` into lines; a clear DataError for what is not a readable PDF with a text layer."""
    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as raw
    except ImportError:  # pragma: no cover - a dependency of the package
        raise DataError(Problem(str(path), None, "reading PDFs needs pypdfium2: pip install pypdfium2")) from None
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise DataError(Problem(str(path), None, f"cannot read: {exc.strerror}")) from None
    if size > MAX_BYTES:
        raise DataError(Problem(str(path), None, f"PDF is {size} bytes, more than the {MAX_BYTES} allowed; "
                                "split it (e.g. with qpdf --split-pages) and ingest the parts"))
    if size == 0:
        raise DataError(Problem(str(path), None, "is an empty file, not a PDF; download it again"))
    if b"%PDF-" not in head:
        raise DataError(Problem(str(path), None, "is named .pdf but is not a PDF (no %PDF- header); "
                                "check the file or rename it"))
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise DataError(Problem(str(path), None, "is encrypted (password protected); save an unencrypted "
                                    "copy (e.g. qpdf --decrypt) and ingest that")) from None
        reason = msg.strip().rstrip(".").replace("Failed to load document (PDFium: ", "").rstrip(")")
        raise DataError(Problem(str(path), None, f"damaged or truncated PDF ({reason}); "
                                "download it again or repair it (e.g. qpdf in.pdf out.pdf)")) from None
    try:
        return _read(doc, raw, path)
    finally:
        doc.close()


def _read(doc, raw, path: Path) -> PdfDocument:
    n_pages = len(doc)
    if n_pages == 0:
        raise DataError(Problem(str(path), None, "PDF has no pages"))
    if n_pages > MAX_PAGES:
        raise DataError(Problem(str(path), None, f"PDF has {n_pages} pages, more than the {MAX_PAGES} allowed; "
                                "split it into chapters or articles and ingest those"))
    lines: list[Line] = []
    parts: list[str] = []
    offset = 0
    glyph_count = 0
    for p in range(n_pages):
        try:
            page = doc[p]
            width, height = page.get_size()
            textpage = page.get_textpage()
        except Exception as exc:  # PDFium reports a damaged page as a generic error
            raise DataError(Problem(str(path), None, f"page {p + 1} cannot be read ({exc}); the PDF is damaged")) \
                from None
        try:
            glyphs = _glyphs(textpage.raw, raw, height)
        finally:
            textpage.close()
            page.close()
        glyph_count += len(glyphs)
        if p:
            parts.append("\f")
            offset += 1
        runs = _runs(glyphs)
        split = _column_split(runs, width)
        ordered = _order(_merge_same_line(runs, split), split)
        page_lines = []
        for r, col in ordered:
            text, sup, bold_prefix = _run_text(r)
            if not text.strip():
                continue
            body = [g for g, f in zip(r.glyphs, r.flags, strict=True) if not g.ch.isspace() and f == ""]
            if not body:
                body = [g for g in r.glyphs if not g.ch.isspace()]
            size = statistics.median(g.size for g in body)
            bold = sum(g.bold for g in body) > len(body) / 2
            line = Line(text, offset, p + 1, round(size, 2), bold, sup, min(g.x0 for g in body),
                        max(g.x1 for g in body), min(g.top for g in body), max(g.bottom for g in body), col,
                        bold_prefix=bold_prefix if not bold else 0, page_height=height)
            page_lines.append(line)
            parts.append(text + "\n")
            offset += len(text) + 1
        _mark_paragraphs(page_lines)
        lines.extend(page_lines)
    if glyph_count < 20 * n_pages and sum(len(line.text) for line in lines) < 200 * n_pages:
        raise DataError(Problem(str(path), None, "has no text layer (a scanned PDF?); run OCR first, e.g. "
                                "`ocrmypdf in.pdf out.pdf`, and ingest the result"))
    try:
        metadata = {k: v for k, v in doc.get_metadata_dict().items() if isinstance(v, str) and v.strip()}
    except Exception:  # metadata is optional
        metadata = {}
    return PdfDocument(lines, "".join(parts), n_pages, metadata)


def _mark_paragraphs(lines: list[Line]) -> None:
    """A line starts a paragraph after a larger vertical gap than the column's usual line spacing, or when it
    is indented against the column's left edge while the line before ended short."""
    by_col: dict[int, list[Line]] = {}
    for line in lines:
        by_col.setdefault(line.column, []).append(line)
    for col_lines in by_col.values():
        steps = [b.top - a.top for a, b in itertools.pairwise(col_lines)
                 if 0 < b.top - a.top < 3 * a.size and abs(a.size - b.size) < 0.1 * a.size]
        leading = statistics.median(steps) if steps else 0.0
        lefts = [round(line.x0) for line in col_lines if len(line.text) > 30]
        left = statistics.mode(lefts) if lefts else 0.0
        rights = [round(line.x1) for line in col_lines if len(line.text) > 30]
        right = statistics.mode(rights) if rights else 0.0
        prev: Line | None = None
        for line in col_lines:
            if prev is None:
                line.para = True
            else:
                step = line.top - prev.top
                gap = leading and (step > 1.35 * leading or step < 0)
                indent = line.x0 > left + 0.7 * line.size and prev.x1 < right - 2 * line.size
                indent = indent or (line.x0 > left + 0.7 * line.size and abs(prev.x0 - left) < 0.5 * line.size
                                    and prev.text.rstrip()[-1:] in ".!?:")
                line.para = bool(gap or indent or abs(line.size - prev.size) > 0.04 * prev.size)
            prev = line
