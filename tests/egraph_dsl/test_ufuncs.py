"""NumPy's elementwise ufuncs (and scipy.special's) traced by ``ed.jit``: every spelling gives
NumPy's result bit for bit (values, nan, signed zeros, dtype, shape) on edge values, empty and
0-d arrays, negative strides and mixed Python-scalar operands, and NumPy's refusals."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import egraph_dsl as ed
from egraph_dsl import ops
from egraph_dsl.errors import DTypeError, EgraphDslError, UnsupportedOperationError

DTYPES = ("bool", "int32", "int64", "float32", "float64")
SHAPES = ((), (0,), (6,), (2, 3))

UNARY: dict[str, Callable[[Any], Any]] = {
    **{f"np.{n}": getattr(np, n) for n in (
        "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
        "exp2", "log2", "log10", "cbrt", "reciprocal", "sign", "floor", "ceil", "trunc", "rint", "isfinite",
        "isnan", "isinf", "signbit", "logical_not", "invert", "bitwise_not", "bitwise_invert", "fabs", "positive",
        "round", "around", "absolute", "negative", "exp", "sqrt")},
    "~a": operator.invert, "a.round()": lambda a: a.round(), "np.round(a, 0)": lambda a: np.round(a, 0),
}
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    **{f"np.{n}": getattr(np, n) for n in (
        "arctan2", "hypot", "copysign", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
        "bitwise_xor", "floor_divide", "remainder", "mod", "fmod")},
    "a & b": operator.and_, "a | b": operator.or_, "a ^ b": operator.xor, "a // b": operator.floordiv,
    "a % b": operator.mod,
}
try:
    import scipy.special as special
except ImportError:  # scipy is optional: its spellings are tested where it is installed
    special = None
SCIPY_UNARY: dict[str, Callable[[Any], Any]] = {} if special is None else {
    f"scipy.special.{n}": getattr(special, n) for n in ("expit", "log_expit", "logit", "erf", "erfc", "ndtr",
                                                        "log_ndtr", "gammaln")}
SCIPY_BINARY: dict[str, Callable[[Any, Any], Any]] = {} if special is None else {
    f"scipy.special.{n}": getattr(special, n) for n in ("xlogy", "xlog1py")}


# ------------------------------------------------------------------------------ inputs


def _edges(dtype: str) -> list[Any]:
    if dtype == "bool":
        return [False, True]
    if dtype.startswith("int"):
        info = np.iinfo(dtype)
        return [0, 1, -1, 2, -2, 3, -7, 7, int(info.min), int(info.max), int(info.min) + 1]
    f = np.finfo(dtype)
    return [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, 0.3, 0.65, -3.5, 1e-3,
            700.0, -745.0, 40.0, float(f.max), -float(f.max), float(f.tiny), float(f.smallest_subnormal),
            -float(f.smallest_subnormal), 1e300 if dtype == "float64" else 1e30]


def _elements(dtype: str) -> st.SearchStrategy[Any]:
    if dtype == "bool":
        return st.booleans()
    edges = st.sampled_from(_edges(dtype))
    if dtype.startswith("int"):
        info = np.iinfo(dtype)
        return edges | st.integers(-20, 20) | st.integers(int(info.min), int(info.max))
    return edges | st.floats(width=32 if dtype == "float32" else 64)


@st.composite
def arrays(draw: st.DrawFn, dtype: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An array of ``dtype``: sometimes a negatively strided view, so NumPy's strided loops run too."""
    shape = draw(st.sampled_from(SHAPES)) if shape is None else shape
    a: np.ndarray = draw(hnp.arrays(np.dtype(dtype), shape, elements=_elements(dtype)))
    if a.ndim and draw(st.booleans()):
        return a[::-1]
    return a


# spellings traced to an op of egraph-dsl's own rather than the library's routine, with the bound
# they are held to: scipy.special.expit is the sigmoid op (exp of -|x| only, never overflowing)
ULP_BOUNDS = {"scipy.special.expit": 2}


def ulps_apart(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Distance in units in the last place, through the ordered integer view of the floats."""
    ints = np.dtype(f"int{8 * got.dtype.itemsize}")
    lowest = int(np.iinfo(ints).min)

    def ordered(a: np.ndarray) -> np.ndarray:
        i = a.view(ints).astype(np.int64)
        out: np.ndarray = np.where(i < 0, lowest - i, i)
        return out

    distance: np.ndarray = np.abs(ordered(got) - ordered(want))
    return distance


def numpy_result(fn: Callable[..., Any], *args: Any) -> tuple[Any, Exception | None]:
    with np.errstate(all="ignore"):
        try:
            return fn(*args), None
        except Exception as exc:  # NumPy's refusals are what the jit must match
            return None, exc


def assert_identical(got: Any, want: Any, where: str, ulps: int = 0) -> None:
    """Bit for bit: dtype, shape, values, nan where nan, the sign of every zero (with ``ulps``:
    finite values that close, nan, infinities and zero signs still exactly NumPy's)."""
    got_a, want_a = np.asarray(got), np.asarray(want)
    assert got_a.dtype == want_a.dtype, f"{where}: dtype {got_a.dtype}, NumPy {want_a.dtype}"
    assert got_a.shape == want_a.shape, f"{where}: shape {got_a.shape}, NumPy {want_a.shape}"
    if ulps:
        close = (np.isfinite(want_a) & np.isfinite(got_a) & (np.signbit(got_a) == np.signbit(want_a))
                 & (ulps_apart(got_a, want_a) <= ulps))
        got_a, want_a = np.where(close, 1, got_a).astype(got_a.dtype), np.where(close, 1, want_a).astype(got_a.dtype)
    np.testing.assert_array_equal(got_a, want_a, err_msg=where, strict=True)
    if want_a.dtype.kind == "f":  # the sign of every number and zero (a nan's sign bit carries nothing)
        numbers = ~np.isnan(want_a)
        np.testing.assert_array_equal(np.signbit(got_a[numbers]), np.signbit(want_a[numbers]),
                                      err_msg=f"{where}: zero signs")


def _describe(a: Any) -> str:
    return f"{type(a).__name__} {a!r}" if not isinstance(a, np.ndarray) else f"{a.dtype}{list(a.shape)} {a.tolist()!r}"


def accepts(fn: Callable[..., Any], *args: Any) -> bool:
    """Whether NumPy computes ``fn(*args)`` in dtypes egraph-dsl has (not float16, int8, or a refusal)."""
    want, refused = numpy_result(fn, *args)
    return refused is None and np.asarray(want).dtype.name in DTYPES


def _sample(dtype: str) -> np.ndarray:
    return np.ones(1, dtype=dtype)


_BATCHES: dict[tuple[str, ...], Callable[..., Any]] = {}


def batch(spellings: dict[str, Callable[..., Any]], names: tuple[str, ...]) -> Callable[..., Any]:
    """One jitted function computing every named spelling (one compile per signature for all of
    them: the e-graph's setup dominates a compile); cached, so examples reuse its programs."""
    if names not in _BATCHES:
        fns = [spellings[n] for n in names]
        _BATCHES[names] = ed.jit(lambda *args: tuple(fn(*args) for fn in fns))
    return _BATCHES[names]


def check_batch(spellings: dict[str, Callable[..., Any]], names: list[str], *args: Any) -> None:
    """Every named spelling of ``args`` through jit equals NumPy's result bit for bit."""
    if not names:
        return
    with np.errstate(all="ignore"):  # NumPy warns where the jit's compile casts a weak 1e300 to float32 too
        got = batch(spellings, tuple(names))(*args)
    for name, g in zip(names, got, strict=True):
        want, refused = numpy_result(spellings[name], *args)
        assert refused is None, (name, refused)
        assert_identical(g, want, f"{name} of {', '.join(_describe(a) for a in args)}", ULP_BOUNDS.get(name, 0))


def check_refusal(name: str, fn: Callable[..., Any], *args: Any) -> None:
    """Where NumPy refuses (or computes in a dtype egraph-dsl lacks), jit refuses at trace time."""
    _, refused = numpy_result(fn, *args)
    with pytest.raises((EgraphDslError, *((type(refused),) if refused is not None else ()))):
        ed.jit(fn)(*args)


ALL_UNARY = {**UNARY, **SCIPY_UNARY}
ALL_BINARY = {**BINARY, **SCIPY_BINARY}
ALL_SPELLINGS: dict[str, Callable[..., Any]] = {**ALL_UNARY, **ALL_BINARY}


# ------------------------------------------------------------------------------- tests


@given(data=st.data())
def test_unary_spellings_match_numpy(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(DTYPES))
    x = data.draw(arrays(dtype))
    check_batch(ALL_UNARY, [n for n, fn in ALL_UNARY.items() if accepts(fn, _sample(dtype))], x)


@given(data=st.data())
def test_binary_spellings_match_numpy(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(DTYPES))
    other = data.draw(st.sampled_from(DTYPES)) if data.draw(st.booleans()) else dtype  # mixed dtypes promote
    x = data.draw(arrays(dtype))
    y = data.draw(arrays(other, x.shape if data.draw(st.booleans()) else ()))
    for a, b in ((x, y), (y, x)):
        check_batch(ALL_BINARY, [n for n, fn in ALL_BINARY.items() if accepts(fn, _sample(a.dtype.name),
                                                                              _sample(b.dtype.name))], a, b)


@pytest.mark.parametrize("name", sorted(ALL_SPELLINGS))
def test_refusals_are_numpys(name: str) -> None:
    fn = ALL_SPELLINGS[name]
    arity = 1 if name in ALL_UNARY else 2
    for dtype in DTYPES:
        for other in (DTYPES if arity == 2 else (None,)):
            args = (_sample(dtype),) if other is None else (_sample(dtype), _sample(other))
            if not accepts(fn, *args):
                check_refusal(name, fn, *args)


PYTHON_SCALARS = st.sampled_from([0, 1, -1, 2, -3, 7, 2**40, True, False, 0.0, -0.0, 1.5, -2.5, 0.5, float("inf"),
                                  float("nan"), 1e300])


@given(data=st.data())
def test_binary_spellings_with_a_python_scalar_match_numpy(data: st.DataObject) -> None:
    """A Python scalar is weak (NEP 50): ``int32_array // 2`` stays int32, ``int_array % 1.5`` is
    float64, and a Python int out of the array's range is NumPy's OverflowError."""
    dtype = data.draw(st.sampled_from(DTYPES))
    x = data.draw(arrays(dtype))
    s = data.draw(PYTHON_SCALARS)
    for args in ((x, s), (s, x)):  # the scalar as an argument: weak, as NumPy treats it
        names = [n for n, fn in ALL_BINARY.items() if accepts(fn, *[_sample(dtype) if a is x else a for a in args])]
        check_batch(ALL_BINARY, names, *args)
        for name in set(ALL_BINARY) - set(names):
            check_refusal(name, ALL_BINARY[name], *args)


@pytest.mark.parametrize("s", [3, -2, 1.5, -0.0, True, float("nan")])
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_spellings_with_a_constant_python_scalar_match_numpy(dtype: str, s: Any) -> None:
    """The scalar closed over: a weak constant of the program."""
    x = np.array(_edges(dtype), dtype=dtype)
    fns = {name: (lambda f: lambda a: f(a, s))(fn) for name, fn in ALL_BINARY.items()}
    fns |= {f"{name} reflected": (lambda f: lambda a: f(s, a))(fn) for name, fn in ALL_BINARY.items()}
    names = [n for n, fn in fns.items() if accepts(fn, x)]
    assert names
    with np.errstate(all="ignore"):
        got = ed.jit(lambda a: tuple(fns[n](a) for n in names))(x)
    for name, g in zip(names, got, strict=True):
        assert_identical(g, numpy_result(fns[name], x)[0], f"{name} with {s!r} on {dtype}")


@pytest.mark.parametrize("op", ["a // b", "a % b", "a & b", "a | b", "a ^ b"])
@pytest.mark.parametrize(("a", "b"), [(7, 2), (-7, 2), (7, -2), (True, True), (True, 3), (False, True), (7.5, 2),
                                      (-7.5, 2.0), (3, 0.5), (2**40, 3)])
def test_operators_between_python_scalars_follow_python(op: str, a: Any, b: Any) -> None:
    """Between Python scalars traced as arguments, an operator computes what Python computes and
    returns NumPy's default dtype for Python's result type (``True & True`` is a bool)."""
    fn = BINARY[op]
    try:
        want = fn(a, b)
    except TypeError:
        with pytest.raises(DTypeError, match="unsupported operand"):
            ed.jit(fn)(a, b)
        return
    got = np.asarray(ed.jit(fn)(a, b))
    assert got.dtype == np.asarray(want).dtype and got.shape == ()
    assert got.item() == want and np.signbit(got) == np.signbit(want)


def test_python_scalars_divided_by_zero_at_run_time_give_numpys_value() -> None:
    """Python raises ZeroDivisionError for ``7 // 0``; a traced argument's value is only known when
    the program runs, where the division is NumPy's (0 for ints, inf/nan for floats)."""
    f = ed.jit(lambda a, b: (a // b, a % b))
    with np.errstate(all="ignore"):
        for a, b in ((7, 0), (7.0, 0.0), (-1.0, 0.0)):
            for g, w in zip(f(a, b), (np.floor_divide(a, b), np.remainder(a, b)), strict=True):
                assert_identical(g, w, f"{a!r}, {b!r}")


def test_invert_of_a_python_bool_is_pythons_int() -> None:
    got = ed.jit(lambda a: ~a)(True)
    assert np.asarray(got).dtype == np.int64 and int(got) == -2


@pytest.mark.parametrize(("fn", "dtype", "message"), [
    (operator.invert, "float64", "ufunc 'invert' not supported"),
    (np.bitwise_and.reduce, "int32", "bitwise_and.reduce"),
    (lambda a: a & 1.5, "int64", "bitwise_and"),
    (np.sign, "bool", "sign"),
    (np.sin, "bool", "float16"),
    (lambda a: a // a, "bool", "int8"),
    (lambda a: np.round(a, 2), "float64", "decimals=2"),
    (np.frexp, "float64", "np.frexp is not supported"),
])
def test_refusals_name_the_ufunc_and_the_line(fn: Callable[[Any], Any], dtype: str, message: str) -> None:
    with pytest.raises((DTypeError, UnsupportedOperationError), match=message) as info:
        ed.jit(fn)(np.ones(3, dtype=dtype))
    assert "test_ufuncs.py" in str(info.value)  # the user's source line


def test_logical_ops_give_bool_for_any_input() -> None:
    x = np.array([0.0, -0.0, np.nan, 2.5, -np.inf])
    i = np.array([0, 3, -1, 0, 7], dtype=np.int32)
    got = ed.jit(lambda a, b: (np.logical_and(a, b), np.logical_or(a, 0), np.logical_xor(b, True), np.logical_not(a)))(x, i)
    want = (np.logical_and(x, i), np.logical_or(x, 0), np.logical_xor(i, True), np.logical_not(x))
    for g, w in zip(got, want, strict=True):
        assert_identical(g, w, "logical")
        assert g.dtype == np.bool_


def test_integer_division_by_zero_is_numpys() -> None:
    """int // 0 and int % 0 are 0 in NumPy (with a warning), the lowest int // -1 wraps; float % 0
    is nan, the remainder takes the divisor's sign, fmod the dividend's."""
    for dtype in ("int32", "int64"):
        lowest = np.iinfo(dtype).min
        a = np.array([7, -7, 7, 0, lowest, lowest, 5], dtype=dtype)
        b = np.array([0, 0, -2, 0, -1, 0, -3], dtype=dtype)
        got = ed.jit(lambda p, q: (p // q, p % q, np.fmod(p, q)))(a, b)
        with np.errstate(all="ignore"):
            want = (a // b, a % b, np.fmod(a, b))
        for g, w in zip(got, want, strict=True):
            assert_identical(g, w, dtype)
    x = np.array([1.0, -1.0, 0.0, 7.0, -7.0, np.inf, -0.0])
    y = np.array([0.0, 0.0, 0.0, -2.0, 2.0, 2.0, -3.0])
    got = ed.jit(lambda p, q: (p // q, p % q, np.fmod(p, q)))(x, y)
    with np.errstate(all="ignore"):
        want = (x // y, x % y, np.fmod(x, y))
    for g, w in zip(got, want, strict=True):
        assert_identical(g, w, "float64")


def test_integer_rounding_keeps_the_dtype_and_reciprocal_of_ints_is_integer() -> None:
    i = np.array([-3, 0, 1, -1, 2, 7], dtype=np.int32)
    got = ed.jit(lambda a: (np.floor(a), np.ceil(a), np.trunc(a), np.round(a), np.reciprocal(a), np.rint(a)))(i)
    with np.errstate(all="ignore"):
        want = (np.floor(i), np.ceil(i), np.trunc(i), np.round(i), np.reciprocal(i), np.rint(i))
    for g, w in zip(got, want, strict=True):
        assert_identical(g, w, "int32")
    assert [g.dtype.name for g in got] == ["int32"] * 5 + ["float64"]


def test_every_numpy_ufunc_of_the_table_traces_under_its_own_name() -> None:
    """The tracer's ufunc table is the op table's: each declared name is a NumPy ufunc of that name."""
    for name, op in ops.NUMPY_UFUNCS.items():
        ufunc = getattr(np, name)
        assert isinstance(ufunc, np.ufunc) and ops.spec(op).elementwise, name
        assert ufunc.__name__ == name or name == "true_divide", name  # np.true_divide is np.divide


@pytest.mark.skipif(special is None, reason="scipy is not installed")
def test_every_scipy_ufunc_of_the_table_is_a_scipy_special_ufunc() -> None:
    for name in ops.SCIPY_UFUNCS:
        ufunc = getattr(special, name)
        assert isinstance(ufunc, np.ufunc) and ufunc.__name__ == name


@pytest.mark.skipif(special is None, reason="scipy is not installed")
def test_a_ufunc_that_only_shares_a_name_is_refused() -> None:
    """Dispatch is by identity: scipy.special.exp2 (cephes) is named like np.exp2 but is not it."""
    assert special.exp2.__name__ == "exp2" and special.exp2 is not np.exp2
    with pytest.raises(UnsupportedOperationError, match=r"scipy\.special\.exp2 is not supported"):
        ed.jit(lambda a: special.exp2(a))(np.ones(2))
