"""egraph-dsl: make NumPy programs faster and more accurate by equality saturation.

>>> import numpy as np, egraph_dsl as ed
>>> f = ed.jit(lambda x: np.log(1 + np.exp(x)))
>>> float(f(np.array([800.0]))[0])   # naive NumPy gives inf here
800.0
"""

from __future__ import annotations

from typing import Any

# creation, einsum, indexing, layout, linalg, reductions and sorting are imported to register their NumPy
# functions with the tracer
from . import creation, einsum, errors, indexing, layout, linalg, ops, reductions, sorting  # noqa: F401
from .engine.limits import Limits, StopReason
from .errors import EgraphDslError
from .pattern import attr_var, op, parse, var, vars_
from .program import Program, evaluate
from .registry import Registry, RuleSet, default_registry, register
from .rules import Claim, Rule, finite, matrix, nonnegative, nonzero, positive, rewrite, square, vector
from .trace import ArraySpec, constant, logsumexp, sigmoid, softplus, trace_function

__version__ = "0.1.0"

_LAZY = {
    "jit": ("egraph_dsl.facade.jitted", "jit"),
    "JitFunction": ("egraph_dsl.facade.jitted", "JitFunction"),
    "optimize": ("egraph_dsl.facade.pipeline", "optimize"),
    "Session": ("egraph_dsl.facade.session", "Session"),
    "grad": ("egraph_dsl.facade.gradients", "grad"),
    "value_and_grad": ("egraph_dsl.facade.gradients", "value_and_grad"),
    "GradFunction": ("egraph_dsl.facade.gradients", "GradFunction"),
}


def __getattr__(name: str) -> Any:
    """The façade (jit, optimize, Session) loads on first use, so `import rulesets` stays light."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'egraph_dsl' has no attribute {name!r}")


def trace(fn: Any, *example_args: Any) -> Program:
    """The program ``fn`` builds on arguments like ``example_args`` (arrays or ArraySpec)."""
    return trace_function(fn, example_args)


__all__ = [
    "ArraySpec", "Claim", "EgraphDslError", "GradFunction", "JitFunction", "Limits", "Program", "Registry", "Rule",
    "RuleSet", "Session", "StopReason", "attr_var", "constant", "default_registry", "errors", "evaluate", "finite",
    "grad", "jit", "logsumexp", "matrix", "nonnegative", "nonzero", "op", "ops", "optimize", "parse", "positive",
    "register", "rewrite", "sigmoid", "softplus", "square", "trace", "trace_function", "value_and_grad", "var",
    "vars_", "vector",
]
