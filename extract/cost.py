"""Cost models: price every node of a model, then extract from the priced copy.

A cost model is any object with ``node_cost(op, node, children) -> float`` (``children``
are the node's child e-class indices, repeats kept). Models that can price the whole graph
at once may also define ``costs(model) -> ndarray`` (one float per node), which
:func:`price` prefers. Example of a user-defined model::

    class CallsAreExpensive:
        def node_cost(self, op: str, node: int, children: Sequence[int]) -> float:
            return 10.0 if op.startswith("call") else 1.0

    priced = price(model, CallsAreExpensive())   # == model.with_costs(vector)

A shape-aware model would compute a numpy vector from the op table and the e-class shapes
and call ``model.with_costs(vector)`` directly.

DAG cost (each distinct chosen node counted once) is what extractors minimise and report;
tree cost (a subterm counted once per use) is available through :func:`tree_cost`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .extraction import Extraction, choices_from_dict
from .model import EGraphModel, FloatArray
from .verify import verify

__all__ = [
    "CostModel",
    "NodeCost",
    "OpCount",
    "dag_cost",
    "is_primitive_leaf",
    "price",
    "tree_cost",
]

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+|inf|nan|NaN)$")


@runtime_checkable
class CostModel(Protocol):
    """Prices one node from its op, its index and its child e-classes."""

    def node_cost(self, op: str, node: int, children: Sequence[int]) -> float: ...


def is_primitive_leaf(model: EGraphModel, node: int) -> bool:
    """A leaf holding a literal (number, string, bool), like egglog's ``"1.0"`` in ``f64-0``."""
    if not model.is_leaf(node):
        return False
    op = model.ops[node]
    return bool(_NUMBER.match(op)) or op.startswith('"') or op in ("true", "false")


class NodeCost:
    """The costs stored in the file (the identity cost model)."""

    def node_cost(self, op: str, node: int, children: Sequence[int]) -> float:
        raise NotImplementedError("NodeCost prices whole models; use price(model, NodeCost())")

    def costs(self, model: EGraphModel) -> FloatArray:
        return np.array(model.costs, dtype=np.float64)


class OpCount:
    """One per node (AST size); primitive literal leaves cost 0 when ``free_literals``."""

    def __init__(self, free_literals: bool = False) -> None:
        self.free_literals = free_literals

    def node_cost(self, op: str, node: int, children: Sequence[int]) -> float:
        if self.free_literals and not children and (
                bool(_NUMBER.match(op)) or op.startswith('"') or op in ("true", "false")):
            return 0.0
        return 1.0


def price(model: EGraphModel, cost_model: CostModel | NodeCost) -> EGraphModel:
    """A copy of ``model`` priced by ``cost_model`` (vectorised ``costs`` if it has one)."""
    vectorised = getattr(cost_model, "costs", None)
    if callable(vectorised):
        return model.with_costs(vectorised(model))
    kids = model.children_lists
    ops = model.ops
    return model.with_costs(lambda i: cost_model.node_cost(ops[i], i, kids[i]))


def _choice(model: EGraphModel, choices: Extraction | Mapping[str, str] | Sequence[int]
            ) -> list[int]:
    if isinstance(choices, Extraction):
        return choices_from_dict(model, choices.choices)
    if isinstance(choices, Mapping):
        return choices_from_dict(model, choices)
    return list(choices)


def dag_cost(model: EGraphModel, choices: Extraction | Mapping[str, str] | Sequence[int]
             ) -> float:
    """Sum of costs of the distinct chosen nodes reachable from the roots (verified)."""
    return verify(model, _choice(model, choices))


def tree_cost(model: EGraphModel, choices: Extraction | Mapping[str, str] | Sequence[int]
              ) -> float:
    """Cost of the chosen terms as trees: a shared subterm is paid once per use.

    Summed over the distinct root classes; can be exponentially larger than the DAG cost.
    """
    choice = _choice(model, choices)
    verify(model, choice)
    costs = model.cost_list
    kids = model.children_lists
    memo: dict[int, float] = {}
    from .graph import chosen_order

    order = chosen_order(model, choice)
    assert order is not None
    for cls in reversed(order):
        node = choice[cls]
        memo[cls] = costs[node] + math.fsum(memo[k] for k in kids[node])
    return math.fsum(memo[r] for r in set(model.roots.tolist()))
