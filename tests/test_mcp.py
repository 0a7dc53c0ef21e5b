"""`evidence mcp` end to end, through the MCP SDK's own stdio client."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from typer.testing import CliRunner

from evidence_cli.cli import app
from tests.conftest import ROOT

CLAIMS = str(ROOT / "claims.yaml")


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> StdioServerParameters:
    folder = tmp_path_factory.mktemp("mcp")
    evidence = shutil.which("evidence")
    command, args = (evidence, []) if evidence else (sys.executable, ["-m", "evidence_cli"])
    return StdioServerParameters(command=command, args=[*args, "mcp", "--claims", CLAIMS, "--index-dir",
                                                        str(folder / "ix")], cwd=str(ROOT))


@pytest.mark.anyio
async def test_tools_answer_with_claim_ids_documents_refs_and_exact_text(server):
    from evidence_cli.api import Corpus

    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.server_info.name == "evidence"
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"query", "show", "refs", "docs", "approvals", "resistance", "regimens", "verify"}
        schema = tools["query"].input_schema
        assert schema["required"] == ["text"] and schema["properties"]["limit"]["maximum"] == 1000

        result = await session.call_tool("query", {"text": "TIM-3 ligands", "limit": 2})
        assert result.is_error is False
        hit = result.structured_content["hits"][0]
        assert (hit["id"], hit["doc"], hit["refs"], hit["context_refs"]) == ("wong2017-2.5-09", "wong2017", [], [44])
        assert hit["text"] == ("TIM-3 is bound by multiple ligands, including galectin-9, CEACAM-1, and "
                               "high-mobility group box 1 (HMGB-1).")
        assert json.loads(result.content[0].text)["hits"][0]["id"] == "wong2017-2.5-09"

        gap = await session.call_tool("query", {"text": "pembrolizumab infusion"})
        assert "no claim mentions 'infusion'" in gap.structured_content["notes"]

        regimens = await session.call_tool("regimens", {"against": "tim3_upregulation"})
        local = [r.to_dict() for r in Corpus(CLAIMS).regimens(against="tim3_upregulation")]
        assert regimens.structured_content["results"] == local

        note = "> Co-blockade of both TIM3 and PD-1 can prevent resistance to PD-1 blockade immunotherapy [45].\n" \
               "> — `wong2017-2.5-17`, refs [44]\n"
        verdict = await session.call_tool("verify", {"note": note})
        assert verdict.structured_content["quotes"][0]["status"] == "refs differ"


@pytest.mark.anyio
async def test_bad_arguments_are_tool_errors_and_the_server_goes_on(server):
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for name, arguments, message in [
            ("query", {"text": "TIM-3", "limit": "lots"}, "limit"),
            ("query", {"text": 5}, "text"),
            ("query", {"text": "TIM-3", "limit": 0}, "limit"),
            ("show", {"claim_id": "wong2017-9.9-99"}, "no claim 'wong2017-9.9-99'"),
            ("regimens", {"against": "nope"}, "unknown mechanism 'nope'"),
            ("query", {"text": ""}, "nothing to search for"),
        ]:
            result = await session.call_tool(name, arguments)
            assert result.is_error is True, (name, arguments)
            assert message in result.content[0].text
        still = await session.call_tool("show", {"claim_id": "wong2017-2.1-26"})
        assert still.is_error is False and still.structured_content["refs"] == []


def test_the_plain_cli_does_not_import_the_sdk(tmp_path):
    code = ("import sys; from evidence_cli.cli import main; sys.argv = ['evidence', 'query', 'TIM-3', '-f', 'json', "
            f"'--claims', {CLAIMS!r}, '--index-dir', {str(tmp_path)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'pydantic', 'spacy')), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_without_the_extra_the_command_says_what_to_install(monkeypatch):
    for name in [m for m in sys.modules if m == "mcp" or m.startswith("mcp.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the SDK were not installed
    monkeypatch.setitem(sys.modules, "mcp", None)
    monkeypatch.delitem(sys.modules, "evidence_cli.mcp_server", raising=False)
    result = CliRunner().invoke(app, ["mcp", "--claims", CLAIMS])
    assert result.exit_code == 2
    assert 'pip install "evidence-cli[mcp]"' in result.stderr
