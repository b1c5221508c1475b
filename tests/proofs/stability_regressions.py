"""Planted stability regressions: rules sound over the reals that make programs less accurate.

Each right side equals its left side over the reals (z3 proves most of them), but in float64 it
overflows, underflows to a wrong value, or cancels where NumPy's left side is finite and accurate.
``check-rules`` must reject every one (``tests/proofs/test_stability_regressions.py``):

    python -m egraph_dsl.proofs.cli check-rules --from tests/proofs/stability_regressions.py

Importing this file registers nothing; ``check-rules --from`` runs it under the run name
``__egraph_dsl_rules__`` and then it registers :data:`REGRESSIONS`.
"""

from __future__ import annotations

from egraph_dsl.registry import RuleSet, register
from egraph_dsl.rules import rewrite

REGRESSIONS = RuleSet("stability-regressions", [
    rewrite("log1p(?x)", "log(1 + ?x)", name="log1p-as-log", claim="real"),
    rewrite("expm1(?x)", "exp(?x) - 1", name="expm1-as-exp", claim="real"),
    rewrite("hypot(?x, ?y)", "sqrt(?x * ?x + ?y * ?y)", name="hypot-unscaled", claim="real"),
    rewrite("?x * ?y / ?z", "?x * (?y / ?z)", name="quotient-first", claim="real"),
    rewrite("1 / (sqrt(?x + 1) + sqrt(?x))", "sqrt(?x + 1) - sqrt(?x)", name="conjugate-undone", claim="real"),
    rewrite("logaddexp(?a, ?b)", "log(exp(?a) + exp(?b))", name="logaddexp-naive", claim="real"),
    rewrite("log(-expm1(?x))", "log(1 - exp(?x))", name="log1mexp-naive", claim="real"),
    rewrite("softplus(?x)", "log(1 + exp(?x))", name="softplus-naive", claim="real"),
    rewrite("sigmoid(-?x)", "1 - sigmoid(?x)", name="sigmoid-complement", claim="real"),
    rewrite("tanh(?x)", "(exp(?x) - exp(-?x)) / (exp(?x) + exp(-?x))", name="tanh-naive", claim="real"),
    # cancels near |x| = 1 by up to 1e-8 relative: more than the bound it states
    rewrite("(?x - 1) * (?x + 1)", "square(?x) - 1", name="squares-expanded", claim="real", rtol=1e-9),
])

# rule -> points (inputs) where the right side is wrong and what check-rules reports there
PINNED: dict[str, list[tuple[dict[str, float], str]]] = {
    "log1p-as-log": [({"x": 1e-10}, "less accurate than NumPy")],  # 1 + x drops x's low bits
    "expm1-as-exp": [({"x": 1e-10}, "less accurate than NumPy")],
    "hypot-unscaled": [({"x": 1e200, "y": 1e200}, "the right side is inf"),  # x * x overflows
                       ({"x": 1e-200, "y": 1e-200}, "less accurate than NumPy")],  # ... or underflows to 0
    "quotient-first": [({"x": 1e200, "y": 1e-300, "z": 1e100}, "less accurate than NumPy")],  # y / z is 0
    "conjugate-undone": [({"x": 1e12}, "less accurate than NumPy")],
    "logaddexp-naive": [({"a": 800.0, "b": 800.0}, "the right side is inf"),
                        ({"a": -800.0, "b": -800.0}, "the right side is -inf")],
    "log1mexp-naive": [({"x": -1e-20}, "the right side is -inf")],
    "softplus-naive": [({"x": 800.0}, "the right side is inf")],
    "sigmoid-complement": [({"x": 40.0}, "less accurate than NumPy")],
    "tanh-naive": [({"x": 1e-10}, "less accurate than NumPy"), ({"x": 800.0}, "the right side is nan")],
    "squares-expanded": [({"x": 1 + 2.0**-27}, "less accurate than NumPy")],
}

if __name__ == "__egraph_dsl_rules__":
    register(REGRESSIONS)
