"""Coverage and question understanding: what a hit matches, what the corpus does not mention, clinical shorthand,
question words, typos in biomedical words, and questions about a reference number."""

from __future__ import annotations

import json

import pytest

from evidence_cli.cli import app
from tests.test_cli_search import CLAIMS, q, runner


def ids(result) -> list[str]:
    return [h["id"] for h in json.loads(result.stdout)]


def test_a_word_no_claim_mentions_is_named_and_each_hit_says_what_it_missed(index_dir):
    result = q(index_dir, "pembrolizumab infusion", "-f", "json", "-n", "3")
    assert result.exit_code == 0
    assert "note: no claim mentions 'infusion'" in result.stderr
    hits = json.loads(result.stdout)
    assert all(h["matched"] == ["pembrolizumab"] and h["unmatched"] == ["infusion"] for h in hits)


def test_terms_never_found_together_are_flagged(index_dir):
    # "dosing" occurs once (TIM-3 antibodies), pembrolizumab often, never in one sentence
    result = q(index_dir, "pembrolizumab dose", "-f", "json", "-n", "3")
    assert result.exit_code == 0
    assert "no sentence (with its neighbours) mentions 'pembrolizumab' and 'dose' together" in result.stderr
    assert all(h["unmatched"] for h in json.loads(result.stdout))


def test_matching_only_generic_words_is_no_answer(index_dir):
    # "tumor" is in more than a fifth of the chapter's claims; "infusion" in none
    result = q(index_dir, "tumor infusion", "-f", "json")
    assert result.exit_code == 1
    assert result.stdout == "[]\n"  # still a JSON document for scripts
    assert "no claim mentions 'infusion'" in result.stderr
    assert "no claims match 'tumor infusion'" in result.stderr


def test_a_query_of_generic_words_only_says_so(index_dir):
    result = q(index_dir, "tumors", "-f", "json", "-n", "2")
    assert result.exit_code == 0
    assert "'tumors' occurs in more than 20% of the claims" in result.stderr


def test_a_covered_question_is_not_flagged(index_dir):
    result = q(index_dir, "TIM-3 ligands", "-f", "json", "-n", "1")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout)[0]["matched"] == ["TIM-3", "ligands"]
    assert json.loads(result.stdout)[0]["unmatched"] == []


@pytest.mark.parametrize(("text", "reading", "top"), [
    ("pembro responses", "reading 'pembro' as pembrolizumab", None),
    ("MSI-H colorectal", "reading 'MSI-H' as microsatellite instability", "wong2017-2.4-33"),
    ("ICI resistance", "reading 'ICI' as immune checkpoint inhibitor", "wong2017-2.5-01"),
])
def test_clinical_shorthand_is_read_and_said(index_dir, text, reading, top):
    result = q(index_dir, text, "-f", "json", "-n", "3")
    assert result.exit_code == 0, result.stderr
    assert reading in result.stderr
    if top:
        assert ids(result)[0] == top
    else:
        assert all("pembrolizumab" in h["entities"] for h in json.loads(result.stdout))


def test_anti_target_stands_for_the_drugs_that_target_it(index_dir):
    result = q(index_dir, "anti-CTLA4 survival", "-f", "json", "-n", "2")
    # tremelimumab also targets CTLA-4, but the chapter never names it: it is not listed
    assert "reading 'anti-CTLA4' as CTLA-4 or a drug that targets it (ipilimumab)" in result.stderr
    assert set(ids(result)) == {"wong2017-2.1-24", "wong2017-2.1-22"}  # ipilimumab's survival figures


def test_question_words_do_not_count_and_word_forms_meet(index_dir):
    # "upregulated" and "upregulation" stem apart; "why", "does", "get" are not the subject
    result = q(index_dir, "why does PD-L1 get upregulated in tumors", "-f", "json", "-n", "1")
    assert ids(result) == ["wong2017-2.6-04"]
    assert json.loads(result.stdout)[0]["matched"] == ["PD-L1", "upregulated", "tumors"]


def test_typos_in_disease_words_are_corrected_towards_the_corpus(index_dir):
    result = q(index_dir, "colorectl cancer", "-f", "json", "-n", "2")
    assert "note: searching 'colorectal' for 'colorectl'" in result.stderr
    assert ids(result) == ["wong2017-2.4-31", "wong2017-2.4-32"]


def test_a_question_about_a_reference_number(index_dir):
    result = q(index_dir, "what is reference 12", "-f", "json")
    assert result.exit_code == 0
    assert ids(result) == ["wong2017-2.2-04"]  # the one claim citing [12]; not "IL-12"
    assert "`evidence refs 12`" in result.stderr
    assert "the reference list of wong2017 is not in the corpus" in result.stderr


def test_request_words_alone_are_still_searched(index_dir):
    result = q(index_dir, "evidence", "-f", "json")
    assert "nothing to search for" not in result.stderr


def test_batch_reports_coverage(tmp_path, index_dir):
    queries = tmp_path / "q.txt"
    queries.write_text("pembrolizumab infusion\nMSI-H\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(queries), "--claims", CLAIMS, "--index-dir", index_dir])
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["uncovered"] == ["infusion"]
    assert first["coverage"] == [{"term": "pembrolizumab", "claims": 14, "generic": False},
                                 {"term": "infusion", "claims": 0, "generic": False}]
    assert second["readings"] == {"MSI-H": "microsatellite instability (high), the mark of a mismatch-repair defect"}
    assert second["uncovered"] == []


def test_inflections_join_forms_a_stemmer_splits():
    from evidence_cli.index import _inflections

    assert {"upregulation", "upregulate", "upregulates"} <= set(_inflections("upregulated"))
    assert "presentation" not in _inflections("present")  # only verbs in -ate take -ation
    assert _inflections("cell") == []  # short words are left to the stemmer


def test_a_word_no_claim_uses_is_looked_for_as_the_words_that_begin_like_it(index_dir):
    # the chapter writes "synergize", "synergistic", never "synergy"
    result = q(index_dir, "chemotherapy synergy", "-f", "json", "-n", "1")
    assert "no claim uses 'synergy'; searching the words that begin 'synergi…'" in result.stderr
    assert ids(result) == ["wong2017-2.2-29"]
    assert json.loads(result.stdout)[0]["unmatched"] == []


def test_frequent_english_words_are_not_reported_as_gaps(index_dir):
    # "after" is one of the most frequent English words: missing, it is no gap in the corpus
    result = q(index_dir, "TIM-3 after PD-1 blockade", "-f", "json", "-n", "1")
    assert "no claim mentions" not in result.stderr and "together" not in result.stderr
    assert "after" in json.loads(result.stdout)[0]["unmatched"]


def test_content_words_are_gaps_however_frequent(index_dir):
    from evidence_cli.query_plan import function_words

    assert {"after", "first", "the"} <= function_words() and not {"heart", "blood", "main"} & function_words()
    result = q(index_dir, "ipilimumab heart", "-f", "json", "-n", "1")  # "Heart" is in an institute's name only
    assert "mentions 'ipilimumab' and 'heart' together" in result.stderr


@pytest.mark.parametrize(("text", "top", "note"), [
    ("Ventana assay cutoff", "wong2017-2.4-21", "no claim uses 'cutoff'; searching 'cut off'"),  # "cut-off"
    ("what binds TIM-3", "wong2017-2.5-09", None),  # "TIM-3 is bound by multiple ligands"
    ("IFNg PD-L1", "wong2017-2.6-04", None),  # γ typed as g
    ("mismatch repiar deficiency pembrolizumab", "wong2017-2.4-38", "searching 'repair' for 'repiar'"),
])
def test_word_forms_spellings_and_swapped_letters(index_dir, text, top, note):
    result = q(index_dir, text, "-f", "json", "-n", "3")
    assert result.exit_code == 0, result.stderr
    assert top in ids(result)
    if note:
        assert note in result.stderr
    assert "no claim mentions" not in result.stderr


def test_a_corrected_typo_is_read_again_as_part_of_a_name(index_dir):
    result = q(index_dir, "mismatch repiar deficiency", "-f", "json", "-n", "1")
    assert json.loads(result.stdout)[0]["matched"] == ["mismatch repair deficiency"]


def test_pointing_at_claims_is_not_searched_as_words(index_dir):
    result = q(index_dir, "which claims cite [45]", "-f", "json")
    assert result.exit_code == 0
    assert ids(result) == ["wong2017-2.5-13", "wong2017-2.5-17", "wong2017-2.6-06"]


def test_brands_and_abbreviations_are_read_aloud(index_dir):
    assert "reading 'Keytruda' as pembrolizumab" in q(index_dir, "Keytruda approval", "-n", "1").stderr
    assert "reading 'TMB' as mutational load" in q(index_dir, "TMB", "-n", "1").stderr
    assert "note:" not in q(index_dir, "TIM3 ligands", "-n", "1").stderr  # a spelling of the label, not an alias


def test_no_hits_beyond_a_generic_name_names_it(index_dir):
    result = q(index_dir, "PD-L1 xylophone", "-f", "json")
    assert result.exit_code == 1
    assert "no claim mentions 'xylophone'" in result.stderr
    assert "only 'PD-L1' would: in more than a fifth of the claims" in result.stderr


def test_export_says_what_it_leaves_out_and_refuses_a_limit_without_query():
    plain = runner.invoke(app, ["export", "--topic", "regimens", "--claims", CLAIMS])
    assert "2 regimen(s) the tool inferred itself are left out; add --with-inferred" in plain.stderr
    assert "`evidence export --with-inferred` includes them" in plain.stdout
    limited = runner.invoke(app, ["export", "--topic", "regimens", "-n", "2", "--claims", CLAIMS])
    assert limited.exit_code == 2 and "--limit counts the claims of --query" in limited.stderr


def test_the_index_is_rebuilt_when_the_lexicon_changes(tmp_path, monkeypatch):
    from evidence_cli import index, paths

    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_bytes(paths.LEXICON.read_bytes())
    monkeypatch.setattr(paths, "LEXICON", lexicon)
    before = index._index_name("abc")
    lexicon.write_bytes(lexicon.read_bytes() + b"\n# a curator's edit\n")
    assert index._index_name("abc") != before and before.endswith("-abc")


def test_the_lexicons_digest_is_remembered_and_still_follows_an_edit(tmp_path, monkeypatch):
    from evidence_cli import index, paths

    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_bytes(paths.LEXICON.read_bytes())
    monkeypatch.setattr(paths, "LEXICON", lexicon)
    root = tmp_path / "idx"
    root.mkdir()
    before = index._index_name("abc", "whoosh", root)
    assert before == index._index_name("abc")  # the same name, remembered or not
    assert str(lexicon.resolve()) in json.loads((root / "digests.json").read_text(encoding="utf-8"))
    lexicon.write_bytes(lexicon.read_bytes() + b"\n# a curator's edit\n")
    assert index._index_name("abc", "whoosh", root) == index._index_name("abc") != before


def test_a_query_on_a_fresh_tantivy_index_hashes_nothing(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from evidence_cli.cli import app\n"
        f"r = CliRunner().invoke(app, ['query', 'TIM-3', '--index-dir', {str(tmp_path)!r}, '-f', 'json', "
        "'--engine', 'tantivy'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('hashlib' in sys.modules)\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "True"  # built: the claims file and the lexicon were hashed
    assert again.stdout.strip() == "False"  # their digests were remembered: 2.5 ms of imports spared


@pytest.mark.parametrize(("text", "wrong"), [
    ("interferon-α", "wong2017-2.5-05"),   # an IFN-γ sentence: "interferon" alone is not interferon-α
    ("interleukin-12", "wong2017-2.2-04"),  # the IL-2/7/15/21 sentence
])
def test_part_of_a_name_is_not_the_name(index_dir, text, wrong):
    result = q(index_dir, text, "-f", "json", "-n", "10")
    assert wrong not in ids(result)


def test_a_prefix_keeps_most_of_the_word(index_dir):
    result = q(index_dir, "internal", "-f", "json")  # not "inter…": interleukin, interferon
    assert result.exit_code == 1 and "no claim mentions 'internal'" in result.stderr


def test_unicode_spellings_of_one_query_are_one_query(index_dir):
    plain = ids(q(index_dir, "PD-L1 naïve T cells", "-f", "json", "-n", "3"))
    decomposed = q(index_dir, "PD\u2011L1 nai\u0308ve T cells", "-f", "json", "-n", "3")  # non-breaking hyphen, i + ¨
    assert ids(decomposed) == plain and "no claim mentions" not in decomposed.stderr


def test_three_terms_never_two_together(index_dir):
    result = q(index_dir, "galectin melanoma interleukin", "-f", "json", "-n", "1")
    assert "together with ;" not in result.stderr
