"""The rows of the API's other commands than ``query`` (see evidence_cli.api, which gives them by name)."""

from __future__ import annotations

from dataclasses import dataclass

from evidence_cli.api import OMIT, Record

__all__ = ["Approval", "Biomarker", "CitationEntry", "Document", "Mechanism", "Regimen", "StoredClaim"]


@dataclass
class StoredClaim(Record):
    """One claim with every field of claims.yaml (``show``), and the ids of its neighbouring sentences."""

    id: str
    doc: str
    section: str
    text: str
    claims: list[str]
    neighbours: list[str]
    section_title: str = OMIT
    paragraph: int = OMIT
    kind: str = OMIT
    refs: list[int] = OMIT
    author_year: list[str] = OMIT
    context_refs: list[int] = OMIT
    context_from: list[str] = OMIT
    span: list[int] = OMIT
    pages: list[int] = OMIT
    entities: list[dict] = OMIT
    hedging: dict = OMIT
    tier: str = OMIT
    numbers: list[dict] = OMIT
    curated_fields: list[str] = OMIT
    orphaned: bool = OMIT
    edited_since_ingest: bool = OMIT


@dataclass
class Document(Record):
    doc: str
    claim_count: int
    source: str
    title: str = OMIT
    authors: list[str] = OMIT
    year: int = OMIT
    doi: str = OMIT
    licence: str = OMIT
    pages: int = OMIT
    reference_count: int = OMIT
    extracted: str = OMIT


@dataclass
class CitationEntry(Record):
    """One reference number of one document, with the claims printing it."""

    doc: str
    ref: int
    refs: list[int]
    claims: list[str]
    claim_count: int
    reference: dict = OMIT


@dataclass
class Approval(Record):
    doc: str
    kind: str
    drug: str  # the drug(s) as one label, with the assay and a hedge mark
    drugs: list[str]
    drug_details: list
    combination: bool
    indication: str
    year: int | None
    regulator: str
    claims: list[str]
    refs: list[int]
    context_refs: list[int]
    context_from: list[str]
    hedged: bool
    hedge_cues: list[str]
    text: str
    assay: str = OMIT
    indication_inferred_from: str = OMIT
    regulator_inferred_from: str = OMIT
    edited_claims: list[str] = OMIT


@dataclass
class Mechanism(Record):
    doc: str
    mechanism: str
    name: str
    type: str
    type_basis: str
    players: list[dict]
    claims: list[str]
    refs: list[int]
    hedged_claims: list[str]
    strategies: list[dict]
    no_strategy_note: str | None
    statements: list[dict]
    type_claims: list[str] = OMIT
    edited_claims: list[str] = OMIT


@dataclass
class Biomarker(Record):
    doc: str
    biomarker: str
    name: str
    gene: str | None
    claims: list[str]
    refs: list[int]
    numbers: list[dict]
    caveats: list[dict]
    statements: list[dict]
    edited_claims: list[str] = OMIT


@dataclass
class Regimen(Record):
    doc: str
    agents: list[str]
    basis: str
    basis_claim: str | None
    against: list[str]
    tier: str
    hedged: bool
    claims: list[str]
    refs: list[int]
    regimen_refs: list[int]  # the refs of its own claims, not of the mechanism claims it is linked to
    rationale: list[dict]
    numbers: list[str]
    inference: str = OMIT
    edited_claims: list[str] = OMIT
