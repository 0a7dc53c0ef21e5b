"""The words of the output, explained: claim kinds, evidence tiers, hedging levels, regimen bases and the fields a
row carries. `evidence glossary` prints them; the tests check that every kind, tier and basis the code can emit
is explained here."""

from __future__ import annotations

KINDS = {
    "approval": "a regulatory approval (FDA, EMA …) of a drug, combination or companion assay",
    "trial_result": "a result from a clinical trial: responses, survival, rates",
    "mechanism": "how a molecule, cell or drug works",
    "biomarker": "a marker that predicts or correlates with response",
    "resistance": "a way tumours resist or escape treatment",
    "strategy": "a way to counter resistance or improve treatment, often a combination",
    "background": "context that is none of the above",
    "open_question": "something the document says is unknown or needs study",
    "figure": "a figure or table caption",
    "keywords": "the document's keyword list",
}

TIERS = {
    "regulatory_approval": "the sentence reports an approval by a regulator",
    "randomized_phase3": "a randomised phase III trial",
    "phase2": "a phase II trial",
    "phase1": "a phase I trial",
    "clinical_trial": "a clinical trial of unstated phase",
    "clinical_observational": "observations in patients outside a named trial",
    "preclinical_animal": "animal models",
    "in_vitro": "cells or tissue in the laboratory",
    "hypothesis": "the document proposes or speculates",
    "review_statement": "a statement of the review that names no data of its own",
}

HEDGING = {
    "none": "stated as fact",
    "weak": "soft attribution (suggests, is thought to, likely)",
    "moderate": "modal speculation (may, might, could)",
    "strong": "unknown, hypothesised or unconfirmed (remains to be seen, not fully understood)",
}

FIELDS = {
    "refs": "the reference numbers printed in the sentence itself; 'no ref' when it prints none",
    "context_refs": "for a sentence without a marker: the refs of the nearest cited sentence of its paragraph, "
                    "offered as context, never mixed into refs",
    "author_year": "author-year citations printed in the sentence, e.g. Hodi 2010",
    "claims": "the claim ids a row rests on; `evidence show ID` prints each in full",
    "doc": "the document a claim or row comes from (`evidence docs`)",
    "matched / unmatched": "the query's terms a hit mentions and does not mention",
    "generic": "a query term found in more than a fifth of the claims, which tells them apart poorly",
    "basis_claim": "the claim that gives a regimen its basis",
    "regimen tier / hedged": "a regimen's best evidence tier among its own statements (not its mechanism's), and "
                             "whether any of them is hedged; each claim of its tree shows its own",
    "regimen_refs": "the refs of a regimen's own statements and data, without those of the mechanism claims it is "
                    "linked to (which its refs also list)",
    "inferred_from": "a value the tool took from elsewhere (a section title, a nearby sentence), with the claim",
    "edited_since_ingest": "a person changed the claim after ingest: the value is theirs, not the source's",
    "orphaned": "the sentence is no longer in the source; kept for its hand edits",
}


def glossary() -> list[dict]:
    """Every term as {group, term, meaning}, in a stable order."""
    from evidence_cli.views.domain import BASES

    groups = (("kind", KINDS), ("tier", TIERS), ("hedging", HEDGING), ("basis", BASES), ("field", FIELDS))
    return [{"group": group, "term": term, "meaning": meaning}
            for group, table in groups for term, meaning in table.items()]
