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
import typer.core

from evidence_cli import __version__
from evidence_cli.errors import EvidenceError, NotFoundError, OutputExistsError, UsageError

EXIT_OK, EXIT_NO_RESULTS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

class _Commands(typer.core.TyperGroup):
    """Commands in the order a newcomer meets them: read documents, ask, look closer, views, notes, the rest."""

    ORDER = ("ingest", "validate", "docs", "query", "show", "refs", "sections", "entities", "approvals",
             "resistance", "biomarkers", "regimens", "batch", "export", "verify", "cite", "glossary", "mcp")

    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: self.ORDER.index(n) if n in self.ORDER else len(self.ORDER))


app = typer.Typer(
    cls=_Commands,
    name="evidence",
    help=(
        "Exact, cited answers from immunotherapy reviews and papers.\n\n"
        "Every row carries the claim ids and reference numbers it rests on.\n\n"
        "Start with:\n\n  evidence query \"TIM-3 resistance\"\n\n  evidence approvals\n\n  evidence regimens\n\n"
        "  evidence glossary   (what kind, tier, hedging and basis mean)\n\n"
        "The bundled corpus is one 2017 open-access book chapter on CTLA-4 and PD-1/PD-L1 blockade, predictive "
        "biomarkers and adaptive resistance. It does not cover dosing, toxicity management or approvals after "
        "2016; add your own reviews with `evidence ingest`."
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
    csv = "csv"
    markdown = "markdown"


MACHINE_TABLES = ("tsv", "csv")


ClaimsOpt = Annotated[
    Path | None,
    typer.Option("--claims", help="Claims file. Default: $EVIDENCE_CLAIMS, ./claims.yaml, then the bundled copy.",
                 show_default=False, dir_okay=False),
]
IndexDirOpt = Annotated[
    Path | None,
    typer.Option("--index-dir", help="Index cache folder. Default: $EVIDENCE_INDEX_DIR, then the user cache dir.",
                 show_default=False, file_okay=False),
]
EngineOpt = Annotated[
    str | None,
    typer.Option("--engine", help="Search engine: whoosh (default; a few hundred papers) or tantivy (large "
                 "libraries; pip install 'evidence-cli[tantivy]'). Default: $EVIDENCE_ENGINE, then whoosh.",
                 show_default=False, metavar="whoosh|tantivy",
                 autocompletion=lambda: ["whoosh", "tantivy"]),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
FieldsOpt = Annotated[str | None, typer.Option("--fields", help="Only these fields, comma-separated (json, jsonl, "
                                               "tsv, csv); a wrong name lists the fields there are.",
                                               show_default=False, metavar="A,B,C")]
DocOpt = Annotated[list[str] | None, typer.Option("--doc", help="Only this document (an id from `evidence "
                                                  "docs`; repeat for several).", show_default=False)]


def err(message: str) -> None:
    """A note, warning or error for the user: always stderr, never stdout."""
    typer.echo(message, err=True)


def handle_errors(fn):
    """Turn EvidenceError into one readable message and exit code 2; Ctrl-C into 130; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from evidence_cli.render import machine

        token = None
        try:
            fields = kwargs.get("fields")
            if fields is not None:
                chosen = tuple(dict.fromkeys(f.strip() for f in fields.split(",") if f.strip()))
                if not chosen:
                    raise UsageError("--fields needs field names, e.g. --fields id,refs,text")
                if str(kwargs.get("fmt")) not in ("json", "jsonl", "tsv", "csv"):
                    raise UsageError("--fields applies to -f json, jsonl, tsv and csv")
                token = machine.FIELDS.set(chosen)
            machine.WROTE_JSON.set(False)
            return fn(*args, **kwargs)
        except typer.Exit as exc:
            if exc.exit_code == EXIT_NO_RESULTS and str(kwargs.get("fmt")) == "json" and not machine.WROTE_JSON.get():
                sys.stdout.write("[]\n")  # no results is still a JSON document a script can parse
            raise
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
        except OSError as exc:  # a full disk, a permission, a vanished file: one message naming the path
            where = exc.filename or "evidence"
            err(f"evidence: error: {where}: {exc.strerror or exc}; free some space, fix the permission or choose "
                "another path")
            raise typer.Exit(EXIT_ERROR) from None
        finally:
            if token is not None:
                machine.FIELDS.reset(token)

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
    """Exact, cited answers from immunotherapy reviews and papers."""


@command()
def ingest(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(help="Corpus documents (.pdf, .txt, .md) or folders of them. Default: $EVIDENCE_CORPUS, "
                       "then ./corpus.",
                       show_default=False),
    ] = None,
    claims: Annotated[
        Path | None,
        typer.Option("--claims", help="Claims file to write. Default: $EVIDENCE_CLAIMS, then ./claims.yaml.",
                     show_default=False, dir_okay=False),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the YAML to stdout; write nothing.")] = False,
    no_tag: Annotated[bool, typer.Option("--no-tag", help="Skip spaCy entity, hedging and tier tagging.")] = False,
    index_dir: IndexDirOpt = None,
) -> None:
    """Split corpus documents (PDF, text, markdown) into cited claims (claims.yaml).

    Example: evidence ingest corpus/ paper.pdf

    Reads the layout from each document: running headers and footers (lines repeated across pages), two-column
    reading order, headings (by font, or short title lines in text), figure captions (kept as figure claims),
    tables, licence and article-history boxes, back matter, the reference list, line-end hyphens and ligatures.
    Citations: [n], [n-m], [n, m] before or after the full stop, superscript numbers in PDFs, and (Author 2010).
    Each PDF's extracted text is kept in extracted/ beside the claims file; claims carry their pages.
    If any document cannot be read, nothing is written and every bad file is named (exit 2).
    Re-ingesting unchanged sources rewrites nothing. Your corrections to refs, entities, hedging, kind, tier and
    numbers, and fields you add, are kept; the sentence text always comes from the source.
    """
    from evidence_cli import paths
    from evidence_cli.ingest import ingest as run_ingest
    from evidence_cli.render.table import StderrProgress

    out = paths.claims_output_path(claims)
    tagger = None
    if not no_tag:
        from evidence_cli.tagging import tag_claims

        bar = StderrProgress("tagging claims")

        def tagger(claims_to_tag: list[dict]) -> None:
            tag_claims(claims_to_tag, progress=bar)

    reading = StderrProgress("reading documents", minimum=2)

    def progress(done: int, total: int, path: Path | None) -> None:
        reading(done, total)

    report = run_ingest(paths.corpus_sources(sources), out, tag=tagger, dry_run=dry_run, progress=progress,
                        cache_dir=paths.index_dir(index_dir))
    if dry_run:
        sys.stdout.write(report.text)
        return
    for note in report.notes:
        err(f"note: {note}")
    state = "wrote" if report.written else "unchanged"
    err(f"{state} {out}: {report.claims} claims from {', '.join(report.documents)}")
    if report.kept:
        kept = ", ".join(f"{doc} ({n} claims)" for doc, n in report.kept.items())
        err(f"note: {out} also holds {kept} from an earlier ingest; left as they were")


@command()
def validate(claims: ClaimsOpt = None) -> None:
    """Check a claims file and report problems as path:line.

    Example: evidence validate --claims claims.yaml

    Exit 0 when the file is valid, 2 otherwise. The schema is evidence_cli/data/claims.schema.json.
    A reference number that a claim prints but its document's reference list lacks is a warning (exit 0).
    """
    from evidence_cli import paths, store

    path = paths.claims_path(claims)
    data, problems = store.check_file(path)
    if problems or data is None:
        for p in problems:
            err(str(p))
        err(f"{path}: {len(problems)} problem(s); fix them, or re-run `evidence ingest` to regenerate the file")
        raise typer.Exit(EXIT_ERROR)
    unlisted = store.unlisted_citations(data)
    if unlisted:
        lines = {}
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if text.startswith("- id: "):
                lines[text[6:].strip().strip("'\"")] = n
        for cid, doc, number in unlisted:
            err(f"warning: {path}:{lines.get(cid, '?')}: claim {cid} cites [{number}], which is not in the reference "
                f"list of {doc}; check the number against the document")
    err(f"{path}: valid" + (f" ({len(unlisted)} citation(s) without a reference-list entry)" if unlisted else ""))


def whole_number(low: int, high: int | None = None):
    """A parser for an option that takes a whole number, with a message in words."""
    wanted = f"a whole number from {low} to {high:,}" if high is not None else f"a whole number of {low} or more"

    def parse(value) -> int:
        text = str(value).strip()
        if not (text.isascii() and text.lstrip("-").isdigit()) or int(text) < low or (high is not None
                                                                                      and int(text) > high):
            raise typer.BadParameter(f"expects {wanted}, not {text!r}")
        return int(text)

    return parse


def _complete_from(values):
    """A shell-completion callback offering ``values()`` that start with what is typed."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values() if v.startswith(incomplete)]

    return complete


def _kinds():
    from evidence_cli.query_plan import KINDS

    return KINDS


def _tiers():
    from evidence_cli.query_plan import TIERS

    return TIERS


def _mechanism_ids():
    from evidence_cli.views.domain import mechanism_rules

    return [m["id"] for m in mechanism_rules()["mechanisms"]]


LimitOpt = Annotated[int, typer.Option("--limit", "-n", parser=whole_number(1, 10_000), metavar="N",
                                       help="At most this many results (1 to 10,000).")]


def _load_claims(claims: Path | None) -> list[dict]:
    return _load_data(claims)["claims"]


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


CLAIM_TSV = ["id", "doc", "section", "kind", "tier", "refs", "author_year", "context_refs", "hedged", "edited",
             "text"]


BATCH_TSV = ["query_id", "query", "rank", "claim", "doc", "refs", "author_year", "context_refs", "hedged", "edited",
             "text", "error"]


def _tsv_rows(rows: list[dict]) -> list[dict]:
    """Claim rows with the ``edited`` column ("edited by hand: refs"; empty when ingest's values stand)."""
    from evidence_cli.views.catalog import edit_note

    return [{**r, "edited": edit_note(r) or ""} for r in rows]


def emit_claims(rows: list[dict], fmt: Format, title: str, *, show_score: bool = False) -> None:
    """Print claim rows in the chosen format."""
    from evidence_cli.render import machine

    if fmt is Format.json:
        machine.write_json([_public(r) for r in rows])
    elif fmt is Format.jsonl:
        machine.write_jsonl(_public(r) for r in rows)
    elif fmt in MACHINE_TABLES:
        machine.write_table(fmt, _tsv_rows(rows), (["id", "score", *CLAIM_TSV[1:-1], "unmatched", "text"])
                            if show_score else CLAIM_TSV)
    elif fmt is Format.markdown:
        from evidence_cli.render.markdown import claims_markdown

        sys.stdout.write(claims_markdown(rows, title))
    else:
        from evidence_cli.render.table import claims_table

        claims_table(rows, title=title, show_score=show_score)


def emit_records(rows: list[dict], fmt: Format, columns: list[tuple[str, str]], title: str) -> None:
    """Print plain records (not claims) in the chosen format; columns are (key, header) pairs."""
    from evidence_cli.render import machine

    if fmt is Format.json:
        machine.write_json(rows)
    elif fmt is Format.jsonl:
        machine.write_jsonl(rows)
    elif fmt in MACHINE_TABLES:
        machine.write_table(fmt, rows, [key for key, _ in columns])
    elif fmt is Format.markdown:
        from evidence_cli.render.markdown import records_markdown

        sys.stdout.write(records_markdown(rows, columns, title))
    else:
        from evidence_cli.render.table import records_table

        records_table(rows, columns, title=title)


def corpus(claims: Path | None, index_dir: Path | None = None, engine: str | None = None):
    """The API's Corpus for these options, with notes on stderr and a progress bar while an index is built."""
    from evidence_cli.api import Corpus

    def progress(done: int, total: int) -> None:  # only imports rich when an index is actually being built
        from evidence_cli.render.table import StderrProgress

        if not hasattr(progress, "bar"):
            progress.bar = StderrProgress("building the index")  # type: ignore[attr-defined]
        progress.bar(done, total)  # type: ignore[attr-defined]

    return Corpus(claims, index_dir, engine=engine, on_note=lambda m: err(f"note: {m}"), progress=progress)


def open_index(claims: Path | None, index_dir: Path | None, engine: str | None = None):
    return corpus(claims, index_dir, engine).index


@command()
def query(
    text: Annotated[str, typer.Argument(help="Keywords, names in any spelling, or a question (- reads it from "
                                             "stdin). Field syntax: ref:45 ref:DOC:45 doc:DOC entity:HAVCR2 "
                                             "section:2.5 kind:approval.")] = "",
    limit: LimitOpt = 10,
    ref: Annotated[list[int] | None, typer.Option("--ref", parser=whole_number(1), metavar="N",
                                                  help="Only claims citing this reference number.")] = None,
    entity: Annotated[list[str] | None, typer.Option("--entity", "-e", help="Only claims mentioning this entity "
                                                     "(id, alias or brand, e.g. Keytruda, CD274).")] = None,
    section: Annotated[list[str] | None, typer.Option("--section", "-s", help="Only this section, e.g. 2.5.")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", autocompletion=_complete_from(_kinds),
                                                   help="Only this claim kind, e.g. approval (see `evidence "
                                                        "glossary`).")] = None,
    tier: Annotated[list[str] | None, typer.Option("--tier", "-t", autocompletion=_complete_from(_tiers),
                                                   help="Only this evidence tier, e.g. randomized_phase3 or "
                                                        "hypothesis (see `evidence glossary`).")] = None,
    doc: DocOpt = None,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
    index_dir: IndexDirOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Find the claims that answer a question, with their refs.

    Example: evidence query "why do patients relapse on anti-PD-1 therapy"

    Brand names, gene aliases and HGNC symbols find the same claims (Keytruda = pembrolizumab, B7-H1 = CD274 =
    PD-L1); clinical shorthand is read (pembro, ICI, MSI-H, irAE), "anti-PD-1" also finds the drugs that target
    PD-1, and small typos are corrected: each reading is shown on stderr. "reference 12" finds the claims citing
    [12].

    Each hit names the query terms it does not mention ("not matched"; matched and unmatched in JSON). stderr
    says when no claim mentions a term, or all of them together. Exit 0 with hits, 1 without, also when only
    generic words (in more than a fifth of the claims) would match.
    """
    if text == "-":  # the question from stdin: a pipe, a heredoc, a question too long for the shell
        raw = sys.stdin.buffer.read()
        try:
            text = " ".join(raw.decode("utf-8-sig").split())
        except UnicodeDecodeError:
            raise UsageError("the query on stdin is not UTF-8 text") from None
        if not text:
            raise UsageError("no query on stdin; pipe one in, e.g. echo 'TIM-3 ligands' | evidence query -")
    result = corpus(claims, index_dir, engine).query(text, limit=limit, refs=ref or (), entities=entity or (),
                                                     sections=section or (), kinds=kind or (),
                                                     tiers=tier or (), docs=doc or ())
    for line in result.notes:
        err(f"note: {line}")
    rows = [{**h.to_dict(), "_highlights": result.highlights.get(h.id, [])} for h in result.hits]
    if not rows:
        filtered = ref or entity or doc or section or kind or tier or "ref:" in text or "doc:" in text
        generic = [t["term"] for t in result.coverage if t["generic"]]
        err(f"no claims match {text!r}" + (" with these filters" if filtered else "")
            + (f" (only {', '.join(map(repr, generic))} would: in more than a fifth of the claims, too common "
               "to answer a question alone)" if generic else ""))
        raise typer.Exit(EXIT_NO_RESULTS)
    emit_claims(rows, fmt, f"{len(rows)} claim(s) for {text!r}" if text else f"{len(rows)} claim(s)",
                show_score=True)


@command()
def show(
    claim_id: Annotated[str, typer.Argument(help="A claim id, e.g. wong2017-2.5-13.")],
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """Show one claim with all its fields and its neighbours.

    Example: evidence show wong2017-2.1-26
    """
    from evidence_cli.render import machine
    from evidence_cli.views.catalog import claim_row

    source = corpus(claims)
    full = source.show(claim_id).to_dict()
    claim = next(c for c in source.data["claims"] if c["id"] == claim_id)
    neighbours = source.neighbours(claim_id)
    row = claim_row(claim)
    if fmt in (Format.json, Format.jsonl):
        (machine.write_json if fmt is Format.json else machine.write_jsonl)([full])
        return
    if fmt in MACHINE_TABLES:
        machine.write_table(fmt, _tsv_rows([row]), CLAIM_TSV)
        return
    pages = claim.get("pages") or []
    where = (f", page {pages[0]}" if len(pages) == 1 else f", pages {pages[0]}–{pages[-1]}") if pages else ""
    emit_claims([row], fmt, f"claim {claim_id} ({claim['doc']}{where})")
    if fmt is Format.table:
        from evidence_cli.render.table import claims_table, records_table

        fields = [{"field": k, "value": v if not isinstance(v, list | dict) else machine.dumps(v)}
                  for k, v in full.items() if k not in ("text", "entities")]
        fields.append({"field": "entities", "value": ", ".join(
            f"{e['text']} → {e['id']}" for e in claim.get("entities") or [])})
        records_table(fields, [("field", "field"), ("value", "value")])
        if neighbours:
            claims_table([claim_row(c) for c in neighbours], title="neighbouring sentences")


@command()
def refs(
    number: Annotated[int | None, typer.Argument(parser=whole_number(1), metavar="N", show_default=False,
                                                 help="A reference number: show every claim citing it.")] = None,
    single_source: Annotated[bool, typer.Option("--single-source",
                                                help="List conclusions resting on one reference number.")] = False,
    doc: DocOpt = None,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """The citation index: reference numbers and their claims, per document.

    Example: evidence refs 45      (every claim citing [45], with the reference-list entry where it was read)

    A number belongs to its document: with several documents, [8] of each is listed apart (the `doc` field).
    Where a document's reference list was read (PDFs and texts that print one), the entry is shown too.
    """
    source = corpus(claims)
    if single_source:
        rows = [r.to_dict() for r in source.single_source(docs=doc or ())]
        if not rows:
            err("no claim rests on a single reference number")
            raise typer.Exit(EXIT_NO_RESULTS)
        emit_claims(rows, fmt, "claims resting on a single reference number")
        return
    if number is not None:
        rows = [r.to_dict() for r in source.refs(number, docs=doc or ())]
        if not rows:
            err(f"no claim cites reference [{number}]")
            raise typer.Exit(EXIT_NO_RESULTS)
        if fmt is Format.table:
            for doc in dict.fromkeys(r["doc"] for r in rows):
                group = [r for r in rows if r["doc"] == doc]
                entry = group[0].get("reference")
                title = f"claims of {doc} citing [{number}]"
                emit_claims(group, fmt, title + (f": {entry['text']}" if entry else " (reference list not in the "
                                                 "corpus)"))
            return
        emit_claims(rows, fmt, f"claims citing [{number}]")
        return
    index_rows = [r.to_dict() for r in source.refs(docs=doc or ())]
    if not index_rows:
        err("no claim prints a reference number")
        raise typer.Exit(EXIT_NO_RESULTS)
    if fmt in (Format.table, Format.markdown, Format.tsv, Format.csv):
        for row in index_rows:
            row["entry"] = (row.get("reference") or {}).get("text", "")
    columns = [("doc", "doc"), ("ref", "ref"), ("claim_count", "claims"), ("claims", "claim ids")]
    if any(r.get("reference") for r in index_rows):
        columns.append(("entry", "reference"))
    emit_records(index_rows, fmt, columns, "citation index (per document)")


@command()
def docs(
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """The documents of the corpus: id, title, authors, year, DOI, licence, claims, references, source file.

    Example: evidence docs -f json

    Use an id with --doc (query, batch, views, export) or in ref:DOC:N. Metadata comes from each document's
    sidecar .yaml, its PDF metadata and first page; a field none of them gives is left out.
    """
    rows = [d.to_dict() for d in corpus(claims).docs()]
    if not rows:
        err("no documents; run `evidence ingest` first")
        raise typer.Exit(EXIT_NO_RESULTS)
    columns = [("doc", "doc"), ("title", "title"), ("year", "year"), ("claim_count", "claims"),
               ("reference_count", "references")]
    if fmt is not Format.table:  # the terminal table keeps to what fits; the rest is in every other format
        columns[2:2] = [("authors_shown", "authors")]
        columns += [("doi", "doi"), ("licence", "licence"), ("source", "source")]
        if fmt in (Format.markdown, Format.tsv, Format.csv):
            for row in rows:
                row["authors_shown"] = ", ".join(row.get("authors") or [])
    emit_records(rows, fmt, columns, "documents")


@command()
def verify(
    note: Annotated[str, typer.Argument(help="A markdown note, or - for stdin.", metavar="NOTE.md")],
    show_all: Annotated[bool, typer.Option("--all", help="In the terminal, list the quotes that hold too.")] = False,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """Check a note's quoted claims against the corpus: text, refs and hedges.

    Example: evidence export --topic all -o notes.md && evidence verify notes.md

    A quoted claim is a blockquote or a "quotation" naming a claim id, as `export` writes them and as you paste
    them. Each gets a status: ok, changed (the current text is shown), unknown claim, refs differ, hedge not
    marked, or not a quote of any claim. Whitespace and line breaks do not count; "…" or "[…]" may stand for
    omitted words. Exit 0 when every quote holds, 1 when any differs (or the note quotes no claim), 2 on error.
    """
    from evidence_cli.verify import read_note

    if note == "-":
        name, data = "<stdin>", sys.stdin.buffer.read()
    else:
        path = Path(note)
        if path.is_dir():
            raise UsageError(f"{note} is a folder; give a markdown note (or - for stdin)")
        if not path.is_file():
            raise NotFoundError(f"{note}: no such file")
        name, data = note, path.read_bytes()
    source = corpus(claims)
    text = read_note(data, name)
    _check_note_source(text, source.claims_path)
    verdicts = source.verify(text, name=name)
    if not verdicts:
        err(f"{name}: no quoted claims found (a quote names a claim id, as `evidence export` writes: "
            "\"> text\" then \"> — `id`, refs [n]\")")
        raise typer.Exit(EXIT_NO_RESULTS)
    rows = [v.to_dict() for v in verdicts]
    if fmt is Format.table:  # the terminal shows what differs; every quote is in the other formats (and --all)
        from evidence_cli.render.views import verdict_detail

        shown = [r for r in rows if r["status"] != "ok" or show_all]
        for r in shown:
            r["detail_shown"] = verdict_detail(r)
        if shown:
            emit_records(shown, fmt, [("line", "line"), ("claim", "claim"), ("status", "status"),
                                      ("detail_shown", "detail")], f"quotes in {name}")
    else:
        emit_records(rows, fmt, [(k, k) for k in ("line", "claim", "status", "refs_quoted", "refs", "doc", "hedged",
                                                  "quote", "text", "now_claim")], f"quotes in {name}")
    from collections import Counter

    counts = Counter(v.status for v in verdicts)
    err(f"{len(verdicts)} quoted claim(s): " + ", ".join(f"{n} {status}" for status, n in counts.most_common()))
    if any(v.status != "ok" for v in verdicts):
        raise typer.Exit(EXIT_NO_RESULTS)


@command(name="mcp")
def mcp_command(claims: ClaimsOpt = None, index_dir: IndexDirOpt = None, engine: EngineOpt = None) -> None:
    """Serve the corpus to an AI assistant over the Model Context Protocol (stdio).

    Example, in a client's configuration: {"command": "evidence", "args": ["mcp", "--claims", "/path/claims.yaml"]}

    Tools: query, show, refs, docs, approvals, resistance, regimens, verify; each result carries claim ids,
    documents, refs and the quoted text exactly. Needs the optional extra: pip install "evidence-cli[mcp]".
    Notes go to stderr; stdout is the protocol's.
    """
    try:
        from evidence_cli.mcp_server import serve
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("mcp", "pydantic"):
            raise UsageError('the MCP server needs the optional extra: pip install "evidence-cli[mcp]"') from None
        raise
    serve(claims, index_dir, engine)


class CiteFormat(StrEnum):
    bibtex = "bibtex"
    csljson = "csljson"
    ris = "ris"


@command()
def cite(
    doc: Annotated[str | None, typer.Argument(help="A document id (`evidence docs`); all documents when left out.",
                                              show_default=False)] = None,
    ref: Annotated[list[int] | None, typer.Option("--ref", parser=whole_number(1), metavar="N",
                                                  help="Entry N of the document's reference list instead (repeat "
                                                       "for several).")] = None,
    fmt: Annotated[CiteFormat, typer.Option("--format", "-f", help="Citation format.",
                                            case_sensitive=False)] = CiteFormat.bibtex,
    claims: ClaimsOpt = None,
) -> None:
    """Citation files for reference managers: the source documents, or entries of a reference list.

    Example: evidence cite wong2017 -f ris > wong2017.ris

    BibTeX, CSL JSON (Zotero, pandoc) or RIS, from each document's metadata; a field it lacks is left out. With
    --ref, the entries of that document's reference list as printed (text as a note, DOI, PMID), where the
    corpus has the list; authors and titles are not guessed from an entry's text.
    """
    from evidence_cli.render.cite import document_entries, reference_entries, render

    data = corpus(claims).data_for([doc] if doc else [])
    docs = data["documents"]
    if not docs:
        err("no documents; run `evidence ingest` first")
        raise typer.Exit(EXIT_NO_RESULTS)
    if ref:
        if len(docs) > 1:
            raise UsageError("reference numbers belong to one document: name it, e.g. evidence cite "
                             f"{docs[0]['id']} --ref {ref[0]}")
        entries = {r["n"] for r in docs[0].get("references") or []}
        if not entries:
            err(f"the reference list of {docs[0]['id']} is not in the corpus, so its entries cannot be cited"
                + (f" ({docs[0]['references_note']})" if docs[0].get("references_note") else ""))
            raise typer.Exit(EXIT_NO_RESULTS)
        missing = [n for n in ref if n not in entries]
        if missing:
            raise NotFoundError(f"reference [{missing[0]}] is not in the reference list of {docs[0]['id']} "
                                f"({min(entries)} to {max(entries)} were read)")
        items = reference_entries(docs[0], list(dict.fromkeys(ref)))
    else:
        items = document_entries(docs)
    sys.stdout.write(render(items, fmt.value))


@command()
def glossary(fmt: FormatOpt = Format.table, fields: FieldsOpt = None) -> None:
    """What the output's words mean: claim kinds, evidence tiers, hedging levels, regimen bases, row fields.

    Example: evidence glossary -f markdown
    """
    from evidence_cli.views.glossary import glossary as terms

    emit_records(terms(), fmt, [("group", "group"), ("term", "term"), ("meaning", "meaning")], "glossary")


@command()
def sections(
    doc: DocOpt = None,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """The sections of each document, with their claims: the values `--section` and `section:` take.

    Example: evidence sections --doc wong2017

    A section is named by its number (2.5), by s<k> for the k-th unnumbered heading, or by its title's words.
    """
    data = _load_data(claims, doc)
    rows: dict[tuple[str, str], dict] = {}
    for c in data["claims"]:
        if c.get("orphaned"):
            continue
        row = rows.setdefault((c["doc"], c["section"]), {"doc": c["doc"], "section": c["section"],
                                                         "title": c.get("section_title", ""), "claim_count": 0})
        row["claim_count"] += 1
    if not rows:
        err("no sections; run `evidence ingest` first")
        raise typer.Exit(EXIT_NO_RESULTS)
    emit_records(list(rows.values()), fmt, [("doc", "doc"), ("section", "section"), ("title", "title"),
                                            ("claim_count", "claims")], "sections")


@command()
def entities(
    name: Annotated[str | None, typer.Argument(help="An entity id, alias or brand (e.g. Keytruda, B7-H1, TIM-3).",
                                               show_default=False)] = None,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """The entity catalogue, or one entity and its claims.

    Example: evidence entities Keytruda
    """
    from evidence_cli.render import machine
    from evidence_cli.views.catalog import entity_catalogue, entity_detail

    all_claims = _load_claims(claims)
    if name is None:
        rows = entity_catalogue(all_claims)
        shape = sum(r.get("curated") is False for r in rows)
        emit_records(rows, fmt, [("id", "id"), ("type", "type"), ("label", "label"), ("aliases", "aliases"),
                                 ("claim_count", "claims")],
                     f"{len(rows)} entities" + (f" ({len(rows) - shape} from the lexicon, then {shape} uncurated: "
                                                "names found in the claims by their shape)" if shape else ""))
        return
    record, rows = entity_detail(name, all_claims)
    if not rows:
        err(f"{record['label']} ({record['id']}) is in the lexicon, but no claim mentions it")
        raise typer.Exit(EXIT_NO_RESULTS)
    if fmt is Format.json:
        machine.write_json({**record, "claims": [r["id"] for r in rows], "refs": sorted({x for r in rows for x in
                                                                                         r["refs"]}),
                            "mentions": [_public(r) for r in rows]})
        return
    drug = (f"; brand {', '.join(record['brands']) or 'none'}, target {record['target']}, {record['drug_class']}"
            if record["type"] == "drug" and "brands" in record else "")
    if record.get("curated") is False:
        drug = "; uncurated: found by its shape, not in the lexicon"
    emit_claims(rows, fmt, f"{record['label']} ({record['id']}, {record['type']}{drug}): {len(rows)} claim(s)")


def _load_data(claims: Path | None, docs: list[str] | None = None) -> dict:
    """The claims file's data; with ``docs``, only those documents and their claims (an unknown id is a usage
    error listing the known ones)."""
    return corpus(claims).data_for(docs)


def _nonempty(name: str, value: str | None) -> None:
    if value is not None and not value.strip():
        raise UsageError(f"{name} needs a value; leave the option out to see everything")


def _check_note_source(note: str, claims_file: Path) -> None:
    """Say so when a note names the claims file it was exported from and that is not the one checked."""
    import re

    sha = re.search(r"^claims_sha256:\s*['\"]?([0-9a-f]{12,64})", note, re.MULTILINE) or re.search(
        r"Generated by `evidence` from `([^`]+)` \(sha256 ([0-9a-f]{12})", note)
    if sha is None:
        return
    wanted = sha.group(sha.lastindex)
    try:
        from evidence_cli.store import file_sha256

        have = file_sha256(claims_file)
    except OSError:
        return
    if not have.startswith(wanted):
        named = sha.group(1) if sha.lastindex == 2 else "another claims file"
        err(f"note: the note was exported from {named} (sha256 {wanted[:12]}…); checking it against {claims_file} "
            f"(sha256 {have[:12]}…). If that is not its source, pass --claims")


def summary_markdown(*args, **kwargs) -> str:
    from evidence_cli.render.markdown import summary

    return summary(*args, **kwargs)


def _lazy(name: str):
    """A tree renderer of render/views.py, imported (with rich) only when a tree is drawn."""

    def draw(rows: list[dict]) -> None:
        from evidence_cli.render import views

        getattr(views, name)(rows)

    return draw


def _emit_view(rows: list[dict], fmt: Format, columns: list[tuple[str, str]], title: str, empty: str,
               data: dict, section: str, tree=None) -> None:
    """Views: JSON/JSONL/TSV for scripts; markdown as in `export` (quotes, hedges, inferences); a table or a
    tree in the terminal. Claims a person edited are named on every row that rests on them."""
    if not rows:
        err(empty)
        raise typer.Exit(EXIT_NO_RESULTS)
    from evidence_cli.render.views import mark_edited
    from evidence_cli.views.catalog import edit_notes

    if mark_edited(rows, edit_notes(data["claims"])):
        columns = [*columns, ("edited_claims_shown", "edited by hand")]
    public = [{k: v for k, v in r.items() if not k.endswith("_shown")} for r in rows]
    if fmt in MACHINE_TABLES:  # numbers and values, not the terminal's prose: "refs" is the refs, never context
        raw = []
        for key, header in columns:
            base = key.removesuffix("_shown")
            if key == "edited_claims_shown":  # the edit notes stay words: which claim, and what was edited
                for extra in ("indication_inferred_from", "regulator_inferred_from"):
                    if any(extra in r for r in rows):
                        raw.append((extra, extra))
            key = base if key != base and base in rows[0] and key != "edited_claims_shown" else key
            raw.append((key, header))
            if key == "refs" and "context_refs" in rows[0]:
                raw.append(("context_refs", "context_refs"))
        for extra in ("indication_inferred_from", "regulator_inferred_from"):
            if any(extra in r for r in rows) and (extra, extra) not in raw:
                raw.append((extra, extra))
        columns = [("doc", "doc"), *(c for c in raw if c[0] != "doc")]
        if "kind" in rows[0] and ("kind", "kind") not in columns:
            columns.insert(1, ("kind", "kind"))
    if fmt is Format.table and tree is not None:
        tree(rows)
    elif fmt is Format.markdown:
        sys.stdout.write(summary_markdown(data, {section: public}, title))
    elif fmt is Format.table:
        emit_records(rows, fmt, columns, title)
    else:  # TSV and CSV columns may be display columns (the edit notes); JSON has the public fields only
        emit_records(public if fmt not in MACHINE_TABLES else rows, fmt, columns, title)


@command()
def approvals(
    drug: Annotated[str | None, typer.Option("--drug", "-d", help="Only this drug (INN or brand, e.g. Keytruda).",
                                             show_default=False)] = None,
    doc: DocOpt = None,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """Regulatory approvals the corpus states, with refs.

    Example: evidence approvals --drug nivolumab

    One row per drug(s) and indication; combination approvals and companion diagnostics are rows too.
    'refs' are the numbers printed in the approval sentence; most approval sentences print none, and the
    nearest cited sentence of the paragraph is offered separately as context.
    """
    _nonempty("--drug", drug)
    source = corpus(claims)
    rows = [r.to_dict() for r in source.approvals(drug, docs=doc or ())]
    data = source.data_for(doc)
    for r in rows:
        r["refs_shown"] = ", ".join(map(str, r["refs"])) or (
            "none in sentence" + (f"; context {', '.join(map(str, r['context_refs']))} from "
                                  f"{', '.join(r['context_from'])}" if r["context_refs"] else ""))
        r["indication_shown"] = (f"{r['indication']} (inferred from {r['indication_inferred_from']})"
                                 if r.get("indication_inferred_from") else r["indication"] or "not stated")
        r["regulator_shown"] = (r["regulator"] or "not stated") + (
            f" (inferred from {r['regulator_inferred_from']})" if r.get("regulator_inferred_from") else "")
    _emit_view(rows, fmt, [("drug", "drug(s)"), ("indication_shown", "indication"), ("year", "year"),
                           ("regulator_shown", "regulator"), ("refs_shown", "refs"), ("claims", "claims"),
                           ("text", "statement")],
               "approvals stated in the corpus", f"no approval of {drug!r} is stated in the corpus" if drug
               else "no approvals found", data, "approvals")


@command()
def resistance(
    doc: DocOpt = None,
    list_ids: Annotated[bool, typer.Option("--list", help="List the mechanism ids the tool knows (for "
                                           "`regimens --against`), whether or not the corpus mentions them.")] = False,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """Resistance mechanisms, players and counter-strategies.

    Example: evidence resistance -f json

    The type (adaptive / acquired / inherent) is taken from the claims' wording where they say it, and
    otherwise labelled as the tool's inference. A mechanism without a counter-strategy in the corpus says so.
    """
    from evidence_cli.views.domain import mechanism_rules

    if list_ids:
        if doc:
            raise UsageError("--list names every mechanism the tool knows; it takes no --doc")
        emit_records([{"mechanism": m["id"], "name": m["name"]} for m in mechanism_rules()["mechanisms"]], fmt,
                     [("mechanism", "id"), ("name", "name")], "mechanism ids")
        return

    source = corpus(claims)
    rows = [r.to_dict() for r in source.resistance(docs=doc or ())]
    data = source.data_for(doc)
    for r in rows:
        r["players_shown"] = ", ".join(p["label"] for p in r["players"])
        r["type_shown"] = r["type"] + {"stated": "", "section heading": " (section heading)"}.get(
            r["type_basis"], " (inferred by the tool)")
        r["strategy_claims_shown"] = [s["claim"] for s in r["strategies"]] or ["none in the corpus"]
    _emit_view(rows, fmt, [("name", "mechanism"), ("type_shown", "type"), ("players_shown", "players"),
                           ("claims", "claims"), ("hedged_claims", "hedged claims"), ("refs", "refs"),
                           ("strategy_claims_shown", "counter-strategy claims")],
               "resistance mechanisms", "no resistance mechanisms found", data, "resistance",
               tree=_lazy("resistance_tree"))


@command()
def biomarkers(doc: DocOpt = None, fmt: FormatOpt = Format.table, fields: FieldsOpt = None,
               claims: ClaimsOpt = None) -> None:
    """Predictive biomarkers with their numbers and caveats.

    Example: evidence biomarkers -f markdown
    """
    source = corpus(claims)
    rows = [r.to_dict() for r in source.biomarkers(docs=doc or ())]
    data = source.data_for(doc)
    for r in rows:
        by_id = {c["id"]: c for c in r["statements"]}
        r["numbers_shown"] = "\n".join(f"{n['text']}: {by_id[n['claim']]['text']} ({n['claim']})"
                                       for n in r["numbers"]) or "none reported"
        r["caveats_shown"] = "\n".join(f"{c['text']} ({c['claim']})" for c in r["caveats"]) or "none"
    _emit_view(rows, fmt, [("name", "biomarker"), ("numbers_shown", "numbers (with the sentence reporting them)"),
                           ("caveats_shown", "caveats"), ("refs", "refs"), ("claims", "claims")],
               "predictive biomarkers", "no biomarkers found", data, "biomarkers", tree=_lazy("biomarker_tree"))


@command()
def regimens(
    against: Annotated[str | None, typer.Option("--against", help="Only regimens against this mechanism id "
                                                "(`evidence resistance --list`), e.g. tim3_upregulation.",
                                                autocompletion=_complete_from(_mechanism_ids),
                                                show_default=False)] = None,
    with_drug: Annotated[str | None, typer.Option("--with", help="Only regimens with this drug or agent.",
                                                  show_default=False)] = None,
    doc: DocOpt = None,
    fmt: FormatOpt = Format.table,
    fields: FieldsOpt = None,
    claims: ClaimsOpt = None,
) -> None:
    """Combination regimens with a cited rationale chain.

    Example: evidence regimens --against pdl1_upregulation

    One row per combination of agents and the mechanism it counters. Its basis is its strongest claim's
    (named under "basis from"): reported (data from patients), preclinical (animal models or cells), stated
    (the document says it works without naming the data), proposed (the document suggests it), inferred (the
    tool's own mechanism -> target -> agent chain, labelled as such). Ranked by basis, then evidence tier. See
    `evidence glossary`.
    """
    _nonempty("--with", with_drug)
    source = corpus(claims)
    rows = [r.to_dict() for r in source.regimens(against, with_drug, docs=doc or ())]
    data = source.data_for(doc)
    for r in rows:
        r["agents_shown"] = " + ".join(r["agents"])
        r["inference_shown"] = r.get("inference", "")
    _emit_view(rows, fmt, [("agents_shown", "regimen"), ("basis", "basis"), ("basis_claim", "basis from"),
                           ("tier", "tier"),
                           ("hedged", "hedged"), ("against", "against"), ("claims", "claims"), ("refs", "refs"),
                           ("inference_shown", "inference")],
               "combination regimens", "no regimen in the corpus matches" + (
                   f" --against {against}" if against else "") + (f" --with {with_drug}" if with_drug else ""),
               data, "regimens", tree=_lazy("regimen_tree"))


class BatchFormat(StrEnum):
    jsonl = "jsonl"
    json = "json"
    tsv = "tsv"
    csv = "csv"


@command()
def batch(
    source: Annotated[str, typer.Argument(help="File with one query per line, or - for stdin.")] = "-",
    fmt: Annotated[BatchFormat, typer.Option("--format", "-f", help="Output format.")] = BatchFormat.jsonl,
    limit: Annotated[int, typer.Option("--limit", "-n", parser=whole_number(1, 1000), metavar="N",
                                       help="Hits per query (1 to 1,000), unless a JSON line sets its own "
                                            "limit.")] = 5,
    fields: Annotated[str | None, typer.Option("--fields", help="Only these fields of each hit, comma-separated, "
                                               "e.g. id,refs,text.", show_default=False, metavar="A,B,C")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", parser=whole_number(0, 64), metavar="N",
                                      help="Worker processes, 0 to 64, each with the index open (0: one per "
                                           "core). The output is the same, in input order; worth it from a few "
                                           "hundred queries (each worker takes a moment to start).")] = 1,
    claims: ClaimsOpt = None,
    index_dir: IndexDirOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Run many lookups from a file or stdin; JSON lines out.

    Example: printf 'TIM-3 ligands\\n{"id": "q2", "query": "approval", "entity": "Keytruda"}\\n' | evidence batch -

    JSON lines take id, query, limit, ref, entity, section, kind, tier, doc. Output: one JSON line per input
    line, in order, with id, query, hits (the same hit objects as `query -f json`), coverage and uncovered (the
    terms no claim mentions), or id and error; a bad line does not stop the run. Exit 0 when every line ran, 2
    when any line failed (a summary goes to stderr).
    """
    import dataclasses

    from evidence_cli.api import Claim
    from evidence_cli.batch import run_batch, run_batch_in_workers
    from evidence_cli.render import machine

    hit_fields = machine.check_fields(f.name for f in dataclasses.fields(Claim) if f.name != "extra")
    machine.FIELDS.set(None)  # --fields chooses the fields of each hit, not of the result lines
    columns = BATCH_TSV if hit_fields is None else ["query_id", "query", "rank", *hit_fields, "error"]
    if source == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise NotFoundError(
                f"{source}: cannot read ({exc.strerror}); pass a file of queries or - for stdin"
            ) from None
    handle = open_index(claims, index_dir, engine)
    jobs = jobs or _cores()
    total = failed = 0
    results = []
    try:
        for result in (run_batch(stream, handle, default_limit=limit) if jobs == 1
                       else run_batch_in_workers(stream, handle.path, jobs, default_limit=limit)):
            total += 1
            failed += "error" in result
            if hit_fields is not None and "hits" in result:
                result["hits"] = [{f: h.get(f) for f in hit_fields} for h in result["hits"]]
            if fmt is BatchFormat.jsonl:
                machine.write_jsonl([result])
            elif fmt in MACHINE_TABLES:
                if total == 1:
                    machine.write_table(fmt, [], columns)
                rows = [{**h, "query_id": result["id"], "query": result.get("query", ""), "rank": i + 1,
                         "claim": h.get("id"), "error": ""}
                        for i, h in enumerate(_tsv_rows(result.get("hits", [])))]
                if "error" in result:
                    rows = [{"query_id": result["id"], "error": result["error"]}]
                elif not rows:  # a query without hits still gets its line
                    rows = [{"query_id": result["id"], "query": result["query"], "rank": 0}]
                machine.write_table(fmt, rows, columns, header=False)
            else:
                results.append(result)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if fmt is BatchFormat.json:
        machine.write_json(results)
    err(f"batch: {total} queries, {total - failed} ran, {failed} failed")
    if failed:
        raise typer.Exit(EXIT_ERROR)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


class Topic(StrEnum):
    approvals = "approvals"
    resistance = "resistance"
    regimens = "regimens"
    biomarkers = "biomarkers"
    all = "all"


@command()
def export(
    query_text: Annotated[str | None, typer.Option("--query", "-q", help="Quote the claims matching this query.",
                                                   show_default=False)] = None,
    topic: Annotated[Topic | None, typer.Option("--topic", "-t", help="A domain summary.", show_default=False)] = None,
    claim_ids: Annotated[list[str] | None, typer.Option("--claim-id", "-c", help="Quote these claims (repeat).",
                                                        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).",
                                                show_default=False, dir_okay=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")] = False,
    with_inferred: Annotated[bool, typer.Option("--with-inferred", help="Also export the regimens the tool infers "
                                                "itself (basis: inferred); left out by default.")] = False,
    front_matter: Annotated[bool, typer.Option("--front-matter", help="Start with YAML front matter (title, date, "
                                               "sources with DOI, claim ids) for note tools.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", parser=whole_number(1, 10_000), metavar="N",
                                              help="At most this many claims for --query (default 10).",
                                              show_default=False)] = None,
    doc: DocOpt = None,
    claims: ClaimsOpt = None,
    index_dir: IndexDirOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Write a markdown evidence summary to paste into notes.

    Example: evidence export --topic all -o immunotherapy-evidence.md

    Claims are quoted exactly with their ids and reference numbers, hedged statements marked; approvals and
    regimens are tables; a Mermaid diagram links mechanism -> strategy -> regimen; a citation index closes it.
    Refuses to overwrite a file unless --force; writes atomically.
    """
    from evidence_cli import paths, store
    from evidence_cli.views import domain
    from evidence_cli.views.catalog import claim_row

    if topic is Topic.all and (query_text or claim_ids):
        raise UsageError("--topic all exports the whole summary; --query and --claim-id choose parts of it. "
                         "Give --topic all alone, or name the topics you want (--topic regimens --query …)")
    if limit is not None and not query_text:
        raise UsageError("--limit counts the claims of --query; the topics and --claim-id export every row")
    limit = limit or 10
    if not (query_text or topic or claim_ids):
        raise UsageError("say what to export: --query TEXT, --topic approvals|resistance|regimens|biomarkers|all, "
                         "or --claim-id ID")
    if output is not None and str(output) == "-":
        output = None  # "-o -" is stdout, as usual
    if output is not None and output.exists() and not force:
        raise OutputExistsError(f"{output} exists; pass --force to overwrite it, or choose another --output")
    claims_file = paths.claims_path(claims)
    source = corpus(claims, index_dir, engine)
    data = source.data_for(doc)
    all_claims = data["claims"]
    by_id = {c["id"]: c for c in all_claims}
    sections: dict = {}
    titles = []
    if claim_ids:
        missing = [c for c in claim_ids if c not in by_id]
        if missing:
            raise NotFoundError(f"no claim {missing[0]!r}; find ids with `evidence query`")
        sections["claims"] = [claim_row(by_id[c]) for c in claim_ids]
        titles.append("selected claims")
    if query_text:
        hits = source.query(query_text, limit=limit, docs=doc or ()).hits
        sections["query"] = {"text": query_text, "rows": [h.to_dict() for h in hits]}
        if not sections["query"]["rows"] and not (topic or claim_ids):
            err(f"no claims match {query_text!r}; nothing exported")
            raise typer.Exit(EXIT_NO_RESULTS)
        titles.append(query_text)
    if topic:
        wanted = [t.value for t in Topic if t is not Topic.all] if topic is Topic.all else [topic.value]
        if "regimens" in wanted and "resistance" not in wanted:
            wanted.append("resistance")
        for name in wanted:
            view = getattr(domain, name)
            options = {"documents": data["documents"]} if name == "approvals" else {}
            sections[name] = domain.per_document(view, all_claims, **options)
        if "regimens" in sections and not with_inferred:  # the tool's own inferences stay out of notes unless asked
            left_out = [r for r in sections["regimens"] if r["basis"] == "inferred"]
            sections["regimens"] = [r for r in sections["regimens"] if r["basis"] != "inferred"]
            if left_out:
                sections["regimens_left_out"] = len(left_out)
                err(f"note: {len(left_out)} regimen(s) the tool inferred itself are left out; add --with-inferred "
                    "to export them")
        titles.append("immune checkpoint blockade" if topic is Topic.all else topic.value)
    text = summary_markdown(data, sections, "; ".join(titles), claims_file, front_matter=front_matter)
    if output is None:
        sys.stdout.write(text)
    else:
        store.atomic_write_text(output, text)
        err(f"wrote {output}")


def _only_the_invoked_command() -> None:
    """Register only the command named on the command line: typer inspects every command's parameters when it
    builds the group (about 25 ms of a 100 ms query), and one command runs. `evidence --help`, a mistyped
    command and shell completion see them all."""
    if len(sys.argv) < 2 or sys.argv[1].startswith("-") or any(k.endswith("_COMPLETE") for k in os.environ):
        return
    from typer.main import get_command_name

    chosen = [c for c in app.registered_commands
              if (c.name or get_command_name(c.callback.__name__)) == sys.argv[1]]
    if chosen:
        app.registered_commands = chosen


def main() -> None:
    """Console entry point."""
    everything = list(app.registered_commands)
    try:
        _only_the_invoked_command()
        app()
    except KeyboardInterrupt:
        err("evidence: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        app.registered_commands = everything  # a second main() in the same process sees every command
