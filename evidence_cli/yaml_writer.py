"""A fast YAML writer for claims files, byte for byte what PyYAML writes for them.

PyYAML's dumper spends most of its time representing and serialising node objects: 38 s of a 100k-claim ingest.
Claims files have a fixed shape (mappings of scalars, lists of scalars, lists of small mappings), so this writes
that shape directly, in PyYAML's style for ``default_flow_style=None, width=10000, allow_unicode=True``: a
collection of scalars in flow style, anything deeper in block style. A scalar is written plain where it is
certainly safe as plain; any other scalar is quoted by PyYAML itself, one scalar at a time, so quoting and escapes
are PyYAML's. Any other shape (a hand-added nested field) falls back to PyYAML for the whole claim. Tests compare
the two writers on the chapter and on generated claims.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

# plain in block context: starts with a letter or "(", no ": ", " #", ":" at the end, no control or special
# characters, no leading or trailing space, and not a word YAML would read as a bool or null
_UNSAFE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff\U00010000-\U0010ffff"
_PLAIN_BLOCK = re.compile(rf"[A-Za-z(][^{_UNSAFE}]*")
_PLAIN_FLOW = re.compile(rf"[A-Za-z(][^{_UNSAFE},?:\[\]{{}}]*")
_BREAKS = re.compile(r"[\n\r\x85\u2028\u2029]")
_RESERVED = frozenset("yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF "
                      "null Null NULL".split())


def _dumper():
    from evidence_cli.store import _dumper as store_dumper

    return store_dumper()


@lru_cache(maxsize=65536)
def _quoted(value: str, flow: bool) -> str:
    """PyYAML's own rendering of one string scalar, in block or flow context."""
    import yaml

    if flow:
        out = yaml.dump([value], Dumper=_dumper(), default_flow_style=True, allow_unicode=True, width=10_000)
        return out[1:-2]  # "[x]\n"
    out = yaml.dump([value], Dumper=_dumper(), default_flow_style=False, allow_unicode=True, width=10_000)
    return out[2:-1]  # "- x\n"


def _plain_ok(value: str, flow: bool) -> bool:
    if not (_PLAIN_FLOW if flow else _PLAIN_BLOCK).fullmatch(value) or value in _RESERVED:
        return False
    return not (value.endswith((" ", ":")) or ": " in value or " #" in value)


def scalar(value, flow: bool = False) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return _short_str(value, flow) if len(value) <= _SHORT else _str(value, flow)
    raise _Unsupported


_SHORT = 40  # strings this short (ids, kinds, entity labels, keys) repeat across claims: each is written once


def _str(value: str, flow: bool) -> str:
    if _plain_ok(value, flow):
        return value
    if _BREAKS.search(value):  # PyYAML folds it over lines indented by its depth: PyYAML writes the item
        raise _Unsupported
    return _quoted(value, flow)


_short_str = lru_cache(maxsize=65536)(_str)


class _Unsupported(Exception):
    pass


def _is_scalar(value) -> bool:
    return value is None or type(value) in (str, int, bool)


def _flow_seq(items: list) -> str:
    return "[" + ", ".join(scalar(x, True) for x in items) + "]"


def key(value, flow: bool = False) -> str:
    """A mapping key, which PyYAML writes as a simple key only when it is short, non-empty and on one line."""
    if type(value) is not str:
        raise _Unsupported
    return _key(value, flow)


@lru_cache(maxsize=4096)
def _key(value: str, flow: bool) -> str:
    if not value or any(ch in value for ch in "\n\r\x85\u2028\u2029"):
        raise _Unsupported
    out = scalar(value, flow)
    if len(out) >= 128:
        raise _Unsupported
    return out


def _flow_map(mapping: dict) -> str:
    return "{" + ", ".join(f"{key(k, True)}: {scalar(v, True)}" for k, v in mapping.items()) + "}"


def _value_lines(name: str, value, indent: str) -> list[str]:
    """``key: value`` at ``indent``, as PyYAML writes it."""
    k = key(name)
    if _is_scalar(value):
        return [f"{indent}{k}: {scalar(value)}"]
    if isinstance(value, list):
        if all(_is_scalar(x) for x in value):
            return [f"{indent}{k}: {_flow_seq(value)}"]
        if all(isinstance(x, dict) and x and all(_is_scalar(v) for v in x.values()) for x in value):
            return [f"{indent}{k}:"] + [f"{indent}- {_flow_map(x)}" for x in value]
        raise _Unsupported
    if isinstance(value, dict):
        if not value:
            return [f"{indent}{k}: {{}}"]
        if all(_is_scalar(v) for v in value.values()):
            return [f"{indent}{k}: {_flow_map(value)}"]
        lines = [f"{indent}{k}:"]
        for kk, vv in value.items():
            lines.extend(_value_lines(kk, vv, indent + "  "))
        return lines
    raise _Unsupported


def _item(mapping: dict) -> str:
    """One entry of a top-level list (a document or a claim): "- k: v" then "  k: v" lines."""
    import yaml

    try:
        if not mapping or not all(type(k) is str for k in mapping):
            raise _Unsupported
        if all(_is_scalar(v) for v in mapping.values()):  # a mapping of scalars only is a flow mapping
            return f"- {_flow_map(mapping)}\n"
        lines: list[str] = []
        for key, value in mapping.items():
            lines.extend(_value_lines(key, value, "  "))
        lines[0] = "- " + lines[0][2:]
        return "\n".join(lines) + "\n"
    except _Unsupported:
        return yaml.dump([mapping], Dumper=_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=None,
                         width=10_000)


def dump(data: dict) -> str:
    """The claims mapping ({schema_version, documents, claims}) as PyYAML would dump it."""
    import yaml

    parts = dump_parts(data)
    if parts is None:
        return yaml.dump(data, Dumper=_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=None,
                         width=10_000)
    head, claims = parts
    return head + "".join(claims)


def dump_parts(data: dict) -> tuple[str, Iterator[str]] | None:
    """``dump(data)`` in parts: the text before the first claim (ending ``claims:``), then each claim's entry, made
    as it is asked for (a million claims' text need never be held whole); None for a shape this writer leaves to
    PyYAML whole (other top-level keys, an entry that is not a mapping)."""
    if list(data) != ["schema_version", "documents", "claims"] or not all(
            isinstance(x, dict) for x in [*data["documents"], *data["claims"]]):
        return None
    parts = [f"schema_version: {scalar(data['schema_version'])}\n",
             "documents:\n" if data["documents"] else "documents: []\n",
             *(_item(x) for x in data["documents"]),
             "claims:\n" if data["claims"] else "claims: []\n"]
    return "".join(parts), (_item(x) for x in data["claims"])
