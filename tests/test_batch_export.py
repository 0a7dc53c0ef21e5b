"""Batch lookups (file and stdin, text and JSON lines, bad lines, empty input) and the markdown export."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from evidence_cli.batch import LineError, parse_line
from evidence_cli.cli import app
from tests.conftest import ROOT

runner = CliRunner()
CLAIMS = str(ROOT / "claims.yaml")


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    return str(tmp_path_factory.mktemp("index"))


def batch(idx, *args, input=None):
    return runner.invoke(app, ["batch", *args, "--claims", CLAIMS, "--index-dir", idx], input=input)


def test_batch_stdin_text_and_json_lines_in_order(idx):
    lines = 'TIM-3 ligands\n\n{"id": "q2", "query": "approval", "entity": "Keytruda", "limit": 1}\n'
    result = batch(idx, "-", input=lines)
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "q2"]
    assert out[0]["query"] == "TIM-3 ligands"
    assert out[0]["hits"][0]["id"] == "wong2017-2.5-09"
    assert [h["id"] for h in out[1]["hits"]] == ["wong2017-2.2-23"]
    assert out[1]["hits"][0]["refs"] == [] and out[1]["hits"][0]["context_refs"] == [27, 28, 29, 30]
    assert result.stderr.endswith("batch: 2 queries, 2 ran, 0 failed\n")


def test_batch_hits_are_the_same_objects_as_query_json(idx):
    q = runner.invoke(app, ["query", "PD-L2 affinity", "-n", "3", "-f", "json", "--claims", CLAIMS,
                            "--index-dir", idx])
    b = batch(idx, "-", input="PD-L2 affinity\n", )
    assert json.loads(b.stdout)["hits"][:3] == json.loads(q.stdout)


def test_batch_bad_lines_do_not_stop_the_run(idx):
    lines = '{"query": "TIM-3"\n{"id": "x", "query": "TIM-3", "limit": 0}\n{"id": "y", "entity": "NOPE"}\n' \
            '{"id": "z", "query": "TIM-3", "colour": "red"}\n["a"]\nTIM-3\n'
    result = batch(idx, "-", input=lines)
    assert result.exit_code == 2
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0] == {"id": 1, "error": "line 1: not valid JSON (Expecting ',' delimiter at column 18)"}
    assert out[1] == {"id": "x", "error": "limit must be a whole number from 1 to 1000"}
    assert out[2]["id"] == "y" and "unknown entity 'NOPE'" in out[2]["error"]
    assert out[3] == {"id": "z",
                      "error": "unknown field(s) colour; use doc, entity, id, kind, limit, query, ref, section, tier"}
    assert out[4] == {"id": 5, "error": "line 5: a JSON line must be an object with a \"query\""}
    assert out[5]["id"] == 6 and out[5]["hits"]
    assert result.stderr.endswith("batch: 6 queries, 1 ran, 5 failed\n")


def test_batch_file_empty_input_and_formats(idx, tmp_path):
    f = tmp_path / "q.txt"
    f.write_text("ref:45\nxylophone\n", encoding="utf-8")
    as_json = batch(idx, str(f), "-f", "json")
    parsed = json.loads(as_json.stdout)
    assert [len(r["hits"]) for r in parsed] == [3, 0]
    tsv = batch(idx, str(f), "-f", "tsv").stdout.splitlines()
    assert tsv[0].split("\t")[:4] == ["query_id", "query", "rank", "claim"]
    assert len(tsv) == 5  # header, three hits, and the query without hits (rank 0)
    assert tsv[4].split("\t")[:3] == ["2", "xylophone", "0"]
    empty = batch(idx, "-", input="")
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert empty.stderr.endswith("batch: 0 queries, 0 ran, 0 failed\n")
    missing = batch(idx, str(tmp_path / "nope.txt"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_line_never_raises_anything_else(line):
    try:
        q = parse_line(line, 1)
        assert isinstance(q.query, str)
    except LineError as exc:
        assert str(exc)


# --------------------------------------------------------------------------- export

def _export(*args):
    return runner.invoke(app, ["export", *args, "--claims", CLAIMS])


def test_export_all_parses_as_markdown_with_tables_quotes_and_mermaid():
    result = _export("--topic", "all")
    assert result.exit_code == 0
    md = result.stdout
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    types = [t.type for t in tokens]
    assert types.count("table_open") >= 3  # approvals, biomarkers, regimens (+ citation index)
    assert "blockquote_open" in types
    fences = [t for t in tokens if t.type == "fence"]
    assert fences and fences[0].info == "mermaid" and fences[0].content.startswith("flowchart LR")
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0] == "Evidence summary: immune checkpoint blockade"
    assert {"Regulatory approvals", "Resistance mechanisms", "Combination regimens", "Citation index"} <= set(headings)
    assert "The bibliography of `wong2017` is not part of the corpus" in md
    row = "| drug approval | ipilimumab | melanoma | 2011 | FDA | `wong2017-2.1-26` | none in sentence; context [8] |"
    assert row in md


def test_export_quotes_are_exact_and_hedges_marked():
    import yaml

    claims = {c["id"]: c for c in yaml.safe_load((ROOT / "claims.yaml").read_text(encoding="utf-8"))["claims"]}
    md = _export("--claim-id", "wong2017-2.6-08", "--claim-id", "wong2017-2.1-08").stdout
    tokens = MarkdownIt("commonmark").parse(md)
    quoted = [tokens[i + 2].content for i, t in enumerate(tokens) if t.type == "blockquote_open"]
    assert quoted[0].split("\n")[0] == claims["wong2017-2.6-08"]["text"]
    assert quoted[1].split("\n")[0] == claims["wong2017-2.1-08"]["text"]
    assert "*(hedged: might)*" in md
    assert "| [2] | `wong2017-2.1-08` |" in md


def test_export_query_and_refusals(tmp_path):
    out = tmp_path / "notes.md"
    first = _export("--query", "TIM-3 ligands", "-o", str(out))
    assert first.exit_code == 0 and out.read_text(encoding="utf-8").startswith("# Evidence summary: TIM-3 ligands")
    again = _export("--query", "TIM-3", "-o", str(out))
    assert again.exit_code == 2
    assert again.stderr == f"evidence: error: {out} exists; pass --force to overwrite it, or choose another --output\n"
    forced = _export("--query", "TIM-3", "-o", str(out), "--force")
    assert forced.exit_code == 0 and "# Evidence summary: TIM-3" in out.read_text(encoding="utf-8")
    nothing = _export()
    assert nothing.exit_code == 2 and "say what to export" in nothing.stderr
    bad_id = _export("--claim-id", "nope")
    assert bad_id.exit_code == 2 and "no claim 'nope'" in bad_id.stderr


def test_batch_reports_corrections_and_bad_utf8_per_line(idx):
    result = runner.invoke(app, ["batch", "-", "--claims", CLAIMS, "--index-dir", idx],
                           input=b"pembrolizumb\n\xff\xfe\nTIM-3\n")
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["corrections"] == {"pembrolizumb": "pembrolizumab"}
    assert out[1] == {"id": 2, "error": "line 2: not valid UTF-8"}
    assert out[2]["hits"] and result.exit_code == 2


def test_export_to_stdout_dash_and_missing_folder(tmp_path):
    dash = _export("--topic", "approvals", "-o", "-")
    assert dash.exit_code == 0 and dash.stdout.startswith("# Evidence summary: approvals")
    missing = _export("--topic", "approvals", "-o", str(tmp_path / "no" / "such" / "x.md"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "no").exists()
    none = _export("--query", "xylophone")
    assert none.exit_code == 1 and none.stdout == ""


def test_batch_tier_and_unknown_section(tmp_path):
    idx = str(tmp_path / "idx")
    lines = ('{"id": "t", "query": "PD-L1", "tier": "hypothesis", "limit": 3}\n'
             '{"id": "s", "query": "PD-1", "section": "9.9"}\n')
    result = runner.invoke(app, ["batch", "-", "--claims", CLAIMS, "--index-dir", idx], input=lines)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["hits"] and {h["tier"] for h in out[0]["hits"]} == {"hypothesis"}
    assert out[1]["id"] == "s" and out[1]["error"].startswith("unknown section '9.9'; sections here: abstract")
    assert result.exit_code == 2


@pytest.mark.parametrize("fmt", ["jsonl", "tsv", "json"])
def test_batch_in_worker_processes_gives_the_same_output_in_input_order(idx, monkeypatch, fmt):
    """--jobs 2 (chunks of 3 lines, so every chunk boundary is crossed): the same bytes out, line numbers, ids,
    bad lines and corrections included, and the same summary and exit code."""
    import yaml

    from evidence_cli import batch as batch_module

    monkeypatch.setattr(batch_module, "CHUNK", 3)
    questions = [q["q"] for q in yaml.safe_load((ROOT / "bench" / "retrieval_eval.yaml").read_text(
        encoding="utf-8"))["questions"]][:25]
    lines = (b'TIM-3 ligands\n\n{"id": "q2", "query": "approval", "entity": "Keytruda", "limit": 1}\n\xff\xfe\n'
             b'{"query": "TIM-3"\npembrolizumb\n' + "\n".join(questions).encode("utf-8") + b"\n\n")
    one = batch(idx, "-", "-f", fmt, input=lines)
    two = batch(idx, "-", "-f", fmt, "--jobs", "2", input=lines)
    assert one.exit_code == two.exit_code == 2
    assert two.stdout == one.stdout and len(one.stdout) > 10_000
    assert two.stderr == "batch: 30 queries, 28 ran, 2 failed\n" and one.stderr.endswith(two.stderr)
    every_core = batch(idx, "-", "-f", fmt, "-j", "0", input=lines)
    assert every_core.stdout == one.stdout


def test_batch_jobs_bad_values_and_a_worker_that_cannot_open_the_index(idx, tmp_path):
    from evidence_cli.batch import run_batch_in_workers
    from evidence_cli.errors import EvidenceError

    for bad in ("-1", "65", "two"):
        result = batch(idx, "-", "--jobs", bad, input="TIM-3\n")
        assert result.exit_code == 2 and "expects a whole number from 0 to 64" in result.stderr
    with pytest.raises(EvidenceError, match="a worker process failed or stopped"):
        list(run_batch_in_workers(["TIM-3"], tmp_path / "no-index", 1))


def test_a_query_of_question_words_only_says_so(idx):
    q = runner.invoke(app, ["query", "why", "--claims", CLAIMS, "--index-dir", idx])
    assert q.exit_code == 2
    assert q.stderr == ("evidence: error: nothing to search for in 'why': question words and words such as 'the' "
                        "are not searched; say what it is about, e.g. \"why do tumours resist PD-1 blockade\"\n")
    b = batch(idx, "-", input="tell me about\n")
    assert json.loads(b.stdout)["error"].startswith("nothing to search for in 'tell me about': question words and")
    assert b.exit_code == 2
