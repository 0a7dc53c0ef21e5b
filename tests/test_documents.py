"""Several documents in one corpus: a reference number belongs to its document, documents are listed and can be
chosen (--doc, doc:, ref:DOC:N), the export names every source, and typo correction leaves English words alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.ingest import ingest
from tests.conftest import CHAPTER

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "bench" / "gold" / "evidence-summary.txt"
runner = CliRunner()


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> tuple[str, str]:
    """The chapter and the plain-text evidence summary in one claims file (untagged: fast), and an index dir."""
    folder = tmp_path_factory.mktemp("two")
    for src in (CHAPTER, CHAPTER.with_suffix(".yaml"), SUMMARY):
        shutil.copy(src, folder / src.name)
    out = folder / "claims.yaml"
    ingest([folder / CHAPTER.name, folder / SUMMARY.name], out)
    return str(out), str(folder / "index")


def run(*args: str) -> object:
    return runner.invoke(app, list(args))


def test_a_reference_number_belongs_to_its_document(two):
    claims, _ = two
    index = json.loads(run("refs", "--claims", claims, "-f", "json").stdout)
    sixes = [r for r in index if r["ref"] == 6]
    assert [r["doc"] for r in sixes] == ["wong2017", "evidence-summary"]
    assert all(cid.startswith(r["doc"] + "-") for r in sixes for cid in r["claims"])
    # the summary prints its reference list: its [6] carries the entry, the chapter's has none
    assert "reference" not in sixes[0]
    assert sixes[1]["reference"]["n"] == 6 and sixes[1]["reference"]["text"]


def test_refs_n_groups_by_document_and_names_the_entry(two):
    claims, _ = two
    rows = json.loads(run("refs", "6", "--claims", claims, "-f", "json").stdout)
    assert {r["doc"] for r in rows} == {"wong2017", "evidence-summary"}
    assert all(r["reference"]["n"] == 6 for r in rows if r["doc"] == "evidence-summary")
    only = json.loads(run("refs", "6", "--doc", "wong2017", "--claims", claims, "-f", "json").stdout)
    assert only and {r["doc"] for r in only} == {"wong2017"}


def test_single_source_is_judged_within_each_document(two, tmp_path):
    claims, _ = two
    alone = tmp_path / "alone.yaml"
    ingest([Path(claims).parent / CHAPTER.name], alone)
    mixed = {r["id"]: r["sole_citation"] for r in json.loads(
        run("refs", "--single-source", "--claims", claims, "-f", "json").stdout) if r["doc"] == "wong2017"}
    single = {r["id"]: r["sole_citation"] for r in json.loads(
        run("refs", "--single-source", "--claims", str(alone), "-f", "json").stdout)}
    assert mixed == single


def test_docs_lists_every_document_without_empty_fields(two):
    claims, _ = two
    result = run("docs", "--claims", claims, "-f", "json")
    assert result.exit_code == 0
    docs = {d["doc"]: d for d in json.loads(result.stdout)}
    assert list(docs) == ["wong2017", "evidence-summary"]
    assert docs["wong2017"]["doi"] == "10.5772/66494" and "reference_count" not in docs["wong2017"]  # not read
    summary = docs["evidence-summary"]
    assert "doi" not in summary and "authors" not in summary  # no sidecar, no PDF: nothing invented
    # the text's first line is shaped like a title, and is printed there
    assert summary["title"] == ("Immune Checkpoint Inhibitors in Melanoma and Non-Small Cell Lung Cancer: An "
                                "Evidence Summary")
    assert summary["reference_count"] == 30 and summary["claim_count"] > 50


def test_doc_filter_field_syntax_and_bad_document(two):
    claims, index = two
    base = ("--claims", claims, "--index-dir", index, "-f", "json")
    hits = json.loads(run("query", "nivolumab ipilimumab", "--doc", "evidence-summary", *base).stdout)
    assert hits and {h["doc"] for h in hits} == {"evidence-summary"}
    field = json.loads(run("query", "nivolumab doc:wong2017", *base).stdout)
    assert field and {h["doc"] for h in field} == {"wong2017"}
    one = json.loads(run("query", "ref:wong2017:8", *base).stdout)
    assert [(h["id"], h["refs"]) for h in one] == [("wong2017-2.1-25", [8])]
    unknown = run("query", "nivolumab", "--doc", "nope", *base)
    assert unknown.exit_code == 2
    assert "unknown document 'nope'; documents here: evidence-summary, wong2017" in unknown.stderr
    never = run("query", "ref:wong2017:999", *base)
    assert never.exit_code == 1
    view = run("approvals", "--doc", "nope", "--claims", claims)
    assert view.exit_code == 2 and "unknown document 'nope'" in view.stderr


def test_batch_takes_a_doc_field(two):
    claims, index = two
    lines = '{"id": "a", "query": "nivolumab", "doc": "wong2017", "limit": 3}\n'
    result = runner.invoke(app, ["batch", "-", "--claims", claims, "--index-dir", index], input=lines)
    out = json.loads(result.stdout)
    assert out["id"] == "a" and {h["doc"] for h in out["hits"]} == {"wong2017"}


def test_export_names_both_sources_and_groups_the_citation_index(two):
    claims, index = two
    md = run("export", "--query", "nivolumab ipilimumab", "-n", "20", "--claims", claims, "--index-dir", index).stdout
    assert "**Sources:**" in md
    assert ("- `wong2017`: Raymond M. Wong, Robert B. Cameron. *Immune Checkpoint Blockade and Adaptive Immune "
            "Resistance in Cancer*. In: Immunotherapy - Myths, Reality, Ideas, Future. InTech, 2017. DOI "
            "10.5772/66494. Licence: CC BY 3.0.") in md
    assert ("- `evidence-summary`: *Immune Checkpoint Inhibitors in Melanoma and Non-Small Cell Lung Cancer: An "
            "Evidence Summary*.") in md  # only the title is known: no empty punctuation for the rest
    assert ". ." not in md and "In: ." not in md
    assert "each document's own" in md
    assert "### `wong2017`" in md and "### `evidence-summary`" in md
    assert "The bibliography of `wong2017` is not part of the corpus" in md


@pytest.mark.parametrize("text", ["survival rates", "light exposure", "overall cost"])
def test_typo_correction_leaves_english_words_alone(two, text):
    claims, index = two
    result = run("query", text, "--claims", claims, "--index-dir", index, "-f", "json")
    assert "note: searching" not in result.stderr


def test_typo_correction_still_corrects_a_misspelt_drug(two):
    claims, index = two
    result = run("query", "pembrolizumb", "--claims", claims, "--index-dir", index, "-f", "json")
    assert "note: searching 'pembrolizumab' for 'pembrolizumb'" in result.stderr


def test_approvals_in_any_voice_with_combinations_and_inferred_indications(tmp_path):
    out = tmp_path / "claims.yaml"
    from evidence_cli.tagging import tag_claims

    ingest([SUMMARY], out, tag=tag_claims)
    rows = json.loads(run("approvals", "--claims", str(out), "-f", "json").stdout)
    got = [(r["drugs"], r["combination"], r["indication"], r.get("indication_inferred_from"), r["year"],
            r["regulator"], r["claims"]) for r in rows]
    assert got == [
        # "The FDA approved high-dose interleukin-2 (aldesleukin) in 1998 because ..."
        (["aldesleukin"], False, "melanoma", None, 1998, "FDA", ["evidence-summary-1-03"]),
        # "Approved by the FDA in 2011, ipilimumab has ...": no cancer in the sentence; the section over it says
        (["ipilimumab"], False, "melanoma", "the title of section 2 (Melanoma)", 2011, "FDA",
         ["evidence-summary-2.1-01"]),
        # "The FDA has approved both the nivolumab-ipilimumab and the nivolumab-relatlimab combinations for ..."
        (["nivolumab", "ipilimumab"], True, "melanoma", None, None, "FDA", ["evidence-summary-s5-04"]),
        (["nivolumab", "relatlimab"], True, "melanoma", None, None, "FDA", ["evidence-summary-s5-04"]),
        # "Pembrolizumab was approved by the US Food and Drug Administration (FDA) for first-line ..."
        (["pembrolizumab"], False, "non-small cell lung cancer", None, 2016, "FDA", ["evidence-summary-4.1-01"]),
    ]
    for r in rows:  # every reference shown is printed in the approval sentence itself
        (claim,) = [c for c in json.loads(run("show", r["claims"][0], "--claims", str(out), "-f", "json").stdout)]
        assert set(r["refs"]) == set(claim["refs"])


def test_regimens_name_each_agent_once_and_report_trial_results(tmp_path):
    out = tmp_path / "claims.yaml"
    from evidence_cli.tagging import tag_claims

    ingest([SUMMARY], out, tag=tag_claims)
    rows = json.loads(run("regimens", "--claims", str(out), "-f", "json").stdout)
    for r in rows:
        assert len(r["agents"]) == len(set(r["agents"])), r["agents"]
        assert not [n for n in r["numbers"] if "CI" in n or n.startswith(("P ", "P<", "P ="))], r["numbers"]
    combos = {tuple(sorted(r["agents"])) for r in rows}
    assert ("nivolumab", "relatlimab") in combos and ("ipilimumab", "nivolumab") in combos
    # "Median progression-free survival was 11.5 months with the combination ..." reports a trial result
    pfs = next(r for r in rows if "evidence-summary-s4-02" in r["claims"])
    assert pfs["basis"] == "reported" and "11.5 months" in pfs["numbers"]
    # the trial results and the approval of the same combination are one reported regimen
    reported = [r for r in rows if sorted(r["agents"]) == ["ipilimumab", "nivolumab"] and r["basis"] == "reported"]
    assert len(reported) == 1 and {"evidence-summary-s4-02", "evidence-summary-s5-04"} <= set(reported[0]["claims"])


@pytest.fixture(scope="module")
def two_tagged(tmp_path_factory) -> str:
    from evidence_cli.tagging import tag_claims

    folder = tmp_path_factory.mktemp("two-tagged")
    for src in (CHAPTER, CHAPTER.with_suffix(".yaml"), SUMMARY):
        shutil.copy(src, folder / src.name)
    out = folder / "claims.yaml"
    ingest([folder / CHAPTER.name, folder / SUMMARY.name], out, tag=tag_claims)
    return str(out)


@pytest.mark.parametrize("view", ["approvals", "resistance", "biomarkers", "regimens"])
def test_no_view_row_joins_two_documents(two_tagged, view):
    rows = json.loads(run(view, "--claims", two_tagged, "-f", "json").stdout)
    assert rows and {r["doc"] for r in rows} <= {"wong2017", "evidence-summary"}
    for r in rows:
        ids = set(r["claims"]) | {s["claim"] for s in r.get("strategies", [])}
        assert all(cid.startswith(r["doc"] + "-") for cid in ids), (r["doc"], ids)
    only = json.loads(run(view, "--doc", "wong2017", "--claims", two_tagged, "-f", "json").stdout)
    assert only and {r["doc"] for r in only} == {"wong2017"}
