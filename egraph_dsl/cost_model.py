"""What a cost model is: the one protocol every pricing of an array program goes through.

A cost model prices one application of an op from its attributes and its arguments' and result's
shapes and dtypes (e-class invariants, so every e-node of an e-class is priced on the same
types). Extraction minimises the DAG cost (each distinct term priced once). The shipped models
(``cpu``, ``ops``, ``flops`` in ``egraph_dsl.extract.array_cost``, ``gpu`` in the façade) and a
user's own object are used alike: anything with this ``node_cost`` method.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .program import Program
from .term import Term

Shape = tuple[int, ...] | None  # None: not an array (an untyped or non-array e-class)


@runtime_checkable
class CostModel(Protocol):
    """Price of one application of ``op`` given argument and result shapes/dtypes."""

    def node_cost(self, op: str, attrs: dict[str, Any], arg_shapes: tuple[Shape, ...],
                  arg_dtypes: tuple[str | None, ...], out_shape: Shape, out_dtype: str | None) -> float: ...


def term_cost(model: CostModel, term: Term) -> float:
    """What ``model`` charges for ``term``'s own op (its arguments not included)."""
    return float(model.node_cost(term.op, term.attr, tuple(a.shape for a in term.args),
                                 tuple(a.dtype for a in term.args), term.shape, term.dtype))


def program_cost(program: Program, model: CostModel) -> float:
    """DAG cost of ``program``: each distinct term priced once."""
    return sum((term_cost(model, t) for t in program.terms()), 0.0)
