"""Term-level matching: bindings, repeated variables, attributes, constants, rule application."""

from __future__ import annotations

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.errors import PatternError
from egraph_dsl.matching import apply_rule, find_all, instantiate, match, replace
from egraph_dsl.pattern import Const, parse
from egraph_dsl.term import const, input_, make, postorder


def softmax(x):
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def test_repeated_variable_binds_the_same_term():
    x, y = input_("x", (4,), "float64"), input_("y", (4,), "float64")
    same = make("add", [make("exp", [x]), make("exp", [x])])
    different = make("add", [make("exp", [x]), make("exp", [y])])
    b = match("exp(?a) + exp(?a)", same)
    assert b is not None and b["a"] is x
    assert match("exp(?a) + exp(?a)", different) is None
    assert match("exp(?a) + exp(?b)", different) is not None


def test_attribute_variables_and_fixed_attributes():
    prog = ed.trace(softmax, np.ones((3, 4)))
    (m,) = find_all("exp(?x) / broadcast_to(sum(exp(?x), axis=?a, keepdims=?k), shape=?s)", prog.outputs)
    assert m.bindings.attrs == {"a": (1,), "k": True, "s": (3, 4)}
    assert m.bindings["x"] is prog.inputs[0]
    assert find_all("sum(_, axis=1)", prog.outputs) and not find_all("sum(_, axis=0)", prog.outputs)
    assert find_all("sum(_, keepdims=True)", prog.outputs) and not find_all("sum(_, keepdims=False)", prog.outputs)


def test_repeated_attribute_variable_must_agree():
    x = input_("x", (3, 4), "float64")
    s1 = make("sum", [x], axis=(1,), keepdims=False)
    s0 = make("sum", [x], axis=(0,), keepdims=False)
    t = make("matmul", [s1, s1])
    assert match("sum(?x, axis=?a) @ sum(?x, axis=?a)", t) is not None
    t2 = make("matmul", [s0, make("sum", [x], axis=(0,), keepdims=False)])
    assert match("sum(?x, axis=?a) @ sum(?x, axis=?a)", t2) is not None
    u = make("add", [s0, make("transpose", [make("sum", [make("transpose", [x], axes=(1, 0))], axis=(1,),
                                                       keepdims=False)], axes=(0,))])
    assert match("sum(_, axis=?a) + transpose(sum(_, axis=?a), axes=?p)", u) is None


def test_weak_constants_match_const_patterns():
    prog = ed.trace(lambda x: np.log(1 + np.exp(x)), np.ones(3))
    (m,) = find_all("log(1 + exp(?x))", prog.outputs)
    assert m.term.op == "log"
    assert not find_all("log(2 + exp(?x))", prog.outputs)
    assert match("1.0", const(1.0)) is not None and match("1", const(2.0)) is None
    nan = const(float("nan"))
    assert match(Const(float("nan")), nan) is not None  # nan matches nan, as in egglog's f64


def test_matching_is_iterative_on_deep_chains():
    t = input_("x", (2,), "float64")
    for _ in range(5000):
        t = make("exp", [t])
    assert len(find_all("exp(exp(?x))", [t])) == 4999


def test_find_all_lists_children_first():
    prog = ed.trace(lambda x: np.log(np.log(x)), np.ones(2))
    found = find_all("log(_)", prog.outputs)
    assert [m.term for m in found] == [t for t in postorder(prog.outputs) if t.op == "log"]
    assert found[-1].term is prog.outputs[0]


def test_bad_pattern_text_is_a_pattern_error():
    with pytest.raises(PatternError, match="does not parse"):
        match("log(", const(1.0))
    with pytest.raises(PatternError):
        find_all("frobnicate(?x)", [const(1.0)])


def test_instantiate_and_apply_rule():
    x = input_("x", (3,), "float64")
    rule = ed.rewrite("log(1 + exp(?x))", "softplus(?x)", name="sp", claim="real")
    t = make("log", [make("add", [const(1.0), make("exp", [x])])])
    assert apply_rule(rule, t) is make("softplus", [x])
    assert instantiate(parse("softplus(?x) * 2"), match("log(1 + exp(?x))", t)) is \
        make("mul", [make("softplus", [x]), const(2.0)])


def test_apply_rule_checks_guards_and_strength():
    x = input_("x", (3,), "float64")
    guarded = ed.rewrite("?a / ?a", "1", name="div-self", when="?a != 0")
    assert apply_rule(guarded, make("div", [x, x])) is None  # x may be zero
    e = make("exp", [x])
    out = apply_rule(guarded, make("div", [e, e]))  # exp(x) > 0: constant cast and broadcast to the shape
    assert out is make("broadcast_to", [make("astype", [const(1.0)], dtype="float64")], shape=(3,))
    drop = ed.rewrite("?a * 0 + ?b", "?b", name="drop")
    assert apply_rule(drop, make("add", [make("mul", [x, const(0.0)]), const(2.0)])) is None  # ?b weak


def test_replace_rewrites_every_occurrence():
    x = input_("x", (3,), "float64")
    e = make("exp", [x])
    t = make("add", [e, make("mul", [e, e])])
    new = replace(t, e, make("sigmoid", [x]))
    s = make("sigmoid", [x])
    assert new is make("add", [s, make("mul", [s, s])])
    assert replace(t, input_("z", (3,), "float64"), x) is t
