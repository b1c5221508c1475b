"""check_case / check_rule / quick_check: the policy per claim, pinned regressions, reproducible output."""

from __future__ import annotations

import numpy as np
import pytest
from egraph_dsl.proofs.cases import Case, apply_guard, cases, edge_values, sweep_cases
from egraph_dsl.proofs.check import check_case, check_rule, exact_repr, is_fast_math, quick_check
from egraph_dsl.proofs.instantiate import templates
from hypothesis import example, given, settings

from egraph_dsl.rules import Fact, rewrite

MUL_ONE = rewrite("?x * 1", "?x", name="mul-one")
ADD_ZERO = rewrite("?x + 0", "?x", name="add-zero-exact")
EXP_ADD = rewrite("exp(?a + ?b)", "exp(?a) * exp(?b)", name="exp-add", claim="real")
SQRT_SQ = rewrite("sqrt(?x * ?x)", "?x", name="sqrt-sq", claim="real")
DIV_SELF = rewrite("?x / ?x", "1", name="div-self", when="?x != 0")


@settings(max_examples=40, deadline=None, database=None)
@given(cases(MUL_ONE, templates(MUL_ONE)))
@example(Case.of({"x": np.array(-0.0)}))
@example(Case.of({"x": np.array(np.nan)}))
@example(Case.of({"x": np.array([5e-324, -np.inf], dtype=np.float32)}))
def test_mul_one_is_bit_exact(case: Case) -> None:
    checked, finding = check_case(MUL_ONE, case)
    assert checked and finding is None


@settings(max_examples=40, deadline=None, database=None)
@given(cases(DIV_SELF, templates(DIV_SELF), fast_math=True))
@example(Case.of({"x": np.array(5e-324)}))
@example(Case.of({"x": np.array([1e308, -1e-308])}))
def test_guarded_rule_holds_where_its_guard_does(case: Case) -> None:
    # x / x -> 1 if x != 0 holds over the reals (fast-math), not for x = inf or nan (which != 0 allows)
    assert all(np.all(a != 0) for _, a in case.arrays)
    _, finding = check_case(DIV_SELF, case, fast_math=True)
    assert finding is None


RECIP = rewrite("1 / (1 / ?x)", "?x", name="recip-recip", when="?x != 0")


@settings(max_examples=40, deadline=None, database=None)
@given(cases(RECIP, templates(RECIP)))
@example(Case.of({"x": np.array([np.nan, np.inf, -np.inf, 5e-324])}))
def test_guarded_rule_holds_in_ieee_floats_where_its_guard_does(case: Case) -> None:
    assert all(np.all(a != 0) for _, a in case.arrays)
    _, finding = check_case(RECIP, case)
    assert finding is None


# recurring counterexamples, pinned: each must keep being reported
@pytest.mark.parametrize(("rule", "case", "message"), [
    (ADD_ZERO, Case.of({"x": np.array(-0.0)}), "not bit-identical"),
    (SQRT_SQ, Case.of({"x": np.array(-1.0)}), "over the reals"),
    (rewrite("?x / ?x", "1", name="div-self-exact"), Case.of({"x": np.array(0.0, np.float32)}), "nan"),
    (rewrite("(?a + ?b) - ?b", "?a", name="cancel-exact"),
     Case.of({"a": np.array(1e-20), "b": np.array(1.0)}), "not bit-identical"),
])
def test_pinned_counterexamples(rule, case: Case, message: str) -> None:  # type: ignore[no-untyped-def]
    checked, finding = check_case(rule, case)
    assert checked and finding is not None and message in finding.message


def test_fast_math_skips_the_float_comparison_where_an_intermediate_overflows() -> None:
    # exp(800) * exp(-800) overflows in floats; over the reals the rule holds: fine for fast-math
    checked, finding = check_case(EXP_ADD, Case.of({"a": np.array(800.0), "b": np.array(-800.0)}), fast_math=True)
    assert checked and finding is None


def test_default_policy_rejects_a_rule_that_overflows_where_numpy_does_not() -> None:
    # NumPy's exp(0) is 1; the rule's inf * 0 is nan
    _, finding = check_case(EXP_ADD, Case.of({"a": np.array(800.0), "b": np.array(-800.0)}))
    assert finding is not None and "the right side is nan (nan) where NumPy is not" in finding.message


def test_default_policy_accepts_the_accurate_value_where_numpy_overflows() -> None:
    # log(1 + exp(1000)) is inf in NumPy; softplus(1000) = 1000 is the exact value
    rule = rewrite("log(1 + exp(?x))", "softplus(?x)", name="softplus-def", claim="real")
    for x in (1000.0, 1e308, -1000.0):
        checked, finding = check_case(rule, Case.of({"x": np.array(x)}))
        assert checked and finding is None, finding


def test_default_policy_keeps_numpys_nan_and_infinities_at_special_inputs() -> None:
    sub_self = rewrite("?x - ?x", "0", name="sub-self", claim="real")
    for x in (np.nan, np.inf, -np.inf):
        _, finding = check_case(sub_self, Case.of({"x": np.array([1.0, x])}))
        assert finding is not None and "nan-ness differs" in finding.message
        assert finding.case.arrays[0][1].shape == ()  # narrowed to the element that failed
    sigmoid_exp = rewrite("exp(?x) / (1 + exp(?x))", "sigmoid(?x)", name="sigmoid-def-exp", claim="real")
    _, finding = check_case(sigmoid_exp, Case.of({"x": np.array(np.inf)}))
    assert finding is not None and "nan-ness differs" in finding.message  # NumPy: inf / inf


def test_default_policy_allows_the_exact_limit_where_numpy_underflows_next_to_an_infinity() -> None:
    # float32: exp(-104) underflows, so NumPy's log(exp(-inf) + exp(-104)) is log(0) = -inf; the exact
    # value over the extended reals is -104, which logaddexp returns
    rule = rewrite("log(exp(?a) + exp(?b))", "logaddexp(?a, ?b)", name="logaddexp-def", claim="real")
    case = Case.of({"a": np.array(-np.inf, np.float32), "b": np.array(-104.0, np.float32)})
    checked, finding = check_case(rule, case)
    assert checked and finding is None
    # an indeterminate form (inf - inf) must stay nan
    bad = rewrite("log(exp(?a) + exp(?b))", "?a", name="drops-b", claim="real")
    assert check_case(bad, Case.of({"a": np.array(np.inf), "b": np.array(1.0)}))[1] is None
    assert check_case(bad, Case.of({"a": np.array(-np.inf), "b": np.array(1.0)}))[1] is not None


@pytest.mark.parametrize(("x", "ok"), [(-0.0, False), (0.0, True), (800.0, True)])
def test_signed_zeros(x: float, ok: bool) -> None:
    # log1p(-0.0) is -0.0 where NumPy's log(1 + -0.0) is +0.0; at x = 800, -0.0 is the sign of the exact value
    log1p = rewrite("log(1 + ?x)", "log1p(?x)", name="log1p-def", claim="real")
    _, finding = check_case(log1p, Case.of({"x": np.array(x)}))
    assert (finding is None) is ok, finding
    log_sigmoid = rewrite("log(sigmoid(?x))", "-softplus(-?x)", name="log-sigmoid-neg", claim="real")
    assert check_case(log_sigmoid, Case.of({"x": np.array(800.0)}))[1] is None  # NumPy +0.0, exact -1e-348
    assert check_case(log_sigmoid, Case.of({"x": np.array(np.inf)}))[1] is not None  # NumPy +0.0 = log(1)


def test_cancellation_is_judged_against_the_operands() -> None:
    rule = rewrite("(?a + ?b) - ?b", "?a", name="cancel", claim="real")
    checked, finding = check_case(rule, Case.of({"a": np.array(1e-20), "b": np.array(1.0)}))
    assert checked and finding is None


def test_inaccurate_right_side_is_a_counterexample() -> None:
    # exp(0.5 * log(x)) loses |log x| ulps: beyond rtol at x = 1e300 (no cancellation to excuse it)
    rule = rewrite("sqrt(?x)", "exp(0.5 * log(?x))", name="sqrt-via-exp", claim="real", rtol=1e-15)
    _, finding = check_case(rule, Case.of({"x": np.array(1e300)}))
    assert finding is not None and "less accurate than NumPy" in finding.message
    _, finding = check_case(rule, Case.of({"x": np.array(1e300)}), fast_math=True)
    assert finding is not None and "float result of the right side" in finding.message


def test_cancellation_the_left_side_does_not_have_is_a_counterexample() -> None:
    # the issue's log-sigmoid-alt: at x = 30 the right side cancels (relative error 1.3e-2), NumPy's
    # -softplus(-30) is accurate; fast-math judges it against the magnitudes that cancelled
    rule = rewrite("-softplus(-?x)", "?x - softplus(?x)", name="log-sigmoid-alt", claim="real")
    _, finding = check_case(rule, Case.of({"x": np.array(30.0)}))
    assert finding is not None and "less accurate than NumPy" in finding.message
    assert check_case(rule, Case.of({"x": np.array(30.0)}), fast_math=True)[1] is None


def test_right_side_undefined_is_a_counterexample() -> None:
    rule = rewrite("log(?x * ?y)", "log(?x) + log(?y)", name="log-mul", claim="real")
    _, finding = check_case(rule, Case.of({"x": np.array(-2.0), "y": np.array(-3.0)}))
    assert finding is not None and "right side is not" in finding.message


def test_left_side_undefined_is_out_of_scope() -> None:
    checked, finding = check_case(SQRT_SQ, Case.of({"x": np.array(np.nan)}))
    assert finding is None and checked  # nan in, nan out: judged by NumPy's IEEE value
    checked, finding = check_case(SQRT_SQ, Case.of({"x": np.array(np.nan)}), fast_math=True)
    assert finding is None and not checked
    rule = rewrite("log(?x * ?y)", "log(?x) + log(?y)", name="log-mul", claim="real")
    checked, finding = check_case(rule, Case.of({"x": np.array(-2.0), "y": np.array(3.0)}))
    assert finding is None and not checked


def test_exact_repr_rebuilds_bits() -> None:
    a = np.array([[-0.0, np.nan], [5e-324, 1 / 3]], dtype=np.float64)
    rebuilt = eval(exact_repr(a).split("  #")[0], {"np": np})
    assert rebuilt.dtype == a.dtype and rebuilt.shape == a.shape
    assert np.array_equal(rebuilt.view(np.uint64), a.view(np.uint64))


@pytest.mark.parametrize("fact", [Fact.POSITIVE, Fact.NONNEGATIVE, Fact.NONZERO, Fact.FINITE])
def test_apply_guard(fact: Fact) -> None:
    a = apply_guard(np.array([0.0, -0.0, -2.0, np.nan, np.inf], np.float32), fact)
    assert a.dtype == np.float32
    holds = {Fact.POSITIVE: a > 0, Fact.NONNEGATIVE: a >= 0, Fact.NONZERO: a != 0, Fact.FINITE: np.isfinite(a)}
    assert np.all(holds[fact])


@pytest.mark.parametrize("fact", [Fact.POSITIVE, Fact.NONNEGATIVE, Fact.NONZERO])
def test_apply_guard_in_ieee_floats_keeps_nan_and_inf(fact: Fact) -> None:
    # the engine's facts hold in IEEE floats: nan is allowed, -0.0 is not nonnegative
    a = apply_guard(np.array([0.0, -0.0, -2.0, np.nan, np.inf]), fact, ieee=True)
    assert np.isnan(a[3]) and a[4] == np.inf
    numbers = a[~np.isnan(a)]
    holds = {Fact.POSITIVE: numbers > 0, Fact.NONNEGATIVE: (numbers >= 0) & ~np.signbit(numbers),
             Fact.NONZERO: numbers != 0}
    assert np.all(holds[fact])


def test_edge_values_include_the_issue_points() -> None:
    values = edge_values("float64")
    for v in (0.0, np.inf, -np.inf, 1e308, 1e-300, 5.0, 30.0, 35.0, 750.0):
        assert v in values
    assert any(np.isnan(v) for v in values) and any(v == 0 and np.signbit(v) for v in values)


def test_sweep_covers_every_edge_value_for_elementwise_rules() -> None:
    rule = rewrite("log(1 + exp(?x))", "softplus(?x)", name="softplus-def", claim="real")
    sweeps = sweep_cases(rule, templates(rule))
    assert [str(c.args["x"].dtype) for c in sweeps] == ["float64", "float32"]
    assert np.array_equal(sweeps[0].args["x"], np.asarray(edge_values("float64")), equal_nan=True)
    assert sweep_cases(rule, templates(rule), fast_math=True)[0].args["x"].size < sweeps[0].args["x"].size
    matmul = rewrite("transpose(transpose(?A, axes=(1, 0)), axes=(1, 0))", "?A", name="tt")
    assert sweep_cases(matmul, templates(matmul)) == []


def test_quick_check_finds_the_issue_rules_and_passes_sound_ones() -> None:
    bad = quick_check(rewrite("-softplus(-?x)", "?x - softplus(?x)", name="alt", claim="real"))
    assert bad.status == "counterexample" and bad.finding is not None
    wrong = quick_check(rewrite("?x - ?x", "1", name="one", claim="real"))
    assert wrong.status == "counterexample" and "over the reals" in wrong.text()
    good = quick_check(rewrite("log(exp(?x) + 1)", "softplus(?x)", name="sp", claim="real"))
    assert good.status == "passed" and good.checked > 20


def test_fast_math_is_a_tag_of_the_rule_or_its_ruleset() -> None:
    tagged = rewrite("?x - ?x", "0", name="sub-self", claim="real", tags=["fast-math"])
    assert is_fast_math(tagged) and not is_fast_math(MUL_ONE) and is_fast_math(MUL_ONE, {"fast-math"})
    assert check_rule(tagged, "dev").status == "passed"
    assert check_rule(tagged, "dev", fast_math=False).status == "counterexample"


def test_check_rule_reports_untested_when_nothing_is_in_scope() -> None:
    rule = rewrite("log(?x - ?x)", "0", name="log-zero", claim="real")  # log(0) is never defined
    result = check_rule(rule, "dev", fast_math=True)  # finite inputs only
    assert result.status == "untested" and result.ok and result.checked == 0
    assert check_rule(rule, "dev").status == "counterexample"  # log(nan - nan) is nan, not 0


def test_profiles_set_the_number_of_examples() -> None:
    assert check_rule(MUL_ONE, "dev").examples < check_rule(MUL_ONE, "ci").examples
    with pytest.raises(ValueError, match="unknown profile"):
        check_rule(MUL_ONE, "nope")
