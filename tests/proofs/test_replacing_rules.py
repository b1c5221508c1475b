"""Rules that replace their left side (``replaces=True``) are at least as accurate as NumPy's left side.

``check-rules`` judges them by the default policy (within ``rtol`` of the exact value, or no
farther than NumPy); a replacing rule promises more, since its left side can never be chosen
again: at every point where the exact value is finite, its right side is finite and no farther
from the exact value (mpmath) than NumPy's left side is, or may be (``accuracy.error_bound``),
plus 2 ulps for the rounding of a different evaluation. Non-finite inputs and signed zeros are
the policy's business (``check-rules``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from egraph_dsl.proofs.accuracy import error_bound
from egraph_dsl.proofs.check import check_rule, quick_check
from egraph_dsl.proofs.instantiate import build
from egraph_dsl.proofs.semantics import WIDE_EXP_LIMIT, MpMath, OutOfRangeError, UndefinedError, evaluate_real, to_real

from egraph_dsl import rulesets, term
from egraph_dsl.program import Program, evaluate
from egraph_dsl.rules import Rule, rewrite

MAGNITUDES = np.concatenate([np.logspace(-300, 308, 61),
                             [1e-8, 1e-3, 0.5, 1, 2, 10, 20, 36, 37, 40, 700, 709, 710, 745, 746, 800]])
GRID = np.concatenate([MAGNITUDES, -MAGNITUDES, [0.0]])
EXCESS_ULPS = 2.0
VECTORS = [np.array([a, b, c]) for a in (-800.0, -3.0, 0.0, 2.0, 650.0, 700.0, 710.0)
           for b in (-1.0, 1e-3, 699.3, 709.5) for c in (-745.0, 5.0, 690.1)]
SOFTMAX_ATTRS = {"a": None, "k": False, "s": (3,)}
REDUCTION_ATTRS = {"logsumexp-def": {"a": None, "k": False}, "softmax-stable": SOFTMAX_ATTRS,
                   "softmax-shift": SOFTMAX_ATTRS, "softmax-lse-shift": SOFTMAX_ATTRS}


def _points(rule: Rule) -> list[dict[str, np.ndarray]]:
    """Inputs, one point each: scalars for elementwise rules, 3-vectors for reductions."""
    names = sorted(rule.lhs.variables())
    if rule.name in REDUCTION_ATTRS:
        return [{"x": v} for v in VECTORS]
    if len(names) == 1:
        return [{names[0]: np.float64(v)} for v in GRID]
    if len(names) == 2:
        return [{names[0]: np.float64(a), names[1]: np.float64(b)} for a in GRID[::4] for b in GRID[::4]]
    return [dict(zip(names, map(np.float64, p), strict=True)) for p in itertools.product(GRID[::13], repeat=len(names))]


def excess_ulps(rule: Rule) -> tuple[float, int]:
    """The most ulps by which the right side is less accurate than NumPy's left side, and the points checked."""
    m = MpMath(exp_limit=WIDE_EXP_LIMIT)
    attrs = REDUCTION_ATTRS.get(rule.name, {})
    worst, checked = 0.0, 0
    for point in _points(rule):
        inputs = {k: term.input_(k, np.shape(v), "float64") for k, v in point.items()}
        lhs, rhs = build(rule.lhs, inputs, attrs), build(rule.rhs, inputs, attrs)
        with np.errstate(all="ignore"):
            left, right = (np.ravel(evaluate(Program(tuple(inputs.values()), (t,)), list(point.values()))[0])
                           for t in (lhs, rhs))
        env = {k: to_real(v, m) for k, v in point.items()}
        try:
            exact = np.ravel(np.asarray(evaluate_real(lhs, env, m).value, dtype=object))
            bound = np.ravel(np.broadcast_to(error_bound(lhs, env, m, "float64"), np.shape(exact)))
        except (OutOfRangeError, UndefinedError):
            continue
        for i, e in enumerate(exact):
            if not np.isfinite(float(e)):
                continue
            assert np.isfinite(right[i]), (rule.name, point, right[i])  # finite wherever the exact value is
            ulp = max(float(np.spacing(abs(float(e)))), 5e-324)
            err_right = float(abs(m.ctx.mpf(float(right[i])) - e)) / ulp
            err_left = float(abs(m.ctx.mpf(float(left[i])) - e)) / ulp if np.isfinite(left[i]) else np.inf
            allowed = max(err_left, float(bound[i]) / ulp)
            worst = max(worst, err_right - min(allowed, 1e300))
            checked += 1
    return worst, checked


@pytest.mark.parametrize("rule", [r for r in rulesets.stability.rules if r.replaces], ids=lambda r: r.name)
def test_a_replacing_rule_is_at_least_as_accurate_as_its_left_side(rule: Rule) -> None:
    worst, checked = excess_ulps(rule)
    assert checked > 10
    assert worst <= EXCESS_ULPS, f"{rule.name}: right side up to {worst:.1f} ulps less accurate than NumPy's left side"


def test_softmax_stable_does_not_replace_because_it_is_less_accurate() -> None:
    rule = rulesets.stability.rule("softmax-stable")
    worst, _ = excess_ulps(rule)
    assert not rule.replaces and worst > 50  # exp(x - logsumexp(x)) loses |x| ulps in the subtraction


def test_a_replacing_rule_cannot_be_judged_by_the_fast_math_policy() -> None:
    rule = rewrite("log(1 + ?x)", "log1p(?x) + 0", name="l1p", claim="real", replaces=True)
    for result in (check_rule(rule, fast_math=True), quick_check(rule, fast_math=True)):
        assert result.status == "error" and "fast-math" in result.error
    assert "[real, replaces]" in quick_check(rule).text()
