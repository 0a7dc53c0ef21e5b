"""Cold query time of the installed command against a fresh index, next to the import floors.

Measures, in the same run, alternating the commands round by round (medians of N rounds, since these machines are
noisy):
  typer:  python -c "import typer"                        (the baseline of issue 14's target: at most 1.6x)
  floor:  python -c "import typer, whoosh.index, whoosh.qparser"
  query:  evidence query "TIM-3" --format json            (index already built), once per engine
  help:   evidence --help
and prints the ratios of each query to both floors.

Run from the repository root with the project installed:  python bench/query_speed.py [-n 15] [--engines …]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--runs", type=int, default=15)
    parser.add_argument("--engines", nargs="*", default=["whoosh", "tantivy"], choices=["whoosh", "tantivy"])
    args = parser.parse_args()
    evidence = shutil.which("evidence") or sys.exit("install the project first: pip install .")
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, EVIDENCE_INDEX_DIR=tmp)
    commands = {"import typer": [sys.executable, "-c", "import typer"],
                "import floor": [sys.executable, "-c", "import typer, whoosh.index, whoosh.qparser"],
                "evidence --help": [evidence, "--help"]}
    for engine in args.engines:
        commands[f"query, {engine}"] = [evidence, "query", "TIM-3", "--format", "json", "--engine", engine]
        subprocess.run(commands[f"query, {engine}"], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # build the index once
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples[name].append(time.perf_counter() - start)
    shutil.rmtree(tmp, ignore_errors=True)
    median = {name: statistics.median(s) for name, s in samples.items()}
    print(f"runs per figure: {args.runs} (median, alternating)")
    for name, value in median.items():
        print(f"{name + ':':22} {value * 1000:7.1f} ms")
    for engine in args.engines:
        q = median[f"query, {engine}"]
        print(f"ratio query ({engine}) / import typer: {q / median['import typer']:5.2f}  (target <= 1.6); "
              f"/ import floor: {q / median['import floor']:5.2f}")


if __name__ == "__main__":
    main()
