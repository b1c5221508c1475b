"""Plans: buffer reuse never overwrites what a live view still reads, and results are fresh.

Every plan here is checked against the reference evaluator (no buffer reuse, no fusion), and
its results for aliasing with the inputs or with each other, and for writeability.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from egraph_dsl.backends.numpy_backend import compile_plan
from hypothesis import given
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.plan import build_plan
from egraph_dsl.program import evaluate
from egraph_dsl.trace import trace_function


def run_plan(fn: Callable[..., Any], *args: Any) -> tuple[Any, Any]:
    program = trace_function(fn, args)
    plan = build_plan(program)
    return compile_plan(plan)(*args), evaluate(program, args)


def assert_fresh(results: Any, args: tuple[Any, ...]) -> None:
    outs = list(results) if isinstance(results, (tuple, list)) else [results]
    for i, out in enumerate(outs):
        assert isinstance(out, np.ndarray) and out.flags.writeable, f"result {i} is not a writable array"
        for a in args:
            if isinstance(a, np.ndarray):
                assert not np.shares_memory(out, a), f"result {i} aliases an input"
        for j, other in enumerate(outs[:i]):
            assert not np.shares_memory(out, other), f"results {j} and {i} alias"


VIEW_CASES: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
    (lambda M: (M * 2).T - M * 3, (np.arange(4.0).reshape(2, 2),)),
    (lambda u, v: (u * 2).reshape(-1, 1) * (v + 1), (np.array([1.0, 2, 3]), np.array([10.0, 20, 30]))),
    (lambda x: np.abs(x) * np.sum(np.exp(-x), axis=1), (np.array([[0.5], [0.8]]),)),
    (lambda M: np.exp(M).T + np.exp(M * 2) + (M + 1).reshape(4, 1).reshape(2, 2),
     (np.arange(4.0).reshape(2, 2),)),
    (lambda a: np.broadcast_to(a * 2, (3, 3)) + (a + 1) * (a - 1), (np.array([1.0, 2, 3]),)),
]


@pytest.mark.parametrize("case", range(len(VIEW_CASES)))
def test_views_keep_their_base_alive(case: int) -> None:
    fn, args = VIEW_CASES[case]
    got, reference = run_plan(fn, *args)
    np.testing.assert_array_equal(got, reference[0])
    np.testing.assert_array_equal(got, fn(*args))
    # and through jit without rewrites: the third reproducer needed none
    np.testing.assert_array_equal(ed.jit(fn, rulesets=[])(*args), fn(*args))


@pytest.mark.parametrize("fn", [lambda x: x * 1, lambda x: x, lambda x: x.T, lambda x: x.reshape(-1),
                                lambda x: np.broadcast_to(x, (2, 3)), lambda x: (x + 1, x + 1),
                                lambda x: (x + 1, (x + 1).T), lambda x: [x, x]])
def test_results_never_alias_inputs_or_each_other(fn: Callable[..., Any]) -> None:
    x = np.arange(3.0)
    for rules in ([], None):
        f = ed.jit(fn, rulesets=rules)
        got = f(x)
        assert_fresh(got, (x,))
        expected = fn(x)
        assert type(got) is type(expected) or isinstance(expected, np.ndarray)
        for g, e in zip(got if isinstance(got, (tuple, list)) else [got],
                        expected if isinstance(expected, (tuple, list)) else [expected], strict=True):
            np.testing.assert_array_equal(g, e)


def test_broadcast_result_is_a_writable_array() -> None:
    got = ed.jit(lambda s: np.broadcast_to(s, (2, 3)) * 1)(np.float64(2.0))
    assert got.flags.writeable and got.strides == (24, 8) and got.shape == (2, 3)


def test_a_list_result_stays_a_list() -> None:
    got = ed.jit(lambda a: [a + 1, a * 2])(np.ones(2))
    assert isinstance(got, list) and len(got) == 2


LAYOUT: dict[str, Callable[[Any], Any]] = {
    "T": lambda a: a.T, "flat_back": lambda a: a.reshape(-1).reshape(a.shape),
    "bcast": lambda a: np.broadcast_to(a.sum(axis=0, keepdims=True), a.shape),
}
ELEMENTWISE: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub2": lambda a, b: a - 2 * b,
    "exp_tanh": lambda a, b: np.exp(np.tanh(a)) * b, "max": np.maximum,
}


@st.composite
def view_programs(draw: Any) -> tuple[Callable[[Any], Any], str]:
    """Square-matrix programs where layout views of temporaries outlive the temporaries' last use."""
    steps: list[tuple[str, int, int, str]] = []
    for i in range(draw(st.integers(2, 9))):
        a, b = draw(st.integers(0, i)), draw(st.integers(0, i))
        steps.append((draw(st.sampled_from(sorted(ELEMENTWISE))), a, b, draw(st.sampled_from(["", *LAYOUT]))))

    def fn(x: Any) -> Any:
        values = [x]
        for op, a, b, layout in steps:
            v = ELEMENTWISE[op](values[a], values[b])
            values.append(LAYOUT[layout](v) if layout else v)
        return values[-1] + values[len(values) // 2]

    return fn, repr(steps)


@given(view_programs(), st.integers(0, 2**31))
def test_random_view_programs_match_the_reference_evaluator(program: tuple[Callable[[Any], Any], str],
                                                             seed: int) -> None:
    fn, text = program
    x = np.random.default_rng(seed).normal(size=(3, 3))
    got, reference = run_plan(fn, x)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got, reference[0], err_msg=text)
        np.testing.assert_allclose(got, fn(x), rtol=1e-12, err_msg=text)
    assert_fresh(got, (x,))
