"""Programs the engine and pipeline tests share (imported with this folder on sys.path)."""

from __future__ import annotations

from egraph_dsl import term
from egraph_dsl.program import Program


def sum_of_products(n: int) -> Program:
    """x0*x1 + x2*x0 + ... + x(n-1)*x0: commutativity, associativity and factoring explode on it."""
    xs = [term.input_(f"x{i}", (4,), "float64") for i in range(n)]
    t = term.make("mul", [xs[0], xs[1]])
    for x in xs[2:]:
        t = term.make("add", [t, term.make("mul", [x, xs[0]])])
    return Program(tuple(xs), (t,), "sum_of_products")
