"""NumPy 2's promotion, exactly: every op over every pairing of array dtypes, Python scalars
(weak) and NumPy scalars (strong), compiled without rewrites and compared with NumPy itself —
dtype, values, and whether NumPy refuses the operation."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from egraph_dsl.backends.numpy_backend import compile_plan

import egraph_dsl as ed
from egraph_dsl.errors import EgraphDslError
from egraph_dsl.plan import build_plan
from egraph_dsl.trace import trace_function

ARRAYS: dict[str, np.ndarray[Any, Any]] = {
    "f64": np.array([2.5, -1.0, 0.0, 7.0]),
    "f32": np.array([2.5, -1.0, 0.0, 7.0], dtype=np.float32),
    "i64": np.array([3, -2, 0, 2**53 + 1]),
    "i32": np.array([3, -2, 0, 70000], dtype=np.int32),
    "bool": np.array([True, False, True, True]),
}
SCALARS: dict[str, Any] = {
    "py_bool": True, "py_int": 3, "py_float": 2.5, "py_big_int": 3_000_000_000,
    "np_f32": np.float32(2.5), "np_f64": np.float64(2.5), "np_i64": np.int64(3), "np_i32": np.int32(3),
    "np_bool": np.bool_(True),
}
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b, "maximum": np.maximum, "minimum": np.minimum,
    "less": lambda a, b: a < b, "eq": lambda a, b: a == b, "logaddexp": np.logaddexp,
    "where": lambda a, b: np.where(a > b, a, b),
}
UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": lambda a: -a, "abs": np.abs, "square": np.square, "sqrt": np.sqrt, "exp": np.exp,
    "log1p": np.log1p, "tanh": np.tanh, "pow2": lambda a: a ** 2, "pow1": lambda a: a ** 1,
    "pow_half": lambda a: a ** 0.5, "pow_neg": lambda a: a ** -1, "sum": np.sum, "mean": np.mean,
    "max": np.max, "sigmoid": ed.sigmoid,
}


def compiled(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn`` traced and compiled for ``args`` without rewrites (what jit runs, minus saturation)."""
    return compile_plan(build_plan(trace_function(fn, args)))(*args)


def outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    """('value', array) or ('error', the kind of exception NumPy semantics call for)."""
    try:
        with np.errstate(all="ignore"):
            return "value", np.asarray(run())
    except (TypeError, ValueError, OverflowError) as exc:  # NumPy's refusals
        return "error", exc


def assert_same(numpy_run: Callable[[], Any], ours_run: Callable[[], Any], what: str) -> None:
    expected_kind, expected = outcome(numpy_run)
    if expected_kind == "value" and expected.dtype.name not in ("bool", "int32", "int64", "float32", "float64"):
        with pytest.raises(EgraphDslError, match="does not support"):  # e.g. float16 from np.exp(bool)
            ours_run()
        return
    got_kind, got = outcome(ours_run)
    assert got_kind == expected_kind, f"{what}: NumPy gives {expected_kind} {expected!r}, egraph-dsl {got!r}"
    if expected_kind == "error":
        assert isinstance(got, EgraphDslError), f"{what}: raised {got!r} instead of a library error"
        assert isinstance(got, type(expected).__mro__[0]) or isinstance(got, (TypeError, ValueError)), what
        return
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, NumPy {expected.dtype}"
    assert got.shape == expected.shape, what
    np.testing.assert_array_equal(got, expected, err_msg=what, strict=True)


OPERANDS = {**{f"arr_{k}": v for k, v in ARRAYS.items()}, **SCALARS}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_ops_promote_as_numpy(op: str) -> None:
    fn = BINARY[op]
    for (na, a), (nb, b) in itertools.product(OPERANDS.items(), repeat=2):
        if not (na.startswith("arr_") or nb.startswith("arr_")):
            continue  # two scalars: NumPy computes them eagerly, nothing is traced
        arrays = [v for v in (a, b) if isinstance(v, np.ndarray)]
        if len(arrays) == 2:
            assert_same(lambda: fn(a, b), lambda: compiled(fn, a, b), f"{op}({na}, {nb})")
        elif isinstance(a, np.ndarray):  # the scalar is closed over, as users write constants
            assert_same(lambda: fn(a, b), lambda: compiled(lambda x: fn(x, b), a), f"{op}({na}, {nb})")
            if not isinstance(b, np.generic):  # and passed as an argument
                assert_same(lambda: fn(a, b), lambda: compiled(fn, a, b), f"{op}({na}, arg {nb})")
        else:
            assert_same(lambda: fn(a, b), lambda: compiled(lambda y: fn(a, y), b), f"{op}({na}, {nb})")


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_ops_and_reductions_promote_as_numpy(op: str) -> None:
    fn = UNARY[op]
    for name, a in ARRAYS.items():
        assert_same(lambda: fn(a), lambda: compiled(fn, a), f"{op}({name})")


def test_integers_stay_exact_beyond_two_to_the_53() -> None:
    x = np.array([2**53 + 1])
    got = ed.jit(lambda v: v + 1)(x)
    assert got.dtype == np.int64 and got[0] == 2**53 + 2


def test_int32_times_python_int_stays_int32() -> None:
    got = ed.jit(lambda v: v * 2)(np.array([3], dtype=np.int32))
    assert got.dtype == np.int32 and got[0] == 6


def test_integer_to_negative_power_is_refused_at_trace_time() -> None:
    with pytest.raises(ValueError, match="negative integer powers"):
        ed.jit(lambda v: v ** -1)(np.array([3]))


def test_python_int_out_of_range_is_refused_as_numpy_does() -> None:
    with pytest.raises(OverflowError, match="out of bounds for int32"):
        ed.jit(lambda v: v + 3_000_000_000)(np.array([1], dtype=np.int32))
    with pytest.raises(OverflowError, match="larger than 2\\*\\*53"):
        ed.jit(lambda v: v + 2**60)(np.array([1]))
    f = ed.jit(lambda v, n: v + n)  # a Python int argument: NumPy's check depends on its value
    assert f(np.array([1], dtype=np.int32), 5).dtype == np.int32
    with pytest.raises(OverflowError):
        f(np.array([1], dtype=np.int32), 3_000_000_000)
    assert f(np.array([1]), 3_000_000_000)[0] == 3_000_000_001


def test_numpy_scalar_arguments_are_strong() -> None:
    f = ed.jit(lambda s, x: s * x)
    assert f(np.float64(2.0), np.ones(2, np.float32)).dtype == np.float64
    assert f(2.0, np.ones(2, np.float32)).dtype == np.float32  # a Python float is weak
    assert f(np.float32(2.0), np.ones(2, np.float32)).dtype == np.float32


def test_closed_over_numpy_scalars_promote_as_numpy() -> None:
    got = ed.jit(lambda x: x * np.float32(2.5))(np.array([3.0]))
    assert got.dtype == np.float64 and got[0] == 7.5
    got = ed.jit(lambda x: x * (np.float64(2.0) + np.int64(3)))(np.ones(2, np.float32))
    assert got.dtype == np.float64 and got[0] == 5.0


def test_negating_a_comparison_fails_at_trace_time_with_numpys_message() -> None:
    with pytest.raises(TypeError, match="boolean negative"):
        ed.trace(lambda x, y: -(x > y), np.ones(2), np.zeros(2))


@pytest.mark.parametrize("fn", [ed.sigmoid, ed.softplus, ed.logsumexp])
def test_eager_stable_functions_keep_float32_as_traced(fn: Callable[[Any], Any]) -> None:
    x = np.array([-3.0, 0.5, 40.0], dtype=np.float32)
    eager = fn(x)
    traced = ed.jit(fn)(x)
    assert eager.dtype == traced.dtype == np.float32
    assert fn(np.array([1, 2])).dtype == np.float64
