"""Machine formats, written with json.dumps straight to stdout (never through rich, which wraps lines)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TextIO


def dumps(record: object) -> str:
    return json.dumps(record, ensure_ascii=False)


def write_json(records: list, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")


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
    return str(value).replace("\t", " ").replace("\n", " ")


def write_tsv(records: list[dict], columns: list[str], out: TextIO | None = None, header: bool = True) -> None:
    """Tab-separated with a header row; lists joined with commas."""
    out = out or sys.stdout
    if header:  # display-only keys ("regulator_shown") are named as what they show ("regulator")
        out.write("\t".join(c.removesuffix("_shown") for c in columns) + "\n")
    for record in records:
        out.write("\t".join(_cell(record.get(c)) for c in columns) + "\n")
