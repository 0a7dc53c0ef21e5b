"""CLI: query, show, refs, entities — exact JSON a script would parse, exact exit codes."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from tests.conftest import ROOT, damage, index_data_files

runner = CliRunner()
CLAIMS = str(ROOT / "claims.yaml")


def q(index_dir, *args):
    return runner.invoke(app, ["query", *args, "--claims", CLAIMS, "--index-dir", index_dir])


def test_query_json_hits(index_dir):
    result = q(index_dir, "TIM-3 ligands", "-f", "json", "-n", "3")
    assert result.exit_code == 0
    hits = json.loads(result.stdout)
    assert hits[0]["id"] == "wong2017-2.5-09"
    assert hits[0]["text"] == ("TIM-3 is bound by multiple ligands, including galectin-9, CEACAM-1, and "
                               "high-mobility group box 1 (HMGB-1).")
    assert hits[0]["refs"] == []
    assert hits[0]["context_refs"] == [44]
    assert hits[0]["claims"] == ["wong2017-2.5-09"]
    assert {"id", "text", "refs", "section", "score", "hedging", "kind", "tier"} <= hits[0].keys()
    assert all("_highlights" not in h for h in hits)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Keytruda approval", "wong2017-2.2-23"),
        ("B7-H1 negative patients response rates", "wong2017-2.3-13"),
        ("HAVCR2 PD-1 co-expressed", "wong2017-2.5-13"),
        ("ipilumumab phase III", "wong2017-2.1-22"),
        ("when was ipilimumab approved", "wong2017-2.1-26"),
    ],
)
def test_aliases_typos_and_questions_find_their_claim(index_dir, query, expected):
    result = q(index_dir, query, "-f", "jsonl", "-n", "3")
    assert result.exit_code == 0
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert expected in ids


def test_typo_correction_is_reported_on_stderr(index_dir):
    result = q(index_dir, "pembrolizumb", "-f", "jsonl", "-n", "1")
    assert result.stderr.endswith("note: searching 'pembrolizumab' for 'pembrolizumb'\n")
    assert "pembrolizumab" in json.loads(result.stdout)["entities"]


def test_field_syntax_and_filters(index_dir):
    by_field = q(index_dir, "ref:45", "-f", "json", "-n", "50")
    by_option = q(index_dir, "--ref", "45", "-f", "json", "-n", "50")
    ids = sorted(h["id"] for h in json.loads(by_field.stdout))
    assert ids == ["wong2017-2.5-13", "wong2017-2.5-17", "wong2017-2.6-06"]
    assert sorted(h["id"] for h in json.loads(by_option.stdout)) == ids
    sec = json.loads(q(index_dir, "section:2.6 mesenchymal stem cells", "-f", "json").stdout)
    assert sec and all(h["section"] == "2.6" for h in sec)


def test_no_hits_exit_1_and_bad_input_exit_2(index_dir):
    none = q(index_dir, "xylophone")
    assert (none.exit_code, none.stdout) == (1, "")
    assert none.stderr.endswith("no claims match 'xylophone'\n")
    bad = q(index_dir, "entity:NOPE1")
    assert bad.exit_code == 2
    assert bad.stderr.endswith("evidence: error: unknown entity 'NOPE1' in entity:NOPE1; list them with "
                               "`evidence entities`\n")
    empty = q(index_dir, "")
    assert empty.exit_code == 2
    badref = q(index_dir, "ref:abc")
    assert badref.exit_code == 2


def test_brackets_are_not_rich_markup(index_dir):
    result = q(index_dir, "CTLA-4 affinity CD28", "-n", "1")
    assert result.exit_code == 0
    assert "[2]" in result.stdout
    assert "[hedged: cue] marks a hedged statement" in result.stdout


def test_tsv_and_markdown(index_dir):
    tsv = q(index_dir, "1 in 33 colorectal", "-f", "tsv", "-n", "1").stdout.splitlines()
    assert tsv[0].split("\t") == ["id", "score", "doc", "section", "kind", "tier", "refs", "author_year",
                                  "context_refs", "hedged", "edited", "unmatched", "text"]
    assert tsv[1].split("\t")[2] == "wong2017"
    assert tsv[1].split("\t")[6] == "27,28"
    md = q(index_dir, "ipilimumab approval melanoma 2011", "-f", "markdown", "-n", "1").stdout
    assert "> These trial results led to US FDA approval of ipilimumab for melanoma in 2011." in md
    assert "no reference in the source (context: [8] from wong2017-2.1-25)" in md


def test_stale_index_is_rebuilt_with_a_note(tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_bytes((ROOT / "claims.yaml").read_bytes())
    idx = str(tmp_path / "idx")
    first = runner.invoke(app, ["query", "TIM-3", "--claims", str(claims), "--index-dir", idx])
    assert "note: building the index" in first.stderr
    again = runner.invoke(app, ["query", "TIM-3", "--claims", str(claims), "--index-dir", idx])
    assert "note:" not in again.stderr
    claims.write_text(claims.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    stale = runner.invoke(app, ["query", "TIM-3", "--claims", str(claims), "--index-dir", idx])
    assert "note: index is stale (claims changed); rebuilding" in stale.stderr


def test_show(index_dir):
    result = runner.invoke(app, ["show", "wong2017-2.1-26", "--claims", CLAIMS, "-f", "json"])
    [claim] = json.loads(result.stdout)
    assert claim["text"] == "These trial results led to US FDA approval of ipilimumab for melanoma in 2011."
    assert claim["neighbours"] == ["wong2017-2.1-25"]
    missing = runner.invoke(app, ["show", "wong2017-2.1-99", "--claims", CLAIMS])
    assert missing.exit_code == 2
    assert "no claim 'wong2017-2.1-99'" in missing.stderr


def test_refs_index_and_single_number():
    index = json.loads(runner.invoke(app, ["refs", "--claims", CLAIMS, "-f", "json"]).stdout)
    assert [r["ref"] for r in index] == list(range(1, 56))
    assert index[9] == {"doc": "wong2017", "ref": 10, "refs": [10],
                        "claims": ["wong2017-2.2-03", "wong2017-2.2-06", "wong2017-2.2-07"], "claim_count": 3}
    one = json.loads(runner.invoke(app, ["refs", "43", "--claims", CLAIMS, "-f", "json"]).stdout)
    assert [r["id"] for r in one] == ["wong2017-2.5-05", "wong2017-2.6-04"]
    none = runner.invoke(app, ["refs", "99", "--claims", CLAIMS])
    assert none.exit_code == 1


def test_single_source():
    rows = json.loads(runner.invoke(app, ["refs", "--single-source", "--claims", CLAIMS, "-f", "json"]).stdout)
    assert all(len(r["refs"]) == 1 for r in rows)
    sole = {r["id"] for r in rows if r["sole_citation"]}
    assert "wong2017-2.1-08" in sole  # [2] is cited only there


def test_entities_catalogue_and_detail():
    cat = json.loads(runner.invoke(app, ["entities", "--claims", CLAIMS, "-f", "json"]).stdout)
    havcr2 = next(e for e in cat if e["id"] == "HAVCR2")
    assert havcr2["label"] == "TIM-3" and havcr2["type"] == "gene" and havcr2["claim_count"] > 10
    detail = json.loads(runner.invoke(app, ["entities", "Keytruda", "--claims", CLAIMS, "-f", "json"]).stdout)
    assert detail["id"] == "pembrolizumab"
    assert detail["brands"] == ["Keytruda"] and detail["target"] == "PDCD1"
    assert "wong2017-2.2-23" in detail["claims"]
    missing = runner.invoke(app, ["entities", "nothing-like-this", "--claims", CLAIMS])
    assert missing.exit_code == 2


@pytest.mark.parametrize("command", ["query", "show", "refs", "entities", "ingest", "validate", "approvals",
                                     "resistance", "biomarkers", "regimens", "batch", "export"])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout


def test_damaged_index_is_detected_and_rebuilt(tmp_path):
    idx = tmp_path / "idx"
    first = runner.invoke(app, ["query", "TIM-3", "--claims", CLAIMS, "--index-dir", str(idx), "-f", "json"])
    assert first.exit_code == 0
    [folder] = [p for p in idx.iterdir() if p.name.startswith("v")]
    segments = index_data_files(folder)
    assert segments
    for seg in segments:
        damage(seg, b"garbage")
    again = runner.invoke(app, ["query", "TIM-3", "--claims", CLAIMS, "--index-dir", str(idx), "-f", "json"])
    assert again.exit_code == 0, again.output
    assert "is damaged; rebuilding" in again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)


def test_installed_command_smoke(tmp_path):
    """The console script as a user runs it, from a directory outside the repository."""
    import os
    import shutil
    import subprocess

    exe = shutil.which("evidence")
    if exe is None:
        pytest.skip("console script not on PATH")
    env = dict(os.environ, EVIDENCE_INDEX_DIR=str(tmp_path / "idx"))
    env.pop("EVIDENCE_CLAIMS", None)
    out = subprocess.run([exe, "query", "when was ipilimumab approved", "-f", "jsonl", "-n", "1"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["id"] == "wong2017-2.1-26"


def test_claims_digest_is_remembered_until_the_file_changes(tmp_path, monkeypatch):
    from evidence_cli import index, store

    claims = tmp_path / "claims.yaml"
    claims.write_text("a: 1\n", encoding="utf-8")
    root = tmp_path / "idx"
    root.mkdir()
    first = index.claims_digest(claims, root)

    def no_reading(_path):
        raise AssertionError("the unchanged file was read again")

    monkeypatch.setattr(store, "_read_text", no_reading)
    assert index.claims_digest(claims, root) == first
    monkeypatch.undo()
    claims.write_text("a: 22\n", encoding="utf-8")
    assert index.claims_digest(claims, root) != first


def test_a_hand_edit_is_marked_before_the_next_ingest(tmp_path):
    """A curator sets refs on a sentence that prints none: until ingest names the field, every output says the
    claim was edited by hand, so [44] is never taken for a number the chapter prints there."""
    claims = tmp_path / "claims.yaml"
    text = (ROOT / "claims.yaml").read_text(encoding="utf-8")
    start = text.index("- id: wong2017-2.5-09\n")
    end = text.index("\n- id: ", start + 1)
    block = text[start:end]
    assert "  refs: []\n" in block
    claims.write_text(text[:start] + block.replace("  refs: []\n", "  refs: [44]\n") + text[end:], encoding="utf-8")
    args = ["--claims", str(claims), "--index-dir", str(tmp_path / "idx")]
    hits = json.loads(runner.invoke(app, ["query", "TIM-3 ligands", "-f", "json", "-n", "2", *args]).stdout)
    edited = {h["id"]: h for h in hits}["wong2017-2.5-09"]
    assert edited["refs"] == [44] and edited["edited_since_ingest"] is True
    assert all("edited_since_ingest" not in h for h in hits if h["id"] != "wong2017-2.5-09")
    table = runner.invoke(app, ["show", "wong2017-2.5-09", "--claims", str(claims)], env={"COLUMNS": "200"}).stdout
    assert "[edited by hand since ingest]" in table
    md = runner.invoke(app, ["query", "TIM-3 ligands", "-f", "markdown", "-n", "1", *args]).stdout
    assert "*(edited by hand since ingest)*" in md


def test_tier_option_section_names_and_unknown_sections(index_dir):
    tiered = json.loads(q(index_dir, "PD-L1", "--tier", "hypothesis", "-f", "json", "-n", "50").stdout)
    assert tiered and {h["tier"] for h in tiered} == {"hypothesis"}
    assert json.loads(q(index_dir, "PD-1", "--section", "Abstract", "-f", "json").stdout)[0]["section"] == "abstract"
    # a heading's words name its section too (a PDF's unnumbered sections are s1, s2, ...)
    titled = json.loads(q(index_dir, "blockade", "--section", "CTLA-4", "-f", "json").stdout)
    assert titled and {h["section"] for h in titled} == {"2.1"}
    wrong = q(index_dir, "PD-1", "--section", "Methods")
    assert wrong.exit_code == 2 and wrong.stdout == ""
    sections = "abstract, keywords, 1, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, adaptive immune resistance, ctla-4"
    assert f"unknown section 'methods'; sections here: {sections}" in wrong.stderr


@pytest.mark.parametrize("text", ["HAVCR2", "interferon gamma", "galectin 9", "CTLA-4"])
def test_a_correct_name_is_not_reported_as_a_typo(index_dir, text):
    result = q(index_dir, text, "-n", "1")
    assert result.exit_code == 0 and "note:" not in result.stderr


def test_sections_that_prefix_each_other_are_listed_in_order(tmp_path):
    """A document with text under "2." before "2.1." (its section ids "2" and "2.1") used to crash every query."""
    from evidence_cli.index import _section_order
    from tests.conftest import STYLES

    assert sorted(["2.10", "2.1", "keywords", "2", "10", "2.2", "abstract", "2.a"], key=_section_order) == [
        "abstract", "keywords", "2", "2.1", "2.2", "2.10", "2.a", "10"]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "styles.txt").write_text(STYLES.read_text(encoding="utf-8")
                                       + "\n2.1. Subgroups\n\nResponses were durable in subgroups [3].\n",
                                       encoding="utf-8")
    claims = tmp_path / "claims.yaml"
    assert runner.invoke(app, ["ingest", str(corpus), "--claims", str(claims), "--no-tag"]).exit_code == 0
    args = ["--claims", str(claims), "--index-dir", str(tmp_path / "idx")]
    result = runner.invoke(app, ["query", "durable", "-s", "2.1.", "-f", "json", *args])
    assert result.exit_code == 0, result.output
    assert [h["section"] for h in json.loads(result.stdout)] == ["2.1"]


def test_a_claim_added_by_hand_is_marked(tmp_path):
    claims = tmp_path / "claims.yaml"
    added = ("- id: wong2017-x-01\n  doc: wong2017\n  section: '2.2'\n  section_title: Added\n  text: Nivolumab "
             "cures every melanoma patient [7].\n  refs: [7]\n  span: [0, 10]\n")
    claims.write_text((ROOT / "claims.yaml").read_text(encoding="utf-8") + added, encoding="utf-8")
    args = ["--claims", str(claims), "--index-dir", str(tmp_path / "idx")]
    hits = json.loads(runner.invoke(app, ["query", "nivolumab cures melanoma", "-f", "json", *args]).stdout)
    marked = {h["id"] for h in hits if h.get("edited_since_ingest")}
    assert "wong2017-x-01" in {h["id"] for h in hits} and marked == {"wong2017-x-01"}


def test_the_console_entry_registers_only_the_invoked_command_and_behaves_the_same(monkeypatch, capsys):
    """main() builds typer's group with the one command named (a faster start); help, a mistyped command and
    the command itself are as with all of them."""
    from evidence_cli import cli

    everything = list(cli.app.registered_commands)
    original = cli._only_the_invoked_command
    seen: list[str] = []

    def recording():
        original()
        seen[:] = [c.callback.__name__ for c in cli.app.registered_commands]

    monkeypatch.setattr(cli, "_only_the_invoked_command", recording)

    def run(*argv):
        monkeypatch.setattr(sys, "argv", ["evidence", *argv])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
        out, err = capsys.readouterr()
        assert cli.app.registered_commands == everything  # restored: a second main() sees every command
        return exit_info.value.code, out, err, list(seen)

    code, out, _, registered = run("glossary", "-f", "json")
    assert code in (0, None) and json.loads(out) and registered == ["glossary"]
    code, out, _, registered = run("query", "--help")
    assert code == 0 and "--engine" in out and registered == ["query"]
    code, _, err, registered = run("quer", "x")
    assert code == 2 and "Did you mean 'query'?" in err and len(registered) > 10
    code, out, _, registered = run("--help")
    assert code == 0 and "regimens" in out and len(registered) > 10


def test_a_sections_heading_words_name_it(index_dir):
    """Words of a heading, not its whole ("replication arrest" of a long BMC subheading, which exited 2), name
    every section whose heading holds them in that order; an apostrophe or accent may be typed any way."""
    from evidence_cli.query_plan import _heading_key

    part = json.loads(q(index_dir, "resistance", "--section", "immune resistance", "-f", "json", "-n", "50").stdout)
    assert part and {h["section"] for h in part} == {"2.5"}
    both = json.loads(q(index_dir, "resistance", "--section", "adaptive", "-f", "json", "-n", "50").stdout)
    assert {h["section"] for h in both} == {"2.5", "2.6"}
    assert _heading_key("SNPs in the exon 1 (5´UTR) of TMPRSS2") == "snps in the exon 1 5utr of tmprss2"
    assert f" {_heading_key('exon 1 5’UTR')} " in f" {_heading_key('SNPs in the exon 1 (5´UTR) of TMPRSS2')} "


def test_several_sections_named_by_heading_words_each_give_their_headings():
    """Two section filters by heading words: each is replaced by its headings (the second was once replaced at
    the first's shifted place, leaving it unresolved)."""
    from evidence_cli.query_plan import QueryPlan, check_filters

    known = ["2.5", "2.6", "adaptive immune resistance", "strategies to counteract adaptive resistance",
             "ctla-4 blockade"]
    plan = QueryPlan(text="x")
    plan.sections.extend(["adaptive", "ctla-4", "2.5"])
    check_filters(plan, known)
    assert plan.sections == ["adaptive immune resistance", "strategies to counteract adaptive resistance",
                             "ctla-4 blockade", "2.5"]
