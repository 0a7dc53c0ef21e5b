"""CLI: ingest and validate, exact messages and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from evidence_cli.cli import app
from tests.conftest import ROOT, STYLES

runner = CliRunner()


def test_ingest_writes_then_reports_unchanged(tmp_path, corpus_copy):
    out = tmp_path / "claims.yaml"
    first = runner.invoke(app, ["ingest", str(corpus_copy), "--claims", str(out)])
    assert first.exit_code == 0, first.output
    assert first.stdout == ""
    assert first.stderr == f"wrote {out}: 179 claims from wong2017\n"
    second = runner.invoke(app, ["ingest", str(corpus_copy), "--claims", str(out)])
    assert second.stderr == f"unchanged {out}: 179 claims from wong2017\n"


def test_ingest_dry_run_prints_yaml_and_writes_nothing(tmp_path):
    out = tmp_path / "claims.yaml"
    result = runner.invoke(app, ["ingest", str(STYLES), "--claims", str(out), "--dry-run", "--no-tag"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# claims.yaml")
    assert "id: styles-abs-01" in result.stdout
    assert not out.exists()


def test_ingest_missing_source_is_a_clean_error(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.txt"), "--claims", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"evidence: error: {tmp_path / 'nope.txt'}: no such corpus document; pass a .pdf, .txt or .md file or "
        "a folder\n"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_ingest_refuses_a_broken_claims_file_and_keeps_it(tmp_path):
    out = tmp_path / "claims.yaml"
    out.write_text("claims: [\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(STYLES), "--claims", str(out)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{out}:2: invalid YAML: did not find expected node content",
        f"{out}: left as it is: fix it (see `evidence validate`) or move it",
    ]
    assert out.read_text(encoding="utf-8") == "claims: [\n"


def test_validate_ok_and_bad(tmp_path):
    out = tmp_path / "claims.yaml"
    runner.invoke(app, ["ingest", str(STYLES), "--claims", str(out), "--no-tag"])
    ok = runner.invoke(app, ["validate", "--claims", str(out)])
    assert (ok.exit_code, ok.stderr) == (0, f"{out}: valid\n")
    text = out.read_text(encoding="utf-8").replace("refs: [1, 3]", "refs: [1, three]", 1)
    out.write_text(text, encoding="utf-8")
    bad = runner.invoke(app, ["validate", "--claims", str(out)])
    assert bad.exit_code == 2
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "three" in t)
    assert bad.stderr.splitlines() == [
        f"{out}:{line}: claims[0].refs[1]: 'three' should be of type integer",
        f"{out}: 1 problem(s); fix them, or re-run `evidence ingest` to regenerate the file",
    ]


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["validate", "--help"]])
def test_help_teaches(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "Example" in result.stdout or "evidence query" in result.stdout


def test_bundled_claims_copy_matches_the_top_level_file():
    top = (ROOT / "claims.yaml").read_bytes()
    bundled = (ROOT / "evidence_cli" / "data" / "claims.yaml").read_bytes()
    assert top == bundled, "run: cp claims.yaml evidence_cli/data/claims.yaml"


def test_top_level_claims_file_is_current(tmp_path):
    """claims.yaml in the repo is what `evidence ingest corpus/` produces now."""
    out = tmp_path / "claims.yaml"
    out.write_bytes((ROOT / "claims.yaml").read_bytes())
    from evidence_cli.ingest import ingest
    from evidence_cli.tagging import tag_claims

    # Ingest as from the repo root, so the stored document path is the same.
    report = ingest([ROOT / "corpus" / "immune-checkpoint-chapter.txt"], ROOT / "claims.yaml",
                    tag=tag_claims, dry_run=True)
    expected = (ROOT / "claims.yaml").read_text(encoding="utf-8")
    assert report.text == expected, "run: evidence ingest && cp claims.yaml ..."
    assert Path(report.path).name == "claims.yaml"


def _context_reference(para: list[dict]) -> list:
    """The rule, written the slow and obvious way: the nearest cited sentence, the preceding one on a tie."""
    out = []
    for i, c in enumerate(para):
        cited = [(abs(j - i), j > i, p["id"]) for j, p in enumerate(para) if p["refs"]]
        out.append(None if c["refs"] or not cited else min(cited)[2])
    return out


@given(st.lists(st.booleans(), max_size=40))
def test_context_refs_come_from_the_nearest_cited_sentence(cited_flags):
    from evidence_cli.ingest import _add_context_refs

    para = [{"id": f"d-1-{i:02d}", "kind": "text", "section": "1", "paragraph": 1, "refs": [i + 1] if cited else [],
             "author_year": [], "context_refs": [], "context_from": []} for i, cited in enumerate(cited_flags)]
    expected = _context_reference(para)
    _add_context_refs(para)
    assert [c["context_from"][0] if c["context_from"] else None for c in para] == expected
    assert all(c["context_refs"] == ([int(c["context_from"][0][-2:]) + 1] if c["context_from"] else [])
               for c in para)
