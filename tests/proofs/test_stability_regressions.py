"""Stability regressions are unsound: check-rules, first use and the CLI reject rules that lose accuracy.

The planted rules (``stability_regressions.py`` next to this file) are sound over the reals and
IEEE-plausible, but overflow, underflow to a wrong value or cancel where NumPy's left side is
finite and accurate. ``test_planted_bugs.py`` holds the rules that are wrong over the reals or
change nan/inf/signed zeros; this file is about accuracy alone. The reverse of every shipped
stability rule is a regression too (two are not, see below).
"""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from egraph_dsl.proofs import check_rules, first_use
from egraph_dsl.proofs.cases import Case
from egraph_dsl.proofs.check import Report, check_case, quick_check
from egraph_dsl.proofs.cli import check_rules_main

import egraph_dsl as ed
from egraph_dsl import rulesets
from egraph_dsl.errors import UnsoundRuleError
from egraph_dsl.registry import Registry, RuleSet, default_registry
from egraph_dsl.rules import Rule, rewrite

RULES_FILE = Path(__file__).with_name("stability_regressions.py")
_loaded = runpy.run_path(str(RULES_FILE))  # defines the rules; registers nothing
REGRESSIONS: RuleSet = _loaded["REGRESSIONS"]
PINNED: dict[str, list[tuple[dict[str, float], str]]] = _loaded["PINNED"]
NAMES = [r.name for r in REGRESSIONS.rules]

# 1 / (1 + exp(-x)) is accurate: below x = -709.78 it is 0 where sigmoid is subnormal, an error
# under the smallest normal number, which the policy allows (gradual underflow). exp(x - logsumexp(x))
# loses |x| ulps (2e-13 relative at x = 1000): less accurate, but within the default rtol (1e-12) and
# within the first-order error bound of the shifted form, which cannot see that its TwoSum is exact.
REVERSE_IS_ACCURATE = {"sigmoid-def", "sigmoid-def-r", "softmax-lse-shift"}


@pytest.fixture(autouse=True)
def _fresh_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(first_use, "_passed", set())
    monkeypatch.delenv(first_use.ENV_SWITCH, raising=False)
    monkeypatch.delenv(first_use.ENV_CACHE, raising=False)


@pytest.fixture(scope="module")
def report() -> Report:
    return check_rules([REGRESSIONS], profile="ci")


def test_every_planted_rule_has_a_pinned_point() -> None:
    assert sorted(PINNED) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_check_rules_rejects_it_and_names_the_input(report: Report, name: str) -> None:
    result = report.result(name)
    assert result.status == "counterexample", result.text()
    assert result.finding is not None
    text = result.text()
    for variable, _ in result.finding.case.arrays:
        assert f"?{variable} = np.array([float.fromhex(" in text  # the point, bit for bit
    assert "left " in text and "right " in text
    assert not report.ok


@pytest.mark.parametrize(("name", "inputs", "message"),
                         [(n, inputs, message) for n, points in PINNED.items() for inputs, message in points])
def test_it_loses_accuracy_at_its_pinned_point(name: str, inputs: dict[str, float], message: str) -> None:
    case = Case.of({k: np.asarray(v) for k, v in inputs.items()})
    checked, finding = check_case(REGRESSIONS.rule(name), case)
    assert checked and finding is not None, f"{name} passes at {inputs}"
    assert message in finding.message, finding.message
    assert "exact" in finding.message  # judged against the exact value, not only NumPy's


def test_a_looser_stated_bound_accepts_the_same_loss() -> None:
    """What is judged is the rule's own bound: 4e-9 relative is too much for rtol=1e-9, not for 1e-6."""
    ((inputs, _),) = PINNED["squares-expanded"]
    case = Case.of({k: np.asarray(v) for k, v in inputs.items()})
    loose = rewrite("(?x - 1) * (?x + 1)", "square(?x) - 1", name="squares-expanded", claim="real", rtol=1e-6)
    assert check_case(loose, case) == (True, None)
    assert check_case(REGRESSIONS.rule("squares-expanded"), case)[1] is not None


@pytest.mark.parametrize("name", NAMES)
def test_first_use_rejects_it(name: str) -> None:
    rule = REGRESSIONS.rule(name)
    reg = Registry()
    reg.register(RuleSet(f"mine-{name}", [rule]))
    with pytest.raises(UnsoundRuleError, match=rf"{name}.*counterexample at first use") as info:
        first_use.check_first_use(reg.parts([f"mine-{name}"]), reg)
    assert "float.fromhex(" in str(info.value)  # the point it failed at


def test_jit_rejects_a_regression_before_running() -> None:
    reg = Registry()
    reg.register(RuleSet("mine", [REGRESSIONS.rule("log1p-as-log")]))
    with pytest.raises(UnsoundRuleError, match="log1p-as-log"):
        ed.jit(np.log1p, rulesets=["mine"], registry=reg)(np.full(3, 1e-10))


@pytest.fixture
def registered_by_files() -> Iterator[None]:
    before = set(default_registry.names())
    yield
    for name in set(default_registry.names()) - before:
        default_registry.unregister(name)


def test_cli_check_rules_exits_nonzero(registered_by_files: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_rules_main(["--from", str(RULES_FILE), "--profile", "ci"]) == 1
    out = capsys.readouterr().out
    for name in NAMES:
        assert f"stability-regressions/{name} [real]: counterexample" in out, name
    assert f"{len(NAMES)} counterexample" in out


def _reversed(rule: Rule) -> Rule:
    return rewrite(str(rule.rhs), str(rule.lhs), name=f"{rule.name}-reversed", claim="real")


@pytest.mark.parametrize("rule", [r for r in rulesets.stability.rules if r.name not in REVERSE_IS_ACCURATE],
                         ids=lambda r: r.name)
def test_the_reverse_of_a_shipped_stability_rule_is_rejected(rule: Rule) -> None:
    result = quick_check(_reversed(rule), ruleset="reversed")
    assert result.status == "counterexample", result.text()


@pytest.mark.parametrize("name", sorted(REVERSE_IS_ACCURATE))
def test_reverses_that_are_not_regressions_pass(name: str) -> None:
    result = quick_check(_reversed(rulesets.stability.rule(name)), ruleset="reversed")
    assert result.status == "passed", result.text()

