"""The text analysis every search engine here shares: words as whoosh's RegexTokenizer finds them, lower-cased,
then Porter-stemmed. It is exactly whoosh's StemmingAnalyzer with no stop list (tests/test_engines.py compares the
two on generated text), so an index of either engine holds the same terms and a query is read the same way."""

from __future__ import annotations

import re
from functools import lru_cache

TOKEN = re.compile(r"[\w*]+(?:\.?[\w*]+)*")  # whoosh's default_pattern ("*" is kept for its wildcards)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    from whoosh.lang.porter import stem as porter  # a pure-Python module: it imports nothing else of whoosh's

    return porter(word)


def stems(text: str) -> list[str]:
    """The terms of ``text``, in order, with repeats."""
    return [stem(m.group().lower()) for m in TOKEN.finditer(text)]


def stem_spans(text: str) -> list[tuple[str, int, int]]:
    """The terms of ``text`` with the character span of each word."""
    return [(stem(m.group().lower()), m.start(), m.end()) for m in TOKEN.finditer(text)]
