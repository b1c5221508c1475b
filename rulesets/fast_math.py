"""``fast-math``: rules that hold over the reals but not in IEEE floats (opt-in, never a default).

The default rulesets keep NumPy's nan, infinities and signed zeros and are never less accurate
than NumPy (see README, "Floating-point policy"). The rules here break that somewhere, as the
counterexample in each ``doc`` shows (found by ``egraph-dsl check-rules``); they are still sound
over the reals (z3 proves them, check-rules judges them by the fast-math policy: finite inputs,
agreement within ``rtol`` of the magnitudes that cancel). Select them explicitly:
``rulesets=["algebra", "stability", "linalg", "fast-math"]``.
"""

from __future__ import annotations

from egraph_dsl import RuleSet, rewrite

FAST = ("fast-math",)  # every rule carries the tag too, so it is judged as fast-math wherever it goes

RULES = [
    # cancellation and identities: nan/inf inputs and signed zeros
    rewrite("?x + 0", "?x", name="add-zero", claim="real", tags=FAST, doc="-0.0 + 0 is +0.0, the rule keeps -0.0"),
    rewrite("0 - ?x", "-?x", name="zero-sub", claim="real", tags=FAST, doc="0 - 0.0 is +0.0, -0.0 is not"),
    rewrite("?x - ?x", "0", name="sub-self", claim="real", tags=FAST, doc="inf - inf and nan - nan are nan, not 0"),
    rewrite("(?a + ?b) - ?b", "?a", name="add-sub-cancel", claim="real", tags=FAST,
            doc="b = inf gives nan; a = b = -0.0 gives +0.0, the rule -0.0"),
    rewrite("(?a - ?b) + ?b", "?a", name="sub-add-cancel", claim="real", tags=FAST,
            doc="b = inf gives nan; a = b = -0.0 gives +0.0, the rule -0.0"),
    rewrite("(?a - ?b) - (?c - ?b)", "?a - ?c", name="sub-sub-cancel", claim="real", tags=FAST,
            doc="b = nan (or inf) gives nan, the rule a - c"),
    rewrite("(?a + ?b) - (?c + ?b)", "?a - ?c", name="add-sub-add-cancel", claim="real", tags=FAST,
            doc="b = nan (or inf) gives nan, the rule a - c"),
    rewrite("?a / ?b * ?b", "?a", name="div-mul-cancel", when="?b != 0", tags=FAST,
            doc="b = inf or nan gives nan (a/inf*inf = 0*inf), the rule a"),
    rewrite("?x / ?x", "1", name="div-self", when="?x != 0", tags=FAST, doc="inf/inf and nan/nan are nan, not 1"),
    # distribution and reordering: accuracy, overflow and signed zeros
    rewrite("?a * (?b - ?c)", "?a * ?b - ?a * ?c", name="distribute-sub", claim="real", tags=FAST,
            doc="a = 0, b = 0, c = 1 gives -0.0, the rule +0.0; b ~ c loses all digits"),
    rewrite("(?a - ?b) * ?c", "?a * ?c - ?b * ?c", name="distribute-sub-right", claim="real", tags=FAST,
            doc="a = b = 0, c = -0.0 gives -0.0, the rule +0.0; a ~ b loses all digits"),
    rewrite("?a * ?b / ?c", "?a / ?c * ?b", name="mul-div-swap", claim="real", tags=FAST,
            doc="a = 1, b = 0, c = 5e-324 gives 0, the rule (1/5e-324) * 0 = inf * 0 = nan"),
    rewrite("sum(?a - ?b, axis=?x, keepdims=?k)", "sum(?a, axis=?x, keepdims=?k) - sum(?b, axis=?x, keepdims=?k)",
            name="sum-sub", claim="real", tags=FAST, doc="a = b = [1e308, 1e308] gives 0, the rule inf - inf = nan"),
    # exp/log laws
    rewrite("exp(?a) * exp(?b)", "exp(?a + ?b)", name="exp-mul", claim="real", tags=FAST,
            doc="exp(fl(a + b)) is |a + b| ulps off: a = -252.5, b = -126.3 gives 64 ulps, NumPy 1"),
    rewrite("exp(?a) / exp(?b)", "exp(?a - ?b)", name="exp-div", claim="real", tags=FAST,
            doc="a = -750, b = -inf: NumPy 0/0 = nan, the rule inf (the exact limit; check-rules cannot establish it)"),
    rewrite("log(?a * ?b)", "log(?a) + log(?b)", name="log-mul", when=["?a > 0", "?b > 0"], tags=FAST,
            doc="a * b ~ 1 with large |log a|: the sum of logs cancels (relative error 1 where NumPy's is 4e-3)"),
    rewrite("log(?a / ?b)", "log(?a) - log(?b)", name="log-div", when=["?a > 0", "?b > 0"], tags=FAST,
            doc="a ~ b with large |log a|: the difference of logs cancels"),
    # stability forms that lose NumPy's nan or its accuracy
    rewrite("exp(?x) / (1 + exp(?x))", "sigmoid(?x)", name="sigmoid-def-exp", claim="real", tags=FAST,
            doc="x = inf gives inf/inf = nan, the rule 1"),
    rewrite("exp(?x) / (exp(?x) + 1)", "sigmoid(?x)", name="sigmoid-def-exp-r", claim="real", tags=FAST,
            doc="x = inf gives inf/inf = nan, the rule 1"),
    rewrite("-softplus(-?x)", "?x - softplus(?x)", name="log-sigmoid-alt", claim="real", tags=FAST,
            doc="cancels for x > 5 (relative error 1.3e-2 at x = 30, all digits at x = 700); nan at x = inf"),
    rewrite("log(exp(?x) / broadcast_to(sum(exp(?x), axis=?a, keepdims=?k), shape=?s))",
            "?x - broadcast_to(logsumexp(?x, axis=?a, keepdims=?k), shape=?s)",
            name="log-softmax", claim="real", tags=FAST,
            doc="x = [0, 33.5]: 33.5 - logsumexp(x) is 0.0, NumPy and the exact value -2.8e-15 (it cancels as x - softplus(x))"),
    # matrix chains: one order can overflow where the other does not
    rewrite("(?A @ ?B) @ ?C", "?A @ (?B @ ?C)", name="matmul-assoc", claim="real", when="matrix(?B)", tags=FAST,
            doc="A = [[1e-300]], B = C = [[1e200]]: NumPy 1e100, the rule 1e-300 * inf = inf"),
    rewrite("?A @ (?B @ ?C)", "(?A @ ?B) @ ?C", name="matmul-assoc-rev", claim="real", when="matrix(?B)", tags=FAST,
            doc="A = B = [[1e200]], C = [[1e-300]]: NumPy 1e100, the rule inf * 1e-300 = inf"),
    # BLAS fuses multiply and add: separately rounded products can give inf - inf where NumPy gives inf
    rewrite("trace(?A @ ?B)", "sum(?A * transpose(?B, axes=(1, 0)), axis=None, keepdims=False)",
            name="trace-matmul", claim="real", when=["square(?A)", "square(?B)"], tags=FAST,
            doc="A = [[M, M], [1, 1]], B = [[M, 1], [-M/2, 1]] (M the largest float): NumPy inf, the rule nan"),
    rewrite("diagonal(?A @ ?B)", "sum(?A * transpose(?B, axes=(1, 0)), axis=1, keepdims=False)",
            name="diagonal-matmul", claim="real", when=["square(?A)", "square(?B)"], tags=FAST,
            doc="A = [[M, M], [1, 1]], B = [[M, 1], [-M/2, 1]] (M the largest float): NumPy inf, the rule nan"),
]

fast_math = RuleSet("fast-math", RULES, tags={"fast-math"},
                    doc="equal over the reals, not IEEE-faithful: cancellation, distribution, log laws, matrix chains")
