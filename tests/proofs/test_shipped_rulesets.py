"""check-rules over every shipped rule (profile ci): the rules ``make test`` trusts."""

from __future__ import annotations

import pytest

import rulesets  # noqa: F401  (registers the shipped rulesets)
from egraph_dsl.registry import default_registry
from proofs.check import check_rule

# found by this suite and reported to the rulesets' owner; strict, so a fix flips them to failures
KNOWN_UNSOUND = {
    "linalg/trace-matmul": "matches a 1-D @ 3-D stack, where transpose(?B, axes=(1, 0)) is ill-typed; "
                           "needs when=['matrix(?A)', 'matrix(?B)']",
    "linalg/diagonal-matmul": "same as trace-matmul",
}

RULES = [(rs.name, rule) for rs in default_registry for rule in rs.rules]


@pytest.mark.parametrize(("ruleset", "rule"), [
    pytest.param(name, rule, id=f"{name}/{rule.name}",
                 marks=[pytest.mark.xfail(strict=True, reason=KNOWN_UNSOUND[f"{name}/{rule.name}"])]
                 if f"{name}/{rule.name}" in KNOWN_UNSOUND else [])
    for name, rule in RULES
])
def test_shipped_rule_is_sound(ruleset: str, rule) -> None:  # type: ignore[no-untyped-def]
    result = check_rule(rule, "ci", ruleset)
    assert result.ok, result.text()
