"""The NumPy backend: a Plan compiled to one straight-line Python function over NumPy calls.

Each instruction becomes one line (``v7 = f7(v5, v6, out=v5)``) of a generated function whose
names are bound to the op table's implementations, so a call costs the NumPy calls and little
else: no interpreter loop, no per-op dispatch. Elementwise ufuncs write into dead buffers
(``out=``) as the plan assigns them; 0-d float instructions use NumPy scalar operators.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from egraph_dsl import ops
from egraph_dsl.errors import SignatureError
from egraph_dsl.plan import Instruction, Plan

# what this backend declares to the registry (egraph_dsl.backends.Backend)
NAME = "numpy"
DEFAULT_COST_MODEL = "cpu"  # the cost model jit uses with this backend unless told otherwise
GENERATES_KERNELS = False  # whether lower(plan) generates kernels (explain shows them)


def available() -> bool:
    """Always: NumPy is a dependency."""
    return True


# 0-d float instructions: NumPy scalar operators give the ufunc's result without its call overhead
_SCALAR_OPS: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "square": lambda a: a * a,
}


def _bool_square(a: Any, out: Any = None) -> Any:
    """square of a bool in the IR (from ``b * b``): ``b * b`` is a logical and, never np.square's int8."""
    return np.logical_and(a, a, out=out)


def _function_for(ins: Instruction) -> tuple[Any, bool]:
    """The callable for one instruction, and whether it takes ``out=``."""
    spec = ops.spec(ins.op)
    if ins.op in _SCALAR_OPS and ins.shape == () and ins.dtype in ("float64", "float32"):
        return _SCALAR_OPS[ins.op], False
    if ins.op == "square" and ins.dtype == "bool":
        return _bool_square, True
    if spec.ufunc is not None:
        return getattr(np, spec.ufunc), True
    if ins.op == "matmul":
        return np.matmul, False
    return functools.partial(spec.impl, np, **ins.attr), False


def returned_values(plan: Plan, namespace: dict[str, Any]) -> str:
    """The expression a generated plan function returns: its outputs in their dtypes, copied where
    one would alias an input or another result (every result is fresh and writable), as a tuple or
    list when the traced function returned one. Binds ``od<i>`` in ``namespace``."""
    results = []
    copies = plan.output_copy or (False,) * len(plan.outputs)
    for i, (slot, dtype, copy) in enumerate(zip(plan.outputs, plan.output_dtypes, copies, strict=True)):
        namespace[f"od{i}"] = np.dtype(dtype)
        results.append(f"array(v{slot}, dtype=od{i})" if copy else f"asarray(v{slot}, dtype=od{i})")
    if plan.output_list:
        return f"[{', '.join(results)}]"
    return f"({', '.join(results)},)" if plan.output_tuple else results[0]


class NumpyExecutable:
    """A plan ready to run on NumPy arrays; calling it runs the generated function."""

    name = "numpy"

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.source, self._run = self._generate(plan)

    @staticmethod
    def _generate(plan: Plan) -> tuple[str, Callable[..., Any]]:
        namespace: dict[str, Any] = {"errstate": np.errstate, "asarray": np.asarray, "array": np.array}
        params = [f"v{s}" for s, _ in plan.input_slots]
        for s, value, dtype in plan.constants:
            namespace[f"v{s}"] = np.asarray(value, dtype=dtype)[()]  # typed scalars, made once
        body = []
        for k, ins in enumerate(plan.instructions):
            fn, takes_out = _function_for(ins)
            namespace[f"f{k}"] = fn
            args = ", ".join(f"v{i}" for i in ins.inputs)
            out = f", out=v{ins.buffer}" if takes_out and ins.buffer is not None else ""
            body.append(f"        v{ins.output} = f{k}({args}{out})  # {ins.op}")
        returned = returned_values(plan, namespace)
        source = "\n".join([f"def run({', '.join(params)}):", "    with errstate(all='ignore'):",
                            *(body or ["        pass"]), f"    return {returned}", ""])
        exec(compile(source, f"<plan {plan.name}>", "exec"), namespace)
        return source, namespace["run"]

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.plan.input_slots):
            raise SignatureError(f"{self.plan.name} takes {len(self.plan.input_slots)} arguments, got {len(args)}")
        return self._run(*args)


def compile_plan(plan: Plan, **options: Any) -> NumpyExecutable:
    if options:
        raise TypeError(f"the numpy backend takes no options, got {sorted(options)}")
    return NumpyExecutable(plan)

