"""Entities, hedging, kind, tier and numbers on real chapter sentences."""

from __future__ import annotations

import pytest

from evidence_cli.tagging import hedging, numbers, tag_claims


def ids(claim: dict) -> set[str]:
    return {e["id"] for e in claim["entities"]}


@pytest.mark.parametrize(
    ("cid", "expected"),
    [
        ("wong2017-2.5-09", {"HAVCR2", "LGALS9", "CEACAM1", "HMGB1"}),
        ("wong2017-2.5-10", {"HAVCR2", "BAG6", "t_cell"}),
        ("wong2017-2.2-13", {"PDCD1", "PI3K", "AKT", "t_cell"}),
        ("wong2017-2.1-19", {"ipilimumab"}),
        ("wong2017-2.3-17", {"CD274", "avelumab", "durvalumab"}),
        ("wong2017-2.5-21", {"MHC", "B2M", "melanoma", "pembrolizumab"}),
        ("wong2017-2.6-17", {"t_cell", "TNFSF14", "EGFR"}),
        ("wong2017-2.4-24", {"IDO1"}),
    ],
)
def test_entity_ids_on_chapter_sentences(by_id, cid, expected):
    assert ids(by_id[cid]) == expected


def test_entity_spans_point_at_the_mention(chapter_claims):
    for c in chapter_claims["claims"]:
        for e in c["entities"]:
            assert c["text"][e["start"]:e["end"]] == e["text"]


def test_ordinary_words_are_not_genes(by_id):
    # "light" never appears lower-case in the chapter; build a sentence and tag it for real
    from evidence_cli.tagging import entities, pipeline

    doc = pipeline()("The light met the trial; we met in the light of day. LIGHT binds HVEM.")
    assert [(e["text"], e["id"]) for e in entities(doc)] == [("LIGHT", "TNFSF14"), ("HVEM", "TNFRSF14")]


def test_every_claim_is_tagged(chapter_claims):
    for c in chapter_claims["claims"]:
        assert {"entities", "hedging", "kind", "tier", "numbers"} <= c.keys()


@pytest.mark.parametrize(
    ("text", "level", "cues"),
    [
        ("It remains to be seen if similar patterns are seen in other cancer types.", "strong",
         ["remains to be seen"]),
        ("CD8+ T cell infiltration into tumors might be predictive of clinical response.", "moderate", ["might"]),
        ("therapies could potentially improve tumor sensitivity", "moderate", ["could potentially"]),
        ("Subsequently, it was hypothesized that the patient harbored a defect.", "strong", ["it was hypothesized"]),
        ("TIM-3 appears to be co-expressed with PD-1.", "weak", ["appears to"]),
        ("CTLA-4 binds to CD80 and CD86 with ~10 times higher affinity than CD28 [2].", "none", []),
        ("These trial results led to US FDA approval of ipilimumab for melanoma in 2011.", "none", []),
    ],
)
def test_hedging(text, level, cues):
    assert hedging(text) == {"level": level, "cues": cues}


@pytest.mark.parametrize(
    ("cid", "kind", "tier"),
    [
        ("wong2017-2.1-26", "approval", "regulatory_approval"),
        ("wong2017-2.1-22", "trial_result", "randomized_phase3"),
        ("wong2017-2.2-22", "trial_result", "phase1"),
        ("wong2017-2.4-28", "biomarker", "clinical_observational"),
        ("wong2017-2.4-29", "open_question", "clinical_observational"),
        ("wong2017-2.6-08", "strategy", "hypothesis"),
        ("wong2017-2.5-16", "mechanism", "preclinical_animal"),
        ("wong2017-fig1", "figure", "review_statement"),
    ],
)
def test_kind_and_tier(by_id, cid, kind, tier):
    assert (by_id[cid]["kind"], by_id[cid]["tier"]) == (kind, tier)


@pytest.mark.parametrize(
    ("text", "section", "title", "kind"),
    [  # the heading, not the section's number, makes a biomarker claim of a sentence that says nothing more
        ("Tumors were sampled before the first dose.", "3.2", "Predictive biomarkers of response", "biomarker"),
        ("Tumors were sampled before the first dose.", "2.4", "Methods", "background"),
        ("Tumors were sampled before the first dose.", "2.4.1", "Study design", "background"),
    ],
)
def test_kind_follows_the_heading_not_the_section_number(text, section, title, kind):
    from evidence_cli.tagging import claim_kind

    assert claim_kind(text, section, "text", hedging(text), title) == kind


@pytest.mark.parametrize(
    ("text", "tier"),
    [  # the kinds of material a sentence names, in any review's words
        ("Studies of human lung tumors identified an interferon signature.", "clinical_observational"),
        ("Analyses of clinical biopsy specimens found few T cells.", "clinical_observational"),
        ("Patient-derived tumor samples were profiled.", "clinical_observational"),
        ("Xenograft models showed tumor regression.", "preclinical_animal"),
        ("In syngeneic models the combination was curative.", "preclinical_animal"),
        ("The in vivo mechanism of CTLA-4 blockade has remained elusive.", "review_statement"),
    ],
)
def test_tier_from_the_material_a_sentence_names(text, tier):
    from evidence_cli.tagging import evidence_tier

    assert evidence_tier(text, "mechanism", hedging(text)) == tier


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("were 10.9% in the ipilimumab group versus 1.5% in the gp100 vaccine group.",
         [("10.9%", "percent"), ("1.5%", "percent")]),
        ("only 1 in 33 colorectal cancer patients responded [27–28].", [("1 in 33", "ratio")]),
        ("defines ≥5% PD-L1-positive cells", [("≥5%", "threshold")]),
        ("survival of 10.4 months versus 6.4 months (Hodi 2010).",
         [("10.4 months", "duration"), ("6.4 months", "duration"), ("2010", "year")]),
        ("complete responses seen in ~11.5–22% of patients [31–32].", [("~11.5–22%", "percent_range")]),
        ("higher densities of CD8+/PD-1+ cells [40].", []),
        ("now collectively continuing in 500+ clinical trials.", [("500+", "count")]),
    ],
)
def test_numbers_are_quoted_exactly(text, found):
    assert [(n["text"], n["kind"]) for n in numbers(text)] == found


def test_query_path_and_help_do_not_import_spacy(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from evidence_cli.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0\n"
        f"r = CliRunner().invoke(app, ['query', 'TIM-3', '--index-dir', {str(tmp_path)!r}, '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        f"r = CliRunner().invoke(app, ['query', 'Keytruda', '--index-dir', {str(tmp_path)!r}, '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('spacy', 'thinc', 'pydantic')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_names_the_lexicon_lacks_are_tagged_by_shape_and_marked_uncurated():
    from evidence_cli.tagging import uncurated_entities

    text = "Olaparib with anti-CD86 lowered TMPRSS2 and ACE2 in MCF-7 cells, as a concept, except in 2016."
    got = [(e["id"], e["type"], e["curated"]) for e in uncurated_entities(text, [])]
    assert got == [("anti-CD86", "antibody", False), ("olaparib", "drug", False), ("TMPRSS2", "symbol", False),
                   ("ACE2", "symbol", False), ("MCF-7", "cell_line", False)]
    # a span the lexicon already tagged is left to it
    assert [e["id"] for e in uncurated_entities("ACE2 and TMPRSS2", [(0, 4)])] == ["TMPRSS2"]


def test_an_uncurated_drug_in_an_approval_sentence_is_an_approval_row(tmp_path):
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.views.domain import approvals

    doc = tmp_path / "r.txt"
    doc.write_text("Results\nThe FDA approved olaparib for melanoma in 2022.\n", encoding="utf-8")
    ingest([doc], tmp_path / "c.yaml", tag=tag_claims)
    rows = approvals(load_claims(tmp_path / "c.yaml")["claims"])
    assert [(r["drugs"], r["indication"], r["year"], r["drug_details"][0]["curated"]) for r in rows] == [
        (["olaparib"], "melanoma", 2022, False)]


def test_a_misspelt_symbol_of_ones_own_papers_is_corrected_towards_the_name_claims_were_tagged_with(tmp_path):
    import json

    from typer.testing import CliRunner

    from evidence_cli.cli import app
    from evidence_cli.ingest import ingest

    doc = tmp_path / "r.txt"
    doc.write_text("Results\nTMPRSS2 has two isoforms in lung cells.\nBoth isoforms bind the spike protein.\n",
                   encoding="utf-8")
    ingest([doc], tmp_path / "c.yaml", tag=tag_claims)
    args = ["--claims", str(tmp_path / "c.yaml"), "--index-dir", str(tmp_path / "idx"), "-f", "json"]
    result = CliRunner().invoke(app, ["query", "TMPRS2 isoforms", *args])
    assert result.exit_code == 0, result.stderr
    assert "note: searching 'tmprss2' for 'TMPRS2'" in result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["text"] == "TMPRSS2 has two isoforms in lung cells." and hits[0]["unmatched"] == []


def test_tagging_in_two_processes_gives_the_same_tags(chapter_claims):
    import copy

    from evidence_cli.tagging import tag_claims

    serial = copy.deepcopy(chapter_claims["claims"])
    parallel = copy.deepcopy(chapter_claims["claims"])
    tag_claims(serial, parallel_min=10**9)
    seen = []
    tag_claims(parallel, progress=lambda done, total: seen.append((done, total)), parallel_min=10)
    assert parallel == serial
    assert seen[-1] == (len(serial), len(serial))


def test_names_tagged_by_shape_can_be_looked_up_and_filtered_on(tmp_path):
    """`evidence entities TMPRSS2` and `--entity TMPRSS2` for a name the lexicon lacks but the claims were tagged
    with (both said "no entity called 'TMPRSS2'", while the README names TMPRSS2 as such a name)."""
    import json

    from typer.testing import CliRunner

    from evidence_cli.cli import app
    from evidence_cli.ingest import ingest

    doc = tmp_path / "r.txt"
    doc.write_text("Results\n\nTMPRSS2 primes the spike protein [1]. Camostat blocks TMPRSS2 in lung cells [2]. "
                   "ACE2 is the receptor [3]. The spike protein binds ACE2 [4].\n", encoding="utf-8")
    claims = tmp_path / "claims.yaml"
    ingest([doc], claims, tag=tag_claims)
    runner = CliRunner()
    base = ["--claims", str(claims)]
    listed = json.loads(runner.invoke(app, ["entities", "-f", "json", *base]).stdout)
    assert {"id": "TMPRSS2", "type": "symbol", "label": "TMPRSS2", "aliases": [], "curated": False,
            "claim_count": 2} in listed
    one = runner.invoke(app, ["entities", "tmprss2", "-f", "json", *base])
    assert one.exit_code == 0, one.stderr
    assert json.loads(one.stdout)["claims"] == ["r-s1-01", "r-s1-02"]
    index = ["--index-dir", str(tmp_path / "idx")]
    for args in (["query", "spike protein", "--entity", "TMPRSS2"], ["query", "entity:tmprss2 spike protein"]):
        result = runner.invoke(app, [*args, "-f", "json", *base, *index])
        assert result.exit_code == 0, result.stderr
        assert [h["id"] for h in json.loads(result.stdout)] == ["r-s1-01"]
    missing = runner.invoke(app, ["query", "spike", "--entity", "TMPRSS3", *base, *index])
    assert missing.exit_code == 2 and "unknown entity 'TMPRSS3'" in missing.stderr


@pytest.mark.parametrize(("text", "kind", "tier", "level", "cues"), [
    # research papers' own wording, which the chapter does not use
    ("Sipuleucel-T was among the first FDA-approved cancer immunotherapies [8].", "approval", "regulatory_approval",
     "none", []),
    ("Pembrolizumab received FDA approval for hepatocellular carcinoma in 2018 [9].", "approval",
     "regulatory_approval", "none", []),
    ("The FDA-approved assay defines a cut-off of 1%.", "biomarker", "review_statement", "none", []),  # not a drug
    ("We speculate that the ligands act on the promoter.", "mechanism", "hypothesis", "moderate", ["speculate"]),
    ("These results propose a novel role for dendritic cells.", "background", "review_statement", "weak",
     ["propose"]),
    ("Our data opens the possibility of new vaccines.", "background", "hypothesis", "moderate",
     ["opens the possibility"]),
    ("Further clinical studies are needed to confirm this.", "open_question", "hypothesis", "strong",
     ["Further clinical studies are needed"]),
    ("It was possible to detect the protein in all samples.", "background", "review_statement", "none", []),
    ("In a phase 3 trial, response rates were 40% [2].", "trial_result", "randomized_phase3", "none", []),
    ("In a phase 2b study, 12 of 40 patients responded [3].", "trial_result", "phase2", "none", []),
    ("Mouse models showed regression after 10 days.", "background", "preclinical_animal", "none", []),
    ("Nivolumab is being tested in clinical trials of glioma.", "background", "review_statement", "none", []),
    ("Lower doses reduced TMPRSS2 levels in MCF-7 cells.", "background", "in_vitro", "none", []),
    ("Th17 cells and CD8 cells expand.", "background", "review_statement", "none", []),  # cell types, not lines
])
def test_kind_tier_and_hedging_in_research_papers_words(text, kind, tier, level, cues):
    from evidence_cli.tagging import claim_kind, evidence_tier

    hedge = hedging(text)
    found = claim_kind(text, "s3", "text", hedge)
    assert (found, evidence_tier(text, found, hedge), hedge) == (kind, tier, {"level": level, "cues": cues})
