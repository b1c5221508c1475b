"""check-rules over every shipped rule (profile ci): the rules ``make test`` trusts."""

from __future__ import annotations

import pytest

import rulesets  # noqa: F401  (registers the shipped rulesets)
from egraph_dsl.registry import default_registry
from proofs.check import check_rule

# found by this suite and fixed in the rulesets (kept as a record): trace-matmul and
# diagonal-matmul first matched non-square products, where the right side is ill-typed
KNOWN_UNSOUND: dict[str, str] = {}

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
