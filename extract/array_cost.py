"""Shape-aware cost models for array programs: price an e-node from its op and its children's
shapes and dtypes (e-class invariants), in estimated nanoseconds.

``CpuCost`` models NumPy on one core: a fixed overhead per call, FLOPs at a per-kind rate (BLAS
for matmul, libm for transcendental functions), and bytes moved at memory bandwidth. ``OpCountCost``
counts ops. A user model is any object with the same ``node_cost`` method (the core's
``egraph_dsl.cost_model.CostModel`` protocol; ``ArrayCostModel`` is its name here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from egraph_dsl import ops
from egraph_dsl.cost_model import CostModel, Shape
from egraph_dsl.dtypes import itemsize

ArrayCostModel = CostModel  # the protocol every array cost model follows


def _size(shape: Shape) -> int:
    return math.prod(shape) if shape is not None else 0


@dataclass(frozen=True)
class CpuCost:
    """FLOPs + bytes moved + call overhead, in nanoseconds on one CPU core (NumPy)."""

    call_ns: float = 1000.0  # Python + ufunc dispatch per NumPy call
    elementwise_ns_per_flop: float = 0.25
    blas_ns_per_flop: float = 0.08
    reduce_ns_per_flop: float = 0.3
    ns_per_byte: float = 0.1  # ~10 GB/s streaming
    view_ns: float = 300.0  # transpose / reshape / broadcast_to make views

    def node_cost(self, op: str, attrs: dict[str, Any], arg_shapes: tuple[Shape, ...],
                  arg_dtypes: tuple[str | None, ...], out_shape: Shape, out_dtype: str | None) -> float:
        spec = ops.spec(op)
        if spec.kind is ops.Kind.LEAF:
            return 0.0
        if out_shape is None:  # a constant expression: folded, essentially free
            return 1.0
        if spec.kind is ops.Kind.LAYOUT and op != "diagonal":
            return self.view_ns
        flops = ops.flops(op, arg_shapes, out_shape)
        rate = {ops.Kind.LINALG: self.blas_ns_per_flop, ops.Kind.REDUCTION: self.reduce_ns_per_flop}.get(
            spec.kind, self.elementwise_ns_per_flop)
        moved = sum(_size(s) * itemsize(d or out_dtype) for s, d in zip(arg_shapes, arg_dtypes, strict=True)
                    if s is not None)
        moved += _size(out_shape) * itemsize(out_dtype)
        return self.call_ns + flops * rate + moved * self.ns_per_byte


@dataclass(frozen=True)
class OpCountCost:
    """One per op (leaves and constant expressions are free): the smallest program wins."""

    def node_cost(self, op: str, attrs: dict[str, Any], arg_shapes: tuple[Shape, ...],
                  arg_dtypes: tuple[str | None, ...], out_shape: Shape, out_dtype: str | None) -> float:
        return 0.0 if ops.spec(op).kind is ops.Kind.LEAF or out_shape is None else 1.0


@dataclass(frozen=True)
class FlopCost:
    """FLOPs only (layout ops free): the model of the paper-and-pencil analysis."""

    def node_cost(self, op: str, attrs: dict[str, Any], arg_shapes: tuple[Shape, ...],
                  arg_dtypes: tuple[str | None, ...], out_shape: Shape, out_dtype: str | None) -> float:
        return ops.flops(op, arg_shapes, out_shape) + (0.0 if ops.spec(op).kind is ops.Kind.LEAF else 1e-3)


def cost_model(spec: str | ArrayCostModel) -> ArrayCostModel:
    """A cost model by name (``cpu``, ``ops``, ``flops``) or the object itself."""
    if not isinstance(spec, str):
        if not hasattr(spec, "node_cost"):
            raise TypeError(f"a cost model needs a node_cost(op, attrs, arg_shapes, arg_dtypes, out_shape, "
                            f"out_dtype) method; got {type(spec).__name__}")
        return spec
    if spec == "cpu":
        return CpuCost()
    if spec == "ops":
        return OpCountCost()
    if spec == "flops":
        return FlopCost()
    raise ValueError(f"unknown cost model {spec!r}; use 'cpu', 'ops', 'flops', 'gpu' or an object")
