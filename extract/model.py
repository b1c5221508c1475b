"""An immutable, array-backed model of a serialized e-graph.

Nodes and e-classes are numbered ``0..n-1`` in file order; the original string ids are kept
for I/O. Children are stored in CSR form (``child_ptr``/``child_nodes``) as *node* indices
exactly as in the file; a child stands for that node's e-class (``child_classes``).
Derived structures (Python lists for fast loops, parents, index maps) are computed lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import pairwise
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import MalformedEGraphError

__all__ = ["EGraphModel", "FloatArray", "IntArray"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    array.setflags(write=False)
    return array


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, eq=False)
class EGraphModel:
    """A serialized e-graph: nodes with op, children, e-class, cost and subsumed flag.

    Build one with :func:`extract.load` / :func:`extract.from_dict` or :meth:`build`.
    """

    node_ids: tuple[str, ...]
    ops: tuple[str, ...]
    node_class: IntArray
    costs: FloatArray
    subsumed: BoolArray
    child_ptr: IntArray
    child_nodes: IntArray
    class_ids: tuple[str, ...]
    class_ptr: IntArray
    class_nodes: IntArray
    roots: IntArray
    class_data: Mapping[str, Any] = field(default_factory=_empty_mapping)
    extra: Mapping[str, Any] = field(default_factory=_empty_mapping)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        node_ids: Sequence[str],
        ops: Sequence[str],
        node_class: Sequence[int] | IntArray,
        costs: Sequence[float] | FloatArray,
        children: Sequence[Sequence[int]] | None,
        class_ids: Sequence[str],
        roots: Sequence[int] | IntArray,
        subsumed: Sequence[bool] | BoolArray | None = None,
        class_data: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        allow_negative: bool = True,
        *,
        child_csr: tuple[IntArray, IntArray] | None = None,
    ) -> EGraphModel:
        """Build and validate a model from index-based parts (children are node indices).

        Children come either as ``children`` (one list per node) or, without per-node Python
        lists, as ``child_csr=(child_ptr, child_nodes)`` with ``children=None``.
        """
        n = len(node_ids)
        node_class_a = np.asarray(node_class, dtype=np.int64).reshape(-1)
        costs_a = np.asarray(costs, dtype=np.float64).reshape(-1).copy()
        if subsumed is None:
            subsumed_a = np.zeros(n, dtype=np.bool_)
        else:
            subsumed_a = np.asarray(subsumed, dtype=np.bool_).reshape(-1).copy()
        if child_csr is not None:
            child_ptr = np.asarray(child_csr[0], dtype=np.int64).reshape(-1).copy()
            child_nodes = np.asarray(child_csr[1], dtype=np.int64).reshape(-1).copy()
            if (len(child_ptr) != n + 1 or child_ptr[0] != 0 or child_ptr[-1] != len(child_nodes)
                    or (n and bool(np.any(np.diff(child_ptr) < 0)))):
                raise MalformedEGraphError("child_csr is not a valid CSR pair for the nodes")
            n_kids = n
        else:
            if children is None:
                raise MalformedEGraphError("pass children (one list per node) or child_csr")
            lengths = np.fromiter((len(c) for c in children), dtype=np.int64,
                                  count=len(children))
            child_ptr = np.zeros(len(children) + 1, dtype=np.int64)
            np.cumsum(lengths, out=child_ptr[1:])
            flat = [child for kids in children for child in kids]
            child_nodes = np.asarray(flat, dtype=np.int64) if flat else np.zeros(0, np.int64)
            n_kids = len(children)
        n_classes = len(class_ids)
        if not (len(ops) == n == len(node_class_a) == len(costs_a) == len(subsumed_a)
                == n_kids):
            raise MalformedEGraphError("node arrays have different lengths; pass one entry per node")
        if n and (node_class_a.min() < 0 or node_class_a.max() >= n_classes):
            bad = int(np.flatnonzero((node_class_a < 0) | (node_class_a >= n_classes))[0])
            raise MalformedEGraphError(f"node {node_ids[bad]!r} has an e-class index out of range")
        order = np.argsort(node_class_a, kind="stable")
        class_ptr = np.zeros(n_classes + 1, dtype=np.int64)
        np.cumsum(np.bincount(node_class_a, minlength=n_classes), out=class_ptr[1:])
        model = cls(
            node_ids=tuple(node_ids),
            ops=tuple(ops),
            node_class=_frozen(node_class_a),
            costs=_frozen(costs_a),
            subsumed=_frozen(subsumed_a),
            child_ptr=_frozen(child_ptr),
            child_nodes=_frozen(child_nodes),
            class_ids=tuple(class_ids),
            class_ptr=_frozen(class_ptr),
            class_nodes=_frozen(order.astype(np.int64)),
            roots=_frozen(np.asarray(roots, dtype=np.int64).reshape(-1).copy()),
            class_data=MappingProxyType(dict(class_data or {})),
            extra=MappingProxyType(dict(extra or {})),
        )
        model.validate(allow_negative=allow_negative)
        return model

    def validate(self, allow_negative: bool = True) -> None:
        """Check structural soundness; raise :class:`MalformedEGraphError` naming the culprit."""
        n = self.num_nodes
        if len(self.child_nodes) and (self.child_nodes.min() < 0 or self.child_nodes.max() >= n):
            pos = int(np.flatnonzero((self.child_nodes < 0) | (self.child_nodes >= n))[0])
            parent = int(np.searchsorted(self.child_ptr, pos, side="right") - 1)
            raise MalformedEGraphError(
                f"node {self.node_ids[parent]!r} has a child index out of range; "
                "children must be ids of nodes in the file")
        nan = np.flatnonzero(np.isnan(self.costs))
        if len(nan):
            raise MalformedEGraphError(
                f"node {self.node_ids[int(nan[0])]!r} has a NaN cost; give it a number "
                "(use a large finite cost or 'inf' to forbid it)")
        neg_inf = np.flatnonzero(self.costs == -np.inf)
        if len(neg_inf):
            raise MalformedEGraphError(
                f"node {self.node_ids[int(neg_inf[0])]!r} has cost -inf; costs must be > -inf")
        if not allow_negative:
            neg = np.flatnonzero(self.costs < 0)
            if len(neg):
                i = int(neg[0])
                raise MalformedEGraphError(
                    f"node {self.node_ids[i]!r} has negative cost {self.costs[i]!r} and negative "
                    "costs were disallowed; pass allow_negative=True or fix the cost")
        if len(self.roots) == 0:
            raise MalformedEGraphError("the e-graph has no root e-classes; set 'root_eclasses'")
        for root in self.roots.tolist():
            if not 0 <= root < self.num_classes:
                raise MalformedEGraphError(f"root e-class index {root} is out of range")
            if self.class_ptr[root + 1] == self.class_ptr[root]:
                raise MalformedEGraphError(
                    f"root e-class {self.class_ids[root]!r} has no nodes; list only e-classes "
                    "that contain at least one node in 'root_eclasses'")

    # ------------------------------------------------------------------ sizes and lookups
    @property
    def num_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)

    @cached_property
    def node_index(self) -> Mapping[str, int]:
        """Map node id string → node index."""
        return MappingProxyType({nid: i for i, nid in enumerate(self.node_ids)})

    @cached_property
    def class_index(self) -> Mapping[str, int]:
        """Map e-class id string → class index."""
        return MappingProxyType({cid: i for i, cid in enumerate(self.class_ids)})

    @cached_property
    def child_classes(self) -> IntArray:
        """CSR payload parallel to ``child_nodes``: the e-class of each child (repeats kept)."""
        return _frozen(self.node_class[self.child_nodes])

    @cached_property
    def children_lists(self) -> list[list[int]]:
        """Per node, its child e-classes in order, repeats kept (a Python list: fast loops)."""
        flat = self.child_classes.tolist()
        ptr = self.child_ptr.tolist()
        return [flat[a:b] for a, b in pairwise(ptr)]

    @cached_property
    def _unique_arrays(self) -> tuple[IntArray, IntArray, IntArray]:
        """Distinct child classes per node, sorted, in CSR form: ``(ptr, owner, cls)`` arrays."""
        n, n_classes = self.num_nodes, max(self.num_classes, 1)
        lengths = np.diff(self.child_ptr)
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
        key = np.sort(owner * n_classes + self.child_classes)
        if len(key):
            keep = np.ones(len(key), dtype=np.bool_)
            np.not_equal(key[1:], key[:-1], out=keep[1:])
            key = key[keep]  # sorted by (node, class), deduplicated
        u_owner, u_cls = key // n_classes, key % n_classes
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(u_owner, minlength=n), out=ptr[1:])
        return _frozen(ptr), _frozen(u_owner), _frozen(u_cls)

    @property
    def unique_child_csr(self) -> tuple[IntArray, IntArray]:
        """Distinct child classes per node (sorted) in CSR form: ``(ptr, classes)`` arrays."""
        ptr, _, u_cls = self._unique_arrays
        return ptr, u_cls

    @cached_property
    def parent_csr(self) -> tuple[IntArray, IntArray]:
        """Per e-class, the distinct nodes having it as a child (ascending), CSR: ``(ptr, nodes)``."""
        _, u_owner, u_cls = self._unique_arrays
        order = np.argsort(u_cls, kind="stable")
        ptr = np.zeros(self.num_classes + 1, dtype=np.int64)
        np.cumsum(np.bincount(u_cls, minlength=self.num_classes), out=ptr[1:])
        return _frozen(ptr), _frozen(u_owner[order])

    @cached_property
    def _unique_csr(self) -> tuple[list[int], list[int], IntArray, IntArray]:
        """``_unique_arrays`` with the pointer and classes also as lists: ``(ptr, cls, owner, cls)``."""
        ptr, u_owner, u_cls = self._unique_arrays
        return ptr.tolist(), u_cls.tolist(), u_owner, u_cls

    @cached_property
    def unique_children(self) -> list[tuple[int, ...]]:
        """Per node, its distinct child e-classes (sorted)."""
        ptr, flat, _, _ = self._unique_csr
        return [tuple(flat[a:b]) for a, b in pairwise(ptr)]

    @cached_property
    def class_node_lists(self) -> list[list[int]]:
        """Per e-class, its node indices in file order."""
        flat = self.class_nodes.tolist()
        ptr = self.class_ptr.tolist()
        return [flat[a:b] for a, b in pairwise(ptr)]

    @cached_property
    def parents_lists(self) -> list[list[int]]:
        """Per e-class, the distinct nodes that have it as a child (ascending node order)."""
        ptr, nodes = self.parent_csr
        flat = nodes.tolist()
        p = ptr.tolist()
        return [flat[a:b] for a, b in pairwise(p)]

    @cached_property
    def cost_list(self) -> list[float]:
        return self.costs.tolist()  # type: ignore[no-any-return]

    @cached_property
    def class_list(self) -> list[int]:
        return self.node_class.tolist()  # type: ignore[no-any-return]

    def node(self, node: int | str) -> int:
        """Node index of ``node`` (an index or an id string)."""
        return node if isinstance(node, int) else self.node_index[node]

    def eclass(self, eclass: int | str) -> int:
        """Class index of ``eclass`` (an index or an id string)."""
        return eclass if isinstance(eclass, int) else self.class_index[eclass]

    def is_leaf(self, node: int) -> bool:
        return bool(self.child_ptr[node + 1] == self.child_ptr[node])

    # ------------------------------------------------------------------ derived models
    def with_costs(self, costs: Callable[[int], float] | Sequence[float] | FloatArray
                   ) -> EGraphModel:
        """A copy whose node costs are ``costs`` (a vector, or ``fn(node_index) -> cost``).

        This is how cost models price a graph: compute a vector, then extract from the copy.
        """
        if callable(costs):
            vector = np.fromiter((costs(i) for i in range(self.num_nodes)), dtype=np.float64,
                                 count=self.num_nodes)
        else:
            vector = np.array(costs, dtype=np.float64).reshape(-1)
        if len(vector) != self.num_nodes:
            raise MalformedEGraphError(
                f"with_costs got {len(vector)} costs for {self.num_nodes} nodes; "
                "pass one cost per node, in node index order")
        copy = replace(self, costs=_frozen(vector))
        for name in ("cost_list",):
            copy.__dict__.pop(name, None)
        # keep the structural caches: they do not depend on costs
        for name in ("node_index", "class_index", "child_classes", "children_lists",
                     "_unique_arrays", "parent_csr", "_unique_csr", "unique_children", "class_node_lists", "parents_lists",
                     "class_list"):
            if name in self.__dict__:
                copy.__dict__[name] = self.__dict__[name]
        copy.validate()
        return copy

    def with_roots(self, roots: Sequence[int | str]) -> EGraphModel:
        """A copy with other root e-classes (indices or id strings)."""
        indices = np.asarray([self.eclass(r) for r in roots], dtype=np.int64)
        copy = replace(self, roots=_frozen(indices))
        copy.__dict__.update({k: v for k, v in self.__dict__.items()
                              if k not in ("roots",) and k in type(self).__dict__
                              and isinstance(type(self).__dict__[k], cached_property)})
        copy.validate()
        return copy

    def __repr__(self) -> str:
        return (f"EGraphModel(nodes={self.num_nodes}, classes={self.num_classes}, "
                f"roots={[self.class_ids[r] for r in self.roots.tolist()[:5]]})")
