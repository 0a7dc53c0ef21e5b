"""Terminal trees of the domain views and the edit marks they show: the rendering cli.py picks for them."""

from __future__ import annotations


def mark_edited(rows: list[dict], notes: dict[str, str]) -> bool:
    """Give each view row ``edited_claims`` (the ids among its claims that a person changed, by ``notes`` from
    views.catalog.edit_notes) and ``edited_shown`` (id -> note, for trees); True if any row has one."""
    from evidence_cli.views.catalog import row_claim_ids

    for r in rows:
        r["edited_shown"] = {cid: notes[cid] for cid in row_claim_ids(r) if cid in notes}
        if r["edited_shown"]:
            r["edited_claims"] = list(r["edited_shown"])
            r["edited_claims_shown"] = "; ".join(f"{cid} ({note})" for cid, note in r["edited_shown"].items())
    return any(r.get("edited_claims") for r in rows)


def claim_line(cid: str, text: str, refs: list[int], hedged: bool, cues: list[str], row: dict) -> str:
    """One claim in a tree: id, the exact sentence, its refs, its hedge mark, and a person's edit."""
    note = (row.get("edited_shown") or {}).get(cid)
    from evidence_cli.api import hedge_mark

    mark = " " + hedge_mark(hedged, cues) if hedged else ""
    return f"{cid}  {text}  {refs_label(refs)}{mark}" + (f"  [{note}]" if note else "")


def resistance_tree(rows: list[dict]) -> None:
    from evidence_cli.render.table import tree

    for r in rows:
        children = [(claim_line(c["id"], c["text"], c["refs"], c["hedged"], c["hedging"]["cues"], r), [])
                    for c in r["statements"]]
        strategies = [claim_line(s["claim"], s["text"], s["refs"], s["hedged"], s["hedge_cues"], r)
                      for s in r["strategies"]]
        children.append(("counter-strategies", strategies or ["none in the corpus"]))
        tree(f"{r['name']} — {r['type_shown']}; players: {r['players_shown'] or 'none named'}", children)


def refs_label(refs: list[int]) -> str:
    return f"[{', '.join(map(str, refs))}]" if refs else "(no ref)"


def biomarker_tree(rows: list[dict]) -> None:
    from evidence_cli.render.table import tree

    for r in rows:
        by_id = {c["id"]: c for c in r["statements"]}
        numbered = list(dict.fromkeys(n["claim"] for n in r["numbers"]))
        reported = [f"{', '.join(n['text'] for n in r['numbers'] if n['claim'] == cid)} — "
                    + claim_line(cid, by_id[cid]["text"], by_id[cid]["refs"], by_id[cid]["hedged"],
                                  by_id[cid]["hedging"]["cues"], r) for cid in numbered]
        caveats = [claim_line(c["claim"], c["text"], c["refs"], by_id[c["claim"]]["hedged"],
                               by_id[c["claim"]]["hedging"]["cues"], r) for c in r["caveats"]]
        tree(f"{r['name']} — {len(r['claims'])} claims, refs {refs_label(r['refs'])}",
             [("numbers reported", reported or ["none reported"]), ("caveats", caveats or ["none stated"])])


def regimen_tree(rows: list[dict]) -> None:
    from evidence_cli.render.table import tree

    for r in rows:
        label = (f"{' + '.join(r['agents'])} — {r['basis']}"
                 + (f" (per {r['basis_claim']})" if r.get("basis_claim") else "")
                 + f", {r['tier']}" + (" (hedged)" if r["hedged"] else ""))
        links = [claim_line(x["claim"], x["text"], x["refs"], x["hedged"], x["hedge_cues"], r) + f"  ← {x['role']}"
                 for x in r["rationale"]]
        if r.get("inference"):
            links.append(r["inference"])
        if r.get("numbers"):
            links.append("numbers reported: " + "; ".join(r["numbers"]))
        tree(label, links)


def verdict_detail(r: dict) -> str:
    status = r["status"]
    if status == "changed":
        return f"now: {r['text']}" + (f" (the quoted text is now {r['now_claim']})" if r.get("now_claim") else "")
    if status == "refs differ":
        return f"quoted {r['refs_quoted']}, the claim's refs are {r['refs']}"
    if status == "hedge not marked":
        return "the claim is hedged; mark the quote *(hedged)*"
    if status == "unknown claim":
        return "no claim has this id" + (f"; the quoted text is {r['now_claim']}" if r.get("now_claim") else "")
    if status == "not a quote of any claim":
        return f"the claim says: {r['text']}"
    return r["quote"]
