"""Markdown for notes: claims quoted exactly, with claim ids and reference numbers."""

from __future__ import annotations

import re
from pathlib import Path

from evidence_cli.views.catalog import edit_note, edit_notes


def refs_note(row: dict) -> str:
    refs = row.get("refs") or []
    if refs:
        return "refs " + ", ".join(f"[{r}]" for r in refs)
    note = "no reference in the source"
    if row.get("author_year"):
        note = "cited as " + "; ".join(row["author_year"])
    if row.get("context_refs"):
        note += f" (context: {', '.join(f'[{r}]' for r in row['context_refs'])} from {', '.join(row['context_from'])})"
    return note


def escape(text: str, block: bool = True) -> str:
    """Escape what markdown would turn into formatting, links, images, headings or HTML inside a quoted claim;
    a line break stays inside the quote; control characters are shown as escapes."""
    from evidence_cli.render.machine import printable

    out = printable(text.replace("\r\n", "\n").replace("\r", "\n")).replace("\\", "\\\\")
    for ch in "*_`<>|":
        out = out.replace(ch, "\\" + ch)
    out = out.replace("](", "\\](")  # "[click](javascript:…)", "![img](http://…)": no link, no image ("[2]" stays)
    if not block:  # a field inside a line (a title, a DOI): nothing there can start a block
        return out.replace("\n", " ")
    lines = [_BLOCK_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], line) for line in out.split("\n")]
    return "\n> ".join(lines)  # a line break stays inside the quote, and starts no heading or list there


def claim_quote(row: dict) -> str:
    hedge = row.get("hedging") or {}
    cues = ", ".join(hedge.get("cues") or [])
    mark = (f" *(hedged: {cues})*" if cues else " *(hedged)*") if hedge.get("level", "none") != "none" else ""
    note = edit_note(row)
    if note:
        mark += f" *({note})*"
    if row.get("orphaned"):
        mark += " *(no longer in the source)*"
    return f"> {escape(row['text'])}\n>\n> — `{row['id']}` (§{row['section']}), {refs_note(row)}{mark}\n"


def claims_markdown(rows: list[dict], title: str) -> str:
    parts = [f"## {escape(title)}\n"]
    parts.extend(claim_quote(r) for r in rows)
    return "\n".join(parts)


def records_markdown(rows: list[dict], columns: list[tuple[str, str]], title: str) -> str:
    """A markdown table; lists are joined with commas, claim ids in code spans."""

    def cell(key: str, value: object) -> str:
        if isinstance(value, list):
            return ", ".join(f"`{v}`" if key == "claims" else escape(str(v)) for v in value)
        return escape("" if value is None else str(value))

    lines = [f"## {escape(title)}", "", "| " + " | ".join(h for _, h in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(k, r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("\n", " ") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _ids(ids: list[str]) -> str:
    return ", ".join(f"`{i}`" for i in ids)


def _refs(refs: list[int]) -> str:
    return ", ".join(f"[{r}]" for r in refs) or "none"


def _regimen_refs(row: dict) -> str:
    """A regimen's own refs, then those of the mechanism claims it is linked to, said apart."""
    own = row.get("regimen_refs", row["refs"])
    mechanism = [r for r in row["refs"] if r not in own]
    return _refs(own) + (f"; the mechanism's: {_refs(mechanism)}" if mechanism else "")


def _mermaid_label(text: str) -> str:
    return text.replace('"', "'").replace("[", "(").replace("]", ")")


# what would start a heading, a list item or a setext underline at the start of a quoted line ("# X", "- x",
# "2. x", "===="); the mark's last character is escaped ("2\\. x"), so "37.5%" stays as it is
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}(?=\s|$)|[-+*](?=\s)|\d{1,9}[.)](?=\s|$)|(?:=+|-+)(?=\s*$))")


def _inline(text: str) -> str:
    return escape(text, block=False)


def source_line(doc: dict) -> str:
    """A document's source as its metadata gives it: authors, title, book, publisher and year, DOI, licence; a
    field the metadata lacks is left out (never shown as empty punctuation)."""
    parts = []
    if doc.get("authors"):
        parts.append(_inline(", ".join(doc["authors"])))
    parts.append(f"*{_inline(doc['title'])}*" if doc.get("title") else f"`{doc['id']}`")
    if doc.get("book"):
        parts.append(f"In: {_inline(doc['book'])}")
    published = ", ".join(x for x in (_inline(doc.get("publisher", "")), str(doc.get("year") or "")) if x)
    if published:
        parts.append(published)
    if doc.get("doi"):
        parts.append(f"DOI {_inline(doc['doi'])}")
    if doc.get("licence"):
        parts.append(f"Licence: {_inline(doc['licence'])}")
    return ". ".join(p.rstrip(".") for p in parts) + "."


def export_markdown(title: str, sources: list[dict], sections: dict, claims_by_id: dict, stamp: str,
                    front_matter: dict | None = None) -> str:
    """The evidence summary: source, grouped quoted claims, approval and regimen tables, a Mermaid diagram of
    mechanism -> strategy -> regimen, and a citation index of everything quoted."""
    out = [f"# Evidence summary: {escape(title)}\n"]
    if len(sources) == 1:
        out.append(f"**Source:** {source_line(sources[0])}\n")
    else:
        out.append("**Sources:**\n\n" + "".join(f"- `{d['id']}`: {source_line(d)}\n" for d in sources))
    numbering = ("the document's own" if len(sources) == 1
                 else "each document's own (a number means the entry of that claim's document)")
    out.append(f"Generated by `evidence` from {stamp}. Statements are quoted exactly; reference numbers are "
               f"{numbering}, except where marked *(edited by hand)*. *(hedged: …)* marks a hedged statement.\n")
    used: set[str] = set()

    if "query" in sections:
        out.append(f"## Claims matching “{escape(sections['query']['text'])}”\n")
        for row in sections["query"]["rows"]:
            out.append(claim_quote(row))
            used.add(row["id"])
    if "claims" in sections:
        out.append("## Selected claims\n")
        for row in sections["claims"]:
            out.append(claim_quote(row))
            used.add(row["id"])
    if "approvals" in sections:
        out.append("## Regulatory approvals\n")
        rows = []
        for r in sections["approvals"]:
            what = " + ".join(r["drugs"]) + (f" ({r['assay']})" if r.get("assay") else "")
            if r.get("hedged"):
                what += f" (hedged: {', '.join(r['hedge_cues'])})" if r["hedge_cues"] else " (hedged)"
            reg = (r["regulator"] or "not stated") + (f" (inferred from `{r['regulator_inferred_from']}`)"
                                                      if r.get("regulator_inferred_from") else "")
            refs = _refs(r["refs"]) if r["refs"] else (
                "none in sentence" + (f"; context {_refs(r['context_refs'])}" if r["context_refs"] else ""))
            claims_cell = _ids_noted(r["claims"], r.get("edited_shown") or {})
            indication = r["indication"] or "not stated"
            if r.get("indication_inferred_from"):
                indication += f" (inferred from {r['indication_inferred_from']})"
            rows.append([r["kind"].replace("_", " "), escape(what), escape(indication),
                         str(r["year"] or ""), reg, claims_cell, refs])
            used.update(r["claims"])
        out.append(_table(["kind", "drug(s)", "indication", "year", "regulator", "claims", "refs"], rows))
        out.append("**The approval statements:**\n")
        for cid in dict.fromkeys(c for r in sections["approvals"] for c in r["claims"]):
            out.append(claim_quote(claim_row_from(claims_by_id[cid])))
    if "resistance" in sections:
        out.append("## Resistance mechanisms\n")
        for m in sections["resistance"]:
            type_note = {"stated": "", "section heading": " — type from the section heading"}.get(
                m["type_basis"], " — type inferred by the tool")
            out.append(f"### {escape(m['name'])} ({m['type']}{type_note})\n")
            out.append("Players: " + (", ".join(escape(p["label"]) for p in m["players"]) or "none named") + "\n")
            for row in m["statements"]:
                out.append(claim_quote(row))
                used.add(row["id"])
            if m["strategies"]:
                out.append("**Counter-strategies in the document:**\n")
                for s in m["strategies"]:
                    out.append(claim_quote(claim_row_from(claims_by_id[s["claim"]])))
                    used.add(s["claim"])
            else:
                out.append(f"**Counter-strategies:** {m['no_strategy_note']}.\n")
    if "biomarkers" in sections:
        out.append("## Predictive biomarkers\n")
        rows = []
        for b in sections["biomarkers"]:
            numbers = "; ".join(f"{escape(n['text'])} (`{n['claim']}`)" for n in b["numbers"]) or "none reported"
            caveats = _ids([c["claim"] for c in b["caveats"]]) or "none"
            rows.append([escape(b["name"]), numbers, _ids(b["claims"]), _refs(b["refs"]), caveats])
            used.update(b["claims"])
        out.append(_table(["biomarker", "numbers reported", "claims", "refs", "caveats"], rows))
        out.append("**The statements reporting the numbers, and the caveats:**\n")
        for cid in dict.fromkeys([*(n["claim"] for b in sections["biomarkers"] for n in b["numbers"]),
                                  *(c["claim"] for b in sections["biomarkers"] for c in b["caveats"])]):
            out.append(claim_quote(claim_row_from(claims_by_id[cid])))
            used.add(cid)
    if "regimens" in sections:
        out.append("## Combination regimens\n")
        rows = []
        for r in sections["regimens"]:
            rows.append([escape(" + ".join(r["agents"])), r["basis"], _ids([r["basis_claim"]] if r.get("basis_claim")
                                                                           else []) or "—",
                         r["tier"], ", ".join(r["against"]) or "—", _ids(r["claims"]), _regimen_refs(r)])
            used.update(r["claims"])
        out.append(_table(["regimen", "basis", "basis from", "tier", "against", "claims", "refs"], rows))
        if sections.get("regimens_left_out"):
            out.append(f"*{sections['regimens_left_out']} regimen(s) that the tool inferred itself (not stated in "
                       "the documents) are left out; `evidence export --with-inferred` includes them.*\n")
        for r in sections["regimens"]:
            out.append(f"### {escape(' + '.join(r['agents']))} ({r['basis']})\n")
            if r.get("inference"):
                out.append(f"*{escape(r['inference'])}.*\n")
            for link in r["rationale"]:
                out.append(claim_quote(claim_row_from(claims_by_id[link["claim"]])))
    if "resistance" in sections and "regimens" in sections:
        out.append("## Mechanism → strategy → regimen\n")
        lines = ["```mermaid", "flowchart LR"]
        for i, m in enumerate(sections["resistance"]):
            lines.append(f'  m{i}["{_mermaid_label(m["name"])}"]')
            for s in m["strategies"]:
                sid = s["claim"].replace(".", "_").replace("-", "_")
                lines.append(f'  m{i} --> {sid}["strategy stated in {s["claim"]}"]')
            if not m["strategies"]:
                lines.append(f'  m{i} --> none{i}["no counter-strategy in the document"]')
            for j, r in enumerate(sections["regimens"]):
                if m["mechanism"] in r["against"]:
                    lines.append(f'  m{i} -.-> r{j}["{_mermaid_label(" + ".join(r["agents"]))} ({r["basis"]})"]')
                    for cid in r["claims"]:
                        if cid in {s["claim"] for s in m["strategies"]}:
                            sid = cid.replace(".", "_").replace("-", "_")
                            lines.append(f"  {sid} --> r{j}")
        lines.append("```")
        out.append("\n".join(lines) + "\n")
    out.append("## Citation index\n")
    position = {cid: i for i, cid in enumerate(claims_by_id)}
    notes = edit_notes([claims_by_id[cid] for cid in used])
    several = len(sources) > 1
    for doc in sources:
        by_ref: dict[int, list[str]] = {}
        for cid in sorted(used, key=position.__getitem__):
            if claims_by_id[cid].get("doc") == doc["id"]:
                for ref in claims_by_id[cid].get("refs") or []:
                    by_ref.setdefault(ref, []).append(cid)
        if several:
            out.append(f"### `{doc['id']}`\n")
        entries = {r["n"]: r for r in doc.get("references") or []}
        if not entries:
            out.append(f"The bibliography of `{doc['id']}` is not part of the corpus: references are given by number "
                       "only.\n")
        if not by_ref:
            out.append("No claim used above prints a reference number.\n")
        elif entries:
            out.append(_table(["ref", "reference", "cited by"], [
                [f"[{ref}]", _entry(entries.get(ref)), _ids_noted(ids, notes)] for ref, ids in sorted(by_ref.items())]))
        else:
            out.append(_table(["ref", "cited by"], [[f"[{ref}]", _ids_noted(ids, notes)]
                                                     for ref, ids in sorted(by_ref.items())]))
    uncited = [cid for cid in used if not claims_by_id[cid].get("refs")]
    if uncited:
        out.append(f"{len(uncited)} claim(s) used above print no reference number of their own.\n")
    body = "\n".join(out)
    if front_matter is None:
        return body
    return yaml_front_matter(title, sources, sorted(used, key=position.__getitem__), front_matter) + body


def yaml_front_matter(title: str, sources: list[dict], claim_ids: list[str], generated: dict) -> str:
    """YAML front matter for note tools (Obsidian, Zotero's notes, static sites): title, date, the sources with
    their DOIs, and the ids of the claims the note quotes."""
    import yaml

    meta = {
        "title": f"Evidence summary: {title}",
        **generated,
        "sources": [{k: v for k, v in (("id", d["id"]), ("title", d.get("title")), ("authors", d.get("authors")),
                                       ("year", d.get("year")), ("doi", d.get("doi")), ("licence", d.get("licence")))
                     if v} for d in sources],
        "claims": claim_ids,
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n\n"


def _entry(entry: dict | None) -> str:
    """A reference-list entry as printed, for a table cell."""
    if entry is None:
        return "*not in the document's reference list*"
    doi = entry.get("doi")
    return escape(entry["text"]) + (f" DOI {escape(doi)}" if doi and doi not in entry["text"] else "")


def _ids_noted(ids: list[str], notes: dict) -> str:
    """Claim ids in backticks, each followed by its hand-edit note if it has one."""
    return ", ".join(f"`{cid}`" + (f" *({notes[cid]})*" if notes.get(cid) else "") for cid in ids)


def claim_row_from(claim: dict) -> dict:
    from evidence_cli.views.catalog import claim_row

    return claim_row(claim)


def summary(data: dict, sections: dict, title: str, claims_file: Path | None = None,
            front_matter: bool = False) -> str:
    """The markdown evidence summary of `export` and `-f markdown`: the sources, the sections, the front matter."""
    import hashlib

    from evidence_cli import __version__
    from evidence_cli.render.views import mark_edited

    notes = edit_notes(data["claims"])
    for name in ("approvals", "resistance", "biomarkers", "regimens"):
        if name in sections:
            mark_edited(sections[name], notes)

    stamp = "the claims file"
    sha = hashlib.sha256(claims_file.read_bytes()).hexdigest() if claims_file is not None else None
    if claims_file is not None:
        stamp = f"`{claims_file.name}` (sha256 {sha[:12]}…)"
    used = used_claims(sections)
    docs_used = {c["doc"] for c in data["claims"] if c["id"] in used}
    sources = [d for d in data["documents"] if d["id"] in docs_used] or data["documents"]
    generated = None
    if front_matter:
        import datetime

        generated = {"date": datetime.date.today(), "generator": f"evidence {__version__}"}
        if claims_file is not None:
            generated.update(claims_file=claims_file.name, claims_sha256=sha)
    return export_markdown(title, sources, sections, {c["id"]: c for c in data["claims"]}, stamp, generated)


def used_claims(value) -> set[str]:
    """Every claim id a view or query section of an export rests on (the "claims" lists, at any depth)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "claims" and isinstance(item, list) and all(isinstance(x, str) for x in item):
                found.update(item)
            elif key == "claims" and isinstance(item, list):
                found.update(x["id"] for x in item if isinstance(x, dict) and "id" in x)
            else:
                found |= used_claims(item)
    elif isinstance(value, list):
        for item in value:
            found |= used_claims(item)
    return found
