"""Bad input and load: a corruption matrix for claims.yaml, damaged indexes, concurrent rebuilds, killed ingests,
safe YAML only, and property tests over user text: never a traceback, always a defined exit code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evidence_cli import store
from evidence_cli.cli import app
from tests.conftest import INDEX_TABLES, ROOT, index_data_files
from tests.conftest import damage as damage_file

runner = CliRunner()
CLAIMS = ROOT / "claims.yaml"
GOOD = CLAIMS.read_text(encoding="utf-8")
FIRST_CLAIM = GOOD.index("- id: wong2017-abs-01")


def _claim_line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _bomb() -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    return "\n".join(lines) + "\n"


CASES = {
    "invalid YAML": (GOOD.replace("refs: [1]", "refs: [1", 1), "invalid YAML"),
    "tab indentation": (GOOD.replace("  doc: wong2017\n", "\tdoc: wong2017\n", 1), "invalid YAML"),
    "section as a number": (GOOD.replace("section: '2.1'", "section: 2.1", 1), "should be of type string"),
    "missing id": (GOOD[:FIRST_CLAIM] + GOOD[FIRST_CLAIM:].replace("- id: wong2017-abs-01\n  doc:", "- doc:", 1),
                   "'id' is a required property"),
    "duplicate id": (GOOD.replace("id: wong2017-abs-02", "id: wong2017-abs-01", 1), "duplicate claim id"),
    "refs as strings": (GOOD.replace("refs: [1]", "refs: ['1']", 1), "should be of type integer"),
    "unknown document": (GOOD.replace("  doc: wong2017\n", "  doc: nobody\n", 1), "unknown document 'nobody'"),
    "empty file": ("", "file is empty"),
    "only a comment": ("# nothing here\n", "file is empty"),
    "binary garbage": ("\x00\x01\x02\x03", "NUL bytes"),
    "alias bomb": (_bomb(), "aliases"),
    "duplicate key": (GOOD.replace("  section: abstract\n", "  section: abstract\n  section: abstract\n", 1),
                      "duplicate key 'section'"),
    "merge key": ("base: {x: 1}\nother:\n  <<: {x: 2}\n", "merge keys (<<) are not allowed"),
    "top-level list": ("- 1\n- 2\n", "top level must be a mapping"),
    "claims not a list": ("schema_version: 1\ndocuments: []\nclaims: 5\n", "should be of type array"),
    "documents missing": ("schema_version: 1\nclaims: []\n", "'documents' is a required property"),
    "future schema": (GOOD.replace("schema_version: 1", "schema_version: 2", 1), "1 was expected"),
    "span of one number": (GOOD.replace("span: [11, 139]", "span: [11]", 1), "is too short"),
    "empty text": (GOOD.replace(
        "text: The clinical success of immune checkpoint blockers is a pivotal advancement for treating an "
        "increasing number of cancer types.", "text: ''", 1), "should be non-empty"),
    "id with a space": (GOOD.replace("id: wong2017-abs-01", "id: wong2017 abs 01", 1), "does not match"),
    "reference number zero": (GOOD.replace("refs: [1]", "refs: [0]", 1), "less than the minimum of 1"),
    "unknown hedging level": (GOOD.replace("level: none", "level: maybe", 1), "is not one of"),
    "mapping as a key": (GOOD.replace("  section: abstract\n", "  {2019: x}: abstract\n", 1),
                         "a key must be a plain name, not a list or mapping"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "query"])
def test_corruption_matrix(tmp_path, case, command):
    text, message = CASES[case]
    path = tmp_path / "claims.yaml"
    path.write_bytes(text.encode("utf-8"))
    index_dir = tmp_path / "idx"
    args = ["validate", "--claims", str(path)] if command == "validate" else \
        ["query", "TIM-3", "--claims", str(path), "--index-dir", str(index_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert re.match(rf"^(evidence: error: )?{re.escape(str(path))}(:\d+)?: ", first), first
    assert message in result.stderr
    assert result.stdout == ""
    assert path.read_bytes() == text.encode("utf-8")  # nothing written
    assert not index_dir.exists() or not [p for p in index_dir.iterdir() if p.name.startswith("v")]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"claims: caf\xe9\n", "not valid UTF-8"), (None, "is a directory")],
)
def test_non_utf8_and_directory(tmp_path, data, message):
    path = tmp_path / "claims.yaml"
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    result = runner.invoke(app, ["validate", "--claims", str(path)])
    assert result.exit_code == 2 and message in result.stderr


def test_huge_file_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "MAX_BYTES", 1000)
    path = tmp_path / "claims.yaml"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(app, ["validate", "--claims", str(path)])
    assert result.exit_code == 2
    assert f"{path}: file is {len(GOOD.encode())} bytes, more than the 1000 allowed" in result.stderr


@pytest.mark.parametrize("damage", ["delete-toc", "truncate-segment", "garbage-segment", "delete-stamp"])
def test_damaged_index_is_rebuilt(tmp_path, damage):
    idx = tmp_path / "idx"
    args = ["query", "TIM-3 ligands", "--claims", str(CLAIMS), "--index-dir", str(idx), "-f", "json"]
    first = runner.invoke(app, args)
    [folder] = [p for p in idx.iterdir() if p.name.startswith("v")]
    if damage == "delete-toc":
        tables = [p for pattern in INDEX_TABLES for p in folder.glob(pattern)]
        assert tables
        for p in tables:
            p.unlink()
    elif damage == "delete-stamp":
        (folder / "stamp.json").unlink()
    else:
        segments = index_data_files(folder)
        assert segments
        for seg in segments:
            data = seg.read_bytes()
            damage_file(seg, data[: len(data) // 2] if damage == "truncate-segment" else b"\x00garbage" * 50)
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == json.loads(first.stdout)


def _evidence(*args, env=None, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "evidence_cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def test_eight_readers_while_the_index_rebuilds(tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text(GOOD, encoding="utf-8")
    idx = tmp_path / "idx"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    warm = _evidence("query", "TIM-3", "--claims", str(claims), "--index-dir", str(idx), "-f", "json", env=env)
    assert warm.wait(120) == 0
    claims.write_text(GOOD + "\n", encoding="utf-8")  # stale now: the next process rebuilds
    procs = [_evidence("query", "TIM-3 ligands", "--claims", str(claims), "--index-dir", str(idx), "-f", "json",
                       env=env) for _ in range(9)]
    outputs = []
    for p in procs:
        out, errs = p.communicate(timeout=300)
        assert p.returncode == 0, errs
        outputs.append(json.loads(out))
    assert all(o == outputs[0] for o in outputs)
    assert outputs[0][0]["id"] == "wong2017-2.5-09"
    assert not [p for p in idx.iterdir() if p.name.startswith(".build-")]


def test_read_only_project_directory_is_left_untouched(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "claims.yaml").write_text(GOOD, encoding="utf-8")
    project.chmod(0o555)
    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT), EVIDENCE_INDEX_DIR=str(tmp_path / "cache"))
        env.pop("EVIDENCE_CLAIMS", None)
        p = _evidence("query", "Keytruda", "-f", "json", env=env, cwd=project)
        out, errs = p.communicate(timeout=120)
        assert p.returncode == 0, errs
        assert json.loads(out)
        assert sorted(x.name for x in project.iterdir()) == ["claims.yaml"]
    finally:
        project.chmod(0o755)


def test_ingest_killed_mid_write_leaves_the_old_file(tmp_path):
    out = tmp_path / "claims.yaml"
    out.write_text(GOOD, encoding="utf-8")
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
        "from evidence_cli.ingest import ingest\n"
        f"ingest([Path({str(ROOT / 'tests' / 'data' / 'styles.txt')!r})], Path({str(out)!r}))\n"
    )
    p = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                       capture_output=True, timeout=120)
    assert p.returncode == -9
    assert out.read_text(encoding="utf-8") == GOOD
    assert store.load_claims(out)["claims"][0]["id"] == "wong2017-abs-01"


def test_only_safe_yaml_loading_in_the_package():
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "evidence_cli").rglob("*.py")}
    for path, text in sources.items():
        assert not re.search(r"unsafe_load|FullLoader|UnsafeLoader|yaml\.Loader\b|full_load", text), path
        for call in re.finditer(r"yaml\.(load|load_all|compose|parse)\(", text):
            args = text[call.end(): call.end() + 80]
            assert "Loader=_loader()" in args, (path, text[call.start(): call.end() + 80])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_any_query_text_gets_a_defined_exit_code(tmp_path, text):
    result = runner.invoke(app, ["query", text, "--claims", str(CLAIMS), "--index-dir", str(tmp_path / "idx"),
                                 "-f", "json"])
    assert result.exit_code in (0, 1, 2)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 0:
        assert isinstance(json.loads(result.stdout), list)


@pytest.mark.parametrize("text", ["ref:²", "ref:٣", "entity:", "section:", "\ud800", "kind:"])
def test_odd_field_values_are_clean_errors_or_results(tmp_path, text):
    result = runner.invoke(app, ["query", text, "--claims", str(CLAIMS), "--index-dir", str(tmp_path / "idx")])
    assert result.exit_code in (0, 1, 2)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_batch_survives_lone_surrogates(tmp_path):
    lines = '{"id": "a", "query": "\\ud800"}\n{"id": "\\ud800", "query": "TIM-3"}\nTIM-3\n'
    result = runner.invoke(app, ["batch", "-", "--claims", str(CLAIMS), "--index-dir", str(tmp_path / "i")],
                           input=lines)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [("error" in o) for o in out] == [True, False, False]
    assert out[1]["id"] == 2  # an id that cannot be written out is replaced by the line number
    assert result.exit_code == 2


def test_damaged_digest_memo_is_ignored(tmp_path):
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "digests.json").write_text("[]", encoding="utf-8")
    result = runner.invoke(app, ["query", "TIM-3", "--claims", str(CLAIMS), "--index-dir", str(idx), "-f", "json"])
    assert result.exit_code == 0


def test_ingest_never_writes_a_file_validate_would_reject(tmp_path):
    src = tmp_path / "d.txt"
    src.write_text("Abstract\n\nA sentence here [1].\n\nFigure 1. One.\n\nFigure 1. Two.\n", encoding="utf-8")
    (tmp_path / "d.yaml").write_text('id: "Wong 2017"\nyear: "2017"\n', encoding="utf-8")
    out = tmp_path / "claims.yaml"
    bad = runner.invoke(app, ["ingest", str(src), "--claims", str(out), "--no-tag"])
    assert bad.exit_code == 2 and not out.exists()
    assert "would make it invalid (check the document metadata .yaml): documents[0].id" in bad.stderr
    (tmp_path / "d.yaml").write_text("id: d\n", encoding="utf-8")
    good = runner.invoke(app, ["ingest", str(src), "--claims", str(out), "--no-tag"])
    assert good.exit_code == 0
    ids = [c["id"] for c in store.load_claims(out)["claims"]]
    assert ids == ["d-abs-01", "d-fig1", "d-fig1-2"]
    assert runner.invoke(app, ["validate", "--claims", str(out)]).exit_code == 0


def test_negated_and_hedged_approvals(tmp_path):
    from evidence_cli.ingest import ingest
    from evidence_cli.tagging import tag_claims
    from evidence_cli.views.domain import approvals

    src = tmp_path / "d.txt"
    src.write_text("1. Approvals\n\nAtezolizumab has not been approved for melanoma by the FDA. Durvalumab might "
                   "be approved for urothelial carcinoma. Nivolumab was FDA approved for melanoma in 2014 and for "
                   "non-small cell lung cancer in 2015.\n", encoding="utf-8")
    out = tmp_path / "claims.yaml"
    ingest([src], out, tag=tag_claims)
    rows = approvals(store.load_claims(out)["claims"])
    got = [(r["drugs"], r["indication"], r["year"], r["regulator"], r["hedged"]) for r in rows]
    assert got == [
        (["durvalumab"], "urothelial carcinoma", None, None, True),
        (["nivolumab"], "melanoma", None, "FDA", False),
        (["nivolumab"], "non-small cell lung cancer", None, "FDA", False),
    ]
