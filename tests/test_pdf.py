"""PDF ingest on small synthetic PDFs (written with reportlab), one per layout case: superscript citations, two
columns, running headers and page numbers, figure captions, line-end hyphens, headings, the reference list, bad
files, and the page and span locators of every claim."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.errors import DataError
from evidence_cli.ingest import ingest
from evidence_cli.pdf import MAX_PAGES, read_pdf
from evidence_cli.store import load_claims

runner = CliRunner()

WIDTH, HEIGHT = A4
LEFT = 72.0
TOP = 760.0
LEADING = 12.0
BODY = "Helvetica"
BOLD = "Helvetica-Bold"

# One piece of a line: (text, font, size, rise above the baseline).
Run = tuple[str, str, float, float]
# One line on a page: (x, y, text in the body font or a list of runs).
Item = tuple[float, float, "str | list[Run]"]


def t(text: str, size: float = 10, font: str = BODY) -> Run:
    return (text, font, size, 0.0)


def sup(digits: str) -> Run:
    """A superscript: 6 pt digits raised 3.5 pt, right after the word before."""
    return (digits, BODY, 6, 3.5)


def column(lines: list[str | list[Run]], x: float = LEFT, y: float = TOP, leading: float = LEADING) -> list[Item]:
    return [(x, y - k * leading, line) for k, line in enumerate(lines)]


def write_pdf(path: Path, pages: list[list[Item]], pagesize=A4, **canvas_options) -> Path:
    c = canvas.Canvas(str(path), pagesize=pagesize, **canvas_options)
    for page in pages:
        for x, y, runs in page:
            if isinstance(runs, str):
                runs = [t(runs)]
            for text, font, size, rise in runs:
                c.setFont(font, size)
                c.drawString(x, y + rise, text)
                x += stringWidth(text, font, size)
        c.showPage()
    c.save()
    return path


# A second page of ordinary prose, so that every document has page breaks (claims get `pages` from them).
FILLER = [
    "Further work is needed to define which patients benefit most from these treatments, and",
    "trials that compare the combinations directly are now recruiting in several countries.",
    "The results of these trials are expected to guide the choice of therapy in routine care.",
    "Until then, the decision rests on the tumour type, the stage and the condition of the patient.",
]
FILLER_CLAIMS = [
    "Further work is needed to define which patients benefit most from these treatments, and trials that compare "
    "the combinations directly are now recruiting in several countries.",
    "The results of these trials are expected to guide the choice of therapy in routine care.",
    "Until then, the decision rests on the tumour type, the stage and the condition of the patient.",
]


# -- the layout cases: each writes its PDF and returns the expected (text, refs) of every claim, in order ------

def case_superscripts(path: Path) -> list[tuple[str, list[int]]]:
    page = column([
        "Checkpoint blockade restores the function of exhausted T cells in many solid tumours and",
        [t("lymphomas, and the effect depends on antigen presentation by the tumor cells"), sup("12"), t(". Prior")],
        [t("studies confirmed that interferon signalling is required for the response"), sup("3–5"), t(". A second")],
        [t("line of evidence came from knockout mice that lacked the receptor entirely."), sup("3,7"),
         t(" Each mouse")],
        [t("was given about 10"), sup("6"), t(" cells by intravenous injection before the treatment started.")],
        "Responses were durable in most animals and no toxicity was recorded during the study.",
    ])
    write_pdf(path, [page, column(FILLER)])
    return [
        ("Checkpoint blockade restores the function of exhausted T cells in many solid tumours and lymphomas, and "
         "the effect depends on antigen presentation by the tumor cells.", [12]),
        ("Prior studies confirmed that interferon signalling is required for the response.", [3, 4, 5]),
        ("A second line of evidence came from knockout mice that lacked the receptor entirely.", [3, 7]),
        ("Each mouse was given about 10⁶ cells by intravenous injection before the treatment started.", []),
        ("Responses were durable in most animals and no toxicity was recorded during the study.", []),
        *((text, []) for text in FILLER_CLAIMS),
    ]


def case_two_columns(path: Path) -> list[tuple[str, list[int]]]:
    left = column([
        "Tumour cells escape immune control by many",
        "routes, and the loss of antigen presentation",
        "is one of the most common among them [1].",
        "Cells that lack class I molecules are not seen",
        "by cytotoxic T cells, which then fail to kill",
        "them even when they reach the tumour bed and",
    ], x=50)
    right = column([
        "persist there for weeks after the treatment.",
        "Natural killer cells can in part make up for",
        "this defect, since they attack cells that do",
        "not display the molecules at all [2].",
        "Whether this helps patients is still unclear,",
        "and the answer may differ by tumour type.",
    ], x=310)
    write_pdf(path, [left + right, column(FILLER)])
    return [
        ("Tumour cells escape immune control by many routes, and the loss of antigen presentation is one of the most "
         "common among them [1].", [1]),
        ("Cells that lack class I molecules are not seen by cytotoxic T cells, which then fail to kill them even when "
         "they reach the tumour bed and persist there for weeks after the treatment.", []),
        ("Natural killer cells can in part make up for this defect, since they attack cells that do not display the "
         "molecules at all [2].", [2]),
        ("Whether this helps patients is still unclear, and the answer may differ by tumour type.", []),
        *((text, []) for text in FILLER_CLAIMS),
    ]


HEADER = "Journal of Tests 2024; 12: 3"


def case_running_header(path: Path) -> list[tuple[str, list[int]]]:
    bodies = [
        ["Regulatory T cells suppress the activity of effector cells in the tumour and in the",
         "draining lymph nodes, and their number predicts a poor outcome in several cancers [1].",
         "Depleting them with antibodies against surface markers has improved responses in mice,",
         "but in patients the same approach has so far caused autoimmune side effects that limit"],
        ["the dose that can be given safely over a course of treatment.",
         "Newer agents aim to spare the regulatory cells outside the tumour, where they protect",
         "healthy tissues, and early trials report fewer side effects with similar activity.",
         "A larger study will test whether this benefit holds over a longer period of time and"],
        ["across a wider range of tumour types than the early trials could include [2].",
         "The findings so far support the idea that the tumour niche is a target in its own right.",
         "Combinations with checkpoint inhibitors are being explored in the clinic at present.",
         "Such trials will also show how the timing of each agent affects the overall response."],
    ]
    pages = []
    for n, body in enumerate(bodies):
        header = HEADER if n == 0 else HEADER[:-1] + str(n + 3)  # the page number in the running head
        pages.append([(LEFT, HEIGHT - 40, [t(header, 8)]), *column(body), (WIDTH / 2, 30, [t(str(n + 3), 9)])])
    write_pdf(path, pages)
    return [
        ("Regulatory T cells suppress the activity of effector cells in the tumour and in the draining lymph nodes, "
         "and their number predicts a poor outcome in several cancers [1].", [1]),
        ("Depleting them with antibodies against surface markers has improved responses in mice, but in patients the "
         "same approach has so far caused autoimmune side effects that limit the dose that can be given safely over "
         "a course of treatment.", []),
        ("Newer agents aim to spare the regulatory cells outside the tumour, where they protect healthy tissues, and "
         "early trials report fewer side effects with similar activity.", []),
        ("A larger study will test whether this benefit holds over a longer period of time and across a wider range "
         "of tumour types than the early trials could include [2].", [2]),
        ("The findings so far support the idea that the tumour niche is a target in its own right.", []),
        ("Combinations with checkpoint inhibitors are being explored in the clinic at present.", []),
        ("Such trials will also show how the timing of each agent affects the overall response.", []),
    ]


CAPTION = "Fig. 1 | Tumour volume over time in treated and control mice."


def case_caption(path: Path) -> list[tuple[str, list[int]]]:
    page = [
        *column([
            "Mice bearing established tumours were treated with the antibody twice a week for a",
            "period of three weeks, and tumour size was measured with callipers every other day.",
            "Compared with the control animals that were given the isotype antibody, tumour growth",
        ]),
        (LEFT, TOP - 3 * LEADING - 30, [t("[plot]", 8)]),
        (LEFT, TOP - 3 * LEADING - 150, [t(CAPTION, 8)]),
        (LEFT, TOP - 3 * LEADING - 160, [t("Error bars show the standard error of the mean of eight animals.", 8)]),
        *column([
            "was clearly slower in the treated group from the second week of treatment onwards.",
            "No animal lost weight, and no sign of toxicity was seen at the end of the study.",
            "The effect was lost when CD8 T cells were depleted before the start of treatment.",
        ], y=TOP - 3 * LEADING - 190),
    ]
    write_pdf(path, [page, column(FILLER)])
    return [
        ("Mice bearing established tumours were treated with the antibody twice a week for a period of three weeks, "
         "and tumour size was measured with callipers every other day.", []),
        ("Compared with the control animals that were given the isotype antibody, tumour growth was clearly slower in "
         "the treated group from the second week of treatment onwards.", []),
        (f"{CAPTION} Error bars show the standard error of the mean of eight animals.", []),
        ("No animal lost weight, and no sign of toxicity was seen at the end of the study.", []),
        ("The effect was lost when CD8 T cells were depleted before the start of treatment.", []),
        *((text, []) for text in FILLER_CLAIMS),
    ]


def case_hyphens(path: Path) -> list[tuple[str, list[int]]]:
    page = column([
        "Tumour rejection in this model depends on T cell-mediated killing of the cancer cells.",
        "Patients who stopped the drug early still benefited from the treat-",
        "ment, and many of them remained free of disease for more than two years after it ended.",
        "The same antibody did not improve survival when the T cell-",
        "mediated response was blocked by steroids given for side effects of the drug.",
    ])
    write_pdf(path, [page, column(FILLER)])
    return [
        ("Tumour rejection in this model depends on T cell-mediated killing of the cancer cells.", []),
        ("Patients who stopped the drug early still benefited from the treatment, and many of them remained free of "
         "disease for more than two years after it ended.", []),
        ("The same antibody did not improve survival when the T cell-mediated response was blocked by steroids given "
         "for side effects of the drug.", []),
        *((text, []) for text in FILLER_CLAIMS),
    ]


def case_headings(path: Path) -> list[tuple[str, list[int]]]:
    page = [
        (LEFT, TOP, [t("Introduction", 12, BOLD)]),
        *column([
            "Immune checkpoints are receptors that keep T cell responses in check in healthy tissues.",
            "Tumours exploit them to switch off the T cells that would otherwise destroy them [1].",
            "Blocking the checkpoints with antibodies has changed the treatment of many cancers.",
        ], y=TOP - 20),
        (LEFT, TOP - 80, [t("Tumour Microenvironment", 12, BOLD)]),
        *column([
            "The cells and signals around the tumour decide whether T cells can enter and act there.",
            "Hypoxia, acidity and suppressive cytokines all reduce the function of the T cells [2].",
            "Myeloid cells in the tumour add to this effect by consuming nutrients the T cells need.",
        ], y=TOP - 100),
    ]
    write_pdf(path, [page, column(FILLER)])
    return [
        ("Immune checkpoints are receptors that keep T cell responses in check in healthy tissues.", []),
        ("Tumours exploit them to switch off the T cells that would otherwise destroy them [1].", [1]),
        ("Blocking the checkpoints with antibodies has changed the treatment of many cancers.", []),
        ("The cells and signals around the tumour decide whether T cells can enter and act there.", []),
        ("Hypoxia, acidity and suppressive cytokines all reduce the function of the T cells [2].", [2]),
        ("Myeloid cells in the tumour add to this effect by consuming nutrients the T cells need.", []),
        *((text, []) for text in FILLER_CLAIMS),
    ]


REFERENCES = [
    "Author A. First title of a test article. J Test. 2020;1:1-2. doi:10.1000/xyz1",
    "Writer B, Scholar C. Second title of a test article. J Test. 2021;2:3-4. doi:10.1000/xyz2",
    "Person D. Third title of a test article. J Test. 2022;3:5-6. doi:10.1000/xyz3",
]


def case_references(path: Path) -> list[tuple[str, list[int]]]:
    page1 = column([
        "Antibodies against PD-1 produce lasting responses in a fraction of patients with melanoma [1].",
        "The response is more likely when the tumour carries many mutations and is infiltrated by",
        "T cells before the treatment, as several cohort studies have now reported [2, 3].",
        "Markers that predict the response with more accuracy are still lacking in routine care.",
    ])
    page2 = [
        *column(FILLER),
        (LEFT, TOP - 70, [t("References", 12, BOLD)]),
        *((LEFT, TOP - 90 - 11 * k, [t(f"{k + 1}. {ref}", 8)]) for k, ref in enumerate(REFERENCES)),
    ]
    write_pdf(path, [page1, page2])
    return [
        ("Antibodies against PD-1 produce lasting responses in a fraction of patients with melanoma [1].", [1]),
        ("The response is more likely when the tumour carries many mutations and is infiltrated by T cells before the "
         "treatment, as several cohort studies have now reported [2, 3].", [2, 3]),
        ("Markers that predict the response with more accuracy are still lacking in routine care.", []),
        *((text, []) for text in FILLER_CLAIMS),
    ]


CASES: dict[str, Callable[[Path], list[tuple[str, list[int]]]]] = {
    "superscripts": case_superscripts,
    "two-columns": case_two_columns,
    "running-header": case_running_header,
    "caption": case_caption,
    "hyphens": case_hyphens,
    "headings": case_headings,
    "references": case_references,
}


def run_ingest(tmp_path: Path, *pdfs: Path) -> dict:
    out = tmp_path / "out" / "claims.yaml"
    out.parent.mkdir(exist_ok=True)
    ingest(list(pdfs), out)
    return load_claims(out)


def ingest_case(tmp_path: Path, name: str) -> tuple[dict, list[tuple[str, list[int]]]]:
    pdf = tmp_path / f"{name}.pdf"
    expected = CASES[name](pdf)
    return run_ingest(tmp_path, pdf), expected


def texts_and_refs(data: dict) -> list[tuple[str, list[int]]]:
    return [(c["text"], c["refs"]) for c in data["claims"]]


def by_text(data: dict) -> dict[str, dict]:
    return {c["text"]: c for c in data["claims"]}


# -- 1. superscript citations ------------------------------------------------------------------------------------

def test_superscript_citations_become_refs_and_leave_the_text(tmp_path):
    data, expected = ingest_case(tmp_path, "superscripts")
    assert texts_and_refs(data) == expected
    claims = by_text(data)
    assert claims[expected[0][0]]["text"].endswith("tumor cells.")  # no "cells12."
    assert all(6 not in c["refs"] for c in data["claims"])  # 10^6 is a number, not a citation


def test_superscripts_are_marked_on_the_pdf_lines(tmp_path):
    pdf = tmp_path / "superscripts.pdf"
    case_superscripts(pdf)
    doc = read_pdf(pdf)
    assert doc.pages == 2
    line = next(ln for ln in doc.lines if ln.text.startswith("lymphomas"))
    assert [line.text[a:b] for a, b in line.sup] == ["12"]
    line = next(ln for ln in doc.lines if ln.text.startswith("was given about"))
    assert [line.text[a:b] for a, b in line.sup] == ["6"]
    for ln in doc.lines:  # every line's offset points at its text in the extracted text
        assert doc.text[ln.start : ln.start + len(ln.text)] == ln.text


# -- 2. two columns ----------------------------------------------------------------------------------------------

def test_two_columns_are_read_left_then_right_and_joined_across_the_gutter(tmp_path):
    data, expected = ingest_case(tmp_path, "two-columns")
    assert texts_and_refs(data) == expected
    pdf_lines = read_pdf(tmp_path / "two-columns.pdf").lines
    first_page = [ln.text for ln in pdf_lines if ln.page == 1]
    assert first_page[0].startswith("Tumour cells escape")
    assert first_page[5].startswith("them even when")
    assert first_page[6].startswith("persist there")  # the right column after the whole left one


# -- 3. running header and page numbers -------------------------------------------------------------------------

def test_running_header_and_page_numbers_are_dropped_and_page_breaks_joined(tmp_path):
    data, expected = ingest_case(tmp_path, "running-header")
    assert texts_and_refs(data) == expected
    for c in data["claims"]:
        assert "Journal" not in c["text"] and "2024" not in c["text"]
        assert not re.search(r"\b[345]\b", c["text"]), c["text"]
    claims = by_text(data)
    assert claims[expected[1][0]]["pages"] == [1, 2]
    assert claims[expected[3][0]]["pages"] == [2, 3]
    assert claims[expected[4][0]]["pages"] == [3]


# -- 4. figure caption -------------------------------------------------------------------------------------------

def test_figure_caption_is_its_own_claim_and_leaves_the_sentence_whole(tmp_path):
    data, expected = ingest_case(tmp_path, "caption")
    assert texts_and_refs(data) == expected
    figures = [c for c in data["claims"] if c["kind"] == "figure"]
    assert [c["text"] for c in figures] == [expected[2][0]]
    assert figures[0]["figure"] == 1
    assert all(c["kind"] != "figure" for c in data["claims"] if c not in figures)
    assert not [c for c in data["claims"] if "Fig." in c["text"] and c["kind"] != "figure"]
    assert not [c for c in data["claims"] if "[plot]" in c["text"]]


# -- 5. line-end hyphens -----------------------------------------------------------------------------------------

def test_line_end_hyphen_is_removed_in_a_split_word_and_kept_in_a_compound(tmp_path):
    data, expected = ingest_case(tmp_path, "hyphens")
    assert texts_and_refs(data) == expected
    joined = " ".join(c["text"] for c in data["claims"])
    assert "treatment," in joined and "treat-" not in joined
    assert joined.count("T cell-mediated") == 2 and "cellmediated" not in joined


# -- 6. headings -------------------------------------------------------------------------------------------------

def test_bold_heading_starts_a_section_and_is_no_claim(tmp_path):
    data, expected = ingest_case(tmp_path, "headings")
    assert texts_and_refs(data) == expected
    titles = [c["section_title"] for c in data["claims"]]
    assert titles[:6] == ["Introduction"] * 3 + ["Tumour Microenvironment"] * 3
    assert data["claims"][0]["section"] != data["claims"][3]["section"]
    for c in data["claims"]:
        assert not c["text"].startswith(("Introduction", "Tumour Microenvironment"))



def test_a_bold_subheading_a_little_smaller_than_the_text_starts_a_section(tmp_path):
    """BMC's Results subheadings are bold at 9.2 pt in 9.8 pt text: "G4s are forming within the TMPRSS2 gene"
    was no section."""
    body = ["Immune checkpoints are receptors that keep T cell responses in check in healthy tissues.",
            "Tumours exploit them to switch off the T cells that would otherwise destroy them [1]."]
    page = [
        (LEFT, TOP, [t("Results", 10.5, BOLD)]),
        (LEFT, TOP - 16, [t("Checkpoints restrain T cells in tumours", 9.2, BOLD)]),
        *column(body, y=TOP - 30),
        (LEFT, TOP - 66, [t("Myeloid cells add to the suppression", 9.2, BOLD)]),
        *column(["The cells and signals around the tumour decide whether T cells can enter and act there [2]."],
                y=TOP - 80),
    ]
    pdf = write_pdf(tmp_path / "sub.pdf", [page, column(FILLER)])
    data = run_ingest(tmp_path, pdf)
    titles = {c["text"]: c["section_title"] for c in data["claims"]}
    assert titles[body[0]] == titles[body[1]] == "Checkpoints restrain T cells in tumours"
    assert titles["The cells and signals around the tumour decide whether T cells can enter and act there [2]."] \
        == "Myeloid cells add to the suppression"


# -- 7. the reference list ---------------------------------------------------------------------------------------

def test_reference_list_becomes_the_documents_references_and_no_claims(tmp_path):
    data, expected = ingest_case(tmp_path, "references")
    assert texts_and_refs(data) == expected
    (doc,) = data["documents"]
    assert doc["references_available"] is True
    assert doc["references"] == [
        {"n": k + 1, "text": ref, "doi": f"10.1000/xyz{k + 1}"} for k, ref in enumerate(REFERENCES)
    ]
    assert not [c for c in data["claims"] if "J Test" in c["text"] or "References" in c["text"]]


# -- 8. bad files, through the CLI ------------------------------------------------------------------------------

PROSE = "The response rate was higher in the treated group than in the control group of patients."


def good_pdf(path: Path, pages: int = 2) -> Path:
    return write_pdf(path, [column([PROSE] * 5) for _ in range(pages)])


def not_a_pdf(path: Path) -> Path:
    path.write_text("Patients were treated with the antibody for six months.\n", encoding="utf-8")
    return path


def truncated_pdf(path: Path) -> Path:
    data = good_pdf(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def encrypted_pdf(path: Path) -> Path:
    return write_pdf(path, [column([PROSE] * 5)], encrypt="secret")


def scanned_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    for _ in range(3):
        c.rect(50, 50, 400, 600, fill=1)
        c.showPage()
    c.save()
    return path


def too_many_pages(path: Path) -> Path:
    return write_pdf(path, [[(5, 20, [t(f"page {n + 1}", 6)])] for n in range(MAX_PAGES + 1)], pagesize=(100, 50))


BAD = {
    "not-a-pdf": (not_a_pdf, "is named .pdf but is not a PDF (no %PDF- header); check the file or rename it"),
    "truncated": (truncated_pdf, "damaged or truncated PDF"),
    "encrypted": (encrypted_pdf, "is encrypted (password protected)"),
    "scanned": (scanned_pdf, "has no text layer (a scanned PDF?); run OCR first, e.g. `ocrmypdf in.pdf out.pdf`"),
    "too-many-pages": (too_many_pages, f"PDF has {MAX_PAGES + 1} pages, more than the {MAX_PAGES} allowed"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_pdf_is_one_clear_error_and_nothing_is_written(tmp_path, kind):
    make, message = BAD[kind]
    pdf = make(tmp_path / f"{kind}.pdf")
    out = tmp_path / "claims.yaml"
    result = runner.invoke(app, ["ingest", str(pdf), "--claims", str(out), "--no-tag"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"evidence: error: {pdf}: {message}"), lines[0]
    assert not out.exists()
    assert not (tmp_path / "extracted").exists()
    with pytest.raises(DataError) as info:
        read_pdf(pdf)
    assert [(p.path, p.line) for p in info.value.problems] == [(str(pdf), None)]
    assert info.value.problems[0].message.startswith(message)


def test_one_bad_pdf_among_good_ones_writes_nothing_and_is_named(tmp_path):
    good = good_pdf(tmp_path / "good.pdf")
    bad = encrypted_pdf(tmp_path / "locked.pdf")
    out = tmp_path / "claims.yaml"
    result = runner.invoke(app, ["ingest", str(good), str(bad), "--claims", str(out), "--no-tag"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{bad}: is encrypted (password protected); save an unencrypted copy (e.g. qpdf --decrypt) and ingest that",
        f"{out}: not written: nothing from this run was ingested; fix or leave out the files above and run "
        "`evidence ingest` again",
    ]
    assert str(good) not in result.stderr
    assert not out.exists()
    assert not (tmp_path / "extracted").exists()


def test_good_pdf_through_the_cli(tmp_path):
    pdf = good_pdf(tmp_path / "good.pdf")
    out = tmp_path / "claims.yaml"
    result = runner.invoke(app, ["ingest", str(pdf), "--claims", str(out), "--no-tag"])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {out}: 10 claims from good\n"
    assert (tmp_path / "extracted" / "good.txt").is_file()


# -- 9. locators: pages and spans of every claim ----------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def squeeze(text: str) -> str:
    """Text without white space, digits, commas and dashes (superscript citations, dropped line-end hyphens and
    page furniture inside a span are then no difference)."""
    return re.sub(r"[\s\d,\-–]+", "", text.translate(_SUPERSCRIPTS))


def page_texts(pdf: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        out = []
        for page in doc:
            textpage = page.get_textpage()
            out.append(squeeze(textpage.get_text_range()))
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


@pytest.mark.parametrize("name", list(CASES))
def test_every_claim_has_its_pages_and_a_span_into_the_extracted_text(tmp_path, name):
    data, _ = ingest_case(tmp_path, name)
    (doc,) = data["documents"]
    extracted = (tmp_path / "out" / doc["extracted"]).read_text(encoding="utf-8")
    assert doc["extracted"] == f"extracted/{name}.txt"
    pages = page_texts(tmp_path / f"{name}.pdf")
    assert doc["pages"] == len(pages)
    assert extracted.count("\f") == len(pages) - 1
    for c in data["claims"]:
        text = squeeze(c["text"])
        head, tail = text[:10], text[-10:]
        a, b = c["span"]
        span = squeeze(extracted[a:b])
        assert span.startswith(head) and span.endswith(tail), (c["id"], c["text"], extracted[a:b])
        assert c["pages"] == list(range(c["pages"][0], c["pages"][-1] + 1)), c["id"]
        assert head in pages[c["pages"][0] - 1], (c["id"], c["pages"])
        assert tail in pages[c["pages"][-1] - 1], (c["id"], c["pages"])
        first = extracted.count("\f", 0, a) + 1
        last = extracted.count("\f", 0, b - 1) + 1
        assert c["pages"] == list(range(first, last + 1)), c["id"]


# -- bugs found while writing these tests ------------------------------------------------------------------------

def test_claims_of_a_one_page_pdf_have_pages(tmp_path):
    pdf = write_pdf(tmp_path / "one.pdf", [column(FILLER)])
    data = run_ingest(tmp_path, pdf)
    assert [c["text"] for c in data["claims"]] == FILLER_CLAIMS
    assert [c.get("pages") for c in data["claims"]] == [[1]] * 3


def test_a_body_line_starting_with_received_is_not_boilerplate(tmp_path):
    pdf = write_pdf(tmp_path / "received.pdf", [column([
        "In the first cohort, all patients with measurable disease at the start of the study",
        "received two doses of the antibody, and the response was assessed after twelve weeks.",
        "Most of the responses were seen in patients whose tumours expressed the ligand.",
    ]), column(FILLER)])
    data = run_ingest(tmp_path, pdf)
    assert [c["text"] for c in data["claims"]] == [
        "In the first cohort, all patients with measurable disease at the start of the study received two doses of "
        "the antibody, and the response was assessed after twelve weeks.",
        "Most of the responses were seen in patients whose tumours expressed the ligand.",
        *FILLER_CLAIMS,
    ]


def test_a_doi_wrapped_onto_its_own_line_stays_in_its_reference(tmp_path):
    page2 = [
        *column(FILLER),
        (LEFT, TOP - 70, [t("References", 12, BOLD)]),
        (LEFT, TOP - 90, [t("1. Author A. First title of a test article. J Test. 2020;1:1-2.", 8)]),
        (LEFT + 8, TOP - 99, [t("doi:10.1000/xyz1", 8)]),
        (LEFT, TOP - 110, [t("2. Writer B. Second title of a test article. J Test. 2021;2:3-4.", 8)]),
        (LEFT + 8, TOP - 119, [t("doi:10.1000/xyz2", 8)]),
    ]
    pdf = write_pdf(tmp_path / "wrapped.pdf", [column(FILLER), page2])
    data = run_ingest(tmp_path, pdf)
    assert [(r["n"], r.get("doi")) for r in data["documents"][0]["references"]] == [
        (1, "10.1000/xyz1"), (2, "10.1000/xyz2")]
