"""Deliberately unsound rules must be caught: check-rules finds counterexamples, prove refutes.

``UNFAITHFUL`` rules are sound over the reals (z3 proves them) but not in IEEE floats: the
default policy rejects them, the fast-math policy accepts them.
"""

from __future__ import annotations

import numpy as np
import pytest
from egraph_dsl.proofs import check_rules, prove_rule
from egraph_dsl.proofs.cases import Case
from egraph_dsl.proofs.check import check_case, check_rule

from egraph_dsl.registry import Registry, RuleSet
from egraph_dsl.rules import rewrite

PLANTED = RuleSet("planted", [
    rewrite("sqrt(?x * ?x)", "?x", name="sqrt-square-drops-abs", claim="real"),
    rewrite("?x / ?x", "1", name="div-self-unguarded", claim="exact"),
    rewrite("log(?x * ?y)", "log(?x) + log(?y)", name="log-mul-unguarded", claim="real"),
    rewrite("(?a + ?b) - ?b", "?a", name="add-sub-claimed-exact", claim="exact"),
    rewrite("transpose(?A @ ?B, axes=(1, 0))", "transpose(?A, axes=(1, 0)) @ transpose(?B, axes=(1, 0))",
            name="transpose-matmul-unswapped", claim="real", when=["matrix(?A)", "matrix(?B)"]),
    rewrite("?A @ ?B", "?B @ ?A", name="matmul-commutes", claim="real", when=["matrix(?A)", "matrix(?B)"]),
    rewrite("sum(?x, axis=?a, keepdims=?k)", "sum(?x, axis=None, keepdims=?k)", name="sum-drops-axis",
            claim="real"),
    rewrite("?x + 0", "?x", name="add-zero-claimed-exact", claim="exact"),
])

SOUND = RuleSet("sound", [
    rewrite("?x * 1", "?x", name="mul-one", claim="exact"),
    rewrite("?x + ?y", "?y + ?x", name="add-comm", claim="exact"),
    rewrite("log(exp(?x))", "?x + 0", name="log-exp", claim="real"),
    rewrite("sqrt(square(?x))", "abs(?x)", name="sqrt-square", claim="real"),
    rewrite("1 / (1 / ?x)", "?x", name="recip-recip", when="?x != 0"),
    rewrite("transpose(?A @ ?B, axes=(1, 0))", "transpose(?B, axes=(1, 0)) @ transpose(?A, axes=(1, 0))",
            name="transpose-matmul", claim="real", when=["matrix(?A)", "matrix(?B)"]),
])

# sound over the reals, not IEEE-faithful; each with a point where it breaks NumPy's result
UNFAITHFUL = RuleSet("unfaithful", [
    rewrite("-softplus(-?x)", "?x - softplus(?x)", name="log-sigmoid-alt", claim="real"),
    rewrite("?x - ?x", "0", name="sub-self", claim="real"),
    rewrite("?x + 0", "?x", name="add-zero", claim="real"),
    rewrite("log(exp(?x))", "?x", name="log-exp-signed-zero", claim="real"),
    rewrite("exp(?a + ?b)", "exp(?a) * exp(?b)", name="exp-add", claim="real"),
    rewrite("?x / ?x", "1", name="div-self", when="?x != 0"),
    rewrite("?a * (?b - ?c)", "?a * ?b - ?a * ?c", name="distribute-sub", claim="real"),
    rewrite("(?A @ ?B) @ ?C", "?A @ (?B @ ?C)", name="matmul-assoc", claim="real", when="matrix(?B)"),
])

BIG = float(np.finfo(np.float64).max)
UNFAITHFUL_AT = {  # rule -> (inputs, what the default policy reports)
    "log-sigmoid-alt": ({"x": 30.0}, "less accurate than NumPy"),  # relative error 1.3e-2
    "sub-self": ({"x": np.inf}, "nan-ness differs"),
    "add-zero": ({"x": -0.0}, "signed zeros differ"),
    "log-exp-signed-zero": ({"x": -0.0}, "signed zeros differ"),
    "exp-add": ({"a": 800.0, "b": -800.0}, "the right side is nan"),
    "div-self": ({"x": np.nan}, "nan-ness differs"),
    "distribute-sub": ({"a": 0.0, "b": 0.0, "c": 1.0}, "signed zeros differ"),
    "matmul-assoc": ({"A": [[1e-300]], "B": [[1e200]], "C": [[1e200]]}, "the right side is inf"),
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry()
    reg.register(PLANTED)
    reg.register(SOUND)
    reg.register(UNFAITHFUL)
    return reg


@pytest.fixture(scope="module")
def planted_report(registry: Registry):  # type: ignore[no-untyped-def]
    return check_rules(["planted"], profile="ci", registry=registry)


@pytest.mark.parametrize("name", [r.name for r in PLANTED.rules])
def test_check_rules_finds_a_counterexample(planted_report, name: str) -> None:  # type: ignore[no-untyped-def]
    result = planted_report.result(name)
    assert result.status == "counterexample", result.text()
    assert result.finding is not None and result.finding.message
    assert not planted_report.ok


def test_counterexamples_are_shrunk_and_exact(planted_report) -> None:  # type: ignore[no-untyped-def]
    finding = planted_report.result("div-self-unguarded").finding
    assert finding is not None
    (name, x), = finding.case.arrays
    assert name == "x" and x.shape == () and float(x) == 0.0  # hypothesis shrinks to x = 0
    text = finding.text()
    assert "float.fromhex(" in text and "nan" in text


def test_signed_zero_counterexample(planted_report) -> None:  # type: ignore[no-untyped-def]
    finding = planted_report.result("add-zero-claimed-exact").finding
    assert finding is not None and "-0x0.0p+0" in finding.text()


@pytest.mark.parametrize("name", [r.name for r in PLANTED.rules])
def test_prove_refutes(name: str) -> None:
    proof = prove_rule(PLANTED.rule(name), "planted", timeout_ms=5000)
    assert proof.result == "refuted", proof.text()
    refuting = [ob for ob in proof.obligations if ob.result == "refuted"]
    assert refuting and all(ob.detail for ob in refuting)
    assert all("confirmed" in ob.detail or ob.solver == "static" for ob in refuting)


def test_sound_rules_pass(registry: Registry) -> None:
    report = check_rules(["sound"], profile="ci", registry=registry)
    assert report.ok, str(report)
    assert all(r.status == "passed" and r.checked > 0 for r in report.results)


@pytest.mark.parametrize("name", [r.name for r in SOUND.rules])
def test_sound_rules_are_proved(name: str) -> None:
    proof = prove_rule(SOUND.rule(name), "sound", timeout_ms=5000)
    assert proof.result == "proved", proof.text()


@pytest.mark.parametrize("name", sorted(UNFAITHFUL_AT))
def test_unfaithful_rule_fails_at_its_pinned_point(name: str) -> None:
    inputs, message = UNFAITHFUL_AT[name]
    rule = UNFAITHFUL.rule(name)
    case = Case.of({k: np.asarray(v) for k, v in inputs.items()})
    checked, finding = check_case(rule, case)
    assert checked and finding is not None and message in finding.message, finding
    assert check_case(rule, case, fast_math=True)[1] is None  # fast-math accepts it


@pytest.mark.parametrize("name", ["log-sigmoid-alt", "sub-self", "add-zero", "div-self"])
def test_check_rules_rejects_unfaithful_rules(registry: Registry, name: str) -> None:
    result = check_rules(["unfaithful"], profile="ci", registry=registry).result(name)
    assert result.status == "counterexample", result.text()


def test_log_sigmoid_alt_fails_where_the_issue_saw_it() -> None:
    rule = UNFAITHFUL.rule("log-sigmoid-alt")
    for x, message in ((np.inf, "nan-ness differs"), (700.0, "less accurate"), (30.0, "less accurate")):
        _, finding = check_case(rule, Case.of({"x": np.array(x)}))
        assert finding is not None and message in finding.message
    assert check_case(rule, Case.of({"x": np.array(3.0)}))[1] is None  # no cancellation yet
    assert check_rule(rule, "ci").status == "counterexample"
    assert check_rule(rule, "ci", fast_math=True).status == "passed"


@pytest.mark.parametrize("name", [r.name for r in UNFAITHFUL.rules])
def test_unfaithful_rules_are_proved_over_the_reals(name: str) -> None:
    proof = prove_rule(UNFAITHFUL.rule(name), "unfaithful", timeout_ms=5000)
    assert proof.result in ("proved", "unknown"), proof.text()
