from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "corpus" / "immune-checkpoint-chapter.txt"
STYLES = Path(__file__).parent / "data" / "styles.txt"


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
