"""Arrays the function creates and writes into, and the gathers and scatters around them:
np.take_along_axis, np.bincount, np.add.at, setitem and in-place operators (functional updates),
creation functions with like=, np.divmod and np.modf, against NumPy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.errors import DTypeError, EgraphDslError, TraceError, UnsupportedOperationError
from egraph_dsl.program import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: reach the helpers
from sample_programs import central_difference

EDGE = np.array([-0.0, 0.0, np.nan, np.inf, -np.inf, 1.5, -2.0, 3.25])


def values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(EDGE, size=shape)


def assert_same(got: Any, want: Any) -> None:
    """Bit for bit: shape, dtype, values (nan where nan) and the signs of zeros."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def traced(fn: Any, *args: Any) -> Any:
    outs = evaluate(ed.trace(fn, *args), list(args))
    return outs[0] if len(outs) == 1 else tuple(outs)


# ---------------------------------------------------------------- np.take_along_axis


@st.composite
def along(draw: Any) -> tuple[np.ndarray, np.ndarray, int | None]:
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    x = values(shape, draw(st.integers(0, 1000)))
    if draw(st.booleans()) and len(shape) == 1:
        n = x.size
        return x, np.asarray(draw(st.lists(st.integers(-n, n - 1), max_size=6)), dtype=np.int64), None
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    ishape = [draw(st.sampled_from([1, s])) for s in shape]  # the other axes broadcast
    ishape[axis] = draw(st.integers(0, 5))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    return x, rng.integers(-n, n, size=tuple(ishape)), axis


@given(along(), st.sampled_from([np.int64, np.int32]))
def test_take_along_axis_matches_numpy(case: tuple[np.ndarray, np.ndarray, int | None], dtype: Any) -> None:
    x, idx, axis = case
    idx = idx.astype(dtype)
    assert_same(traced(lambda a, i: np.take_along_axis(a, i, axis=axis), x, idx), np.take_along_axis(x, idx, axis))
    assert_same(traced(lambda a: np.take_along_axis(a, idx, axis=axis), x), np.take_along_axis(x, idx, axis))


def test_take_along_axis_of_argmax_and_its_errors() -> None:
    x = np.array([[3.0, -1.0, 7.0], [0.5, 9.0, -0.0]])
    fn = ed.jit(lambda a: np.take_along_axis(a, np.argmax(a, axis=1, keepdims=True), axis=1))
    assert_same(fn(x), np.max(x, axis=1, keepdims=True))
    with pytest.raises(IndexError, match="out of bounds"):
        ed.jit(lambda a, i: np.take_along_axis(a, i, axis=1))(x, np.array([[0], [3]]))
    with pytest.raises(ValueError, match="same number of dimensions"):
        ed.trace(lambda a: np.take_along_axis(a, np.array([0, 1]), axis=1), x)
    with pytest.raises(IndexError, match="integer"):
        ed.trace(lambda a: np.take_along_axis(a, np.array([[0.0]]), axis=1), x)


# ------------------------------------------------------------------------ np.bincount


@given(st.lists(st.integers(0, 6), max_size=12), st.integers(0, 9), st.integers(0, 1000))
def test_bincount_of_concrete_indices_matches_numpy(idx: list[int], minlength: int, seed: int) -> None:
    x = np.asarray(idx, dtype=np.int64)
    w = values((len(idx),), seed)
    assert_same(traced(lambda v: np.bincount(x, weights=v, minlength=minlength), w),
                np.bincount(x, weights=w, minlength=minlength))
    w32 = w.astype(np.float32)  # NumPy sums weights in float64
    assert_same(traced(lambda v: np.bincount(x, weights=v, minlength=minlength), w32),
                np.bincount(x, weights=w32, minlength=minlength))


@given(st.lists(st.integers(0, 6), max_size=12), st.integers(7, 9), st.integers(0, 1000))
def test_bincount_of_traced_indices_matches_numpy(idx: list[int], minlength: int, seed: int) -> None:
    x = np.asarray(idx, dtype=np.int64)
    w = values((len(idx),), seed)
    assert_same(traced(lambda i, v: np.bincount(i, v, minlength), x, w), np.bincount(x, w, minlength))
    assert_same(traced(lambda i: np.bincount(i, minlength=minlength), x), np.bincount(x, minlength=minlength))


def test_bincount_needs_a_static_length_for_traced_indices() -> None:
    x, w = np.array([0, 2, 2, 5]), np.array([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(UnsupportedOperationError, match=r"np.bincount of traced indices .*test_writes.py.*pass minlength"):
        ed.jit(lambda i, v: np.bincount(i, v))(x, w)
    fn = ed.jit(lambda i, v: np.bincount(i, v, minlength=4))
    with pytest.raises(ValueError, match="index 5 does not fit the traced length 4"):
        fn(x, w)
    with pytest.raises(ValueError, match="non-negative"):
        fn(np.array([0, -1, 2, 3]), w)
    with pytest.raises(ValueError, match="no negative elements"):
        ed.trace(lambda v: np.bincount(np.array([0, -1, 1, 1]), v), w)
    with pytest.raises(TypeError, match="Cannot cast"):
        ed.trace(lambda v: np.bincount(np.array([0.0, 1.0, 1.0, 2.0]), v), w)
    with pytest.raises(ValueError, match="same length"):
        ed.trace(lambda v: np.bincount(np.array([0, 1]), v), w)


# --------------------------------------------------------------- creation functions


def test_creation_functions_with_like_and_the_like_functions_match_numpy() -> None:
    v = np.array([1.5, -2.0, 0.25])
    cases = {
        "zeros": lambda a: np.zeros((2, 3), like=a) + a,
        "ones-int": lambda a: np.ones(3, dtype=np.int32, like=a) * 2,
        "empty": lambda a: np.empty(3, like=a) * 0.0 + a,
        "full": lambda a: np.full(3, 2.7, dtype=np.int64, like=a) + a,
        "arange": lambda a: np.arange(3, like=a) * a,
        "eye": lambda a: np.eye(3, like=a) @ a,
        "identity": lambda a: np.identity(3, like=a) @ a,
        "tri": lambda a: np.tri(3, like=a) @ a,
        "zeros_like-shape": lambda a: np.zeros_like(a, shape=(2, 3)) + a,
        "full_like": lambda a: np.full_like(a, -0.0) * a,
        "empty_like": lambda a: np.empty_like(a, dtype=np.int64) * 0,
        "copy": lambda a: np.copy(a) + a.copy(),
    }
    for name, fn in cases.items():
        assert_same(ed.jit(fn)(v), fn(v)), name


# ------------------------------------------------------------------ setitem, add.at


@st.composite
def writes(draw: Any) -> tuple[tuple[int, ...], Any, tuple[int, ...]]:
    """A shape, a key NumPy accepts for an assignment into it (slices, ints, integer arrays with
    repeats and negatives), and a shape of values that broadcasts into the selection."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    key: list[Any] = []
    for n in shape[:draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "array"]))
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
            key.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -2]))))
        else:
            key.append(np.asarray(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4)), dtype=np.int64))
    arrays = [k for k in key if isinstance(k, np.ndarray)]
    if len(arrays) > 1:  # several index arrays must broadcast together: give them one length
        length = len(arrays[0])
        key = [k[:length] if isinstance(k, np.ndarray) and len(k) >= length else
               np.resize(k, length) if isinstance(k, np.ndarray) else k for k in key]
    selection = np.zeros(shape)[tuple(key)].shape
    vshape = tuple(draw(st.sampled_from([1, n])) for n in selection[len(selection) - draw(st.integers(0, len(selection))):])
    return shape, tuple(key), vshape


@settings(max_examples=150)
@given(writes(), st.integers(0, 1000))
def test_setitem_matches_numpy(case: tuple[tuple[int, ...], Any, tuple[int, ...]], seed: int) -> None:
    shape, key, vshape = case
    base, v = values(shape, seed), values(vshape, seed + 1)

    def fn(b: Any, u: Any) -> Any:
        out = b.copy()
        out[key] = u  # repeated indices: the last write wins
        return out

    assert_same(traced(fn, base, v), fn(base, v))


@settings(max_examples=100)
@given(writes(), st.integers(0, 1000))
def test_add_at_and_augmented_assignment_match_numpy(case: tuple[tuple[int, ...], Any, tuple[int, ...]],
                                                     seed: int) -> None:
    shape, key, vshape = case
    v = values(vshape, seed)
    v = np.where(np.isfinite(v), v, 1.0)  # sums in another order may differ in the last bit, never in kind
    assert np.ones((), like=np.zeros(2)).dtype == np.float64

    def scatter(u: Any) -> Any:
        out = np.zeros(shape, like=u)
        np.add.at(out, key, u)  # repeated indices accumulate
        return out

    def augmented(u: Any) -> Any:
        out = np.ones(shape, like=u)
        out[key] += u  # repeated indices do not: one read, one write
        out *= 2.0
        return out

    assert_same(traced(scatter, v), scatter(v))
    assert_same(traced(augmented, v), augmented(v))


def test_writes_by_traced_indices_and_masks() -> None:
    def fn(i: Any, v: Any, x: Any) -> Any:
        out = np.zeros(5, like=v)
        out[i] = v
        y = x * 1.0
        y[y < 0] = -0.0
        z = np.arange(5, like=x)
        z[i] = v  # NumPy's unsafe cast into an integer array
        return out, y, z

    i, v, x = np.array([1, -1, 1, 3]), np.array([1.0, 2.0, 3.5, -4.0]), np.array([-1.0, 2.0, -3.0, np.nan, 0.5])
    for got, want in zip(ed.jit(fn)(i, v, x), fn(i, v, x), strict=True):
        assert_same(got, want)
    with pytest.raises(IndexError):
        ed.jit(fn)(np.array([0, 5, 1, 1]), v, x)


def test_writes_gradients_match_finite_differences() -> None:
    idx = np.array([0, 2, 2, 1, 0, 3, 3, 3])

    def fn(x: Any, v: Any) -> Any:
        out = np.zeros(6, like=x)
        out[[0, 2, 2, 5]] = v  # v[1] is overwritten: its gradient is 0
        out[1:3] += x[:2]
        np.add.at(out, idx[:5], x[:5])
        out[-1] *= x[7]
        counts = np.bincount(idx, weights=x, minlength=5)
        picked = np.take_along_axis(x.reshape(2, 4), np.array([[3, 0], [-1, 1]]), axis=1)
        return np.sum(out ** 2) + np.sum(counts ** 3) + np.sum(np.sin(picked))

    x, v = np.linspace(-1.0, 1.0, 8), np.array([1.0, 2.0, 3.0, 4.0])
    gx, gv = ed.grad(fn, argnums=(0, 1))(x, v)
    np.testing.assert_allclose(gx, central_difference(fn, [x, v], 0), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(gv, central_difference(fn, [x, v], 1), rtol=1e-7, atol=1e-7)
    assert gv[1] == 0.0


def test_writes_into_arguments_views_and_numpy_arrays_are_refused() -> None:
    x = np.arange(4.0)

    def into_argument(a: Any) -> Any:
        a[0] = 1.0
        return a

    def augmented_argument(a: Any) -> Any:
        a += 1.0
        return a

    def into_view(a: Any) -> Any:
        out = a * 2.0
        row = out[1:]
        row[0] = 5.0
        return out

    def stale_view(a: Any) -> Any:
        out = a * 2.0
        head = out[:2]
        out[0] = 5.0
        return head + 1.0

    def into_numpy(a: Any) -> Any:
        out = np.zeros(4)
        out[:2] = a[:2]
        return out

    def add_at_numpy(a: Any) -> Any:
        out = np.zeros(4)
        np.add.at(out, [0, 0], a[:2])
        return out

    def add_at_int(a: Any) -> Any:
        out = np.zeros(4, dtype=np.int64, like=a)
        np.add.at(out, [0, 0], a[:2])
        return out

    for fn, error, match in [
        (into_argument, UnsupportedOperationError, "writes into an argument .*test_writes.py.*x.copy"),
        (augmented_argument, UnsupportedOperationError, "never modifies the caller's arrays"),
        (into_view, UnsupportedOperationError, "writes into a view of another array"),
        (stale_view, TraceError, "written into after the view was taken .*return head"),
        (into_numpy, UnsupportedOperationError, r"into a NumPy array .*out\[:2\] = a\[:2\].*like="),
        (add_at_numpy, UnsupportedOperationError, "np.add.at writes into a NumPy array .*like="),
        (add_at_int, DTypeError, "same_kind"),
    ]:
        with pytest.raises(error, match=match):
            ed.jit(fn)(x)
    with pytest.raises(EgraphDslError, match=r"np\.subtract\.at is not supported"):
        ed.jit(lambda a: np.subtract.at(np.zeros(4, like=a), [0], a[:1]))(x)


def test_scalars_rebind_on_augmented_assignment_and_copies_are_fresh() -> None:
    def fn(a: Any) -> Any:
        total = np.sum(a)
        total += 1.0  # a NumPy scalar: rebinds
        y = a.copy()
        y += total  # a copy: in place, the argument untouched
        alias = y
        alias[0] = -0.0  # the same array under another name
        return y, a

    x = np.array([1.0, 2.0, 3.0])
    got, want = ed.jit(fn)(x), fn(x.copy())
    for g, w in zip(got, want, strict=True):
        assert_same(g, w)
    assert got[1] is not x


# ---------------------------------------------------------------- np.divmod, np.modf

NUMBERS = np.array([-0.0, 0.0, 7.5, -7.5, 3.0, -3.0, np.inf, -np.inf, np.nan, 1e300, -1e-300])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_divmod_and_modf_match_numpy(dtype: Any) -> None:
    with np.errstate(all="ignore"):
        a = NUMBERS.astype(dtype)
        b = np.roll(NUMBERS, 3).astype(dtype)  # integers: divisions by zero too (0, as NumPy gives)
        for got, want in zip(traced(lambda p, q: np.divmod(p, q), a, b), np.divmod(a, b), strict=True):
            assert_same(got, want)
        for got, want in zip(traced(np.modf, a), np.modf(a), strict=True):
            assert_same(got, want)
    with pytest.raises(DTypeError, match="modf of \\(bool\\) computes in float16"):  # as NumPy's loop does
        ed.trace(np.modf, np.array([True, False]))


@pytest.mark.parametrize("backend", ["numpy", "native"])
def test_writes_run_on_each_backend(backend: str) -> None:
    """The native backend fuses the elementwise parts and runs scatter / bincount by their impls."""
    from egraph_dsl.errors import BackendUnavailableError

    def fn(i: Any, x: Any) -> Any:
        out = np.zeros(5, like=x)
        out[i] = x * 2.0
        np.add.at(out, i, np.exp(x))
        return np.sin(out) + np.bincount(i, weights=x, minlength=5)

    i, x = np.array([1, 4, 1, 0]), np.array([0.5, -1.0, 2.0, -0.0])
    try:
        got = ed.jit(fn, backend=backend)(i, x)
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))
    assert_same(got, fn(i, x))


def test_in_place_casting_follows_numpys_same_kind_rule() -> None:
    def fn(a: Any) -> Any:
        y = a.astype(np.float32)
        y += a  # float64 into float32: same_kind, allowed
        z = np.arange(3, like=a)
        z[0] = 2.7  # a Python float into an int array: truncated, as NumPy
        z *= 2
        return y, z

    x = np.array([1.5, -2.0, 1e-45])
    for got, want in zip(ed.jit(fn)(x), fn(x), strict=True):
        assert_same(got, want)
    with pytest.raises(DTypeError, match="same_kind"):
        ed.trace(lambda a: (lambda z: z.__iadd__(a))(np.arange(3, like=a)), x)
    with pytest.raises(ValueError, match="cannot convert float nan to integer"):
        ed.trace(lambda a: np.arange(3, like=a).__setitem__(0, np.nan), x)
    with pytest.raises(OverflowError, match="out of bounds for int32"):
        ed.trace(lambda a: np.arange(3, dtype=np.int32, like=a).__setitem__(0, 2**40), x)
    with pytest.raises(ValueError, match="non-broadcastable output"):
        ed.trace(lambda a: (lambda z: z.__iadd__(np.ones((2, 3))))(a * 1.0), x)
