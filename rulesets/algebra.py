"""``algebra``: identities, cancellation, distribution; ``reassociate``: AC rules (opt-in).

Constant folding of weak scalar constants is done by the engine itself (at trace time and
during saturation), so it needs no rules here.
"""

from __future__ import annotations

from egraph_dsl import RuleSet, rewrite

RULES = [
    # identities that are bit-exact in IEEE arithmetic
    rewrite("?x * 1", "?x", name="mul-one"),
    rewrite("1 * ?x", "?x", name="one-mul"),
    rewrite("?x / 1", "?x", name="div-one"),
    rewrite("?x - 0", "?x", name="sub-zero"),
    rewrite("-(-?x)", "?x", name="neg-neg"),
    rewrite("?x * -1", "-?x", name="mul-minus-one"),
    rewrite("?a + -?b", "?a - ?b", name="add-neg"),
    rewrite("?a - -?b", "?a + ?b", name="sub-neg"),
    rewrite("-?a * ?b", "-(?a * ?b)", name="neg-mul"),
    rewrite("?a * -?b", "-(?a * ?b)", name="mul-neg"),
    rewrite("?x * ?x", "square(?x)", name="mul-self"),
    rewrite("abs(abs(?x))", "abs(?x)", name="abs-abs"),
    rewrite("abs(-?x)", "abs(?x)", name="abs-neg"),
    rewrite("square(-?x)", "square(?x)", name="square-neg"),
    # equal over the reals; floats may differ in the last bits (or in the sign of zero)
    rewrite("?x + 0", "?x", name="add-zero", claim="real", doc="-0.0 + 0 is +0.0"),
    rewrite("0 - ?x", "-?x", name="zero-sub", claim="real", doc="0 - 0.0 is +0.0"),
    rewrite("?x - ?x", "0", name="sub-self", claim="real", doc="inf - inf is nan"),
    rewrite("(?a + ?b) - ?b", "?a", name="add-sub-cancel", claim="real"),
    rewrite("(?a - ?b) + ?b", "?a", name="sub-add-cancel", claim="real"),
    rewrite("?a * (?b - ?c)", "?a * ?b - ?a * ?c", name="distribute-sub", claim="real"),
    rewrite("(?a - ?b) * ?c", "?a * ?c - ?b * ?c", name="distribute-sub-right", claim="real"),
    rewrite("(?a - ?b) - (?c - ?b)", "?a - ?c", name="sub-sub-cancel", claim="real"),
    rewrite("(?a + ?b) - (?c + ?b)", "?a - ?c", name="add-sub-add-cancel", claim="real"),
    rewrite("?a * ?b / ?c", "?a / ?c * ?b", name="mul-div-swap", claim="real"),
    rewrite("sum(?a - ?b, axis=?x, keepdims=?k)", "sum(?a, axis=?x, keepdims=?k) - sum(?b, axis=?x, keepdims=?k)",
            name="sum-sub", claim="real"),
    rewrite("?a / ?b * ?b", "?a", name="div-mul-cancel", when="?b != 0"),
    rewrite("?x / ?x", "1", name="div-self", when="?x != 0"),
    rewrite("1 / (1 / ?x)", "?x", name="recip-recip", when="?x != 0"),
    rewrite("log(exp(?x))", "?x", name="log-exp", claim="real"),
    rewrite("exp(?a) * exp(?b)", "exp(?a + ?b)", name="exp-mul", claim="real"),
    rewrite("exp(?a) / exp(?b)", "exp(?a - ?b)", name="exp-div", claim="real"),
    rewrite("log(?a * ?b)", "log(?a) + log(?b)", name="log-mul", when=["?a > 0", "?b > 0"]),
    rewrite("log(?a / ?b)", "log(?a) - log(?b)", name="log-div", when=["?a > 0", "?b > 0"]),
    rewrite("exp(log(?x))", "?x", name="exp-log", when="?x > 0"),
    rewrite("sqrt(square(?x))", "abs(?x)", name="sqrt-square", claim="real"),
    rewrite("square(sqrt(?x))", "?x", name="square-sqrt", when="?x >= 0"),
    rewrite("square(?x)", "?x * ?x", name="square-expand"),
]

REASSOCIATE = [
    rewrite("?a + ?b", "?b + ?a", name="add-comm"),
    rewrite("?a * ?b", "?b * ?a", name="mul-comm"),
    rewrite("(?a + ?b) + ?c", "?a + (?b + ?c)", name="add-assoc", claim="real"),
    rewrite("?a + (?b + ?c)", "(?a + ?b) + ?c", name="add-assoc-rev", claim="real"),
    rewrite("(?a * ?b) * ?c", "?a * (?b * ?c)", name="mul-assoc", claim="real"),
    rewrite("?a * (?b + ?c)", "?a * ?b + ?a * ?c", name="distribute", claim="real"),
    rewrite("?a * ?b + ?a * ?c", "?a * (?b + ?c)", name="factor", claim="real"),
    rewrite("sum(?a + ?b, axis=?x, keepdims=?k)", "sum(?a, axis=?x, keepdims=?k) + sum(?b, axis=?x, keepdims=?k)",
            name="sum-add", claim="real"),
]

algebra = RuleSet("algebra", RULES, tags={"algebra", "default"},
                  doc="identities, cancellation, distribution over differences, exp/log laws")
reassociate = RuleSet("reassociate", REASSOCIATE, tags={"algebra", "expensive"},
                      doc="commutativity, associativity, distribute/factor: opt-in, grows the e-graph fast")
