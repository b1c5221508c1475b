"""Fast greedy extractors: bottom-up tree cost, greedy DAG cost sets, local improvement.

* :func:`greedy_tree` — Knuth's generalisation of Dijkstra: a class is settled at its
  cheapest tree cost once all children of that node are settled. Optimal for tree cost
  with non-negative costs; always acyclic (children settle before parents).
* :func:`greedy_dag` — extraction-gym's "faster-greedy-dag": each class keeps a *cost
  set* (the distinct classes of its current term and their costs), so shared subterms are
  counted once; classes settle cheapest-first (see :func:`dag_choice`). The original
  implementation is kept in ``tests/extract/greedy_reference.py``; the tests check that
  this one picks exactly the same nodes.
* :func:`improve` — a cheap pass that switches a class to a cheaper node whose children are
  already in the extraction (below it); kept only if the DAG cost drops.

Greedy DAG (integer costs), the tree sweeps and the reachability search run compiled
(:mod:`extract._native`, built with the system C compiler and cached) with exactly the Python
results; without a compiler the Python code runs. ``tests/extract/test_greedy_native.py``
compares the two.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence

import numpy as np

from . import _native
from ._gcpause import paused_gc
from .errors import CostOverflowError, NoFiniteExtractionError, overflow_message
from .extraction import Extraction
from .graph import chosen_order, derivable, usable_nodes
from .model import BoolArray, EGraphModel, IntArray
from .verify import build_extraction, verify_choice

__all__ = [
    "best_greedy_choice",
    "check_roots_finite",
    "dag_choice",
    "dag_choice_python",
    "greedy_dag",
    "greedy_tree",
    "improve",
    "tree_choice",
]

INF = float("inf")

#: Usable-node flags: a list (fast in Python loops) or a boolean array (fast in NumPy).
Usable = Sequence[bool] | BoolArray


def _mask(usable: Usable) -> BoolArray:
    if isinstance(usable, np.ndarray) and usable.dtype == np.bool_:
        return usable
    return np.asarray(usable, dtype=np.bool_)


def _flags(usable: Usable) -> Sequence[bool]:
    return usable.tolist() if isinstance(usable, np.ndarray) else usable  # type: ignore[no-any-return]


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


def _ready_counts(model: EGraphModel, usable: Sequence[bool]) -> list[int]:
    """Per node, its number of distinct child classes; -1 for unusable nodes (never ready)."""
    return [len(kids) if ok else -1 for kids, ok in zip(model.unique_children, usable, strict=True)]


def _ranges(ptr: IntArray, which: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenated CSR ranges ``ptr[w]:ptr[w+1]`` for ``w`` in ``which``: (positions, owner).

    ``owner`` is the index into ``which`` of each position; positions keep CSR order.
    """
    starts, lengths = ptr[which], ptr[which + 1] - ptr[which]
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(which), dtype=np.int64), lengths)
    offsets = np.zeros(len(which), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return np.arange(total, dtype=np.int64) - offsets[owner] + starts[owner], owner


def _distinct(idx: IntArray, size: int) -> IntArray:
    """The distinct values of ``idx`` (all in ``0..size-1``), ascending."""
    if len(idx) * 16 > size:
        mark = np.zeros(size, dtype=np.bool_)
        mark[idx] = True
        return np.flatnonzero(mark)
    ordered = np.sort(idx)
    if len(ordered) > 1:
        keep = np.ones(len(ordered), dtype=np.bool_)
        np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
        ordered = ordered[keep]
    return ordered


def _tree_choice_sweeps(model: EGraphModel, usable: Usable, max_sweeps: int
                        ) -> tuple[list[int], list[float]] | None:
    """Tree costs by vectorised value iteration (non-negative costs); None if not converged.

    From ``inf``, each sweep sets every class to its cheapest node given the previous sweep's
    class costs; with non-negative costs this converges to the least fixed point, which is
    the optimal tree cost (the one Knuth's algorithm finds), after as many sweeps as the
    optimal terms are deep. A class's choice is updated only when its cost strictly drops,
    to the lowest-index node attaining it; that node's children reached their final costs a
    sweep earlier, so along chosen edges that sweep number strictly decreases: acyclic.

    Only the nodes with a child class that dropped in the previous sweep are re-priced (and
    only their classes re-minimised), with the same sums in the same order as a full sweep,
    so each sweep costs as much as what changed.
    """
    n, n_classes = model.num_nodes, model.num_classes
    costs = np.where(_mask(usable), model.costs, np.inf)
    if n == 0 or bool((costs < 0).any()):
        return None
    child_ptr = model.child_ptr
    child_classes = model.child_classes
    order = model.class_nodes
    ptr = model.class_ptr
    if bool((ptr[1:] == ptr[:-1]).any()):
        return None  # a class without nodes: reduceat cannot express it
    native = _native.native_tree_sweeps(model, costs, max_sweeps)
    if native is not None:  # the same sweeps, compiled
        used, native_choice, native_best = native
        return (native_choice.tolist(), native_best.tolist()) if used >= 0 else None
    # every node's class-of-child edges, grouped by child class: the parents of each class
    edge_owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(child_ptr))
    by_child = np.argsort(child_classes, kind="stable")
    parent_nodes = edge_owner[by_child]
    parent_ptr = np.zeros(n_classes + 1, dtype=np.int64)
    np.cumsum(np.bincount(child_classes, minlength=n_classes), out=parent_ptr[1:])
    best = np.full(n_classes, np.inf)
    choice = np.full(n_classes, -1, dtype=np.int64)
    vals = costs.copy()
    vals[np.diff(child_ptr) > 0] = np.inf  # children at inf in the first sweep
    classes = np.arange(n_classes, dtype=np.int64)  # classes to re-minimise this sweep
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: inf, never chosen
        for _ in range(max_sweeps):
            if not len(classes):
                return choice.tolist(), best.tolist()
            pos, owner = _ranges(ptr, classes)
            members = order[pos]
            ranked = vals[members]
            starts = np.zeros(len(classes), dtype=np.int64)
            np.cumsum((ptr[classes + 1] - ptr[classes])[:-1], out=starts[1:])
            new_best = np.minimum.reduceat(ranked, starts)
            old = best[classes]
            dropped = new_best < old
            if not dropped.any():
                return choice.tolist(), best.tolist()
            attained = np.minimum.reduceat(np.where(ranked == new_best[owner], members, n), starts)
            fell = classes[dropped]
            choice[fell] = attained[dropped]
            best[fell] = new_best[dropped]
            # re-price the parents of the classes that fell, summing children in file order
            epos, _ = _ranges(parent_ptr, fell)
            nodes = _distinct(parent_nodes[epos], n)
            cpos, cowner = _ranges(child_ptr, nodes)
            vals[nodes] = costs[nodes] + np.bincount(cowner, weights=best[child_classes[cpos]],
                                                     minlength=len(nodes))
            classes = _distinct(model.node_class[nodes], n_classes)
    return None


def _tree_choice_like_queue(model: EGraphModel, usable: Usable, complete: bool,
                            swept: tuple[list[int], list[float]] | bool | None = True
                            ) -> tuple[list[int], list[float]] | None:
    """The priority queue's exact answer, computed by sweeps run to convergence; or None.

    The least fixed point of the sweeps is the queue's settled costs (same sums, same
    order). The queue settles each class through its lowest-index node attaining that cost
    provided every such node's child classes cost strictly less (then they settle first and
    that node is queued in time); when some attaining node has a child of equal cost
    (zero-cost nodes), None is returned and the queue runs. Without ``complete`` the queue
    stops after the last root, so only classes popping no later, by (cost, node), keep
    their choice.

    Only for integer costs whose sums stay below 2**53: then every sum is exact, as the
    queue's (compensated, left-to-right) sums are; with other costs the two may differ in
    the last bit, which could break a tie differently, so None is returned.

    ``swept``: the converged sweeps (``None``: they did not converge) when the caller has
    them already; by default they run here.
    """
    n = model.num_nodes
    costs = np.where(_mask(usable), model.costs, np.inf)
    finite_costs = costs[np.isfinite(costs)]
    if bool((finite_costs != np.round(finite_costs)).any()):
        return None
    if swept is True:
        swept = _tree_choice_sweeps(model, usable, model.num_classes + 2)
    if not isinstance(swept, tuple):
        return None
    best = np.asarray(swept[1])
    finite_best = best[np.isfinite(best)]
    if len(finite_best) and float(finite_best.max()) >= 2.0**53:
        return None
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(model.child_ptr))
    child_best = best[model.child_classes]
    with np.errstate(over="ignore", invalid="ignore"):
        vals = costs + np.bincount(owner, weights=child_best, minlength=n)
    own = best[model.node_class]
    attains = np.isfinite(vals) & (vals == own)
    if len(owner) and bool((attains[owner] & (child_best >= own[owner])).any()):
        return None
    choice = np.full(model.num_classes, n, dtype=np.int64)
    np.minimum.at(choice, model.node_class[attains], np.flatnonzero(attains))
    choice[choice == n] = -1
    if not complete:
        roots = np.unique(model.roots)
        if bool((choice[roots] >= 0).all()):
            last = max(zip(best[roots].tolist(), choice[roots].tolist(), strict=True))
            later = (best > last[0]) | ((best == last[0]) & (choice > last[1]))
            choice[later] = -1
    best[choice < 0] = np.inf
    return choice.tolist(), best.tolist()


def _sweeps_once(model: EGraphModel, usable: Usable, max_sweeps: int
                 ) -> tuple[int, tuple[list[int], list[float]]] | None:
    """Compiled sweeps run to convergence (at most ``classes + 2``, like the queue check).

    Returns ``(sweeps, result)``: the iteration in which :func:`_tree_choice_sweeps` returns
    (-1: not within ``classes + 2``) and its result, which is also that function's result for
    every limit of at least ``sweeps``; ``None`` where the compiled sweeps do not apply.
    """
    n = model.num_nodes
    if n == 0 or _native.kernel() is None:
        return None
    costs = np.where(_mask(usable), model.costs, np.inf)
    ptr = model.class_ptr
    if bool((costs < 0).any()) or bool((ptr[1:] == ptr[:-1]).any()):
        return None
    native = _native.native_tree_sweeps(model, costs, max(max_sweeps, model.num_classes + 2))
    if native is None:
        return None
    used, choice, best = native
    return used, (choice.tolist(), best.tolist())


def tree_choice(model: EGraphModel, usable: Usable, complete: bool = False,
                max_sweeps: int = 64) -> tuple[list[int], list[float]]:
    """Choice per class minimising tree cost (Knuth/Dijkstra), and the tree cost per class.

    Stops once every root class is settled: the roots' terms are final then (children settle
    before parents). Classes not settled by then keep choice -1 and cost ``inf``; they are
    not needed by the roots' terms (with ``complete=True`` every class is settled, and -1
    means no finite derivation).

    With non-negative costs, up to ``max_sweeps`` vectorised sweeps (each re-pricing only
    what changed, so many cheap sweeps are fine) are tried first (see
    :func:`_tree_choice_sweeps`; same costs, every class settled, ties may resolve to
    another node of equal tree cost); the priority queue runs when they do not converge.
    """
    if max_sweeps > 0:
        once = _sweeps_once(model, usable, max_sweeps)
        if once is not None:  # compiled: one run serves both sweep counts
            used, converged = once
            if 0 <= used <= max_sweeps:
                return converged
            exact = _tree_choice_like_queue(model, usable, complete,
                                            converged if used >= 0 else None)
        else:
            swept = _tree_choice_sweeps(model, usable, max_sweeps)
            if swept is not None:
                return swept
            exact = _tree_choice_like_queue(model, usable, complete)
        if exact is not None:
            return exact
    kids_all = model.children_lists
    classes = model.class_list
    costs = model.cost_list
    parents = model.parents_lists
    missing = _ready_counts(model, _flags(usable))
    best = [INF] * model.num_classes  # settled tree cost, or the cheapest queued one
    choice = [-1] * model.num_classes
    first = [-1] * model.num_classes  # the node queued with that cost
    heap = _leaf_heap(model, missing, best, first)
    pop, push = heapq.heappop, heapq.heappush
    is_root = _root_flags(model)
    roots_left = -1 if complete else sum(is_root)
    while heap:
        value, node = pop(heap)
        cls = classes[node]
        if choice[cls] >= 0:
            continue
        best[cls] = value
        choice[cls] = node
        if is_root[cls]:
            roots_left -= 1
            if not roots_left:
                break
        for parent in parents[cls]:
            left = missing[parent] - 1
            missing[parent] = left
            if left:
                continue
            pcls = classes[parent]
            if choice[pcls] < 0:
                value = costs[parent] + sum([best[k] for k in kids_all[parent]])
                # else a queued node of its class pops first anyway (heap order)
                if value < best[pcls] or (value == best[pcls] and parent < first[pcls]):
                    best[pcls] = value
                    first[pcls] = parent
                    push(heap, (value, parent))
    for cls in range(model.num_classes):
        if choice[cls] < 0:
            best[cls] = INF
    return choice, best


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


_EMPTY: frozenset[int] = frozenset()


def dag_choice(model: EGraphModel, usable: Usable, max_work: int | None = None
               ) -> list[int]:
    """Choice per class from greedy DAG cost sets, settled cheapest-first; always acyclic.

    Runs the compiled kernel (:mod:`extract._native`, the same algorithm for integer costs,
    choice for choice) when it is available and applies, else the Python loop
    (:func:`dag_choice_python`, which documents the algorithm).
    """
    choice = _dag_choice_native(model, usable, max_work)
    return dag_choice_python(model, usable, max_work) if choice is None else choice


def _dag_choice_native(model: EGraphModel, usable: Usable, max_work: int | None = None
                       ) -> list[int] | None:
    """:func:`dag_choice` by the compiled kernel, or ``None`` where it does not apply."""
    if _native.kernel() is None:
        return None
    uptr, ucls = model.unique_child_csr
    pptr, pnodes = model.parent_csr
    is_root = np.zeros(model.num_classes, dtype=np.uint8)
    is_root[model.roots] = 1
    budget = _default_work(model) if max_work is None else max_work
    prune_by_bound = model.num_nodes == 0 or float(model.costs.min()) >= 0
    return _native.native_dag_choice(
        model.num_classes, uptr, ucls, pptr, pnodes, np.ascontiguousarray(model.node_class),
        np.ascontiguousarray(model.costs), _mask(usable).view(np.uint8), is_root,
        budget, prune_by_bound)


def dag_choice_python(model: EGraphModel, usable: Usable, max_work: int | None = None
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

    The priority queue is a heap of distinct totals whose buckets are heaps of node indices:
    the same (total, node) order as a heap of pairs, with cheaper comparisons, and small
    when costs are integers (many equal totals). Callers run it with the cyclic garbage
    collector paused (:func:`_greedy_pair`): it allocates millions of acyclic frozensets.
    """
    uniq = model.unique_children
    classes = model.class_list
    costs = model.cost_list
    parents = model.parents_lists
    n_classes = model.num_classes
    missing = _ready_counts(model, _flags(usable))
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
    # The queue pops (total, node) in lexicographic order like a heap of pairs would, but
    # as a heap of distinct totals (floats compare faster than tuples, and with integer
    # costs there are few distinct totals) whose buckets are heaps of node indices.
    buckets: dict[float, list[int]] = {}
    for value, node in _leaf_heap(model, missing, queued, first):
        bucket = buckets.get(value)
        if bucket is None:
            buckets[value] = [node]
        else:
            bucket.append(node)
    for bucket in buckets.values():
        heapq.heapify(bucket)
    heap = list(buckets)
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    bget = buckets.get
    wget = weight.__getitem__
    is_root = _root_flags(model)
    roots_left = sum(is_root)
    while heap:
        total = heap[0]
        bucket = buckets[total]
        node = pop(bucket)
        if not bucket:
            pop(heap)
            del buckets[total]
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
                    bucket = bget(value)
                    if bucket is None:
                        buckets[value] = [parent]
                        push(heap, value)
                    else:
                        push(bucket, parent)
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
                bucket = bget(value)
                if bucket is None:
                    buckets[value] = [parent]
                    push(heap, value)
                else:
                    push(bucket, parent)
    return choice


def improve(model: EGraphModel, choice: list[int], usable: Usable, rounds: int = 8
            ) -> list[int]:
    """Switch classes to cheaper nodes whose children are already below them; never worse.

    Each round takes the current extraction's classes in topological order (parents first)
    and moves every class, at once, to the cheapest usable node of it (lowest index on ties)
    that is cheaper than its current node and whose child classes all come later in that
    order, so the switch keeps the extraction acyclic. A round is kept only if the DAG cost
    drops. Vectorised over the members of the reachable classes.
    """
    current = list(choice)
    current_cost, order = verify_choice(model, current)
    usable_a = _mask(usable)
    uptr, ucls = model.unique_child_csr
    costs = model.costs
    for _ in range(rounds):
        classes = np.asarray(order, dtype=np.int64)
        pos = np.full(model.num_classes, -1, dtype=np.int64)
        pos[classes] = np.arange(len(classes), dtype=np.int64)
        spots, owner = _ranges(model.class_ptr, classes)
        members = model.class_nodes[spots]  # ascending within each class
        here = owner  # position of each member's class in the order
        now = np.asarray(current, dtype=np.int64)[classes]
        ok = usable_a[members] & (costs[members] < costs[now][owner])
        if len(members):
            kid_spots, kid_owner = _ranges(uptr, members)
            early = pos[ucls[kid_spots]] <= here[kid_owner]  # a child not later in the order
            ok &= np.bincount(kid_owner[early], minlength=len(members)) == 0
        if not ok.any():
            break
        cand, cand_class = members[ok], owner[ok]
        # per class: cheapest candidate, lowest node index on ties
        pick = np.lexsort((cand, costs[cand], cand_class))
        cand, cand_class = cand[pick], cand_class[pick]
        lead = np.ones(len(cand), dtype=np.bool_)
        np.not_equal(cand_class[1:], cand_class[:-1], out=lead[1:])
        trial = list(current)
        for cls, node in zip(classes[cand_class[lead]].tolist(), cand[lead].tolist(), strict=True):
            trial[cls] = node
        trial_cost, trial_order = verify_choice(model, trial)
        if trial_cost >= current_cost:
            break
        current, current_cost, order = trial, trial_cost, trial_order
    return current


def _dag_cost(model: EGraphModel, choice: Sequence[int]) -> float:
    return verify_choice(model, choice)[0]


def _check_roots_chosen(model: EGraphModel, choice: Sequence[int], usable: Sequence[bool]
                        ) -> None:
    """Raise :class:`NoFiniteExtractionError` for a root the bottom-up pass could not settle.

    A root with a derivation that still got no finite cost has costs whose sum overflows:
    that is :class:`CostOverflowError`, not a cycle.
    """
    class_ok: list[bool] | None = None
    for root in model.roots.tolist():
        if choice[root] < 0:
            if class_ok is None:
                class_ok, _ = derivable(model, usable)
            if class_ok[root]:
                raise CostOverflowError(overflow_message(
                    f"the cheapest term for root e-class {model.class_ids[root]!r} costs more "
                    "than any float: its cost"))
            raise NoFiniteExtractionError(
                f"root e-class {model.class_ids[root]!r} has no finite extraction: every node "
                "of it depends on itself through a cycle (or on subsumed/infinite-cost nodes); "
                "add a leaf or acyclic node to that e-class")


def _greedy_pair(model: EGraphModel, usable: Sequence[bool], improve_result: bool
                 ) -> dict[str, object]:
    """Tree-greedy and DAG-greedy choices (optionally improved), their DAG costs, the winner.

    The winner is the cheaper by DAG cost, greedy DAG on ties, so greedy DAG is never worse
    than greedy tree. Both passes settle exactly the derivable classes, so a root left
    unchosen means no finite extraction exists.
    """
    with paused_gc():  # millions of acyclic frozensets: full collections only cost time
        return _greedy_pair_body(model, usable, improve_result)


def _greedy_pair_body(model: EGraphModel, usable: Sequence[bool], improve_result: bool
                      ) -> dict[str, object]:
    mask = _mask(usable)  # converted once for the NumPy and compiled passes
    tree, best = tree_choice(model, mask)
    _check_roots_chosen(model, tree, usable)
    dag = dag_choice(model, mask)
    if chosen_order(model, dag) is None:  # cannot happen (children settle first); be safe
        dag = list(tree)
    if improve_result:
        tree = improve(model, tree, mask)
        dag = improve(model, dag, mask)
    tree_cost, dag_cost = _dag_cost(model, tree), _dag_cost(model, dag)
    dag_wins = dag_cost <= tree_cost
    return {"choice": dag if dag_wins else tree, "name": "greedy-dag" if dag_wins else "greedy-tree",
            "tree_dag_cost": tree_cost, "dag_dag_cost": dag_cost,
            "tree_cost": sum(best[r] for r in set(model.roots.tolist()))}


def best_greedy_choice(model: EGraphModel, usable: Sequence[bool] | None = None
                       ) -> tuple[list[int], str]:
    """The cheaper (DAG cost) of improved greedy-tree and greedy-DAG choices, and its name."""
    if usable is None:
        usable = usable_nodes(model)
    pair = _greedy_pair(model, usable, improve_result=True)
    return pair["choice"], pair["name"]  # type: ignore[return-value]


def greedy_tree(model: EGraphModel, *, improve_result: bool = False) -> Extraction:
    """Bottom-up extraction minimising *tree* cost; reported cost is the DAG cost."""
    start = time.perf_counter()
    usable = usable_nodes(model)
    choice, best = tree_choice(model, usable)
    _check_roots_chosen(model, choice, usable)
    if improve_result:
        choice = improve(model, choice, usable)
    tree_cost = sum(best[r] for r in set(model.roots.tolist()))
    return build_extraction(model, choice, method="greedy-tree",
                            seconds=time.perf_counter() - start,
                            stats={"tree_cost": tree_cost})


def greedy_dag(model: EGraphModel, *, improve_result: bool = True) -> Extraction:
    """Greedy DAG extraction (shared subterms counted once), then local improvement.

    Runs greedy tree too and returns the cheaper of the two by DAG cost (greedy DAG on
    ties), so the result is never worse than :func:`greedy_tree`'s; ``stats`` says which won
    (``fell_back_to_tree``) and both DAG costs.
    """
    start = time.perf_counter()
    usable = usable_nodes(model)
    pair = _greedy_pair(model, usable, improve_result)
    return build_extraction(model, pair["choice"], method="greedy-dag",  # type: ignore[arg-type]
                            seconds=time.perf_counter() - start,
                            stats={"fell_back_to_tree": pair["name"] == "greedy-tree",
                                   "dag_cost": pair["dag_dag_cost"],
                                   "tree_choice_dag_cost": pair["tree_dag_cost"]})
