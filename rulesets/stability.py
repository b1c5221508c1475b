"""``stability``: rewrite numerically fragile forms into ones that stay finite and accurate.

The rewritten forms are single ops whose implementations are careful (see ``egraph_dsl.ops``):
``sigmoid`` and ``softplus`` never overflow, ``logsumexp`` shifts by the maximum. Every rule
here keeps NumPy's nan, infinities and signed zeros; where NumPy's intermediate overflows on
finite inputs the rewritten form returns the accurate value instead (the point of the
ruleset). ``exp(x) / (1 + exp(x)) -> sigmoid(x)`` (nan at x = inf in NumPy) and
``-softplus(-x) -> x - softplus(x)`` and the log-softmax ``x - logsumexp(x)`` (both cancel
where one element dominates) are in ``fast-math``.

Replacing rules (``replaces=True``, compiled to egglog's ``subsume``): the fragile left side is
never extracted, so the cost model cannot pick it back because it is a few FLOPs cheaper
(``log(sigmoid(x))`` is cheaper than ``0 - softplus(-x)`` and is 0.0 where the answer is
-1.9e-22). A rule replaces only where its right side is at least as accurate as NumPy's left
side at every input (a few ulps where the left side is accurate, and accurate where it
overflows or cancels) and keeps its nan, infinities and signed zeros. ``softmax-stable`` does
not: ``exp(x - logsumexp(x))`` loses ``|x|`` ulps in the subtraction (2e-13 relative at
x = 1000) where ``exp(x) / sum(exp(x))`` is within a few ulps, so both stay candidates.
"""

from __future__ import annotations

from egraph_dsl import RuleSet, rewrite

RULES = [
    rewrite("1 / (1 + exp(-?x))", "sigmoid(?x)", name="sigmoid-def", claim="real", replaces=True),
    rewrite("1 / (exp(-?x) + 1)", "sigmoid(?x)", name="sigmoid-def-r", claim="real", replaces=True),
    rewrite("1 - sigmoid(?x)", "sigmoid(-?x)", name="one-minus-sigmoid", claim="real", replaces=True),
    # `0 - y` rather than `-y`: log(1) is +0.0 (at x = +inf, and where sigmoid rounds to 1)
    rewrite("log(sigmoid(?x))", "0 - softplus(-?x)", name="log-sigmoid", claim="real", replaces=True),
    rewrite("log(1 - sigmoid(?x))", "0 - softplus(?x)", name="log-one-minus-sigmoid", claim="real", replaces=True),
    rewrite("log(1 + exp(?x))", "softplus(?x)", name="softplus-def", claim="real", replaces=True),
    rewrite("log(exp(?x) + 1)", "softplus(?x)", name="softplus-def-r", claim="real", replaces=True),
    rewrite("log1p(exp(?x))", "softplus(?x)", name="softplus-log1p", claim="real", replaces=True),
    # `+ 0` turns log1p(-0.0) = -0.0 into log(1 + -0.0) = +0.0 and changes nothing else
    rewrite("log(1 + ?x)", "log1p(?x) + 0", name="log1p-def", claim="real", replaces=True),
    rewrite("log(?x + 1)", "log1p(?x) + 0", name="log1p-def-r", claim="real", replaces=True),
    rewrite("exp(?x) - 1", "expm1(?x) + 0", name="expm1-def", claim="real", replaces=True),
    rewrite("log(exp(?a) + exp(?b))", "logaddexp(?a, ?b)", name="logaddexp-def", claim="real", replaces=True),
    rewrite("log(sum(exp(?x), axis=?a, keepdims=?k))", "logsumexp(?x, axis=?a, keepdims=?k)",
            name="logsumexp-def", claim="real", replaces=True),
    rewrite("exp(?x) / broadcast_to(sum(exp(?x), axis=?a, keepdims=?k), shape=?s)",
            "exp(?x - broadcast_to(logsumexp(?x, axis=?a, keepdims=?k), shape=?s))",
            name="softmax-stable", claim="real"),
]

stability = RuleSet("stability", RULES, tags={"stability", "default"},
                    doc="stable sigmoid/softplus/logsumexp/softmax, log1p/expm1 forms")
