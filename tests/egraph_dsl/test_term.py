"""Terms are interned plain data with a readable text form; walks never recurse."""

from __future__ import annotations

from egraph_dsl import term


def test_terms_are_hash_consed() -> None:
    x = term.input_("x", (3,), "float64")
    a = term.make("exp", [x])
    b = term.make("exp", [term.input_("x", (3,), "float64")])
    assert a is b
    assert term.const(0.0) is not term.const(-0.0)
    nan = float("nan")
    assert term.const(nan) is term.const(nan)


def test_deep_chain_walks_without_recursion() -> None:
    t = term.input_("x", (2,), "float64")
    for _ in range(20_000):
        t = term.make("neg", [t])
    order = term.postorder([t])
    assert len(order) == 20_001 and order[-1] is t


def test_text_form() -> None:
    x = term.input_("x", (4,), "float32")
    s = term.make("sum", [term.make("mul", [x, term.const(2.0)])], axis=None, keepdims=False)
    assert term.format_terms([s]) == (
        "  %0: f32[4] = mul(x, 2.0)\n"
        "  %1: f32[] = sum(%0, axis=None, keepdims=False)\n"
        "  return %1"
    )


def test_weak_constants_take_their_consumers_dtype() -> None:
    x = term.input_("x", (2,), "float32")
    t = term.make("add", [x, term.const(1.0)])
    assert t.dtype == "float32" and t.shape == (2,)
    assert term.operand_dtype(t) == "float32"
    assert term.const(1.0).weak
