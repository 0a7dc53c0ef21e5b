"""Scale: synthetic corpora of N claims — ingest and index build time, index size, warm query p50/p95.

The synthetic claims are the chapter's claims, re-numbered into many documents and sections, with their words
lightly shuffled so that the index vocabulary and posting lists grow like a real corpus would.

Per engine (--engines whoosh tantivy): index build, index size, warm query p50/p95 (ten queries, one process),
the throughput of a batch of natural-language questions (sentences of 6-15 words, in one process with the index
open), and a cold `evidence query … -f json` as a new process: its wall time and peak RSS.

Run from the repository root:  python bench/scale.py --sizes 10000 100000 [--ingest-size 10000] [--engines …]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from evidence_cli import index, store
from evidence_cli.query_plan import plan_query

HERE = Path(__file__).parent
ROOT = HERE.parent


def synthetic_claims(n: int, seed: int = 7) -> dict:
    base = yaml.load((ROOT / "claims.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    rng = random.Random(seed)
    claims = []
    docs = []
    per_doc = len(base["claims"])
    for i in range(n):
        src = base["claims"][i % per_doc]
        d = i // per_doc
        if i % per_doc == 0:
            docs.append({**base["documents"][0], "id": f"syn{d}", "path": f"syn{d}.txt"})
        words = src["text"].split()
        if d:  # keep document 0 verbatim, vary the rest
            k = max(1, len(words) // 5)
            idx = rng.sample(range(len(words)), k)
            for a, b in zip(idx, reversed(idx), strict=False):
                words[a], words[b] = words[b], words[a]
            words.append(f"token{rng.randrange(50_000)}")
        text = " ".join(words)
        claim = {**src, "id": f"syn{d}-{src['id'].split('-', 1)[1]}", "doc": f"syn{d}", "text": text,
                 "entities": [e for e in src.get("entities") or [] if e["end"] <= len(text)]}
        claims.append(claim)
    return {"schema_version": 1, "documents": docs, "claims": claims}


def synthetic_text(n_sentences: int, one_paragraph: bool = False) -> str:
    """The chapter's sentences, one per line, in paragraphs of 6 (a blank line between) and sections "k.m" of 150
    sentences (top-level numbers stay below 100, as in a real chapter; ingest reads "2011." as a wrapped year).
    With ``one_paragraph``, one section of one paragraph: a PDF extraction that lost its layout."""
    base = yaml.load((ROOT / "claims.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["claims"]
    texts = [c["text"] for c in base if c["kind"] not in ("figure", "keywords")]
    out, section = [], 0
    for i in range(n_sentences):
        if one_paragraph:
            if i == 0:
                out.append("1. Section 1")
        elif i % 150 == 0:
            out.append(f"\n{section // 50 + 1}.{section % 50 + 1}. Section {section}\n")
            section += 1
        elif i % 6 == 0:
            out.append("")
        out.append(texts[i % len(texts)])
    return "\n".join(out) + "\n"


QUERIES = ["TIM-3 ligands", "Keytruda approval", "why do patients relapse on anti-PD-1 therapy", "ref:45",
           "IDO biomarker melanoma", "pembrolizumb colorectal", "PD-L2 affinity", "chemokines T cell trafficking",
           "entity:CD274 bladder", "mismatch repair mutational load"]


QUESTION_STARTS = ["what is known about", "does", "why do", "how does", "is there evidence that", "which claims say",
                   "tell me about", "what evidence links"]


def natural_questions(n: int, seed: int = 11) -> list[str]:
    """Questions as users type them: sentences of 6-15 words, a question start and words of the chapter's
    claims in their order (a window of one claim), so most of them share words with some claim."""
    base = yaml.load((ROOT / "claims.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["claims"]
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        start = rng.choice(QUESTION_STARTS).split()
        words = rng.choice(base)["text"].rstrip(".").split()
        want = rng.randint(6, 15) - len(start)
        if len(words) < want:
            continue
        i = rng.randrange(len(words) - want + 1)
        out.append(" ".join(start + words[i:i + want]))
    return out


def batch_rate(handle, questions: list[str], jobs: int = 1) -> float:
    """Questions per second through `evidence batch`'s loop (the index open, output discarded); with ``jobs``, as
    `evidence batch --jobs N` runs it (the workers' start included)."""
    from evidence_cli.batch import run_batch, run_batch_in_workers

    t = time.perf_counter()
    for _ in (run_batch(questions, handle) if jobs == 1 else run_batch_in_workers(questions, handle.path, jobs)):
        pass
    return len(questions) / (time.perf_counter() - t)


def cold_query(claims_file: Path, index_root: Path, engine: str, runs: int = 5) -> tuple[float, float]:
    """A new process `evidence query "TIM-3 ligands" -f json` on a fresh index: median wall time (ms) and
    median peak RSS (MiB), read by /usr/bin/time (a child forked from this large process would count the pages
    it shares with it)."""
    times, rss = [], []
    env = dict(os.environ, EVIDENCE_ENGINE=engine)
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "evidence_cli", "query",
                               "TIM-3 ligands", "--claims", str(claims_file), "--index-dir", str(index_root),
                               "-f", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True,
                              check=True)
        times.append(time.perf_counter() - t)
        rss.append(int(proc.stderr.split()[-1]) / 1024)
    return 1000 * statistics.median(times), statistics.median(rss)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_size(n: int, runs: int, engine: str = "whoosh", batch: int = 2000, quick: bool = False,
               jobs: int = 1) -> dict:
    """Index build as after `evidence ingest` (which leaves the parsed claims in the parse cache), after a hand
    edit of one claim in claims.yaml (only that claim is parsed again), and with no cache at all (the whole YAML
    parsed, as on a fresh clone); index size; warm query latency (one process, index open)."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        claims_file = tmp / "claims.yaml"
        data = synthetic_claims(n)
        t0 = time.perf_counter()
        text = store.dump_claims(data)
        claims_file.write_text(text, encoding="utf-8")
        t1 = time.perf_counter()
        store.write_parse_cache(tmp / "idx", claims_file, text, json.loads(json.dumps(data)))  # as ingest does
        t2 = time.perf_counter()
        index.open_index(claims_file, tmp / "idx", engine=engine)
        t3 = time.perf_counter()
        cold_ms, cold_rss = cold_query(claims_file, tmp / "idx", engine)
        if quick:  # no hand edit, no build without the cache
            handle = index.open_index(claims_file, tmp / "idx", engine=engine)
            t4 = t5 = t6 = time.perf_counter()
        else:
            middle = text.index("\n- id: ", len(text) // 2)
            edited = text[:middle] + text[middle:].replace(" tumor", " tumour", 1)  # one claim, as a person would
            claims_file.write_text(edited, encoding="utf-8")
            t4 = time.perf_counter()
            handle = index.open_index(claims_file, tmp / "idx", engine=engine)
            t5 = time.perf_counter()
            index.open_index(claims_file, tmp / "idx-no-cache", engine=engine)
            t6 = time.perf_counter()
        del data, text
        p50, p95 = query_latency(handle, runs)
        rate = batch_rate(handle, natural_questions(batch)) if batch else None
        rate_jobs = batch_rate(handle, natural_questions(batch), jobs) if batch and jobs > 1 else None
        return {
            "engine": engine,
            "claims": n,
            "claims_yaml_mb": round(claims_file.stat().st_size / 1e6, 1),
            "write_yaml_s": round(t1 - t0, 1),
            "index_build_after_ingest_s": round(t3 - t2, 1),
            "index_build_after_hand_edit_s": None if quick else round(t5 - t4, 1),
            "index_build_without_cache_s": None if quick else round(t6 - t5, 1),
            "index_mb": round(folder_size(handle.path) / 1e6, 1),
            "parse_cache_mb": round(store.parse_cache_path(tmp / "idx", claims_file).stat().st_size / 1e6, 1),
            "query_p50_ms": round(1000 * p50, 2),
            "query_p95_ms": round(1000 * p95, 2),
            "batch_natural_q_per_s": round(rate) if rate else None,
            f"batch_natural_q_per_s_jobs_{jobs}": round(rate_jobs) if rate_jobs else None,
            "cold_query_ms": round(cold_ms), "cold_query_peak_rss_mib": round(cold_rss),
        }


def bench_large(n: int, engine: str, runs: int = 5) -> dict:
    """For a million claims: the claims file and its parse cache are written here, as `evidence ingest` leaves
    them; then each figure is a new process, so that its peak RSS is the command's own (this process holds the
    synthetic data): the index build as the first query builds it, a cold query on the fresh index, and the warm
    latency (ten queries, ``runs`` rounds) in a process that opened the index."""
    import gc
    import json

    tmp = Path(tempfile.mkdtemp())
    try:
        claims_file = tmp / "claims.yaml"
        data = synthetic_claims(n)
        text = store.dump_claims(data)
        claims_file.write_text(text, encoding="utf-8")
        store.write_parse_cache(tmp / "idx", claims_file, text, json.loads(json.dumps(data)))
        size = len(text.encode("utf-8"))
        del data, text
        gc.collect()

        def timed(*cmd: str) -> tuple[float, float, str]:
            t = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, check=True,
                                  env=dict(os.environ, EVIDENCE_ENGINE=engine))
            return time.perf_counter() - t, int(proc.stderr.split()[-1]) / 1024, proc.stdout

        query = [sys.executable, "-m", "evidence_cli", "query", "TIM-3 ligands", "--claims", str(claims_file),
                 "--index-dir", str(tmp / "idx"), "-f", "json"]
        build_s, build_mib, _ = timed(*query)
        cold = [timed(*query)[:2] for _ in range(3)]
        _, warm_mib, out = timed(sys.executable, str(Path(__file__).resolve()), "--warm", str(claims_file),
                                 str(tmp / "idx"), "--runs", str(runs))
        p50, p95 = json.loads(out)
        index_dir = next(p for p in (tmp / "idx").iterdir() if p.name.startswith("v"))
        return {"engine": engine, "claims": n, "claims_yaml_mb": round(size / 1e6, 1),
                "index_build_after_ingest_s": round(build_s, 1), "index_build_peak_rss_mib": round(build_mib),
                "index_mb": round(folder_size(index_dir) / 1e6, 1),
                "cold_query_ms": round(1000 * statistics.median(c[0] for c in cold)),
                "cold_query_peak_rss_mib": round(statistics.median(c[1] for c in cold)),
                "query_p50_ms": round(1000 * p50, 2), "query_p95_ms": round(1000 * p95, 2),
                "warm_process_peak_rss_mib": round(warm_mib)}
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def chapter_batch(engine: str, rounds: int = 3, jobs: int = 1) -> dict:
    """`evidence batch`'s loop over the 121 evaluation questions, ten times over, on the bundled chapter: the
    median of ``rounds`` q/s figures (with ``jobs`` worker processes, their start included)."""
    from evidence_cli.paths import BUNDLED_CLAIMS

    questions = [q["q"] for q in yaml.safe_load((HERE / "retrieval_eval.yaml").read_text(encoding="utf-8"))
                 ["questions"]] * 10
    with tempfile.TemporaryDirectory() as tmp:
        handle = index.open_index(BUNDLED_CLAIMS, Path(tmp), engine=engine)
        batch_rate(handle, questions[:100])  # warm
        rates = [batch_rate(handle, questions, jobs) for _ in range(rounds)]
    return {"engine": engine, "jobs": jobs, "chapter_batch_q_per_s": round(statistics.median(rates))}


def warm_latency(claims_file: Path, index_root: Path, runs: int) -> None:
    """Print [p50, p95] in seconds of ten queries, ``runs`` rounds, in this process with the index open."""
    import json

    print(json.dumps(query_latency(index.open_index(claims_file, index_root), runs)))


def query_latency(handle, runs: int) -> tuple[float, float]:
    """p50 and p95, in seconds, of the ten QUERIES, ``runs`` rounds, on an open index."""
    matcher = index.matcher(handle)
    samples = []
    for _ in range(runs):
        for q in QUERIES:
            t = time.perf_counter()
            index.run_query(handle, plan_query(q, matcher), limit=10, highlight=False)
            samples.append(time.perf_counter() - t)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def bench_ingest(n: int, one_paragraph: bool = False) -> dict:
    from evidence_cli.ingest import ingest
    from evidence_cli.tagging import tag_claims

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "synthetic.txt"
        src.write_text(synthetic_text(n, one_paragraph), encoding="utf-8")
        t0 = time.perf_counter()
        report = ingest([src], Path(tmp) / "claims.yaml", tag=tag_claims)
        return {"sentences": n, "layout": "one paragraph" if one_paragraph else "paragraphs of 6",
                "claims": report.claims, "ingest_with_tagging_s": round(time.perf_counter() - t0, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--ingest-size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20, help="query rounds (10 queries each) per size")
    parser.add_argument("--engines", nargs="*", default=["whoosh", "tantivy"], choices=["whoosh", "tantivy"])
    parser.add_argument("--batch", type=int, default=2000, help="natural-language questions in the batch figure")
    parser.add_argument("--quick", action="store_true", help="skip the builds after a hand edit and without cache")
    parser.add_argument("--warm", nargs=2, type=Path, metavar=("CLAIMS", "INDEX_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--chapter", action="store_true", help="the chapter batch figure, per engine")
    parser.add_argument("--jobs", type=int, default=1, help="batch figures also with this many worker processes")
    parser.add_argument("--separate", action="store_true",
                        help="each figure in a new process, with its peak RSS (for a million claims)")
    args = parser.parse_args()
    if args.warm:
        warm_latency(args.warm[0], args.warm[1], args.runs)
        return
    if args.chapter:
        for engine in args.engines:
            print(chapter_batch(engine), flush=True)
            if args.jobs > 1:
                print(chapter_batch(engine, jobs=args.jobs), flush=True)
    if args.ingest_size:
        print(bench_ingest(args.ingest_size), flush=True)
        print(bench_ingest(args.ingest_size, one_paragraph=True), flush=True)
    for n in args.sizes:
        for engine in args.engines:
            if args.separate:
                print(bench_large(n, engine, args.runs), flush=True)
            else:
                print(bench_size(n, args.runs, engine, args.batch, args.quick, args.jobs), flush=True)


if __name__ == "__main__":
    main()
