"""Run every extractor on the sample e-graphs; print cost, ratio to ref_best, gap, time.

Usage: ``python benchmarks/bench_extract.py [--time-limit 20] [--data DIR] [--methods ...]``.
Also times loading and greedy DAG on a synthetic e-graph of ``--synthetic`` nodes.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

import extract
from extract import EGraphModel

DATA = Path("/work/shared/data/egraphs")


def synthetic(n_nodes: int, seed: int = 0) -> EGraphModel:
    """Layered random e-graph (~3 nodes per class, 1-3 children below, some back edges)."""
    rng = np.random.default_rng(seed)
    n_classes = n_nodes // 3
    node_class = np.minimum(np.arange(n_nodes) // 3, n_classes - 1)
    children: list[list[int]] = []
    for node in range(n_nodes):
        cls = int(node_class[node])
        if cls < 10:
            children.append([])
            continue
        k = int(rng.integers(1, 4))
        kids = rng.integers(max(0, cls - 500), cls, size=k) * 3
        if rng.random() < 0.02:
            kids = np.append(kids, int(rng.integers(cls, n_classes)) * 3)
        children.append(np.minimum(kids, n_nodes - 1).tolist())
    return EGraphModel.build(
        node_ids=[str(i) for i in range(n_nodes)], ops=["op"] * n_nodes,
        node_class=node_class, costs=rng.integers(1, 10, size=n_nodes).astype(float),
        children=children, class_ids=[f"c{i}" for i in range(n_classes)],
        roots=[n_classes - 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--methods", nargs="*",
                        default=["greedy-tree", "greedy-dag", "ilp-highs", "ilp-cpsat"])
    parser.add_argument("--synthetic", type=int, default=30_000)
    args = parser.parse_args()
    with (args.data / "reference.csv").open() as handle:
        ref = {row["file"]: row for row in csv.DictReader(handle)}
    header = f"{'file':<14} {'method':<12} {'cost':>12} {'/ref':>8} {'bound':>12} " \
             f"{'gap%':>7} {'opt':>4} {'sec':>7}"
    print(header)
    print("-" * len(header))
    for path in sorted(args.data.glob("*.json")):
        start = time.perf_counter()
        model = extract.load(path)
        load_s = time.perf_counter() - start
        best = float(ref[path.name]["ref_best"]) if path.name in ref else float("nan")
        family = path.name.split("__")[0]
        for method in args.methods:
            result = extract.extract(model, method, time_limit=args.time_limit)
            extract.verify(model, result)
            bound = result.lower_bound
            gap = "" if bound is None else f"{100 * (result.cost - bound) / max(abs(result.cost), 1e-12):.1f}"
            print(f"{family:<14} {method:<12} {result.cost:>12.6g} {result.cost / best:>8.4f} "
                  f"{'' if bound is None else f'{bound:.6g}':>12} {gap:>7} "
                  f"{'yes' if result.optimal else 'no':>4} {result.seconds:>7.2f}", flush=True)
        print(f"{family:<14} {'(load)':<12} {'':>12} {'':>8} {'':>12} {'':>7} {'':>4} "
              f"{load_s:>7.3f}")
    if args.synthetic:
        import json

        model = synthetic(args.synthetic)
        text = extract.dumps(model)
        start = time.perf_counter()
        extract.loads(text)
        load_s = time.perf_counter() - start
        parse_s = time.perf_counter()
        json.loads(text)
        parse_s = time.perf_counter() - parse_s
        tree = extract.greedy_tree(model)
        dag = extract.greedy_dag(model)
        print(f"\nsynthetic {model.num_nodes} nodes: load {load_s:.2f}s (json.loads alone "
              f"{parse_s:.2f}s), greedy-tree {tree.seconds:.2f}s cost {tree.cost:g}, "
              f"greedy-dag {dag.seconds:.2f}s cost {dag.cost:g}")


if __name__ == "__main__":
    main()
