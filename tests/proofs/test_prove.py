"""z3 obligations: IEEE exactness, reals with axioms, re-checked counterexamples, explicit unknowns."""

from __future__ import annotations

from egraph_dsl.proofs.prove import prove_rule, rule_hash

from egraph_dsl.rules import rewrite


def test_exact_rule_is_proved_bit_precisely_at_float16_and_float32() -> None:
    proof = prove_rule(rewrite("-(-?x)", "?x", name="neg-neg"))
    assert proof.result == "proved"
    assert [ob.solver for ob in proof.obligations] == ["z3-float16", "z3-float32"]


def test_exact_refutation_is_confirmed_by_numpy() -> None:
    proof = prove_rule(rewrite("?x - 0", "?x", name="sub-zero-ok"))
    assert proof.result == "proved"  # x - 0 keeps -0 (unlike x + 0)
    bad = prove_rule(rewrite("?x + 0", "?x", name="add-zero"))
    assert bad.result == "refuted" and "-0.0" in bad.obligations[0].detail
    assert "confirmed by the NumPy backend" in bad.obligations[0].detail


def test_exact_claim_with_ops_outside_fp_theory_is_unknown() -> None:
    proof = prove_rule(rewrite("exp(?x) * 1", "exp(?x)", name="exp-mul-one"))
    assert proof.result == "unknown"
    assert "holds over the reals" in proof.obligations[0].detail and "exp" in proof.obligations[0].detail


def test_guards_are_hypotheses() -> None:
    assert prove_rule(rewrite("sqrt(?x) * sqrt(?x)", "?x", name="sq", when="?x >= 0")).result == "proved"
    assert prove_rule(rewrite("sqrt(?x) * sqrt(?x)", "?x", name="sq2", claim="real")).result == "proved"
    assert prove_rule(rewrite("sqrt(?x * ?x)", "?x", name="sq3", when="?x >= 0")).result == "proved"


def test_unconfirmed_model_is_unknown_not_refuted() -> None:
    # tanh is uninterpreted and unrelated to exp in the axioms, so z3 finds a model; mpmath disagrees
    rule = rewrite("tanh(?x)", "(exp(?x) - exp(-?x)) / (exp(?x) + exp(-?x))", name="tanh-def", claim="real")
    proof = prove_rule(rule)
    assert proof.result == "unknown"
    assert "not confirmed" in proof.obligations[0].detail


def test_reduction_rules_are_stated_on_small_arrays() -> None:
    rule = rewrite("sum(?x + ?y, axis=?a, keepdims=?k)",
                   "sum(?x, axis=?a, keepdims=?k) + sum(?y, axis=?a, keepdims=?k)", name="sum-add", claim="real")
    proof = prove_rule(rule)
    assert proof.result == "proved"
    assert any("[2,2]" in ob.shapes and "?a=(0,)" in ob.shapes for ob in proof.obligations)


def test_hash_tracks_the_rule_record() -> None:
    a = rewrite("?x * 1", "?x", name="r")
    assert rule_hash(a) == rule_hash(rewrite("?x * 1", "?x", name="r"))
    assert rule_hash(a) != rule_hash(rewrite("?x * 1", "?x", name="r", claim="real"))
    assert rule_hash(a) != rule_hash(rewrite("1 * ?x", "?x", name="r"))
