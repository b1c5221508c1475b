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
    from egraph_dsl import rulesets

    rulesets.register_shipped(ed.default_registry)

    for name in ("algebra", "stability", "linalg"):
        rs = ed.default_registry.get(name)
        assert len(rs) >= 5 and name in rs.tags and "fast-math" not in rs.tags
    assert "fast-math" in ed.default_registry.get("fast-math").tags


@pytest.mark.parametrize("name", [123, "", "../x", "tag:x", "a b", "1st", None])
def test_ruleset_names_are_validated(name: object) -> None:
    reg = ed.Registry()
    with pytest.raises(RulesetError, match=r"ruleset name|not a valid ruleset name"):
        reg.register(ed.RuleSet(name, []))  # type: ignore[arg-type]
    with pytest.raises(RulesetError):
        reg.get(name)  # type: ignore[arg-type]
    assert reg.names() == []


def test_misspelt_tag_is_an_error_naming_the_known_tags() -> None:
    reg = ed.Registry()
    reg.register(ed.RuleSet("mine", [ed.rewrite("?x * 1", "?x", name="m1")], tags={"stability"}))
    with pytest.raises(RulesetError, match=r"unknown tag.*'stabilty'.*known tags: stability"):
        reg.resolve("tag:stabilty")
    with pytest.raises(RulesetError, match="names no tag"):
        reg.resolve("tag:")
    with pytest.raises(RulesetError, match="unknown tag"):
        reg.query(require=["nope"])
    assert [r.name for r in reg.resolve("tag:stability")] == ["m1"]
    assert reg.query(exclude=["nope"]).name == "mine"  # excluding what nothing has is harmless
    with pytest.raises(RulesetError, match="tags must be a collection"):
        ed.RuleSet("t", [], tags="stability")
    with pytest.raises(RulesetError, match="is not a tag"):
        ed.RuleSet("t", [], tags={"a b"})


def test_misspelt_tag_fails_in_jit() -> None:
    import numpy as np

    with pytest.raises(RulesetError, match=r"unknown tag.*known tags: .*stability"):
        ed.jit(lambda x: x + 1, rulesets="tag:stabilty")(np.ones(2))


def test_register_records_the_check_rules_opt_out() -> None:
    reg = ed.Registry()
    checked = ed.RuleSet("checked", [ed.rewrite("?x * 1", "?x", name="m1")])
    unchecked = ed.RuleSet("unchecked", [ed.rewrite("?x * 1", "?x", name="m2")])
    ed.register(checked, registry=reg)
    ed.register(unchecked, registry=reg, check_rules=False)
    assert reg.checks_rules("checked") and not reg.checks_rules("unchecked")
    reg.register(unchecked, replace=True)  # a new registration decides again
    assert reg.checks_rules("unchecked")
    assert [p.name for p in reg.parts(["checked", unchecked])] == ["checked", "unchecked"]
    assert reg.resolve([]).name == "empty"


def test_replacing_rules_are_recorded_and_shown() -> None:
    r = ed.rewrite("log(sigmoid(?x))", "0 - softplus(-?x)", name="ls", claim="real", replaces=True)
    assert r.replaces and str(r).endswith("[real, replaces]")
    plain = ed.rewrite("log(sigmoid(?x))", "0 - softplus(-?x)", name="ls", claim="real")
    assert not plain.replaces and str(plain).endswith("[real]")
    assert ed.rewrite("-(-?x)", "?x", name="nn", replaces=True).replaces  # exact rules may replace


@pytest.mark.parametrize("kwargs, message", [
    ({"claim": "approx", "replaces": True}, "approx rule cannot replace"),
    ({"claim": "real", "tags": {"fast-math"}, "replaces": True}, "fast-math rule cannot replace"),
    ({"claim": "real", "replaces": "yes"}, "replaces= must be True or False"),
])
def test_replacing_needs_an_accurate_claim(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        ed.rewrite("log(1 + ?x)", "log1p(?x) + 0", name="l1p", **kwargs)  # type: ignore[arg-type]


def test_which_stability_rules_replace() -> None:
    from egraph_dsl import rulesets

    keeps = {r.name for r in rulesets.stability.rules if not r.replaces}
    assert keeps == {"softmax-stable"}  # exp(x - logsumexp(x)) is ~100 ulps off where the left side is not
    for rs in (rulesets.algebra, rulesets.linalg, rulesets.fast_math, rulesets.reassociate):
        assert not any(r.replaces for r in rs.rules), rs.name


def test_importing_the_rulesets_registers_nothing_and_the_facade_registers_them() -> None:
    """No import side effect: a fresh process sees an empty default registry after importing the
    shipped libraries, and the shipped ones once the façade resolves a selection."""
    import subprocess
    import sys

    code = ("import egraph_dsl as ed, egraph_dsl.rulesets\n"
            "print(ed.default_registry.names())\n"
            "from egraph_dsl.facade.pipeline import resolve_rulesets\n"
            "print(resolve_rulesets(None).name)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "algebra+stability+linalg"]


def test_a_ruleset_tagged_default_joins_the_default_selection() -> None:
    from egraph_dsl import rulesets
    from egraph_dsl.facade.pipeline import resolve_rulesets

    reg = rulesets.register_shipped(ed.Registry())
    assert resolve_rulesets(None, reg).name == "algebra+stability+linalg"
    reg.register(ed.RuleSet("mine", [ed.rewrite("?x * 1", "?x", name="mul-one-mine")], tags={"default"}))
    chosen = resolve_rulesets(None, reg)
    assert chosen.name == "algebra+stability+linalg+mine" and "mul-one-mine" in {r.name for r in chosen.rules}
    assert rulesets.register_shipped(reg) is reg and reg.names().count("algebra") == 1  # idempotent
