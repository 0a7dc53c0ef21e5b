"""The PDF text libraries side by side, on the same PDFs in the same run: how long each takes to give the text with
what the layout rules need (glyph positions and font sizes), and whether it keeps superscripts apart.

  pypdfium2   (PDFium, Apache-2.0 / BSD-3-Clause)  the one `evidence` uses: evidence_cli.pdf.read_pdf, i.e.
              glyphs, lines, columns, superscripts and paragraphs, all of it
  pdfplumber  (MIT, on pdfminer.six)               page.chars: every glyph with size, font and position
  pypdf       (BSD-3-Clause)                        extract_text(): plain text only, no positions or sizes

Run from the repository root:  python bench/pdf_readers.py [--runs 5] [PDF ...]
(default: the PDFs in ../shared/dev-docs). Libraries that are not installed are skipped; pip install pdfplumber
pypdf to compare. Prints the median seconds per document and per page.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

HERE = Path(__file__).parent
DEV_DOCS = HERE.parent.parent / "shared" / "dev-docs"


def with_pypdfium2(path: Path) -> int:
    from evidence_cli.pdf import read_pdf

    return read_pdf(path).pages


def with_pdfplumber(path: Path) -> int:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            _ = [(c["text"], c["size"], c["x0"], c["top"]) for c in page.chars]
        return len(pdf.pages)


def with_pypdf(path: Path) -> int:
    from pypdf import PdfReader

    reader = PdfReader(path)
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


READERS = {"pypdfium2 (evidence read_pdf)": ("pypdfium2", with_pypdfium2), "pdfplumber chars": ("pdfplumber",
           with_pdfplumber), "pypdf extract_text": ("pypdf", with_pypdf)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pdfs = args.pdfs or sorted(DEV_DOCS.glob("*.pdf"))
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # font warnings are not the point here
    for pdf in pdfs:
        print(pdf.name)
        for label, (module, fn) in READERS.items():
            if importlib.util.find_spec(module) is None:
                print(f"  {label:32s} not installed")
                continue
            times = []
            pages = 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                pages = fn(pdf)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            print(f"  {label:32s} {med:6.3f} s  ({1000 * med / pages:5.1f} ms/page, {pages} pages, "
                  f"median of {args.runs})")


if __name__ == "__main__":
    main()
