"""``algebra``: identities and exp/log laws that keep NumPy's results; ``reassociate``: AC rules (opt-in).

Cancellation (``x - x -> 0``), ``x + 0 -> x``, distribution and the log laws are not
IEEE-faithful (nan, ±inf, signed zeros, accuracy): they live in the opt-in ``fast-math``
ruleset (``rulesets/fast_math.py``). ``reassociate`` is not faithful either (reassociation
changes rounding and overflow); its inexact rules carry the ``fast-math`` tag. Constant
folding of weak scalar constants is done by the engine itself (at trace time and during
saturation), so it needs no rules here.
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
    # equal over the reals, and IEEE-faithful: NumPy's nan, infinities and signed zeros, no less
    # accurate (rules that are not live in `fast-math`, see rulesets/fast_math.py)
    rewrite("1 / (1 / ?x)", "?x", name="recip-recip", when="?x != 0"),
    rewrite("exp(log(?x))", "?x", name="exp-log", when="?x > 0"),
    # `+ 0`: log(exp(-0.0)) is log(1) = +0.0; nothing else changes (x + 0 is x for x != -0.0)
    rewrite("log(exp(?x))", "?x + 0", name="log-exp", claim="real"),
    rewrite("sqrt(square(?x))", "abs(?x)", name="sqrt-square", claim="real"),
    rewrite("square(sqrt(?x))", "?x", name="square-sqrt", when="?x >= 0"),
    rewrite("square(?x)", "?x * ?x", name="square-expand"),
]

FAST = ("fast-math",)  # reassociation changes rounding and overflow: judged by the fast-math policy

REASSOCIATE = [
    rewrite("?a + ?b", "?b + ?a", name="add-comm"),
    rewrite("?a * ?b", "?b * ?a", name="mul-comm"),
    rewrite("(?a + ?b) + ?c", "?a + (?b + ?c)", name="add-assoc", claim="real", tags=FAST),
    rewrite("?a + (?b + ?c)", "(?a + ?b) + ?c", name="add-assoc-rev", claim="real", tags=FAST),
    rewrite("(?a * ?b) * ?c", "?a * (?b * ?c)", name="mul-assoc", claim="real", tags=FAST),
    rewrite("?a * (?b + ?c)", "?a * ?b + ?a * ?c", name="distribute", claim="real", tags=FAST),
    rewrite("?a * ?b + ?a * ?c", "?a * (?b + ?c)", name="factor", claim="real", tags=FAST),
    rewrite("sum(?a + ?b, axis=?x, keepdims=?k)", "sum(?a, axis=?x, keepdims=?k) + sum(?b, axis=?x, keepdims=?k)",
            name="sum-add", claim="real", tags=FAST),
]

algebra = RuleSet("algebra", RULES, tags={"algebra", "default"},
                  doc="IEEE-exact identities and the exp/log laws that keep NumPy's nan, inf and signed zeros")
reassociate = RuleSet("reassociate", REASSOCIATE, tags={"algebra", "expensive"},
                      doc="commutativity, associativity, distribute/factor: opt-in, grows the e-graph fast")
