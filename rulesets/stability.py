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
x = 1000) where ``exp(x) / sum(exp(x))`` is within a few ulps; ``softmax-shift`` (the max-shifted
form with the shift's rounding error corrected) replaces both, so neither is extracted.

A right side must not contain its left side (the replaced e-class would only reach itself):
where a rule keeps NumPy's value on some inputs it spells it differently (``a + (0 - b)`` for
``a - b``, ``(0 - b) + c`` for ``-b + c``: the same bits where the operands cannot be -0.0).
"""

from __future__ import annotations

from egraph_dsl import RuleSet, rewrite

SOFTMAX = "exp(?x) / broadcast_to(sum(exp(?x), axis=?a, keepdims=?k), shape=?s)"
# softmax shifted by the maximum m (by 0 where m is ±inf or nan: NumPy's nan and 0 there). d = x - m
# is rounded where x < m / 2; its rounding error e (TwoSum: d - x, then what x and m lose) corrects
# exp(x - m) = exp(d) (1 + e), else off by up to 2^-44 relative (256 ulps) at m < 1490.
_MAX = "max(?x, axis=?a, keepdims=?k)"
_SHIFT = f"broadcast_to(where(isfinite({_MAX}), {_MAX}, 0), shape=?s)"
_D = f"(?x - {_SHIFT})"
_E = f"((?x - ({_D} - ({_D} - ?x))) - ({_SHIFT} + ({_D} - ?x)))"
# (|e| >= 1 or nan only where exp(d) is 0 or x is ±inf; exp(d) * 1, not exp(d) + exp(d) e: inf * 0 is nan)
_NUM = f"(exp({_D}) * (1 + where(abs({_E}) < 1, {_E}, 0)))"
SOFTMAX_SHIFTED = f"{_NUM} / broadcast_to(sum({_NUM}, axis=?a, keepdims=?k), shape=?s)"
# exp(x - logsumexp(x)) where m = +inf is exp(x - m) (0, and nan at x = inf), where NumPy's softmax is nan
_MB = f"broadcast_to({_MAX}, shape=?s)"
SOFTMAX_LSE_SHIFTED = f"where(isinf({_MB}) & ({_MB} > 0), exp(?x - {_MB}), {SOFTMAX_SHIFTED})"
# the root (-b + √D) / 2a, D = b² - 4ac, through h = √D / 2 = √((b/2)² - ac) computed without b² or
# ac: with g = √|a| √|c|, h = hypot(b/2, g) where ac <= 0, else √(|b|/2 - g) √(|b|/2 + g) (the
# cancellation of NumPy's b² - 4ac, with g's 1.5 ulps in place of 4ac's rounding). For b > 0 the
# citardauq form c / (-b/2 - h) does not cancel where b² ≫ 4ac; for b <= 0, (-b/2 + h) / a does not
# either. At c = 0 (roots 0 and -b/a, NumPy's signed zero) and at non-finite inputs (NumPy's nan and
# ±inf), NumPy's own value, spelled `(0 - b) + ...` (a right side must not hold its left side).
_G = "(sqrt(abs(?a)) * sqrt(abs(?c)))"
_SAME_SIGN = "(sign(?a) * sign(?c) > 0)"
_H = (f"where({_SAME_SIGN}, sqrt(where({_SAME_SIGN}, abs(?b) / 2 - {_G}, 0)) * sqrt(abs(?b) / 2 + {_G}), "
      f"hypot(?b / 2, {_G}))")
QUADP_CITARDAUQ = (f"where(isfinite(?a) & isfinite(?b) & isfinite(?c) & (?c != 0), "
                   f"where(?b > 0, ?c / where(?b > 0, -(?b / 2) - {_H}, -1), (-?b / 2 + {_H}) / ?a), "
                   f"((0 - ?b) + sqrt(square(?b) - 4 * ?a * ?c)) / (2 * ?a))")
SHIFT_DOC = "z3 does not decide it within the timeout (the correction e is 0 over the reals, under exp); tested only"

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
    rewrite(SOFTMAX, "exp(?x - broadcast_to(logsumexp(?x, axis=?a, keepdims=?k), shape=?s))",
            name="softmax-stable", claim="real"),
    rewrite(SOFTMAX, SOFTMAX_SHIFTED, name="softmax-shift", claim="real", replaces=True, doc=SHIFT_DOC),
    # (softmax-stable's right side, less accurate than either: |x| ulps lost in x - logsumexp(x))
    rewrite("exp(?x - broadcast_to(logsumexp(?x, axis=?a, keepdims=?k), shape=?s))", SOFTMAX_LSE_SHIFTED,
            name="softmax-lse-shift", claim="real", replaces=True, doc=SHIFT_DOC),
    # Herbie-class forms (Herbie's rule database and its `hamming` benchmarks). A `+ (?x - ?x)`
    # term is +0.0 for finite x and nan at x = ±inf or nan: it keeps NumPy's nan where the
    # fragile left side is inf - inf, and turns a -0.0 into NumPy's +0.0.
    rewrite("sqrt(?x + 1) - sqrt(?x)", "1 / (sqrt(?x + 1) + sqrt(?x)) + (?x - ?x)",
            name="sqrt-diff-conjugate", claim="real", replaces=True),
    rewrite("1 - cos(?x)", "2 * square(sin(?x / 2))", name="one-minus-cos", claim="real", replaces=True,
            doc="z3 cannot prove it: sin and cos are uninterpreted (1 - cos x = 2 sin²(x/2)); tested only"),
    # `+ 0`: (x - y) * (x + y) is -0.0 at x = -0.0, y = 0, where x*x - y*y is +0.0; |x| = |y|
    # is exactly 0 (nan at inf), where 0 * (x + y) would be nan once x + y overflows
    rewrite("square(?x) - square(?y)",
            "where(abs(?x) == abs(?y), (?x - ?x) + (?y - ?y), (?x - ?y) * (?x + ?y) + 0)",
            name="difference-of-squares", claim="real", replaces=True),
    rewrite("sqrt(square(?x) + square(?y))", "where(isnan(?x), ?x, where(isnan(?y), ?y, hypot(?x, ?y)))",
            name="hypot-def", claim="real", replaces=True),
    rewrite("(exp(?x) - exp(-?x)) / (exp(?x) + exp(-?x))", "tanh(?x) + (?x - ?x)",
            name="tanh-def", claim="real", replaces=True,
            doc="z3 cannot prove it: tanh is uninterpreted beyond monotone, odd, in (-1, 1); tested only"),
    # at x = ±inf NumPy's left side: nan at +inf (inf / inf), -1 at -inf; elsewhere tanh keeps -0.0.
    rewrite("expm1(?x) / (exp(?x) + 1)", "where(isinf(?x), where(?x > 0, ?x - ?x, -1.0), tanh(?x / 2))",
            name="tanh-expm1", claim="real", replaces=True,
            doc="z3 cannot prove it: tanh is uninterpreted beyond monotone, odd, in (-1, 1); tested only"),
    rewrite("expm1(?x) / (expm1(?x) + 2)", "where(isinf(?x), where(?x > 0, ?x - ?x, -1.0), tanh(?x / 2))",
            name="tanh-expm1-2", claim="real", replaces=True,
            doc="z3 cannot prove it: tanh is uninterpreted beyond monotone, odd, in (-1, 1); tested only"),
    # x <= -1: the left side cancels (-1e20 gives log(0)); `+ (x - x)` keeps its nan at -inf
    rewrite("log(?x + sqrt(square(?x) + 1))", "where(?x > -1, arcsinh(?x) + 0, arcsinh(?x) + (?x - ?x))",
            name="asinh-def", claim="real", replaces=True,
            doc="z3 cannot prove it: arcsinh is uninterpreted; tested only"),
    rewrite("log(?x + sqrt(square(?x) - 1))", "arccosh(?x)", name="acosh-def", claim="real", replaces=True,
            doc="z3 cannot prove it: arccosh is uninterpreted; tested only"),
    rewrite("0.5 * log((1 + ?x) / (1 - ?x))", "arctanh(?x) + 0", name="atanh-def", claim="real", replaces=True,
            doc="z3 cannot prove it: arctanh is uninterpreted; tested only"),
    rewrite("log((1 + ?x) / (1 - ?x)) / 2", "arctanh(?x) + 0", name="atanh-def-half", claim="real", replaces=True,
            doc="z3 cannot prove it: arctanh is uninterpreted; tested only"),
    # log1mexp (Maechler 2012): the branch at -log 2 picks whichever of expm1 / exp is exact there
    rewrite("log(1 - exp(?x))",
            "where(?x > -0.6931471805599453, log(-expm1(?x)), log1p(-exp(?x)) + 0)",
            name="log1mexp", claim="real", replaces=True),
    rewrite("log(?x + 1) - log(?x)", "where(?x > 1, log1p(1 / ?x) + (?x - ?x), log1p(?x) - log(?x))",
            name="log-ratio-next", claim="real", replaces=True,
            doc="z3 cannot prove it: log1p is uninterpreted in the where's branch; tested only"),
    # hamming 2frac: -1/(x(x+1)) as two divisions, so x(x+1) cannot overflow; `+ 0` is NumPy's +0.0 at ±inf
    rewrite("1 / (?x + 1) - 1 / ?x", "(-1 / ?x) / (?x + 1) + 0", name="2frac", claim="real", replaces=True),
    # hamming 2atan: atan a - atan b = atan((a - b) / (1 + ab)) where ab > -1, and x(x + 1) >= -1/4
    rewrite("arctan(?x + 1) - arctan(?x)", "arctan(1 / (1 + ?x * (?x + 1)))", name="2atan", claim="real",
            replaces=True, doc="z3 cannot prove it: arctan is uninterpreted; tested only"),
    # hamming 2cbrt: a - b = (a³ - b³) / (a² + ab + b²) with a³ - b³ = 1 exactly
    rewrite("cbrt(?x + 1) - cbrt(?x)",
            "1 / (square(cbrt(?x + 1)) + cbrt(?x + 1) * cbrt(?x) + square(cbrt(?x))) + (?x - ?x)",
            name="2cbrt", claim="real", replaces=True,
            doc="z3 does not decide it within the timeout (cbrt is uninterpreted; a³ - b³ = 1 needs cbrt³); tested only"),
    # log x - log y for x near y: x - y is exact there (Sterbenz); the test is false at nan, ±inf and
    # x, y <= 0 but at x = y = 0 (nan either way). Elsewhere NumPy's own value, spelled
    # `a + (0 - b)` (the same bits: log is never -0.0) so that the right side does not hold its left side.
    rewrite("log(?x) - log(?y)",
            "where(abs(?x - ?y) <= 0.5 * minimum(?x, ?y), log1p((?x - ?y) / ?y), log(?x) + (0 - log(?y)))",
            name="log-diff", claim="real", replaces=True,
            doc="z3 cannot prove it: log1p is uninterpreted in the where's branch; tested only"),
    # logdiffexp: a + log1mexp(b - a) (as above; `+ 0`: log is never -0.0); NumPy's value at non-finite inputs
    rewrite("log(exp(?a) - exp(?b))",
            "where(isfinite(?a) & isfinite(?b), ?a + where(?b - ?a > -0.6931471805599453, log(-expm1(?b - ?a)), "
            "log1p(-exp(?b - ?a))) + 0, log(exp(?a) + (0 - exp(?b))))",
            name="logdiffexp", claim="real", replaces=True,
            doc="z3 cannot prove it: expm1 and log1p are uninterpreted in the where's branches; tested only"),
    # hamming quadp (the citardauq form, see QUADP_CITARDAUQ)
    rewrite("(-?b + sqrt(square(?b) - 4 * ?a * ?c)) / (2 * ?a)", QUADP_CITARDAUQ, name="quadp-citardauq",
            claim="real", replaces=True),
]

stability = RuleSet("stability", RULES, tags={"stability", "default"},
                    doc="stable sigmoid/softplus/logsumexp/softmax, log1p/expm1, log1mexp, conjugates, "
                        "hypot, tanh/asinh/acosh/atanh forms, Hamming's 2frac/2atan/2cbrt/quadp, log x - log y")
