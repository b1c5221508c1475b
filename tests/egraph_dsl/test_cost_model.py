"""The cost-model protocol: a user's model and the shipped ones price terms and programs alike."""

from __future__ import annotations

from typing import Any

import numpy as np
from egraph_dsl.extract.array_cost import ArrayCostModel, CpuCost

import egraph_dsl as ed
from egraph_dsl.cost_model import CostModel, Shape, program_cost, term_cost


class ElementsTouched:
    """Result elements of every op; leaves are free."""

    def node_cost(self, op: str, attrs: dict[str, Any], arg_shapes: tuple[Shape, ...],
                  arg_dtypes: tuple[str | None, ...], out_shape: Shape, out_dtype: str | None) -> float:
        if op in ("input", "const") or out_shape is None:
            return 0.0
        return float(np.prod(out_shape))


def test_a_users_model_and_the_shipped_ones_follow_one_protocol() -> None:
    assert ArrayCostModel is CostModel
    assert isinstance(ElementsTouched(), CostModel) and isinstance(CpuCost(), CostModel)
    assert not isinstance(object(), CostModel)


def test_program_cost_prices_each_distinct_term_once() -> None:
    def f(x: Any) -> Any:
        e = np.exp(x)  # used twice: priced once
        return np.sum(e * e)

    program = ed.trace(f, np.ones(5))
    model = ElementsTouched()
    priced = {t.op: term_cost(model, t) for t in program.terms()}
    assert priced == {"input": 0.0, "exp": 5.0, "mul": 5.0, "sum": 1.0}
    assert program_cost(program, model) == 11.0
