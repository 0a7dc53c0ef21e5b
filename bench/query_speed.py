"""Cold query time of the installed command against a fresh index, next to the import floor.

Measures, in the same run (medians of N runs, since these machines are noisy):
  floor:  python -c "import typer, whoosh.index, whoosh.qparser"
  query:  evidence query "TIM-3" --format json            (index already built)
  help:   evidence --help
and prints the ratio query/floor (target: at most 1.3).

Run from the repository root with the project installed:  python bench/query_speed.py [-n 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], env: dict, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=15)
    args = parser.parse_args()
    evidence = shutil.which("evidence") or sys.exit("install the project first: pip install .")
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, EVIDENCE_INDEX_DIR=tmp)
    subprocess.run([evidence, "query", "TIM-3", "-f", "json"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # build the index once
    floor = timed([sys.executable, "-c", "import typer, whoosh.index, whoosh.qparser"], env, args.runs)
    query = timed([evidence, "query", "TIM-3", "--format", "json"], env, args.runs)
    helps = timed([evidence, "--help"], env, args.runs)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"runs per figure:        {args.runs} (median)")
    print(f"import floor:           {floor * 1000:7.1f} ms")
    print(f"evidence --help:        {helps * 1000:7.1f} ms")
    print(f"evidence query (cold):  {query * 1000:7.1f} ms")
    print(f"ratio query / floor:    {query / floor:7.2f}  (target <= 1.3)")


if __name__ == "__main__":
    main()
