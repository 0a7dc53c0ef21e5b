"""Markdown for notes: claims quoted exactly, with claim ids and reference numbers."""

from __future__ import annotations


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


def escape(text: str) -> str:
    """Escape characters that markdown would turn into formatting inside a quoted claim."""
    out = text.replace("\\", "\\\\")
    for ch in "*_`<>|":
        out = out.replace(ch, "\\" + ch)
    return out


def claim_quote(row: dict) -> str:
    hedge = row.get("hedging") or {}
    mark = f" *(hedged: {', '.join(hedge.get('cues', []))})*" if hedge.get("level", "none") != "none" else ""
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
