"""The greedy-DAG extractor as it was before it was optimised: the reference that the
fast :func:`extract.greedy.dag_choice` must match choice for choice, the full-sweep tree
value iteration that the frontier sweeps must match, and the per-class loop of
:func:`extract.greedy.improve` (see test_greedy_fast and test_greedy_native)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np
from egraph_dsl.extract.model import EGraphModel
from egraph_dsl.extract.verify import _verify_choice_python

INF = float("inf")
_EMPTY: frozenset[int] = frozenset()


def _ready_counts(model: EGraphModel, usable: Sequence[bool]) -> list[int]:
    """Per node, its number of distinct child classes; -1 for unusable nodes (never ready)."""
    return [len(kids) if ok else -1 for kids, ok in zip(model.unique_children, usable, strict=True)]


def _leaf_heap(model: EGraphModel, missing: Sequence[int], queued: list[float],
               first: list[int]) -> list[tuple[float, int]]:
    """Heap of the ready leaves, one per class (cheapest, lowest index); sets ``queued``."""
    costs = model.cost_list
    classes = model.class_list
    heap: list[tuple[float, int]] = []
    for node, left in enumerate(missing):
        if left == 0:
            cls = classes[node]
            if costs[node] < queued[cls]:
                queued[cls] = costs[node]
                first[cls] = node
                heap.append((costs[node], node))
    heapq.heapify(heap)
    return heap


def _root_flags(model: EGraphModel) -> list[bool]:
    flags = [False] * model.num_classes
    for root in model.roots.tolist():
        flags[root] = True
    return flags


def _default_work(model: EGraphModel) -> int:
    return 64 * model.num_nodes + 1_000_000


def reference_dag_choice(model: EGraphModel, usable: Sequence[bool], max_work: int | None = None
               ) -> list[int]:
    """Choice per class from greedy DAG cost sets, settled cheapest-first; always acyclic.

    Like extraction-gym's faster-greedy-dag, a class's *cost set* is the set of classes of
    its current term, and a node's cost is the total cost of the union of its children's
    sets plus its own, so shared subterms are paid once. Instead of a FIFO worklist that
    re-examines parents whenever a set improves, classes are settled once, in increasing
    order of that cost (Dijkstra/Knuth order, a priority queue): with non-negative costs a
    parent's set costs at least as much as each child's, so the first node to pop is the
    class's cheapest given its settled children, and every set is built exactly once.
    Children settle before parents, so the choice is acyclic by construction. Ties pop in
    node order, so the result is deterministic.

    Sets are shared structurally: a set is a frozen *base* (usually a descendant's set,
    shared by reference) plus a small frozen set of *extra* classes; the base absorbs the
    extras only when they outgrow about ``sqrt(2 * |base|)``, so a chain of one-child nodes
    costs amortised O(sqrt(|set|)) per class instead of a copy of its set. A one-child
    node's cost is its child's plus its own (no set operation); a two-child node's cost is
    the sum of its children's minus their shared part, found with a C-level intersection
    (nothing when the children share the same base and the extras are disjoint); a node
    is not priced at all when a lower bound (its cost plus its dearest child's) already
    loses to a queued node of its class, and only the winner of each class builds its set.
    After ``max_work`` set elements have been touched (default ``64 * nodes + 10**6``),
    classes settled later get no set and their nodes are priced by the tree-style sum of
    their children's costs, which bounds the worst case (terms that are long chains).

    Stops once every root class is settled (their terms are final then); classes not settled
    by then keep choice -1, as do classes without a finite derivation.
    """
    uniq = model.unique_children
    classes = model.class_list
    costs = model.cost_list
    parents = model.parents_lists
    n_classes = model.num_classes
    missing = _ready_counts(model, usable)
    bases: list[frozenset[int] | None] = [None] * n_classes  # None: no set (budget spent)
    extras: list[frozenset[int]] = [_EMPTY] * n_classes
    sizes = [0] * n_classes
    totals = [INF] * n_classes
    weight = [0.0] * n_classes  # cost of the chosen node of each settled class
    queued = [INF] * n_classes  # cheapest total queued so far per class
    choice = [-1] * n_classes
    # a queued node with children: (base, extras) of its set without its own class
    pending: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
    budget = _default_work(model) if max_work is None else max_work
    work = 0
    exhausted = budget < 0
    prune_by_bound = min(costs, default=0.0) >= 0
    first = [-1] * n_classes  # the node queued with that total
    heap = _leaf_heap(model, missing, queued, first)
    pop, push = heapq.heappop, heapq.heappush
    wget = weight.__getitem__
    is_root = _root_flags(model)
    roots_left = sum(is_root)
    while heap:
        total, node = pop(heap)
        cls = classes[node]
        if choice[cls] >= 0:
            pending.pop(node, None)
            continue
        choice[cls] = node
        totals[cls] = total
        weight[cls] = costs[node]
        if is_root[cls]:
            roots_left -= 1
            if not roots_left:
                break
        kids = uniq[node]
        if not kids:
            bases[cls], extras[cls], sizes[cls] = _EMPTY, frozenset((cls,)), 1
        else:
            if len(kids) == 1:
                kid = kids[0]
                base: frozenset[int] | None = bases[kid]
                extra = extras[kid]
            else:
                parts = pending.pop(node, None)
                base, extra = (None, _EMPTY) if parts is None else parts
            if base is not None and not exhausted:
                extra = extra.union((cls,))
                if len(extra) * len(extra) > 2 * len(base) + 1024:
                    base, extra = base.union(extra), _EMPTY
                    work += len(base)
                else:
                    work += len(extra)
                exhausted = work > budget
                bases[cls], extras[cls] = base, extra
                sizes[cls] = len(base) + len(extra)
        for parent in parents[cls]:
            left = missing[parent] - 1
            missing[parent] = left
            if left:
                continue
            pcls = classes[parent]
            if choice[pcls] >= 0:
                continue
            pkids = uniq[parent]
            if len(pkids) == 1:
                value = costs[parent] + totals[pkids[0]]
                if value < queued[pcls] or (value == queued[pcls] and parent < first[pcls]):
                    queued[pcls] = value
                    first[pcls] = parent
                    push(heap, (value, parent))
                continue
            price = costs[parent]
            if len(pkids) == 2:
                a, b = pkids
                total_a, total_b = totals[a], totals[b]
                if prune_by_bound and price + (total_a if total_a > total_b else total_b
                                               ) > queued[pcls]:
                    continue  # cannot beat the queued node of its class
                base_a, base_b = bases[a], bases[b]
                if exhausted or base_a is None or base_b is None:
                    parts = None
                    value = price + total_a + total_b
                else:
                    if sizes[a] < sizes[b]:
                        a, b, base_a, base_b, total_a = b, a, base_b, base_a, total_b
                    extra_a, extra_b = extras[a], extras[b]
                    # b's classes not in a's set, priced directly or as b minus the overlap
                    if base_b is base_a:
                        new = extra_b.difference(extra_a)
                        work += len(extra_b)
                    else:
                        new = base_b.difference(base_a)
                        if extra_a:
                            new = new.difference(extra_a)
                        if extra_b:
                            new = new.union(extra_b.difference(base_a, extra_a))
                        work += sizes[b]
                    shared = sizes[b] - len(new)
                    if not shared:
                        value = price + total_a + totals[b]
                    elif len(new) <= shared:
                        value = price + total_a + sum(map(wget, new))
                    else:
                        value = price + total_a + totals[b] - sum(
                            map(wget, (base_b.union(extra_b)).difference(new)))
                    parts = (base_a, extra_a.union(new) if new else extra_a)
            else:
                kid_totals = [totals[k] for k in pkids]
                if prune_by_bound and price + max(kid_totals) > queued[pcls]:
                    continue  # cannot beat the queued node of its class
                parts = None
                value = price + sum(kid_totals)
                if not exhausted and None not in [bases[k] for k in pkids]:
                    big = max(pkids, key=sizes.__getitem__)
                    base_a, extra_a = bases[big], extras[big]
                    gathered: set[int] = set()
                    for k in pkids:
                        if k != big:
                            if bases[k] is not base_a:
                                gathered.update(bases[k])  # type: ignore[arg-type]
                            gathered.update(extras[k])
                            work += sizes[k]
                    gathered.difference_update(base_a)  # type: ignore[arg-type]
                    gathered.difference_update(extra_a)
                    value = price + totals[big] + sum(map(wget, gathered))
                    parts = (base_a, extra_a.union(gathered))  # type: ignore[assignment]
            if value < queued[pcls] or (value == queued[pcls] and parent < first[pcls]):
                queued[pcls] = value
                first[pcls] = parent
                if parts is not None:
                    pending[parent] = parts
                push(heap, (value, parent))
    return choice


def reference_tree_sweeps(model: EGraphModel, usable: Sequence[bool], max_sweeps: int
                        ) -> tuple[list[int], list[float]] | None:
    """Tree costs by vectorised value iteration (non-negative costs); None if not converged.

    From ``inf``, each sweep sets every class to its cheapest node given the previous sweep's
    class costs; with non-negative costs this converges to the least fixed point, which is
    the optimal tree cost (the one Knuth's algorithm finds), after as many sweeps as the
    optimal terms are deep. A class's choice is updated only when its cost strictly drops,
    to the lowest-index node attaining it; that node's children reached their final costs a
    sweep earlier, so along chosen edges that sweep number strictly decreases: acyclic.
    """
    n, n_classes = model.num_nodes, model.num_classes
    costs = np.where(np.asarray(usable, dtype=np.bool_), model.costs, np.inf)
    if n == 0 or bool((costs < 0).any()):
        return None
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(model.child_ptr))
    child_classes = model.child_classes
    order = model.class_nodes
    ptr = model.class_ptr
    if bool((ptr[1:] == ptr[:-1]).any()):
        return None  # a class without nodes: reduceat cannot express it
    starts = ptr[:-1]
    class_of_sorted = model.node_class[order]
    best = np.full(n_classes, np.inf)
    choice = np.full(n_classes, -1, dtype=np.int64)
    for _ in range(max_sweeps):
        if len(child_classes):
            with np.errstate(over="ignore", invalid="ignore"):  # overflow: inf, never chosen
                vals = costs + np.bincount(owner, weights=best[child_classes], minlength=n)
        else:
            vals = costs
        ranked = vals[order]
        new_best = np.minimum.reduceat(ranked, starts)
        dropped = new_best < best
        if not dropped.any():
            return choice.tolist(), best.tolist()
        attained = np.minimum.reduceat(
            np.where(ranked == new_best[class_of_sorted], order, n), starts)
        choice[dropped] = attained[dropped]
        best[dropped] = new_best[dropped]
    return None


def reference_improve(model: EGraphModel, choice: list[int], usable: Sequence[bool], rounds: int = 8
            ) -> list[int]:
    """extract.greedy.improve before it was vectorised: one Python loop per class."""
    uniq = model.unique_children
    members = model.class_node_lists
    costs = model.cost_list
    current = list(choice)
    current_cost, order = _verify_choice_python(model, current)
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
        trial_cost, trial_order = _verify_choice_python(model, trial)
        if trial_cost >= current_cost:
            break
        current, current_cost, order = trial, trial_cost, trial_order
    return current
