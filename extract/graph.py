"""Graph algorithms on the class/node structure: derivability, reachability, SCCs.

These are the shared building blocks of pruning, greedy extraction and verification.
All take and return plain Python lists of indices (fast in loops, no numpy per element).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from . import _native
from .model import EGraphModel

__all__ = [
    "chosen_order",
    "derivable",
    "reachable_classes",
    "strongly_connected_components",
    "usable_nodes",
]


def usable_nodes(model: EGraphModel) -> list[bool]:
    """Nodes an extraction may pick: not subsumed, finite cost, no child in their own class."""
    ok = ~model.subsumed & (model.costs != np.inf)
    _, owner, cls = model._unique_arrays
    if len(owner):
        ok[owner[model.node_class[owner] == cls]] = False
    return ok.tolist()  # type: ignore[no-any-return]


def derivable(model: EGraphModel, allowed: Sequence[bool]) -> tuple[list[bool], list[bool]]:
    """Classes and nodes with a finite (acyclic) derivation using only ``allowed`` nodes.

    A node is derivable when all its child classes are; a class when one of its nodes is.
    Returns ``(class_ok, node_ok)``.
    """
    uniq = model.unique_children
    classes = model.class_list
    parents = model.parents_lists
    missing = [len(kids) for kids in uniq]
    class_ok = [False] * model.num_classes
    node_ok = [False] * model.num_nodes
    stack = [i for i in range(model.num_nodes) if allowed[i] and missing[i] == 0]
    while stack:
        node = stack.pop()
        if node_ok[node]:
            continue
        node_ok[node] = True
        cls = classes[node]
        if class_ok[cls]:
            continue
        class_ok[cls] = True
        for parent in parents[cls]:
            missing[parent] -= 1
            if missing[parent] == 0 and allowed[parent]:
                stack.append(parent)
    return class_ok, node_ok


def reachable_classes(model: EGraphModel, roots: Iterable[int], node_ok: Sequence[bool]
                      ) -> list[bool]:
    """Classes reachable from ``roots`` through nodes with ``node_ok`` set."""
    seen = [False] * model.num_classes
    stack = list(roots)
    members = model.class_node_lists
    uniq = model.unique_children
    while stack:
        cls = stack.pop()
        if seen[cls]:
            continue
        seen[cls] = True
        for node in members[cls]:
            if node_ok[node]:
                stack.extend(k for k in uniq[node] if not seen[k])
    return seen


def strongly_connected_components(num: int, edges: Sequence[Sequence[int]]) -> list[int]:
    """Component id per vertex (iterative Tarjan); ``edges[v]`` lists successors of ``v``."""
    index = [-1] * num
    low = [0] * num
    on_stack = [False] * num
    comp = [-1] * num
    stack: list[int] = []
    counter = 0
    n_comp = 0
    for start in range(num):
        if index[start] != -1:
            continue
        work: list[tuple[int, int]] = [(start, 0)]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack[start] = True
        while work:
            v, i = work[-1]
            succ = edges[v]
            if i < len(succ):
                work[-1] = (v, i + 1)
                w = succ[i]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    while True:
                        w = stack.pop()
                        on_stack[w] = False
                        comp[w] = n_comp
                        if w == v:
                            break
                    n_comp += 1
    return comp


def chosen_order(model: EGraphModel, choice: Sequence[int]) -> list[int] | None:
    """Classes reachable from the roots via ``choice`` in topological order (parents first).

    ``choice[c]`` is the node chosen for class ``c`` or -1. Returns ``None`` when a reachable
    class is unchosen or the chosen nodes form a cycle.
    """
    native = _native.native_chosen_post(model, np.asarray(choice, dtype=np.int64))
    if native is not None and native[0] != 3:  # the same search, compiled
        return native[1].tolist() if native[0] == 0 else None
    uniq = model.unique_children
    state = [0] * model.num_classes  # 0 new, 1 on stack, 2 done
    post: list[int] = []
    for root in model.roots.tolist():
        if state[root]:
            continue
        if choice[root] < 0:
            return None
        state[root] = 1
        work: list[tuple[int, int]] = [(root, 0)]
        while work:
            cls, i = work[-1]
            kids = uniq[choice[cls]]
            if i < len(kids):
                work[-1] = (cls, i + 1)
                kid = kids[i]
                if state[kid] == 1:
                    return None
                if state[kid] == 0:
                    if choice[kid] < 0:
                        return None
                    state[kid] = 1
                    work.append((kid, 0))
            else:
                work.pop()
                state[cls] = 2
                post.append(cls)
    post.reverse()
    return post
