"""Folding array constants at compile time: what it folds, what it leaves, and that values agree."""

from __future__ import annotations

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl import ops
from egraph_dsl.fold import fold_array_constants
from egraph_dsl.term import postorder


def _ops(program: ed.Program) -> list[str]:
    return [t.op for t in postorder(program.outputs) if t.op not in ("input", "const")]


def test_work_on_closed_over_data_is_done_once() -> None:
    y = np.array([0.0, 1.0, 1.0, 0.0])
    X = np.arange(8.0).reshape(4, 2)

    def f(w: np.ndarray) -> np.ndarray:
        yc = ed.constant(y)  # traced (NumPy would compute 1 - y eagerly on the plain array)
        return np.sum((1 - yc) * np.exp(X @ w) + np.log1p(yc) * w[0])

    program = ed.trace(f, np.zeros(2))
    folded = fold_array_constants(program)
    assert "log1p" in _ops(program) and "log1p" not in _ops(folded)
    assert "sub" not in _ops(folded)  # 1 - y
    assert "exp" in _ops(folded) and "matmul" in _ops(folded)  # they depend on w
    w = np.array([0.3, -0.2])
    assert ed.evaluate(folded, [w])[0] == ed.evaluate(program, [w])[0] == f(w)


def test_the_gradient_of_a_model_over_data_folds_its_data_terms() -> None:
    y = np.array([0.0, 1.0, 1.0])
    vg = ed.value_and_grad(lambda z: np.sum(y * np.log(ed.sigmoid(z)) + (1 - y) * np.log(1 - ed.sigmoid(z))))
    z = np.array([0.5, -1.0, 2.0])
    compiled = vg.lower(z)
    constant = {ins.output for ins in compiled.plan.instructions if ins.op == "array_const"}
    constant |= {s for s, _value, _dtype in compiled.plan.constants}
    on_data_only = [ins.op for ins in compiled.plan.instructions
                    if ins.inputs and set(ins.inputs) <= constant and not ops.spec(ins.op).view]
    assert on_data_only == [], "ops on closed-over data only should be folded at compile time"
    _, grad = vg(z)
    np.testing.assert_allclose(grad, y - 1 / (1 + np.exp(-z)), rtol=1e-14)  # ours: sigmoid(-z), no cancellation


def test_broadcasts_of_constants_stay_views_and_limits_hold() -> None:
    program = ed.trace(lambda x: x + np.broadcast_to(ed.constant(np.ones(1)), (1000,)), np.ones(1000))
    folded = fold_array_constants(program)
    assert "broadcast_to" in _ops(folded)  # still a view of the one-element constant
    assert max(t.attr["array"].value.nbytes for t in postorder(folded.outputs) if t.op == "array_const") == 8
    big = np.ones(100)
    program = ed.trace(lambda x: x + np.exp(ed.constant(big)), np.ones(100))
    assert "exp" in _ops(fold_array_constants(program, max_bytes=100))  # 800 bytes: over the limit
    assert "exp" not in _ops(fold_array_constants(program))


def test_a_constant_op_that_raises_is_left_to_raise_at_run_time() -> None:
    table = np.arange(3.0)
    bad = np.array([0, 5])
    f = ed.jit(lambda x: x + ed.constant(table)[bad])
    with pytest.raises(IndexError):
        f(np.ones(2))


def test_folded_results_are_fresh_and_writeable() -> None:
    y = np.array([1.0, 2.0])
    f = ed.jit(lambda x: x * 0 + np.exp(ed.constant(y)))
    first = f(np.ones(2))
    first[0] = 99.0
    np.testing.assert_array_equal(f(np.ones(2)), np.exp(y))
