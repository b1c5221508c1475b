"""Pytest helpers for users' own suites: assert a ruleset is sound, or one test per rule.

    from egraph_dsl.proofs.testing import assert_rules_sound, parametrize_rules, assert_rule_sound

    def test_my_rules():
        assert_rules_sound(MY_RULESET)

    @parametrize_rules(MY_RULESET)
    def test_each(rule):
        assert_rule_sound(rule)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from egraph_dsl.registry import RuleSet
from egraph_dsl.rules import Rule

from .check import RulesetLike, check_rule, check_rules

F = TypeVar("F", bound=Callable[..., Any])


def assert_rules_sound(rulesets: RulesetLike | Sequence[RulesetLike], profile: str = "ci") -> None:
    """Fail with every counterexample if some rule of ``rulesets`` is unsound."""
    report = check_rules(rulesets, profile=profile)
    if not report.ok:
        raise AssertionError("unsound rules:\n" + "\n".join(r.text() for r in report.failures))


def assert_rule_sound(rule: Rule, profile: str = "ci") -> None:
    result = check_rule(rule, profile)
    if not result.ok:
        raise AssertionError(result.text())


def parametrize_rules(ruleset: RuleSet, argname: str = "rule") -> Callable[[F], F]:
    """``pytest.mark.parametrize`` over the rules of ``ruleset``, with rule names as ids."""
    import pytest

    mark: Callable[[F], F] = pytest.mark.parametrize(argname, list(ruleset.rules), ids=[r.name for r in ruleset.rules])
    return mark
