"""Retrieval evaluation: Recall@3 and MRR of `evidence query` over bench/retrieval_eval.yaml, and how well the
"not covered" signal separates questions the corpus answers from questions it does not.

A question is flagged when stderr would say the corpus does not cover it: a term no claim mentions, a specific
term no passage mentions together with the others, or no hit. Questions with `relevant:` should not be
flagged; questions with `uncovered: true` (the corpus does not discuss them) should be.

The gate is the first 59 questions (styles keyword, alias, typo, question and field): Recall@3 >= 0.983 and
MRR >= 0.927 for every engine (tests/test_engines.py checks it too).

Run from the repository root:  python bench/retrieval.py [--claims claims.yaml] [--engine whoosh|tantivy] [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from evidence_cli import index
from evidence_cli.query_plan import plan_query

HERE = Path(__file__).parent
GATE_STYLES = ("keyword", "alias", "typo", "question", "field")
GATE = {"recall@3": 0.983, "mrr": 0.927}


def flagged(result) -> bool:
    """True when the query's notes would say the corpus does not cover the question."""
    return not result.hits or bool(result.gaps) or bool(result.isolated)


def gate_questions(questions: list[dict]) -> list[dict]:
    return [q for q in questions if q.get("style") in GATE_STYLES]


def evaluate(claims: Path, questions: list[dict], k: int = 3, verbose: bool = False, engine: str = "whoosh") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        handle = index.open_index(claims, Path(tmp), engine=engine)
        matcher = index.matcher(handle)
        found, rr = 0, 0.0
        misses = []
        answerable = [q for q in questions if "relevant" in q]
        uncovered = [q for q in questions if q.get("uncovered")]
        false_flags = []
        caught = 0
        for q in questions:
            result = index.search(handle, plan_query(q["q"], matcher), limit=10)
            if q.get("uncovered"):
                caught += flagged(result)
                if not flagged(result):
                    misses.append((q["q"], "uncovered, not flagged", [h["id"] for h in result.hits[:3]], None))
                continue
            if flagged(result):
                false_flags.append(q["q"])
            ids = [h["id"] for h in result.hits]
            relevant = set(q["relevant"])
            rank = next((i + 1 for i, cid in enumerate(ids) if cid in relevant), None)
            if rank is not None and rank <= k:
                found += 1
            if rank is not None:
                rr += 1 / rank
            if rank is None or rank > k:
                misses.append((q["q"], q["relevant"], ids[:3], rank))
        n = len(answerable)
    if verbose:
        for miss in misses:
            print("MISS", *miss, file=sys.stderr)
        for text in false_flags:
            print("FLAGGED (answerable)", text, file=sys.stderr)
    out: dict = {"questions": n}
    if n:
        out.update({f"recall@{k}": round(found / n, 3), "mrr": round(rr / n, 3),
                    "answerable_flagged": round(len(false_flags) / n, 3)})
    if uncovered:
        out.update({"uncovered": len(uncovered), "uncovered_flagged": round(caught / len(uncovered), 3)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=Path, default=Path("claims.yaml"))
    parser.add_argument("--questions", type=Path, default=HERE / "retrieval_eval.yaml")
    parser.add_argument("--engine", default="whoosh", choices=["whoosh", "tantivy"])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))["questions"]
    result = evaluate(args.claims, questions, verbose=args.verbose, engine=args.engine)
    by_style: dict[str, list[dict]] = {}
    for q in questions:
        by_style.setdefault(q.get("style", "other"), []).append(q)
    gate = evaluate(args.claims, gate_questions(questions), engine=args.engine)
    passed = all(gate[m] >= v for m, v in GATE.items())
    print(f"engine: {args.engine}")
    print(f"gate: {gate} ({'passes' if passed else 'FAILS'}: Recall@3 >= {GATE['recall@3']}, MRR >= {GATE['mrr']})")
    print(f"all: {result}")
    for style, qs in sorted(by_style.items()):
        print(f"{style}: {evaluate(args.claims, qs, engine=args.engine)}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
