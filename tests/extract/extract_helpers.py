"""Helpers for the extract tests (named uniquely: test dirs are not packages)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from egraph_dsl.extract import EGraphModel, from_dict
from egraph_dsl.extract.graph import chosen_order
from egraph_dsl.extract.verify import verify_choice
from hypothesis import strategies as st

# hypothesis profiles (dev / ci) are chosen for the whole suite in tests/conftest.py


def _find_samples() -> Path:
    """The sample e-graphs: $EGRAPH_DSL_SAMPLES, else a shared/ folder beside a parent of this checkout."""
    if os.environ.get("EGRAPH_DSL_SAMPLES"):
        return Path(os.environ["EGRAPH_DSL_SAMPLES"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "egraphs"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/data/egraphs")


DATA = _find_samples()


def make(spec: dict[str, list[tuple[str, Sequence[str], float]]], roots: Sequence[str]
         ) -> EGraphModel:
    """Build a model from ``{class: [(op, [child classes], cost), ...]}``; nodes are ``class.i``."""
    nodes: dict[str, Any] = {}
    for cls, entries in spec.items():
        for i, (op, kids, cost) in enumerate(entries):
            nodes[f"{cls}.{i}"] = {"op": op, "children": [f"{k}.0" for k in kids],
                                   "eclass": cls, "cost": cost}
    return from_dict({"nodes": nodes, "root_eclasses": list(roots)})


def all_extractions(model: EGraphModel) -> dict[tuple[tuple[int, int], ...], float]:
    """Every distinct valid extraction (reachable choice map) and its DAG cost, by brute force."""
    options = [[-1, *model.class_node_lists[c]] for c in range(model.num_classes)]
    usable = [not s for s in model.subsumed.tolist()]
    found: dict[tuple[tuple[int, int], ...], float] = {}
    for combo in itertools.product(*options):
        if any(n >= 0 and not usable[n] for n in combo):
            continue
        order = chosen_order(model, list(combo))
        if order is None:
            continue
        key = tuple(sorted((c, combo[c]) for c in order))
        if key not in found:
            found[key] = verify_choice(model, list(combo))[0]
    return found


@st.composite
def small_egraphs(draw: st.DrawFn, negative: bool = True) -> EGraphModel:
    """Random e-graphs with up to 5 classes x 3 nodes, cycles, repeats, several roots."""
    n_classes = draw(st.integers(1, 5))
    low = -3 if negative and draw(st.booleans()) else 0
    spec: dict[str, list[tuple[str, list[str], float]]] = {}
    for c in range(n_classes):
        entries = []
        for i in range(draw(st.integers(1, 3))):
            kids = draw(st.lists(st.integers(0, n_classes - 1), max_size=3))
            cost = float(draw(st.integers(low, 6)))
            entries.append((f"op{c}_{i}", [f"c{k}" for k in kids], cost))
        spec[f"c{c}"] = entries
    roots = draw(st.lists(st.integers(0, n_classes - 1), min_size=1, max_size=2, unique=True))
    return make(spec, [f"c{r}" for r in roots])




def synthetic_document(n_classes: int, seed: int = 0) -> dict[str, Any]:
    """A large random egraph-serialize document: 3 nodes per class, children from the 50
    classes below (so it is acyclic, with much sharing), plus a leaf in each tenth class."""
    import random

    rng = random.Random(seed)
    nodes: dict[str, Any] = {}
    for c in range(n_classes):
        for i in range(3):
            if c < 5 or (i == 2 and c % 10 == 0):
                kids: list[str] = []
            else:
                kids = [f"{rng.randrange(max(0, c - 50), c)}.0" for _ in range(rng.randint(1, 3))]
            nodes[f"{c}.{i}"] = {"op": f"op{i}", "children": kids, "eclass": str(c),
                                 "cost": float(rng.randint(1, 9))}
    return {"nodes": nodes, "root_eclasses": [str(n_classes - 1)]}


def plain_ilp(model: EGraphModel, time_limit: float = 20.0) -> tuple[float | None, bool]:
    """The plain HiGHS ILP of ``benchmarks/plain_ilp.py`` (no pruning, warm start or bounds), the
    reference ours must never lose to: ``(verified DAG cost of its answer or None, proven optimal)``."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from plain_ilp import plain_ilp as reference

    result = reference(model, time_limit)
    return result.cost, result.optimal


def random_cyclic(seed: int, n_classes: int, back: float = 0.3, low: int = 1,
                  floats: bool = True) -> EGraphModel:
    """A random e-graph with 1-3 nodes per class, a fraction ``back`` of child edges going
    anywhere (cycles), costs uniform in [0.5, 10) or integers in [low, 10]."""
    import random

    rng = random.Random(seed)
    nodes: dict[str, Any] = {}
    for c in range(n_classes):
        for i in range(rng.randint(1, 3)):
            kids: list[int] = []
            if c >= 3 and not (i == 0 and rng.random() < 0.15):
                kids = [rng.randrange(0, c) if rng.random() > back else rng.randrange(n_classes)
                        for _ in range(rng.randint(1, 3))]
            cost = rng.uniform(0.5, 10) if floats else float(rng.randint(low, 10))
            nodes[f"{c}.{i}"] = {"op": "f", "children": [f"{k}.0" for k in kids],
                                 "eclass": str(c), "cost": cost}
    return from_dict({"nodes": nodes, "root_eclasses": [str(n_classes - 1)]})
