"""Citation files for reference managers (Zotero, Mendeley, EndNote, pandoc): BibTeX, CSL JSON and RIS.

A source document is written from its metadata; an entry of a document's reference list from what is printed
there (its text as a note, its DOI and PMID). Nothing is invented: a field the metadata lacks is left out, and a
reference entry's authors and title are not guessed from its text.
"""

from __future__ import annotations

import json
import re

FORMATS = ("bibtex", "csljson", "ris")


def _name(full: str) -> dict:
    """{"family", "given"} of "Given Family" or "Family, Given"; one word is a family name."""
    full = " ".join(full.split())
    if "," in full:
        family, given = (p.strip() for p in full.split(",", 1))
    else:
        *given_parts, family = full.split(" ")
        given = " ".join(given_parts)
    return {"family": family, **({"given": given} if given else {})}


def _kind(doc: dict) -> str:
    return "chapter" if doc.get("book") else ("article-journal" if doc.get("journal") else "document")


def document_entries(docs: list[dict]) -> list[dict]:
    """CSL JSON items of source documents (CSL is the model the other formats are written from)."""
    items = []
    for d in docs:
        item: dict = {"id": d["id"], "type": _kind(d)}
        if d.get("title"):
            item["title"] = d["title"]
        if d.get("authors"):
            item["author"] = [_name(a) for a in d["authors"]]
        if d.get("year"):
            item["issued"] = {"date-parts": [[int(d["year"])]]}
        for key, csl in (("book", "container-title"), ("journal", "container-title"), ("publisher", "publisher"),
                         ("doi", "DOI"), ("licence", "license")):
            if d.get(key):
                item[csl] = d[key]
        items.append(item)
    return items


def reference_entries(doc: dict, numbers: list[int]) -> list[dict]:
    """CSL JSON items of entries of a document's reference list: the text as printed (a note), DOI and PMID."""
    entries = {r["n"]: r for r in doc.get("references") or []}
    items = []
    for n in numbers:
        r = entries[n]
        item: dict = {"id": f"{doc['id']}-ref{n}", "type": "document", "note": r["text"],
                      "citation-label": f"[{n}] of {doc['id']}"}
        if r.get("doi"):
            item["DOI"] = r["doi"]
        if r.get("pmid"):
            item["PMID"] = str(r["pmid"])
        items.append(item)
    return items


def csljson(items: list[dict]) -> str:
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


_BIBTEX_SPECIAL = re.compile(r"([\\{}%&$#_^~])")


def _bib(value: str) -> str:
    """A BibTeX field value: TeX's special characters escaped, inside braces."""
    def one(m: re.Match) -> str:
        ch = m.group(1)
        return {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}"}.get(ch, "\\" + ch)

    return "{" + _BIBTEX_SPECIAL.sub(one, " ".join(str(value).split())) + "}"


def _key(item_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_:.-]", "_", item_id)


def bibtex(items: list[dict]) -> str:
    out = []
    for it in items:
        kind = {"chapter": "incollection", "article-journal": "article"}.get(it["type"], "misc")
        fields = []
        if it.get("author"):
            fields.append(("author", " and ".join(
                f"{a['family']}, {a['given']}" if a.get("given") else a["family"] for a in it["author"])))
        for csl, bib in (("title", "title"), ("container-title", "booktitle" if kind == "incollection" else
                                                                   "journal"), ("publisher", "publisher"),
                         ("DOI", "doi"), ("PMID", "pmid"), ("license", "copyright"), ("note", "note")):
            if it.get(csl):
                fields.append((bib, it[csl]))
        if it.get("issued"):
            fields.append(("year", str(it["issued"]["date-parts"][0][0])))
        body = ",\n".join(f"  {name} = {_bib(value)}" for name, value in fields)
        out.append(f"@{kind}{{{_key(it['id'])}" + (f",\n{body}\n" if body else "\n") + "}\n")
    return "\n".join(out)


def ris(items: list[dict]) -> str:
    out = []
    for it in items:
        lines = [("TY", {"chapter": "CHAP", "article-journal": "JOUR"}.get(it["type"], "GEN")), ("ID", it["id"])]
        lines += [("AU", f"{a['family']}, {a['given']}" if a.get("given") else a["family"])
                  for a in it.get("author") or []]
        for csl, tag in (("title", "TI"), ("container-title", "T2"), ("publisher", "PB"), ("DOI", "DO"),
                         ("note", "N1"), ("license", "C1")):
            if it.get(csl):
                lines.append((tag, " ".join(str(it[csl]).split())))
        if it.get("PMID"):
            lines.append(("AN", f"PMID:{it['PMID']}"))
        if it.get("issued"):
            lines.append(("PY", str(it["issued"]["date-parts"][0][0])))
        lines.append(("ER", ""))
        out.append("\n".join(f"{tag}  - {value}" for tag, value in lines) + "\n")
    return "\n".join(out)


def render(items: list[dict], fmt: str) -> str:
    return {"bibtex": bibtex, "csljson": csljson, "ris": ris}[fmt](items)
