"""The `evidence` command line: parse options, call the core, pick a renderer, map errors to exit codes.

Exit codes, like grep: 0 results found, 1 no results, 2 error (bad usage or bad data), 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from evidence_cli import __version__
from evidence_cli.errors import EvidenceError

EXIT_OK, EXIT_NO_RESULTS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

app = typer.Typer(
    name="evidence",
    help=(
        "Exact, cited answers from an immunotherapy review chapter.\n\n"
        "Every row carries the claim ids and reference numbers it rests on.\n\n"
        "Start with:  evidence query \"TIM-3 resistance\"   or   evidence approvals"
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    tsv = "tsv"
    markdown = "markdown"


ClaimsOpt = Annotated[
    Path | None,
    typer.Option("--claims", help="Claims file. Default: $EVIDENCE_CLAIMS, ./claims.yaml, then the bundled copy.",
                 show_default=False, dir_okay=False),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]


def err(message: str) -> None:
    """A note, warning or error for the user: always stderr, never stdout."""
    typer.echo(message, err=True)


def handle_errors(fn):
    """Turn EvidenceError into one readable message and exit code 2; Ctrl-C into 130; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EvidenceError as exc:
            err(f"evidence: error: {exc}" if "\n" not in str(exc) else str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err("evidence: interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # stdout closed early (e.g. `| head`): not an error for the user.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(EXIT_OK) from None

    return wrapper


def command(*args, **kwargs):
    def register(fn):
        return app.command(*args, **kwargs)(handle_errors(fn))

    return register


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evidence {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Exact, cited answers from an immunotherapy review chapter."""


@command()
def ingest(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(help="Corpus .txt files or folders. Default: $EVIDENCE_CORPUS, then ./corpus.",
                       show_default=False),
    ] = None,
    claims: Annotated[
        Path | None,
        typer.Option("--claims", help="Claims file to write. Default: $EVIDENCE_CLAIMS, then ./claims.yaml.",
                     show_default=False, dir_okay=False),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the YAML to stdout; write nothing.")] = False,
    no_tag: Annotated[bool, typer.Option("--no-tag", help="Skip spaCy entity, hedging and tier tagging.")] = False,
) -> None:
    """Split corpus documents into citation-tagged claims in claims.yaml.

    Example: evidence ingest corpus/

    Cleans the PDF text (headers, footers, licence line, line-end hyphens, figure captions), keeps section numbers,
    parses [n], [n-m], [n, m] and (Author 2010) citations, and tags entities, hedging, claim kind and evidence
    tier. Re-ingesting unchanged sources rewrites nothing; fields you edited in claims.yaml are kept.
    """
    from evidence_cli import paths
    from evidence_cli.ingest import ingest as run_ingest

    out = paths.claims_output_path(claims)
    tagger = None
    if not no_tag:
        from evidence_cli.tagging import tag_claims

        tagger = tag_claims
    report, text = run_ingest(paths.corpus_sources(sources), out, tag=tagger, dry_run=dry_run, progress=None)
    if dry_run:
        sys.stdout.write(text)
        return
    for note in report.notes:
        err(f"note: {note}")
    state = "wrote" if report.written else "unchanged"
    err(f"{state} {out}: {report.claims} claims from {', '.join(report.documents)}")


@command()
def validate(claims: ClaimsOpt = None) -> None:
    """Check a claims file; print every problem as path:line: message.

    Example: evidence validate --claims claims.yaml

    Exit 0 when the file is valid, 2 otherwise. The schema is evidence_cli/data/claims.schema.json.
    """
    from evidence_cli import paths, store

    path = paths.claims_path(claims)
    problems = store.validate_file(path)
    if problems:
        for p in problems:
            err(str(p))
        err(f"{path}: {len(problems)} problem(s); fix them, or re-run `evidence ingest` to regenerate the file")
        raise typer.Exit(EXIT_ERROR)
    err(f"{path}: valid")


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err("evidence: interrupted")
        sys.exit(EXIT_INTERRUPTED)
