"""``linalg``: matrix-chain reassociation, transpose rules, traces and dot products."""

from __future__ import annotations

from egraph_dsl import RuleSet, rewrite

RULES = [
    rewrite("(?A @ ?B) @ ?C", "?A @ (?B @ ?C)", name="matmul-assoc", claim="real", when="matrix(?B)"),
    rewrite("?A @ (?B @ ?C)", "(?A @ ?B) @ ?C", name="matmul-assoc-rev", claim="real", when="matrix(?B)"),
    rewrite("transpose(transpose(?A, axes=(1, 0)), axes=(1, 0))", "?A", name="transpose-transpose"),
    rewrite("transpose(?A @ ?B, axes=(1, 0))",
            "transpose(?B, axes=(1, 0)) @ transpose(?A, axes=(1, 0))",
            name="transpose-matmul", claim="real", when=["matrix(?A)", "matrix(?B)"]),
    rewrite("trace(?A @ ?B)", "sum(?A * transpose(?B, axes=(1, 0)), axis=None, keepdims=False)",
            name="trace-matmul", claim="real", when=["square(?A)", "square(?B)"]),
    rewrite("trace(transpose(?A, axes=(1, 0)))", "trace(?A)", name="trace-transpose"),
    rewrite("diagonal(?A @ ?B)", "sum(?A * transpose(?B, axes=(1, 0)), axis=1, keepdims=False)",
            name="diagonal-matmul", claim="real", when=["square(?A)", "square(?B)"]),
    rewrite("sum(?a * ?b, keepdims=False)", "?a @ ?b", name="sum-product-dot", claim="real",
            when="vector(?a)"),
    rewrite("?a @ ?b", "sum(?a * ?b, axis=None, keepdims=False)", name="dot-sum-product", claim="real",
            when=["vector(?a)", "vector(?b)"]),
]

linalg = RuleSet("linalg", RULES, tags={"linalg", "default"},
                 doc="matrix chains, transposes, trace(A @ B), dot products")
