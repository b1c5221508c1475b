from __future__ import annotations

from collections.abc import Sequence

from egraph_dsl.extract import (
    EGraphModel,
    NodeCost,
    OpCount,
    dag_cost,
    greedy_dag,
    price,
    tree_cost,
)
from egraph_dsl.extract.cost import CostModel, is_primitive_leaf
from extract_helpers import make


class CallsAreExpensive:
    def node_cost(self, op: str, node: int, children: Sequence[int]) -> float:
        return 10.0 if op.startswith("call") else 1.0


def test_user_cost_model_prices_every_node() -> None:
    m = make({"r": [("call_f", ["x"], 0.0), ("inline", ["x", "x"], 0.0)],
              "x": [("x", [], 0.0)]}, ["r"])
    assert isinstance(CallsAreExpensive(), CostModel)
    priced = price(m, CallsAreExpensive())
    assert priced.costs.tolist() == [10.0, 1.0, 1.0]
    assert greedy_dag(priced).choices["r"] == "r.1"


def test_node_cost_and_op_count() -> None:
    m = make({"r": [("f", ["a"], 7.0)], "a": [("1.0", [], 3.0)]}, ["r"])
    assert price(m, NodeCost()).costs.tolist() == [7.0, 3.0]
    assert price(m, OpCount()).costs.tolist() == [1.0, 1.0]
    assert price(m, OpCount(free_literals=True)).costs.tolist() == [1.0, 0.0]
    assert is_primitive_leaf(m, m.node_index["a.0"])


def test_tree_cost_counts_each_use(shared: EGraphModel) -> None:
    choices = {"r": "r.0", "a": "a.0", "b": "b.0", "s": "s.0"}
    assert dag_cost(shared, choices) == 8.0
    assert tree_cost(shared, choices) == 13.0
