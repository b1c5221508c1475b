"""check_case / check_rule: the policy per claim, pinned regressions, reproducible output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings

from egraph_dsl.rules import Fact, rewrite
from proofs.cases import Case, apply_guard, cases
from proofs.check import check_case, check_rule, exact_repr
from proofs.instantiate import templates

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
@given(cases(DIV_SELF, templates(DIV_SELF)))
@example(Case.of({"x": np.array(5e-324)}))
@example(Case.of({"x": np.array([1e308, -1e-308])}))
def test_guarded_rule_holds_where_its_guard_does(case: Case) -> None:
    assert all(np.all(a != 0) for _, a in case.arrays)
    _, finding = check_case(DIV_SELF, case)
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


def test_overflowing_intermediates_skip_the_float_comparison() -> None:
    # exp(800) * exp(-800) overflows in floats; over the reals the rule holds: not a counterexample
    checked, finding = check_case(EXP_ADD, Case.of({"a": np.array(800.0), "b": np.array(-800.0)}))
    assert checked and finding is None


def test_cancellation_is_judged_against_the_operands() -> None:
    rule = rewrite("(?a + ?b) - ?b", "?a", name="cancel", claim="real")
    checked, finding = check_case(rule, Case.of({"a": np.array(1e-20), "b": np.array(1.0)}))
    assert checked and finding is None


def test_inaccurate_right_side_is_a_counterexample() -> None:
    # exp(0.5 * log(x)) loses |log x| ulps: beyond rtol at x = 1e300 (no cancellation to excuse it)
    rule = rewrite("sqrt(?x)", "exp(0.5 * log(?x))", name="sqrt-via-exp", claim="real", rtol=1e-15)
    _, finding = check_case(rule, Case.of({"x": np.array(1e300)}))
    assert finding is not None and "float result of the right side" in finding.message


def test_right_side_undefined_is_a_counterexample() -> None:
    rule = rewrite("log(?x * ?y)", "log(?x) + log(?y)", name="log-mul", claim="real")
    _, finding = check_case(rule, Case.of({"x": np.array(-2.0), "y": np.array(-3.0)}))
    assert finding is not None and "right side is not" in finding.message


def test_left_side_undefined_is_out_of_scope() -> None:
    checked, finding = check_case(SQRT_SQ, Case.of({"x": np.array(np.nan)}))
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


def test_check_rule_reports_untested_when_nothing_is_in_scope() -> None:
    rule = rewrite("log(?x - ?x)", "0", name="log-zero", claim="real")  # log(0) is never defined
    result = check_rule(rule, "dev")
    assert result.status == "untested" and result.ok and result.checked == 0


def test_profiles_set_the_number_of_examples() -> None:
    assert check_rule(MUL_ONE, "dev").examples < check_rule(MUL_ONE, "ci").examples
    with pytest.raises(ValueError, match="unknown profile"):
        check_rule(MUL_ONE, "nope")
