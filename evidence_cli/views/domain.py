"""Domain views derived by rules from the claims and the lexicon: approvals, resistance, biomarkers, regimens.

Nothing here is typed in as an answer: every row is built from claims (and lists their ids and refs), the
entity lexicon, and the reviewed rule file ``data/mechanisms.yaml``. Where the tool infers something itself
(a regulator named in the previous sentence, a mechanism's type, a regimen from mechanism -> target -> agent),
the row says so and shows the cited chain behind it.
"""

from __future__ import annotations

import itertools
import re
from functools import cache

from evidence_cli.lexicon import lexicon
from evidence_cli.views.catalog import claim_row

_FDA = re.compile(r"\bFDA\b|Food and Drug Administration")
_EMA = re.compile(r"\bEMA\b|European Medicines Agency|European Commission")
_COMBO = re.compile(r"in combination with (?P<what>.*?),?\s+for (?:treating|the treatment of) (?P<ind>[^.;]+)")
_APPOSITIVE = re.compile(r"(?:form|type|subtype|kind) of\s*$")
# an indication the sentence names in words the lexicon has no cancer for: "approved ... for MSI-H solid tumours"
_FOR_INDICATION = re.compile(
    r"\bapprov\w*\b[^.;]{0,60}?\bfor\s+(?:the\s+)?(?:treatment\s+of\s+|treating\s+)?(?:patients\s+with\s+)?"
    r"(?P<ind>(?:[\w+/-]+\s+){0,5}?(?:tumou?rs?|cancers?|carcinomas?|lymphomas?|leukaemias?|leukemias?|sarcomas?"
    r"|melanomas?|myelomas?|neoplasms?|diseases?))\b", re.I)


def per_document(view, claims: list[dict], **options) -> list[dict]:
    """Run a view on each document's claims apart and mark every row with its ``doc``: a row never joins
    claims (or reference numbers) of two documents, since [6] of one review is not [6] of another."""
    by_doc: dict[str, list[dict]] = {}
    for c in claims:
        by_doc.setdefault(c["doc"], []).append(c)
    rows = []
    for doc, doc_claims in by_doc.items():
        for row in view(doc_claims, **options):
            rows.append({"doc": doc, **row})
    return rows


def _live(claims: list[dict]) -> list[dict]:
    return [c for c in claims if not c.get("orphaned")]


def _ents(claim: dict, etype: str) -> list[dict]:
    """Mentions of one entity type, with their spans (mentions without a span, as a hand edit may leave them,
    are placed at the start)."""
    lex = lexicon()
    return [{"start": 0, "end": 0, **e} for e in claim.get("entities") or []
            if (e["id"] in lex and lex[e["id"]].type == etype)
            or (etype == "drug" and e.get("curated") is False and e.get("type") == "drug")]  # a drug by its INN stem


def _drug_info(inn: str) -> dict:
    e = lexicon().get(inn)
    if e is None:  # named by the document, found by its INN stem; the lexicon knows nothing more of it
        return {"inn": inn, "brands": [], "target": None, "drug_class": None, "curated": False}
    target = lexicon().get(e.target) if e.target else None
    return {"inn": inn, "brands": list(e.brands), "target": target.label if target else None,
            "drug_class": e.drug_class}


def _unique(items):
    return list(dict.fromkeys(items))


def _outcome(number: dict) -> bool:
    """A number that reports a result: not a year, and not a confidence level, interval bound or P value."""
    from evidence_cli.tagging import STATISTICS

    return number["kind"] != "year" and number["kind"] not in STATISTICS


def _refs_of(claims: list[dict]) -> list[int]:
    return sorted({r for c in claims for r in c.get("refs") or []})


# --------------------------------------------------------------------------- approvals

def approvals(claims: list[dict], drug: str | None = None, documents: list[dict] = ()) -> list[dict]:
    """Every regulatory approval the corpus states, one row per drug(s) and indication, plus companion
    diagnostics. ``refs`` are only those printed in the approval sentence; context is offered separately. An
    approval sentence that names no cancer takes its indication from its section's title (or a parent
    section's, from ``documents``) or the nearest sentence of its section naming one: labelled as inferred."""
    claims = _live(claims)
    outlines = {d["id"]: d.get("sections") or {} for d in documents}
    rows: list[dict] = []
    for i, c in enumerate(claims):
        if c.get("kind") != "approval":
            continue
        text = c["text"]
        drugs = _ents(c, "drug")
        cancers = [e for e in _ents(c, "cancer") if not _APPOSITIVE.search(text[: e["start"]])]
        years = _unique(n.get("value") for n in c.get("numbers") or [] if n["kind"] == "year" and n.get("value"))
        year = years[0] if len(years) == 1 else None  # several years in one sentence: not guessed per indication
        if _FDA.search(text):
            regulator, regulator_from = "FDA", None
        elif _EMA.search(text):
            regulator, regulator_from = "EMA", None
        else:
            regulator, regulator_from = _regulator_nearby(claims, i)
        combo = _COMBO.search(text)
        what = (combo.start("what"), combo.end("what")) if combo else (-1, -1)
        ind = (combo.start("ind"), combo.end("ind")) if combo else (-1, -1)

        def in_combo(e: dict, span: tuple[int, int] = what) -> bool:
            return span[0] <= e["start"] < span[1]

        def in_ind(e: dict, span: tuple[int, int] = ind) -> bool:
            return span[0] <= e["start"] < span[1]

        groups = _drug_groups(text, [e for e in drugs if not in_combo(e)])
        subjects = _unique(g[0] for g in groups if len(g) == 1)
        base = {"kind": "drug_approval", "year": year, "regulator": regulator, "claims": [c["id"]],
                "hedged": _hedged(c), "hedge_cues": list((c.get("hedging") or {}).get("cues") or []),
                "refs": list(c.get("refs") or []), "context_refs": list(c.get("context_refs") or []),
                "context_from": list(c.get("context_from") or []), "text": text}
        if regulator_from:
            base["regulator_inferred_from"] = regulator_from
        indications = [(_label(k), None) for k in _unique(e["id"] for e in cancers if not in_ind(e))]
        combo_named = combo is not None and any(in_ind(e) for e in cancers)  # the combination's own indication
        quoted = _FOR_INDICATION.search(text) if not cancers else None
        if not indications and quoted and (subjects or any(len(g) > 1 for g in groups)):
            indications = [(quoted.group("ind"), None)]  # in the sentence's words, never from another sentence
        if not indications and not combo_named and (subjects or any(len(g) > 1 for g in groups)):
            indications = [_indication_nearby(claims, i, outlines.get(c["doc"], {}))]  # its context, as an inference
        # "the nivolumab-relatlimab combination", "nivolumab plus ipilimumab": one row per group and indication
        for drugs_of_row in [[inn] for inn in subjects] + [g for g in groups if len(g) > 1]:
            for label, inferred_from in indications:
                rows.append({**base, "drugs": drugs_of_row, "combination": len(drugs_of_row) > 1,
                             "indication": label,
                             **({"indication_inferred_from": inferred_from} if inferred_from else {})})
        if combo:
            partners = _unique(e["id"] for e in drugs if in_combo(e))
            for k in _unique(e["id"] for e in cancers if in_ind(e)):
                rows.append({**base, "drugs": subjects + partners, "combination": True, "indication": _label(k)})
    rows.extend(_companion_diagnostics(claims))
    for r in rows:
        r["drug_details"] = [_drug_info(d) for d in r["drugs"]]
    if drug:
        from evidence_cli.lexicon import find_entity

        e = find_entity(drug)
        wanted = e.id if e else drug.lower()
        rows = [r for r in rows if wanted in r["drugs"]]
    return rows


_JOINER = re.compile(r"\s*(?:[-–+]|plus|with|and)\s*")
_COMBINATION_WORD = re.compile(r"^\s*(?:combinations?|regimens?|doublets?)\b", re.I)
_COMBINATION_OF = re.compile(r"(?:combinations? of|combining|both)\s*(?:the\s+)?$", re.I)


def _drug_groups(text: str, drugs: list[dict]) -> list[list[str]]:
    """The drugs of a sentence in the groups it gives them: joined by a hyphen or "+" ("nivolumab-ipilimumab"),
    "plus" or "with", or by "and" where the sentence calls them a combination ("the combination of X and Y",
    "X and Y combination"); other drugs stand alone. Drugs joined by "/" or "or" are alternatives, not a group."""
    mentions = sorted({e["start"]: e for e in drugs}.values(), key=lambda e: e["start"])
    groups: list[list[dict]] = []
    for e in mentions:
        if groups:
            prev = groups[-1][-1]
            between = text[prev["end"]: e["start"]]
            joined = _JOINER.fullmatch(between) is not None
            if joined and between.strip() == "and":
                joined = bool(_COMBINATION_WORD.match(text[e["end"]:])
                              or _COMBINATION_OF.search(text[: groups[-1][0]["start"]]))
            if joined and e["id"] not in {x["id"] for x in groups[-1]}:
                groups[-1].append(e)
                continue
        groups.append([e])
    return [_unique(x["id"] for x in g) for g in groups]


def _indication_nearby(claims: list[dict], i: int, outline: dict[str, str]) -> tuple[str | None, str | None]:
    """For an approval sentence that names no cancer: the cancer named by its section's title or a parent
    section's ("2. Melanoma" over "2.1 Historical context"), else by the nearest sentence of the same section
    that names exactly one, as (label, where); (None, None) when neither does."""
    c = claims[i]
    number = c["section"]
    titles = [(number, c.get("section_title", ""))]
    while "." in number:
        number = number.rsplit(".", 1)[0]
        if number in outline:
            titles.append((number, outline[number]))
    for number, title in titles:
        found = _cancers_named(title)
        if len(found) == 1:
            return _label(found[0]), f"the title of section {number} ({title})"
    order = [*range(i - 1, max(-1, i - 5), -1), *range(i + 1, min(len(claims), i + 3))]
    for j in order:
        other = claims[j]
        if other["doc"] != c["doc"] or other["section"] != c["section"] or other.get("kind") == "figure":
            continue
        cancers = _unique(e["id"] for e in _ents(other, "cancer"))
        if len(cancers) == 1:
            return _label(cancers[0]), other["id"]
    return None, None


def _cancers_named(text: str) -> list[str]:
    """The lexicon's cancers a heading names (its aliases as whole words, in the lexicon's case rules)."""
    found = []
    for e in lexicon().values():
        if e.type != "cancer":
            continue
        for alias in (*e.aliases, *e.aliases_ci):
            flags = 0 if e.case_sensitive and alias in e.aliases else re.IGNORECASE
            if re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", text, flags):
                found.append(e.id)
                break
    return found


def _label(eid: str) -> str:
    return lexicon()[eid].label


def _regulator_nearby(claims: list[dict], i: int) -> tuple[str | None, str | None]:
    """An approval sentence that names no regulator ("is additionally approved"): if the previous approval
    sentence of the same paragraph names the FDA, say so, as an inference that shows where it came from."""
    c = claims[i]
    for prev in reversed(claims[max(0, i - 3) : i]):
        same = prev["section"] == c["section"] and prev.get("paragraph") == c.get("paragraph")
        if same and prev.get("kind") == "approval" and _FDA.search(prev["text"]) and not _hedged(prev):
            return "FDA", prev["id"]
    return None, None


def _companion_diagnostics(claims: list[dict]) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for c in claims:
        if re.search(r"companion diagnostic|FDA-approved", c["text"]):
            for e in _ents(c, "assay"):
                groups.setdefault(e["id"], []).append(c)
    rows = []
    for assay, cs in groups.items():
        cs = list({c["id"]: c for c in cs}.values())
        fda = [c["id"] for c in cs if _FDA.search(c["text"])]
        row = {
            "kind": "companion_diagnostic", "assay": _label(assay),
            "drugs": _unique(e["id"] for c in cs for e in _ents(c, "drug")),
            "combination": False,
            "indication": ", ".join(_unique(_label(e["id"]) for c in cs for e in _ents(c, "cancer"))),
            "year": None,
            "regulator": "FDA" if fda else None,
            "hedged": any(_hedged(c) for c in cs),
            "hedge_cues": _unique(q for c in cs for q in (c.get("hedging") or {}).get("cues") or []),
            "claims": [c["id"] for c in cs], "refs": _refs_of(cs), "context_refs": [], "context_from": [],
            "text": " ".join(c["text"] for c in cs),
        }
        if fda and len(fda) < len(cs):  # the sentences were joined by the tool (same assay in the lexicon)
            row["regulator_inferred_from"] = ", ".join(fda)
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- resistance

@cache
def mechanism_rules() -> dict:
    from evidence_cli.paths import PACKAGE_DATA
    from evidence_cli.store import load_yaml_file

    return load_yaml_file(PACKAGE_DATA / "mechanisms.yaml")


def _matches(rule: dict, claim: dict) -> bool:
    if rule.get("or_words") and re.search(rule["or_words"], claim["text"], re.IGNORECASE):
        return True
    ids = {e["id"] for e in claim.get("entities") or []}
    if not set(rule.get("all_entities") or []) <= ids:
        return False
    if rule.get("any_entities") and not ids & set(rule["any_entities"]):
        return False
    return bool(re.search(rule["words"], claim["text"], re.IGNORECASE))


def _in_scope(claim: dict, rules: dict) -> bool:
    """A claim about resistance: under a heading about resistance, biomarkers or counter-strategies (by its
    words, never its number), or itself about resistance, or a figure caption."""
    return (claim.get("kind") in ("figure", "resistance")
            or bool(re.search(rules["scope_titles"], claim.get("section_title", ""), re.IGNORECASE)))


def resistance(claims: list[dict]) -> list[dict]:
    """The resistance mechanisms a document describes, each with its claims, refs, players, type and the
    counter-strategies it links to it (or a plain statement that it gives none)."""
    rules = mechanism_rules()
    counter = re.compile(rules["counter_words"], re.IGNORECASE)
    rows = []
    for rule in rules["mechanisms"]:
        matched = [c for c in _live(claims) if _in_scope(c, rules) and _matches(rule, c)]
        if not matched:
            continue
        strategies = [c for c in matched if c.get("kind") == "strategy" or (
            c.get("kind") != "figure" and counter.search(c["text"]) and c.get("kind") != "open_question")]
        described = [c for c in matched if c not in strategies]
        mtype, type_basis, type_claims = _mechanism_type(rule, matched, rules["type_cues"])
        players = _unique(e["id"] for c in matched for e in c.get("entities") or [] if e["id"] in
                          rule.get("players_from", []))
        rows.append({
            "mechanism": rule["id"], "name": rule["name"], "type": mtype, "type_basis": type_basis,
            "type_claims": type_claims,
            "players": [{"id": p, "label": _label(p)} for p in players],
            "claims": [c["id"] for c in described], "refs": _refs_of(described),
            "hedged_claims": [c["id"] for c in described if (c.get("hedging") or {}).get("level", "none") != "none"],
            "strategies": [{"claim": c["id"], "text": c["text"], "refs": list(c.get("refs") or []),
                            "hedged": (c.get("hedging") or {}).get("level", "none") != "none",
                            "hedge_cues": list((c.get("hedging") or {}).get("cues") or [])} for c in strategies],
            "no_strategy_note": None if strategies else "the document proposes no counter-strategy for this mechanism",
            "statements": [claim_row(c) for c in described],
        })
    return rows


def _mechanism_type(rule: dict, matched: list[dict], cues: dict) -> tuple[str, str, list[str]]:
    """The type and how it is known: a claim says the word, the section heading says it, or the tool infers it
    from wording cues (and says which claims)."""
    types = ("acquired", "adaptive", "inherent")
    for mtype in types:
        said = [c["id"] for c in matched if re.search(rf"\b{mtype}\b", c["text"], re.IGNORECASE)]
        if said:
            return mtype, "stated", said
    for mtype in types:
        # only a heading about that kind of resistance ("Adaptive immune resistance"), not e.g. "Strategies to
        # counteract adaptive resistance", which names the topic of the strategies, not of each mechanism
        under = [c["id"] for c in matched if re.match(rf"{mtype}\b.*resistance", c.get("section_title", ""), re.I)]
        if under:
            return mtype, "section heading", under
    for mtype in types:
        cued = [c["id"] for c in matched if re.search(cues[mtype], c["text"], re.IGNORECASE)]
        if cued:
            return mtype, "inferred by the tool from the wording of these claims", cued
    return rule["default_type"], "inferred by the tool (no claim names the type)", []


# --------------------------------------------------------------------------- biomarkers

# what limits a biomarker, in the words reviews use for it
_CAVEAT = re.compile(r"\bhowever\b|not sufficient|insufficient|variabilit|challenging|not been established|confounding|"
                     r"transient|yet to|remains to be seen|warrants further|\blimit(?:ed|ation|ations)\b|inconsistent|"
                     r"conflicting|heterogene|\bnot (?:always |reliably )?predict|fail(?:s|ed)? to predict|imperfect|"
                     r"\bcaveats?\b|\bpitfalls?\b|no (?:standard|consensus)|\bdiscordan", re.IGNORECASE)


def biomarkers(claims: list[dict]) -> list[dict]:
    """Each biomarker with the claims about it, the numbers they report and their caveats.

    In a section about biomarkers, a biomarker's claims are the whole paragraphs that discuss it (the data and
    the caveats around a mention belong to it); elsewhere, only sentences that mention it and report numbers or
    are about biomarkers. Biomarkers discussed in exactly the same claims are one row."""
    lex = lexicon()
    live = _live(claims)
    rows: list[dict] = []
    for e in lex.values():
        if e.type != "biomarker":
            continue
        related = {e.id, *e.extra.get("related", [])}
        mentions = [c for c in live if related & {x["id"] for x in c.get("entities") or []}]
        paragraphs = {(c["section"], c.get("paragraph")) for c in mentions
                      if "biomarker" in c.get("section_title", "").lower() and e.id in _ids(c)}
        about = [c for c in live if (c["section"], c.get("paragraph")) in paragraphs
                 or (c in mentions and e.id in _ids(c) and (c.get("numbers") or c.get("kind") == "biomarker"))]
        if not about:
            continue
        same = next((r for r in rows if r["claims"] == [c["id"] for c in about]), None)
        if same is not None:
            same["name"] += f" / {e.label}"
            same["biomarker"] += f"+{e.id}"
            continue
        rows.append({
            "biomarker": e.id, "name": e.label, "gene": e.extra.get("gene"),
            "claims": [c["id"] for c in about], "refs": _refs_of(about),
            "numbers": [{"text": n["text"], "kind": n["kind"], "claim": c["id"]} for c in about
                        for n in c.get("numbers") or [] if _outcome(n)],
            "caveats": [{"claim": c["id"], "text": c["text"], "refs": list(c.get("refs") or [])} for c in about
                        if _CAVEAT.search(c["text"]) or c.get("kind") == "open_question"],
            "statements": [claim_row(c) for c in about],
        })
    return rows


def _ids(claim: dict) -> set[str]:
    return {x["id"] for x in claim.get("entities") or []}


# --------------------------------------------------------------------------- regimens

# A checkpoint class is named by its molecules, from the lexicon: "PD-1 blockers", "anti-LAG-3 antibodies", "PD-1/PD-L1
# inhibitors", "PD-L1 blockade immunotherapy" ("PD-1 blockade" alone is left out: reviews use it for the treatment a
# resistance arises under, "resistance to PD-1 blockade"). Then the field's other kinds of agent.
_CLASS_WORDS = (r"(?:blockers?|blocking (?:monoclonal )?antibod(?:y|ies)|inhibitors?|(?:monoclonal )?antibod(?:y|ies)"
                r"|mAbs?|blockade (?:immuno)?therapy|(?:immuno)?therapy)")
_CLASSES = (
    (r"(?i)\bimmune checkpoint (?:blockers?|inhibitors?)", "immune checkpoint blocker"),
    (r"(?i)\bchemotherapy\b|\bchemotherapies\b", "chemotherapy"),
    (r"(?i)\bradiation\b|\bradiotherapy\b", "radiation"),
    (r"(?i)\bvaccines?\b", "vaccines"),
    (r"(?i)chimeric antigen receptor T cells|\bCAR[- ]T(?:[- ]cells?)?\b", "CAR T cells"),
    (r"(?i)small molecule (?:drugs|inhibitors)", "small molecule drugs"),
    (r"(?i)\boncolytic virus(?:es)?\b|\boncolytic virotherapy\b", "oncolytic viruses"),
)
# any other agent, named as the sentence names it: up to four words before a head noun of treatment ("other
# adjunctive therapies", "gene-modified human mesenchymal stem cells (MSCs)", "LIGHT-anti-EGFR fusion molecule"), or
# the head with what it does ("therapies that promote T cell trafficking")
_AGENT_HEAD = (r"(?:therap(?:y|ies)|treatments?|immunotherap(?:y|ies)|drugs|agents|molecules?|inhibitors|vaccines"
               r"|viruses|stem cells|antibod(?:y|ies))")
_AGENT_PHRASE = re.compile(
    rf"(?P<mods>(?:[A-Za-z][\w+/-]*\s+){{1,4}}){_AGENT_HEAD}\b(?:\s*\([A-Za-z][\w-]{{1,12}}\))?"
    rf"|\b{_AGENT_HEAD}\s+that\s+(?:promote|enhance|increase|improve|restore|target|block|inhibit|induce)s?"
    rf"(?:\s+[\w+-]+){{1,4}}?(?=\s+(?:to|in|into|of|and|or|could|can|may|might|would|will)\b|[,.;])")
GENERIC = "immune checkpoint blocker"


class _Checkpoints:
    """The lexicon's checkpoint molecules as agent names: each name (label or alias) -> its label, each label -> its
    id, and the patterns of a class ("PD-1/PD-L1 blockers") and of a treatment ("resistance to PD-1 blockade")."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        for e in lexicon().values():
            if e.checkpoint:
                self.ids[e.label] = e.id
                for name in (e.label, *e.aliases):
                    if " " not in name:
                        self.labels.setdefault(name, e.label)
        self.known = frozenset(self.labels.values())
        names = "|".join(re.escape(n) for n in sorted(self.labels, key=len, reverse=True))
        self.classes = re.compile(rf"(?<![\w-])(?:anti-)?(?P<a>{names})(?:\s?/\s?(?:anti-)?(?P<b>{names}))?"
                                  rf"(?:[\s-]+{_CLASS_WORDS})(?![\w-])")
        self.treatments = re.compile(rf"(?<![\w-])(?:anti-)?(?P<a>{names})(?:\s?/\s?(?P<b>{names}))?[\s-]+"
                                     rf"(?:blockade|blockers?|inhibitors?|inhibition|(?:immuno)?therapy"
                                     rf"|antibod(?:y|ies))(?![\w-])")

    def named(self, m: re.Match) -> list[str]:
        """The labels of the molecules a match of either pattern names, each once."""
        return list(dict.fromkeys(self.labels[g] for g in (m.group("a"), m.group("b")) if g))


@cache
def _checkpoints() -> _Checkpoints:
    return _Checkpoints()


def _agent_phrases(text: str) -> list[tuple[int, int, str]]:
    """Other agents as the text names them (see _AGENT_PHRASE): the modifiers before the head keep from the first
    word that is no function word, number or -ing form on; a phrase with none is too vague to be an agent, one
    followed by its examples ("treatments like ...") leaves the agents to them, and one must follow a word an
    agent's name follows (_AGENT_BEFORE), a comma or the sentence's start."""
    from evidence_cli.query_plan import function_words

    common = function_words()
    out = []
    for m in _AGENT_PHRASE.finditer(text):
        if re.match(r"\s*,?\s*(?:like|such as|including|e\.g\.)\s", text[m.end():]):
            continue  # "conventional treatments like chemotherapy and radiation": the examples are the agents
        start = m.start()
        if m.group("mods"):
            words = list(re.finditer(r"\S+", m.group("mods")))
            keep = 0
            for k, w in enumerate(words):
                if w.group().casefold() in common or w.group().endswith("ing") or w.group()[:1].isdigit():
                    keep = k + 1
            if keep == len(words):
                continue
            start = m.start() + words[keep].start()
        before = text[:start].rstrip()
        last = re.search(r"(\w+)$", before)
        if before and not before.endswith((",", ";", ":")) and not (last and last.group(1).casefold() in _AGENT_BEFORE):
            continue  # named as an agent: after "with", "and", "on", "this", ..., not "to rationally design ..."
        out.append((start, m.end(), text[start:m.end()]))
    return out


# the words an agent's name follows in a sentence ("combined with X", "X and Y", "research on X", "this X")
_AGENT_BEFORE = frozenset("with plus and or on of in this these such other the a an both".split())


def _class_mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of each kind of agent the text names: checkpoint classes by their molecules' labels
    ("PD-1/PD-L1 blocker"), then the other kinds, then other agents as the text names them."""
    checkpoints = _checkpoints()
    found = [(m.start(), m.end(), "/".join(checkpoints.named(m)) + " blocker")
             for m in checkpoints.classes.finditer(text)]
    for rx, label in _CLASSES:
        for m in re.finditer(rx, text):
            if not any(a <= m.start() < b for a, b, _ in found):
                found.append((m.start(), m.end(), label))
    for a, b, label in _agent_phrases(text):
        if not any(x < b and a < y for x, y, _ in found):  # a class or checkpoint inside it is that arm
            found.append((a, b, label))
    return found


def _base_therapies(text: str) -> list[tuple[str, frozenset[str], str]]:
    """The checkpoint treatments a sentence names, blockade included ("resistance to PD-1 blockade"), as (the
    words as written, the lexicon ids of the molecules blocked, the class label "PD-1 blocker")."""
    checkpoints = _checkpoints()
    out = []
    for m in checkpoints.treatments.finditer(text):
        named = checkpoints.named(m)
        out.append((m.group(0), frozenset(checkpoints.ids[n] for n in named), "/".join(named) + " blocker"))
    return out


def _is_checkpoint_class(name: str) -> bool:
    """"PD-1 blocker", "PD-1/PD-L1 blocker", "immune checkpoint blocker": a class of checkpoint agents."""
    known = _checkpoints().known
    return name == GENERIC or (name.endswith(" blocker") and all(
        part in known for part in name.removesuffix(" blocker").split("/")))


_CO_BLOCKADE = re.compile(r"\b(?:co-?blockade|dual blockade|combined blockade|simultaneous blockade) of (?:both )?"
                          r"(\S+) and (\S+?)(?=[\s,.]|$)|\b(?:dual|combined|simultaneous) (\S+) and (\S+) blockade\b",
                          re.I)
_LIKE_CLAUSE = re.compile(r"^Like [^,]+,")
# a sentence about the one before: "This approach", "These combinations", "In turn, this"
_ANAPHOR = re.compile(r"(?:[A-Z][a-z]+(?: [a-z]+){0,2}, )?(?:this|these)\b", re.I)
_PROPOSED = re.compile(r"\b(?:might|may|could|would|strategy|being tested|conducting research)\b", re.I)
_REPORTED = re.compile(r"\b(?:induced|showed?|shown|demonstrated|prevented|can prevent|responses)\b", re.I)
_COMBINING = re.compile(
    r"combin|co-?blockade|(?:dual|simultaneous) blockade|synergi|fus(?:ed|ion)|\bplus\b|together with"
    r"|\badd(?:ed|ing)? to\b|\b(?:tested|given|administered|studied|evaluated) (?:together )?with\b|sensiti[sz]"
    r"|\b(?:prevent|overc[oa]m|revers|restor|circumvent)\w*\s+(?:\w+\s+){0,3}?(?:resistance|sensitivity)"
    r"|\b(?:improv|enhanc|increas)\w*\s+(?:the\s+)?(?:\w+\s+){0,2}?(?:efficacy|sensitivity|activity|responses?)",
    re.I)
# Basis of a regimen, strongest first: data from patients; data from animals or cells; a statement of the document
# that names no data; a proposal; the tool's own inference. A regimen's basis is its strongest claim's.
BASES = {
    "reported": "data from patients: a trial, an approval or clinical observation",
    "preclinical": "data from animal models or cells",
    "stated": "the document states it works, without naming the data in that passage",
    "proposed": "the document suggests it (could, might, a strategy)",
    "inferred": "the tool's own mechanism -> target -> agent chain, not stated in the document",
}
_BASIS_ORDER = {b: n for n, b in enumerate(BASES)}
_PATIENT_TIERS = frozenset(("regulatory_approval", "randomized_phase3", "phase2", "phase1", "clinical_trial",
                            "clinical_observational"))
_LAB_TIERS = frozenset(("preclinical_animal", "in_vitro"))
_TRIAL_WORDS = re.compile(r"\b(?:trials?|randomly assigned|randomi[sz]ed|phase (?:I|II|III|1|2|3)\b)", re.I)


def _arms(claim: dict) -> list[dict]:
    """Agents named in a sentence: drug classes (with the drugs given as examples) and drugs."""
    text = claim["text"]
    like = _LIKE_CLAUSE.match(text)  # "Like nivolumab and pembrolizumab PD-1 blockers, atezolizumab ...": a comparison
    skip_to = like.end() if like else 0
    drugs = sorted((e for e in _ents(claim, "drug") if e["start"] >= skip_to), key=lambda e: e["start"])
    arms: list[dict] = []
    used: set[int] = set()
    # a class word inside a drug's name is that drug ("gp100 vaccine"), and a class set after a drug as what it is
    # ("Tiragolumab, an anti-TIGIT antibody, ...") describes that drug: neither is an arm of its own
    found = sorted(x for x in _class_mentions(text) if x[0] >= skip_to
                   and not any(d["start"] < x[1] and x[0] < d["end"] for d in drugs)
                   and not any(_APPOSED.fullmatch(text, d["end"], x[0]) for d in drugs))
    lex = lexicon()
    for n, (start, end, label) in enumerate(found):
        stop = min(end + 60, found[n + 1][0] if n + 1 < len(found) else len(text))
        examples = []
        if re.match(r"\s*(?:such as|like|e\.g\.|,)", text[end:]):
            for e in drugs:
                if end <= e["start"] < stop and _may_be_example(lex.get(e["id"]), label):
                    examples.append(e["id"])
                    used.add(e["start"])
        arms.append({"agent": label, "examples": examples, "at": start, "_start_text": start, "_end_text": end})
    m = _CO_BLOCKADE.search(text)
    if m:
        labels = _checkpoints().labels
        for name in filter(None, m.groups()):
            label = f"{labels.get(name, name)} blocker"  # the lexicon's name for it: "TIM3" is TIM-3
            if not any(a["agent"] == label for a in arms):
                arms.append({"agent": label, "examples": [], "at": m.start()})
    # drugs joined by "or" / "/" are alternatives: one arm
    for e in drugs:
        if e["start"] in used:
            continue
        prev = arms[-1] if arms and arms[-1]["agent"] == "drug" else None
        if prev and re.fullmatch(r"\s*(?:or|/)\s*", text[prev["_end"]: e["start"]]):
            prev["examples"].append(e["id"])
            prev["_end"] = e["end"]
        else:
            arms.append({"agent": "drug", "examples": [e["id"]], "at": e["start"], "_end": e["end"]})
    arms.sort(key=lambda a: a["at"])
    # "treatments like chemotherapy and radiation": examples of one kind of agent, so one arm ("X or Y")
    merged: list[dict] = []
    for a in arms:
        prev = merged[-1] if merged else None
        if (prev and prev["agent"] != "drug" and a["agent"] != "drug" and "_end_text" in prev
                and re.fullmatch(r"\s*(?:and|or)\s*", text[prev["_end_text"]: a["at"]])
                and re.search(r"(?:like|such as)\s*$", text[: prev["_start_text"]])):
            prev["agent"] = f"{prev['agent']} or {a['agent']}"
            prev["_end_text"] = a.get("_end_text", prev["_end_text"])
            continue
        merged.append(a)
    arms = merged
    out = []
    for a in arms:
        name = " or ".join(a["examples"]) if a["agent"] == "drug" else a["agent"]
        out.append({"agent": name, "examples": a["examples"] if a["agent"] != "drug" else [],
                    "_span": (a["at"], a.get("_end_text", a.get("_end", a["at"])))})
    return out


_TOGETHER = re.compile(r"\bplus\b|together with|combined|combination|\+", re.I)


def _alternatives(text: str, arms: list[dict]) -> list[list[dict]]:
    """One checkpoint arm with a list of other agents ("atezolizumab ... in combination with conventional
    treatments, small molecule drugs and other investigational immunotherapies"): one combination per listed
    agent, as the sentence states them, not one regimen of all; agents joined by "plus" stay together."""
    checkpoint = _checkpoint_agents(arms)
    core = [a for a in arms if a["agent"] in checkpoint]
    others = [a for a in arms if a not in core]
    if len(core) != 1 or len(others) < 2:
        return [arms]
    spans = sorted(a["_span"] for a in others)
    if any(_TOGETHER.search(text[a_end:b_start]) for (_, a_end), (b_start, _) in itertools.pairwise(spans)):
        return [arms]
    return [[*core, other] if core[0]["_span"] < other["_span"] else [other, *core] for other in others]


def _is_combination(arms: list[dict]) -> bool:
    """Two distinct checkpoint arms (the generic "immune checkpoint blocker" does not count beside a specific
    one), or a checkpoint arm with another kind of agent."""
    names = {a["agent"] for a in arms}
    checkpoint = _checkpoint_agents(arms)
    other = names - checkpoint
    specific = checkpoint - {GENERIC}
    return len(specific) >= 2 or (bool(other) and bool(checkpoint))


_APPOSED = re.compile(r",\s+(?:an?|the)\s+")  # "Tiragolumab, an anti-TIGIT antibody"


def _may_be_example(drug, label: str) -> bool:
    """Whether a drug after a class ("PD-1 blockers, nivolumab ...") can be one of its examples: not when the class
    names checkpoint molecules and the lexicon says the drug blocks another ("anti-TIGIT antibody, ...
    atezolizumab" is no TIGIT blocker)."""
    checkpoints = _checkpoints()
    if drug is None or not drug.target or label == GENERIC or not _is_checkpoint_class(label):
        return True
    return drug.target in {checkpoints.ids[n] for n in label.removesuffix(" blocker").split("/")}


def _checkpoint_agents(arms: list[dict]) -> set[str]:
    """The arms' agents that block a checkpoint: a checkpoint class, or drugs of the lexicon."""
    drugs = _drug_names(arms)
    return {a["agent"] for a in arms if _is_checkpoint_class(a["agent"]) or (not a["agent"][0].isupper()
                                                                          and a["agent"] in drugs)}


def _drug_names(arms: list[dict]) -> set[str]:
    lex = lexicon()
    return {a["agent"] for a in arms if all(part in lex for part in a["agent"].split(" or "))}


def _arm_label(arm: dict) -> str:
    return f"{arm['agent']} ({', '.join(arm['examples'])})" if arm["examples"] else arm["agent"]


def regimens(claims: list[dict], against: str | None = None, with_drug: str | None = None) -> list[dict]:
    """Combination regimens with a cited rationale chain: reported, proposed by the document, or inferred."""
    live = _live(claims)
    mechs = resistance(live)
    by_id = {c["id"]: c for c in live}
    rows: list[dict] = []
    for i, c in enumerate(live):
        if c.get("kind") in ("figure", "keywords", "open_question") or c["section"] == "abstract":
            continue
        # "the nivolumab-ipilimumab and the nivolumab-relatlimab combinations": one regimen per combination
        combos = [g for g in _drug_groups(c["text"], _ents(c, "drug")) if len(g) > 1]
        arm_sets = ([[{"agent": d, "examples": []} for d in g] for g in combos] if len(combos) > 1
                    else _alternatives(c["text"], _arms(c)))
        for arms in arm_sets:
            _regimen_of(c, i, arms, live, mechs, by_id, rows)
    rows.extend(_inferred(live, mechs, rows))
    if against:
        rows = [r for r in rows if against in r["against"]]
    if with_drug:
        from evidence_cli.lexicon import find_entity

        e = find_entity(with_drug)
        wanted = {with_drug.casefold()} | ({e.id.casefold(), e.label.casefold()} if e else set())
        rows = [r for r in rows if any(w in a.casefold() for w in wanted for a in r["agents"])]
    from evidence_cli.tagging import tier_rank

    rows.sort(key=lambda r: (_BASIS_ORDER[r["basis"]], tier_rank(r["tier"])))
    for r in rows:
        r.pop("_targets", None)
        stating = r.pop("_stating", None)
        # the refs of the regimen's own claims (its statements and the data they rest on), apart from those of
        # the mechanism claims it is linked to: [43] says PD-L1 rises, not that the combination works
        own = set(stating or r["claims"]) | ({r["basis_claim"]} if r.get("basis_claim") else set())
        r["regimen_refs"] = _refs_of([by_id[x] for x in r["claims"] if x in own and x in by_id])
    return rows


def _regimen_of(c: dict, i: int, arms: list[dict], live: list[dict], mechs: list[dict], by_id: dict,
                rows: list[dict]) -> None:
    """Add the regimen claim ``c`` states with ``arms`` (or merge it into one already seen), if it is one."""
    chain = [c]
    if len(arms) < 2 and _ANAPHOR.match(c["text"]):
        # "This approach ...": the agents of the sentence before it (and of the one before that, when it too
        # begins "This ..."), in the same section
        prev: list[dict] = []
        for j in range(i - 1, max(-1, i - 3), -1):
            p = live[j]
            if (p.get("doc"), p["section"]) != (c.get("doc"), c["section"]):
                break
            prev.insert(0, p)
            if not _ANAPHOR.match(p["text"]):
                break
        prior_arms = [a for p in prev for a in _arms(p)]
        if prior_arms:
            arms = prior_arms + arms
            chain = [*prev, c]
    if not _is_combination(arms) or not _COMBINING.search(" ".join(x["text"] for x in chain)):
        return
    basis, data = _basis(c, i, live)
    if basis == "stated":  # "In animal tumor studies, ... This ... In turn, this prevented resistance ...": the data
        for x in chain[:-1]:  # of the sentences the statement sums up, unhedged
            if x.get("tier") in _PATIENT_TIERS | _LAB_TIERS and not _hedged(x):
                basis, data = ("reported" if x["tier"] in _PATIENT_TIERS else "preclinical"), x
                break
    if data is not c and data["id"] not in {x["id"] for x in chain}:
        chain = [*chain, data]
    agents = _unique(_arm_label(a) for a in arms)  # each agent once
    targets = list(dict.fromkeys(_targets(a) for a in arms))  # each agent once, as in `agents`
    chain_ids = {x["id"] for x in chain}
    linked = [m for m in mechs if chain_ids & {s["claim"] for s in m["strategies"]}]
    against = [m["mechanism"] for m in linked]
    row = next((r for r in rows if r["basis"] != "inferred" and _same_regimen(r, targets, against)), None)
    if row is not None:  # the same agents against the same mechanism: one regimen with all its claims
        if _strength(basis, data) < _strength(row["basis"], by_id[row["basis_claim"]]):
            # the strongest claim (basis, then evidence tier) gives the regimen its basis and name
            row.update(agents=agents, basis=basis, basis_claim=data["id"], _targets=targets)
        row["claims"] = _unique(row["claims"] + [x["id"] for x in chain])
        row["rationale"].extend(_link(x, "supporting statement") for x in chain if x["id"] not in
                                {r["claim"] for r in row["rationale"]})
        row["refs"] = _refs_of([by_id[x] for x in row["claims"]])
        row["numbers"] = _unique(row["numbers"] + [n["text"] for x in chain for n in x.get("numbers") or []
                                                   if _outcome(n)])
        row["_stating"] = _unique(row["_stating"] + [x["id"] for x in chain])
        row["tier"] = _best_tier([by_id[x] for x in row["_stating"]])  # the regimen's claims, not the mechanism's
        row["hedged"] = row["hedged"] or any(_hedged(x) for x in chain)
        row["against"] = _unique(row["against"] + against)
        return
    row = {
        "agents": agents, "basis": basis, "basis_claim": data["id"], "against": against,
        "tier": _best_tier(chain), "hedged": any(_hedged(x) for x in chain),
        "claims": [x["id"] for x in chain], "refs": _refs_of(chain),
        "rationale": [_link(x, "regimen statement" if x is not data or x is c else "data it rests on")
                      for x in chain]
        + [_link(by_id[m_claim], f"mechanism it counters: {m['name']}") for m in linked
           for m_claim in m["claims"][:2]],
        "numbers": [n["text"] for x in chain for n in x.get("numbers") or [] if _outcome(n)],
        "_targets": targets, "_stating": [x["id"] for x in chain],
    }
    for m in linked:
        row["claims"] = _unique(row["claims"] + m["claims"][:2])
    row["refs"] = _refs_of([by_id[x] for x in row["claims"]])
    rows.append(row)


def _strength(basis: str, claim: dict) -> tuple[int, int]:
    from evidence_cli.tagging import tier_rank

    return _BASIS_ORDER[basis], tier_rank(claim.get("tier", "review_statement"))


def _basis(c: dict, i: int, live: list[dict]) -> tuple[str, dict]:
    """The basis a regimen claim gives, and the claim that gives it: its own data (patients or laboratory), the
    data of the passage it sums up (a sentence before it in its paragraph citing the same reference), else a
    statement or a proposal."""
    tier = c.get("tier")
    if c.get("kind") in ("trial_result", "approval"):
        return "reported", c
    if tier in _PATIENT_TIERS:
        if ((c.get("hedging") or {}).get("level") in ("moderate", "strong")
                and not (_REPORTED.search(c["text"]) or _TRIAL_WORDS.search(c["text"]))):
            return "proposed", c  # "may overcome resistance in patients whose tumours ...": no data reported
        return "reported", c
    if tier in _LAB_TIERS:
        return "preclinical", c
    if tier == "hypothesis" or _PROPOSED.search(c["text"]):
        return "proposed", c
    if not (_REPORTED.search(c["text"]) or _TRIAL_WORDS.search(c["text"])):
        return "proposed", c
    # the data of the passage it sums up: a sentence before it in its paragraph that prints one of the same
    # reference numbers (its own, never context refs) and reports data, unhedged
    cited = set(c.get("refs") or [])
    for x in reversed(live[max(0, i - 3): i]) if cited else ():
        if (x.get("doc"), x["section"], x.get("paragraph")) != (c.get("doc"), c["section"], c.get("paragraph")):
            continue
        if (cited & set(x.get("refs") or []) and x.get("tier") in _PATIENT_TIERS | _LAB_TIERS
                and not _hedged(x)):
            return ("reported" if x["tier"] in _PATIENT_TIERS else "preclinical"), x
    return "stated", c


def _targets(arm: dict) -> frozenset[str]:
    """What an arm acts on, to tell whether two regimens name the same agents: a drug by its id, a class by the
    molecules of its name ("PD-1/PD-L1 blocker" -> PD-1, PD-L1), anything else by its name."""
    if arm["agent"].endswith(" blocker") and arm["agent"] != GENERIC:
        return frozenset([*arm["agent"].removesuffix(" blocker").split("/"), *arm["examples"]])
    return frozenset(arm["examples"] or arm["agent"].split(" or "))


def _same_regimen(row: dict, targets: list[frozenset[str]], against: list[str]) -> bool:
    """Same agents (each arm of one overlaps an arm of the other, one to one) against the same mechanism (or
    neither linked to one)."""
    if bool(row["against"]) != bool(against) or (against and not set(row["against"]) & set(against)):
        return False
    theirs = list(row["_targets"])
    if len(theirs) != len(targets):
        return False
    for t in targets:
        match = next((x for x in theirs if x & t), None)
        if match is None:
            return False
        theirs.remove(match)
    return True


def _hedged(claim: dict) -> bool:
    return (claim.get("hedging") or {}).get("level", "none") != "none"


def _link(claim: dict, role: str) -> dict:
    return {"role": role, "claim": claim["id"], "text": claim["text"], "refs": list(claim.get("refs") or []),
            "hedged": (claim.get("hedging") or {}).get("level", "none") != "none",
            "hedge_cues": list((claim.get("hedging") or {}).get("cues") or [])}


def _best_tier(chain: list[dict]) -> str:
    from evidence_cli.tagging import tier_rank

    return min((c.get("tier", "review_statement") for c in chain), key=tier_rank)


def _inferred(claims: list[dict], mechs: list[dict], existing: list[dict]) -> list[dict]:
    """Mechanism -> checkpoint molecule it raises -> an agent the corpus says blocks that molecule.

    Only when a claim states the block (e.g. "Alternative PD-L1 blockers, such as avelumab and durvalumab");
    the lexicon's drug target alone is not enough. Agents already in a chapter regimen for that mechanism are
    skipped."""
    lex = lexicon()
    out = []
    for m in mechs:
        proposed_agents = " ".join(a for r in existing if m["mechanism"] in r["against"] for a in r["agents"])
        # the checkpoint treatment the mechanism arises under, as a claim of it names it ("under PD-1 blockade")
        base_claims = [(c, b) for c in claims if c["id"] in m["claims"] for b in _base_therapies(c["text"])]
        base_claims.sort(key=lambda cb: not cb[0].get("refs"))  # a cited statement of the mechanism first
        for player in m["players"]:
            e = lex.get(player["id"])
            if e is None or not e.checkpoint:
                continue
            # the mechanism raises this molecule under blockade of another one
            under = [(c, b) for c, b in base_claims if e.id not in b[1]]
            if not under:
                continue
            mech_claim, (_, base_targets, base_label) = under[0]
            for drug in (d for d in lex.values() if d.type == "drug" and d.target == e.id
                         and d.target not in base_targets):
                if drug.id in proposed_agents:
                    continue
                stating = [c for c in claims if drug.id in {x["id"] for x in c.get("entities") or []}
                           and re.search(rf"{re.escape(e.label)} block|blocks? (?:the )?{re.escape(e.label)}|"
                                         rf"prevents {re.escape(e.label)} from binding", c["text"])]
                if not stating:
                    continue
                drug_claim = stating[0]
                chain = [
                    _link(mech_claim, f"mechanism: {m['name']}"),
                    _link(drug_claim, f"{drug.id} blocks {e.label}"),
                ]
                out.append({
                    "agents": [base_label, drug.id], "basis": "inferred", "basis_claim": None,
                    "against": [m["mechanism"]],
                    "tier": "hypothesis", "hedged": True,
                    "claims": [mech_claim["id"], drug_claim["id"]], "refs": _refs_of([mech_claim, drug_claim]),
                    "rationale": chain,
                    "inference": (f"inferred by the tool, not stated in the document: {m['name']} raises "
                                  f"{e.label} under {base_label.removesuffix(' blocker')} blockade "
                                  f"({mech_claim['id']}); {drug.id} blocks "
                                  f"{e.label} ({drug_claim['id']})"),
                    "numbers": [],
                })
    return out
