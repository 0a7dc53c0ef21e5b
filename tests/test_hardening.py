"""Regressions found by review and by hostile input: superscripts at line starts and inside run-in headings,
reference lists with wrapped numbers, footnote marks, scoped reference filters, lone surrogates in batch lines,
control characters, markdown injection, YAML dates and timestamps, a boolean schema version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.corpus import DocMeta, segment_document
from evidence_cli.pdf import Line
from evidence_cli.render.markdown import escape

ROOT = Path(__file__).resolve().parents[1]
META = DocMeta(id="t", path="t.pdf", sha256="0" * 64)
runner = CliRunner()


def pdf_lines(*rows: tuple) -> tuple[str, list[Line]]:
    """Lines as the PDF reader gives them: (text, sup ranges, para, bold, bold_prefix), body size 9 on page 1."""
    lines, parts, offset = [], [], 0
    for k, (text, sup, para, bold, bold_prefix) in enumerate(rows):
        lines.append(Line(text, offset, 1, 9.0, bold, sup, 50, 300, 100 + 12 * k, 110 + 12 * k, 0, para,
                          bold_prefix=bold_prefix, page_height=800))
        parts.append(text + "\n")
        offset += len(text) + 1
    return "".join(parts), lines


def test_a_superscript_opening_a_line_belongs_to_the_sentence_before():
    raw, lines = pdf_lines(("Cells were found in the tissue.", (), True, False, 0),
                           ("12 Next sentence follows here.", ((0, 2),), False, False, 0))
    got = [(s.text, s.sup_refs) for s in segment_document(raw, META, lines).sentences]
    assert got == [("Cells were found in the tissue.", (12,)), ("Next sentence follows here.", ())]


def test_superscripts_inside_a_run_in_heading_and_a_split_superscript_group():
    raw, lines = pdf_lines(("CD812 T cells. They kill tumour cells1, 3 in vitro.", ((3, 5), (37, 38), (40, 41)),
                            True, False, 14))
    seg = segment_document(raw, META, lines)
    assert [(s.section_title, s.text, s.sup_refs) for s in seg.sentences] == [
        ("CD8 T cells", "They kill tumour cells in vitro.", (1, 3))]


def test_a_wrapped_entry_starting_with_the_next_number_is_not_a_new_entry():
    raw = ("Results\nIt worked [10, 11].\n\nReferences\n10. Doe A. A study. J Test.\n11. Roe B. Another study.\n"
           "J Test 12 (2020) 100-105.\n12. Smith C. Third. J Test.\n")
    refs = segment_document(raw, DocMeta(id="t", path="t.txt", sha256="0" * 64)).references
    assert [(r.n, r.text) for r in refs] == [(10, "Doe A. A study. J Test."),
                                            (11, "Roe B. Another study. J Test 12 (2020) 100-105."),
                                            (12, "Smith C. Third. J Test.")]


def test_footnote_letter_marks_are_not_glued_to_words():
    raw, lines = pdf_lines(("Most patientsa responded well.", ((13, 14),), True, False, 0))
    assert [s.text for s in segment_document(raw, META, lines).sentences] == ["Most patients responded well."]


def test_a_document_scoped_reference_list_scopes_every_number(tmp_path):
    from evidence_cli.query_plan import AliasMatcher, plan_query

    plan = plan_query("ref:rev1:8,9 ref:3", AliasMatcher([]))
    assert plan.doc_refs == [("rev1", 8), ("rev1", 9)] and plan.refs == [3]


def test_batch_line_with_a_lone_surrogate_key_does_not_stop_the_run():
    lines = '{"query":"TIM-3"}\n{"query":"x","\\ud800":1}\n{"query":"PD-1"}\n'
    result = runner.invoke(app, ["batch", "-", "--claims", str(ROOT / "claims.yaml")], input=lines)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [("hits" in o, "error" in o) for o in out] == [(True, False), (False, True), (True, False)]
    assert result.exit_code == 2


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "claims.yaml"
    text = (ROOT / "claims.yaml").read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  text: CTLA-4 is the first immune checkpoint receptor to be clinically targeted.",
     "  text: \"CTLA-4 is the first \\e]0;owned\\a immune checkpoint receptor \\e[2J to be clinically targeted.\"",
     "control character"),
    ("schema_version: 1", "schema_version: true", "schema_version"),
    ("  numbers: []\n", "  numbers: []\n  checked: 2017-01-01\n", "date or timestamp"),
    ("  numbers: []\n", "  numbers: []\n  note: !!timestamp not-a-date\n", "date or timestamp"),
])
def test_validate_and_query_refuse_alike(tmp_path, old, new, message):
    path = _edited(tmp_path, old, new)
    checked = runner.invoke(app, ["validate", "--claims", str(path)])
    assert checked.exit_code == 2 and message in checked.stderr, checked.stderr
    queried = runner.invoke(app, ["query", "CTLA-4", "--claims", str(path), "--index-dir", str(tmp_path / "ix")])
    assert queried.exit_code == 2 and "Traceback" not in queried.stderr, queried.stderr


def test_markdown_export_cannot_be_turned_into_links_images_or_headings():
    text = "See [click](javascript:alert(1)) and ![img](http://host/x.png)\n# Heading <b>x</b> [2]"
    md = "> " + escape(text) + "\n"
    tokens = MarkdownIt("commonmark").parse(md)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in (t.children or [])}
    assert not kinds & {"link_open", "image", "heading_open", "html_inline", "html_block"}
    assert [t.type for t in tokens].count("blockquote_open") == 1  # the line break stays inside the quote
    assert "[2]" in md


def test_the_digest_memo_notices_an_in_place_rewrite_with_the_old_mtime(tmp_path):
    import os

    from evidence_cli.index import claims_digest

    path = tmp_path / "claims.yaml"
    shutil.copy(ROOT / "claims.yaml", path)
    first = claims_digest(path, tmp_path)
    st = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("clinically targeted", "clinically targetex", 1), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    assert claims_digest(path, tmp_path) != first


@pytest.mark.parametrize("mode", [0o777, 0o775])
def test_an_index_folder_others_may_write_is_never_read(tmp_path, mode):
    shared = tmp_path / "shared-index"
    shared.mkdir()
    (shared / "planted").write_text("x", encoding="utf-8")
    shared.chmod(mode)
    result = runner.invoke(app, ["query", "TIM-3", "--claims", str(ROOT / "claims.yaml"), "--index-dir", str(shared)])
    assert result.exit_code == 2
    assert "refusing to read this index folder: group or others may write to it" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_shared_folder_like_tmp_is_refused_with_a_folder_of_ones_own_to_use_not_a_chmod(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # sticky and world-writable, as /tmp: changing its mode would break the machine
    result = runner.invoke(app, ["query", "TIM-3", "--claims", str(ROOT / "claims.yaml"), "--index-dir", str(shared)])
    assert result.exit_code == 2
    assert "refusing to read this index folder" in result.stderr and "chmod" not in result.stderr
    assert f"use a folder of your own, e.g. --index-dir {shared}/evidence-index-" in result.stderr
    suggested = result.stderr.split("--index-dir ")[1].split()[0]
    again = runner.invoke(app, ["query", "TIM-3", "--claims", str(ROOT / "claims.yaml"), "--index-dir", suggested])
    assert again.exit_code == 0, again.stderr  # the folder it suggests works


def test_a_new_index_folder_is_private_whatever_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0)
    try:
        folder = tmp_path / "fresh" / "index"
        result = runner.invoke(app, ["query", "TIM-3", "--claims", str(ROOT / "claims.yaml"), "--index-dir",
                                     str(folder)])
    finally:
        os.umask(old)
    assert result.exit_code == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_poisoned_parse_cache_is_not_believed(tmp_path):
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims, parse_cache_path
    from tests.conftest import STYLES

    out, cache = tmp_path / "claims.yaml", tmp_path / "cache"
    ingest([STYLES], out, cache_dir=cache)
    cached = parse_cache_path(cache, out)
    text = cached.read_text(encoding="utf-8")
    assert "Checkpoint trials use many citation styles" in text
    cached.write_text(text.replace("Checkpoint trials use many citation styles", "POISONED sentence"),
                      encoding="utf-8")
    texts = [c["text"] for c in load_claims(out, cache_dir=cache)["claims"]]
    assert "Checkpoint trials use many citation styles [1, 3]." in texts
    assert not any("POISONED" in t for t in texts)


def test_an_unwritable_export_target_is_one_message(tmp_path):
    target = tmp_path / "no-such-folder" / "notes.md"
    result = runner.invoke(app, ["export", "--topic", "approvals", "--claims", str(ROOT / "claims.yaml"), "-o",
                                 str(target)])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert str(tmp_path / "no-such-folder") in result.stderr


_PIECES = [*"abc: -[]{}'\"!&*#|>%@`,?\t\\", "\x1b", "\x07", "\x85", "é", "2017-01-01", "!!binary", "- id: x"]
_LINE = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_claims_files_validate_and_query_agree(tmp_path_factory, data):
    """A claims file with one line replaced, deleted or duplicated: no traceback, exit codes 0/1/2 only, and the
    query path refuses exactly the files validate refuses."""
    from evidence_cli.ingest import ingest
    from tests.conftest import STYLES

    folder = tmp_path_factory.mktemp("fuzz")
    good = folder / "good.yaml"
    ingest([STYLES], good)
    lines = good.read_text(encoding="utf-8").split("\n")
    i = data.draw(st.integers(0, len(lines) - 1))
    action = data.draw(st.sampled_from(["replace", "delete", "duplicate", "append"]))
    if action == "replace":
        lines[i] = data.draw(_LINE)
    elif action == "delete":
        del lines[i]
    elif action == "duplicate":
        lines.insert(i, lines[i])
    else:
        lines[i] += data.draw(_LINE)
    path = folder / "claims.yaml"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    checked = runner.invoke(app, ["validate", "--claims", str(path)])
    queried = runner.invoke(app, ["query", "citation", "--claims", str(path), "--index-dir", str(folder / "ix")])
    for result in (checked, queried):
        assert result.exit_code in (0, 1, 2) and "Traceback" not in result.stderr, result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert (checked.exit_code == 2) == (queried.exit_code == 2), (checked.stderr, queried.stderr)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.text(max_size=40),
                          st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=10), st.integers(),
                                                                          st.none(), st.lists(st.integers())),
                                          max_size=4).map(json.dumps)), min_size=1, max_size=6))
def test_every_batch_line_gives_one_result_line(lines):
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    result = runner.invoke(app, ["batch", "-", "--claims", str(ROOT / "claims.yaml")], input="\n".join(lines) + "\n")
    assert "Traceback" not in result.stderr and result.exit_code in (0, 2)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == sum(1 for line in lines if line.strip())


def test_a_huge_text_block_is_left_out_by_ingest_and_refused_in_claims(tmp_path):
    from evidence_cli.ingest import ingest
    from evidence_cli.store import MAX_TEXT

    doc = tmp_path / "d.txt"
    doc.write_text("Results\nA short sentence [1].\n\nTable " + "cell " * (MAX_TEXT // 4) + "\n", encoding="utf-8")
    report = ingest([doc], tmp_path / "claims.yaml")
    assert report.claims == 1 and any("longer than" in n for n in report.notes)
    path = _edited(tmp_path, "  text: CTLA-4 is the first immune checkpoint receptor to be clinically targeted.",
                   "  text: " + "x" * (MAX_TEXT + 1))
    checked = runner.invoke(app, ["validate", "--claims", str(path)])
    assert checked.exit_code == 2
    assert f"is {MAX_TEXT + 1} characters long; it must be at most {MAX_TEXT}" in checked.stderr
    assert len(checked.stderr) < 1000  # the value itself is not printed
    queried = runner.invoke(app, ["query", "CTLA-4", "--claims", str(path), "--index-dir", str(tmp_path / "ix")])
    assert queried.exit_code == 2


def test_a_raw_control_character_is_a_path_line_error(tmp_path):
    path = _edited(tmp_path, "CTLA-4 is the first immune", "CTLA-4 is the \x1b first immune")
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "\x1b" in text)
    result = runner.invoke(app, ["validate", "--claims", str(path)])
    assert result.exit_code == 2
    assert f"{path}:{line}: invalid YAML: unacceptable character #x001b" in result.stderr
    assert "tabs" not in result.stderr


def test_export_numbers_keep_their_form_and_list_marks_are_escaped():
    assert escape("37.5% of patients") == "37.5% of patients"
    assert escape("first\n2. second") == "first\n> 2\\. second"


def test_a_control_character_in_any_claim_field_is_refused_by_both_paths(tmp_path):
    path = _edited(tmp_path, "  numbers: []\n", "  numbers: []\n  note: \"see \\e[2J here\"\n")
    checked = runner.invoke(app, ["validate", "--claims", str(path)])
    assert checked.exit_code == 2 and "note holds a control character" in checked.stderr
    queried = runner.invoke(app, ["query", "CTLA-4", "--claims", str(path), "--index-dir", str(tmp_path / "ix")])
    assert queried.exit_code == 2 and "note holds a control character" in queried.stderr


def test_index_files_are_private_whatever_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0)
    try:
        result = runner.invoke(app, ["query", "TIM-3", "--claims", str(ROOT / "claims.yaml"), "--index-dir",
                                     str(tmp_path / "ix")])
    finally:
        os.umask(old)
    assert result.exit_code == 0
    files = [p for p in (tmp_path / "ix").rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in files), [
        (p.name, oct(stat.S_IMODE(p.stat().st_mode))) for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077]


def test_a_full_disk_during_the_index_build_is_one_message_and_leaves_no_index(tmp_path, monkeypatch):
    import errno

    from evidence_cli import index

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(index, "build", full)
    folder = tmp_path / "ix"
    result = runner.invoke(app, ["query", "TIM-3", "--claims", str(ROOT / "claims.yaml"), "--index-dir", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("cannot write the index (No space left on device); free some space or set "
                                          "--index-dir or $EVIDENCE_INDEX_DIR to another folder")
    assert not [p for p in folder.iterdir() if p.name.startswith(("v", ".build-"))]
