"""Output conventions: -f csv, --fields, query from stdin, export front matter, citation files."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from typer.testing import CliRunner

from evidence_cli.cli import app
from tests.conftest import ROOT

runner = CliRunner()
CLAIMS = str(ROOT / "claims.yaml")


def run(*args, input=None, index_dir=None):
    env = {"EVIDENCE_INDEX_DIR": index_dir} if index_dir else None
    return runner.invoke(app, [*args, "--claims", CLAIMS], input=input, env=env)


@pytest.mark.parametrize("args", [
    ["query", "TIM-3 ligands", "-n", "3"], ["refs", "45"], ["approvals"], ["regimens"], ["docs"], ["sections"],
    ["resistance"], ["biomarkers"], ["refs"],
])
def test_csv_parses_with_dictreader_and_matches_tsv(args, index_dir):
    as_csv = run(*args, "-f", "csv", index_dir=index_dir)
    as_tsv = run(*args, "-f", "tsv", index_dir=index_dir)
    assert as_csv.exit_code == 0 and as_tsv.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    tsv_rows = list(csv.DictReader(io.StringIO(as_tsv.stdout), delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows and rows == tsv_rows


@pytest.mark.parametrize("fmt", ["json", "jsonl", "tsv", "csv"])
def test_fields_keeps_exactly_the_fields_asked(fmt, index_dir):
    result = run("query", "TIM-3 ligands", "-n", "2", "-f", fmt, "--fields", "refs,id,context_refs",
                 index_dir=index_dir)
    assert result.exit_code == 0, result.stderr
    if fmt == "json":
        rows = json.loads(result.stdout)
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter="\t" if fmt == "tsv" else ","))
    assert [list(r) for r in rows] == [["refs", "id", "context_refs"]] * 2
    assert rows[0]["id"] == "wong2017-2.5-09"


def test_fields_work_on_views_and_batch(index_dir):
    rows = json.loads(run("regimens", "-f", "json", "--fields", "agents,basis,basis_claim").stdout)
    assert all(list(r) == ["agents", "basis", "basis_claim"] for r in rows)
    batch = run("batch", "-", "--fields", "id,refs", input="TIM-3 ligands\n", index_dir=index_dir)
    line = json.loads(batch.stdout)
    assert all(list(h) == ["id", "refs"] for h in line["hits"]) and line["query"] == "TIM-3 ligands"
    table = run("batch", "-", "-f", "csv", "--fields", "id,refs", input="TIM-3 ligands\n", index_dir=index_dir)
    assert table.stdout.splitlines()[0] == "query_id,query,rank,id,refs,error"


@pytest.mark.parametrize(("args", "message"), [
    (["query", "TIM-3", "-f", "json", "--fields", "id,nope"], "unknown field 'nope' in --fields"),
    (["query", "TIM-3", "--fields", "id"], "--fields applies to -f json, jsonl, tsv and csv"),
    (["query", "TIM-3", "-f", "json", "--fields", ","], "--fields needs field names"),
    (["batch", "-", "--fields", "idd"], "unknown field 'idd' in --fields"),
])
def test_bad_fields_are_usage_errors(args, message, index_dir):
    result = run(*args, input="TIM-3\n", index_dir=index_dir)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_query_reads_its_text_from_stdin(index_dir):
    result = run("query", "-", "-f", "json", "-n", "1", input="TIM-3\nligands\n", index_dir=index_dir)
    assert json.loads(result.stdout)[0]["id"] == "wong2017-2.5-09"
    empty = run("query", "-", input="  \n", index_dir=index_dir)
    assert empty.exit_code == 2 and "no query on stdin" in empty.stderr


def test_export_front_matter_for_note_tools():
    result = run("export", "--topic", "regimens", "--front-matter")
    assert result.stdout.startswith("---\n")
    meta = yaml.safe_load(result.stdout.split("---\n")[1])
    assert meta["title"] == "Evidence summary: regimens"
    assert meta["sources"] == [{"id": "wong2017", "title": "Immune Checkpoint Blockade and Adaptive Immune "
                                "Resistance in Cancer", "authors": ["Raymond M. Wong", "Robert B. Cameron"],
                                "year": 2017, "doi": "10.5772/66494", "licence": "CC BY 3.0"}]
    assert "wong2017-2.5-17" in meta["claims"] and len(meta["claims"]) == len(set(meta["claims"]))
    assert len(meta["claims_sha256"]) == 64 and meta["date"]
    assert run("verify", "-", input=result.stdout).exit_code == 0  # the front matter is not a quote


def test_cite_the_source_document():
    bib = run("cite", "wong2017").stdout
    assert bib.startswith("@incollection{wong2017,\n")
    assert "  author = {Wong, Raymond M. and Cameron, Robert B.},\n" in bib and "  doi = {10.5772/66494},\n" in bib
    items = json.loads(run("cite", "-f", "csljson").stdout)
    assert items[0]["author"][0] == {"family": "Wong", "given": "Raymond M."}
    assert items[0]["issued"] == {"date-parts": [[2017]]} and items[0]["type"] == "chapter"
    ris = run("cite", "-f", "ris").stdout.splitlines()
    assert ris[0] == "TY  - CHAP" and "DO  - 10.5772/66494" in ris and ris[-1] == "ER  - "


def test_cite_reference_entries_where_the_list_was_read(tmp_path):
    source = tmp_path / "review.txt"
    source.write_text("PD-1 blockade in melanoma: a short review\n\nIntroduction\n\nBlocking PD-1 restores the "
                      "function of exhausted T cells in patients with melanoma [1]. Responses to nivolumab were "
                      "durable in a phase III trial [2].\n\nReferences\n\n1. Smith J, Jones K. Exhausted T cells "
                      "and PD-1. J Immunol. 2010;185:1-10. doi:10.1000/jim.2010.1\n2. Brown A. Nivolumab in "
                      "melanoma. N Engl J Med. 2015;372:320-330. PMID: 25399552\n", encoding="utf-8")
    claims = str(tmp_path / "claims.yaml")
    assert runner.invoke(app, ["ingest", str(source), "--claims", claims]).exit_code == 0
    items = json.loads(runner.invoke(app, ["cite", "review", "--ref", "2", "-f", "csljson", "--claims", claims]).stdout)
    assert items == [{"id": "review-ref2", "type": "document", "note": "Brown A. Nivolumab in melanoma. N Engl J "
                      "Med. 2015;372:320-330. PMID: 25399552", "citation-label": "[2] of review", "PMID": "25399552"}]
    missing = runner.invoke(app, ["cite", "review", "--ref", "9", "--claims", claims])
    assert missing.exit_code == 2 and "(1 to 2 were read)" in missing.stderr


@pytest.mark.parametrize(("args", "code", "message"), [
    (["cite", "wong2017", "--ref", "3"], 1, "the reference list of wong2017 is not in the corpus"),
    (["cite", "nope"], 2, "unknown document 'nope'"),
    (["cite", "-f", "endnote"], 2, "'endnote' is not one of"),
])
def test_cite_errors(args, code, message):
    result = run(*args)
    assert result.exit_code == code
    assert message in result.stderr


def test_bibtex_escapes_tex_specials_and_names_split():
    from evidence_cli.render.cite import _bib, _name

    assert _bib("50% of T & B cells_1 {x}") == r"{50\% of T \& B cells\_1 \textbraceleft{}x\textbraceright{}}"
    assert _name("Wong, Raymond M.") == {"family": "Wong", "given": "Raymond M."}
    assert _name("Plato") == {"literal": "Plato"}
    assert _name("World Health Organization") == {"literal": "World Health Organization"}
    assert _name("Jean-Luc Picard Jr.") == {"family": "Picard", "given": "Jean-Luc", "suffix": "Jr."}
    assert _bib("a {b") == r"{a \textbraceleft{}b}"  # an unbalanced brace cannot break the entry


def test_view_tables_for_scripts_hold_numbers_not_prose():
    rows = list(csv.DictReader(io.StringIO(run("approvals", "-f", "csv").stdout)))
    first = rows[0]
    assert (first["doc"], first["kind"], first["refs"], first["context_refs"], first["regulator"]) == (
        "wong2017", "drug_approval", "", "8", "FDA")
    assert any(r["regulator_inferred_from"] == "wong2017-2.4-12" for r in rows)


def test_fields_that_only_some_rows_carry(index_dir):
    result = run("query", "pembrolizumab colorectal", "-f", "jsonl", "--fields", "id,nearby", index_dir=index_dir)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and all(list(r) == ["id", "nearby"] for r in rows)
    regimens = run("regimens", "-f", "jsonl", "--fields", "agents,inference")
    assert regimens.exit_code == 0 and any(json.loads(line)["inference"] for line in regimens.stdout.splitlines())
