"""Fast greedy extractors: bottom-up tree cost, greedy DAG cost sets, local improvement.

* :func:`greedy_tree` — Knuth's generalisation of Dijkstra: a class is settled at its
  cheapest tree cost once all children of that node are settled. Optimal for tree cost
  with non-negative costs; always acyclic (children settle before parents).
* :func:`greedy_dag` — extraction-gym's "faster-greedy-dag": each class keeps a *cost
  set* (the distinct classes of its current term and their costs), so shared subterms are
  counted once; a worklist re-examines the parents of every class whose set improved.
* :func:`improve` — a cheap pass that switches a class to a cheaper node whose children are
  already in the extraction (below it); kept only if the DAG cost drops.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Sequence

from .errors import NoFiniteExtractionError
from .extraction import Extraction
from .graph import chosen_order, derivable, usable_nodes
from .model import EGraphModel
from .verify import build_extraction, verify_choice

__all__ = [
    "best_greedy_choice",
    "check_roots_finite",
    "dag_choice",
    "greedy_dag",
    "greedy_tree",
    "improve",
    "tree_choice",
]

INF = float("inf")


def check_roots_finite(model: EGraphModel, usable: Sequence[bool]) -> list[bool]:
    """Raise :class:`NoFiniteExtractionError` unless every root has a finite derivation."""
    class_ok, node_ok = derivable(model, usable)
    for root in model.roots.tolist():
        if not class_ok[root]:
            raise NoFiniteExtractionError(
                f"root e-class {model.class_ids[root]!r} has no finite extraction: every node "
                "of it depends on itself through a cycle (or on subsumed/infinite-cost nodes); "
                "add a leaf or acyclic node to that e-class")
    return node_ok


def tree_choice(model: EGraphModel, usable: Sequence[bool]) -> tuple[list[int], list[float]]:
    """Choice per class minimising tree cost (Knuth/Dijkstra), and the tree cost per class."""
    uniq = model.unique_children
    kids_all = model.children_lists
    classes = model.class_list
    costs = model.cost_list
    parents = model.parents_lists
    missing = [len(k) for k in uniq]
    best = [INF] * model.num_classes
    choice = [-1] * model.num_classes
    done = [False] * model.num_classes
    heap = [(costs[n], n) for n in range(model.num_nodes) if usable[n] and not missing[n]]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        value, node = pop(heap)
        cls = classes[node]
        if done[cls]:
            continue
        done[cls] = True
        best[cls] = value
        choice[cls] = node
        for parent in parents[cls]:
            missing[parent] -= 1
            if missing[parent] == 0 and usable[parent] and not done[classes[parent]]:
                push(heap, (costs[parent] + sum([best[k] for k in kids_all[parent]]), parent))
    return choice, best


def dag_choice(model: EGraphModel, usable: Sequence[bool], max_updates: int | None = None
               ) -> list[int]:
    """Choice per class from greedy DAG cost sets (may be cyclic in rare stale cases)."""
    uniq = model.unique_children
    classes = model.class_list
    costs = model.cost_list
    parents = model.parents_lists
    n_classes = model.num_classes
    sets: list[dict[int, float] | None] = [None] * n_classes
    totals = [INF] * n_classes
    choice = [-1] * n_classes
    queued = [False] * model.num_nodes
    queue: deque[int] = deque()
    for node in range(model.num_nodes):
        if usable[node] and not uniq[node]:
            queue.append(node)
            queued[node] = True
    budget = max_updates if max_updates is not None else 50 * model.num_nodes + 1000
    pop, append = queue.popleft, queue.append
    while queue and budget > 0:
        node = pop()
        queued[node] = False
        cls = classes[node]
        kids = uniq[node]
        if not kids:
            new: dict[int, float] = {cls: costs[node]}
            total = costs[node]
        else:
            kid_sets = [sets[k] for k in kids]
            if None in kid_sets:
                continue
            if len(kid_sets) == 1:
                only = kid_sets[0]
                assert only is not None
                if cls in only:
                    continue
                new = only.copy()
            else:
                biggest = max(kid_sets, key=len)  # type: ignore[arg-type]
                assert biggest is not None
                new = biggest.copy()
                for other in kid_sets:
                    if other is not biggest:
                        new.update(other)  # type: ignore[arg-type]
                if cls in new:
                    continue
            new[cls] = costs[node]
            total = sum(new.values())
        if total < totals[cls]:
            budget -= 1
            sets[cls] = new
            totals[cls] = total
            choice[cls] = node
            for parent in parents[cls]:
                if not queued[parent] and usable[parent]:
                    queued[parent] = True
                    append(parent)
    return choice


def improve(model: EGraphModel, choice: list[int], usable: Sequence[bool], rounds: int = 8
            ) -> list[int]:
    """Switch classes to cheaper nodes whose children are already below them; never worse."""
    uniq = model.unique_children
    members = model.class_node_lists
    costs = model.cost_list
    current = list(choice)
    current_cost, order = verify_choice(model, current)
    for _ in range(rounds):
        pos = [-1] * model.num_classes
        for i, cls in enumerate(order):
            pos[cls] = i
        trial = list(current)
        changed = False
        for cls in order:
            here = pos[cls]
            best_node = trial[cls]
            best_cost = costs[best_node]
            for node in members[cls]:
                if usable[node] and costs[node] < best_cost and all(
                        pos[k] > here for k in uniq[node]):
                    best_node, best_cost = node, costs[node]
            if best_node != trial[cls]:
                trial[cls] = best_node
                changed = True
        if not changed:
            break
        trial_cost, trial_order = verify_choice(model, trial)
        if trial_cost >= current_cost:
            break
        current, current_cost, order = trial, trial_cost, trial_order
    return current


def _dag_cost(model: EGraphModel, choice: Sequence[int]) -> float:
    return verify_choice(model, choice)[0]


def best_greedy_choice(model: EGraphModel, usable: Sequence[bool] | None = None
                       ) -> tuple[list[int], str]:
    """The cheaper (DAG cost) of improved greedy-tree and greedy-DAG choices, and its name."""
    if usable is None:
        usable = usable_nodes(model)
    check_roots_finite(model, usable)
    tree, _ = tree_choice(model, usable)
    tree = improve(model, tree, usable)
    dag = dag_choice(model, usable)
    if chosen_order(model, dag) is None:
        return tree, "greedy-tree"
    dag = improve(model, dag, usable)
    if _dag_cost(model, dag) < _dag_cost(model, tree):
        return dag, "greedy-dag"
    return tree, "greedy-tree"


def greedy_tree(model: EGraphModel, *, improve_result: bool = False) -> Extraction:
    """Bottom-up extraction minimising *tree* cost; reported cost is the DAG cost."""
    start = time.perf_counter()
    usable = usable_nodes(model)
    check_roots_finite(model, usable)
    choice, best = tree_choice(model, usable)
    if improve_result:
        choice = improve(model, choice, usable)
    tree_cost = sum(best[r] for r in set(model.roots.tolist()))
    return build_extraction(model, choice, method="greedy-tree",
                            seconds=time.perf_counter() - start,
                            stats={"tree_cost": tree_cost})


def greedy_dag(model: EGraphModel, *, improve_result: bool = True) -> Extraction:
    """Greedy DAG extraction (shared subterms counted once), then local improvement.

    Falls back to the tree-greedy choice in the rare case the cost sets leave a cycle.
    """
    start = time.perf_counter()
    usable = usable_nodes(model)
    check_roots_finite(model, usable)
    choice = dag_choice(model, usable)
    fallback = chosen_order(model, choice) is None
    if fallback:
        choice, _ = tree_choice(model, usable)
    if improve_result:
        choice = improve(model, choice, usable)
    return build_extraction(model, choice, method="greedy-dag",
                            seconds=time.perf_counter() - start,
                            stats={"fell_back_to_tree": fallback})
