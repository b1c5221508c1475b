"""The quick check of user rules at first use: unsound rules fail loudly, once; shipped ones are trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from egraph_dsl.proofs import first_use

import egraph_dsl as ed
from egraph_dsl.errors import RulesetError, UnsoundRuleError

BAD = ed.rewrite("?x - ?x", "1", name="sub-self-one", claim="real")
GOOD = ed.rewrite("log(exp(?x) + 1)", "softplus(?x)", name="softplus-mine", claim="real")


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(first_use, "_passed", set())
    monkeypatch.delenv(first_use.ENV_SWITCH, raising=False)
    monkeypatch.delenv(first_use.ENV_CACHE, raising=False)


def registry(*sets: ed.RuleSet, check_rules: bool = True) -> ed.Registry:
    reg = ed.Registry()
    for rs in sets:
        reg.register(rs, check_rules=check_rules)
    return reg


def test_unsound_rule_raises_naming_the_rule_and_a_counterexample() -> None:
    reg = registry(ed.RuleSet("bad", [BAD]))
    with pytest.raises(UnsoundRuleError) as info:
        first_use.check_first_use(reg.parts(["bad"]), reg)
    text = str(info.value)
    assert "sub-self-one" in text and "'bad'" in text and "float.fromhex" in text and "check_rules=False" in text
    assert isinstance(info.value, RulesetError)


def test_an_unfaithful_rule_passes_when_tagged_fast_math() -> None:
    sub_self = ed.rewrite("?x - ?x", "0", name="sub-self-mine", claim="real")
    strict = registry(ed.RuleSet("mine", [sub_self]))
    with pytest.raises(UnsoundRuleError, match="nan-ness differs"):
        first_use.check_first_use(strict.parts(["mine"]), strict)
    relaxed = registry(ed.RuleSet("mine", [sub_self], tags={"fast-math"}))
    first_use.check_first_use(relaxed.parts(["mine"]), relaxed)


def test_passes_are_cached_by_rule_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    from egraph_dsl.proofs import check

    original = check.quick_check

    def counting(rule, **kw):  # type: ignore[no-untyped-def]
        calls.append(rule.name)
        return original(rule, **kw)

    monkeypatch.setattr(check, "quick_check", counting)
    reg = registry(ed.RuleSet("good", [GOOD]))
    first_use.check_first_use(reg.parts(["good"]), reg)
    first_use.check_first_use(reg.parts(["good"]), reg)
    assert calls == ["softplus-mine"]
    changed = ed.rewrite("log(exp(?x) + 1)", "softplus(?x)", name="softplus-mine", claim="real", rtol=1e-10)
    assert first_use.rule_key(changed, False) != first_use.rule_key(GOOD, False)
    assert first_use.rule_key(GOOD, True) != first_use.rule_key(GOOD, False)


def test_cache_directory_is_used_only_when_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    reg = registry(ed.RuleSet("good", [GOOD]))
    first_use.check_first_use(reg.parts(["good"]), reg)
    assert list(tmp_path.iterdir()) == []  # nothing written in the working directory
    cache = tmp_path / "cache"
    monkeypatch.setenv(first_use.ENV_CACHE, str(cache))
    first_use.forget()
    first_use.check_first_use(reg.parts(["good"]), reg)
    (stored,) = cache.iterdir()
    assert stored.name == f"{first_use.rule_key(GOOD, False)}.passed"
    first_use.forget()
    assert first_use.to_check(reg.parts(["good"]), reg) == []  # known from the cache directory


def test_opt_outs(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = registry(ed.RuleSet("bad", [BAD]), check_rules=False)
    first_use.check_first_use(reg.parts(["bad"]), reg)  # registered with check_rules=False
    loose = ed.RuleSet("loose", [BAD])  # not registered: checked, unless switched off
    with pytest.raises(UnsoundRuleError):
        first_use.check_first_use([loose], reg)
    monkeypatch.setenv(first_use.ENV_SWITCH, "0")
    first_use.check_first_use([loose], reg)


def test_shipped_rules_are_not_rechecked() -> None:
    from egraph_dsl import rulesets

    assert first_use.to_check(list(rulesets.SHIPPED), ed.default_registry) == []
    # a user ruleset that reuses a shipped rule does not check it again
    assert first_use.to_check([ed.RuleSet("reuse", [rulesets.stability.rules[0]])], None) == []


def test_jit_checks_user_rules_before_optimizing() -> None:
    reg = registry(ed.RuleSet("bad", [BAD]))
    with pytest.raises(UnsoundRuleError, match="sub-self-one"):
        ed.jit(lambda x: x - x, rulesets=["bad"], registry=reg)(np.ones(2))
    with pytest.raises(UnsoundRuleError):
        ed.Session(lambda x: x - x, np.ones(2), registry=reg).apply("bad")
