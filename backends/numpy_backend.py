"""The NumPy backend: an interpreter over a Plan with per-op tables and ``out=`` buffer reuse."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.errors import SignatureError
from egraph_dsl.plan import Instruction, Plan

# 0-d float instructions: NumPy scalar operators give the ufunc's result without its call overhead
_SCALAR_OPS: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "square": lambda a: a * a,
}


class NumpyExecutable:
    """A plan ready to run on NumPy arrays."""

    name = "numpy"

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._steps = [self._step(ins) for ins in plan.instructions]
        self._n_inputs = len(plan.input_slots)
        assert [s for s, _ in plan.input_slots] == list(range(self._n_inputs))
        assert [s for s, _, _ in plan.constants] == list(range(self._n_inputs, self._n_inputs + len(plan.constants)))
        self._constant_values = [np.asarray(v, dtype=d)[()] for _, v, d in plan.constants]
        self._empty = [None] * (plan.n_slots - self._n_inputs - len(plan.constants))
        self._outputs = list(zip(plan.outputs, [np.dtype(d) for d in plan.output_dtypes], strict=True))

    def _step(self, ins: Instruction) -> Callable[[list[Any]], None]:
        """One instruction as a closure over the value list, specialized by arity (the hot path)."""
        spec = ops.spec(ins.op)
        inputs, out, buf = ins.inputs, ins.output, ins.buffer
        scalar_op = _SCALAR_OPS.get(ins.op)
        fn: Any  # a ufunc, np.matmul, a scalar operator or a bound implementation
        if scalar_op is not None and ins.shape == () and ins.dtype in ("float64", "float32"):
            fn = scalar_op  # NumPy scalar operators: the ufunc's result without its call overhead
        elif spec.ufunc is not None:
            fn = getattr(np, spec.ufunc)
            if buf is not None:
                def run_into(v: list[Any]) -> None:
                    v[out] = fn(*[v[i] for i in inputs], out=v[buf])
                return run_into
        elif ins.op == "matmul":
            fn = np.matmul
        else:
            fn = functools.partial(spec.impl, np, **ins.attr)
        if len(inputs) == 1:
            (a,) = inputs

            def run1(v: list[Any]) -> None:
                v[out] = fn(v[a])
            return run1
        if len(inputs) == 2:
            a, b = inputs

            def run2(v: list[Any]) -> None:
                v[out] = fn(v[a], v[b])
            return run2

        def run(v: list[Any]) -> None:
            v[out] = fn(*[v[i] for i in inputs])
        return run

    def __call__(self, *args: Any) -> Any:
        plan = self.plan
        if len(args) != self._n_inputs:
            raise SignatureError(f"{plan.name} takes {self._n_inputs} arguments, got {len(args)}")
        # inputs occupy the first slots, then constants, then instruction outputs
        values: list[Any] = [*args, *self._constant_values, *self._empty]
        with np.errstate(all="ignore"):
            for step in self._steps:
                step(values)
        outs = tuple(np.asarray(values[o], dtype=d) for o, d in self._outputs)
        return outs if plan.output_tuple else outs[0]



def compile_plan(plan: Plan, **options: Any) -> NumpyExecutable:
    return NumpyExecutable(plan)


def run(plan: Plan, args: Sequence[Any]) -> Any:
    return compile_plan(plan)(*args)
