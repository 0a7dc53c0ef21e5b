"""Machine formats, written with json.dumps straight to stdout (never through rich, which wraps lines)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from functools import cache
from typing import TextIO

from evidence_cli.errors import UsageError

# --fields a,b,c: the keys each JSON object keeps and the columns of TSV and CSV, in that order (None: all)
FIELDS: ContextVar[tuple[str, ...] | None] = ContextVar("evidence_fields", default=None)
# whether this command wrote a JSON document, so that "no results" still prints one ([]) for scripts
WROTE_JSON: ContextVar[bool] = ContextVar("evidence_wrote_json", default=False)


# characters that JSON allows raw but that Python's str.splitlines() (and JavaScript before ES2019) takes for line
# ends: escaped, so that one JSON line stays one line for every reader of JSON lines
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _encodable(text: str) -> str:
    """JSON text that any UTF-8 stream can take: a lone surrogate (from a bad input line) is written as its
    \\uXXXX escape, which JSON parsers read back as the same code point; so are U+0085, U+2028 and U+2029, which
    some readers split lines on. (Inside JSON strings only: json.dumps writes nothing else outside ASCII.)"""
    text = text.translate(_LINE_BREAKS)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dumps(record: object) -> str:
    return _encodable(json.dumps(record, ensure_ascii=False))


def check_fields(available: Iterable[str]) -> tuple[str, ...] | None:
    """The --fields asked for, after checking each is a field of this output (a UsageError lists them)."""
    fields = FIELDS.get()
    if fields is None:
        return None
    # the keys these records have, and every field a row of the API can have (a field only some rows carry, such
    # as "nearby" or "inference", is known even where the first rows lack it)
    known = list(dict.fromkeys([*(k for k in available if not k.startswith("_") and not k.endswith("_shown")),
                                *_typed_fields()]))
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise UsageError(f"unknown field {unknown[0]!r} in --fields; this output has: {', '.join(known)}")
    return fields


@cache
def _typed_fields() -> tuple[str, ...]:
    import dataclasses

    from evidence_cli import api

    return tuple(f.name for cls in (api.Claim, api.StoredClaim, api.Document, api.CitationEntry, api.Approval,
                                    api.Mechanism, api.Biomarker, api.Regimen) for f in dataclasses.fields(cls)
                 if f.name != "extra")


def pick(records: list[dict], columns: Iterable[str] = ()) -> list[dict]:
    """Records with only the --fields asked for, in that order (a field a record lacks is null)."""
    fields = check_fields([*columns, *(k for r in records for k in r)])
    if fields is None:
        return records
    return [{f: r.get(f) for f in fields} for r in records]


def write_json(records: list | dict, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    WROTE_JSON.set(True)
    if isinstance(records, dict):
        records = pick([records])[0]
    elif all(isinstance(r, dict) for r in records):
        records = pick(records)
    out.write(_encodable(json.dumps(records, ensure_ascii=False, indent=2)) + "\n")


def write_jsonl(records: Iterable, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for record in records:
        out.write(dumps(pick([record])[0] if isinstance(record, dict) else record) + "\n")
        out.flush()


def _cell(value: object) -> str:
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    elif value is None:
        value = ""
    elif isinstance(value, bool):
        value = "true" if value else "false"
    return printable(str(value).replace("\t", " ").replace("\n", " "))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text with control characters (ESC, BEL, C1...) shown as \\xNN escapes: never sent raw to a terminal."""
    return _encodable(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))


def _columns(records: list[dict], columns: list[str]) -> list[str]:
    """The columns to write: the --fields asked for (any key of the records, or a column), else ``columns``."""
    shown = {c.removesuffix("_shown"): c for c in columns}
    fields = check_fields([*shown, *(k for r in records for k in r)])
    return list(columns) if fields is None else [shown.get(f, f) for f in fields]


def write_tsv(records: list[dict], columns: list[str], out: TextIO | None = None, header: bool = True) -> None:
    """Tab-separated with a header row; lists joined with commas."""
    out = out or sys.stdout
    columns = _columns(records, columns)
    if header:  # display-only keys ("regulator_shown") are named as what they show ("regulator")
        out.write("\t".join(c.removesuffix("_shown") for c in columns) + "\n")
    for record in records:
        out.write("\t".join(_cell(record.get(c)) for c in columns) + "\n")


def write_csv(records: list[dict], columns: list[str], out: TextIO | None = None, header: bool = True) -> None:
    """Comma-separated (RFC 4180, as Python's csv module writes it) with a header row; lists joined with commas
    inside their cell."""
    out = out or sys.stdout
    columns = _columns(records, columns)
    import csv

    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow([c.removesuffix("_shown") for c in columns])
    for record in records:
        writer.writerow([_cell(record.get(c)) for c in columns])


def write_table(fmt: str, records: list[dict], columns: list[str], out: TextIO | None = None,
                header: bool = True) -> None:
    """TSV or CSV."""
    (write_csv if fmt == "csv" else write_tsv)(records, columns, out, header)
