"""``stability``: rewrite numerically fragile forms into ones that stay finite and accurate.

The rewritten forms are single ops whose implementations are careful (see ``egraph_dsl.ops``):
``sigmoid`` and ``softplus`` never overflow, ``logsumexp`` shifts by the maximum.
"""

from __future__ import annotations

from egraph_dsl import RuleSet, rewrite

RULES = [
    rewrite("1 / (1 + exp(-?x))", "sigmoid(?x)", name="sigmoid-def", claim="real"),
    rewrite("1 / (exp(-?x) + 1)", "sigmoid(?x)", name="sigmoid-def-r", claim="real"),
    rewrite("exp(?x) / (1 + exp(?x))", "sigmoid(?x)", name="sigmoid-def-exp", claim="real"),
    rewrite("exp(?x) / (exp(?x) + 1)", "sigmoid(?x)", name="sigmoid-def-exp-r", claim="real"),
    rewrite("1 - sigmoid(?x)", "sigmoid(-?x)", name="one-minus-sigmoid", claim="real"),
    rewrite("log(sigmoid(?x))", "-softplus(-?x)", name="log-sigmoid", claim="real"),
    rewrite("log(1 - sigmoid(?x))", "-softplus(?x)", name="log-one-minus-sigmoid", claim="real"),
    rewrite("log(1 + exp(?x))", "softplus(?x)", name="softplus-def", claim="real"),
    rewrite("log(exp(?x) + 1)", "softplus(?x)", name="softplus-def-r", claim="real"),
    rewrite("log1p(exp(?x))", "softplus(?x)", name="softplus-log1p", claim="real"),
    rewrite("log(1 + ?x)", "log1p(?x)", name="log1p-def", claim="real"),
    rewrite("log(?x + 1)", "log1p(?x)", name="log1p-def-r", claim="real"),
    rewrite("exp(?x) - 1", "expm1(?x)", name="expm1-def", claim="real"),
    rewrite("log(exp(?a) + exp(?b))", "logaddexp(?a, ?b)", name="logaddexp-def", claim="real"),
    rewrite("log(sum(exp(?x), axis=?a, keepdims=?k))", "logsumexp(?x, axis=?a, keepdims=?k)",
            name="logsumexp-def", claim="real"),
    rewrite("exp(?x) / broadcast_to(sum(exp(?x), axis=?a, keepdims=?k), shape=?s)",
            "exp(?x - broadcast_to(logsumexp(?x, axis=?a, keepdims=?k), shape=?s))",
            name="softmax-stable", claim="real"),
    rewrite("log(exp(?x) / broadcast_to(sum(exp(?x), axis=?a, keepdims=?k), shape=?s))",
            "?x - broadcast_to(logsumexp(?x, axis=?a, keepdims=?k), shape=?s)",
            name="log-softmax", claim="real"),
    rewrite("-softplus(-?x)", "?x - softplus(?x)", name="log-sigmoid-alt", claim="real"),
]

stability = RuleSet("stability", RULES, tags={"stability", "default"},
                    doc="stable sigmoid/softplus/logsumexp/softmax, log1p/expm1 forms")
