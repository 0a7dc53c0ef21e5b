"""Help as a glossary: what the output's words mean, the values options take, messages in words."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from tests.conftest import ROOT

runner = CliRunner()
CLAIMS = str(ROOT / "claims.yaml")


def test_glossary_explains_every_kind_tier_hedging_level_and_basis():
    from evidence_cli.query_plan import KINDS, TIERS
    from evidence_cli.views.domain import BASES

    result = runner.invoke(app, ["glossary", "-f", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    by_group: dict[str, set[str]] = {}
    for r in rows:
        assert r["meaning"]
        by_group.setdefault(r["group"], set()).add(r["term"])
    assert by_group["kind"] == set(KINDS)
    assert by_group["tier"] == set(TIERS)
    assert by_group["basis"] == set(BASES)
    assert by_group["hedging"] == {"none", "weak", "moderate", "strong"}
    assert {"context_refs", "refs", "matched / unmatched"} <= by_group["field"]


def test_sections_lists_what_section_takes():
    result = runner.invoke(app, ["sections", "--claims", CLAIMS, "-f", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["section"] for r in rows] == ["abstract", "keywords", "1", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6"]
    assert rows[4] == {"doc": "wong2017", "section": "2.2", "title": "PD-1", "claim_count": 33}


def test_resistance_list_names_the_mechanism_ids():
    from evidence_cli.views.domain import mechanism_rules

    result = runner.invoke(app, ["resistance", "--list", "-f", "json"])
    assert result.exit_code == 0
    assert [r["mechanism"] for r in json.loads(result.stdout)] == [m["id"] for m in mechanism_rules()["mechanisms"]]
    assert runner.invoke(app, ["resistance", "--list", "--doc", "x", "--claims", CLAIMS]).exit_code == 2


@pytest.mark.parametrize(("args", "message"), [
    (["query", "x", "-n", "abc"], "expects a whole number from 1 to 10,000, not 'abc'"),
    (["query", "x", "-n", "0"], "expects a whole number from 1 to 10,000, not '0'"),
    (["query", "x", "--ref", "-3"], "expects a whole number of 1 or more, not '-3'"),
    (["refs", "twelve"], "expects a whole number of 1 or more, not 'twelve'"),
    (["batch", "-n", "5000", "-"], "expects a whole number from 1 to 1,000, not '5000'"),
])
def test_numbers_are_asked_for_in_words(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_contradictory_export_options_are_a_usage_error():
    result = runner.invoke(app, ["export", "--topic", "all", "--query", "TIM-3", "--claims", CLAIMS])
    assert result.exit_code == 2
    assert "--topic all exports the whole summary" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("words", "offered"), [
    ("evidence regimens --against ", ["pdl1_upregulation", "tim3_upregulation", "mhc_loss",
                                      "insufficient_infiltration", "ifn_signalling_loss",
                                      "other_checkpoint_upregulation", "pten_loss", "wnt_beta_catenin",
                                      "tgfb_exclusion"]),
    ("evidence query x --kind tr", ["trial_result"]),
    ("evidence query x --tier phase", ["phase2", "phase1"]),
    ("evidence export --topic re", ["resistance", "regimens"]),
])
def test_completion_offers_the_values_an_option_takes(words, offered):
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = runner.invoke(app, [], prog_name="evidence",
                           env={"_EVIDENCE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert result.stdout.split() == offered


def test_help_states_the_bundled_corpus_scope():
    result = runner.invoke(app, ["--help"])
    assert "does not cover dosing, toxicity management or approvals after 2016" in " ".join(result.stdout.split())
