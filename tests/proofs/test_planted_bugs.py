"""Deliberately unsound rules must be caught: check-rules finds counterexamples, prove refutes."""

from __future__ import annotations

import pytest

from egraph_dsl.registry import Registry, RuleSet
from egraph_dsl.rules import rewrite
from proofs import check_rules, prove_rule

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
    rewrite("log(exp(?x))", "?x", name="log-exp", claim="real"),
    rewrite("exp(?a + ?b)", "exp(?a) * exp(?b)", name="exp-add", claim="real"),
    rewrite("?x / ?x", "1", name="div-self", when="?x != 0"),
    rewrite("transpose(?A @ ?B, axes=(1, 0))", "transpose(?B, axes=(1, 0)) @ transpose(?A, axes=(1, 0))",
            name="transpose-matmul", claim="real", when=["matrix(?A)", "matrix(?B)"]),
])


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry()
    reg.register(PLANTED)
    reg.register(SOUND)
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
