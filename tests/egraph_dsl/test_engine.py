"""The egglog bridge: bulk loading, limits, stop reasons, guards, scopes, the constant-conflict check."""

from __future__ import annotations

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl import term
from egraph_dsl.engine.egraph import EGraph
from egraph_dsl.errors import ConstantConflictError, LimitsError
from egraph_dsl.pipeline import optimize
from egraph_dsl.program import Program, evaluate


def test_deep_chain_loads_in_bulk() -> None:
    t = term.input_("x", (2,), "float64")
    for i in range(10_000):
        t = term.make("exp" if i % 2 else "neg", [t])
    eg = EGraph()
    eg.load([t])
    assert eg.size() == 10_001
    snap = eg.snapshot()
    assert snap.shapes[snap.handle_class[eg.handle(t)]] == (2,)


def test_hundred_thousand_nodes_load() -> None:
    xs = [term.input_(f"x{i}", (3,), "float64") for i in range(100)]
    terms = []
    for i in range(100_000):
        a, b = xs[i % 100], xs[(i * 7 + 1) % 100]
        terms.append(term.make("add", [a, term.make("mul", [b, term.const(float(i))])]))
    eg = EGraph()
    eg.load(terms)
    assert eg.size() >= 200_000


@pytest.mark.parametrize("bad", [{"nodes": 0}, {"iterations": -1}, {"seconds": 0.0}, {"nodes": 1.5}, {"speed": 3}])
def test_bad_limits(bad: dict[str, float]) -> None:
    with pytest.raises(LimitsError):
        ed.Limits.of(bad)


def _sum_program(n: int) -> Program:
    xs = [term.input_(f"x{i}", (4,), "float64") for i in range(n)]
    t = xs[0]
    for x in xs[1:]:
        t = term.make("add", [t, x])
    return Program(tuple(xs), (t,), "chain")


def test_exploding_ruleset_stops_at_the_limits_and_still_gives_a_valid_program() -> None:
    explode = ed.RuleSet("ac", [ed.rewrite("?a + ?b", "?b + ?a", name="comm"),
                                ed.rewrite("(?a + ?b) + ?c", "?a + (?b + ?c)", name="assoc", claim="real"),
                                ed.rewrite("?a + (?b + ?c)", "(?a + ?b) + ?c", name="assoc-rev", claim="real")])
    program = _sum_program(12)
    result = optimize(program, explode, limits={"nodes": 3000, "iterations": 50, "seconds": 20})
    (report,) = result.reports
    assert report.stop_reason in (ed.StopReason.NODE_LIMIT, ed.StopReason.ITERATION_LIMIT)
    assert report.nodes_after <= 3000  # each application is tried on a copy first: no overshoot
    args = [np.full(4, float(i)) for i in range(12)]
    np.testing.assert_allclose(evaluate(result.after, args)[0], evaluate(program, args)[0])
    quick = optimize(program, explode, limits={"nodes": 10**6, "iterations": 3, "seconds": 20})
    assert quick.reports[0].stop_reason is ed.StopReason.ITERATION_LIMIT


def test_saturation_is_reported() -> None:
    x = term.input_("x", (3,), "float64")
    program = Program((x,), (term.make("mul", [x, term.const(1.0)]),))
    result = optimize(program, ed.RuleSet("one", [ed.rewrite("?x * 1", "?x", name="mul-one")]))
    assert result.reports[0].stop_reason is ed.StopReason.SATURATED
    assert set(result.reports[0].fired) == {"mul-one"}
    assert result.after.outputs[0] is x


def test_constant_conflict_names_the_rule() -> None:
    bad = ed.RuleSet("bad", [ed.rewrite("?x * 0", "?x", name="times-zero-is-identity")])
    program = ed.trace(lambda x: x * 0.0 + 2.0 * 0.0 + (x + 3.0) * 0.0, np.ones(2))
    # after folding, 3.0 * 0.0 style products merge constants: 3.0 == 0.0 is a conflict
    program2 = Program(program.inputs, (term.make("add", [program.inputs[0],
                                                          term.make("mul", [term.const(3.0), term.const(0.0)])]),))
    eg = EGraph()
    eg.load(program2.outputs)
    with pytest.raises(ConstantConflictError, match="times-zero-is-identity"):
        eg.run(bad)


def test_guarded_rules_fire_only_where_the_guard_is_established() -> None:
    rules = ed.RuleSet("g", [ed.rewrite("?x / ?x", "1", name="div-self", when="?x != 0")])
    plain = optimize(ed.trace(lambda x: x / x, np.ones(3)), rules)
    assert plain.reports[0].fired == {}
    positive = optimize(ed.trace(lambda x: np.exp(x) / np.exp(x), np.ones(3)), rules)
    assert set(positive.reports[0].fired) == {"div-self"}
    np.testing.assert_array_equal(evaluate(positive.after, [np.zeros(3)])[0], np.ones(3))


def test_scoped_rules_do_not_fire_outside_the_scope() -> None:
    x = term.input_("x", (3,), "float64")
    inner = term.make("mul", [x, term.const(1.0)])
    outer = term.make("mul", [term.make("exp", [inner]), term.const(1.0)])
    eg = EGraph()
    eg.load([outer])
    scope = eg.new_scope([inner])
    eg.run(ed.RuleSet("one", [ed.rewrite("?x * 1", "?x", name="mul-one")]), scope=scope)
    snap = eg.snapshot()
    assert snap.handle_class[eg.handle(inner)] == snap.handle_class[eg.handle(x)]  # rewritten in scope
    assert snap.handle_class[eg.handle(outer)] != snap.handle_class[eg.handle(term.make("exp", [inner]))]
    unscoped = EGraph()
    unscoped.load([outer])
    unscoped.run(ed.RuleSet("one", [ed.rewrite("?x * 1", "?x", name="mul-one")]))
    snap = unscoped.snapshot()
    assert snap.handle_class[unscoped.handle(outer)] == snap.handle_class[unscoped.handle(term.make("exp", [inner]))]


def test_node_limit_holds_for_explosive_rulesets_on_a_real_model() -> None:
    """AC rules plus factoring blew past the limit in one application before trial runs."""
    from egraph_dsl.demo import log_posterior, make_data

    X, y, w = make_data(40, 3)
    program = ed.trace(log_posterior, X, y, w, 0.3)
    result = optimize(program, ["algebra", "reassociate", "stability", "linalg"],
                      limits={"nodes": 2000, "iterations": 40, "seconds": 30})
    (report,) = result.reports
    assert report.nodes_after <= 2000
    assert report.stop_reason in (ed.StopReason.NODE_LIMIT, ed.StopReason.SATURATED)
    args = [X, y, w, 0.3]
    np.testing.assert_allclose(evaluate(result.after, args)[0], evaluate(program, args)[0], rtol=1e-12)
