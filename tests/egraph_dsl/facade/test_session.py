"""Session: scoped apply, reports, extraction, alternatives, undo/redo, explain, compile, errors."""

from __future__ import annotations

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.errors import HistoryError, PatternError, RulesetError, ScopeError, SignatureError
from egraph_dsl.facade.session import Session

SOFTPLUS = ed.rewrite("log(1 + exp(?x))", "softplus(?x)", name="softplus-def", claim="real")
COMM = ed.rewrite("?a * ?b", "?b * ?a", name="mul-comm")


def two_softplus(x, y):
    return np.log(1 + np.exp(x)) * np.log(1 + np.exp(y))


def reactivity(X, y, w, b):
    z = X @ w + b
    p = 1 / (1 + np.exp(-z))
    return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) - 0.5 * np.sum(w * w)


def data(n=20, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, k)), (rng.random(n) > 0.5).astype(float), rng.normal(size=k), 0.3


@pytest.fixture
def two():
    return Session(two_softplus, np.ones(4), np.ones(4))


def ops_of(s):
    return sorted(t.op for t in s.ops())


def test_whole_program_rewrites_both_sites(two):
    step = two.apply(SOFTPLUS)
    assert step.fired == {"softplus-def": 2}
    assert ops_of(two) == ["mul", "softplus", "softplus"]
    assert step.cost_after < step.cost_before
    assert step.stop_reason is ed.StopReason.SATURATED


def test_scope_below_one_op_leaves_the_other_site_alone(two):
    (log_x,) = [m for m in two.find("log(1 + exp(?v))") if m.bindings["v"].attr["name"] == "x"]
    step = two.apply(SOFTPLUS, scope=two.below(log_x))
    assert step.fired == {"softplus-def": 1}
    assert ops_of(two) == ["add", "exp", "log", "mul", "softplus"]
    (sp,) = two.find("softplus(?v)")
    assert sp.bindings["v"].attr["name"] == "x"
    assert "below" in step.scope


def test_scope_on_an_op_whose_class_the_rule_does_not_root_at(two):
    step = two.apply(SOFTPLUS, scope=two.find("exp(_)"))  # the rule roots at log(...), outside the scope
    assert step.fired == {}
    assert step.nodes_after == step.nodes_before and not step.changed
    one = two.apply(SOFTPLUS, scope=two.find("log(_)")[0])  # a single op: its e-class
    assert one.fired == {"softplus-def": 1}


def test_scope_by_pattern_text_and_by_label(two):
    step = two.apply(SOFTPLUS, scope="log(_)")
    assert step.fired == {"softplus-def": 2}
    two.undo()
    label = next(lab for t, lab in two.labels().items() if t.op == "log")
    assert two.apply(SOFTPLUS, scope=label).fired == {"softplus-def": 1}


def test_empty_scope_is_an_error_and_applies_nothing(two):
    size = two.size()
    with pytest.raises(ScopeError, match="matches nothing"):
        two.apply(SOFTPLUS, scope=two.find("sqrt(_)"))
    with pytest.raises(ScopeError, match="matches nothing"):
        two.apply(SOFTPLUS, scope="tanh(_)")
    with pytest.raises(ScopeError):
        two.apply(SOFTPLUS, scope=[])
    assert two.size() == size and two.history() == []


def test_stale_ops_and_bad_labels_are_scope_errors(two):
    old = two.find("log(_)")
    two.apply(SOFTPLUS)
    with pytest.raises(ScopeError, match="not an op of the current program"):
        two.apply(COMM, scope=old)
    with pytest.raises(ScopeError, match="no op"):
        two.op("%99")


def test_unknown_ruleset_and_bad_pattern(two):
    with pytest.raises(RulesetError, match="unknown ruleset 'no-such-rules'"):
        two.apply("no-such-rules")
    with pytest.raises(PatternError, match="does not parse"):
        two.find("log(")
    assert two.history() == []


def test_step_report_text_names_rules_growth_costs_and_stop(two):
    text = str(two.apply(SOFTPLUS, limits={"iterations": 1}))
    assert "softplus-def" in text and "e-nodes" in text and "cost" in text and "iteration limit" in text


def test_undo_restores_egraph_and_extraction_exactly(two):
    snap0, prog0, cost0 = two.snapshot(), two.current, two.cost
    two.apply(SOFTPLUS)
    assert two.size() > len(snap0.nodes)
    two.undo()
    snap1 = two.snapshot()
    assert snap1.nodes == snap0.nodes and snap1.classes == snap0.classes
    assert two.current is prog0 and two.cost == cost0
    with pytest.raises(HistoryError, match="nothing to undo"):
        two.undo()


def test_redo_replays_exactly_and_new_steps_clear_redo(two):
    two.apply(SOFTPLUS)
    two.apply(COMM)
    snap, prog = two.snapshot(), two.current
    two.undo()
    two.undo()
    two.redo()
    two.redo()
    assert two.current is prog and two.snapshot().nodes == snap.nodes
    assert [r.what for r in two.history()] == ["softplus-def", "mul-comm"]
    two.undo()
    two.apply(SOFTPLUS)
    with pytest.raises(HistoryError, match="nothing to redo"):
        two.redo()


def test_undo_restores_handles_of_scope_terms(two):
    two.apply(SOFTPLUS)
    two.apply(COMM, scope=two.find("softplus(_)"))  # loads handles for extracted terms
    two.undo()
    two.undo()
    assert two.apply(SOFTPLUS, scope=two.find("log(_)")).fired == {"softplus-def": 2}


def test_extract_ilp_matches_or_beats_greedy_and_is_undoable():
    s = Session(reactivity, *data())
    s.apply(["stability", "linalg"], limits={"iterations": 4})
    greedy_cost = s.cost
    got = s.extract(method="ilp")
    assert got.method.startswith("ilp") and got.cost <= greedy_cost + 1e-9
    assert got.lower_bound is None or got.lower_bound <= got.cost + 1e-6
    assert s.history()[-1].kind == "extract"
    s.undo()
    assert s.cost == greedy_cost
    ops_model = s.extract(cost_model="ops")
    assert ops_model.cost == s.current.op_count()


def test_alternatives_are_distinct_and_sorted():
    s = Session(lambda x: np.log(1 + np.exp(x)), np.ones(3))
    s.apply(SOFTPLUS)  # a rule that does not replace its left side: both forms stay candidates
    alts = s.alternatives(3)
    assert 2 <= len(alts) <= 3
    assert [a.cost for a in alts] == sorted(a.cost for a in alts)
    assert len({a.program.outputs for a in alts}) == len(alts)
    assert alts[0].cost == pytest.approx(s.cost)
    for a in alts:  # every alternative computes the same function
        np.testing.assert_allclose(ed.evaluate(a.program, [np.linspace(-2, 2, 3)])[0],
                                   np.log1p(np.exp(np.linspace(-2, 2, 3))), rtol=1e-12)


def test_explain_reconstructs_a_checked_chain():
    s = Session(reactivity, *data())
    s.apply("stability", scope=s.below(s.find("log(_)")))
    e = s.explain()
    assert e.found and e.verified
    assert {"sigmoid-def", "log-sigmoid", "log-one-minus-sigmoid"} <= set(e.rules)
    assert e.steps[-1].result is e.chosen and e.original is s.program.outputs[0]
    assert "replayed and checked" in str(e)


def test_explain_of_an_unchanged_op_and_a_budget_miss():
    s = Session(reactivity, *data())
    s.apply("stability", scope=s.below(s.find("log(_)")))
    (mm,) = s.find("?X @ ?w")
    assert s.explain(mm).found and s.explain(mm).steps == ()
    miss = s.explain(budget=1)
    assert not miss.found and "budget" in str(miss)


def test_explain_of_a_new_op_uses_the_nearest_op_above():
    s = Session(lambda x: np.log(1 + np.exp(x)) * 2.0, np.ones(3))
    s.apply("stability")
    (sp,) = s.find("softplus(_)")
    e = s.explain(sp)
    assert e.found and e.verified and e.rules == ["softplus-def"]


def test_compile_gives_a_callable_that_agrees_with_numpy():
    args = data()
    s = Session(reactivity, *args)
    s.apply("stability", scope=s.below(s.find("log(_)")))
    f = s.compile()
    assert f(*args) == pytest.approx(reactivity(*args), rel=1e-12)
    assert "after" in f.explain() and f.plan.instructions
    with pytest.raises(SignatureError):
        f(np.ones((5, 3)), *args[1:])


def test_show_prints_costs_per_op(two, capsys):
    text = two.show()
    assert capsys.readouterr().out.strip() == text
    op_lines = [line for line in text.splitlines() if " = " in line]
    assert len(op_lines) == len(two.ops()) and all("# cost" in line for line in op_lines)
    assert "total cost" in text


def test_from_program_and_repr_html(two):
    s = Session.from_program(ed.trace(two_softplus, np.ones(4), np.ones(4)))
    s.apply(SOFTPLUS)
    page = s._repr_html_()
    assert "<svg" in page and "softplus" in page and "history" in page
    assert ed.Session is Session


def test_bad_method_or_cost_model_fails_before_any_work() -> None:
    with pytest.raises(ed.errors.OptionError, match="unknown extractor 'exact'"):
        ed.Session(lambda x: np.exp(x), np.ones(3), method="exact")
    with pytest.raises(ed.errors.OptionError, match="unknown cost model 'fast'"):
        ed.Session(lambda x: np.exp(x), np.ones(3), cost_model="fast")
    s = ed.Session(lambda x: np.exp(x), np.ones(3))
    with pytest.raises(ed.errors.OptionError, match="use one of greedy"):
        s.extract(method="ilp2")
    assert s.current is s.program  # nothing was done


# ---------------------------------------------------------------- replacing rules


def two_log_sigmoids(x, y):
    return np.log(ed.sigmoid(x)) + np.log(ed.sigmoid(y))


def test_replacing_rules_win_over_the_cost_model_and_undo_brings_the_old_form_back():
    s = Session(two_log_sigmoids, np.ones(4), np.ones(4))
    original = s.current
    step = s.apply("stability")
    assert step.fired == {"log-sigmoid": 2}
    assert step.cost_after > step.cost_before  # dearer by FLOPs and bytes: chosen because the rule replaces
    assert "log" not in ops_of(s)
    assert len(s.alternatives(3)) == 1  # the replaced forms are no alternative
    s.undo()
    assert s.current is original and not any(n.subsumed for n in s.snapshot().nodes.values())
    s.redo()
    assert "log" not in ops_of(s) and any(n.subsumed for n in s.snapshot().nodes.values())


def test_a_replacing_rule_in_a_scope_replaces_only_there():
    s = Session(two_log_sigmoids, np.ones(4), np.ones(4))
    (at_x,) = [m for m in s.find("log(sigmoid(?v))") if m.bindings["v"].attr["name"] == "x"]
    step = s.apply("stability", scope=at_x)
    assert step.fired == {"log-sigmoid": 1}
    assert ops_of(s).count("log") == 1 and ops_of(s).count("softplus") == 1
    assert [n.op for n in s.snapshot().nodes.values() if n.subsumed] == ["log"]
    (left,) = s.find("log(sigmoid(?v))")
    assert left.bindings["v"].attr["name"] == "y"
    s.extract(method="ilp")  # a later extraction keeps the replacement too
    assert ops_of(s).count("softplus") == 1
    x, y = np.linspace(20, 40, 4), np.linspace(-3, 3, 4)
    np.testing.assert_allclose(s.compile()(x, y), -np.log1p(np.exp(-x)) + np.log(ed.sigmoid(y)), rtol=1e-15)


def test_explain_marks_replacing_rules():
    s = Session(lambda x: np.log(ed.sigmoid(x)), np.ones(3))
    s.apply("stability")
    e = s.explain()
    assert e.found and e.verified and e.rules == ["log-sigmoid"]
    assert "log-sigmoid (replaces):" in str(e)


def test_compile_chooses_the_backend_as_jit_does() -> None:
    from egraph_dsl.backends import is_available

    from egraph_dsl.errors import BackendError

    def f(x: np.ndarray) -> np.ndarray:
        return np.log(1 + np.exp(x))

    for n in (8, 20_000):
        x = np.linspace(-5.0, 5.0, n)
        s = ed.Session(f, x)
        s.apply("stability")
        compiled = s.compile()
        assert compiled.backend == ed.jit(f).specialize(x).backend
        np.testing.assert_allclose(compiled(x), np.logaddexp(0.0, x), rtol=1e-15)
    assert compiled.backend == ("native" if is_available("native") else "numpy")
    with pytest.raises(BackendError, match="backend='auto' takes no backend options"):
        s.compile(keep_buffers=False)
