"""evidence: a command-line literature and evidence assistant with a citation index.

    from evidence_cli import Corpus
    Corpus().query("TIM-3 ligands").hits

The API (``evidence_cli.api``) is imported on first use, so the command line's start-up does not pay for it.
"""

__version__ = "0.1.0"

_API = ("Corpus", "QueryResult", "Claim", "StoredClaim", "Document", "CitationEntry", "Approval", "Mechanism",
        "Biomarker", "Regimen", "mechanism_ids")
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        from evidence_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'evidence_cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
