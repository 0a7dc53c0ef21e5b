"""Citation files for reference managers (Zotero, Mendeley, EndNote, pandoc): BibTeX, CSL JSON and RIS.

A source document is written from its metadata; an entry of a document's reference list from what is printed
there (its text as a note, its DOI and PMID). Nothing is invented: a field the metadata lacks is left out, and a
reference entry's authors and title are not guessed from its text.
"""

from __future__ import annotations

import json
import re

FORMATS = ("bibtex", "csljson", "ris")


_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_GROUP = re.compile(r"\b(?:organi[sz]ation|committee|group|consortium|society|institute|association|agency|network|"
                    r"collaborat\w*|council|board|investigators|foundation|centre|center)\b", re.IGNORECASE)


def _name(full: str) -> dict:
    """{"family", "given"(, "suffix")} of "Given Family (Jr.)" or "Family, Given"; a name of one word or of more
    than four (an organisation, most likely) is kept whole as a CSL literal rather than split by guess."""
    full = " ".join(full.split())
    if "," in full and full.rsplit(",", 1)[1].strip().casefold() not in _SUFFIXES:
        family, given = (p.strip() for p in full.split(",", 1))
        return {"family": family, **({"given": given} if given else {})}
    parts = full.replace(",", "").split(" ")
    suffix = parts.pop() if len(parts) > 2 and parts[-1].casefold() in _SUFFIXES else None
    if len(parts) == 1 or len(parts) > 4 or _GROUP.search(full):
        return {"literal": full}
    *given_parts, family = parts
    return {"family": family, "given": " ".join(given_parts), **({"suffix": suffix} if suffix else {})}


def _person(a: dict, ris: bool = False) -> str:
    """A name as BibTeX writes it ("Family, Suffix, Given") or RIS ("Family, Given, Suffix"), or the literal name
    (braced in BibTeX by the caller)."""
    if "literal" in a:
        return a["literal"]
    order = (a["family"], a.get("given"), a.get("suffix")) if ris else (a["family"], a.get("suffix"), a.get("given"))
    return ", ".join(x for x in order if x)


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
        return {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}", "{": r"\textbraceleft{}",
                "}": r"\textbraceright{}"}.get(ch, "\\" + ch)

    return "{" + _BIBTEX_SPECIAL.sub(one, " ".join(str(value).split())) + "}"


class _Raw(str):
    """A BibTeX field value already escaped."""


def _key(item_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_:.-]", "_", item_id)


def bibtex(items: list[dict]) -> str:
    out = []
    for it in items:
        kind = {"chapter": "incollection", "article-journal": "article"}.get(it["type"], "misc")
        fields = []
        if it.get("author"):
            # escaped here: an organisation's name is braced, so BibTeX keeps it whole
            fields.append(("author", _Raw(" and ".join("{" + _bib(a["literal"])[1:-1] + "}" if "literal" in a
                                                       else _bib(_person(a))[1:-1] for a in it["author"]))))
        for csl, bib in (("title", "title"), ("container-title", "booktitle" if kind == "incollection" else
                                                                   "journal"), ("publisher", "publisher"),
                         ("DOI", "doi"), ("PMID", "pmid"), ("license", "copyright"), ("note", "note")):
            if it.get(csl):
                fields.append((bib, it[csl]))
        if it.get("issued"):
            fields.append(("year", str(it["issued"]["date-parts"][0][0])))
        body = ",\n".join(f"  {name} = " + ("{" + value + "}" if isinstance(value, _Raw) else _bib(value))
                           for name, value in fields)
        out.append(f"@{kind}{{{_key(it['id'])}" + (f",\n{body}\n" if body else "\n") + "}\n")
    return "\n".join(out)


def ris(items: list[dict]) -> str:
    out = []
    for it in items:
        lines = [("TY", {"chapter": "CHAP", "article-journal": "JOUR"}.get(it["type"], "GEN")), ("ID", it["id"])]
        lines += [("AU", _person(a, ris=True)) for a in it.get("author") or []]
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
