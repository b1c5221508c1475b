"""Closed-over arrays: constants by value at trace time, referenced (not copied) into the
e-graph, and a jit cache that retraces when a closed-over name is rebound."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.constants import ConstantArray, constant_array, lookup
from egraph_dsl.engine.encode import decode_attr, tsv_cell
from egraph_dsl.errors import DTypeError, TraceError
from egraph_dsl.program import evaluate

RNG = np.random.default_rng(0)
DATA_X = RNG.normal(size=(30, 3))
DATA_Y = RNG.normal(size=30)


def log_prob(theta: Any) -> Any:  # the way every sampler's log-density is written
    return -0.5 * np.sum((DATA_Y - DATA_X @ theta) ** 2)


def test_a_log_density_closing_over_its_data_traces_and_matches_numpy() -> None:
    f = ed.jit(log_prob)
    theta = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(f(theta), log_prob(theta), rtol=1e-12)
    ops_used = {t.op for t in f.program(theta).terms()}
    assert "array_const" in ops_used and [t.op for t in f.program(theta).inputs] == ["input"]


def test_rebinding_a_global_array_retraces() -> None:
    global DATA_Y
    f = ed.jit(log_prob)
    theta = np.zeros(3)
    first = f(theta)
    saved = DATA_Y
    try:
        DATA_Y = saved + 1.0
        assert f(theta) == pytest.approx(log_prob(theta)) and f(theta) != first
        DATA_Y = saved[:10]  # another shape: the old program would not even fit
        with pytest.raises(ed.errors.ShapeError):
            f(theta)
    finally:
        DATA_Y = saved
    assert f(theta) == first
    assert len(f.signatures) >= 2


def test_closure_cells_and_default_arguments_are_constants_and_watched() -> None:
    data = np.arange(4.0)

    def make() -> Any:
        def g(x: Any) -> Any:
            return x * data
        return g

    g = ed.jit(make())
    x = np.full(4, 2.0)
    np.testing.assert_array_equal(g(x), x * data)
    data = np.arange(4.0) + 10.0  # rebinds the cell g closes over
    np.testing.assert_array_equal(g(x), x * (np.arange(4.0) + 10.0))

    def h(x: Any, w: Any = np.array([1.0, 2.0])) -> Any:  # noqa: B008  (the case under test)
        return x @ w

    hj = ed.jit(h)
    assert hj(np.ones((3, 2))).tolist() == [3.0, 3.0, 3.0]
    h.__defaults__ = (np.array([0.0, 5.0]),)
    assert hj(np.ones((3, 2))).tolist() == [5.0, 5.0, 5.0]


def _helper(x: Any) -> Any:
    return x - DATA_Y


def test_arrays_a_called_helper_closes_over_are_watched_too() -> None:
    global DATA_Y
    f = ed.jit(lambda x: np.sum(_helper(x)))
    x = np.ones(30)
    saved = DATA_Y
    assert f(x) == pytest.approx(np.sum(x - saved))
    try:
        DATA_Y = saved * 0.0
        assert f(x) == pytest.approx(30.0)
    finally:
        DATA_Y = saved


def test_constants_are_read_only_snapshots_taken_at_trace_time() -> None:
    c = np.arange(3.0)
    f = ed.jit(lambda x: x + c)
    assert f(np.zeros(3)).tolist() == [0.0, 1.0, 2.0]
    c[0] = 100.0  # in place: the compiled program keeps its snapshot (as in JAX)
    assert f(np.zeros(3)).tolist() == [0.0, 1.0, 2.0]
    snap = constant_array(np.arange(3.0))
    assert not snap.value.flags.writeable and snap.value.flags.c_contiguous


def test_a_returned_constant_is_a_fresh_writable_array() -> None:
    c = np.arange(6.0).reshape(2, 3)
    f = ed.jit(lambda x: (c, c.T, x + c))
    a, b, s = f(np.ones((2, 3)))
    assert a.flags.writeable and b.flags.writeable and not np.shares_memory(a, b)
    a[0, 0] = -1.0
    again = f(np.ones((2, 3)))[0]
    assert again[0, 0] == 0.0 and s[1, 2] == 6.0


def test_large_constants_enter_the_egraph_by_key_only() -> None:
    big = RNG.normal(size=(500, 200))
    const = constant_array(big)
    cell = tsv_cell("array", const)
    assert len(cell) < 40 and decode_attr("array", cell) is const and lookup(const.key) is const
    assert constant_array(big.copy()) is const  # equal contents: one constant
    f = ed.jit(lambda v: np.sum(big @ v))
    v = RNG.normal(size=200)
    assert f(v) == pytest.approx(np.sum(big @ v), rel=1e-10)
    arrays = [t.attr["array"] for t in f.program(v).terms() if t.op == "array_const"]
    assert arrays and all(isinstance(a, ConstantArray) for a in arrays)


def test_arrays_created_at_trace_time_are_constants_too() -> None:
    prog = ed.trace(lambda x: x * np.arange(3.0) + np.ones(3), np.ones(3))
    (out,) = evaluate(prog, [np.full(3, 2.0)])
    assert out.tolist() == [1.0, 3.0, 5.0]


def test_unsupported_closed_over_arrays_are_refused_clearly() -> None:
    half = np.ones(3, dtype=np.float16)
    with pytest.raises(DTypeError, match="float16"):
        ed.trace(lambda x: x + half, np.ones(3))
    m = np.eye(2).view(np.ma.MaskedArray)
    with pytest.raises(TraceError, match="subclass"):
        ed.trace(lambda x: x + m, np.ones((2, 2)))


def test_signed_zeros_and_nan_in_constants_survive_the_default_rulesets() -> None:
    c = np.array([-0.0, np.nan, np.inf, 1.0])
    f = ed.jit(lambda x: x * 1.0 + c)
    got = f(np.zeros(4))
    want = np.zeros(4) * 1.0 + c
    np.testing.assert_array_equal(got, want)
    assert np.signbit(got[0]) == np.signbit(want[0])
