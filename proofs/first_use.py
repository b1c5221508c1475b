"""The quick check of user rules at first use: a wrong claim fails loudly before it changes results.

``jit``, ``optimize`` and ``Session.apply`` resolve their rulesets through
``egraph_dsl.facade.pipeline.resolve_rulesets``, which calls :func:`check_first_use` with the rulesets
selected. Every rule the library does not ship is checked once by check-rules' judge on a few
dozen fixed points (every edge value for elementwise rules, reproducible random arrays for the
others), well under a second per rule; a counterexample raises
:class:`~egraph_dsl.errors.UnsoundRuleError` naming the rule and the point. Rules that passed are
remembered by a hash of their record (and the judging policy) for the process, and in
``$EGRAPH_DSL_RULE_CACHE`` when that names a directory (nothing is written anywhere else).

Opt out per ruleset with ``register(ruleset, check_rules=False)``, or everywhere with the
environment variable ``EGRAPH_DSL_CHECK_RULES=0``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from egraph_dsl.errors import UnsoundRuleError
from egraph_dsl.registry import Registry, RuleSet
from egraph_dsl.rules import Rule

ENV_SWITCH = "EGRAPH_DSL_CHECK_RULES"
ENV_CACHE = "EGRAPH_DSL_RULE_CACHE"
POLICY_VERSION = 2  # bump when the judge changes, so cached passes are checked again
RANDOM_POINTS = {True: 8, False: 32}  # per rule: elementwise rules also get the edge-value sweep

_passed: set[str] = set()


def enabled() -> bool:
    """False when ``EGRAPH_DSL_CHECK_RULES`` is 0 / false / no / off."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def rule_key(rule: Rule, fast_math: bool) -> str:
    """A hash of everything the verdict depends on: the rule record and the policy it is judged by."""
    record = [POLICY_VERSION, rule.name, str(rule.lhs), str(rule.rhs), rule.claim.value,
              [str(g) for g in rule.when], repr(rule.rtol), fast_math]
    return hashlib.sha256(json.dumps(record).encode()).hexdigest()[:24]


def _shipped() -> frozenset[Rule]:
    from egraph_dsl import rulesets

    return rulesets.shipped_rules()


def _cache_dir() -> Path | None:
    where = os.environ.get(ENV_CACHE, "").strip()
    return Path(where).expanduser() if where else None


def _known_good(key: str) -> bool:
    if key in _passed:
        return True
    directory = _cache_dir()
    if directory is not None and (directory / f"{key}.passed").is_file():
        _passed.add(key)
        return True
    return False


def _remember(key: str) -> None:
    _passed.add(key)
    directory = _cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{key}.passed").write_text("passed check-rules at first use\n")
    except OSError:
        pass  # an unwritable cache only costs a re-check next time


def to_check(parts: Iterable[RuleSet], registry: Registry | None = None) -> list[tuple[RuleSet, Rule]]:
    """The (ruleset, rule) pairs a selection would check: not shipped, not opted out, not yet passed."""
    shipped = _shipped()
    out = []
    for rs in parts:
        registered = registry is not None and rs.name in registry and registry.get(rs.name) is rs
        if registered and registry is not None and not registry.checks_rules(rs.name):
            continue
        for rule in rs.rules:
            if rule in shipped:
                continue
            from .check import is_fast_math

            if not _known_good(rule_key(rule, is_fast_math(rule, rs.tags))):
                out.append((rs, rule))
    return out


def check_first_use(parts: Sequence[RuleSet], registry: Registry | None = None) -> None:
    """Check the user rules in ``parts`` (see the module docstring); raises UnsoundRuleError."""
    if not enabled():
        return
    pending = to_check(parts, registry)
    if not pending:
        return
    from .check import is_fast_math, quick_check

    for rs, rule in pending:
        fast = is_fast_math(rule, rs.tags)
        result = quick_check(rule, fast_math=fast, ruleset=rs.name,
                             random_points=RANDOM_POINTS[_elementwise(rule)])
        if result.status == "counterexample":
            raise UnsoundRuleError(
                f"rule {rule.name!r} of ruleset {rs.name!r} is unsound as claimed ({rule.claim.value}"
                f"{', fast-math' if fast else ''}): check-rules found a counterexample at first use.\n"
                f"{result.text()}\nFix the rule or its claim (tag it or its ruleset 'fast-math' if it only has to "
                "hold over the reals), or opt out: register(..., check_rules=False) or EGRAPH_DSL_CHECK_RULES=0."
            )
        if result.status == "passed":
            _remember(rule_key(rule, fast))
        else:  # untested, or a rule the checker cannot handle: not blocked, not checked again here
            _passed.add(rule_key(rule, fast))


def _elementwise(rule: Rule) -> bool:
    from .instantiate import elementwise

    return elementwise(rule)


def forget() -> None:
    """Drop the in-process memory of passed rules (the cache directory is left alone)."""
    _passed.clear()
