"""Query understanding (pure Python, no whoosh, no spaCy): field syntax, entity aliases, typos, synonyms.

A user's text becomes a ``QueryPlan``: field terms (``ref:45``, ``entity:HAVCR2``, ``section:2.5``,
``kind:approval``) become filters; entity names in any spelling the lexicon knows ("Keytruda", "B7-H1", "CD274")
become entity ids; a misspelt drug or gene ("pembrolizumb") is corrected to the closest alias; the remaining
words are searched in the text, stemmed, with a few domain synonyms ("relapse" also looks for "resistance").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from evidence_cli.errors import UsageError

# Evidence tiers, strongest first (tagging.tier_rank orders by this).
TIERS = (
    "regulatory_approval",
    "randomized_phase3",
    "phase2",
    "phase1",
    "clinical_trial",
    "clinical_observational",
    "preclinical_animal",
    "in_vitro",
    "hypothesis",
    "review_statement",
)
KINDS = ("approval", "trial_result", "mechanism", "biomarker", "resistance", "strategy", "background",
         "open_question", "figure", "keywords")
_FIELD_TERM = re.compile(r"\b(ref|refs|entity|section|kind|tier|doc):(\"[^\"]*\"|\S+)", re.IGNORECASE)
QUESTION_WORDS = frozenset(
    "a an and are as at be by can could do does did for from has have how i if in into is it its me of on or "
    "should so tell than that the their them there these they this those to was we were what when where which "
    "who whom why will with would you your about any anything known there's whats what's".split()
)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "relapse": ("resistance", "relapsed"),
    "relapses": ("resistance",),
    "resistance": ("relapse", "escape"),
    "approved": ("approval",),
    "approval": ("approved",),
    "approve": ("approved", "approval"),
    "predict": ("predictive", "biomarker", "correlate", "correlation"),
    "predicts": ("predictive", "biomarker", "correlate", "correlation"),
    "biomarker": ("predictive",),
    "combine": ("combination", "combined"),
    "combination": ("combine", "combined"),
    "combo": ("combination", "combine"),
    "side": ("safety",),
    "toxicity": ("safety",),
    "survive": ("survival",),
    "mice": ("animal", "mouse"),
    "mouse": ("mice", "animal"),
    "inhibit": ("downregulates", "suppress", "impair"),
    "inhibits": ("downregulates", "suppress", "impair"),
    "recruit": ("recruitment", "trafficking"),
    "trafficking": ("recruitment", "infiltration"),
    "inhibitor": ("blocker", "blocking"),
    "inhibitors": ("blockers", "blocking"),
    "blocker": ("blockade", "blocking"),
    "blockers": ("blockade", "blocking"),
    "other": ("alternative",),
    "besides": ("alternative",),
    "evade": ("evasion", "escape"),
    "escape": ("evasion",),
    "work": ("mechanism",),
    "works": ("mechanism",),
}
MIN_FUZZY = 5
_EXCLUDING = re.compile(r"(?:besides|except|other than|apart from|excluding|not)\s+$", re.IGNORECASE)


@dataclass
class QueryPlan:
    text: str
    words: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)  # entity ids recognised in the free text
    corrections: dict[str, str] = field(default_factory=dict)  # typo -> alias
    refs: list[int] = field(default_factory=list)
    entity_filter: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)  # document ids to search in (all when empty)
    doc_refs: list[tuple[str, int]] = field(default_factory=list)  # ref:DOC:N, one document's reference N

    @property
    def empty(self) -> bool:
        return not (self.words or self.entities or self.refs or self.entity_filter or self.sections or self.kinds
                    or self.tiers or self.docs or self.doc_refs)

    def expanded_words(self) -> list[str]:
        out = list(self.words)
        for w in self.words:
            out.extend(SYNONYMS.get(w.lower(), ()))
        return list(dict.fromkeys(out))

    def word_of(self) -> dict[str, str]:
        """Each expanded word -> the query word it came from (a synonym counts with its word, not on its own)."""
        out: dict[str, str] = {}
        for w in self.words:
            for x in (w, *SYNONYMS.get(w.lower(), ())):
                out.setdefault(x, w)
        return out


class AliasMatcher:
    """Finds lexicon aliases in user text (longest first; case-sensitive where the lexicon says so)."""

    def __init__(self, table: list, is_word: Callable[[str], bool] | None = None) -> None:
        self.is_word = is_word  # True for a word the corpus itself uses: never a typo
        self.exact: dict[str, str] = {}
        self.folded: dict[str, str] = {}
        for alias, eid, case_sensitive in table:
            if case_sensitive:
                self.exact.setdefault(alias, eid)
            else:
                self.folded.setdefault(alias.casefold(), eid)
            # ids and labels are also accepted in any case when typed alone as a field value
        self.ids = {eid for _, eid, _ in table}
        self.any_case: dict[str, str] = {}
        for alias, eid, _ in table:
            self.any_case.setdefault(alias.casefold(), eid)
        vocabulary = sorted({a.casefold() for a, _, _ in table if len(a) >= MIN_FUZZY and " " not in a})
        # candidates by first letter: a typo keeps its first letter far more often than not, and this keeps
        # difflib's work per word small enough for thousands of queries a second
        self.by_initial: dict[str, list[str]] = {}
        for a in vocabulary:
            self.by_initial.setdefault(a[0], []).append(a)
        self._corrections: dict[str, str | None] = {}
        self._max_words = max((len(a.split()) for a, _, _ in table), default=1)

    def resolve(self, name: str) -> str | None:
        """The entity id a name given on purpose (``--entity``, ``entity:``) stands for, in any case."""
        name = name.strip().strip('"')
        if name in self.ids:
            return name
        return self.exact.get(name) or self.any_case.get(name.casefold())

    def find(self, text: str) -> tuple[list[tuple[int, int, str]], str]:
        """Entity mentions in ``text`` as (start, end, id), and the text with them blanked out."""
        spans: list[tuple[int, int, str]] = []
        tokens = [(m.start(), m.end()) for m in re.finditer(r"[\w+′'’.-]+", text)]
        i = 0
        while i < len(tokens):
            found = None
            for n in range(min(self._max_words, len(tokens) - i), 0, -1):
                a, b = tokens[i][0], tokens[i + n - 1][1]
                for strip in (0, 1):
                    cand = text[a:b]
                    if strip:
                        cand = cand.rstrip(".,;:?!")
                        if cand == text[a:b]:
                            continue
                    eid = self.exact.get(cand) or self.folded.get(cand.casefold())
                    if eid is None:
                        # "anti-PD-1": look at the part after a leading "anti-"
                        low = cand.casefold()
                        if low.startswith("anti-"):
                            inner = cand[5:]
                            eid = self.exact.get(inner) or self.folded.get(inner.casefold())
                    if eid:
                        found = (a, a + len(cand), eid, n)
                        break
                if found:
                    break
            if found:
                spans.append(found[:3])
                i += found[3]
            else:
                i += 1
        blanked = list(text)
        for a, b, _ in spans:
            blanked[a:b] = " " * (b - a)
        return spans, "".join(blanked)

    def correct(self, word: str) -> str | None:
        """The alias a misspelt word most likely means (only for words of 5+ letters, close matches)."""
        low = word.casefold()
        if len(low) < MIN_FUZZY or low in QUESTION_WORDS:
            return None
        if low not in self._corrections:
            candidates = [a for a in self.by_initial.get(low[0], ()) if abs(len(a) - len(low)) <= 3]
            match = difflib.get_close_matches(low, candidates, n=1, cutoff=0.84)
            # an ordinary word ("rates", "light") or one the corpus uses is what the user meant, not a typo
            if match and ((self.is_word is not None and self.is_word(word)) or english_word(low)):
                match = []
            self._corrections[low] = match[0] if match else None
        return self._corrections[low]


@cache
def _english():
    """An English word list with frequencies (pyspellchecker's, MIT), loaded only when a correction is weighed."""
    from spellchecker import SpellChecker

    return SpellChecker(distance=1)


def english_word(word: str) -> bool:
    """True for an ordinary English word."""
    return word in _english()


def plan_query(text: str, matcher: AliasMatcher, *, refs=(), entities=(), sections=(), kinds=(),
               tiers=(), docs=()) -> QueryPlan:
    """Turn user text and filter options into a QueryPlan; raise UsageError on a bad field value."""
    if len(text) > 2000:
        raise UsageError("query is longer than 2000 characters; shorten it")
    plan = QueryPlan(text=text)
    plan.refs.extend(refs)
    plan.sections.extend(s.lower().rstrip(".") for s in sections)
    plan.kinds.extend(kinds)
    plan.tiers.extend(tiers)
    plan.docs.extend(docs)
    for name in entities:
        eid = matcher.resolve(name)
        if eid is None:
            raise UsageError(f"unknown entity {name!r}; list them with `evidence entities`")
        plan.entity_filter.append(eid)

    def take_field(m: re.Match) -> str:
        key, value = m.group(1).lower(), m.group(2).strip('"')
        if key in ("ref", "refs"):
            doc = ""
            for part in value.split(","):
                named, _, number = part.rpartition(":")  # ref:DOC:8 is reference 8 of document DOC,
                doc = named or doc                        # ref:DOC:8,9 are its 8 and 9
                if not (number.isascii() and number.isdigit()) or int(number) < 1:
                    raise UsageError(f"ref:{value} — a reference number is a positive whole number, e.g. ref:45 "
                                     "or ref:DOC:45 for one document's [45]")
                if doc:
                    plan.doc_refs.append((doc, int(number)))
                else:
                    plan.refs.append(int(number))
        elif key == "doc":
            plan.docs.append(value)
        elif key == "entity":
            eid = matcher.resolve(value)
            if eid is None:
                raise UsageError(f"unknown entity {value!r} in entity:{value}; list them with `evidence entities`")
            plan.entity_filter.append(eid)
        elif key == "section":
            plan.sections.append(value.lower().rstrip("."))
        elif key == "kind":
            plan.kinds.append(value.lower())
        else:
            plan.tiers.append(value.lower())
        return " "

    text_without_fields = _FIELD_TERM.sub(take_field, text)
    spans, rest = matcher.find(text_without_fields)
    # "besides atezolizumab", "other than CTLA-4": the user wants the others, so that name is not boosted
    excluded = {eid for a, _, eid in spans if _EXCLUDING.search(text_without_fields[max(0, a - 14):a])}
    plan.entities = list(dict.fromkeys(eid for _, _, eid in spans if eid not in excluded))
    # the words of a recognised name still count as words ("PD-L1 expression" also looks for "expression")
    # (whole words only: "HAVCR2" is a symbol, not the word "HAVCR"; and they are not typo-corrected)
    alias_words = [w.casefold() for a, b, eid in spans if eid not in excluded
                   for w in re.findall(r"\b[^\W\d_]{4,}\b", _strip_anti(text_without_fields[a:b]))]
    plan.words.extend(w for w in alias_words if w not in QUESTION_WORDS)
    for word in re.findall(r"[^\W_]+(?:[-'’][^\W_]+)*", rest):
        low = word.casefold()
        if low in QUESTION_WORDS:
            continue
        fixed = matcher.correct(word) if not low.isdigit() else None
        if fixed and fixed != low:
            eid = matcher.any_case.get(fixed)
            if eid:
                plan.corrections[word] = fixed
                if eid not in plan.entities:
                    plan.entities.append(eid)
                continue
        plan.words.append(low)
    return plan


def check_filters(plan: QueryPlan, known_sections: list[str], known_docs: list[str] | None = None) -> None:
    """Raise UsageError, listing the valid values, for a kind, tier, section or document that no claim can have
    (a filter that silently matches nothing reads as "the corpus does not say")."""
    if known_docs is not None:
        unknown = [d for d in [*plan.docs, *(d for d, _ in plan.doc_refs)] if d not in known_docs]
        if unknown:
            raise UsageError(f"unknown document {unknown[0]!r}; documents here: {', '.join(known_docs)} "
                             "(see `evidence docs`)")
    unknown = [k for k in plan.kinds if k not in KINDS]
    if unknown:
        raise UsageError(f"unknown kind {unknown[0]!r}; choose from {', '.join(KINDS)}")
    unknown = [t for t in plan.tiers if t not in TIERS]
    if unknown:
        raise UsageError(f"unknown tier {unknown[0]!r}; choose from {', '.join(TIERS)}")
    for wanted in plan.sections:
        head = " ".join(wanted.rstrip(".").split())
        if not any(s == head or s.startswith(head + ".") for s in known_sections):
            raise UsageError(f"unknown section {wanted!r}; sections here: {', '.join(known_sections)}")


def _strip_anti(name: str) -> str:
    return name[5:] if name.casefold().startswith("anti-") else name
