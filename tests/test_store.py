"""claims.yaml: byte-stable re-ingest, curated edits survive, atomic writes, validation with file:line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_cli import store
from evidence_cli.errors import DataError
from evidence_cli.ingest import ingest
from tests.conftest import ROOT, STYLES


@pytest.fixture
def styles_claims(tmp_path: Path) -> Path:
    out = tmp_path / "claims.yaml"
    ingest([STYLES], out)
    return out


def test_reingest_of_unchanged_sources_is_byte_identical(styles_claims):
    before = styles_claims.read_bytes()
    report = ingest([STYLES], styles_claims)
    assert not report.written
    assert styles_claims.read_bytes() == before


def test_file_starts_with_a_comment_pointing_at_the_schema(styles_claims):
    first = styles_claims.read_text(encoding="utf-8").splitlines()[:4]
    assert first[0].startswith("# claims.yaml")
    assert any("claims.schema.json" in line for line in first)
    assert (Path(store.__file__).parent / "data" / "claims.schema.json").is_file()


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data)
    path.write_text(store.dump_claims(data), encoding="utf-8")


def test_edited_and_added_fields_survive_reingest(styles_claims):
    def edit(data):
        data["claims"][0]["kind"] = "strategy"
        data["claims"][1]["note"] = "checked against the PDF"

    _edit(styles_claims, edit)
    report = ingest([STYLES], styles_claims)
    claims = store.load_claims(styles_claims)["claims"]
    assert claims[0]["kind"] == "strategy"
    assert claims[0]["curated_fields"] == ["kind"]
    assert claims[1]["note"] == "checked against the PDF"
    assert "styles-abs-01: kept edited kind" in report.notes
    # and it stays stable from then on
    again = styles_claims.read_bytes()
    ingest([STYLES], styles_claims)
    assert styles_claims.read_bytes() == again


def test_other_documents_are_left_alone(tmp_path, corpus_copy):
    out = tmp_path / "claims.yaml"
    ingest([STYLES], out)
    ingest([corpus_copy / "immune-checkpoint-chapter.txt"], out)
    docs = [d["id"] for d in store.load_claims(out)["documents"]]
    assert docs == ["styles", "wong2017"]


def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "claims.yaml"
    target.write_text("old\n", encoding="utf-8")

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(DataError, match="No space left"):
        store.atomic_write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["claims.yaml"]


VALID = """\
schema_version: 1
documents:
- id: d
  path: d.txt
  sha256: %s
claims:
- id: d-1-01
  doc: d
  section: '1'
  section_title: One
  text: A sentence [1].
  refs: [1]
  span: [0, 15]
""" % ("a" * 64)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "file is empty"),
        ("claims: [\n", 2, "invalid YAML"),
        ("a:\n\tb: 1\n", 2, "invalid YAML"),
        ("- 1\n- 2\n", 1, "top level must be a mapping"),
        (VALID.replace("  refs: [1]\n", ""), 7, "'refs' is a required property"),
        (VALID.replace("refs: [1]", "refs: ['1']"), 12, "'1' should be of type integer"),
        (VALID.replace("refs: [1]", "refs: [one]"), 12, "should be of type integer"),
        (VALID.replace("  doc: d\n", "  doc: e\n"), 8, "unknown document 'e'"),
        (VALID.replace("section: '1'", "section: 1"), 9, "1 should be of type string"),
        (VALID + VALID[VALID.index("- id: d-1-01"):], 14, "duplicate claim id 'd-1-01'"),
        (VALID.replace("  text: A", "  text: B\n  text: A"), 12, "duplicate key 'text'"),
        (VALID.replace("schema_version: 1", "schema_version: 2"), 1, "1 was expected"),
        ("a: &x [1]\nb: *x\n", 1, "aliases"),
        (VALID.replace("  span: [0, 15]\n", "  span: [0]\n"), 13, "too short"),
    ],
)
def test_validation_reports_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "claims.yaml"
    path.write_text(text, encoding="utf-8")
    problems = store.validate_file(path)
    assert problems, text
    first = problems[0]
    assert first.path == str(path)
    assert first.line == line
    assert message in first.message
    with pytest.raises(DataError):
        store.load_claims(path)


def test_valid_file_has_no_problems(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert store.validate_file(path) == []
    assert store.load_claims(path)["claims"][0]["refs"] == [1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01\x02garbage", "NUL bytes"),
        (b"claims: caf\xe9\n", "not valid UTF-8"),
    ],
)
def test_binary_and_non_utf8(tmp_path, data, message):
    path = tmp_path / "claims.yaml"
    path.write_bytes(data)
    [problem] = store.validate_file(path)
    assert message in problem.message


def test_alias_bomb_is_refused_quickly(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    path = tmp_path / "claims.yaml"
    path.write_text(bomb, encoding="utf-8")
    [problem] = store.validate_file(path)
    assert "aliases" in problem.message


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_loader_never_raises_anything_but_data_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("h") / "claims.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        store.load_claims(path)
    except DataError as exc:
        assert exc.problems


def test_dump_never_writes_aliases_for_shared_objects(tmp_path):
    shared = ["A. Author"]
    data = {"schema_version": 1,
            "documents": [{"id": d, "path": f"{d}.txt", "sha256": "a" * 64, "authors": shared} for d in ("x", "y")],
            "claims": []}
    text = store.dump_claims(data)
    assert "&" not in text and "*" not in text
    path = tmp_path / "claims.yaml"
    path.write_text(text, encoding="utf-8")
    assert store.load_claims(path)["documents"][1]["authors"] == shared


_scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
_FIELDS = ["id", "doc", "section", "section_title", "text", "refs", "span", "paragraph", "kind", "author_year",
           "context_refs", "entities", "hedging", "numbers", "figure", "curated_fields", "ingest_hash"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_FIELDS), _values, st.booleans())
def test_fast_check_is_never_laxer_than_the_schema(field, value, on_doc):
    """The hand-written fast path may send valid files to the full check, but never lets an invalid one by."""
    data = yaml.safe_load(VALID)
    target = data["documents"][0] if on_doc else data["claims"][0]
    target[field] = value
    if store._quick_ok(data):
        assert next(store._schema_validator().iter_errors(data), None) is None


def test_ingest_parse_cache_equals_the_yaml(tmp_path, monkeypatch):
    """What ingest leaves in the parse cache is exactly what parsing the YAML gives, and the next load uses it."""
    out = tmp_path / "claims.yaml"
    ingest([STYLES], out, cache_dir=tmp_path / "idx")
    text = out.read_text(encoding="utf-8")
    assert store.parse_cache_path(tmp_path / "idx", out).is_file()
    parsed: list[str] = []
    real = store._parse_quietly
    monkeypatch.setattr(store, "_parse_quietly", lambda t: parsed.append(t) or real(t))
    assert store.load_claims(out, cache_dir=tmp_path / "idx") == yaml.safe_load(text)
    assert parsed == []  # the header (documents) is cached too


def _cached_and_full(path: Path, cache_dir: Path):
    """Outcomes of loading through the cache (twice: the second load reads what the first one wrote) and
    without it."""
    outcomes = []
    for cache in (cache_dir, cache_dir, None):
        try:
            outcomes.append(store.load_claims(path, cache_dir=cache))
        except DataError as exc:
            outcomes.append([str(p) for p in exc.problems])
    return outcomes


def test_a_hand_edit_parses_only_the_edited_claim(styles_claims, tmp_path, monkeypatch):
    cache_dir = tmp_path / "idx"
    store.load_claims(styles_claims, cache_dir=cache_dir)  # first load: whole parse, cache written
    text = styles_claims.read_text(encoding="utf-8")
    edited = text.replace("  refs: [1, 3]\n", "  refs: [1, 2]\n", 1)
    assert edited != text
    styles_claims.write_text(edited, encoding="utf-8")
    parsed: list[str] = []
    real = store._parse_quietly
    monkeypatch.setattr(store, "_parse_quietly", lambda t: parsed.append(t) or real(t))
    data = store.load_claims(styles_claims, cache_dir=cache_dir)
    assert data == yaml.safe_load(edited)
    assert len(parsed) == 1 and parsed[0].startswith("- id: ") and parsed[0].count("\n- id: ") == 0
    assert "refs: [1, 2]" in parsed[0]
    # a hand edit of a document (in the text before the claims) is parsed again, and only that text
    header_edit = edited.replace("\ndocuments:\n", "\ndocuments:\n# checked\n", 1)
    assert header_edit != edited
    styles_claims.write_text(header_edit, encoding="utf-8")
    parsed.clear()
    assert store.load_claims(styles_claims, cache_dir=cache_dir) == yaml.safe_load(header_edit)
    assert len(parsed) == 1 and "documents:" in parsed[0] and "- id: " not in parsed[0].split("claims:")[-1]
    # an edit that breaks a claim is reported with its line, as without the cache
    styles_claims.write_text(edited.replace("refs: [1, 2]", "refs: [one]", 1), encoding="utf-8")
    cached, again, full = _cached_and_full(styles_claims, cache_dir)
    assert cached == again == full and any(":" in p and "refs" in p for p in cached)


_YAML_BITS = st.sampled_from(["\n", "- ", "-", " ", "  ", "\t", '"', "'", "[", "]", "{", "}", ": ", "#", "|", ">",
                              "&a ", "*a", "---\n", "...\n", "\n- id: x\n", "claims:\n", "1", "x", "é", "null",
                              "~", "!!str ", "!!null ", "%TAG ! tag:x,2000:\n", "\r", "\u2028", "\x85", "{2019: x}",
                              "\n  note: {1: a}\n", "\n  note: 2020-01-01\n", "true: ", "|-\n", "\n  x: >\n    y"])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_loading_with_the_parse_cache_equals_a_full_parse(tmp_path_factory, data):
    """Whatever a hand edit does to the file, the cache gives the same claims, or the same errors, as no cache."""
    tmp = tmp_path_factory.mktemp("edit")
    claims_file = tmp / "claims.yaml"
    ingest([STYLES], claims_file, cache_dir=tmp / "idx")
    text = claims_file.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(at, min(len(text), at + 40)))
        text = text[:at] + "".join(data.draw(st.lists(_YAML_BITS, max_size=4))) + text[end:]
    claims_file.write_text(text, encoding="utf-8")
    if data.draw(st.booleans()):  # a first load (nothing cached) splits the file too
        store.parse_cache_path(tmp / "idx", claims_file).unlink()
    cached, again, full = _cached_and_full(claims_file, tmp / "idx")
    assert cached == again == full


def _first_claim_end(text: str) -> int:
    return text.index("\n- id: ", text.index("\n- id: ") + 1) + 1


@pytest.mark.parametrize("change", [
    pytest.param(lambda t: t.replace("  doc: styles\n", "  doc: styles\n  my_notes: {2019: checked}\n", 1),
                 id="number-as-key"),
    pytest.param(lambda t: t.replace("  doc: styles\n", "  doc: styles\n  checked_on: 2020-01-01\n", 1), id="date"),
    pytest.param(lambda t: t.replace("claims:\n", "claims:\n  null\n", 1), id="value-after-claims"),
    pytest.param(lambda t: t.replace("claims:\n", "claims:\n  !!null # c\n", 1), id="tag-after-claims"),
    pytest.param(lambda t: "%TAG !! tag:example.com,2000:\n---\n"
                 + t.replace("  doc: styles\n", "  doc: !!str styles\n", 1), id="tag-directive"),
    pytest.param(lambda t: t + "  note: >\n    last", id="last-block-without-newline"),
    pytest.param(lambda t: t.replace("  doc: styles\n", "  doc: styles\u2028  x: 1\n", 1), id="unicode-line-break"),
    pytest.param(lambda t: t.replace("  doc: styles\n", "  doc: styles\r  x: 1\n", 1), id="lone-cr"),
    pytest.param(lambda t: t[:_first_claim_end(t)].replace("  text: ", '  text: "q\n', 1) + t[_first_claim_end(t):]
                 .replace("  text: ", '  text: q"\n  other: ', 1), id="quote-across-items"),
])
def test_awkward_yaml_through_the_cache_equals_a_full_parse(styles_claims, tmp_path, change):
    """The cases an independent review found (each used to give different data through the cache)."""
    store.load_claims(styles_claims, cache_dir=tmp_path / "idx")  # prime the cache with the clean file
    styles_claims.write_text(change(styles_claims.read_text(encoding="utf-8")), encoding="utf-8")
    cached, again, full = _cached_and_full(styles_claims, tmp_path / "idx")
    assert cached == again == full


def test_many_claims_are_parsed_in_two_processes_with_the_same_result(styles_claims, tmp_path, monkeypatch):
    import multiprocessing

    started = []
    real_start = multiprocessing.Process.start
    monkeypatch.setattr(multiprocessing.Process, "start", lambda self: started.append(self) or real_start(self))
    monkeypatch.setattr(store, "PARALLEL_PARSE_MIN", 2)
    text = styles_claims.read_text(encoding="utf-8")
    blocks = store.split_claim_blocks(text)[1]
    assert len(blocks) > 2
    assert store._parse_blocks(blocks) == yaml.safe_load(text)["claims"]
    assert store.load_claims(styles_claims, cache_dir=tmp_path / "idx") == yaml.safe_load(text)
    broken = [*blocks[:-1], "- id: [unclosed\n"]
    assert store._parse_blocks(broken) is None
    assert len(started) == 3 and not any(p.is_alive() for p in started)


def test_edits_follow_their_sentence_when_the_source_shifts(tmp_path):
    """Inserting a sentence renumbers the claims after it; edits must stay on their own sentence, and the
    sentence that takes over the old id must keep its own refs."""
    src = tmp_path / "doc.txt"
    src.write_text(STYLES.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "claims.yaml"
    ingest([src], out)
    target_text = "The next sentence cites a mixed group [11–12, 14]."

    def edit(data):
        claim = next(c for c in data["claims"] if c["text"] == target_text)
        claim["note"] = "checked"
        claim["kind"] = "strategy"

    _edit(out, edit)
    src.write_text(src.read_text(encoding="utf-8").replace("Patients were enrolled", "Relapse is common. Patients "
                                                             "were enrolled"), encoding="utf-8")
    report = ingest([src], out)
    claims = {c["text"]: c for c in store.load_claims(out)["claims"]}
    moved = claims[target_text]
    assert (moved["id"], moved["note"], moved["kind"], moved["refs"]) == ("doc-1-07", "checked", "strategy",
                                                                         [11, 12, 14])
    assert claims["A citation may follow the full stop. [10]"]["refs"] == [10]
    assert "note" not in claims["A citation may follow the full stop. [10]"]
    assert not any(c.get("orphaned") for c in claims.values())
    assert "doc-1-07: kept edited kind" in report.notes


def test_a_deleted_sentence_with_edits_is_kept_orphaned_and_hidden(tmp_path):
    from evidence_cli.views.catalog import citation_index

    src = tmp_path / "doc.txt"
    src.write_text(STYLES.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "claims.yaml"
    ingest([src], out)
    _edit(out, lambda data: data["claims"][-2].update(note="keep me"))  # "Tumour responses ... [2]."
    src.write_text(src.read_text(encoding="utf-8").replace(
        "Tumour responses were durable in most patients, i.e. lasting more than 6 months [2]. An\n", "An\n"),
        encoding="utf-8")
    report = ingest([src], out)
    claims = store.load_claims(out)["claims"]
    orphan = next(c for c in claims if c.get("orphaned"))
    assert orphan["note"] == "keep me" and orphan["refs"] == [2]
    assert 2 not in [row["ref"] for row in citation_index(claims)]
    assert any("marked orphaned" in n for n in report.notes)


def test_a_header_json_cannot_hold_does_not_rewrite_the_cache_on_every_load(styles_claims, tmp_path, monkeypatch):
    """A document with a number as a key is valid YAML that JSON would not give back: that header is not cached,
    and loading the unchanged file again neither rewrites the parse cache nor gives other data."""
    text = styles_claims.read_text(encoding="utf-8")
    edited = text.replace("references_available: false}", "references_available: false, pagemap: {1: intro}}", 1)
    assert edited != text
    styles_claims.write_text(edited, encoding="utf-8")
    store.load_claims(styles_claims, cache_dir=tmp_path / "idx")  # the first load writes the cache
    writes: list[int] = []
    real = store._write_blocks
    monkeypatch.setattr(store, "_write_blocks", lambda *a: writes.append(1) or real(*a))
    for _ in range(2):
        assert store.load_claims(styles_claims, cache_dir=tmp_path / "idx") == yaml.safe_load(edited)
    assert writes == []


def _non_ascii_claims(tmp_path: Path) -> Path:
    source = tmp_path / "greek.txt"
    source.write_text("Interferon-γ signalling drives PD-L1 expression in naïve tumours [1].\n\n"
                      "References\n1. Müller A. Interferon-γ and PD-L1. J Immunol. 2015;1:1–2.\n", encoding="utf-8")
    return source


def test_the_parse_cache_is_ascii_and_gives_the_same_non_ascii_claims(tmp_path, monkeypatch):
    out, cache_dir = tmp_path / "claims.yaml", tmp_path / "idx"
    ingest([_non_ascii_claims(tmp_path)], out, cache_dir=cache_dir)
    text = out.read_text(encoding="utf-8")
    assert "Interferon-γ" in text
    raw = store.parse_cache_path(cache_dir, out).read_bytes()
    assert raw.isascii() and b"Interferon-\\u03b3" in raw
    parsed: list[str] = []
    real = store._parse_quietly
    monkeypatch.setattr(store, "_parse_quietly", lambda t: parsed.append(t) or real(t))
    assert store.load_claims(out, cache_dir=cache_dir) == yaml.safe_load(text)
    assert parsed == []


def test_a_parse_cache_written_with_raw_non_ascii_is_still_read(tmp_path, monkeypatch):
    """Caches written before the body was ASCII held UTF-8 letters; their MAC is over those bytes."""
    import json

    out, cache_dir = tmp_path / "claims.yaml", tmp_path / "idx"
    ingest([_non_ascii_claims(tmp_path)], out, cache_dir=cache_dir)
    text = out.read_text(encoding="utf-8")
    path = store.parse_cache_path(cache_dir, out)
    head, _, body = path.read_text(encoding="utf-8").partition("\n")
    old_body = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"))
    assert "γ" in old_body
    header = json.loads(head)
    secret = store._cache_secret(cache_dir, create=False)
    header["mac"] = store._mac(secret, old_body.encode("utf-8"))
    path.write_text(json.dumps(header) + "\n" + old_body, encoding="utf-8")
    parsed: list[str] = []
    real = store._parse_quietly
    monkeypatch.setattr(store, "_parse_quietly", lambda t: parsed.append(t) or real(t))
    assert store.load_claims(out, cache_dir=cache_dir) == yaml.safe_load(text)
    assert parsed == []
    # and the same body with a wrong MAC is not believed
    header["mac"] = store._mac(secret, old_body.replace("γ", "δ").encode("utf-8"))
    path.write_text(json.dumps(header) + "\n" + old_body, encoding="utf-8")
    assert store.load_claims(out, cache_dir=cache_dir) == yaml.safe_load(text)
    assert parsed != []


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.sampled_from("aγé\U0001f600\n"), max_size=50), st.integers(0, 3))
def test_text_digest_is_the_sha256_of_the_utf8_text(piece, repeat):
    import hashlib

    from evidence_cli.index import text_digest

    text = piece + "x" * ((1 << 20) * repeat // 2) + piece  # across the digest's 1 MiB slices
    assert text_digest(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_atomic_write_of_parts_and_large_non_ascii_text(tmp_path):
    big = "γé\U0001f600x" * ((1 << 20) // 3)  # several of the write's slices, letters of 2, 3 and 4 bytes
    target = tmp_path / "out.txt"
    store.atomic_write_text(target, ("head\n", "", big), mode=0o600)
    assert target.read_text(encoding="utf-8") == "head\n" + big
    assert (target.stat().st_mode & 0o777) == 0o600
    assert list(tmp_path.iterdir()) == [target]


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _JSON, max_size=6))
def test_the_parse_cache_body_is_written_as_json_dumps_would(blocks):
    import json

    assert "".join(store._json_parts(blocks)) == json.dumps(blocks, separators=(",", ":"))


def test_write_claims_writes_a_claim_at_a_time_what_dump_claims_gives_and_the_same_parse_cache(tmp_path):
    """The claims file written in parts is dump_claims's text, its parse cache the one write_parse_cache makes
    from that text (byte for byte: the same keys, claims and MAC); an unchanged file is left as it is."""
    import os

    data = yaml.safe_load((ROOT / "claims.yaml").read_text(encoding="utf-8"))  # the chapter: "IFN-γ"
    out = tmp_path / "claims.yaml"
    assert store.write_claims(out, data, tmp_path / "idx") is True
    text = store.dump_claims(data)
    assert out.read_text(encoding="utf-8") == text and "IFN-γ" in text
    streamed = store.parse_cache_path(tmp_path / "idx", out).read_bytes()
    store.write_parse_cache(tmp_path / "idx", out, text, data)
    assert store.parse_cache_path(tmp_path / "idx", out).read_bytes() == streamed
    before = os.stat(out)
    assert store.write_claims(out, data) is False
    after = os.stat(out)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.yaml", "idx"]  # no temporary file left


def test_write_claims_in_a_folder_it_cannot_write_to(tmp_path, monkeypatch):
    """Where no temporary file can be made, an unchanged claims file is fine (nothing to write) and a changed one
    is one clear error, the file left as it was."""
    import tempfile

    data = yaml.safe_load((ROOT / "claims.yaml").read_text(encoding="utf-8"))
    out = tmp_path / "claims.yaml"
    store.write_claims(out, data)
    text = out.read_text(encoding="utf-8")
    monkeypatch.setattr(tempfile, "mkstemp", lambda **kw: (_ for _ in ()).throw(PermissionError(13, "denied")))
    assert store.write_claims(out, data) is False
    data["claims"][0]["text"] += " (edited)"
    with pytest.raises(DataError, match="cannot write here"):
        store.write_claims(out, data)
    assert out.read_text(encoding="utf-8") == text
