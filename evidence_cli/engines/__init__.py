"""Search engines behind the index adapter (evidence_cli/index.py).

Each engine module has ``write(target, records, progress)``, which builds an index of the claims' records into a
new folder, and ``open_backend(folder)``, which returns a backend: the few operations the search needs (term statistics,
the claims matching a term as a lazy set, BM25 top-k, stored fields, filters). Text is analysed in Python by
evidence_cli.analysis for every engine, so the terms and the reading of a query are the same whichever engine
holds them.

- ``whoosh`` (the default; pure Python): builds in about 0.5 s per 1,000 claims; right for a few papers to a few
  hundred. whoosh writes the index; a query reads its files through whoosh_files, without importing whoosh.
- ``tantivy`` (the extra ``evidence-cli[tantivy]``; tantivy-py, Rust): builds and searches a large library many
  times faster.
"""

from __future__ import annotations

import os

from evidence_cli.errors import UsageError

ENGINES = ("whoosh", "tantivy")
DEFAULT = "whoosh"


def engine_name(option: str | None = None) -> str:
    """The engine to use: the option, then $EVIDENCE_ENGINE, then whoosh. Never picked by what is installed."""
    name = option if option is not None else os.environ.get("EVIDENCE_ENGINE") or DEFAULT
    where = "--engine" if option is not None else "$EVIDENCE_ENGINE"
    if not isinstance(name, str) or name.strip().lower() not in ENGINES:
        raise UsageError(f"{where}: unknown search engine {name!r}; choose one of: {', '.join(ENGINES)}")
    return name.strip().lower()


def engine_module(name: str):
    """The module of engine ``name``; a usage error naming the extra to install when its library is missing."""
    if name == "whoosh":
        from evidence_cli.engines import whoosh_backend

        return whoosh_backend
    if name == "tantivy":
        try:
            import tantivy  # noqa: F401
        except ImportError:
            raise UsageError("the tantivy engine needs the tantivy package: pip install 'evidence-cli[tantivy]' "
                             "(or choose --engine whoosh)") from None
        from evidence_cli.engines import tantivy_backend

        return tantivy_backend
    raise UsageError(f"unknown search engine {name!r}; choose one of: {', '.join(ENGINES)}")
