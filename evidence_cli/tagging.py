"""Tag claims at ingest: lexicon entities (spaCy entity rulers), hedging, claim kind, evidence tier, numbers.

spaCy is imported lazily, only here; the query path never imports this module. The pipeline is
``spacy.blank("en")`` with two rule-based entity rulers (``span_ruler`` annotating ``doc.ents``) compiled from the
curated lexicon (``data/lexicon.yaml``): one case-sensitive for short symbols (so "light" or "met" are never
genes), one case-insensitive for drug, disease and long names; the longest match wins. If
``$EVIDENCE_SPACY_MODEL`` names an installed trained pipeline, it is loaded instead; the rulers run before its
"ner", whose own entities are kept where the lexicon has none (marked ``source: model``).
"""

from __future__ import annotations

import os
import re
from functools import cache

from evidence_cli.errors import DataError, Problem
from evidence_cli.lexicon import lexicon
from evidence_cli.query_plan import TIERS  # one list of tiers, shared with the query checks
from evidence_cli.regex_gate import Gated, fold

# --------------------------------------------------------------------------- spaCy pipeline

_SPECIAL_TOKENS = ("PI3K",)


@cache
def pipeline(model: str | None = None):
    """spaCy pipeline with the lexicon rulers (blank English unless a trained pipeline is named)."""
    import spacy
    from spacy.symbols import ORTH
    from spacy.util import compile_infix_regex

    model = model if model is not None else os.environ.get("EVIDENCE_SPACY_MODEL", "")
    if model:
        try:
            nlp = spacy.load(model, exclude=["parser", "lemmatizer", "textcat"])
        except OSError:
            raise DataError(
                Problem("$EVIDENCE_SPACY_MODEL", None, f"spaCy pipeline {model!r} is not installed; unset it")
            ) from None
    else:
        nlp = spacy.blank("en")
    # "CD8+/PD-1+" and "PI3K/AKT": split on a slash between word characters, so aliases match inside them.
    infixes = [*nlp.Defaults.infixes, r"(?<=[A-Za-z0-9+])/(?=[A-Za-z0-9])"]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    for tok in _SPECIAL_TOKENS:
        nlp.tokenizer.add_special_case(tok, [{ORTH: tok}])
    lex = lexicon()
    cs, ci = [], []
    for e in lex.values():
        for alias in dict.fromkeys((e.label, *e.aliases)):
            (cs if e.case_sensitive else ci).append({"label": e.type, "pattern": alias, "id": e.id})
        for alias in dict.fromkeys(e.aliases_ci):
            ci.append({"label": e.type, "pattern": alias, "id": e.id})
    # Two rule-based rulers (spaCy's span_ruler, which annotates doc.ents like the EntityRuler it replaces):
    # exact-case phrases, then lower-cased phrases; the second keeps the first's entities and the longest span
    # wins ("PD-L1 expression" over "PD-L1"). Before a trained "ner", whose predictions then respect them.
    longest = {"@misc": "spacy.first_longest_spans_filter.v1"}
    before = {"before": "ner"} if "ner" in nlp.pipe_names else {}
    ruler_cs = nlp.add_pipe("span_ruler", name="lexicon_cs", config={
        "spans_key": None, "annotate_ents": True, "ents_filter": longest}, **before)
    ruler_cs.add_patterns(cs)
    ruler_ci = nlp.add_pipe("span_ruler", name="lexicon_ci", config={
        "spans_key": None, "annotate_ents": True, "ents_filter": longest, "overwrite": False,
        "phrase_matcher_attr": "LOWER"}, **before)
    ruler_ci.add_patterns(ci)
    return nlp


def entities(doc) -> list[dict]:
    """Entity mentions of a spaCy Doc: lexicon ids first; a trained model's extra entities are marked; then
    names the lexicon lacks but whose shape says what they are (uncurated)."""
    lex = lexicon()
    out = []
    for ent in doc.ents:
        if ent.ent_id_ and ent.ent_id_ in lex:
            out.append({"id": ent.ent_id_, "type": lex[ent.ent_id_].type, "text": ent.text,
                        "start": ent.start_char, "end": ent.end_char})
        elif ent.label_:
            out.append({"id": f"model:{ent.label_}:{ent.text}", "type": ent.label_.lower(), "text": ent.text,
                        "start": ent.start_char, "end": ent.end_char, "source": "model"})
    out.extend(uncurated_entities(doc.text, [(e["start"], e["end"]) for e in out]))
    out.sort(key=lambda e: e["start"])
    return out


# Drug names by their INN stem (WHO's stems: -mab antibodies, -nib kinase inhibitors, -lisib PI3K inhibitors,
# -parib PARP inhibitors, -ciclib CDK inhibitors, -zomib proteasome inhibitors, -leucel cell therapies, and the
# chemotherapy stems -platin, -taxel, -rubicin, -tecan), "anti-X" agents, and gene-like symbols (letters and a
# digit: TMPRSS2, ACE2, IL-15). Marked curated: false, with the text as id: nothing is claimed beyond the text.
_INN = Gated(r"\b[A-Za-z][a-z]{2,}(?:mab|nib|lisib|parib|ciclib|zomib|leucel|platin|taxel|rubicin|tecan)\b")
_ANTI = Gated(r"\banti-([A-Z][A-Za-z0-9]*[A-Z0-9](?:-[A-Z0-9]+)?)\b")
_SYMBOL = Gated(r"(?<![\w-])(?=[A-Z0-9-]*\d)[A-Z][A-Z0-9]{1,9}(?:-\d{1,2}[A-Z]?)?(?![\w-])")


_CELLS_AFTER = Gated(r"\s+(?:cells?|cell lines?)\b|\s*(?:and|,)\s+[A-Z][\w-]*\s+cells?\b")


def uncurated_entities(text: str, taken: list[tuple[int, int]]) -> list[dict]:
    """Drugs, anti-X agents and gene-like symbols the lexicon does not know, outside the spans already tagged."""
    folded = fold(text)  # the patterns run only where they can match (regex_gate)
    out: list[dict] = []
    spans = list(taken)

    def free(a: int, b: int) -> bool:
        return not any(x < b and a < y for x, y in spans)

    for rx, etype in ((_ANTI, "antibody"), (_INN, "drug"), (_SYMBOL, "symbol")):
        for m in rx.finditer(text, folded):
            a, b = m.span()
            if not free(a, b):
                continue
            name = m.group(0)
            eid = name.lower() if etype == "drug" else name
            kind = "cell_line" if etype == "symbol" and _CELLS_AFTER.match(text, b) else etype
            out.append({"id": eid, "type": kind, "text": name, "start": a, "end": b, "curated": False})
            spans.append((a, b))
    return out


# --------------------------------------------------------------------------- hedging

# cue regex -> grade. Levels: weak (soft attribution), moderate (modal speculation), strong (open/unknown).
HEDGE_CUES: tuple[tuple[str, str], ...] = (
    (r"remains? to be seen", "strong"),
    (r"(?:it )?(?:is|was|were) hypothesi[sz]ed|to hypothesi[sz]e|prevailing hypothesis", "strong"),
    (r"\b(?:is|are|remains?) (?:currently )?unknown\b|\bunknown\b", "strong"),
    (r"\bremains? undetermined\b|\bundetermined\b", "strong"),
    (r"\b(?:not|poorly) (?:fully )?understood\b", "strong"),
    (r"\b(?:has|have) (?:yet|thus far not been)|\byet to be\b|\byet to establish\b|\bnot been established\b",
     "strong"),
    (r"\bwarrants? further investigation\b|\b(?:necessary|needed) to (?:confirm|establish)\b"
     r"|\b(?:further|more|additional)\s+(?:\w+\s+){0,3}?(?:studies|research|work|investigations?|trials)\s+"
     r"(?:is|are|will be)\s+(?:needed|required|warranted)\b", "strong"),
    (r"\bspeculat(?:e|es|ed|ing)\b|\bpostulat(?:e|es|ed|ing)\b|\b(?:opens?|raises?) (?:up )?the possibility\b"
     r"|\bconceivabl[ey]\b", "moderate"),
    (r"\bno (?:data|evidence) (?:yet )?supports?\b|\bremains? (?:to be )?unproven\b", "strong"),
    (r"\bcould (?:potentially|possibly)\b", "moderate"),
    (r"\bmight\b", "moderate"),
    (r"\bmay\b", "moderate"),
    (r"\bpotential(?:ly)?\b", "moderate"),
    (r"\bpossibly\b|\bpossible\b(?!\s+to\b)", "moderate"),  # not ability: "it was possible to detect"
    (r"\bfeasible\b", "moderate"),
    (r"\blikely\b", "weak"),
    (r"\bappears? to\b|\bseems?\b(?! clear)", "weak"),
    (r"\bsuggest(?:s|ing|ed)?\b|\bpropos(?:e|es|ed)\b", "weak"),
    (r"\b(?:it is|was) (?:believed|anticipated)\b", "weak"),
    (r"\bcould\b", "weak"),
)
_HEDGE_RE = [(Gated(p, re.IGNORECASE), g) for p, g in HEDGE_CUES]
_LEVELS = ("none", "weak", "moderate", "strong")


def hedging(text: str) -> dict:
    """{"level": none|weak|moderate|strong, "cues": [the cue words as written, in order]}."""
    folded = fold(text)  # the patterns run only where they can match (regex_gate)
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for rx, grade in _HEDGE_RE:
        for m in rx.finditer(text, folded):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), m.group(0), grade))
    found.sort()
    level = max((_LEVELS.index(g) for _, _, g in found), default=0)
    return {"level": _LEVELS[level], "cues": [c for _, c, _ in found]}


# --------------------------------------------------------------------------- claim kind and evidence tier

_AGENCY = r"(?:FDA|EMA|Food and Drug Administration|European Medicines Agency|European Commission)"
_APPROVAL = Gated(
    r"\b(?:FDA )?approved for\b|\bapproval of\b|\bapproved\b.*\bfor treating\b"
    rf"|\bapproved by the (?:US |U\.S\. )?{_AGENCY}|\b{_AGENCY}\s+(?:has |have |had )?(?:approved|granted)\b"
    r"|\b(?:FDA|EMA)[- ]approved\s+(?:[\w-]+\s+){0,3}?(?:therap|immunotherap|drugs?\b|treatments?\b|agents?\b"
    r"|antibod|inhibitors?\b|vaccines?\b)"
    rf"|\b(?:received|granted|gained|obtained)\s+(?:\w+\s+){{0,2}}approval\b",
    re.I)
_NEGATED_APPROVAL = Gated(r"\b(?:not|never|yet to be)\b[^.;]{0,30}\bapprov", re.I)
_OPEN = Gated(
    r"remains? to be seen|\bunknown\b|undetermined|(?:not|poorly) (?:fully )?understood|yet to be|"
    r"not been established|(?:necessary|needed) to (?:confirm|establish)|warrants? further investigation"
    r"|will be challenging|\b(?:further|more|additional)\s+(?:\w+\s+){0,3}?(?:studies|research|work|investigations?"
    r"|trials)\s+(?:is|are|will be)\s+(?:needed|required|warranted)\b", re.I)
_TRIAL = Gated(r"\b(?:trials?|study|studies)\b|\bphase ?(?:I|[1-3])|\bresponse rates?\b|\bsurvival rates?\b|"
                    r"\bmedian (?:overall |progression-free |event-free )?survival\b|\bhazard ratio\b|\bHR\b|"
                    r"\brandomly assigned\b", re.I)
_PRECLINICAL = Gated(r"\bmice\b|\bmouse\b|\bmurine\b|\banimals?\b|\bpreclinical\b|\bxenografts?\b", re.I)
_OUTCOME = Gated(r"\b(?:response|responses|responded|survival|regression)\b", re.I)
_NUMBERISH = Gated(r"\d")
_STRATEGY = Gated(r"\bcombin|\bstrateg|counteract|synergi|\bco-blockade\b|prevent(?:ed)? resistance|"
                       r"improve (?:tumor )?sensitivity|enhance the efficacy|therapies to improve", re.I)
_RESIST = Gated(r"resistan|relaps|immunological escape|evasion|\bprogress(?:ed|ing|ion)? (?:on|after|during)\b",
                re.I)
_BIOMARKER = Gated(r"biomarker|predict|correlat|threshold|cut-off|responders", re.I)
_MECHANISM = Gated(r"\bbind|signal|express|downregulat|upregulat|inhibit|sequester|interact|block|"
                        r"mediat|induc|suppress|activat|impair|trigger|promot", re.I)


def claim_kind(text: str, section: str, base_kind: str, hedge: dict, section_title: str = "") -> str:
    """One of approval, trial_result, open_question, strategy, resistance, biomarker, mechanism, background
    (figure and keywords claims keep their kind). A claim under a heading about biomarkers or prediction is a
    biomarker claim unless its own words say more."""
    folded = fold(text)  # the patterns run only where they can match (regex_gate)
    if base_kind in ("figure", "keywords"):
        return base_kind
    if _APPROVAL.search(text, folded) and not _NEGATED_APPROVAL.search(text, folded):
        return "approval"
    if _OPEN.search(text, folded):
        return "open_question"
    if (_TRIAL.search(text, folded) and _OUTCOME.search(text, folded) and _NUMBERISH.search(text, folded)
            and not _PRECLINICAL.search(text, folded)):
        return "trial_result"
    if _STRATEGY.search(text, folded):
        return "strategy"
    if _RESIST.search(text, folded):
        return "resistance"
    if section == "abstract":
        return "background"
    if _BIOMARKER.search(text, folded) or _BIOMARKER.search(section_title):
        return "biomarker"
    if _MECHANISM.search(text, folded):
        return "mechanism"
    return "background"



_TIER_RULES: tuple[tuple[str, str], ...] = (
    (r"\bphase ?(?:III|3)\b", "randomized_phase3"),
    (r"\bphase ?(?:II|2)[ab]?\b", "phase2"),
    (r"\bphase ?(?:I|1)[ab]?\b|\bearly clinical trials\b", "phase1"),
    (r"\bclinical trials?\b(?!.*\b(?:mice|mouse|animals?)\b)", "clinical_trial"),
    # people's own tissue: "clinical tumor specimens", "human melanoma tumors", "patient-derived samples"
    (r"\b(?:patients?|biops(?:y|ies|ied)|(?:clinical|human|patient)(?:[ -]\w+){0,2} "
     r"(?:specimens?|samples?|tissues?|tumou?rs?))\b", "clinical_observational"),
    (r"\bmice\b|\bmouse\b|\bmurine\b|\banimals?\b|\bpreclinical\b|\btumou?r-bearing\b|\bxenografts?\b"
     r"|\bsyngeneic\b", "preclinical_animal"),
    (r"\bin vitro\b|\bcell lines?\b", "in_vitro"),
)
_TIER_RE = [(Gated(p, re.IGNORECASE), t) for p, t in _TIER_RULES]
# work in a named cell line: "in MCF-7 cells", "HEK293T cells", "A549 cell" (not CD8, Th17 or IL-2: markers)
_CELL_LINE = Gated(r"(?<![\w-])(?!CD\d|Th\d|Tc\d|IL-?\d)[A-Z][A-Za-z]{0,5}-?\d+[A-Za-z0-9]*\s+cells?\b")
# a trial still running: no result reported yet
_RUNNING = Gated(r"\b(?:now|currently|still)\b[^.;]{0,60}\btrials?\b|\bcontinuing in\b|\bongoing\b"
                 r"|\bbeing (?:tested|evaluated|investigated|studied)\b|\benter(?:s|ed|ing)?\b[^.;]{0,30}\btrials?\b"
                 r"|\bto enter\b|\bNCT\d{8}\b", re.I)


def evidence_tier(text: str, kind: str, hedge: dict) -> str:
    """The strongest kind of evidence the sentence's own wording reports (not a judgement of the source)."""
    folded = fold(text)  # the patterns run only where they can match (regex_gate)
    if kind == "approval":
        return "regulatory_approval"
    if kind in ("figure", "keywords"):
        return "review_statement"
    preclinical = _PRECLINICAL.search(text, folded)
    for rx, tier in _TIER_RE:
        if rx.search(text, folded):
            if tier in ("clinical_trial", "clinical_observational") and preclinical:
                return "preclinical_animal"
            if tier == "clinical_trial" and kind not in ("trial_result",) and _RUNNING.search(text, folded):
                return "review_statement"  # a trial is running: no result reported
            return tier
    if _CELL_LINE.search(text, folded):
        return "in_vitro"
    if hedge["level"] in ("moderate", "strong"):
        return "hypothesis"
    return "review_statement"


def tier_rank(tier: str) -> int:
    return TIERS.index(tier) if tier in TIERS else len(TIERS)


# --------------------------------------------------------------------------- numbers

_NUM = r"\d+(?:\.\d+)?"
_NUMBER_RULES: tuple[tuple[str, str], ...] = (
    # statistics about a result, not results: "95% CI", the interval's bounds, P values
    (rf"\b{_NUM}\s?%\s?(?:CI|confidence interval|credible interval)\b", "confidence_level"),
    (rf"(?:CI|interval)[,:]?\s?(?P<v>{_NUM}\s?(?:[–-]|to)\s?{_NUM})", "ci_bound"),
    (rf"\b[Pp]\s?(?:[<=>≤≥]|&lt;)\s?(?:0?\.\d+|{_NUM}\s?[x×]\s?10[-−⁻]?\d+)", "p_value"),
    (rf"\b(?:HR|hazard ratio)[,:]?\s?(?:=\s?|of\s)?{_NUM}", "hazard_ratio"),
    (rf"[≥≤<>]\s?{_NUM}\s?%", "threshold"),
    (rf"~?{_NUM}\s?[–-]\s?{_NUM}\s?%", "percent_range"),
    (rf"~?{_NUM}(?: and {_NUM})?\s?%", "percent"),
    (rf"{_NUM}\s?[–-]\s?{_NUM} (?:days|weeks|months|years)", "duration_range"),
    (rf"{_NUM} (?:days|weeks|months|years)\b", "duration"),
    (r"\b\d+ in \d+\b", "ratio"),
    (rf"~?{_NUM} times\b", "fold"),
    (r"\b(?:two|three|four|five|six|ten)-? to (?:two|three|four|five|six|ten)fold\b|\b\w+fold\b", "fold"),
    (r"(?<![\w-])\d+\+", "count"),
    (r"\b(?:19|20)\d\d\b", "year"),
)
_NUMBER_RE = [(Gated(p), k) for p, k in _NUMBER_RULES]
_UNITS = {"percent": "%", "percent_range": "%", "threshold": "%", "confidence_level": "%"}
# kinds that qualify a result (its precision, its significance) rather than report one
STATISTICS = frozenset(("confidence_level", "ci_bound", "p_value"))


def numbers(text: str) -> list[dict]:
    """Reported numbers, exactly as written: percentages, thresholds, durations, ratios, folds, counts, years."""
    folded = fold(text)  # the patterns run only where they can match (regex_gate)
    spans: list[tuple[int, int, str]] = []
    for rx, kind in _NUMBER_RE:
        for m in rx.finditer(text, folded):
            if "v" in rx.groupindex:  # the number is a part of the match ("CI 0.45–0.88": the bounds)
                start, end = m.span("v")
                if not any(a < end and start < b for a, b, _ in spans):
                    spans.append((start, end, kind))
                continue
            if any(a < m.end() and m.start() < b for a, b, _ in spans):
                continue
            if kind == "fold" and not re.search(r"\d|two|three|four|five|six|ten", m.group(0)):
                continue
            if kind in ("year", "count") and _inside_citation(text, m.start()):
                continue
            spans.append((m.start(), m.end(), kind))
    out = []
    for a, b, kind in sorted(spans):
        item: dict = {"text": text[a:b], "kind": kind}
        first = re.search(r"\d*\.\d+" if kind == "p_value" else _NUM, text[a:b])
        if (first and kind not in ("fold",)) or (first and "times" in text[a:b]):
            item["value"] = float(first.group(0)) if "." in first.group(0) else int(first.group(0))
        if kind in _UNITS:
            item["unit"] = "%"
        elif kind.startswith("duration"):
            item["unit"] = text[a:b].rsplit(" ", 1)[-1]
        out.append(item)
    return out


def _inside_citation(text: str, pos: int) -> bool:
    left = text.rfind("[", 0, pos)
    return left != -1 and text.find("]", left) > pos and text.rfind("]", 0, pos) < left


# --------------------------------------------------------------------------- the tagger

PARALLEL_TAG_MIN = 20_000  # from this many claims, half are tagged in a second process (2 cores: ~1.8x)


def tag_claims(claims: list[dict], progress=None, parallel_min: int = PARALLEL_TAG_MIN) -> None:
    """Annotate claims in place: entities, hedging, kind, tier, numbers. ``progress(done, total)`` is called
    every 500 claims and at the end. From ``parallel_min`` claims, the second half is tagged in a child process,
    with the same results."""
    from evidence_cli.store import _in_two_halves

    nlp = pipeline()  # built once here, so that a forked child has it too
    if any(name not in ("lexicon_cs", "lexicon_ci") for name in nlp.pipe_names):
        parallel_min = 10**18  # a trained pipeline may run threads (BLAS, torch), which a fork can deadlock
    items = [(c["text"], c["section"], c.get("kind", "text"), c.get("section_title", "")) for c in claims]
    total = len(items)

    import os

    parent = os.getpid()

    def report(done: int) -> None:  # the first half's progress stands for both (the child draws nothing)
        if progress and os.getpid() == parent and done % 500 == 0:
            progress(min(total, done * (2 if total >= parallel_min else 1)), total)

    first, rest = _in_two_halves(items, lambda part: _tags(part, report), minimum=parallel_min)
    for claim, tags in zip(claims, [*first, *rest], strict=True):
        claim.update(tags)  # kind, entities, hedging, tier, numbers: the order the file has always had
    if progress and total:
        progress(total, total)


def _tags(items: list[tuple[str, str, str, str]], report=None) -> list[dict]:
    nlp = pipeline()
    out = []
    for i, ((text, section, kind_hint, title), doc) in enumerate(
            zip(items, nlp.pipe([t for t, *_ in items], batch_size=256), strict=True), 1):
        if report:
            report(i)
        hedge = hedging(text)
        kind = claim_kind(text, section, kind_hint, hedge, title)
        out.append({"kind": kind, "entities": entities(doc), "hedging": hedge,
                    "tier": evidence_tier(text, kind, hedge), "numbers": numbers(text)})
    return out
