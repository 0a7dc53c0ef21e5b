"""evidence verify: a note's quoted claims checked against the corpus."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.verify import find_quotes, matches, quoted_refs
from tests.conftest import ROOT

runner = CliRunner()
CLAIMS = str(ROOT / "claims.yaml")


def export(*args) -> str:
    result = runner.invoke(app, ["export", *args, "--claims", CLAIMS])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def verify(note: str, *args, claims: str = CLAIMS):
    return runner.invoke(app, ["verify", "-", "-f", "json", "--claims", claims, *args], input=note)


@pytest.mark.parametrize("args", [
    ["--topic", "all"], ["--topic", "approvals"], ["--topic", "resistance"], ["--topic", "regimens"],
    ["--topic", "regimens", "--with-inferred"], ["--topic", "biomarkers"], ["--query", "TIM-3 resistance"],
    ["--claim-id", "wong2017-2.5-06", "--claim-id", "wong2017-2.1-26"],
])
def test_an_export_verifies_clean(args, index_dir):
    note = export(*args, "--index-dir", index_dir) if "--query" in args else export(*args)
    result = verify(note)
    assert result.exit_code == 0, result.stdout
    verdicts = json.loads(result.stdout)
    assert verdicts and all(v["status"] == "ok" for v in verdicts)


NOTE = export("--claim-id", "wong2017-2.5-05", "--claim-id", "wong2017-2.5-06", "--claim-id", "wong2017-2.1-26")


@pytest.mark.parametrize(("edit", "claim", "status"), [
    (lambda n: n.replace("local production of inflammatory", "local release of inflammatory"), "wong2017-2.5-05",
     "changed"),
    (lambda n: n.replace("refs [43]", "refs [44]"), "wong2017-2.5-05", "refs differ"),
    (lambda n: n.replace(" *(hedged: might)*", ""), "wong2017-2.5-06", "hedge not marked"),
    (lambda n: n.replace("`wong2017-2.1-26`", "`wong2017-2.1-99`"), "wong2017-2.1-99", "unknown claim"),
    (lambda n: n.replace("These trial results led to US FDA approval of ipilimumab for melanoma in 2011.",
                         "Cats are better than dogs, and everyone knows it."), "wong2017-2.1-26",
     "not a quote of any claim"),
])
def test_a_tampered_quote_is_named_with_exit_1(edit, claim, status):
    result = verify(edit(NOTE))
    assert result.exit_code == 1
    verdicts = {v["claim"]: v for v in json.loads(result.stdout)}
    assert verdicts[claim]["status"] == status
    assert [v["status"] for c, v in verdicts.items() if c != claim] == ["ok", "ok"]
    if status == "changed":
        assert verdicts[claim]["text"].startswith("Enhanced T cell activity within tumors involves local production")


def test_after_a_re_ingest_only_the_drifted_quotes_are_named(tmp_path):
    claims = tmp_path / "claims.yaml"
    shutil.copy(CLAIMS, claims)
    text = claims.read_text(encoding="utf-8")
    # a corrected sentence and a corrected reference in the corpus, after the note was written
    text = text.replace("PD-L1 on various cell types within tumor tissue might", "PD-L1 on many cell types within "
                        "tumor tissue might", 1)
    text = text.replace("  refs: [43]\n", "  refs: [42]\n", 1)
    claims.write_text(text, encoding="utf-8")
    result = verify(NOTE, claims=str(claims))
    assert result.exit_code == 1
    statuses = {v["claim"]: v["status"] for v in json.loads(result.stdout)}
    assert statuses == {"wong2017-2.5-05": "refs differ", "wong2017-2.5-06": "changed", "wong2017-2.1-26": "ok"}


def test_pasted_quotes_are_found_too():
    note = """# My notes

TIM-3 has many partners: "TIM-3 is bound by multiple ligands, including galectin-9, CEACAM-1, and high-mobility
group box 1 (HMGB-1)." (wong2017-2.5-09, no ref)

> Upregulation of PD-L1 on various cell types […] might result in heightened CD80-mediated inhibition of proximal
> effector T cells. (wong2017-2.5-06, hedged)

> Co-blockade of both TIM3 and PD-1 can prevent resistance to PD-1 blockade immunotherapy [45].
> — wong2017-2.5-17, refs 45
"""
    result = verify(note)
    verdicts = json.loads(result.stdout)
    assert [(v["line"], v["claim"], v["status"]) for v in verdicts] == [
        (3, "wong2017-2.5-09", "ok"), (6, "wong2017-2.5-06", "ok"), (9, "wong2017-2.5-17", "ok")]
    assert verdicts[0]["refs_quoted"] == [] and verdicts[2]["refs_quoted"] == [45]
    assert result.exit_code == 0


def test_an_elision_must_be_marked():
    text = "Upregulation of PD-L1 on various cell types within tumor tissue might result in heightened inhibition."
    assert matches("Upregulation of PD-L1 on various cell types […] might result in heightened inhibition.", text)
    assert matches("Upregulation of PD-L1 … heightened inhibition.", text)
    assert not matches("Upregulation of PD-L1 might result in heightened inhibition.", text)
    assert not matches("Upregulation of PD-L1 … lowered inhibition.", text)


@pytest.mark.parametrize(("tail", "refs"), [
    (" (§2.5), refs [43]", [43]),
    (" (§2.2), refs [27], [28], [29], [30]", [27, 28, 29, 30]),
    (", [27–30]", [27, 28, 29, 30]),
    (" (§2.5), no reference in the source (context: [43] from wong2017-2.5-05) *(hedged: might)*", []),
    (", refs 8 and 9", [8, 9]),
    ("", None),
])
def test_refs_given_by_a_quote(tail, refs):
    assert quoted_refs(tail) == refs


@pytest.mark.parametrize(("note", "message"), [
    ("# Notes\n\nNothing quoted here, only [12] and wong2017 mentioned.\n", "no quoted claims found"),
    ("\x00\x01binary", "binary file"),
])
def test_a_note_without_quotes_or_a_binary_file(note, message):
    result = runner.invoke(app, ["verify", "-", "--claims", CLAIMS], input=note)
    assert result.exit_code == (1 if "no quoted" in message else 2)
    assert message in result.stderr


def test_a_missing_note_is_an_error(tmp_path):
    result = runner.invoke(app, ["verify", str(tmp_path / "nope.md"), "--claims", CLAIMS])
    assert result.exit_code == 2 and "no such file" in result.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_parses_without_error(note):
    for q in find_quotes(note):
        assert q.claim and q.text
        quoted_refs(q.tail)


def test_mistyped_and_unusual_ids_are_reported_never_skipped():
    note = ('"Co-blockade of both TIM3 and PD-1 will always prevent resistance." (wong2017-2.5.17)\n\n'
            "> Keywords: aspirin, dosing\n> — `wong2017-kw-01`\n\n"
            '"Co-blockade of both TIM3 and PD-1 can prevent resistance to PD-1 blockade immunotherapy." '
            "(wong2017-2.5-17, refs [45])\n\n"
            '"TIM-3 is bound by multiple ligands," (wong2017-2.5-09)\n\n'
            '"Upregulation of PD-L1 on various cell types within tumor tissue might result in heightened '
            'CD80-mediated inhibition of proximal effector T cells." (wong2017-2.5-06, not hedged)\n')
    verdicts = json.loads(verify(note).stdout)
    assert [(v["claim"], v["status"]) for v in verdicts] == [
        ("wong2017-2.5.17", "unknown claim"),               # a typo in the id
        ("wong2017-kw-01", "not a quote of any claim"),     # the keywords claim, tampered
        ("wong2017-2.5-17", "ok"),                          # "[45]" left to the attribution
        ("wong2017-2.5-09", "changed"),                     # cut short without "…"
        ("wong2017-2.5-06", "hedge not marked"),            # "not hedged" is no hedge mark
    ]


def test_two_sentences_quoted_together_with_both_ids():
    from evidence_cli.store import load_claims

    by_id = {c["id"]: c for c in load_claims(ROOT / "claims.yaml")["claims"]}
    text = by_id["wong2017-2.5-05"]["text"] + " " + by_id["wong2017-2.5-06"]["text"]
    note = f"> {text}\n> — `wong2017-2.5-05`, `wong2017-2.5-06`, refs [43] *(hedged: might)*\n"
    assert [(v["claim"], v["status"]) for v in json.loads(verify(note).stdout)] == [
        ("wong2017-2.5-05, wong2017-2.5-06", "ok")]


def test_edited_context_refs_are_refs_that_differ():
    note = NOTE.replace("(context: [43] from wong2017-2.5-05)", "(context: [44] from wong2017-2.5-05)")
    statuses = {v["claim"]: v["status"] for v in json.loads(verify(note).stdout)}
    assert statuses["wong2017-2.5-06"] == "refs differ"


def test_a_note_from_another_claims_file_is_said(tmp_path):
    other = tmp_path / "claims.yaml"
    other.write_text((ROOT / "claims.yaml").read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    result = verify(NOTE, claims=str(other))
    assert "note: the note was exported from claims.yaml (sha256" in result.stderr
    assert "If that is not its source, pass --claims" in result.stderr
    assert "exported from" not in verify(NOTE).stderr


@pytest.mark.parametrize(("quote", "status"), [
    ("Co-blockade of both TIM3 and PD-1 can prevent resistance to PD-1 blockade immunotherapy [46].", "changed"),
    ("Co-blockade of both TIM3 and PD-1 can prevent resistance to PD-1 blockade immunotherapy.", "ok"),
    ("Co-blockade of both TIM3 and PD-1 can prevent resistance … immunotherapy [45].", "ok"),
    ("Co-blockade of both TIM3 and PD-1 can prevent … blockade immuno …", "changed"),  # "immuno" is no word here
])
def test_markers_kept_must_be_the_claims_and_elisions_cut_whole_words(quote, status):
    note = f"> {quote}\n> — `wong2017-2.5-17`\n"
    assert [v["status"] for v in json.loads(verify(note).stdout)] == [status]


def test_table_rows_and_id_first_quotes_are_checked_with_their_lines():
    note = ('| claim | quote |\n|---|---|\n| `wong2017-2.5-13` | "TIM-3 is never co-expressed with PD-1." |\n\n'
            '- "TIM-3 is bound by multiple ligands, …" (wong2017-2.5-09)\n'
            '- "These trial results led to US FDA approval of ipilimumab for melanoma in 2011." (wong2017-2.1-26)\n')
    verdicts = json.loads(verify(note).stdout)
    assert [(v["line"], v["claim"], v["status"]) for v in verdicts] == [
        (3, "wong2017-2.5-13", "not a quote of any claim"), (5, "wong2017-2.5-09", "ok"),
        (6, "wong2017-2.1-26", "ok")]


def test_an_id_shaped_word_in_a_quoted_text_is_a_word_of_it(tmp_path):
    """"SARS-CoV-2" has the shape of a claim id; in a quote's text it is a word, and an export of such a claim
    verifies clean (it was an "unknown claim" that cut the quote short)."""
    from evidence_cli.ingest import ingest

    doc = tmp_path / "virus.txt"
    doc.write_text("Results\n\nTo test if SARS-CoV-2 entry needs TMPRSS2, cells were infected [3]. The virus "
                   "entered the cells [4].\n", encoding="utf-8")
    claims = tmp_path / "claims.yaml"
    ingest([doc], claims)
    result = runner.invoke(app, ["export", "--query", "SARS-CoV-2 entry", "--claims", str(claims),
                                 "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.stderr
    assert "> To test if SARS-CoV-2 entry needs TMPRSS2" in result.stdout
    verdicts = json.loads(verify(result.stdout, claims=str(claims)).stdout)
    assert [(v["claim"], v["status"]) for v in verdicts][:1] == [("virus-s1-01", "ok")]
    assert all(v["status"] == "ok" for v in verdicts)
    # set off as an id, an unknown one is still reported
    note = "> To test if SARS-CoV-2 entry needs TMPRSS2, cells were infected [3].\n> — SARS-CoV-2\n"
    assert [v["status"] for v in json.loads(verify(note, claims=str(claims)).stdout)] == ["unknown claim"]
