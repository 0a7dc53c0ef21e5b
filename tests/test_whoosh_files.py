"""Reading whoosh's index without whoosh (engines.whoosh_files): what it refuses, and what happens then.
Its answers are compared with whoosh's own in tests/test_scoring.py."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from evidence_cli import index
from evidence_cli.engines import whoosh_backend, whoosh_files
from evidence_cli.errors import IndexError_
from evidence_cli.paths import BUNDLED_CLAIMS
from evidence_cli.query_plan import AliasMatcher, plan_query
from tests.conftest import damage as replace_with

QUESTIONS = ["TIM-3 ligands", "why do patients relapse on anti-PD-1 therapy", "PD-L1 expression kind:biomarker"]


def _answers(handle) -> list[list[tuple[str, float]]]:
    matcher = AliasMatcher(handle.aliases)
    return [[(h["id"], h["score"]) for h in index.run_query(handle, plan_query(q, matcher), limit=10, highlight=False)]
            for q in QUESTIONS]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("idx")
    handle = index.open_index(BUNDLED_CLAIMS, root, engine="whoosh")
    assert isinstance(handle.backend, whoosh_backend.FilesBackend)
    return handle.path


def _copy(built: Path, tmp_path: Path) -> Path:
    """A copy of the built index folder, in an index root of its own, found by open_index as fresh."""
    root = tmp_path / "root"
    root.mkdir(mode=0o700)
    shutil.copytree(built, root / built.name)
    return root / built.name


def test_an_index_without_a_manifest_is_read_by_whoosh_with_the_same_answers(built, tmp_path):
    folder = _copy(built, tmp_path)
    expected = _answers(index.open_index(BUNDLED_CLAIMS, folder.parent, engine="whoosh"))
    (folder / whoosh_files.MANIFEST).unlink()
    handle = index.open_index(BUNDLED_CLAIMS, folder.parent, engine="whoosh")
    assert not handle.built and isinstance(handle.backend, whoosh_backend.WhooshBackend)
    assert _answers(handle) == expected
    assert all(expected)


def test_a_manifest_of_another_format_is_left_to_whoosh(built, tmp_path):
    folder = _copy(built, tmp_path)
    manifest = json.loads((folder / whoosh_files.MANIFEST).read_text(encoding="utf-8"))
    (folder / whoosh_files.MANIFEST).write_text(json.dumps({**manifest, "format": 99}), encoding="utf-8")
    assert whoosh_files.open_files(folder) is None


@pytest.mark.parametrize("damage", ["truncate", "size", "garbage", "no-toc"])
def test_a_damaged_segment_is_rebuilt_on_opening(built, tmp_path, damage):
    folder = _copy(built, tmp_path)
    seg = next(folder.glob("*.seg"))
    manifest = json.loads((folder / whoosh_files.MANIFEST).read_text(encoding="utf-8"))
    if damage == "truncate":
        replace_with(seg, seg.read_bytes()[:1000])
    elif damage == "size":
        manifest["segments"][0]["size"] += 1
        (folder / whoosh_files.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    elif damage == "garbage":
        replace_with(seg, b"\x00" * seg.stat().st_size)
    else:  # whoosh's table of contents, which this reader does not read
        next(folder.glob("*.toc")).unlink()
    with pytest.raises(whoosh_files.Unreadable):
        whoosh_files.open_files(folder)
    handle = index.open_index(BUNDLED_CLAIMS, folder.parent, engine="whoosh")
    assert handle.built and isinstance(handle.backend, whoosh_backend.FilesBackend)
    assert _answers(handle)[0][0][0] == "wong2017-2.5-09"


def test_a_posting_block_damaged_after_opening_is_one_error_naming_the_folder(built, tmp_path):
    folder = _copy(built, tmp_path)
    files = whoosh_files.open_files(folder)
    seg = files.segments[0]
    info = seg.term_info("text", b"tim")
    block = seg.postings_base + whoosh_files._LONG_INT.unpack_from(seg.buf, info[-2])[0]
    damaged = bytearray(seg.buf)
    damaged[block:block + 4] = b"XXXX"  # the block's tag
    seg.buf = bytes(damaged)
    seg.terms.buf = seg.buf
    with pytest.raises(IndexError_) as caught:
        files.docs("text", "tim")
    message = str(caught.value)
    assert "text:'tim'" in message and str(folder) in message and "remove the folder" in message
    assert "\n" not in message


def test_stored_fields_damaged_after_opening_are_one_error_naming_the_folder(built, tmp_path):
    folder = _copy(built, tmp_path)
    files = whoosh_files.open_files(folder)
    seg = files.segments[0]
    start, length = seg._extent("._stored.col")
    damaged = bytearray(seg.buf)
    damaged[start:start + length // 2] = b"\xff" * (length // 2)  # the first claims' compressed pickles
    seg.buf = bytes(damaged)
    with pytest.raises(IndexError_, match=r"the stored fields of document 0 cannot be read .*remove the folder"):
        files.stored(0)


def test_a_pickle_naming_anything_but_an_array_is_refused():
    from array import array

    assert whoosh_files._loads(pickle.dumps((1, 2.5, "x", b"y", array("f", [1.0])), 2)) == (
        1, 2.5, "x", b"y", array("f", [1.0]))
    for planted in (print, shutil.rmtree, Path("/tmp")):
        with pytest.raises(whoosh_files.Unreadable, match="names"):
            whoosh_files._loads(pickle.dumps(planted, 2))


def test_an_index_with_deletions_is_not_described(built, tmp_path):
    """whoosh_files reads no deletion lists: such an index (never one this project writes) is whoosh's to read."""
    from whoosh import index as windex

    folder = _copy(built, tmp_path)
    ix = windex.open_dir(str(folder))
    assert whoosh_files.describe(ix) is not None
    writer = ix.writer()
    writer.delete_by_term("id", "wong2017-2.5-09")
    writer.commit(merge=False)
    assert whoosh_files.describe(windex.open_dir(str(folder))) is None
