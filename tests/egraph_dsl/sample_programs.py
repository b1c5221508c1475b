"""Programs the engine and pipeline tests share (imported with this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import egraph_dsl as ed
from egraph_dsl import term
from egraph_dsl.program import Program


def sum_of_products(n: int) -> Program:
    """x0*x1 + x2*x0 + ... + x(n-1)*x0: commutativity, associativity and factoring explode on it."""
    xs = [term.input_(f"x{i}", (4,), "float64") for i in range(n)]
    t = term.make("mul", [xs[0], xs[1]])
    for x in xs[2:]:
        t = term.make("add", [t, term.make("mul", [x, xs[0]])])
    return Program(tuple(xs), (t,), "sum_of_products")


def conjugate_registry() -> ed.Registry:
    """sqrt(x + 1) - sqrt(x) has a dearer, stable conjugate form that does not replace it."""
    reg = ed.Registry()
    reg.register(ed.RuleSet("conjugate", [ed.rewrite("sqrt(?x + 1) - sqrt(?x)", "1 / (sqrt(?x + 1) + sqrt(?x))",
                                                     name="test-sqrt-conjugate", claim="real")]),
                 check_rules=False)
    return reg


def sqrt_difference(x: Any) -> Any:
    """Cancels at large x: the error model's test case."""
    return np.sqrt(x + 1) - np.sqrt(x)


LARGE = np.geomspace(1e6, 1e12, 40)  # where sqrt_difference cancels


def central_difference(f: Callable[..., Any], args: list[np.ndarray], i: int, eps: float = 1e-6) -> np.ndarray:
    """d f / d args[i] by central differences, element by element (f returns a scalar)."""
    x = np.array(args[i], dtype=np.float64)
    out = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[k] += eps
        down[k] -= eps
        out[k] = (float(f(*args[:i], up, *args[i + 1:])) - float(f(*args[:i], down, *args[i + 1:]))) / (2 * eps)
    return out
