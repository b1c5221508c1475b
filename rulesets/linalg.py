"""``linalg``: transpose rules, traces and dot products.

Matrix-chain reassociation (``(A @ B) @ C -> A @ (B @ C)``: one order can overflow where the
other does not) and ``trace(A @ B)`` / ``diagonal(A @ B)`` as sums of products (BLAS fuses
multiply and add, so NumPy gives inf where the separately rounded products give inf - inf =
nan) are not IEEE-faithful: they are in the opt-in ``fast-math`` ruleset.
"""

from __future__ import annotations

from egraph_dsl import RuleSet, rewrite

RULES = [
    rewrite("transpose(transpose(?A, axes=(1, 0)), axes=(1, 0))", "?A", name="transpose-transpose"),
    rewrite("transpose(?A @ ?B, axes=(1, 0))",
            "transpose(?B, axes=(1, 0)) @ transpose(?A, axes=(1, 0))",
            name="transpose-matmul", claim="real", when=["matrix(?A)", "matrix(?B)"]),
    rewrite("trace(transpose(?A, axes=(1, 0)))", "trace(?A)", name="trace-transpose"),
    rewrite("sum(?a * ?b, keepdims=False)", "?a @ ?b", name="sum-product-dot", claim="real",
            when="vector(?a)"),
    rewrite("?a @ ?b", "sum(?a * ?b, axis=None, keepdims=False)", name="dot-sum-product", claim="real",
            when=["vector(?a)", "vector(?b)"]),
]

linalg = RuleSet("linalg", RULES, tags={"linalg", "default"},
                 doc="transposes, traces, dot products")
