"""Where things live: option > EVIDENCE_* environment variable > working directory > bundled default."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from evidence_cli.errors import IndexError_

PACKAGE_DATA = Path(__file__).parent / "data"
BUNDLED_CLAIMS = PACKAGE_DATA / "claims.yaml"
LEXICON = PACKAGE_DATA / "lexicon.yaml"
CLAIMS_SCHEMA = PACKAGE_DATA / "claims.schema.json"
DOCUMENT_SUFFIXES = (".pdf", ".txt", ".md")
_FOLDER_NOTES = re.compile(r"^(readme|licen[cs]e|copying|changelog|changes|notice|authors|contributing)\b",
                           re.IGNORECASE)


def claims_path(option: Path | None = None) -> Path:
    """The claims file to read: --claims, then $EVIDENCE_CLAIMS, then ./claims.yaml, then the bundled copy."""
    if option is not None:
        return option
    env = os.environ.get("EVIDENCE_CLAIMS")
    if env:
        return Path(env)
    local = Path("claims.yaml")
    if local.is_file():
        return local
    return BUNDLED_CLAIMS


def claims_output_path(option: Path | None = None) -> Path:
    """The claims file ingest writes: --claims, then $EVIDENCE_CLAIMS, then ./claims.yaml."""
    if option is not None:
        return option
    env = os.environ.get("EVIDENCE_CLAIMS")
    return Path(env) if env else Path("claims.yaml")


def corpus_sources(sources: list[Path] | None = None) -> list[Path]:
    """Corpus documents to ingest: the arguments, then $EVIDENCE_CORPUS, then ./corpus.

    A directory stands for the documents in it (``*.pdf``, ``*.txt``, ``*.md``), in name order, except the
    folder's own notes (README, LICENSE, CHANGELOG...); name such a file to ingest it anyway.
    """
    if not sources:
        env = os.environ.get("EVIDENCE_CORPUS")
        sources = [Path(env)] if env else [Path("corpus")]
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if p.suffix.lower() in DOCUMENT_SUFFIXES and p.is_file()
                           and not _FOLDER_NOTES.match(p.name))
            if not found:
                from evidence_cli.errors import DataError, Problem

                raise DataError(Problem(str(src), None, "no .pdf, .txt or .md documents in this folder (subfolders "
                                        "are not searched); pass the files or their folder"))
            files.extend(found)
        else:
            files.append(src)
    return files


def index_dir(option: Path | None = None) -> Path:
    """The index cache: --index-dir, then $EVIDENCE_INDEX_DIR, then the user cache directory."""
    if option is not None:
        return option
    env = os.environ.get("EVIDENCE_INDEX_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("evidence", appauthor=False)) / "index"


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid
        return str(os.getuid())


def private_folder(folder: Path) -> None:
    """Make sure the cache folder is the user's own: created 0700 whatever the umask; an existing folder that
    another user owns, or that group or others may write, is refused and never read. whoosh unpickles its index
    files, and the parse cache holds claims, so whoever can write here could run code or show false claims."""
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700)
            folder.chmod(0o700)
            return
        st = folder.stat()
    except OSError as exc:
        raise IndexError_(f"{folder}: cannot use the index folder ({exc.strerror}); set --index-dir or "
                          "$EVIDENCE_INDEX_DIR to a folder of your own") from None
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        who = "another user owns it" if st.st_uid != os.getuid() else "group or others may write to it"
        if st.st_uid == os.getuid() and not st.st_mode & stat.S_ISVTX:
            fix = f"use a private one (--index-dir, $EVIDENCE_INDEX_DIR) or run chmod 700 {folder}"
        else:  # another user's, or a shared folder such as /tmp (sticky): its mode is not this user's to change
            fix = f"use a folder of your own, e.g. --index-dir {folder / ('evidence-index-' + _user())}"
        raise IndexError_(f"{folder}: refusing to read this index folder: {who}, and an index can carry "
                          f"code; {fix}")
