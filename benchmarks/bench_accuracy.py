"""Accuracy of naive NumPy and ``ed.jit`` (default rulesets) on the fragile-formula suite.

    python benchmarks/bench_accuracy.py [--samples N] [--seed S]

Per formula (``benchmarks/accuracy_suite.py``): the max relative error and max ulps on N samples
from the range where it is fragile, against the exact value (mpmath), and Herbie's published
before/after bits of error where a source gives them (blank otherwise). Ends with the fraction of
formulas ``ed.jit`` gets within 4 ulps. Nothing here times anything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy_suite import FORMULAS, measure

ULPS_BOUND = 4.0


def _bits(b: tuple[float, float] | None, i: int) -> str:
    return "" if b is None else f"{b[i]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=500, help="samples per formula (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    header = (f"{'formula':<18} {'source':<34} {'naive rel':>10} {'naive ulps':>11} {'jit rel':>10} "
              f"{'jit ulps':>10} {'Herbie before':>13} {'after':>6}")
    print(header)
    print("-" * len(header))
    within = 0
    for formula in FORMULAS:
        naive, jitted = measure(formula, args.samples, args.seed)
        within += jitted.max_ulps <= ULPS_BOUND
        print(f"{formula.name:<18} {formula.source:<34} {naive.max_rel:>10.2g} {naive.max_ulps:>11.3g} "
              f"{jitted.max_rel:>10.2g} {jitted.max_ulps:>10.3g} {_bits(formula.herbie_bits, 0):>13} "
              f"{_bits(formula.herbie_bits, 1):>6}", flush=True)
    print("\nHerbie's bits (its nightly reports, averaged over its own sample of all floats):")
    for formula in FORMULAS:
        if formula.herbie_bits is not None:
            print(f"  {formula.name}: {formula.herbie_source}")
    print(f"\nwithin {ULPS_BOUND:g} ulps: ed.jit {within}/{len(FORMULAS)} ({within / len(FORMULAS):.0%}); "
          f"{args.samples} samples per formula, seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
