"""Machine formats, written with json.dumps straight to stdout (never through rich, which wraps lines)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from typing import TextIO


def _encodable(text: str) -> str:
    """JSON text that any UTF-8 stream can take: a lone surrogate (from a bad input line) is written as its
    \\uXXXX escape, which JSON parsers read back as the same code point."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dumps(record: object) -> str:
    return _encodable(json.dumps(record, ensure_ascii=False))


def write_json(records: list, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(_encodable(json.dumps(records, ensure_ascii=False, indent=2)) + "\n")


def write_jsonl(records: Iterable, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for record in records:
        out.write(dumps(record) + "\n")
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


def write_tsv(records: list[dict], columns: list[str], out: TextIO | None = None, header: bool = True) -> None:
    """Tab-separated with a header row; lists joined with commas."""
    out = out or sys.stdout
    if header:  # display-only keys ("regulator_shown") are named as what they show ("regulator")
        out.write("\t".join(c.removesuffix("_shown") for c in columns) + "\n")
    for record in records:
        out.write("\t".join(_cell(record.get(c)) for c in columns) + "\n")
