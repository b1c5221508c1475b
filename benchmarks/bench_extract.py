"""Run every extractor on the sample e-graphs; print cost, ratio to ref_best, gap, time.

Usage: ``python benchmarks/bench_extract.py [--time-limit 20] [--data DIR] [--methods ...]``
(``--heldout DIR``: every egraph-serialize JSON under DIR, families = sub-folders, against a
plain HiGHS ILP with the same time limit, see :func:`heldout`; ``--quick``: greedy DAG
and the default ILP only, 20 s per file as in the reference, a 10^5-node synthetic graph; about a minute on the samples).
After the per-file rows comes the per-family table: files,
greedy DAG and ILP total cost and time, the best known (reference) total, the ILP's cost
ratio to it (mean over files of ``1 + (cost - ref) / |ref|``: 1 is as good, above 1 worse,
for negative costs too), how many files are worse than the reference, and how many optima
the ILP proved against how many the reference's plain ILP proved.
Also times loading and greedy DAG on a synthetic e-graph of ``--synthetic`` nodes
(``--synthetic-kind program``: saturated-program-like; ``layered``: long-chain stress case).

``--stages 100000 1000000`` (``--stages-only`` to skip the table) times each stage on
synthetic graphs of those sizes, each in a fresh model so lazy caches count: JSON parse,
model build, greedy-tree, greedy-dag, prune; minimum wall and CPU seconds of ``--repeats``
runs, resident memory after the stage and the process's peak so far.
"""

from __future__ import annotations

import argparse
import csv
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
from egraph_dsl.extract import EGraphModel

from egraph_dsl import extract

DATA = Path("/work/shared/data/egraphs")


def layered(n_nodes: int, seed: int = 0) -> EGraphModel:
    """Stress graph: layered random e-graph (~3 nodes per class, 1-3 children drawn uniformly
    from the 500 classes below, 2% back edges). Its terms are long chains, so cost sets
    cover most of the graph: a worst case for greedy DAG, unlike saturated programs."""
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


def program(n_nodes: int, seed: int = 0) -> EGraphModel:
    """A saturated-e-graph-like DAG of about ``n_nodes`` nodes, ~3 nodes per class.

    The program is a random term tree (random size splits, so depth grows like log n) over
    a few shared variables, with common subexpressions (8% of child edges point to an
    earlier subterm). Every compound class then gets rewrite alternatives, like commutation
    (same children), associativity / distribution (children mixing the class's children and
    grandchildren) and simplification (a unary node over a grandchild); 1% of alternatives
    point back to the parent class, which makes cycles as ``x = x * 1`` rewrites do.
    """
    rng = np.random.default_rng(seed)
    n_classes = max(int(n_nodes / 3.0), 16)  # calibrated: shared leaves make no class
    n_vars = max(4, min(64, n_classes // 100))
    kids_of: list[list[int]] = [[] for _ in range(n_vars)]
    parent_of = [-1] * n_vars
    # top-down random splits, numbered in post-order so children precede parents
    budget = n_classes - n_vars
    stack: list[tuple[int, int, int]] = [(budget, -1, 0)]  # (size, parent slot, state)
    pending: list[list[int]] = []
    while stack:
        size, slot, state = stack.pop()
        if state == 0:
            # a leaf position is a shared variable (no new class) half of the time
            if size <= 1 and rng.random() < 0.5:
                if slot >= 0:
                    pending[slot].append(int(rng.integers(0, n_vars)))
                continue
            me = len(pending)
            pending.append([])
            stack.append((size, slot, 1 + me))
            if size > 1:
                arity = min(size - 1, int(rng.choice((1, 2, 2, 2, 3))))
                cuts = sorted({int(c) for c in rng.integers(1, size - 1, size=arity - 1)}
                              ) if arity > 1 else []
                bounds = [0, *cuts, size - 1]
                parts = [b - a for a, b in pairwise(bounds)]
                for part in reversed(parts):
                    stack.append((max(part, 1), me, 0))
        else:
            me = state - 1
            cls = len(kids_of)
            kids = pending[me]  # empty for a constant leaf
            for i in range(len(kids)):
                if rng.random() < 0.08 and cls > n_vars:
                    kids[i] = int(rng.integers(0, cls))  # common subexpression
            kids_of.append(kids)
            parent_of.append(-1)
            if slot >= 0:
                pending[slot].append(cls)
    for cls, kids in enumerate(kids_of):
        for k in kids:
            if parent_of[k] < 0:
                parent_of[k] = cls
    node_class: list[int] = []
    children: list[list[int]] = []
    costs: list[float] = []

    def add(cls: int, kids: list[int], cost: float) -> None:
        node_class.append(cls)
        children.append(kids)
        costs.append(cost)

    n_program = len(kids_of)
    for cls in range(n_program):
        kids = kids_of[cls]
        add(cls, kids, float(rng.integers(1, 10)) if kids else 1.0)
        if not kids:
            continue
        for _ in range(int(rng.integers(2, 5))):
            r = rng.random()
            at = int(rng.integers(0, len(kids)))
            inner = kids_of[kids[at]]
            rest = kids[:at] + kids[at + 1:]
            if r < 0.35 or not inner:  # commutation: the same children
                alt = kids[::-1] if len(kids) > 1 else list(kids)
            elif r < 0.65:  # flattening f(a, g(b, c)) -> h(a, b, c)
                alt = rest + inner
            elif r < 0.95 and rest:  # reassociation f(a, g(b, c)) -> f(g'(a, b), c)
                new_cls = len(kids_of)
                kids_of.append([rest[0], inner[0]])
                parent_of.append(cls)
                add(new_cls, [rest[0], inner[0]], float(rng.integers(1, 10)))
                add(new_cls, [inner[0], rest[0]], float(rng.integers(1, 10)))
                alt = [new_cls, *inner[1:], *rest[1:]]
            else:  # simplification: drop the node, keep one child's subterm
                alt = [kids[at]] if rng.random() < 0.5 else list(inner)
            if rng.random() < 0.01 and parent_of[cls] >= 0:
                alt = [*alt, parent_of[cls]]  # x = x * 1 style back edge: a cycle
            add(cls, alt, float(rng.integers(1, 10)))
    first = {}
    for node, cls in enumerate(node_class):
        first.setdefault(cls, node)
    n_cls = len(kids_of)
    del n_program
    return EGraphModel.build(
        node_ids=[str(i) for i in range(len(node_class))], ops=["op"] * len(node_class),
        node_class=node_class, costs=costs,
        children=[[first[k] for k in kids] for kids in children],
        class_ids=[f"c{i}" for i in range(n_cls)], roots=[n_cls - 1])


GENERATORS = {"program": program, "layered": layered}


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB (current: Linux only)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/statm") as handle:
            current = int(handle.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        current = float("nan")
    return current, peak


def stages(n_nodes: int, kind: str = "program", repeats: int = 3) -> None:
    """Print wall/CPU time (min of ``repeats``) and memory per stage for one synthetic graph."""
    import gc
    import json

    from egraph_dsl.extract.prune import prune

    text = extract.dumps(GENERATORS[kind](n_nodes)).encode()
    gc.collect()
    print(f"\nsynthetic {kind}: {len(text) / 2**20:.1f} MB of JSON; baseline RSS "
          f"{_rss_mb()[0]:.0f} MB")
    print(f"{'stage':<12} {'wall s':>8} {'cpu s':>8} {'RSS MB':>8} {'peak MB':>8}  result")

    def timed(name: str, make_input: object, run: object) -> None:
        walls, cpus, note = [], [], ""
        for _ in range(repeats):
            arg = make_input() if callable(make_input) else None  # type: ignore[operator]
            gc.collect()
            w, c = time.perf_counter(), time.process_time()
            out = run(arg)  # type: ignore[operator]
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            current, peak = _rss_mb()
            note = out if isinstance(out, str) else note
            del out, arg
        print(f"{name:<12} {min(walls):>8.3f} {min(cpus):>8.3f} {current:>8.0f} {peak:>8.0f}  {note}",
              flush=True)

    timed("json parse", None, lambda _: json.loads(text) and "")
    timed("build", lambda: json.loads(text), lambda data: extract.from_dict(data) and "")
    timed("load", None, lambda _: (lambda m: f"{m.num_nodes} nodes, {m.num_classes} classes")(
        extract.loads(text)))
    model_of = lambda: extract.loads(text)
    timed("greedy-tree", model_of, lambda m: f"cost {extract.greedy_tree(m).cost:g}")
    timed("greedy-dag", model_of, lambda m: f"cost {extract.greedy_dag(m).cost:g}")
    timed("prune", model_of, lambda m: f"{sum(len(v) for v in prune(m).members.values())} nodes kept")


def ratio_to_best(cost: float, best: float) -> float:
    """``1 + (cost - best) / |best|``: cost / best for positive costs, above 1 is worse for any sign."""
    if best == 0:
        return 1.0 if cost == 0 else float("inf")
    return 1.0 + (cost - best) / abs(best)


def family_table(results: list[dict[str, object]], methods: list[str]) -> None:
    """Per family: files, greedy DAG and ILP cost and time, best known, ratio, worse, proven."""
    greedy_name = "greedy-dag" if "greedy-dag" in methods else methods[0]
    exact = [m for m in methods if m.startswith("ilp")]
    ilp_name = exact[0] if exact else methods[-1]
    header = (f"{'family':<12} {'files':>5} {'greedy cost':>12} {'greedy s':>9} {'ILP cost':>12} "
              f"{'ILP s':>8} {'ref cost':>12} {'ratio':>7} {'worse':>5} {'proven':>7} {'ref proven':>10}")
    print(f"\nper family ({greedy_name} / {ilp_name}; ref = best known)")
    print(header)
    print("-" * len(header))
    families = sorted({str(r["family"]) for r in results})
    total_worse = 0
    for family in families:
        rows = [r for r in results if r["family"] == family]
        greedy = [r for r in rows if r["method"] == greedy_name]
        ilp = [r for r in rows if r["method"] == ilp_name]
        ratios = [ratio_to_best(float(r["cost"]), float(r["ref"])) for r in ilp]  # type: ignore[arg-type]
        worse = sum(x > 1 + 1e-9 for x in ratios)
        total_worse += worse
        ref_cost = sum(float(r["ref"]) for r in ilp)  # type: ignore[arg-type]
        print(f"{family:<12} {len(ilp):>5} {sum(float(r['cost']) for r in greedy):>12.6g} "  # type: ignore[arg-type]
              f"{sum(float(r['seconds']) for r in greedy):>9.3f} "  # type: ignore[arg-type]
              f"{sum(float(r['cost']) for r in ilp):>12.6g} "  # type: ignore[arg-type]
              f"{sum(float(r['seconds']) for r in ilp):>8.2f} {ref_cost:>12.6g} "  # type: ignore[arg-type]
              f"{sum(ratios) / max(len(ratios), 1):>7.4f} {worse:>5} "
              f"{sum(bool(r['optimal']) for r in ilp):>3}/{len(ilp):<3} "
              f"{sum(bool(r['ref_optimal']) for r in ilp):>6}/{len(ilp):<3}")
    print(f"files worse than the best known: {total_worse}")


def heldout(root: Path, time_limit: float, methods: list[str]) -> None:
    """Held-out comparison: every ``*.json`` under ``root`` (family = its folder name, or the
    file-name prefix before ``__``), our ``methods`` against the plain HiGHS ILP
    (:mod:`plain_ilp`) with the same time limit; best known = the cheapest answer seen.
    Per file: cost, seconds, stop reason, proven; then per family: files, worse and better
    than plain (plain finding nothing counts as better), proven (ours / plain), mean ratio to
    the best known (ours / plain), total seconds (ours / plain)."""
    import sys
    import warnings

    sys.path.insert(0, str(Path(__file__).parent))
    from plain_ilp import plain_ilp

    ours = [m for m in methods if m.startswith("ilp")] or ["ilp"]
    rows: list[dict[str, object]] = []
    print(f"{'family':<12} {'file':<28} {'nodes':>7} {'method':<10} {'cost':>12} {'sec':>7} "
          f"{'stop':<11} {'opt':>3}")
    for path in sorted(root.rglob("*.json")):
        family = path.parent.name if path.parent != root else path.name.split("__")[0]
        # many lean-egg files list a root e-class without nodes: dropped (and said so)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", extract.EmptyRootsWarning)
                model = extract.load(path, drop_empty_roots=True)
        except extract.ExtractionError as err:
            print(f"{family:<12} {path.name[:28]:<28} skipped: {err}")
            continue
        for warning in caught:
            print(f"{family:<12} {path.name[:28]:<28} ({warning.message})")
        costs: dict[str, tuple[float | None, bool, float, str]] = {}
        for method in [*methods, "plain"]:
            if method == "plain":
                p = plain_ilp(model, time_limit)
                costs[method] = (p.cost, p.optimal, p.seconds, p.status)
            else:
                r = extract.extract(model, method, time_limit=time_limit)
                extract.verify(model, r)
                costs[method] = (r.cost, r.optimal, r.seconds, r.stop_reason)
            c, opt, sec, stop = costs[method]
            print(f"{family:<12} {path.name[:28]:<28} {model.num_nodes:>7} {method:<10} "
                  f"{'-' if c is None else f'{c:.6g}':>12} {sec:>7.2f} {stop[:11]:<11} "
                  f"{'yes' if opt else 'no':>3}", flush=True)
        best = min(c for c, *_ in costs.values() if c is not None)
        rows.append({"family": family, "best": best, **costs})
    print(f"\nheld-out per family (time limit {time_limit:g} s; best = cheapest answer seen)")
    for method in ours:
        header = (f"{'family':<12} {'files':>5} {'worse':>5} {'better':>6} {'ours proven':>11} "
                  f"{'plain proven':>12} {'ours ratio':>10} {'plain ratio':>11} {'ours s':>8} "
                  f"{'plain s':>8}")
        print(f"\n{method} vs plain\n{header}\n{'-' * len(header)}")
        for family in sorted({str(r["family"]) for r in rows}):
            fam = [r for r in rows if r["family"] == family]

            def ratio(r: dict[str, object], m: str) -> float:
                c = r[m][0]  # type: ignore[index]
                return float("inf") if c is None else ratio_to_best(c, float(r["best"]))  # type: ignore[arg-type]

            worse = sum(r["plain"][0] is not None and r[method][0]  # type: ignore[index]
                        > r["plain"][0] + 1e-6 * max(1.0, abs(r["plain"][0]))  # type: ignore[index, operator]
                        for r in fam)
            better = sum(r[method][0] is not None and (  # type: ignore[index]
                r["plain"][0] is None or r[method][0]  # type: ignore[index]
                < r["plain"][0] - 1e-6 * max(1.0, abs(r["plain"][0])))  # type: ignore[index, operator]
                for r in fam)
            print(f"{family:<12} {len(fam):>5} {worse:>5} {better:>6} "
                  f"{sum(bool(r[method][1]) for r in fam):>7}/{len(fam):<3} "  # type: ignore[index]
                  f"{sum(bool(r['plain'][1]) for r in fam):>8}/{len(fam):<3} "  # type: ignore[index]
                  f"{sum(ratio(r, method) for r in fam) / len(fam):>10.4f} "
                  f"{sum(ratio(r, 'plain') for r in fam) / len(fam):>11.4f} "
                  f"{sum(float(r[method][2]) for r in fam):>8.1f} "  # type: ignore[index]
                  f"{sum(float(r['plain'][2]) for r in fam):>8.1f}")  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--methods", nargs="*",
                        default=["greedy-tree", "greedy-dag", "ilp-highs", "ilp-cpsat"])
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--synthetic-kind", choices=sorted(GENERATORS), default="program")
    parser.add_argument("--stages", type=int, nargs="*", default=[], metavar="N",
                        help="per-stage time and memory on synthetic graphs of N nodes (e.g. 1000000)")
    parser.add_argument("--stages-only", action="store_true", help="only the --stages report")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--heldout", type=Path, metavar="DIR",
                        help="compare with a plain HiGHS ILP on every *.json under DIR "
                             "(sub-folders = families); no reference.csv needed")
    parser.add_argument("--quick", action="store_true",
                        help="greedy-dag and ilp only")
    args = parser.parse_args()
    if args.quick:
        if args.methods == parser.get_default("methods"):
            args.methods = ["greedy-dag", "ilp"]
    for n_nodes in args.stages:
        stages(n_nodes, args.synthetic_kind, args.repeats)
    if args.stages_only:
        return
    if args.heldout is not None:
        methods = args.methods if args.methods != parser.get_default("methods") \
            else ["greedy-dag", "ilp"]
        heldout(args.heldout, args.time_limit, methods)
        return
    with (args.data / "reference.csv").open() as handle:
        ref = {row["file"]: row for row in csv.DictReader(handle)}
    header = f"{'file':<14} {'method':<12} {'cost':>12} {'/ref':>8} {'bound':>12} " \
             f"{'gap%':>7} {'opt':>4} {'sec':>7}"
    print(header)
    print("-" * len(header))
    results: list[dict[str, object]] = []
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
            results.append({"family": family, "method": method, "cost": result.cost,
                            "seconds": result.seconds, "optimal": result.optimal, "ref": best,
                            "ref_optimal": path.name in ref and ref[path.name]["ilp_optimal"] == "1"})
        print(f"{family:<14} {'(load)':<12} {'':>12} {'':>8} {'':>12} {'':>7} {'':>4} "
              f"{load_s:>7.3f}")
    family_table(results, args.methods)
    if args.synthetic:
        import json

        model = GENERATORS[args.synthetic_kind](args.synthetic)
        text = extract.dumps(model)
        start = time.perf_counter()
        extract.loads(text)
        load_s = time.perf_counter() - start
        parse_s = time.perf_counter()
        json.loads(text)
        parse_s = time.perf_counter() - parse_s
        tree = extract.greedy_tree(model)
        dag = extract.greedy_dag(model)
        print(f"\nsynthetic {args.synthetic_kind} {model.num_nodes} nodes: load {load_s:.2f}s (json.loads alone "
              f"{parse_s:.2f}s), greedy-tree {tree.seconds:.2f}s cost {tree.cost:g}, "
              f"greedy-dag {dag.seconds:.2f}s cost {dag.cost:g}")


if __name__ == "__main__":
    main()
