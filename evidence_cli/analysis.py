"""The text analysis every search engine here shares: words as whoosh's RegexTokenizer finds them, lower-cased,
then Porter-stemmed. It is exactly whoosh's StemmingAnalyzer with no stop list (tests/test_engines.py compares the
two on generated text), so an index of either engine holds the same terms and a query is read the same way."""

from __future__ import annotations

import re

TOKEN = re.compile(r"[\w*]+(?:\.?[\w*]+)*")  # whoosh's default_pattern ("*" is kept for its wildcards)


_STEMS: dict[str, str] = {}  # word as written -> its term; a corpus has some 10^5 distinct words
_STEMS_MAX = 500_000


def stem(word: str) -> str:
    """The term of one word as the tokenizer found it (lower-cased, then Porter-stemmed)."""
    term = _STEMS.get(word)
    if term is None:
        from whoosh.lang.porter import stem as porter  # a pure-Python module: it imports nothing else of whoosh's

        if len(_STEMS) >= _STEMS_MAX:
            _STEMS.clear()
        term = _STEMS[word] = porter(word.lower())
    return term


def stems(text: str) -> list[str]:
    """The terms of ``text``, in order, with repeats."""
    get = _STEMS.get
    return [get(w) or stem(w) for w in TOKEN.findall(text)]


def stem_spans(text: str) -> list[tuple[str, int, int]]:
    """The terms of ``text`` with the character span of each word."""
    return [(stem(m.group()), m.start(), m.end()) for m in TOKEN.finditer(text)]
