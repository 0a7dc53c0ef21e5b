"""The engines behind the index adapter: the same analysis, the same coverage, the retrieval gate for each, the
engine recorded with the index, and clear errors for an unknown or missing engine. (The whole suite also runs once
per engine: see the ``engine`` fixture in conftest.py.)"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evidence_cli import index, store
from evidence_cli.cli import app
from evidence_cli.paths import BUNDLED_CLAIMS
from evidence_cli.query_plan import plan_query
from tests.conftest import ENGINES, ROOT, damage

runner = CliRunner()
BENCH = ROOT / "bench"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Z", "S", "M")), max_size=80))
def test_the_analysis_is_whooshs_stemming_analyzer(text):
    from whoosh.analysis import StemmingAnalyzer

    from evidence_cli.analysis import stem_spans, stems

    theirs = [(t.text, t.startchar, t.endchar) for t in StemmingAnalyzer(stoplist=None, minsize=1)(
        text, chars=True, mode="index")]
    assert stem_spans(text) == theirs
    assert stems(text) == [t for t, _, _ in theirs]


def test_the_retrieval_gate_holds_for_each_engine(engine):
    sys.path.insert(0, str(BENCH))
    try:
        from retrieval import GATE, evaluate, gate_questions
    finally:
        sys.path.remove(str(BENCH))
    questions = yaml.safe_load((BENCH / "retrieval_eval.yaml").read_text(encoding="utf-8"))["questions"]
    result = evaluate(BUNDLED_CLAIMS, gate_questions(questions), engine=engine)
    assert result["questions"] == 59
    assert result["recall@3"] >= GATE["recall@3"] and result["mrr"] >= GATE["mrr"], result


@pytest.mark.skipif(len(ENGINES) < 2, reason="tantivy is not installed")
def test_engines_agree_on_coverage_and_best_hit(tmp_path):
    """The same terms in both indexes: each query term matches the same number of claims, the same terms are
    isolated, and the best hit is the same claim for these questions (BM25's IDF differs a little between them)."""
    questions = ["TIM-3 ligands", "why do patients relapse on anti-PD-1 therapy", "pembrolizumab dose",
                 "IDO biomarker melanoma", "Keytruda approval", "mismatch repiar deficiency", "reference 45",
                 "synergy of CTLA-4 and PD-1 blockade"]
    results = {}
    for name in ENGINES:
        handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine=name)
        matcher = index.matcher(handle)
        results[name] = [index.search(handle, plan_query(q, matcher), limit=5, highlight=False) for q in questions]
    for q, a, b in zip(questions, results["whoosh"], results["tantivy"], strict=True):
        assert a.coverage() == b.coverage(), q
        assert a.isolated == b.isolated, q
        assert [h["id"] for h in a.hits[:1]] == [h["id"] for h in b.hits[:1]], q


def test_filters_alone_list_claims_in_file_order(engine, tmp_path):
    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine=engine)
    plan = plan_query("", index.matcher(handle), sections=["2"], kinds=["approval"])
    ids = [h["id"] for h in index.search(handle, plan, limit=100).hits]
    from evidence_cli.store import load_claims

    expected = [c["id"] for c in load_claims(BUNDLED_CLAIMS)["claims"]
                if (c["section"] == "2" or c["section"].startswith("2.")) and c.get("kind") == "approval"]
    assert ids == expected and ids


def test_the_index_records_its_engine(engine, tmp_path):
    result = runner.invoke(app, ["query", "TIM-3", "--claims", str(BUNDLED_CLAIMS), "--index-dir", str(tmp_path),
                                 "--engine", engine, "-f", "json"])
    assert result.exit_code == 0, result.output
    [folder] = [p for p in tmp_path.iterdir() if p.name.startswith("v")]
    assert f"-{engine}-" in folder.name
    assert json.loads((folder / "stamp.json").read_text(encoding="utf-8"))["engine"] == engine


@pytest.mark.skipif(len(ENGINES) < 2, reason="tantivy is not installed")
def test_another_engines_index_is_not_used_and_the_note_says_so(tmp_path):
    args = ["query", "TIM-3 ligands", "--claims", str(BUNDLED_CLAIMS), "--index-dir", str(tmp_path), "-f", "json"]
    first = runner.invoke(app, [*args, "--engine", "whoosh"])
    second = runner.invoke(app, [*args, "--engine", "tantivy"])
    assert first.exit_code == second.exit_code == 0
    assert ("note: the index there was built by the whoosh engine; building a tantivy index (--engine or "
            "$EVIDENCE_ENGINE choose; each engine keeps its own)") in second.stderr
    assert [h["id"] for h in json.loads(first.stdout)][:1] == [h["id"] for h in json.loads(second.stdout)][:1]
    again = runner.invoke(app, [*args, "--engine", "whoosh"])  # each keeps its own: nothing rebuilt
    assert again.exit_code == 0 and "note:" not in again.stderr
    assert sorted(p.name.split("-")[1] for p in tmp_path.iterdir() if p.name.startswith("v")) == ["tantivy",
                                                                                                  "whoosh"]


def test_an_index_of_another_version_is_rebuilt_with_a_note(engine, tmp_path):
    args = ["query", "TIM-3", "--claims", str(BUNDLED_CLAIMS), "--index-dir", str(tmp_path), "-f", "json"]
    assert runner.invoke(app, args).exit_code == 0
    [folder] = [p for p in tmp_path.iterdir() if p.name.startswith("v")]
    stamp = json.loads((folder / "stamp.json").read_text(encoding="utf-8"))
    old = tmp_path / folder.name.replace(f"v{index.INDEX_SCHEMA_VERSION}-", "v3-")
    folder.rename(old)
    (old / "stamp.json").write_text(json.dumps({**stamp, "schema_version": 3}), encoding="utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "note: the index was built by another version of evidence; rebuilding" in result.stderr


@pytest.mark.parametrize("where", ["option", "env"])
def test_an_unknown_engine_is_a_usage_error(tmp_path, where, monkeypatch):
    args = ["query", "TIM-3", "--claims", str(BUNDLED_CLAIMS), "--index-dir", str(tmp_path)]
    if where == "option":
        args += ["--engine", "lucene"]
    else:
        monkeypatch.setenv("EVIDENCE_ENGINE", "lucene")
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    name = "--engine" if where == "option" else "$EVIDENCE_ENGINE"
    assert f"{name}: unknown search engine 'lucene'; choose one of: whoosh, tantivy" in result.stderr
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())  # nothing built


def test_the_api_checks_the_engine_name():
    from evidence_cli.api import Corpus, UsageError

    with pytest.raises(UsageError, match="unknown search engine 'x'"):
        Corpus(BUNDLED_CLAIMS, engine="x")
    with pytest.raises(UsageError, match="unknown search engine 3"):
        Corpus(BUNDLED_CLAIMS, engine=3)


def test_a_missing_engine_library_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tantivy", None)  # as if not installed: importing it raises ImportError
    result = runner.invoke(app, ["query", "TIM-3", "--claims", str(BUNDLED_CLAIMS), "--index-dir", str(tmp_path),
                                 "--engine", "tantivy"])
    assert result.exit_code == 2
    assert ("the tantivy engine needs the tantivy package: pip install 'evidence-cli[tantivy]' (or choose "
            "--engine whoosh)") in result.stderr


def test_json_lines_escape_the_characters_splitlines_breaks_on(tmp_path):
    """A batch line with U+0085 in it: its error line must stay one line for str.splitlines() readers."""
    result = runner.invoke(app, ["batch", "-", "--claims", str(BUNDLED_CLAIMS), "--index-dir", str(tmp_path)],
                           input='{"\\u0085": "", "query": "x\\u2028y"}\n')
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["error"].startswith("unknown field(s) \x85;")
    assert "\\u0085" in lines[0]


def test_whoosh_is_the_default_whatever_is_installed(monkeypatch, tmp_path):
    monkeypatch.delenv("EVIDENCE_ENGINE", raising=False)
    handle = index.open_index(BUNDLED_CLAIMS, Path(tmp_path))
    assert handle.engine == "whoosh"


def test_what_whoosh_imports_in_place_of_a_module_still_works():
    """The stand-ins for modules whoosh imports but a query never uses do the real thing when called, and the real
    modules import as usual afterwards."""
    import subprocess

    code = ("import sys\n"
            "from evidence_cli.engines import whoosh_backend\n"
            "whoosh_backend._import_whoosh()\n"
            "import whoosh.query.terms as terms\n"
            "assert 'whoosh.lang.morph_en' not in sys.modules\n"
            "print(sorted(terms.variations('rendering')))\n"
            "from whoosh.lang.morph_en import variations\n"
            "import whoosh.lang\n"
            "print(sorted(variations('rendering')) == sorted(whoosh.lang.morph_en.variations('rendering')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert "render" in ast.literal_eval(out[0]) and out[1] == "True"


def test_a_query_imports_neither_asyncio_nor_urllib_request(engine, tmp_path):
    """whoosh imports them and never uses them on this path (about 23 ms of a cold query): they are left out. On a
    fresh index a query also reads no claims file and writes nothing, so the modules for that are not imported
    (a few ms of a cold start, whose goal is 1.6 times `import typer`)."""
    import subprocess

    unused = ("asyncio", "urllib.request", "cached_property", "whoosh.lang.morph_en")
    # nor whoosh beyond its Porter stemmer: whoosh_files reads whoosh's index (about 30 ms of a cold query)
    unused_when_fresh = ("yaml", "spacy", "evidence_cli.store", "evidence_cli.rows", "csv", "tempfile",
                         "whoosh.index", "whoosh.reading", "whoosh.searching", "whoosh.query", "pickle", "hashlib")
    code = (
        "import sys\n"
        "from evidence_cli.cli import main\n"
        f"sys.argv = ['evidence', 'query', 'TIM-3 ligands', '--index-dir', {str(tmp_path)!r}, '-f', 'json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"print(sorted(m for m in {unused + unused_when_fresh!r} if m in sys.modules), file=sys.stderr)\n"
    )
    for fresh in (False, True):  # the first run builds the index, the second only opens it
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        imported = set(ast.literal_eval(out.stderr.strip().splitlines()[-1]))
        assert imported.isdisjoint(unused)
        if fresh:
            assert imported == set()
        assert json.loads(out.stdout)[0]["id"] == "wong2017-2.5-09"


def _texts_corpus(tmp_path: Path, texts: list[str]) -> Path:
    """A claims file of these sentences, one document, each claim shaped as the chapter's first."""
    from evidence_cli import store

    base = store.load_claims(BUNDLED_CLAIMS)
    template = {**base["claims"][0], "entities": [], "refs": [], "numbers": []}
    claims = [{**template, "id": f"t-{i}", "doc": "t", "text": text, "span": [0, len(text)]}
              for i, text in enumerate(texts)]
    claims_file = tmp_path / "claims.yaml"
    claims_file.write_text(store.dump_claims({"schema_version": base["schema_version"],
                                              "documents": [{**base["documents"][0], "id": "t"}],
                                              "claims": claims}), encoding="utf-8")
    return claims_file


def _tantivy_rankings(handle, queries, k, monkeypatch):
    """Each query's top ``k`` from tantivy's top_scores, then again with every match a candidate (exhaustive)."""
    from evidence_cli.engines import tantivy_backend

    def ranks():
        return [handle.backend.top_scores([("text", w, 1.0) for w in q.split()], k, None, index.COORD, None)
                for q in queries]

    fast = ranks()
    monkeypatch.setattr(tantivy_backend, "CANDIDATES", 10**7)
    return fast, ranks()


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_coordination_finds_a_best_claim_neither_candidate_list_holds(tmp_path, monkeypatch):
    """The best coordinated claim (2 of 3 words, short) is outranked by BM25 alone (one rarer word repeated, in
    150 claims) and by terms matched (all three, in 150 long sentences): it is still first, as scoring every match
    puts it. (The first candidates, 100 of each kind, missed it.)"""
    filler = [f"w{i}" for i in range(200)]
    texts = (["xylo quarz w0"]
             + [f"xylo quarz zephyr {' '.join(filler[i % 7:][:100])}" for i in range(150)]
             + [f"zephyr zephyr zephyr zephyr {filler[i % 9]}" for i in range(150)]
             + [f"xylo quarz {' '.join(filler[i % 5:][:50])}" for i in range(1000)]  # commoner than zephyr
             + [" ".join(filler[i % 11:][:3]) for i in range(2000)])
    handle = index.open_index(_texts_corpus(tmp_path, texts), tmp_path / "idx", engine="tantivy")
    fast, exhaustive = _tantivy_rankings(handle, ["xylo quarz zephyr"], index.RERANK_POOL, monkeypatch)
    assert exhaustive[0][0][0] == 0  # the claim with two of the three words, as designed
    assert fast == exhaustive


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
@pytest.mark.parametrize("threads", [1, 2])
def test_tantivy_ties_are_cut_in_claims_file_order(tmp_path, monkeypatch, threads):
    """Hundreds of claims tie; indexed by one thread (its document order is the claims file's, which ranking
    relies on) or by two (it is not: their segments interleave the claims), the claims shown are the first tied ones
    in the claims file, the same as an exhaustive ranking, for every query."""
    import random

    from evidence_cli.engines import tantivy_backend

    monkeypatch.setattr(tantivy_backend, "INDEX_THREADS", threads)
    rng = random.Random(7)
    vocabulary = ["tumor", "cell", "block", "ligand", "express", "resist", "melanoma", "therapi", "respons", "gene"]
    sentences = [" ".join(rng.choice(vocabulary) for _ in range(rng.choice((4, 5, 8)))) for _ in range(20)]
    texts = [rng.choice(sentences) for _ in range(4000)]  # each about 200 times
    handle = index.open_index(_texts_corpus(tmp_path, texts), tmp_path / "idx", engine="tantivy")
    assert handle.backend.ordered is (threads == 1)
    queries = [" ".join(rng.sample(vocabulary, rng.randint(1, 4))) for _ in range(40)]
    fast, exhaustive = _tantivy_rankings(handle, queries, index.RERANK_POOL, monkeypatch)
    assert any(len({s for _, s in ranking}) < len(ranking) for ranking in exhaustive)  # ties, as designed
    assert fast == exhaustive


def _index_contents(claims_file: Path, folder: Path, engine: str):
    """Every claim's stored record, in claims-file order, and the ranked ids of a few queries."""
    handle = index.open_index(claims_file, folder, engine=engine)
    backend = handle.backend
    stored = [backend.stored(pos) for pos in backend.in_order(None, 10_000)]
    ranked = [[h["id"] for h in index.run_query(handle, plan_query(q, index.matcher(handle)), limit=20)]
              for q in ("TIM-3 ligands", "why do patients relapse on anti-PD-1 therapy", "IDO biomarker melanoma")]
    return stored, ranked


@pytest.mark.parametrize("child", ["works", "fails", "cannot start", "no memory to spare", "no scratch file",
                                   "threads running"])
def test_an_index_built_in_two_processes_is_the_one_built_in_one(engine, tmp_path, monkeypatch, child):
    """From PARALLEL_BUILD_MIN claims a forked child makes 55% of the records; the index is the same, and when the
    child fails, cannot be forked, would take memory the machine lacks, has nowhere to write or would be forked
    from a process with other threads, this process makes them, with the same result and no file left behind."""
    import marshal
    import os

    one = _index_contents(BUNDLED_CLAIMS, tmp_path / "one", engine)
    monkeypatch.setattr(index, "PARALLEL_BUILD_MIN", 2)
    monkeypatch.setattr(index, "_room_for_a_child", lambda: child != "no memory to spare")
    # this test process has an engine's threads running; _one_thread's own answer is tested below
    monkeypatch.setattr(index, "_one_thread", lambda: child != "threads running")
    if child == "fails":  # the child's first write fails (the parent writes nothing with marshal)
        monkeypatch.setattr(marshal, "dump", lambda *a: 1 / 0)
    elif child == "cannot start":
        monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError("no more processes")))
    elif child == "no scratch file":
        import tempfile

        monkeypatch.setattr(tempfile, "mkstemp", lambda **kw: (_ for _ in ()).throw(OSError("read-only")))
    made_here = []  # the records this process makes (the child's are made in the child)
    real_display_record = index.display_record
    monkeypatch.setattr(index, "display_record", lambda c: made_here.append(c["id"]) or real_display_record(c))
    assert _index_contents(BUNDLED_CLAIMS, tmp_path / "two", engine) == one
    claims = [c for c in yaml.safe_load(BUNDLED_CLAIMS.read_text(encoding="utf-8"))["claims"] if not c.get("orphaned")]
    assert len(made_here) == (len(claims) * 9 // 20 if child == "works" else len(claims))
    assert not [p for p in tmp_path.rglob(".records-*")]


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_ranks_from_the_bm25_list_alone_when_its_kth_claim_beats_every_other(tmp_path, monkeypatch):
    """When the k-th claim of tantivy's best by BM25, coordinated, beats the last one's BM25 (what any other claim
    could score at most), the ranking takes two searches (BM25, then the candidates' terms matched), not the
    search by terms matched too, and it is the exhaustive ranking."""
    filler = [f"w{i}" for i in range(60)]
    texts = ([f"alpha beta {' '.join(filler[:i % 40])}" for i in range(300)]
             + [f"alpha {' '.join(filler[:20 + i % 40])}" for i in range(2000)])
    handle = index.open_index(_texts_corpus(tmp_path, texts), tmp_path / "idx", engine="tantivy")
    backend = handle.backend
    searches = []
    real_search = backend.search
    monkeypatch.setattr(backend, "search", lambda *a, **k: searches.append(a) or real_search(*a, **k))
    fast = backend.top_scores([("text", "alpha", 1.0), ("text", "beta", 1.0)], index.RERANK_POOL, None,
                              index.COORD, None)
    assert len(searches) == 2
    assert [fast] == _tantivy_rankings(handle, ["alpha beta"], index.RERANK_POOL, monkeypatch)[1]
    assert {texts[pos].split()[1] for pos, _ in fast} == {"beta"}


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_counts_a_terms_claims_without_a_search(tmp_path, monkeypatch):
    """A term's claims are counted from its document frequency (an index is never edited, so it is exact), and a
    union of one set is that set: the coverage of a question's words costs no search each."""
    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy")
    backend = handle.backend
    expected = backend.searcher.search(backend._term("text", "tim"), limit=1, count=True).count
    monkeypatch.setattr(backend, "search", lambda *a, **k: pytest.fail("searched"))
    assert backend.docs("text", "tim").count() == expected > 0
    assert backend.union([backend.docs("text", "tim"), backend.nothing()]).count() == expected


def test_a_child_is_forked_only_from_a_process_with_one_thread():
    """A fork copies only the calling thread (a lock another thread holds stays locked in the child), and with
    SIGCHLD ignored the child cannot be waited for: both keep the build in one process."""
    import subprocess
    import threading

    code = "from evidence_cli import index; print(index._one_thread())"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == "True"
    ignoring = subprocess.run([sys.executable, "-c", "import signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
                               + code], capture_output=True, text=True, check=True)
    assert ignoring.stdout.strip() == "False"
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert index._one_thread() is False
    finally:
        stop.set()
        thread.join()


def _answer(handle, question: str, **filters) -> tuple:
    found = index.search(handle, plan_query(question, index.matcher(handle), **filters), limit=5, highlight=False)
    return found.hits, found.coverage(), found.isolated


@pytest.mark.parametrize("sizes", [(5, 7), (index.SPEC_MEMO, index.PASSAGE_MEMO)], ids=["small", "default"])
def test_what_a_handle_remembers_gives_the_answers_of_a_fresh_handle(engine, tmp_path, monkeypatch, sizes):
    """Each term's forms and claims, and each hit's passage with what it says of each term, are remembered by the
    open index for later queries (a batch, an MCP session); with memos small enough to forget during a search and
    with the default ones, and the questions asked twice, every answer is the one an empty memo gives."""
    monkeypatch.setattr(index, "SPEC_MEMO", sizes[0])
    monkeypatch.setattr(index, "PASSAGE_MEMO", sizes[1])
    questions = [q["q"] for q in yaml.safe_load((BENCH / "retrieval_eval.yaml").read_text(encoding="utf-8"))
                 ["questions"]]
    asked = [(q, {}) for q in questions + questions[::-1]]
    asked += [("PD-L1 expression", {"refs": [45]}), ("PD-L1 expression", {}), ("pd-l1", {"kinds": ["figure"]}),
              ("TIM-3", {"refs": [45]}), ("TIM-3", {"refs": [44]}), ("pd-l1", {"kinds": ["figure"]})]
    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine=engine)
    backend = handle.backend
    scored = getattr(backend, "postings", None)  # whoosh's scored postings per term
    if scored is not None:
        backend.postings = scored = index.Memo(sizes[0], 50 * sizes[1])
        backend._filters = index.Memo(2, 50 * sizes[1])  # whoosh's claims per filter, forgetting between searches
    for question, filters in asked:
        remembered = _answer(handle, question, **filters)
        kept = handle.specs, handle.passages
        handle.specs, handle.passages = index.Memo(sizes[0]), index.Memo(sizes[1])
        if scored is not None:
            kept_filters = backend._filters
            backend.postings, backend._filters = index.Memo(sizes[0], 50 * sizes[1]), index.Memo(2)
        assert remembered == _answer(handle, question, **filters), question
        handle.specs, handle.passages = kept
        if scored is not None:
            backend.postings, backend._filters = scored, kept_filters
            assert len(scored.values) <= sizes[0] and scored.held <= 50 * sizes[1]
        assert len(handle.specs.values) <= sizes[0] and len(handle.passages.values) <= sizes[1]
    assert handle.specs.values and handle.passages.values and (scored is None or scored.values)
    # terms alike but for one of the fields a term's claims depend on are remembered apart
    from evidence_cli.query_plan import Term

    name = Term("PD-L1 expression", entities=["pdl1_expression"], rank_words=["expression"], gene="CD274")
    for other in (Term("PD-L1 expression", entities=["pdl1_expression"], rank_words=["expression"]),
                  Term("PD-L1 expression", entities=["pdl1_expression"], gene="CD274"),
                  Term("PD-L1 expression", phrases=["PD-L1 expression"], entities=["pdl1_expression"],
                       rank_words=["expression"], gene="CD274")):
        for term in (name, other):
            spec, fresh = index._remembered_spec(handle, term), index._term_spec(handle.backend, term)
            assert (spec["term"], spec["stems"], spec["docs"].count()) == (term, fresh["stems"], fresh["docs"].count())


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 12), st.lists(st.tuples(st.integers(0, 9), st.integers(0, 15)), max_size=40))
def test_a_memo_keeps_to_its_bounds_and_forgets_its_oldest_first(size, weight, asks):
    memo = index.Memo(size, weight)
    made = []
    for key, units in asks:
        known, before = key in memo.values, len(made)
        assert memo.get(key, lambda key=key, units=units: made.append(key) or (key, units),
                        weigh=lambda v: v[1])[0] == key
        assert len(made) == before + (not known)  # made only when not held
        assert len(memo.values) <= size and memo.held <= weight
        assert memo.held == sum(w for _, w in memo.values.values())
        if max(1, units) <= weight and not known:
            assert list(memo.values)[-1] == key  # a new value is kept, after all the others
    assert set(memo.values) <= set(made)


def test_a_memo_makes_each_value_once_while_it_holds_it():
    memo = index.Memo(3, weight=10)
    made = []
    for key in [1, 2, 3, 1, 4]:
        memo.get(key, lambda key=key: made.append(key) or key)
    assert made == [1, 2, 3, 4] and list(memo.values) == [2, 3, 4]
    assert memo.get("heavy", lambda: "x" * 11, weigh=len) == "x" * 11  # heavier than the memo: given, not kept
    assert list(memo.values) == [2, 3, 4]
    memo.get("w", lambda: "x" * 9, weigh=len)  # the oldest go until it fits
    assert list(memo.values) == [4, "w"] and memo.held == 10


def test_a_memo_shared_by_threads_keeps_to_its_bounds():
    import threading

    memo = index.Memo(50, weight=200)
    errors = []

    def ask(seed: int) -> None:
        try:
            for i in range(3000):
                key = (i * seed) % 97
                assert memo.get(key, lambda key=key: key, weigh=lambda v: v % 7) == key
        except Exception as exc:  # any failure in a thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(s,)) for s in (1, 3, 5, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(memo.values) <= 50 and memo.held == sum(w for _, w in memo.values.values()) <= 200


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_reads_each_claims_stored_fields_by_its_position(tmp_path):
    """Every claim's display record, read beside tantivy by claims-file position, is the claim's own (its id and
    text), and a position past the last claim is no claim."""
    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy")
    claims = store.load_claims(BUNDLED_CLAIMS)["claims"]
    records = [json.loads(handle.backend.stored(pos)["data"]) for pos in range(len(claims))]
    assert [(r["id"], r["text"]) for r in records] == [(c["id"], c["text"]) for c in claims]
    with pytest.raises(KeyError):
        handle.backend.stored(len(claims))
    with pytest.raises(KeyError):
        handle.backend.stored(-1)


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
@pytest.mark.parametrize("cut", ["store", "offsets"])
def test_tantivy_stored_fields_cut_short_are_a_damaged_index_rebuilt(tmp_path, cut):
    from evidence_cli.engines import tantivy_backend

    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy")
    path = handle.path / (tantivy_backend.STORE_FILE if cut == "store" else tantivy_backend.OFFSETS_FILE)
    damage(path, path.read_bytes()[:-9])
    with pytest.raises(ValueError, match=r"stored fields|offsets"):
        tantivy_backend.open_backend(handle.path)
    again = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy")
    assert json.loads(again.backend.stored(0)["data"])["id"] == store.load_claims(BUNDLED_CLAIMS)["claims"][0]["id"]


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_indexes_a_claims_file_with_orphaned_claims(tmp_path):
    """An orphaned claim (its sentence gone from the source) is not indexed: the stored fields skip its position,
    and every other claim is read at its own."""
    data = store.load_claims(BUNDLED_CLAIMS)
    for i in (0, 3, len(data["claims"]) - 1):
        data["claims"][i]["orphaned"] = True
    claims_file = tmp_path / "claims.yaml"
    claims_file.write_text(store.dump_claims(data), encoding="utf-8")
    handle = index.open_index(claims_file, tmp_path / "idx", engine="tantivy")
    assert handle.backend.doc_count() == len(data["claims"]) - 3
    for pos in (1, 2, 4):
        assert json.loads(handle.backend.stored(pos)["data"])["id"] == data["claims"][pos]["id"]
    for pos in (0, 3):
        with pytest.raises(KeyError):
            handle.backend.stored(pos)


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_offsets_that_fail_their_crc_are_a_damaged_index(tmp_path):
    from array import array

    from evidence_cli.engines import tantivy_backend

    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy")
    path = handle.path / tantivy_backend.OFFSETS_FILE
    offsets = array("Q", path.read_bytes())
    offsets[5] = 2**64 - 1
    damage(path, offsets.tobytes())
    with pytest.raises(ValueError, match="do not agree"):
        tantivy_backend.open_backend(handle.path)


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_offsets_that_go_backwards_with_a_crc_that_agrees_are_a_one_line_error(tmp_path):
    """Only a file rewritten with its CRC can do this: reading the claim says the index must be rebuilt."""
    import zlib
    from array import array

    from evidence_cli.engines import tantivy_backend
    from evidence_cli.errors import IndexError_

    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy")
    path = handle.path / tantivy_backend.OFFSETS_FILE
    offsets = array("Q", path.read_bytes()[:-8])
    offsets[3], offsets[4] = offsets[4], offsets[3]
    body = offsets.tobytes()
    damage(path, body + array("Q", [zlib.crc32(body)]).tobytes())
    backend = tantivy_backend.open_backend(handle.path)
    with pytest.raises(IndexError_, match="could not be read"):
        backend.stored(3)


@pytest.mark.skipif("tantivy" not in ENGINES, reason="tantivy is not installed")
def test_tantivy_offsets_changed_in_order_are_a_damaged_index_and_rebuilt(tmp_path):
    """An offset moved within its neighbours still goes forwards, but would cut two claims' fields in the wrong
    place: the file's CRC-32 (its last 8 bytes) tells it."""
    from array import array

    from evidence_cli.engines import tantivy_backend

    handle = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy")
    path = handle.path / tantivy_backend.OFFSETS_FILE
    offsets = array("Q", path.read_bytes())
    assert offsets[5] + 1 < offsets[6]
    offsets[5] += 1
    damage(path, offsets.tobytes())
    with pytest.raises(ValueError, match="do not agree"):
        tantivy_backend.open_backend(handle.path)
    notes = []
    again = index.open_index(BUNDLED_CLAIMS, tmp_path, engine="tantivy", note=notes.append)
    assert any("damaged" in n for n in notes)
    assert json.loads(again.backend.stored(4)["data"])["id"] == store.load_claims(BUNDLED_CLAIMS)["claims"][4]["id"]
