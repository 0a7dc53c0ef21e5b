"""Ingest quality on documents the ingest was not written for: hand-checked gold sentences and questions.

For each gold file in bench/gold/ (one per document), the document is ingested alone (with tagging, as a user
would) and this prints:
  * the share of gold sentences found verbatim (white space aside) as a claim WITH exactly the gold's refs,
  * the share found verbatim with other refs, and the share not found at all,
  * Recall@3 and MRR of the gold questions (a hit is a claim containing the question's answer fragment),
  * the ingest time (median over --runs) and the pages.

Run from the repository root:  python bench/ingest_quality.py [--runs 3] [--misses]
The PDFs are read from ../shared/dev-docs/ (or --docs DIR); text documents from bench/gold/.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from evidence_cli import index
from evidence_cli.ingest import ingest
from evidence_cli.query_plan import plan_query
from evidence_cli.store import load_claims
from evidence_cli.tagging import tag_claims

HERE = Path(__file__).parent
GOLD = HERE / "gold"
DEV_DOCS = HERE.parent.parent / "shared" / "dev-docs"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def locate(name: str, docs: Path) -> Path | None:
    for folder in (docs, GOLD):
        if (folder / name).is_file():
            return folder / name
    return None


def evaluate(gold: dict, path: Path, runs: int, show_misses: bool) -> dict:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "claims.yaml"
        for _ in range(runs):
            out.unlink(missing_ok=True)
            t0 = time.perf_counter()
            ingest([path], out, tag=tag_claims)
            times.append(time.perf_counter() - t0)
        data = load_claims(out)
        claims = data["claims"]
        by_text: dict[str, list[dict]] = {}
        for c in claims:
            by_text.setdefault(norm(c["text"]), []).append(c)
        exact = text_only = 0
        for s in gold["sentences"]:
            found = by_text.get(norm(s["text"]))
            if found and any(c["refs"] == sorted(s["refs"]) for c in found):
                exact += 1
                continue
            if found:
                text_only += 1
                if show_misses:
                    print(f"  REFS  p{s.get('page', '?')} gold {s['refs']} got {found[0]['refs']}: {s['text'][:90]}",
                          file=sys.stderr)
            elif show_misses:
                near = [c for c in claims if norm(s["text"])[:40] in norm(c["text"])
                        or norm(c["text"])[:40] in norm(s["text"])]
                print(f"  MISS  p{s.get('page', '?')} [{s.get('case', '')}]", file=sys.stderr)
                print(f"        gold: {s['text']}", file=sys.stderr)
                for c in near[:2]:
                    print(f"        got:  {c['text']}  {c['refs']}", file=sys.stderr)
        handle = index.open_index(out, Path(tmp) / "index")
        matcher = index.matcher(handle)
        hits3, rr = 0, 0.0
        for q in gold["questions"]:
            answer = norm(q["answer"])
            texts = [norm(h["text"]) for h in index.run_query(handle, plan_query(q["q"], matcher), limit=10)]
            rank = next((i + 1 for i, t in enumerate(texts) if answer in t), None)
            hits3 += rank is not None and rank <= 3
            rr += 1 / rank if rank else 0.0
            if show_misses and (rank is None or rank > 3):
                print(f"  Q     rank {rank}: {q['q']!r} -> {texts[0][:80] if texts else '-'}", file=sys.stderr)
    n, nq = len(gold["sentences"]), len(gold["questions"])
    pages = next((d.get("pages") for d in data["documents"]), None)
    return {"sentences": n, "exact": round(exact / n, 3), "text_only": round(text_only / n, 3),
            "missing": round((n - exact - text_only) / n, 3), "questions": nq, "recall@3": round(hits3 / nq, 3),
            "mrr": round(rr / nq, 3), "claims": len(claims), "pages": pages,
            "ingest_s": round(statistics.median(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=DEV_DOCS, help="folder holding the gold files' PDFs")
    parser.add_argument("--runs", type=int, default=1, help="ingest runs per document (the median is printed)")
    parser.add_argument("--misses", action="store_true", help="print every miss on stderr")
    parser.add_argument("gold", nargs="*", type=Path, help="gold files (default: bench/gold/*.yaml)")
    args = parser.parse_args()
    # spaCy's start-up is not ingest time
    tag_claims([{"id": "warm-up", "text": "PD-1 blockade.", "refs": [], "section": "1"}])
    for gold_file in args.gold or sorted(GOLD.glob("*.yaml")):
        gold = yaml.safe_load(gold_file.read_text(encoding="utf-8"))
        if gold.get("same_as"):  # the same sentences and questions, on another form of the document
            other = yaml.safe_load((gold_file.parent / gold["same_as"]).read_text(encoding="utf-8"))
            gold = {**other, "document": gold["document"]}
        path = locate(gold["document"], args.docs)
        if path is None:
            print(f"{gold_file.name}: {gold['document']} not found (pass --docs)", file=sys.stderr)
            continue
        print(f"{gold_file.name}: ", end="", flush=True)
        if args.misses:
            print(file=sys.stderr)
        print(evaluate(gold, path, args.runs, args.misses))


if __name__ == "__main__":
    main()
