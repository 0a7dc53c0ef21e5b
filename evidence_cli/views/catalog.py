"""The entity catalogue and the citation index."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from evidence_cli.errors import NotFoundError

if TYPE_CHECKING:
    from evidence_cli.lexicon import LexEntry


def _edited_since_ingest(c: dict) -> bool:
    from evidence_cli.store import edited_since_ingest  # not on a query's path: index records say it

    return edited_since_ingest(c)


def claim_row(c: dict) -> dict:
    """The fields every claim row carries in every output format."""
    row = {
        "id": c["id"],
        "doc": c["doc"],
        "section": c["section"],
        "section_title": c.get("section_title", ""),
        "kind": c.get("kind", ""),
        "tier": c.get("tier", ""),
        "text": c["text"],
        "refs": list(c.get("refs") or []),
        "author_year": list(c.get("author_year") or []),
        "context_refs": list(c.get("context_refs") or []),
        "context_from": list(c.get("context_from") or []),
        "hedged": (c.get("hedging") or {}).get("level", "none") != "none",
        "hedging": c.get("hedging") or {"level": "none", "cues": []},
        "entities": list(dict.fromkeys(e["id"] for e in c.get("entities") or [])),
        "claims": [c["id"]],
    }
    if c.get("pages"):
        row["pages"] = list(c["pages"])
    if c.get("curated_fields"):
        row["curated_fields"] = list(c["curated_fields"])  # shown: these values are a person's, not the tool's
    # an index record says it; a claim from the file is checked against its ingest stamp
    if c["edited_since_ingest"] if "edited_since_ingest" in c else _edited_since_ingest(c):
        row["edited_since_ingest"] = True
    if c.get("orphaned"):
        row["orphaned"] = True  # shown: the sentence is no longer in the source
    if "score" in c:
        row["score"] = c["score"]
    for key in ("matched", "unmatched", "nearby"):  # the query's terms the claim does and does not match
        if key in c:
            row[key] = c[key]
    if c.get("_highlights"):
        row["_highlights"] = c["_highlights"]
    return row


def row_claim_ids(row: dict) -> list[str]:
    """Every claim id a view row rests on: its ``claims``, and the ``claim`` of each linked item (strategies,
    rationale, caveats, numbers), each once."""
    ids = list(row.get("claims") or [])
    for value in row.values():
        if isinstance(value, list):
            ids += [x["claim"] for x in value if isinstance(x, dict) and isinstance(x.get("claim"), str)]
    return list(dict.fromkeys(ids))


def edit_note(row: dict) -> str | None:
    """"edited by hand: refs", when a person changed what ingest generated (see ``claim_row``)."""
    fields = ", ".join(row.get("curated_fields") or [])
    if row.get("edited_since_ingest"):
        return f"edited by hand: {fields}; more since the last ingest" if fields else "edited by hand since ingest"
    return f"edited by hand: {fields}" if fields else None


def edit_notes(claims: list[dict]) -> dict[str, str]:
    """{claim id: "edited by hand: ..."} for every claim a person changed (rows built from them say so)."""
    notes = {}
    for c in claims:
        note = edit_note(claim_row(c))
        if note:
            notes[c["id"]] = note
    return notes


def entity_record(e: LexEntry, count: int) -> dict:
    rec = {"id": e.id, "type": e.type, "label": e.label,
           "aliases": [a for a in dict.fromkeys((*e.aliases, *e.aliases_ci)) if a != e.label],
           "claim_count": count}
    if e.checkpoint:
        rec["checkpoint"] = e.checkpoint
    if e.type == "drug":
        rec.update({"brands": list(e.brands), "target": e.target, "drug_class": e.drug_class})
    return rec


def _in_source(claims: list[dict]) -> list[dict]:
    """Claims whose sentence is in the source (orphaned hand-edited claims are kept in the file, not shown)."""
    return [c for c in claims if not c.get("orphaned")]


def entity_catalogue(claims: list[dict]) -> list[dict]:
    counts: dict[str, int] = defaultdict(int)
    for c in _in_source(claims):
        for eid in {e["id"] for e in c.get("entities") or []}:
            counts[eid] += 1
    from evidence_cli.lexicon import lexicon

    lex = lexicon()
    rows = [entity_record(e, counts.get(e.id, 0)) for e in lex.values()]
    return rows + [{**record, "claim_count": counts.get(eid, 0)} for eid, record in sorted(_uncurated(claims).items())
                   if eid not in lex]


def _uncurated(claims: list[dict]) -> dict[str, dict]:
    """The names ingest tagged by their shape, not from the lexicon (``curated: false``: a drug by its INN stem,
    a gene-like symbol, an anti-X agent), by id, each as its first mention writes it."""
    found: dict[str, dict] = {}
    for c in _in_source(claims):
        for x in c.get("entities") or []:
            if x.get("curated", True) is False and x["id"] not in found:
                found[x["id"]] = {"id": x["id"], "type": x["type"], "label": x["text"], "aliases": [],
                                  "curated": False}
    return found


def entity_detail(name: str, claims: list[dict]) -> tuple[dict, list[dict]]:
    from evidence_cli.lexicon import find_entity

    e = find_entity(name)
    if e is not None:
        eid = e.id
    else:  # a name the corpus's claims were tagged with by its shape
        uncurated = _uncurated(claims)
        folded = name.strip().casefold()
        eid = name if name in uncurated else next(
            (i for i, r in uncurated.items() if folded in (i.casefold(), r["label"].casefold())), None)
        if eid is None:
            raise NotFoundError(f"no entity called {name!r}; list them with `evidence entities`")
    mentioned = [claim_row(c) for c in _in_source(claims) if any(x["id"] == eid for x in c.get("entities") or [])]
    record = entity_record(e, len(mentioned)) if e is not None else {**uncurated[eid], "claim_count": len(mentioned)}
    return record, mentioned


def reference_entries(documents: list[dict]) -> dict[tuple[str, int], dict]:
    """(document, number) -> the entry of that document's reference list, for documents whose list was read."""
    return {(d["id"], r["n"]): r for d in documents for r in d.get("references") or []}


def citation_index(claims: list[dict], documents: list[dict] = ()) -> list[dict]:
    """Every (document, reference number) with the claims that print it, and the reference-list entry where the
    document's list was read. A number belongs to its document: [6] of one review is not [6] of another."""
    by_ref: dict[tuple[str, int], list[str]] = defaultdict(list)
    for c in _in_source(claims):
        for r in c.get("refs") or []:
            by_ref[(c["doc"], r)].append(c["id"])
    order = {d["id"]: i for i, d in enumerate(documents)}
    entries = reference_entries(list(documents))
    rows = []
    for (doc, r), ids in sorted(by_ref.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0])):
        row = {"doc": doc, "ref": r, "refs": [r], "claims": ids, "claim_count": len(ids)}
        entry = entries.get((doc, r))
        if entry is not None:
            row["reference"] = entry
        rows.append(row)
    return rows


def claims_citing(ref: int, claims: list[dict], documents: list[dict] = ()) -> list[dict]:
    """The claims printing reference ``ref``, each with its document's entry for that number where known."""
    entries = reference_entries(list(documents))
    rows = []
    for c in _in_source(claims):
        if ref in (c.get("refs") or []):
            row = claim_row(c)
            if (c["doc"], ref) in entries:
                row["reference"] = entries[(c["doc"], ref)]
            rows.append(row)
    return rows


def single_source(claims: list[dict]) -> list[dict]:
    """Claims whose support is one reference number; ``sole`` when no other claim cites that reference."""
    index = {(row["doc"], row["ref"]): row["claim_count"] for row in citation_index(claims)}
    out = []
    for c in _in_source(claims):
        refs = c.get("refs") or []
        if len(refs) == 1:
            row = claim_row(c)
            row["sole_citation"] = index[(c["doc"], refs[0])] == 1
            out.append(row)
    return out
