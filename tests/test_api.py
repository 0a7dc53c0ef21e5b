"""The Python API: the same core as the CLI, typed objects whose fields are the JSON's keys."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from evidence_cli.api import Approval, Biomarker, Claim, Corpus, Mechanism, Regimen, StoredClaim
from evidence_cli.cli import app
from evidence_cli.errors import NotFoundError, UsageError
from tests.conftest import ROOT

runner = CliRunner()
CLAIMS = str(ROOT / "claims.yaml")


@pytest.fixture(scope="module")
def corpus(index_dir) -> Corpus:
    return Corpus(CLAIMS, index_dir)


def cli_json(index_dir, *args):
    result = runner.invoke(app, [*args, "--claims", CLAIMS, "-f", "json"],
                           env={"EVIDENCE_INDEX_DIR": index_dir})
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("call", "args", "kind"), [
    (lambda c: c.query("TIM-3 ligands", limit=5).hits, ["query", "TIM-3 ligands", "-n", "5"], Claim),
    (lambda c: c.query("pembrolizumab infusion", limit=3).hits, ["query", "pembrolizumab infusion", "-n", "3"], Claim),
    (lambda c: [c.show("wong2017-2.1-26")], ["show", "wong2017-2.1-26"], StoredClaim),
    (lambda c: c.refs(45), ["refs", "45"], Claim),
    (lambda c: c.refs(), ["refs"], None),
    (lambda c: c.single_source(), ["refs", "--single-source"], Claim),
    (lambda c: c.docs(), ["docs"], None),
    (lambda c: c.approvals(), ["approvals"], Approval),
    (lambda c: c.approvals("nivolumab"), ["approvals", "--drug", "nivolumab"], Approval),
    (lambda c: c.resistance(), ["resistance"], Mechanism),
    (lambda c: c.biomarkers(), ["biomarkers"], Biomarker),
    (lambda c: c.regimens(), ["regimens"], Regimen),
    (lambda c: c.regimens(against="tim3_upregulation"), ["regimens", "--against", "tim3_upregulation"], Regimen),
])
def test_the_apis_objects_are_the_clis_json(corpus, index_dir, call, args, kind):
    objects = call(corpus)
    assert objects
    if kind is not None:
        assert all(isinstance(o, kind) for o in objects)
    assert all(o.extra == {} for o in objects)  # every key of the JSON is a typed field
    assert [o.to_dict() for o in objects] == cli_json(index_dir, *args)


def test_query_result_carries_notes_coverage_and_readings(corpus):
    result = corpus.query("pembro infusion", limit=2)
    assert result.readings == {"pembro": "pembrolizumab"}
    assert "no claim mentions 'infusion'" in result.notes
    assert result.coverage == [{"term": "pembro", "claims": 14, "generic": False},
                               {"term": "infusion", "claims": 0, "generic": False}]
    assert result.hits[0].unmatched == ["infusion"]
    assert all(hit.id in result.highlights for hit in result.hits)


def test_typed_fields_read_like_the_json(corpus):
    hit = corpus.query("TIM-3 ligands", limit=1).hits[0]
    assert (hit.id, hit.refs, hit.context_refs) == ("wong2017-2.5-09", [], [44])
    regimen = corpus.regimens(against="tim3_upregulation")[0]
    assert (regimen.basis, regimen.basis_claim) == ("stated", "wong2017-2.5-17")


@pytest.mark.parametrize(("call", "error"), [
    (lambda c: c.query(""), UsageError),
    (lambda c: c.query("x", limit=0), UsageError),
    (lambda c: c.query("x", docs=["nope"]), UsageError),
    (lambda c: c.show("wong2017-9.9-99"), NotFoundError),
    (lambda c: c.refs(0), UsageError),
    (lambda c: c.regimens(against="nope"), UsageError),
    (lambda c: c.approvals(docs=["nope"]), UsageError),
])
def test_bad_arguments_raise_the_clis_errors(corpus, call, error):
    with pytest.raises(error):
        call(corpus)


def test_the_package_offers_the_api():
    import evidence_cli

    assert {"Corpus", "Claim", "Regimen", "QueryResult"} <= set(dir(evidence_cli))
    assert evidence_cli.Corpus is Corpus
    with pytest.raises(AttributeError):
        evidence_cli.nothing_here  # noqa: B018


@pytest.mark.parametrize("call", [
    lambda c: c.show(123), lambda c: c.query(None), lambda c: c.approvals(7), lambda c: c.verify(None),
    lambda c: c.query("x", refs="a"), lambda c: c.regimens(against=3),
])
def test_wrong_types_are_usage_errors_not_tracebacks(corpus, call):
    with pytest.raises(UsageError):
        call(corpus)


def test_a_filter_takes_one_value_or_several(corpus):
    one = [h.id for h in corpus.query("TIM-3", docs="wong2017", entities="HAVCR2", limit=3).hits]
    assert one == [h.id for h in corpus.query("TIM-3", docs=["wong2017"], entities=["HAVCR2"], limit=3).hits]
    assert not corpus.query("TIM-3", limit=1).hits[0].pages  # a text claim has no pages: OMIT is false


def test_no_results_in_json_is_an_empty_array(index_dir):
    result = runner.invoke(app, ["query", "zzqqxx", "-f", "json", "--claims", CLAIMS],
                           env={"EVIDENCE_INDEX_DIR": index_dir})
    assert result.exit_code == 1 and json.loads(result.stdout) == []
    result = runner.invoke(app, ["approvals", "--drug", "aspirin", "-f", "json", "--claims", CLAIMS])
    assert result.exit_code == 1 and json.loads(result.stdout) == []


def test_a_changed_claims_file_is_read_again(tmp_path):
    import shutil

    claims = tmp_path / "claims.yaml"
    shutil.copy(CLAIMS, claims)
    corpus = Corpus(claims, tmp_path / "ix")
    note = "> TIM-3 is bound by multiple ligands, including galectin-9, CEACAM-1, and high-mobility group box 1 " \
           "(HMGB-1).\n> — `wong2017-2.5-09`, no ref\n"
    assert [v.status for v in corpus.verify(note)] == ["ok"]
    assert corpus.query("galectin-9", limit=1).hits[0].id == "wong2017-2.5-09"
    text = claims.read_text(encoding="utf-8").replace("TIM-3 is bound by multiple ligands", "TIM-3 binds ligands")
    claims.write_text(text, encoding="utf-8")
    assert [v.status for v in corpus.verify(note)] == ["changed"]
    assert corpus.query("galectin-9", limit=1).hits[0].text.startswith("TIM-3 binds ligands")
