"""Terminal output with rich: colour only on a TTY (rich checks, and honours NO_COLOR). Only render/ imports rich.

Claim text always goes in as ``Text`` so that "[8]" and other brackets are never read as markup.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from evidence_cli.render.machine import printable
from evidence_cli.views.catalog import edit_note

_console: Console | None = None


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """stdout closed early (e.g. `| head`): stop quietly with exit 0, as the machine formats do."""
        import os
        import sys

        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0)


def console() -> Console:
    global _console
    if _console is None:
        _console = _Console(highlight=False, soft_wrap=False)
    return _console


def refs_text(record: dict) -> Text:
    """"[1, 3]" for cited claims; "no ref (context [8])" where the sentence has no marker of its own."""
    refs = record.get("refs") or []
    if refs:
        return Text(", ".join(map(str, refs)))
    out = Text("no ref", style="yellow")
    if record.get("author_year"):
        out = Text("; ".join(record["author_year"]))
    ctx = record.get("context_refs") or []
    if ctx:
        out.append(f" (context {', '.join(map(str, ctx))})", style="dim")
    return out


def claim_text(record: dict, highlights: Iterable[tuple[int, int]] = ()) -> Text:
    text = Text(printable(record["text"]))
    for a, b in highlights:
        text.stylize("bold yellow", a, b)
    if record.get("orphaned"):
        text.append("  [not in the source any more: kept for its hand edits]", style="red")
    note = edit_note(record)
    if note:
        text.append(f"  [{note}]", style="magenta")
    hedge = (record.get("hedging") or {}).get("level", "none")
    if hedge != "none":
        cues = record["hedging"].get("cues") or []
        text.append(f"  [hedged: {', '.join(cues)}]" if cues else "  [hedged]", style="magenta")
    if record.get("unmatched"):  # a query's terms this claim does not mention
        nearby = record.get("nearby") or []
        alone = [t for t in record["unmatched"] if t not in nearby]
        if alone:
            text.append(f"\nnot matched: {printable(', '.join(alone))}", style="dim")
        if nearby:
            text.append(f"\nonly in a neighbouring sentence: {printable(', '.join(nearby))}", style="dim")
    return text


def claims_table(records: list[dict], title: str | None = None, show_score: bool = False) -> None:
    """Claim id (with kind and tier under it), refs, and the statement, which wraps but is never cut."""
    table = Table(title=title, show_lines=True, expand=True, title_justify="left", caption_justify="left",
                  caption=Text("[hedged: cue] marks a hedged statement; 'no ref' = the sentence prints no reference "
                               "number (context = the nearest cited sentence of its paragraph)", style="dim"))
    table.add_column("claim", no_wrap=True, style="cyan", min_width=15)
    table.add_column("refs", min_width=8, max_width=14, overflow="fold")
    table.add_column("statement", ratio=1, overflow="fold")
    for r in records:
        ident = Text(r["id"])
        ident.append(f"\n{r.get('kind', '')}\n{r.get('tier', '')}", style="dim")
        if show_score and r.get("score") is not None:
            ident.append(f"\nscore {r['score']:.2f}", style="dim")
        table.add_row(ident, refs_text(r), claim_text(r, r.get("_highlights", ())))
    console().print(table)


def records_table(records: list[dict], columns: list[tuple[str, str]], title: str | None = None) -> None:
    """A plain table of records; columns are (key, header) pairs; lists are joined with commas."""
    table = Table(title=title, title_justify="left", show_lines=True)
    for _, header in columns:
        table.add_column(header, overflow="fold")  # wrap, never cut: every id and number stays whole
    for r in records:
        cells = []
        for key, _ in columns:
            value = r.get(key)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            cells.append(Text("" if value is None else printable(str(value))))
        table.add_row(*cells)
    console().print(table)


def tree(label: str, children: list) -> None:
    """Print a tree; children are (label, [children...]) pairs or plain strings."""
    root = Tree(Text(label, style="bold"))

    def add(node, items):
        for item in items:
            if isinstance(item, tuple):
                add(node.add(Text(printable(item[0]))), item[1])
            else:
                node.add(Text(printable(item)))

    add(root, children)
    console().print(root)


class StderrProgress:
    """A progress bar on stderr for long work, shown only when stderr is a terminal and the work is large."""

    def __init__(self, description: str, minimum: int = 2000) -> None:
        self.description = description
        self.minimum = minimum
        self._progress = None
        self._task = None

    def __call__(self, done: int, total: int) -> None:
        if total < self.minimum:
            return
        if self._progress is None:
            import sys

            if not sys.stderr.isatty():
                self.minimum = 10**18  # never again
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=total)
        self._progress.update(self._task, completed=done)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
