"""Exact pruning before the ILP: keep only nodes that some optimal extraction may use.

Removed, in order: unusable nodes (subsumed, infinite cost, own class as child); nodes with
no finite derivation; classes unreachable from the roots; dominated nodes. Node ``n`` is
dominated by ``m`` in the same class when ``cost(m) <= cost(n)`` and ``m``'s child classes
are a subset of ``n``'s (with a negative cost anywhere, only equal child sets count, since
dropping a subterm could lose a negative cost). Swapping ``n`` for ``m`` keeps any extraction
valid and acyclic and never raises its cost, so the optimum is unchanged.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from ._deadline import check
from .graph import derivable, reachable_classes, usable_nodes
from .greedy import check_roots_finite
from .model import EGraphModel

__all__ = ["Pruned", "dag_lower_bounds", "prune", "prune_by_incumbent"]

INF = float("inf")

_SUBSET_CHECK_LIMIT = 400  # nodes per class above which only equal child sets are merged


@dataclass(frozen=True)
class Pruned:
    """The kept nodes per reachable class, and for every dropped-by-dominance node its keeper."""

    keep: list[bool]
    classes: list[int]
    members: dict[int, list[int]]
    dominator: dict[int, int]
    nonnegative: bool


def _dominance(model: EGraphModel, cls_nodes: list[int], subset: bool
               ) -> tuple[list[int], dict[int, int]]:
    costs = model.cost_list
    uniq = model.unique_children
    ordered = sorted(cls_nodes, key=lambda n: (costs[n], len(uniq[n]), n))
    kept: list[int] = []
    kept_sets: list[frozenset[int]] = []
    by_set: dict[tuple[int, ...], int] = {}
    dominated: dict[int, int] = {}
    use_subset = subset and len(ordered) <= _SUBSET_CHECK_LIMIT
    for node in ordered:
        key = uniq[node]
        if key in by_set:
            dominated[node] = by_set[key]
            continue
        if use_subset:
            mine = frozenset(key)
            dom = next((k for k, s in zip(kept, kept_sets, strict=True) if s <= mine), None)
            if dom is not None:
                dominated[node] = dom
                continue
            kept_sets.append(mine)
        by_set[key] = node
        kept.append(node)
    return kept, dominated


def prune(model: EGraphModel, dominance: bool = True, deadline: float | None = None) -> Pruned:
    """Exactly prune ``model`` for the ILP (see module docstring); past ``deadline`` (a
    ``time.perf_counter()`` value) it raises :class:`~extract._deadline.OutOfTime`."""
    usable = usable_nodes(model)
    check_roots_finite(model, usable)
    check(deadline)
    _, node_ok = derivable(model, usable)
    roots = model.roots.tolist()
    reach = reachable_classes(model, roots, node_ok)
    check(deadline)
    members_all = model.class_node_lists
    costs = model.cost_list
    nonnegative = all(costs[n] >= 0 for c in range(model.num_classes) if reach[c]
                      for n in members_all[c] if node_ok[n])
    keep = list(node_ok)
    dominator: dict[int, int] = {}
    if dominance:
        for cls in range(model.num_classes):
            if not reach[cls]:
                continue
            if not cls & 1023:
                check(deadline)
            nodes = [n for n in members_all[cls] if keep[n]]
            if len(nodes) < 2:
                continue
            _, dominated = _dominance(model, nodes, nonnegative)
            for node, dom in dominated.items():
                keep[node] = False
                dominator[node] = dom
        reach = reachable_classes(model, roots, keep)
    classes = [c for c in range(model.num_classes) if reach[c]]
    members = {c: [n for n in members_all[c] if keep[n]] for c in classes}
    for cls in range(model.num_classes):
        if not reach[cls]:
            for n in members_all[cls]:
                keep[n] = False
    return Pruned(keep=keep, classes=classes, members=members, dominator=dominator,
                  nonnegative=nonnegative)


def dag_lower_bounds(model: EGraphModel, pruned: Pruned, deadline: float | None = None
                     ) -> list[float]:
    """Per class, a lower bound on the DAG cost of any term for it (non-negative costs only).

    A term for class ``c`` through node ``m`` contains ``m`` and, below it, a term for each
    child class; with costs >= 0 its DAG cost is at least ``cost(m)`` plus the dearest
    child's, so ``lb[c] = min over m of (cost(m) + max over children k of lb[k])`` (a sum
    would not be valid: children may share). Computed Knuth-style, cheapest first, over the
    kept nodes; classes outside the pruned graph get ``inf``.
    """
    uniq = model.unique_children
    costs = model.cost_list
    classes = model.class_list
    kept = [n for c in pruned.classes for n in pruned.members[c]]
    missing = {n: len(uniq[n]) for n in kept}
    users: dict[int, list[int]] = {}
    for n in kept:
        for k in uniq[n]:
            users.setdefault(k, []).append(n)
    lb = [INF] * model.num_classes
    heap = [(costs[n], n) for n in kept if not missing[n]]
    heapq.heapify(heap)
    pops = 0
    while heap:
        pops += 1
        if not pops & 4095:
            check(deadline)
        value, node = heapq.heappop(heap)
        cls = classes[node]
        if lb[cls] != INF:
            continue
        lb[cls] = value
        for parent in users.get(cls, ()):
            missing[parent] -= 1
            if not missing[parent] and lb[classes[parent]] == INF:
                heapq.heappush(heap, (costs[parent] + max(lb[k] for k in uniq[parent]),
                                      parent))
    return lb


def prune_by_incumbent(model: EGraphModel, pruned: Pruned, incumbent_cost: float,
                       lb: list[float], deadline: float | None = None) -> tuple[Pruned, int]:
    """Drop nodes that cannot be in an extraction cheaper than ``incumbent_cost`` (costs >= 0).

    An extraction using node ``n`` of class ``c`` contains a path of chosen nodes from a root
    down to ``c`` and, disjoint from it (no cycles), ``n`` and a term for each child of ``n``.
    So it costs at least ``down[c] + cost(n) + max over children k of lb[k]``, where
    ``down[c]`` is the cheapest such path (Dijkstra from the roots, paying each node's cost).
    Nodes whose bound exceeds the incumbent's cost (plus a rounding tolerance) go; the
    incumbent's own nodes never do, so the pruned program keeps the same optimum. Returns
    the new :class:`Pruned` and the number of nodes dropped.
    """
    uniq = model.unique_children
    costs = model.cost_list
    members = pruned.members
    down = [INF] * model.num_classes
    heap: list[tuple[float, int]] = []
    for root in set(model.roots.tolist()):
        down[root] = 0.0
        heap.append((0.0, root))
    heapq.heapify(heap)
    pops = 0
    while heap:
        pops += 1
        if not pops & 4095:
            check(deadline)
        dist, cls = heapq.heappop(heap)
        if dist > down[cls]:
            continue
        for n in members.get(cls, ()):
            step = dist + costs[n]
            for k in uniq[n]:
                if step < down[k]:
                    down[k] = step
                    heapq.heappush(heap, (step, k))
    limit = incumbent_cost + 1e-7 * max(1.0, abs(incumbent_cost))
    allowed = list(pruned.keep)
    dropped = 0
    for cls in pruned.classes:
        for n in members[cls]:
            below = max((lb[k] for k in uniq[n]), default=0.0)
            if down[cls] + costs[n] + below > limit:
                allowed[n] = False
                dropped += 1
    if not dropped:
        return pruned, 0
    check(deadline)
    _, node_ok = derivable(model, allowed)
    reach = reachable_classes(model, model.roots.tolist(), node_ok)
    classes = [c for c in pruned.classes if reach[c]]
    new_members = {c: [n for n in members[c] if node_ok[n]] for c in classes}
    keep = [False] * model.num_nodes
    for c in classes:
        for n in new_members[c]:
            keep[n] = True
    kept_before = sum(len(v) for v in members.values())
    return (Pruned(keep=keep, classes=classes, members=new_members,
                   dominator=pruned.dominator, nonnegative=pruned.nonnegative),
            kept_before - sum(len(v) for v in new_members.values()))
