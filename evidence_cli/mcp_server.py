"""`evidence mcp`: a Model Context Protocol server over stdio, so an AI assistant can query the corpus.

Built on the official MCP Python SDK (``pip install "evidence-cli[mcp]"``), over the same API as the CLI. Each tool
returns structured JSON whose rows are the CLI's ``-f json`` rows: claim ids, documents, refs and the quoted text
exactly as in claims.yaml, with hedging. A bad argument or an error of the corpus is a tool error (``isError``)
with the CLI's message; the server goes on serving. Nothing is ever written to stdout but the protocol: notes go
to stderr through logging. Only `evidence mcp` imports this module (and the SDK).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from evidence_cli.api import Corpus, mechanism_ids
from evidence_cli.errors import EvidenceError

log = logging.getLogger("evidence.mcp")

INSTRUCTIONS = (
    "Exact, cited statements from immunotherapy reviews. Every result row carries the claim ids, the document and "
    "the reference numbers it rests on; quote `text` exactly and cite its `refs` (numbers of that document's own "
    "reference list) and claim id. A row with `hedged: true` states something the document hedges: say so. "
    "`refs: []` means the sentence prints no reference; `context_refs` are a neighbouring sentence's, not its own. "
    "`notes` say what the corpus does not cover: do not answer beyond it."
)

Docs = Annotated[list[str] | None, Field(description="Only these document ids (see the `docs` tool).")]


def build_server(claims: str | Path | None = None, index_dir: str | Path | None = None,
                 engine: str | None = None) -> MCPServer:
    """The server, with one Corpus shared by every call."""
    corpus = Corpus(claims, index_dir, engine=engine, on_note=lambda message: log.info("%s", message))
    from evidence_cli import __version__

    server = MCPServer("evidence", instructions=INSTRUCTIONS, version=__version__)

    def tool(fn):
        """Register a tool; its description is its docstring on one line."""
        return server.tool(description=" ".join((fn.__doc__ or "").split()))(fn)

    def run(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EvidenceError as exc:  # the CLI's message, as a tool error: the server goes on
            raise ToolError(str(exc)) from None
        except Exception as exc:
            log.exception("tool failed")
            raise ToolError(f"the tool failed ({type(exc).__name__}); the server goes on") from None

    @tool
    def query(
        text: Annotated[str, Field(description="A question, keywords or names; field syntax such as ref:45, "
                                               "entity:HAVCR2, section:2.5, kind:approval works too.")],
        limit: Annotated[int, Field(ge=1, le=1000, description="At most this many claims.")] = 10,
        docs: Docs = None,
    ) -> dict[str, Any]:
        """Find the claims that answer a question, best first, with their refs. `notes` name the question's
        terms no claim mentions; each hit lists the terms it matched and did not."""
        result = run(corpus.query, text, limit=limit, docs=docs or ())
        return {"query": text, "hits": [h.to_dict() for h in result.hits], "notes": result.notes,
                "coverage": result.coverage}

    @tool
    def show(claim_id: Annotated[str, Field(description="A claim id, e.g. wong2017-2.5-13.")]) -> dict[str, Any]:
        """One claim with every field of claims.yaml and its neighbouring sentences' ids."""
        return run(corpus.show, claim_id).to_dict()

    @tool
    def refs(
        number: Annotated[int | None, Field(ge=1, description="A reference number: the claims citing it.")] = None,
        docs: Docs = None,
    ) -> dict[str, Any]:
        """With `number`: the claims citing that reference (per document, with the reference-list entry where the
        corpus has it). Without: the citation index."""
        rows = run(corpus.refs, number, docs=docs or ())
        return {"number": number, "results": [r.to_dict() for r in rows]}

    @tool
    def docs() -> dict[str, Any]:
        """The documents of the corpus with their metadata (title, authors, year, DOI, licence, claim count)."""
        return {"results": [d.to_dict() for d in run(corpus.docs)]}

    @tool
    def approvals(
        drug: Annotated[str | None, Field(description="Only this drug (INN or brand).")] = None,
        docs: Docs = None,
    ) -> dict[str, Any]:
        """Regulatory approvals the documents state, one per drug(s) and indication, with the claim and refs."""
        return {"results": [r.to_dict() for r in run(corpus.approvals, drug, docs=docs or ())]}

    @tool
    def resistance(docs: Docs = None) -> dict[str, Any]:
        """Resistance mechanisms with their players, claims, refs and the counter-strategies the documents give."""
        return {"results": [r.to_dict() for r in run(corpus.resistance, docs=docs or ())]}

    @tool
    def regimens(
        against: Annotated[str | None, Field(description="Only regimens against this mechanism id: "
                                                         + ", ".join(mechanism_ids()) + ".")] = None,
        with_drug: Annotated[str | None, Field(description="Only regimens with this drug or agent.")] = None,
        docs: Docs = None,
    ) -> dict[str, Any]:
        """Combination regimens with their cited rationale chain; `basis` says what they rest on (reported: data
        from patients; preclinical; stated; proposed; inferred: the tool's own chain, not stated in any
        document)."""
        rows = run(corpus.regimens, against, with_drug, docs=docs or ())
        return {"results": [r.to_dict() for r in rows]}

    @tool
    def verify(note: Annotated[str, Field(description="A markdown note quoting claims (with their ids).")]
               ) -> dict[str, Any]:
        """Check every quoted claim of a markdown note against the corpus: ok, changed, unknown claim, refs
        differ, hedge not marked, not a quote of any claim."""
        verdicts = run(corpus.verify, note)
        return {"all_ok": bool(verdicts) and all(v.status == "ok" for v in verdicts),
                "quotes": [v.to_dict() for v in verdicts],
                "notes": [] if verdicts else ["no quoted claims found"]}

    return server


def serve(claims: str | Path | None = None, index_dir: str | Path | None = None, engine: str | None = None) -> None:
    """Run the server over stdio until the client closes it."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="evidence mcp: %(message)s")
    build_server(claims, index_dir, engine).run()
