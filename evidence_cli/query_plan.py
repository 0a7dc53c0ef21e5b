"""Query planning: a user's question read as terms and filters (pure Python, no whoosh, no spaCy). It searches
nothing; index.search runs the plan.

A user's text becomes a ``QueryPlan``: field terms (``ref:45``, ``entity:HAVCR2``, ``section:2.5``,
``kind:approval``) and "reference 12" become filters; names in any spelling the lexicon knows ("Keytruda",
"B7-H1", "CD274"), clinical shorthand ("pembro", "MSI-H") and "anti-X" become terms of entities and phrases; a
misspelt word ("pembrolizumb", "colorectl") is corrected towards the lexicon and the corpus; question and request
words are dropped; each remaining word is a term with its synonyms ("relapse" also looks for "resistance").
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

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
# Words that shape a question but are not its subject: function words, question words ("why", "does") and request
# words ("tell me about", "list"). They are not searched and do not count in coverage. Subject words that occur in
# most claims ("tumor" in a corpus of tumour reviews) are found by document frequency instead (index.GENERIC_SHARE).
QUESTION_WORDS = frozenset(
    "a an and are as at be been being by can could do does did doing done for from has have having how i if in "
    "into is it its me my of on or our should so tell than that the their them then there these they this those to "
    "was we were what when where which while who whom whose why will with would you your about any anything known "
    "there's whats what's whys how's also just please give show list explain describe find know get gets got getting "
    "happen happens happening mean means meant say says said regarding concerning much many some "
    "make makes made like between among under over versus vs via plus go goes going gone up out exist exists "
    "existing available".split()
)
# The words of asking for evidence in an evidence tool ("what evidence supports…", "which references…"): not
# searched beside other words, but searched when they are all the query has ("citation").
REQUEST_WORDS = frozenset(
    "evidence reference references ref refs citation citations cite cites cited source sources "
    # and of asking how two things relate ("how does X relate to Y", "the role of X in Y")
    "relate relates related relation relationship relationships role roles link links linked impact "
    # and of pointing at the corpus itself ("which claims cite [45]", "the sentences saying …")
    "claim claims citing statement statements sentence sentences".split()
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
# "anti-PD-1", "PD-1 blockers", "CTLA-4 inhibitor": the drugs that target the named gene, and the gene itself
_CLASS_AFTER = re.compile(r"\s*(?:blockers?|blockade|blocking|inhibitors?|inhibition|antibod(?:y|ies)|mabs?|"
                          r"agents?|drugs?|therapy|therapies)\b", re.IGNORECASE)
# "reference 12", "ref. 12", "citation [12]", "[12]": a question about a reference number, not the text "12"
_REF_QUESTION = re.compile(
    r"\b(?:references?|refs?\.?|citations?)\s*(?:no\.?\s*|number\s*|#\s*)?\[?(\d{1,5}(?:\s*(?:,|and|&)\s*\d{1,5})*)\]?"
    r"|\[(\d{1,5}(?:\s*,\s*\d{1,5})*)\]",
    re.IGNORECASE,
)
NAME_TERMS = 4096  # names whose Term a matcher remembers
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-", "\u00ad": ""})


@dataclass
class Term:
    """One thing the user asked about, as it counts in ranking and coverage: a word with its synonyms, a name
    with its aliases, a shorthand with what it stands for. A claim matches the term when it mentions one of
    ``entities`` or all the words of one of ``phrases``."""

    label: str  # as the user typed it
    phrases: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    rank_words: list[str] = field(default_factory=list)  # words of a name: they rank, but a match is the name's
    gene: str | None = None  # a biomarker's gene, or a name inside the name: with all its words, a mention
    reading: str | None = None  # how a shorthand or class name was read, shown on stderr
    incidental: bool = False  # ranks, but is not a subject of its own ("blockers" in "PD-1 blockers")


@dataclass
class QueryPlan:
    text: str
    entities: list[str] = field(default_factory=list)  # entity ids recognised in the free text
    terms: list[Term] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)  # typo -> alias or corpus word
    readings: dict[str, str] = field(default_factory=dict)  # shorthand or class name -> what it was read as
    ref_questions: list[str] = field(default_factory=list)  # "reference 12" read as ref:12
    refs: list[int] = field(default_factory=list)
    entity_filter: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)  # document ids to search in (all when empty)
    doc_refs: list[tuple[str, int]] = field(default_factory=list)  # ref:DOC:N, one document's reference N

    @property
    def empty(self) -> bool:
        return not (self.terms or self.refs or self.entity_filter or self.sections or self.kinds
                    or self.tiers or self.docs or self.doc_refs)

    def expanded_words(self) -> list[str]:
        """Every word the terms search for in the text, each once."""
        return list(dict.fromkeys([*(w for t in self.terms for p in t.phrases for w in p.split()),
                                   *(w for t in self.terms for w in t.rank_words)]))


@dataclass(frozen=True)
class Shorthand:
    short: str
    means: str
    search: tuple[str, ...]
    case_sensitive: bool


_ALIAS_WORD = re.compile(r"[\w+′'’.-]+")  # the words of a name, as AliasMatcher.find splits text


class AliasMatcher:
    """Finds lexicon aliases in user text (longest first; case-sensitive where the lexicon says so)."""

    def __init__(self, table: list, is_word: Callable[[str], bool] | None = None, *,
                 targets: dict[str, list[str]] | None = None, shorthand: list[Shorthand] | None = None,
                 vocabulary: Callable[[], list[str]] | None = None, labels: dict[str, str] | None = None,
                 in_corpus: Callable[[str], bool] | None = None, genes: dict[str, str] | None = None,
                 shape_name: Callable[[str], bool] | None = None,
                 is_english: Callable[[str], bool] | None = None) -> None:
        self.genes = genes or {}  # biomarker id -> the gene it measures ("pdl1_expression" -> "CD274")
        self.is_word = is_word  # True for a word the corpus itself uses: never a typo
        self.targets = targets or {}  # gene id -> ids of the drugs that target it
        self.labels = labels or {}  # entity id -> its label ("CD274" -> "PD-L1")
        self.in_corpus = in_corpus  # True for an entity id some claim mentions
        self.shape_name = shape_name  # True for a name claims were tagged with by its shape (not in the lexicon)
        self.is_english = is_english or english_word  # True for an ordinary English word (lower-case)
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
        self.short_exact = {s.short: s for s in shorthand or () if s.case_sensitive}
        self.short_folded = {s.short.casefold(): s for s in shorthand or () if not s.case_sensitive}
        self._aliases = sorted({a.casefold() for a, _, _ in table if len(a) >= MIN_FUZZY and " " not in a})
        self._vocabulary = vocabulary  # the corpus's own words, loaded only when a correction is weighed
        self._by_initial: dict[str, list[str]] | None = None
        self._corrections: dict[str, str | None] = {}
        self.name_terms: dict[tuple, Term] = {}  # (name as typed, id, a class word after it) -> its Term
        # an alias's first word (case-folded) -> the most words of an alias that begins with it: find() tries
        # only the spans that begin with such a word, and none longer than its longest alias
        self._span_words: dict[str, int] = {}
        for alias, _, _ in table:
            # keyed both ways: case-folding can split a word ("İ" folds to "i" and a combining dot)
            for words in (_ALIAS_WORD.findall(alias.casefold()), _ALIAS_WORD.findall(alias)):
                key = words[0].casefold() if words else None
                if key is not None and len(words) > self._span_words.get(key, 0):
                    self._span_words[key] = len(words)

    def resolve(self, name: str) -> str | None:
        """The entity id a name given on purpose (``--entity``, ``entity:``) stands for, in any case."""
        name = name.strip().strip('"')
        if name in self.ids:
            return name
        found = self.exact.get(name) or self.any_case.get(name.casefold())
        if found is None and name and self.shape_name is not None and self.shape_name(name):
            return name  # "TMPRSS2", "sipuleucel": tagged in the corpus by its shape
        return found

    def shorthand(self, word: str) -> Shorthand | None:
        return self.short_exact.get(word) or self.short_folded.get(word.casefold())

    def find(self, text: str) -> tuple[list[tuple[int, int, str]], str]:
        """Entity mentions in ``text`` as (start, end, id), and the text with them blanked out."""
        spans: list[tuple[int, int, str]] = []
        tokens = [(m.start(), m.end(), m.group().casefold()) for m in _ALIAS_WORD.finditer(text)]
        span_words = self._span_words
        i = 0
        while i < len(tokens):
            found = None
            first = tokens[i][2]
            longest = max(span_words.get(first, 0), span_words.get(first.rstrip(".,;:?!"), 0))
            if first.startswith("anti-"):
                longest = max(longest, span_words.get(first[5:], 0), span_words.get(first[5:].rstrip(".,;:?!"), 0))
            if not longest:  # no name begins with this word
                i += 1
                continue
            for n in range(min(longest, len(tokens) - i), 0, -1):
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
        """The alias or corpus word a misspelt word most likely means: only for words of 5+ letters that are
        neither English words nor words of the corpus, and only for close matches."""
        low = word.casefold()
        if len(low) < MIN_FUZZY or low in QUESTION_WORDS:
            return None
        if low not in self._corrections:
            match: list[str] = []
            # an ordinary word ("rates", "light") or one the corpus uses is what the user meant, not a typo
            if not ((self.is_word is not None and self.is_word(word)) or self.is_english(low)):
                # a typo keeps its first letter far more often than not, and this keeps difflib's work small
                candidates = [a for a in self._candidates().get(low[0], ()) if abs(len(a) - len(low)) <= 3]
                match = difflib.get_close_matches(low, candidates, n=1, cutoff=0.84)
                if not match:  # two letters swapped, the commonest typo ("repiar"), scores below the cutoff
                    swaps = {low[:i] + low[i + 1] + low[i] + low[i + 2:] for i in range(len(low) - 1)}
                    match = sorted(w for w in swaps if w in self._candidates().get(w[0], ()))[:1]
            self._corrections[low] = match[0] if match else None
        return self._corrections[low]

    def _candidates(self) -> dict[str, list[str]]:
        if self._by_initial is None:
            words = set(self._aliases)
            if self._vocabulary is not None:
                words.update(w for w in self._vocabulary() if len(w) >= MIN_FUZZY)
            self._by_initial = {}
            for w in sorted(words):
                self._by_initial.setdefault(w[0], []).append(w)
        return self._by_initial


# in an index folder's root: pyspellchecker's words, sorted (v1: SortedWords.of's layout; the digest is the list's)
ENGLISH_WORDS_FILE = "english-words-v1-{}.txt"


@cache
def _english() -> frozenset[str]:
    """pyspellchecker's English word list (MIT; its words, lower-case, with their frequencies as JSON). Decoding
    it takes some 150 ms: a process with an index asks ``english_words`` instead."""
    import gzip
    import json

    return frozenset(json.loads(gzip.decompress(_english_data())))


def _english_data() -> bytes:
    import pkgutil

    data = pkgutil.get_data("spellchecker", "resources/en.json.gz")
    if data is None:  # pragma: no cover - an installation without its data files
        raise RuntimeError("pyspellchecker's English word list is missing: reinstall pyspellchecker")
    return data


def english_word(word: str) -> bool:
    """True for an ordinary English word (``word`` lower-case)."""
    return word.lower() in _english()


class SortedWords:
    """Membership in words sorted by their UTF-8 bytes, one per line (each line ends in a newline), found by
    binary search over the bytes: a process asks about a few words, and building a set of 160k costs 40 ms."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def of(cls, words) -> SortedWords:
        """The words, sorted (an empty one, one holding a newline and one that is not text, with a lone surrogate,
        are left out)."""
        encoded = sorted({w.encode("utf-8") for w in words if w and "\n" not in w and _encodes(w)})
        return cls(b"".join(w + b"\n" for w in encoded))

    def __contains__(self, word: str) -> bool:
        key = word.encode("utf-8", "surrogatepass")
        data = self.data
        lo, hi = 0, len(data)  # both at the start of a line (or the end)
        while lo < hi:
            mid = (lo + hi) // 2
            start = data.rfind(b"\n", lo, mid) + 1 or lo
            end = data.index(b"\n", start)
            line = data[start:end]
            if line == key:
                return True
            if line < key:
                lo = end + 1
            else:
                hi = start
        return False


def _encodes(word: str) -> bool:
    try:
        word.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a lone surrogate
        return False


def english_words_file(folder: Path) -> Path:
    """Where ``english_words`` keeps its copy of this pyspellchecker's list in ``folder``."""
    import hashlib

    return folder / ENGLISH_WORDS_FILE.format(hashlib.blake2b(_english_data(), digest_size=8).hexdigest())


@cache
def english_words(folder: Path) -> Callable[[str], bool]:
    """``english_word`` through a sorted copy of the list kept in ``folder`` (a private index root, made on first
    use and named by the list's own digest, so another pyspellchecker version makes its own): a process reads it
    in a few milliseconds. A copy whose digest line does not match its words is made again."""
    import hashlib

    from evidence_cli.errors import EvidenceError

    def digest_line(body: bytes) -> bytes:
        return b"# " + hashlib.blake2b(body, digest_size=16).hexdigest().encode()

    path = english_words_file(folder)
    try:
        head, _, body = path.read_bytes().partition(b"\n")
    except OSError:
        head = body = b""
    # every line ends in a newline, as SortedWords reads it
    if head == digest_line(body) and (not body or body.endswith(b"\n")):
        words = SortedWords(body)
    else:
        words = SortedWords.of(_english())
        try:
            from evidence_cli.store import atomic_write_text

            atomic_write_text(path, [digest_line(words.data).decode("ascii"), "\n", words.data.decode("utf-8")],
                              mode=0o600)
        except EvidenceError:  # a read-only cache: the words are still known to this process
            pass
    return lambda word: word.lower() in words


@cache
def function_words() -> frozenset[str]:
    """English function words (data/function_words.txt): a missing one is no gap in the corpus."""
    from evidence_cli.paths import PACKAGE_DATA

    lines = (PACKAGE_DATA / "function_words.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


def plan_query(text: str, matcher: AliasMatcher, *, refs=(), entities=(), sections=(), kinds=(),
               tiers=(), docs=()) -> QueryPlan:
    """Turn user text and filter options into a QueryPlan; raise UsageError on a bad field value."""
    if len(text) > 2000:
        raise UsageError("query is longer than 2000 characters; shorten it")
    plan = QueryPlan(text=text)
    # one spelling of the same text: composed accents ("naïve" typed as i + ¨), and the hyphens of word processors
    text = unicodedata.normalize("NFC", text).translate(_HYPHENS)
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

    def take_ref_question(m: re.Match) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", m.group(1) or m.group(2))]
        if not numbers or min(numbers) < 1:
            return m.group(0)
        plan.ref_questions.append(" ".join(m.group(0).split()))
        plan.refs.extend(n for n in numbers if n not in plan.refs)
        return " "

    rest = _REF_QUESTION.sub(take_ref_question, _FIELD_TERM.sub(take_field, text))
    spans, blanked = matcher.find(rest)
    # typos first, then names again: "mismatch repiar deficiency" is the name "mismatch repair deficiency"
    for m in reversed(list(_WORD.finditer(blanked))):
        word = m.group(0)
        if word.casefold() in QUESTION_WORDS or word.isdigit() or matcher.shorthand(word) is not None:
            continue
        fixed = matcher.correct(word)
        if fixed and fixed != word.casefold():
            plan.corrections[word] = fixed
            rest = rest[:m.start()] + fixed + rest[m.end():]
    if plan.corrections:
        plan.corrections = dict(reversed(plan.corrections.items()))
        spans, blanked = matcher.find(rest)
    class_words: set[str] = set()
    for a, b, eid in spans:
        # "besides atezolizumab", "other than CTLA-4": the user wants the others, so that name is not searched
        if _EXCLUDING.search(rest[max(0, a - 14):a]):
            continue
        surface = rest[a:b]
        term = _name_term(surface, eid, matcher, rest[b:])
        plan.terms.append(term)
        if term.reading and not surface.casefold().startswith("anti-"):
            # "PD-1 blockers": the class word still ranks, but is part of the name's reading, not a subject
            m = _CLASS_AFTER.match(blanked, b)
            if m:
                class_words.update(w.casefold() for w in _WORD.findall(m.group(0)))
        if term.reading:
            plan.readings[surface if surface.casefold().startswith("anti-") else term.label] = term.reading
    words = [m.group(0) for m in _WORD.finditer(blanked) if m.group(0).casefold() not in QUESTION_WORDS]
    if (plan.terms or plan.refs or plan.doc_refs or plan.entity_filter or plan.sections or plan.kinds or plan.tiers
            or plan.docs or any(w.casefold() not in REQUEST_WORDS for w in words)):
        words = [w for w in words if w.casefold() not in REQUEST_WORDS]
    for word in words:
        low = word.casefold()
        short = matcher.shorthand(word)
        if short is not None:
            plan.terms.append(_shorthand_term(word, short, matcher))
            plan.readings[word] = short.means
            continue
        plan.terms.append(_word_term(low))
        plan.terms[-1].incidental = low in class_words
    # one term per name or word: "PD-1 and PD-1 blockers" asks about PD-1 once
    merged: dict[tuple, Term] = {}
    for t in plan.terms:
        merged.setdefault((tuple(t.entities), tuple(t.phrases)), t)
    plan.terms = list(merged.values())
    plan.entities = list(dict.fromkeys(e for t in plan.terms for e in t.entities))
    return plan


def nothing_to_search(text: str, filters: str) -> str:
    """What to say of a query with nothing to search for (``filters``: how to give a filter here)."""
    if text.strip():  # "why", "tell me about": question and request words are not searched
        return (f"nothing to search for in {text.strip()!r}: question words and words such as 'the' are not "
                "searched; say what it is about, e.g. \"why do tumours resist PD-1 blockade\"")
    return f"nothing to search for: give a query text or {filters}"


def _word_term(word: str, label: str | None = None) -> Term:
    return Term(label or word, phrases=list(dict.fromkeys((word, *SYNONYMS.get(word, ())))))


def _name_term(surface: str, eid: str, matcher: AliasMatcher, after: str) -> Term:
    """A recognised name; "anti-X" and "X blockers" also stand for the drugs that target X. Worked out once per
    matcher for the same name, id and class word after it: a new Term each call."""
    key = (surface, eid, _CLASS_AFTER.match(after) is not None)
    term = matcher.name_terms.get(key)
    if term is None:
        if len(matcher.name_terms) >= NAME_TERMS:
            matcher.name_terms.clear()
        term = matcher.name_terms[key] = _new_name_term(surface, eid, matcher, key[2])
    return replace(term, phrases=list(term.phrases), entities=list(term.entities), rank_words=list(term.rank_words))


def _new_name_term(surface: str, eid: str, matcher: AliasMatcher, class_after: bool) -> Term:
    term = Term(surface, entities=[eid])
    # the words of a name still count ("PD-L1 expression" also finds "expression"), as the same term
    # (whole words only: "HAVCR2" is a symbol, not the word "HAVCR"; and they are not typo-corrected)
    words = [w.casefold() for w in re.findall(r"\b[^\W\d_]{4,}\b", _strip_anti(surface))]
    words = [w for w in words if w not in QUESTION_WORDS]
    if words and " ".join(words) == " ".join(re.findall(r"[^\W_]+", _strip_anti(surface).casefold())):
        term.phrases.append(" ".join(words))  # the name is these words ("nivolumab"): they find it untagged too
    else:  # part of a name ("interferon" of "interferon-α") is not the name: it ranks, it does not match
        term.rank_words = words
    term.gene = matcher.genes.get(eid) or _inner_name(_strip_anti(surface), eid, matcher)
    # the drugs that target it, of those the corpus mentions (naming others would suggest it covers them)
    drugs = [d for d in matcher.targets.get(eid, []) if matcher.in_corpus is None or matcher.in_corpus(d)]
    label = matcher.labels.get(eid, eid)
    if drugs and (surface.casefold().startswith("anti-") or class_after):
        term.entities.extend(d for d in drugs if d not in term.entities)
        term.reading = f"{label} or a drug that targets it ({', '.join(drugs)})"
    elif (" " not in surface and len(_strip_anti(surface)) <= 10
          and _plain(_strip_anti(surface)) not in (_plain(label), _plain(eid))):
        term.reading = label  # a brand or abbreviation: "Keytruda" is pembrolizumab, "TMB" mutational load
    return term


def _inner_name(surface: str, eid: str, matcher: AliasMatcher) -> str | None:
    """Another entity named inside a name ("PD-L1" in "PD-L1 assay", "CD200" in "CD200 receptor"): with all the
    name's other words, a claim mentioning it mentions the name."""
    tokens = surface.split()
    for n in range(len(tokens) - 1, 0, -1):
        for i in range(len(tokens) - n + 1):
            part = " ".join(tokens[i:i + n])
            inner = matcher.exact.get(part) or matcher.folded.get(part.casefold())
            if inner and inner != eid:
                return inner
    return None


def _plain(name: str) -> str:
    """A name without case, punctuation or a plural s, to tell a real alias from a spelling ("TIM3", "T cell")."""
    return re.sub(r"[\W_]+", "", name.casefold()).removesuffix("s")


def _shorthand_term(word: str, short: Shorthand, matcher: AliasMatcher) -> Term:
    term = Term(word, phrases=[word.casefold()], reading=short.means)  # the short form itself, where printed
    for phrase in short.search:
        eid = matcher.resolve(phrase)
        if eid is not None:
            term.entities.append(eid)
        else:
            words = [w.casefold() for w in _WORD.findall(phrase) if w.casefold() not in QUESTION_WORDS]
            if words:
                term.phrases.append(" ".join(words))
    return term


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
    resolved: list[str] = []
    for wanted in plan.sections:
        head = " ".join(wanted.rstrip(".").split())
        if any(s == head or s.startswith(head + ".") for s in known_sections):
            resolved.append(wanted)
            continue
        # words of a heading ("replication arrest"): every section whose heading holds them, in that order
        words = _heading_key(head)
        titles = [s for s in known_sections if " " in s and words and f" {words} " in f" {_heading_key(s)} "]
        if not titles:
            shown = ", ".join(known_sections[:20]) + (f", … ({len(known_sections) - 20} more)"
                                                      if len(known_sections) > 20 else "")
            raise UsageError(f"unknown section {wanted!r}; sections here: {shown} (see `evidence sections`)")
        resolved.extend(titles)  # each heading whole, as the engines index it
    plan.sections[:] = resolved


def _heading_key(text: str) -> str:
    """A heading's words for matching: lower case, apostrophes and accents typed any way ("5´UTR" is "5'UTR"),
    without the punctuation around them ("(5'UTR)", "survival—MTT")."""
    return " ".join(re.findall(r"\w+", re.sub(r"[´'’`]", "", text.casefold())))


def _strip_anti(name: str) -> str:
    return name[5:] if name.casefold().startswith("anti-") else name
