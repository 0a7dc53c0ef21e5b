"""The English word list that keeps typo correction off ordinary words: its sorted copy in the index root."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence_cli import index
from evidence_cli.paths import BUNDLED_CLAIMS
from evidence_cli.query_plan import SortedWords, _english, english_word, english_words, english_words_file

words = st.lists(st.text(min_size=0, max_size=6), max_size=40)


@given(words, st.lists(st.text(max_size=6), max_size=20))
def test_sorted_words_hold_exactly_the_words_given(given_words, asked):
    found = SortedWords.of(given_words)
    wanted = {w for w in given_words if w and "\n" not in w}
    for word in [*given_words, *asked]:
        assert (word in found) == (word in wanted)


def test_sorted_words_of_nothing_hold_nothing():
    assert "a" not in SortedWords.of([]) and "" not in SortedWords.of([])


@pytest.fixture
def fresh():
    english_words.cache_clear()
    yield
    english_words.cache_clear()


SAMPLE = ["rates", "light", "exposure", "survival", "the", "pembrolizumb", "nivolumab", "qwxzv", "zebra", "a"]


def test_the_copy_is_made_once_and_answers_as_the_list_does(tmp_path, fresh):
    is_english = english_words(tmp_path)
    path = english_words_file(tmp_path)
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600
    assert [is_english(w) for w in SAMPLE] == [english_word(w) for w in SAMPLE]
    assert is_english("Rates") and is_english("light") and not is_english("qwxzv")
    english_words.cache_clear()
    made = path.stat().st_mtime_ns
    again = english_words(tmp_path)  # another process: reads the copy
    assert path.stat().st_mtime_ns == made
    assert [again(w) for w in SAMPLE] == [english_word(w) for w in SAMPLE]
    lines = path.read_bytes().split(b"\n")
    assert len(lines) - 2 == len(_english())  # the digest line, every word, and the last newline


def test_a_damaged_copy_is_made_again(tmp_path, fresh):
    english_words(tmp_path)
    path = english_words_file(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # cut short: the words after the cut would be "not English"
    english_words.cache_clear()
    is_english = english_words(tmp_path)
    assert is_english("zebra")
    assert path.read_bytes() == whole


def test_a_folder_that_cannot_be_written_still_answers(tmp_path, fresh, monkeypatch):
    from evidence_cli import store
    from evidence_cli.errors import DataError, Problem

    def refuse(path, *args, **kwargs):
        raise DataError(Problem(str(path), None, "cannot write here: Read-only file system"))

    monkeypatch.setattr(store, "atomic_write_text", refuse)
    is_english = english_words(tmp_path)
    assert is_english("light") and not is_english("qwxzv")
    assert not english_words_file(tmp_path).exists()


def test_queries_on_an_index_use_the_copy_in_its_root(tmp_path, fresh):
    handle = index.open_index(BUNDLED_CLAIMS, tmp_path)
    matcher = index.matcher(handle)
    assert matcher.correct("survival") is None and matcher.correct("rates") is None  # English: left alone
    assert matcher.correct("pembrolizumb") == "pembrolizumab"
    assert english_words_file(tmp_path).is_file()


def test_an_old_copy_of_another_list_is_removed_when_stale(tmp_path, fresh):
    english_words(tmp_path)
    current = english_words_file(tmp_path)
    other = tmp_path / "english-words-0000000000000000.txt"
    other.write_bytes(b"# x\n")
    recent = tmp_path / "english-words-1111111111111111.txt"
    recent.write_bytes(b"# x\n")
    old = time.time() - (index.STALE_DAYS + 1) * 86400
    os.utime(other, (old, old))
    os.utime(current, (old, old))
    index._prune(tmp_path, tmp_path / "none", BUNDLED_CLAIMS)
    assert not other.exists()
    assert current.exists() and recent.exists()  # this list's copy stays, however old; a recent other one too


def test_a_word_that_is_not_text_is_left_out_and_the_copy_still_made(tmp_path, fresh, monkeypatch):
    from evidence_cli import query_plan

    monkeypatch.setattr(query_plan, "_english", lambda: frozenset({"light", "bad\ud800", "rates"}))
    is_english = english_words(tmp_path)
    assert is_english("light") and is_english("rates") and not is_english("bad\ud800")
    assert english_words_file(tmp_path).read_bytes().endswith(b"\nlight\nrates\n")


def test_a_copy_whose_last_line_has_no_newline_is_made_again(tmp_path, fresh):
    import hashlib

    english_words(tmp_path)
    path = english_words_file(tmp_path)
    body = b"light\nzebra"  # a digest that agrees, but a last word SortedWords could not read
    path.write_bytes(b"# " + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b"\n" + body)
    english_words.cache_clear()
    is_english = english_words(tmp_path)
    assert is_english("zebra") and is_english("rates")
    assert len(path.read_bytes()) > 1000


def test_pruning_leaves_the_copies_alone_when_the_list_cannot_be_read(tmp_path, monkeypatch):
    from evidence_cli import query_plan

    other = tmp_path / "english-words-0000000000000000.txt"
    other.write_bytes(b"# x\n")
    old = time.time() - (index.STALE_DAYS + 1) * 86400
    os.utime(other, (old, old))

    def missing():
        raise RuntimeError("pyspellchecker's English word list is missing: reinstall pyspellchecker")

    monkeypatch.setattr(query_plan, "_english_data", missing)
    index._prune(tmp_path, tmp_path / "none", BUNDLED_CLAIMS)  # a build's tidying never fails it
    assert other.exists()
