"""Domain views compared with the chapter, row by row."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from evidence_cli.cli import app
from evidence_cli.views import domain
from tests.conftest import ROOT

runner = CliRunner()
CLAIMS = str(ROOT / "claims.yaml")


def _rows(chapter_claims, fn, **kw):
    return fn(chapter_claims["claims"], **kw)


def _refs_on_claims(row, by_id):
    on_claims = {r for cid in row["claims"] for r in by_id[cid]["refs"]}
    return set(row["refs"]) <= on_claims


def test_approvals_row_by_row(chapter_claims, by_id):
    rows = _rows(chapter_claims, domain.approvals)
    got = [(r["kind"], r["drugs"], r["indication"], r["year"], r["regulator"], r["claims"], r["refs"],
            r["context_refs"]) for r in rows]
    ctx = [27, 28, 29, 30]
    assert got == [
        ("drug_approval", ["ipilimumab"], "melanoma", 2011, "FDA", ["wong2017-2.1-26"], [], [8]),
        ("drug_approval", ["nivolumab"], "melanoma", None, "FDA", ["wong2017-2.2-23"], [], ctx),
        ("drug_approval", ["nivolumab"], "non-small cell lung cancer", None, "FDA", ["wong2017-2.2-23"], [], ctx),
        ("drug_approval", ["pembrolizumab"], "melanoma", None, "FDA", ["wong2017-2.2-23"], [], ctx),
        ("drug_approval", ["pembrolizumab"], "non-small cell lung cancer", None, "FDA", ["wong2017-2.2-23"], [], ctx),
        ("drug_approval", ["nivolumab"], "renal cell carcinoma", None, "FDA", ["wong2017-2.2-24"], [], [31, 32]),
        ("drug_approval", ["nivolumab"], "Hodgkin’s lymphoma", None, "FDA", ["wong2017-2.2-24"], [], [31, 32]),
        ("drug_approval", ["nivolumab", "ipilimumab"], "melanoma", None, "FDA", ["wong2017-2.2-24"], [], [31, 32]),
        ("drug_approval", ["atezolizumab"], "urothelial carcinoma", 2016, "FDA", ["wong2017-2.3-15"], [], [37]),
        ("companion_diagnostic", ["atezolizumab"], "bladder cancer", None, "FDA",
         ["wong2017-2.3-14", "wong2017-2.4-12"], [38], []),
    ]
    # the regulator of "Nivolumab is additionally approved ..." is the tool's inference, and says where from
    assert rows[5]["regulator_inferred_from"] == "wong2017-2.2-23"
    assert "regulator_inferred_from" not in rows[0]
    # only 2.4-12 says "FDA-approved", of "the Ventana PD-L1 assay": joining it to the SP142 sentence is the tool's
    assert rows[-1]["regulator_inferred_from"] == "wong2017-2.4-12"
    assert rows[0]["drug_details"] == [{"inn": "ipilimumab", "brands": ["Yervoy"], "target": "CTLA-4",
                                        "drug_class": "CTLA-4 blocker"}]
    assert all(_refs_on_claims(r, by_id) for r in rows)


def test_approvals_filter_by_brand(chapter_claims):
    rows = _rows(chapter_claims, domain.approvals, drug="Tecentriq")
    assert {r["kind"] for r in rows} == {"drug_approval", "companion_diagnostic"}
    assert all("atezolizumab" in r["drugs"] for r in rows)


def test_resistance_row_by_row(chapter_claims, by_id):
    rows = _rows(chapter_claims, domain.resistance)
    got = {r["mechanism"]: (r["type"], r["type_basis"], [p["id"] for p in r["players"]], r["refs"],
                            [s["claim"] for s in r["strategies"]]) for r in rows}
    # "Adaptive immune resistance" is the heading of section 2.5, where these are described
    assert got["pdl1_upregulation"] == ("adaptive", "section heading", ["IFNG", "CD274", "CD80"], [36, 43],
                                        ["wong2017-2.6-08"])
    assert got["tim3_upregulation"][:4] == ("adaptive", "section heading", ["HAVCR2"], [45])
    assert got["tim3_upregulation"][4] == ["wong2017-2.5-17", "wong2017-2.6-09"]
    assert got["mhc_loss"] == ("acquired", "stated", ["MHC", "B2M"], [46], [])
    mhc = next(r for r in rows if r["mechanism"] == "mhc_loss")
    assert mhc["claims"] == ["wong2017-2.5-20", "wong2017-2.5-21", "wong2017-2.5-22"]
    assert mhc["no_strategy_note"] == "the document proposes no counter-strategy for this mechanism"
    # no claim calls it inherent: the tool infers it from "prerequisite" and says so
    assert got["insufficient_infiltration"][:2] == ("inherent", "inferred by the tool from the wording of these claims")
    infiltration = next(r for r in rows if r["mechanism"] == "insufficient_infiltration")
    assert infiltration["type_claims"] == ["wong2017-2.6-11"]
    # "acquired resistance" is said in 2.5-20 itself
    assert mhc["type_claims"] == ["wong2017-2.5-20", "wong2017-2.5-22"]
    assert all(_refs_on_claims(r, by_id) for r in rows)


def test_biomarkers_numbers_and_caveats(chapter_claims):
    rows = {r["biomarker"]: r for r in _rows(chapter_claims, domain.biomarkers)}
    assert [n["text"] for n in rows["ido_expression"]["numbers"]] == ["37.5%", "11.1%"]
    assert rows["ido_expression"]["refs"] == [41]
    assert "≥5%" in [n["text"] for n in rows["pdl1_expression"]["numbers"]]
    assert "wong2017-2.4-14" in [c["claim"] for c in rows["pdl1_expression"]["caveats"]]
    mmr = rows["mutational_load+mismatch_repair"]  # discussed in the same paragraph: one row
    assert mmr["name"] == "mutational load / mismatch repair"
    assert mmr["refs"] == [27, 28, 42]
    assert [n["text"] for n in mmr["numbers"]] == ["1 in 33"]
    assert [c["claim"] for c in rows["ido_expression"]["caveats"]] == ["wong2017-2.4-29"]
    cd8 = rows["cd8_infiltration"]
    assert {"wong2017-2.4-18", "wong2017-2.4-19", "wong2017-2.4-21"} <= set(cd8["claims"]) and cd8["refs"] == [40]


def test_regimens_basis_chain_and_order(chapter_claims, by_id):
    rows = _rows(chapter_claims, domain.regimens)
    first = rows[0]
    assert (first["basis"], first["agents"]) == ("reported", ["nivolumab", "CTLA-4 blocker (ipilimumab)"])
    assert first["claims"] == ["wong2017-2.2-24", "wong2017-2.2-25"]
    assert first["refs"] == [31, 32]
    assert first["numbers"] == ["~60%", "~11.5–22%"]
    proposed = next(r for r in rows if r["basis"] == "proposed" and "pdl1_upregulation" in r["against"])
    assert proposed["agents"] == ["PD-1 blocker (nivolumab, pembrolizumab)", "PD-L1 blocker (atezolizumab)"]
    assert proposed["rationale"][0]["claim"] == "wong2017-2.6-08"
    assert proposed["hedged"] is True
    inferred = [r for r in rows if r["basis"] == "inferred"]
    assert [r["agents"] for r in inferred] == [["PD-1 blocker", "avelumab"], ["PD-1 blocker", "durvalumab"]]
    assert all(r["inference"].startswith("inferred by the tool, not stated in the document") for r in inferred)
    assert all(r["claims"][-1] == "wong2017-2.3-17" for r in inferred)
    order = [domain._BASIS_ORDER[r["basis"]] for r in rows]
    assert order == sorted(order)
    for r in rows:
        assert _refs_on_claims(r, by_id)
        assert all(link["claim"] in by_id and by_id[link["claim"]]["text"] == link["text"] for link in r["rationale"])


def test_one_regimen_per_combination_and_mechanism_with_its_strongest_basis(chapter_claims):
    rows = _rows(chapter_claims, domain.regimens)
    tim3 = [r for r in rows if "tim3_upregulation" in r["against"]]
    # "Co-blockade of both TIM3 and PD-1 can prevent resistance [45]" and "PD-1/PD-L1 blockers combined with
    # investigational TIM-3 blockers" (a proposal) are one row; the statement names no data of its own, and the
    # animal-data sentence before it prints no reference, so nothing ties the two: "stated", per the statement
    assert len(tim3) == 1
    assert (tim3[0]["basis"], tim3[0]["basis_claim"]) == ("stated", "wong2017-2.5-17")
    assert {"wong2017-2.5-17", "wong2017-2.6-09"} <= set(tim3[0]["claims"])
    # data from patients only is "reported"; animal data is "preclinical"
    assert [r["basis"] for r in rows if "wong2017-2.2-29" in r["claims"]] == ["preclinical"]
    assert all(r["basis"] in domain.BASES for r in rows)


def test_a_summing_statement_takes_the_basis_of_the_data_it_cites(chapter_claims):
    import copy

    claims = copy.deepcopy(chapter_claims["claims"])
    by_id = {c["id"]: c for c in claims}
    by_id["wong2017-2.5-16"]["refs"] = [45]  # as if the animal-data sentence printed the statement's [45]
    tim3 = [r for r in domain.per_document(domain.regimens, claims) if "tim3_upregulation" in r["against"]]
    assert (tim3[0]["basis"], tim3[0]["basis_claim"]) == ("preclinical", "wong2017-2.5-16")
    roles = {link["claim"]: link["role"] for link in tim3[0]["rationale"]}
    assert roles["wong2017-2.5-16"] == "data it rests on"
    by_id["wong2017-2.5-16"]["hedging"] = {"level": "moderate", "cues": ["might"]}  # hedged data is no basis
    tim3 = [r for r in domain.per_document(domain.regimens, claims) if "tim3_upregulation" in r["against"]]
    assert tim3[0]["basis"] == "stated"


def test_export_leaves_the_tools_inferences_out_unless_asked():
    plain = runner.invoke(app, ["export", "--topic", "regimens", "--claims", CLAIMS])
    assert plain.exit_code == 0
    assert "(inferred)" not in plain.stdout and "inferred by the tool, not stated" not in plain.stdout
    asked = runner.invoke(app, ["export", "--topic", "regimens", "--with-inferred", "--claims", CLAIMS])
    assert "PD-1 blocker + avelumab (inferred)" in asked.stdout
    assert "inferred by the tool, not stated in the document" in asked.stdout


def test_regimens_against_a_mechanism_without_strategy(chapter_claims):
    assert _rows(chapter_claims, domain.regimens, against="mhc_loss") == []


@pytest.mark.parametrize("command", ["approvals", "resistance", "biomarkers", "regimens"])
def test_view_json_rows_carry_claims_and_refs(command):
    result = runner.invoke(app, [command, "--claims", CLAIMS, "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows
    assert all(isinstance(r["claims"], list) and isinstance(r["refs"], list) for r in rows)


def test_regimens_cli_errors_and_empty():
    bad = runner.invoke(app, ["regimens", "--against", "nope", "--claims", CLAIMS])
    assert bad.exit_code == 2
    assert "unknown mechanism 'nope'; choose from pdl1_upregulation" in bad.stderr
    none = runner.invoke(app, ["regimens", "--against", "mhc_loss", "--claims", CLAIMS])
    assert none.exit_code == 1
    assert none.stderr == "no regimen in the corpus matches --against mhc_loss\n"
    tree = runner.invoke(app, ["regimens", "--against", "tim3_upregulation", "--claims", CLAIMS])
    assert "wong2017-2.6-09" in tree.stdout and "← regimen statement" in tree.stdout


def test_views_name_the_claims_a_person_edited(tmp_path):
    """A curator's refs on an approval sentence: every view and the export say which claim was edited."""
    from typer.testing import CliRunner

    from evidence_cli.cli import app
    from tests.conftest import ROOT

    runner = CliRunner()
    text = (ROOT / "claims.yaml").read_text(encoding="utf-8")
    start = text.index("- id: wong2017-2.2-23\n")
    end = text.index("\n- id: ", start + 1)
    claims = tmp_path / "claims.yaml"
    claims.write_text(text[:start] + text[start:end].replace("  refs: []\n", "  refs: [99]\n", 1) + text[end:],
                      encoding="utf-8")
    args = ["--claims", str(claims)]
    rows = json.loads(runner.invoke(app, ["approvals", "-f", "json", *args]).stdout)
    marked = [r for r in rows if r.get("edited_claims")]
    assert marked and all(r["edited_claims"] == ["wong2017-2.2-23"] and "wong2017-2.2-23" in r["claims"]
                          for r in marked)
    assert all("wong2017-2.2-23" not in r["claims"] for r in rows if r not in marked)
    tsv = runner.invoke(app, ["approvals", "-f", "tsv", *args]).stdout.splitlines()
    note = "wong2017-2.2-23 (edited by hand since ingest)"
    assert tsv[0].endswith("\tedited_claims") and sum(line.endswith(f"\t{note}") for line in tsv) == len(marked)
    md = runner.invoke(app, ["export", "-t", "approvals", "-o", "-", *args]).stdout
    assert "| `wong2017-2.2-23` *(edited by hand since ingest)* |" in md  # the approvals table
    assert "| [99] | `wong2017-2.2-23` *(edited by hand since ingest)* |" in md  # the citation index
    untouched = json.loads(runner.invoke(app, ["approvals", "-f", "json"]).stdout)
    assert not any("edited_claims" in r for r in untouched)


REVIEW = """Mechanisms of resistance to immune checkpoint inhibitors

1. Overcoming resistance

Combining LAG-3 antibodies with PD-1 inhibitors may overcome resistance in patients whose tumours upregulate LAG-3 [5].
In a randomized phase III trial, relatlimab plus nivolumab improved progression-free survival to 10.1 months versus
4.6 months with nivolumab alone (hazard ratio 0.75) [6]. TIGIT inhibitors such as tiragolumab are being tested
together with PD-L1 inhibitors [7]. Oncolytic viruses combined with anti-PD-1 antibodies restored sensitivity to
checkpoint blockade in mouse models [8]. This approach reversed resistance to PD-1 inhibition in xenograft models [8].

2. Approvals

Pembrolizumab received FDA approval for hepatocellular carcinoma in 2018 [9]. The European Commission approved
nivolumab in combination with ipilimumab for the treatment of mesothelioma [10].
"""


def test_regimens_and_approvals_of_a_review_in_other_words(tmp_path):
    """Another review's checkpoints (LAG-3, TIGIT), agents (oncolytic viruses), combining words ("plus", "together
    with", "restored sensitivity"), approvals ("received FDA approval") and indications: before, one regimen of
    five was found, and nivolumab alone got an indication borrowed from the sentence before."""
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import approvals, regimens

    doc = tmp_path / "review.txt"
    doc.write_text(REVIEW, encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    claims = load_claims(tmp_path / "claims.yaml")["claims"]
    assert [(r["basis"], r["agents"], r["claims"], r["refs"], r["hedged"]) for r in regimens(claims)] == [
        ("reported", ["nivolumab", "ipilimumab"], ["review-2-02"], [10], False),  # an approval ranks first
        ("reported", ["relatlimab", "nivolumab"], ["review-1-02"], [6], False),
        ("preclinical", ["oncolytic viruses", "PD-1 blocker"], ["review-1-04", "review-1-05"], [8], False),
        ("proposed", ["LAG-3 blocker", "PD-1 blocker"], ["review-1-01"], [5], True),
        ("proposed", ["TIGIT blocker (tiragolumab)", "PD-L1 blocker"], ["review-1-03"], [7], False),
    ]
    assert [(r["drugs"], r["indication"], r["year"], r["regulator"], r["refs"]) for r in approvals(claims)] == [
        (["pembrolizumab"], "hepatocellular carcinoma", 2018, "FDA", [9]),
        (["nivolumab", "ipilimumab"], "mesothelioma", None, "EMA", [10]),
    ]


def test_an_inferred_regimen_under_the_treatment_the_review_names(tmp_path):
    """The tool's mechanism -> molecule -> agent chain takes the treatment a resistance arises under from the
    mechanism's claims ("anti-PD-1 therapy" here; it looked for the chapter's "PD-1 blockade" only)."""
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import regimens

    doc = tmp_path / "r.txt"
    doc.write_text("1. Resistance\n\nTumours upregulate PD-L1 in patients who relapse on anti-PD-1 therapy [1]. "
                   "Durvalumab blocks PD-L1 on tumour cells [2].\n", encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    rows = [r for r in regimens(load_claims(tmp_path / "claims.yaml")["claims"]) if r["basis"] == "inferred"]
    assert [(r["agents"], r["claims"], r["refs"], r["against"]) for r in rows] == [
        (["PD-1 blocker", "durvalumab"], ["r-1-01", "r-1-02"], [1, 2], ["pdl1_upregulation"])]
    assert rows[0]["inference"].startswith("inferred by the tool, not stated in the document: ")
    assert "raises PD-L1 under PD-1 blockade (r-1-01); durvalumab blocks PD-L1 (r-1-02)" in rows[0]["inference"]


def test_resistance_mechanisms_of_a_review_beyond_the_chapters_four(tmp_path):
    """Loss of interferon signalling (JAK1/JAK2) and the upregulation of other checkpoints (LAG-3), each with its
    claims, refs, players and a type read from the wording ("relapsed on", "progressing on"): the rules held only
    the chapter's four mechanisms, so this review had none."""
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import resistance

    doc = tmp_path / "r.txt"
    doc.write_text("1. Mechanisms\n\nLoss-of-function mutations in JAK1 and JAK2 were found in patients with melanoma "
                   "who relapsed on pembrolizumab [3]. Upregulation of LAG-3 on exhausted T cells was observed in "
                   "patients progressing on anti-PD-1 therapy [4].\n\n2. Overcoming resistance\n\nCombining LAG-3 "
                   "antibodies with PD-1 inhibitors may overcome resistance in tumours that upregulate LAG-3 [5].\n",
                   encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    rows = resistance(load_claims(tmp_path / "claims.yaml")["claims"])
    assert [(r["mechanism"], r["type"], r["claims"], r["refs"], [s["claim"] for s in r["strategies"]],
             [p["id"] for p in r["players"]]) for r in rows] == [
        ("ifn_signalling_loss", "acquired", ["r-1-01"], [3], [], ["JAK1", "JAK2"]),
        ("other_checkpoint_upregulation", "acquired", ["r-1-02"], [4], ["r-2-01"], ["LAG3"]),
    ]
    assert all(r["type_basis"] == "inferred by the tool from the wording of these claims" for r in rows)


def test_a_biomarkers_caveats_in_another_reviews_words(tmp_path):
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import biomarkers

    doc = tmp_path / "r.txt"
    doc.write_text("1. Predictive biomarkers\n\nPD-L1 expression predicts response to PD-1 blockers [1]. PD-L1 "
                   "expression is an imperfect biomarker, with conflicting results across assays [2].\n",
                   encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    (row,) = [r for r in biomarkers(load_claims(tmp_path / "claims.yaml")["claims"]) if r["biomarker"] ==
              "pdl1_expression"]
    assert [(c["claim"], c["refs"]) for c in row["caveats"]] == [("r-1-02", [2])]


def test_dual_blockade_names_the_molecules_as_the_lexicon_does(tmp_path):
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import regimens

    doc = tmp_path / "r.txt"
    doc.write_text("1. Strategies\n\nDual blockade of LAG3 and PD1 restored T cell function in mice [4].\n",
                   encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    rows = regimens(load_claims(tmp_path / "claims.yaml")["claims"])
    assert [(r["basis"], r["agents"], r["refs"]) for r in rows] == [
        ("preclinical", ["LAG-3 blocker", "PD-1 blocker"], [4])]


def test_other_agents_are_named_as_the_sentence_names_them(tmp_path):
    """An agent the rules have no class for is quoted from the sentence ("histone deacetylase inhibitors"), where a
    sentence names an agent; the chapter's six agents were phrases copied from it, with labels of the tool's own."""
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import regimens

    doc = tmp_path / "r.txt"
    doc.write_text("1. Strategies\n\nCombining PD-1 inhibitors with histone deacetylase inhibitors restored responses "
                   "in mice [2]. Such insight may help to rationally design combination immunotherapies that enhance "
                   "the efficacy of PD-1 blockers [3].\n", encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    rows = regimens(load_claims(tmp_path / "claims.yaml")["claims"])
    assert [(r["basis"], r["agents"], r["claims"]) for r in rows] == [
        ("preclinical", ["PD-1 blocker", "histone deacetylase inhibitors"], ["r-1-01"])]


def test_an_indication_the_lexicon_lacks_is_quoted_from_the_approval_sentence(tmp_path):
    """"approved ... for MSI-H solid tumours": the sentence names its indication, so it is not inferred from the
    sentence before (which gave "melanoma (inferred from ...)", a statement the corpus does not make)."""
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import approvals

    doc = tmp_path / "r.txt"
    doc.write_text("1. Approvals\n\nMany patients with melanoma relapse on PD-1 blockers [3]. Pembrolizumab was "
                   "approved by the FDA in 2017 for MSI-H solid tumours regardless of tissue of origin [4].\n",
                   encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    (row,) = approvals(load_claims(tmp_path / "claims.yaml")["claims"])
    assert (row["drugs"], row["indication"], row["year"], row["refs"], row["claims"]) == (
        ["pembrolizumab"], "MSI-H solid tumours", 2017, [4], ["r-1-02"])
    assert "indication_inferred_from" not in row


def test_one_agent_with_a_list_of_others_is_one_regimen_per_listed_agent(chapter_claims):
    """2.3-16 lists three kinds of agent atezolizumab is tested with, 2.2-30 two that PD-1 blockers are: one
    regimen each, not a four-agent regimen the chapter never states; and the LIGHT fusion regimen rests on the
    animal study its "In turn, this ..." sums up."""
    from evidence_cli.views.domain import regimens

    rows = regimens(chapter_claims["claims"])
    assert [r["agents"] for r in rows if r["basis_claim"] == "wong2017-2.3-16"] == [
        ["atezolizumab", "conventional cancer treatments"], ["atezolizumab", "small molecule drugs"],
        ["atezolizumab", "investigational immunotherapies"]]
    assert [r["agents"] for r in rows if r["basis_claim"] == "wong2017-2.2-30"] == [
        ["PD-1 blocker", "small molecule drugs"], ["PD-1 blocker", "vaccines or CAR T cells"]]
    (light,) = [r for r in rows if r["agents"][0] == "LIGHT-anti-EGFR fusion molecule"]
    assert (light["basis"], light["basis_claim"], light["refs"]) == ("preclinical", "wong2017-2.6-17", [48])


@pytest.mark.parametrize(("sentence", "agents", "basis"), [
    ("Tiragolumab might enhance the activity of atezolizumab in lung cancer [8].", ["tiragolumab", "atezolizumab"],
     "proposed"),
    ("Dual LAG-3 and PD-1 blockade may overcome resistance in these tumours [9].", ["LAG-3 blocker", "PD-1 blocker"],
     "proposed"),
    ("Vibostolimab is being tested with pembrolizumab in melanoma [15].", ["vibostolimab", "pembrolizumab"],
     "proposed"),
    ("An oncolytic virus sensitised the tumours to anti-PD-1 antibodies in mice [9].",
     ["oncolytic viruses", "PD-1 blocker"], "preclinical"),
    # a class set after a drug as what it is describes that drug; a drug the lexicon says blocks another
    # molecule is no example of the class ("atezolizumab" was shown as a TIGIT blocker)
    ("Tiragolumab, an anti-TIGIT antibody, might enhance the activity of atezolizumab in lung cancer [8].",
     ["tiragolumab", "atezolizumab"], "proposed"),
    # a class word inside a drug's name is that drug, not a third agent
    ("In a phase III trial, ipilimumab plus the gp100 vaccine improved survival to 10 months [2].",
     ["ipilimumab", "gp100_vaccine"], "reported"),
])
def test_combining_words_of_other_reviews(tmp_path, sentence, agents, basis):
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import regimens

    doc = tmp_path / "r.txt"
    doc.write_text(f"1. Combinations\n\n{sentence}\n", encoding="utf-8")
    ingest([doc], tmp_path / "claims.yaml", tag=tag_claims)
    assert [(r["agents"], r["basis"]) for r in regimens(load_claims(tmp_path / "claims.yaml")["claims"])] == [
        (agents, basis)]


def test_a_regimens_own_refs_are_told_apart_from_its_mechanisms(chapter_claims):
    """2.6-08 proposes PD-1 + PD-L1 blockers and prints no reference; [43] is the mechanism claim's (IFN-γ raises
    PD-L1). A reader of the export's table must not take [43] for the combination's source."""
    from evidence_cli.render.markdown import _regimen_refs
    from evidence_cli.views.domain import regimens

    (row,) = [r for r in regimens(chapter_claims["claims"]) if r["basis_claim"] == "wong2017-2.6-08"]
    assert (row["refs"], row["regimen_refs"]) == ([43], [])
    assert _regimen_refs(row) == "none; the mechanism's: [43]"
