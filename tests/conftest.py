from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "corpus" / "immune-checkpoint-chapter.txt"
STYLES = Path(__file__).parent / "data" / "styles.txt"


ENGINES = ["whoosh"]
try:  # the suite runs once per engine; tantivy is part of the test extra, so CI always runs both
    import tantivy  # noqa: F401

    ENGINES.append("tantivy")
except ImportError:
    pass


@pytest.fixture(scope="session", params=ENGINES, autouse=True)
def engine(request):
    """Every test runs with each search engine, chosen as a user would: $EVIDENCE_ENGINE."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVIDENCE_ENGINE", request.param)
        yield request.param


INDEX_DATA = (".seg", ".idx", ".store", ".term", ".fast", ".fieldnorm", ".pos",  # whoosh's and tantivy's files
              ".bin", ".offsets")  # and the claims' stored fields beside tantivy's
INDEX_TABLES = ("*.toc", "meta.json")  # whoosh's table of contents; tantivy's segment list


def index_data_files(folder: Path) -> list[Path]:
    """The engine's data files in an index folder (not the adapter's JSON)."""
    return [p for p in folder.iterdir() if p.suffix in INDEX_DATA]


def damage(path: Path, data: bytes) -> None:
    """Give an index file other bytes as a new file in its place, as a damaged copy would be. Never in place: the
    engines map their files into memory, and an index this process opened before may still be mapped (by an
    object not yet collected, or an engine's thread); touching a mapped page past a truncated end is a SIGBUS."""
    import os

    tmp = path.with_name(path.name + ".damaged")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@pytest.fixture(scope="session")
def chapter_claims(tmp_path_factory) -> dict:
    """The chapter ingested (with tagging) once per test session into a temporary claims file."""
    from evidence_cli.ingest import ingest
    from evidence_cli.store import load_claims
    from evidence_cli.tagging import tag_claims

    folder = tmp_path_factory.mktemp("chapter")
    out = folder / "claims.yaml"
    ingest([CHAPTER], out, tag=tag_claims)
    return load_claims(out)


@pytest.fixture(scope="session")
def by_id(chapter_claims) -> dict[str, dict]:
    return {c["id"]: c for c in chapter_claims["claims"]}


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of the corpus folder (document + metadata)."""
    dest = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", dest)
    return dest


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> str:
    """An index folder shared by the tests of one module."""
    return str(tmp_path_factory.mktemp("index"))
