"""Retrieval evaluation: Recall@3 and MRR of `evidence query` over bench/retrieval_eval.yaml.

Run from the repository root:  python bench/retrieval.py [--claims claims.yaml] [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from evidence_cli import index
from evidence_cli.search import plan_query

HERE = Path(__file__).parent


def evaluate(claims: Path, questions: list[dict], k: int = 3, verbose: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        handle = index.open_index(claims, Path(tmp))
        matcher = index.matcher(handle)
        found, rr = 0, 0.0
        misses = []
        for q in questions:
            ids = [h["id"] for h in index.run_query(handle, plan_query(q["q"], matcher), limit=10)]
            relevant = set(q["relevant"])
            rank = next((i + 1 for i, cid in enumerate(ids) if cid in relevant), None)
            if rank is not None and rank <= k:
                found += 1
            if rank is not None:
                rr += 1 / rank
            if rank is None or rank > k:
                misses.append((q["q"], q["relevant"], ids[:3], rank))
        n = len(questions)
    if verbose:
        for miss in misses:
            print("MISS", *miss, file=sys.stderr)
    return {"questions": n, f"recall@{k}": round(found / n, 3), "mrr": round(rr / n, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=Path, default=Path("claims.yaml"))
    parser.add_argument("--questions", type=Path, default=HERE / "retrieval_eval.yaml")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))["questions"]
    result = evaluate(args.claims, questions, verbose=args.verbose)
    by_style: dict[str, list[dict]] = {}
    for q in questions:
        by_style.setdefault(q.get("style", "other"), []).append(q)
    print(f"all: {result}")
    for style, qs in sorted(by_style.items()):
        print(f"{style}: {evaluate(args.claims, qs)}")


if __name__ == "__main__":
    main()
