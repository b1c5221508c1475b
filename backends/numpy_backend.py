"""The NumPy backend: an interpreter over a Plan with per-op tables and ``out=`` buffer reuse."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.errors import SignatureError
from egraph_dsl.plan import Instruction, Plan

# ufuncs that accept out=: the fast path for elementwise instructions
_UFUNC_OUT: dict[str, Callable[..., Any]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "logaddexp": np.logaddexp, "neg": np.negative,
    "abs": np.absolute, "sqrt": np.sqrt, "square": np.square, "exp": np.exp, "log": np.log,
    "log1p": np.log1p, "expm1": np.expm1, "tanh": np.tanh,
    "less": np.less, "less_equal": np.less_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "equal": np.equal, "not_equal": np.not_equal,
}


class NumpyExecutable:
    """A plan ready to run on NumPy arrays."""

    name = "numpy"

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._steps = [self._step(ins) for ins in plan.instructions]
        self._constants = [(s, np.asarray(v, dtype=d)[()]) for s, v, d in plan.constants]

    def _step(self, ins: Instruction) -> Callable[[list[Any]], None]:
        spec = ops.spec(ins.op)
        attrs = ins.attr
        inputs, out, buf = ins.inputs, ins.output, ins.buffer
        ufunc = _UFUNC_OUT.get(ins.op)
        if ufunc is not None and buf is not None:
            def run_into(v: list[Any]) -> None:
                v[out] = ufunc(*[v[i] for i in inputs], out=v[buf])
            return run_into
        impl = spec.impl

        def run(v: list[Any]) -> None:
            v[out] = impl(np, *[v[i] for i in inputs], **attrs)
        return run

    def __call__(self, *args: Any) -> Any:
        plan = self.plan
        if len(args) != len(plan.input_slots):
            raise SignatureError(f"{plan.name} takes {len(plan.input_slots)} arguments, got {len(args)}")
        values: list[Any] = [None] * plan.n_slots
        for (s, _), a in zip(plan.input_slots, args, strict=True):
            values[s] = a
        for s, c in self._constants:
            values[s] = c
        with np.errstate(all="ignore"):
            for step in self._steps:
                step(values)
        outs = tuple(np.asarray(values[o], dtype=d) for o, d in zip(plan.outputs, plan.output_dtypes, strict=True))
        return outs if plan.output_tuple else outs[0]



def compile_plan(plan: Plan, **options: Any) -> NumpyExecutable:
    return NumpyExecutable(plan)


def run(plan: Plan, args: Sequence[Any]) -> Any:
    return compile_plan(plan)(*args)
