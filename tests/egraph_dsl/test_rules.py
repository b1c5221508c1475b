"""Rule records, patterns and the registry: malformed input is rejected at declaration."""

from __future__ import annotations

import pytest

import egraph_dsl as ed
from egraph_dsl.errors import PatternError, RuleError, RulesetError
from egraph_dsl.pattern import Op, Var, parse
from egraph_dsl.rules import Claim, Fact


def test_text_and_python_patterns_agree() -> None:
    x = ed.var("x")
    assert parse("exp(?x) / sum(exp(?x))") == ed.op.exp(x) / ed.op.sum(ed.op.exp(x))
    p = parse("sum(?x, axis=?a, keepdims=True)")
    assert isinstance(p, Op) and p.attrs["keepdims"] is True and p.attr_variables() == {"a"}
    assert parse("log(_)").variables() == set()
    assert parse("?x.T") == ed.op.transpose(Var("x"))


@pytest.mark.parametrize("text", ["log(", "frobnicate(?x)", "exp(?x, ?y)", "sum(?x, axes=1)", "", "?x[0]"])
def test_bad_patterns(text: str) -> None:
    with pytest.raises(PatternError):
        parse(text)


def test_rule_claims_and_guards() -> None:
    r = ed.rewrite("?x / ?x", "1", name="div-self", when="?x != 0")
    assert r.claim is Claim.GUARDED and r.when[0].fact is Fact.NONZERO
    assert ed.rewrite("?a + ?b", "?b + ?a", name="c").claim is Claim.EXACT
    shape_only = ed.rewrite("?a @ ?b", "sum(?a * ?b, axis=None, keepdims=False)", name="d", claim="real",
                            when="vector(?a)")
    assert shape_only.claim is Claim.REAL


@pytest.mark.parametrize(("lhs", "rhs", "when", "message"), [
    ("?x * 1", "?y", (), "not bound on the left"),
    ("?x", "?x", (), "matches everything"),
    ("exp(?x)", "exp(?x, ?x)", (), "takes 1 argument"),
    ("sum(?x)", "sum(?x)", (), "needs attribute"),
    ("?x / ?x", "1", ("?y != 0",), "does not bind"),
    ("?x / ?x", "1", ("?x is odd",), "not understood"),
    ("?x + _", "_", (), "wildcard"),
])
def test_malformed_rules(lhs: str, rhs: str, when: tuple[str, ...], message: str) -> None:
    with pytest.raises((RuleError, PatternError), match=message):
        ed.rewrite(lhs, rhs, name="bad", when=list(when))


def test_registry_rejects_duplicates_and_unknown_names() -> None:
    reg = ed.Registry()
    mine = ed.RuleSet("mine", [ed.rewrite("?x * 1", "?x", name="m1")], tags={"custom", "fast"})
    other = ed.RuleSet("other", [ed.rewrite("?x - 0", "?x", name="s0")], tags={"custom"})
    reg.register(mine)
    reg.register(other)
    with pytest.raises(RulesetError, match="already registered"):
        reg.register(ed.RuleSet("mine", []))
    with pytest.raises(RulesetError, match="unknown ruleset 'nope'; registered: mine, other"):
        reg.get("nope")
    assert [r.name for r in reg.query(include=["fast"])] == ["m1"]
    assert [r.name for r in reg.query(include=["custom"], exclude=["fast"])] == ["s0"]
    assert len(mine + other) == 2
    with pytest.raises(RulesetError, match="two different rules"):
        ed.RuleSet("clash", [ed.rewrite("?x * 1", "?x", name="z"), ed.rewrite("?x - 0", "?x", name="z")])


def test_shipped_rulesets_are_registered() -> None:
    import rulesets  # noqa: F401

    for name in ("algebra", "stability", "linalg"):
        rs = ed.default_registry.get(name)
        assert len(rs) > 5 and name in rs.tags
