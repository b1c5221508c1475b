"""Run the CPU benchmarks: bench_foundation, bench_gradients, bench_accuracy, then bench_extract (quick mode) if present.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run_all.py [--full] [--explain]

Each benchmark runs in its own process with one BLAS thread and without OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE in its environment (removed here too, in case the caller forgot ``env -u``).
Quick mode (the default) keeps the total under about five minutes; ``--full`` runs more repeats
and bench_extract's default settings. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run(name: str, argv: list[str], timeout: float) -> int:
    print(f"\n$ {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    try:
        rc = subprocess.run(argv, cwd=ROOT, env=child_env(), timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"{name}: stopped after {timeout:.0f} s", flush=True)
        rc = 124
    print(f"[{name}: exit {rc}, {time.perf_counter() - start:.1f} s]", flush=True)
    return rc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="more repeats; bench_extract with its defaults")
    parser.add_argument("--explain", action="store_true", help="print egraph-dsl's explain() and plans")
    args = parser.parse_args()
    start = time.perf_counter()
    failures = 0
    foundation = [sys.executable, str(HERE / "bench_foundation.py")]
    if not args.full:
        foundation.append("--quick")
    if args.explain:
        foundation.append("--explain")
    failures += run("bench_foundation", foundation, timeout=240 if not args.full else 600) != 0
    failures += run("bench_gradients", [sys.executable, str(HERE / "bench_gradients.py")],
                    timeout=300 if not args.full else 900) != 0
    failures += run("bench_accuracy", [sys.executable, str(HERE / "bench_accuracy.py")]
                    + ([] if args.full else ["--samples", "100"]), timeout=300 if not args.full else 900) != 0
    extract_bench = HERE / "bench_extract.py"
    if extract_bench.exists():
        argv = [sys.executable, str(extract_bench)]
        if not args.full:
            argv += ["--time-limit", "2", "--methods", "greedy-tree", "greedy-dag", "ilp-highs",
                     "--synthetic", "5000"]
        failures += run("bench_extract", argv, timeout=120 if not args.full else 1800) != 0
    else:
        print("benchmarks/bench_extract.py not present: skipped")
    print(f"\nrun_all: {time.perf_counter() - start:.1f} s, {failures} benchmark(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
