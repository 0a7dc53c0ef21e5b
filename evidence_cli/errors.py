"""One exception hierarchy; every message says what went wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


class EvidenceError(Exception):
    """Base class: the CLI prints the message on stderr and exits with ``exit_code``."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: ``path:line: message``."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class DataError(EvidenceError):
    """A data file (claims.yaml, a corpus document, the lexicon) is malformed."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(EvidenceError):
    """A bad option, query or argument."""


class NotFoundError(EvidenceError):
    """A file or claim the user named does not exist."""


class OutputExistsError(EvidenceError):
    """Refusing to overwrite an existing file."""


class IndexError_(EvidenceError):
    """The search index cannot be built or opened."""
