"""The op table: every op has every entry each layer needs, and the careful impls are accurate."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from egraph_dsl import ops
from egraph_dsl.errors import ShapeError

INTEGER_ONLY = frozenset({"invert", "bitwise_and", "bitwise_or", "bitwise_xor"})


@pytest.mark.parametrize("name", sorted(ops.OPS))
def test_every_op_is_fully_declared(name: str) -> None:
    spec = ops.OPS[name]
    assert spec.name == name and spec.egg and callable(spec.impl)
    assert spec.real is not None, f"{name} has no real semantics for proofs"
    assert spec.domain, f"{name} has no domain note"
    if spec.kind is ops.Kind.ELEMENTWISE:
        assert spec.c_expr, f"elementwise op {name} has no scalar C expression for fused kernels"
    assert ops.BY_EGG[spec.egg] is spec


def test_shape_rules_cover_every_op() -> None:
    samples = {
        "matmul": ((3, 4), (4,)), "trace": ((3, 3),), "diagonal": ((3, 5),), "where": ((2,), (2,), (2,)),
        "scatter_add": ((2, 3), (3,)), "scatter": ((4,), (3,), (3,)), "bincount": ((3,), (3,)),
        "solve": ((2, 3, 3), (3,)), "inv": ((3, 3),), "det": ((2, 3, 3),), "slogdet_sign": ((3, 3),),
        "logabsdet": ((3, 3),), "cholesky": ((2, 3, 3),),
    }
    for name, spec in ops.OPS.items():
        if spec.kind is ops.Kind.LEAF:
            continue
        shapes = samples.get(name, ((2, 3),) * spec.arity)
        attrs = {"axis": (0,), "keepdims": False, "axes": (1, 0), "shape": (3, 2), "dtype": "float32",
                 "slices": ((1, -1, -1), (0, 3, 2)), "dim": 1, "size": 4}
        if name == "broadcast_to":
            attrs["shape"] = (4, 2, 3)
        out = ops.infer_shape(name, shapes, attrs)
        args = [np.ones(s, dtype=np.int64 if name in INTEGER_ONLY else np.float64) for s in shapes]
        if name == "take":
            args[1] = np.array([[0, -1], [2, 1]])
            shapes = ((2, 3), (2, 2))
            out = ops.infer_shape(name, shapes, attrs)
        if name in ("solve", "inv", "cholesky"):  # np.ones is singular
            args[0] = np.broadcast_to(np.eye(3) * 2.0, shapes[0])
        if name == "index_check":
            args[0] = np.array([[0, -1, 2], [1, 1, 0]])
        if name == "scatter":  # base (4,) with entries 0 and 3 written, the last write to 3 winning
            args[2] = np.array([0, 3, 3])
        if name == "bincount":  # weights (3,) summed into 4 bins
            args[0] = np.array([0, 3, 3])
        if name == "scatter_add":  # updates (2, 3) added at indices (3,) along dim 1 of size 4
            args[1] = np.array([0, 3, 3])
            assert out == (2, 4)
        with np.errstate(all="ignore"):  # arctanh(1) is inf, with a warning
            expected = spec.impl(np, *args, **{a: attrs[a] for a in spec.attrs})
        assert np.shape(expected) == out, name


def test_matmul_shape_errors_name_both_shapes() -> None:
    with pytest.raises(ShapeError, match=r"\(3, 4\) and \(5,\)"):
        ops.matmul_shape((3, 4), (5,))


def test_sigmoid_softplus_logsumexp_are_accurate_at_extremes() -> None:
    x = np.array([-800.0, -40.0, -1e-300, 0.0, 1e-300, 40.0, 800.0, -np.inf, np.inf])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(ops.OPS["sigmoid"].impl(np, x), scipy.special.expit(x), rtol=1e-15)
        np.testing.assert_allclose(ops.OPS["softplus"].impl(np, x), np.logaddexp(0, x), rtol=1e-15)
        m = np.array([[1000.0, 1000.0], [-1000.0, 0.0], [-np.inf, -np.inf]])
        got = ops.OPS["logsumexp"].impl(np, m, axis=(1,), keepdims=False)
        np.testing.assert_allclose(got, scipy.special.logsumexp(m, axis=1), rtol=1e-15)


def test_float32_impls_keep_their_dtype() -> None:
    x = np.linspace(-5, 5, 7, dtype=np.float32)
    for name in ("sigmoid", "softplus"):
        assert ops.OPS[name].impl(np, x).dtype == np.float32
    assert ops.OPS["logsumexp"].impl(np, x, axis=None, keepdims=False).dtype == np.float32


def test_slice_shape_rule_refuses_unnormalized_slices() -> None:
    assert ops.slice_shape((5,), ((4, -1, -2),)) == (3,)
    for bad in (((0, 5, 0),), ((-1, -1, -1),), ((6, 7, 1),)):
        with pytest.raises(ShapeError, match="slice"):
            ops.slice_shape((5,), bad)
    with pytest.raises(ShapeError, match="integers"):
        ops.infer_dtype("take", ("float64", "float64"), {"dim": 0})


# ops reached by something other than a ufunc of their own (``ufunc`` / ``scipy`` give the rest)
OTHER_SPELLINGS = {"where": "np.where", "astype": "ndarray.astype", "softplus": "ed.softplus"}


@pytest.mark.parametrize("name", sorted(n for n, s in ops.OPS.items() if s.elementwise))
def test_every_elementwise_op_has_a_spelling_semantics_and_a_cost(name: str) -> None:
    """A spelling the tracer knows, the C expression, semantics in mpmath and in z3 (or an explicit
    "not provable"), and a FLOP count: an op added without one of them fails here."""
    import z3
    from egraph_dsl.proofs.semantics import MpMath
    from egraph_dsl.proofs.ufunc_semantics import UnsupportedError
    from egraph_dsl.proofs.z3_semantics import Z3Real

    spec = ops.OPS[name]
    spellings = [s for s in (spec.ufunc, spec.scipy, OTHER_SPELLINGS.get(name)) if s]
    assert spellings, f"{name} has no NumPy, scipy.special or other spelling"
    if spec.ufunc:
        assert ops.NUMPY_UFUNCS[spec.ufunc] == name and isinstance(getattr(np, spec.ufunc), np.ufunc)
    if spec.scipy:
        assert ops.SCIPY_UFUNCS[spec.scipy] == name and isinstance(getattr(scipy.special, spec.scipy), np.ufunc)
    assert spec.flops_per_element > 0, f"{name} has no cost"
    assert spec.real is not None
    m = MpMath()
    if name == "astype":
        return
    sample = 3.0 if name in INTEGER_ONLY else 1.5 if name == "arccosh" else 0.5  # inside the op's domain
    args = [np.array([m.const(sample)], dtype=object)] * spec.arity
    if name == "where":
        args[0] = np.array([True], dtype=object)
    value = spec.real(m, *args)
    assert np.shape(value) == (1,), name
    z = Z3Real()
    try:
        spec.real(z, *[np.array([z3.Bool("c") if name == "where" and i == 0 else z3.Real(f"x{i}")], dtype=object)
                       for i in range(spec.arity)])
    except UnsupportedError as exc:
        assert "not provable" in str(exc), f"{name}: {exc}"
