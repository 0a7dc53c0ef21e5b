"""The fast claims writer writes what PyYAML writes, byte for byte."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence_cli import store, yaml_writer
from tests.conftest import ROOT


def pyyaml(data: dict) -> str:
    return yaml.dump(data, Dumper=store._dumper(), sort_keys=False, allow_unicode=True, default_flow_style=None,
                     width=10_000)


def test_the_chapter_is_written_byte_for_byte_as_pyyaml_does():
    data = yaml.load((ROOT / "claims.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    assert yaml_writer.dump(data) == pyyaml(data)
    assert store.dump_claims(data) == (ROOT / "claims.yaml").read_text(encoding="utf-8")


# strings as claims hold them, and the traps of YAML: reserved words, numbers, dates, indicators, colons, hashes,
# quotes, spaces at the ends, line breaks, unicode and characters YAML must escape
_TRAPS = st.sampled_from(["yes", "No", "null", "~", "1.5", "2.1", "007", "0x1F", "1e3", ".inf", "2017-01-01",
                          "- item", "? q", ": x", "a: b", "a #b", "a#b", "a:", "[x]", "{y}", "x, y", "'q'", '"q"',
                          " lead", "trail ", "", "line\nbreak", "tab\there", "é ü ß γ", "IFN-γ", "≥5%", "\u2028",
                          "\x85", "\ufeff", "back\\slash", "%x", "@x", "`x`", "!x", "&x", "*x", "|x", ">x", "(x)",
                          "x (y)", "Wong R, Cameron R.", "[45]", "1 in 33"])
_STRINGS = st.one_of(_TRAPS, st.text(max_size=30), st.text(alphabet="ab :#,-'\"[]{}!&*|>%@`?\n\t ", max_size=12))
_SCALARS = st.one_of(_STRINGS, st.integers(-10**6, 10**6), st.booleans(), st.none())
_KEYS = st.one_of(st.sampled_from(["id", "text", "refs", "note", "1", "2.5", "yes"]), st.text(min_size=1, max_size=8))
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=4),
    st.lists(st.dictionaries(_KEYS, _SCALARS, min_size=1, max_size=4), max_size=3),
    st.dictionaries(_KEYS, _SCALARS, max_size=3),
    st.dictionaries(_KEYS, st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3)), max_size=3),
    st.lists(st.lists(_SCALARS, max_size=2), max_size=2),  # an unusual shape: PyYAML writes it
)
_ITEMS = st.lists(st.dictionaries(_KEYS, _VALUES, max_size=6), max_size=4)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=_ITEMS, claims=_ITEMS)
def test_any_claims_mapping_is_written_as_pyyaml_writes_it(documents, claims):
    data = {"schema_version": 1, "documents": documents, "claims": claims}
    assert yaml_writer.dump(data) == pyyaml(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=_ITEMS, claims=_ITEMS)
def test_the_parts_a_claims_file_is_written_in_are_its_claim_blocks(documents, claims):
    """store.write_claims hashes each claim's part as the parse cache's key: they are the blocks a reader of the
    file finds (store._claim_starts), whenever it finds any, and together they are the file's text."""
    data = {"schema_version": 1, "documents": documents, "claims": claims}
    head, parts = store._claims_parts(data)
    parts = list(parts or ())
    text = store.dump_claims(data)
    assert head + "".join(parts) == text
    starts = store._claim_starts(text)
    if starts is not None:
        assert [head, *parts] == [text[: starts[0]], *(text[a:b] for a, b in store._spans(starts, len(text)))]
