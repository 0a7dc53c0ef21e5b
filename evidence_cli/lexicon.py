"""The curated entity lexicon (data/lexicon.yaml): ids, types, aliases, drug targets. No spaCy here."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from evidence_cli.errors import DataError, Problem

ENTITY_TYPES = ("gene", "drug", "cancer", "cell_type", "cytokine", "assay", "biomarker")


@dataclass(frozen=True)
class LexEntry:
    id: str
    type: str
    label: str
    aliases: tuple[str, ...]
    aliases_ci: tuple[str, ...] = ()
    case_sensitive: bool = True
    checkpoint: str | None = None
    brands: tuple[str, ...] = ()
    target: str | None = None
    drug_class: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def all_aliases(self) -> tuple[str, ...]:
        return (self.label, *self.aliases, *self.aliases_ci)


def _load_lexicon_file(path: Path) -> dict[str, LexEntry]:
    """Parse and check the lexicon; every problem names the file and entry."""
    from evidence_cli.store import load_yaml_file

    data = load_yaml_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
        raise DataError(Problem(str(path), 1, "lexicon must be a mapping with an `entities:` list"))
    out: dict[str, LexEntry] = {}
    problems: list[Problem] = []
    for i, e in enumerate(data["entities"]):
        where = f"entities[{i}]"
        if not isinstance(e, dict) or not e.get("id") or e.get("type") not in ENTITY_TYPES:
            problems.append(Problem(str(path), None, f"{where}: needs id and a type in {', '.join(ENTITY_TYPES)}"))
            continue
        eid = str(e["id"])
        if eid in out:
            problems.append(Problem(str(path), None, f"{where}: duplicate id {eid!r}"))
            continue
        known = {"id", "type", "label", "aliases", "aliases_ci", "case_sensitive", "checkpoint", "brands", "target",
                 "drug_class"}
        out[eid] = LexEntry(
            id=eid,
            type=e["type"],
            label=str(e.get("label") or eid),
            aliases=tuple(str(a) for a in e.get("aliases") or ()),
            aliases_ci=tuple(str(a) for a in e.get("aliases_ci") or ()),
            case_sensitive=bool(e.get("case_sensitive", True)),
            checkpoint=e.get("checkpoint"),
            brands=tuple(str(b) for b in e.get("brands") or ()),
            target=e.get("target"),
            drug_class=e.get("drug_class"),
            extra={k: v for k, v in e.items() if k not in known},
        )
    for entry in out.values():
        if entry.target and entry.target not in out:
            problems.append(Problem(str(path), None, f"{entry.id}: target {entry.target!r} is not an entity id"))
    if problems:
        raise DataError(problems)
    return out


@cache
def shorthand(path: str | None = None) -> list[dict]:
    """The clinical shorthand of the lexicon (``shorthand:``): each short form with what it means and the phrases
    searched for it. A short form of one or two characters ("IO", "OS") is matched only as written; longer ones in
    any case, unless the entry says ``case_sensitive``."""
    from evidence_cli.paths import LEXICON
    from evidence_cli.store import load_yaml_file

    where = Path(path) if path else LEXICON
    data = load_yaml_file(where)
    entries = data.get("shorthand") if isinstance(data, dict) else None
    if entries is None:
        return []
    known = lexicon(path)
    names = {a.casefold() for e in known.values() for a in (e.id, *e.all_aliases, *e.brands)}
    out: list[dict] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, e in enumerate(entries if isinstance(entries, list) else [None]):
        where_i = f"shorthand[{i}]"
        shorts = e.get("short") if isinstance(e, dict) else None
        if not (isinstance(shorts, list) and shorts and all(isinstance(x, str) and x.strip() for x in shorts)
                and isinstance(e.get("means"), str) and e["means"].strip()):
            problems.append(Problem(str(where), None, f"{where_i}: needs `short:` (a list of short forms) and "
                                                      "`means:` (what they stand for)"))
            continue
        search = e.get("search", [e["means"]])
        if not (isinstance(search, list) and search and all(isinstance(x, str) and x.strip() for x in search)):
            problems.append(Problem(str(where), None, f"{where_i}: `search:` must be a list of phrases"))
            continue
        for short in shorts:
            if short.casefold() in names:
                problems.append(Problem(str(where), None, f"{where_i}: {short!r} is already an entity alias; "
                                                          "add it to that entity instead"))
            elif short.casefold() in seen:
                problems.append(Problem(str(where), None, f"{where_i}: {short!r} is listed twice"))
            seen.add(short.casefold())
            out.append({"short": short, "means": e["means"], "search": list(search),
                        "case_sensitive": bool(e.get("case_sensitive", len(short) <= 2))})
    if problems:
        raise DataError(problems)
    return out


def targets(lex: dict[str, LexEntry]) -> dict[str, list[str]]:
    """Each target (a gene) -> the drugs of the lexicon that target it, by id."""
    out: dict[str, list[str]] = {}
    for e in lex.values():
        if e.type == "drug" and e.target:
            out.setdefault(e.target, []).append(e.id)
    return out


@cache
def lexicon(path: str | None = None) -> dict[str, LexEntry]:
    """The curated lexicon, keyed by entity id (cached)."""
    from evidence_cli.paths import LEXICON

    return _load_lexicon_file(Path(path) if path else LEXICON)


def find_entity(name: str) -> LexEntry | None:
    """The entity an id, label, alias or brand names: exact match first, then case-insensitive."""
    lex = lexicon()
    if name in lex:
        return lex[name]
    folded = name.casefold().strip()
    exact = [e for e in lex.values() if name in e.all_aliases or name in e.brands]
    if exact:
        return exact[0]
    for e in lex.values():
        if folded == e.id.casefold() or any(folded == a.casefold() for a in (*e.all_aliases, *e.brands)):
            return e
    return None
