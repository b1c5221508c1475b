"""``np.linalg`` under tracing: ``solve``, ``inv``, ``det``, ``slogdet``, ``cholesky`` and ``norm``, with gradients.

``solve``, ``inv``, ``det`` and ``slogdet`` are ops of the table (egraph_dsl/ops.py); each impl is the
``np.linalg`` call itself, so a jitted program runs the same LAPACK routine as the user's code and
its results are NumPy's bit for bit. Operands are cast as ``np.linalg`` casts them: bools and integers
to float64, float32 kept when every operand is float32, float64 otherwise. ``slogdet`` is two ops,
``slogdet_sign`` and ``logabsdet`` (each is ``np.linalg.slogdet(a)[k]``, so a program using both runs
the factorization twice). A matrix is the last two axes; leading axes are a batch, as in NumPy.

``norm`` is no op: for ``ord`` None (any dimension), ``'fro'`` (2-D) or 2 (1-D) without ``axis`` it
is NumPy's own ``sqrt(dot(ravel(x), ravel(x)))`` (no rescaling against overflow in NumPy either), and
with ``axis`` it is NumPy's ``sqrt(add.reduce(x * x, axis))``; other orders are refused.

The vector-Jacobian products (registered into :data:`egraph_dsl.vjp.VJPS`), for ``x = solve(A, b)``:
``db = solve(A^T, g)``, ``dA = -db x^T``; for ``inv``: ``-inv(A)^T g inv(A)^T``; for ``logabsdet``:
``g inv(A)^T``; for ``det``: ``g det(A) inv(A)^T``; the sign has none (it is piecewise constant); for
``cholesky``, Murray (2016) symmetrized (as JAX and PyTorch): the gradient for symmetric perturbations
of ``a``. (LAPACK reads only the lower triangle, so the derivative of NumPy's function in the upper
entries is 0 and in the strict lower ones twice the symmetric gradient.)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import dtypes
from .constants import constant_array
from .errors import ShapeError, UnsupportedOperationError
from .term import Term, const, make
from .trace import LazyArray, _where, elementwise, lift, reduce_, register_functions, reshape
from .vjp import VJPS, Cotangent, Embedded, Masked, sum_to


class SlogdetResult(NamedTuple):
    """What ``np.linalg.slogdet`` returns (NumPy 2's namedtuple fields)."""

    sign: LazyArray
    logabsdet: LazyArray


def _operands(name: str, *xs: Any) -> list[Term]:
    """The operands as terms of np.linalg's common type: float32 only if all are float32."""
    lifted = [lift(x, f"operand of np.linalg.{name}") for x in xs]
    for lx in lifted:
        if lx.term.weak:
            raise ShapeError(f"np.linalg.{name}: a Python scalar is not a matrix{_where()}; pass an array")
    dtype = "float32" if all(lx.term.dtype == "float32" for lx in lifted) else "float64"
    return [lx.term if lx.term.dtype == dtype else make("astype", [lx.term], dtype=dtype) for lx in lifted]


def _make(op: str, args: list[Term]) -> LazyArray:
    try:
        return LazyArray(make(op, args))
    except ShapeError as exc:
        raise ShapeError(f"{exc}{_where()}") from None


def solve(a: Any, b: Any) -> LazyArray:
    """np.linalg.solve(a, b): b a vector (1-D) or a (stack of) matrices."""
    return _make("solve", _operands("solve", a, b))


def inv(a: Any) -> LazyArray:
    """np.linalg.inv(a)."""
    return _make("inv", _operands("inv", a))


def det(a: Any) -> LazyArray:
    """np.linalg.det(a)."""
    return _make("det", _operands("det", a))


def slogdet(a: Any) -> SlogdetResult:
    """np.linalg.slogdet(a): (sign, logabsdet)."""
    (t,) = _operands("slogdet", a)
    return SlogdetResult(_make("slogdet_sign", [t]), _make("logabsdet", [t]))


def cholesky(a: Any, upper: bool = False) -> LazyArray:
    """np.linalg.cholesky(a): the lower factor L with a = L L^T (only a's lower triangle is read)."""
    if upper:
        raise UnsupportedOperationError(f"np.linalg.cholesky(upper=True){_where()}: only the lower factor is "
                                        "traced; take np.linalg.cholesky(a).T (or .mT for a stack) instead")
    return _make("cholesky", _operands("cholesky", a))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> LazyArray:
    """np.linalg.norm for the 2-norm of vectors and the Frobenius norm, as NumPy computes them."""
    lx = lift(x, "operand of np.linalg.norm")
    if lx.term.weak:
        raise ShapeError(f"np.linalg.norm: a Python scalar is not an array{_where()}; pass an array")
    if not dtypes.is_float(lx.term.dtype):  # NumPy: x.astype(float)
        lx = LazyArray(make("astype", [lx.term], dtype="float64"))
    ndim = lx.ndim
    if axis is None:
        if ord is None or (ord in ("f", "fro") and ndim == 2) or (ord == 2 and ndim == 1):
            flat = reshape(lx, (lx.size,))
            out = elementwise("sqrt", _make("matmul", [flat.term, flat.term]))
            return reshape(out, (1,) * ndim) if keepdims else out
        raise UnsupportedOperationError(
            f"np.linalg.norm(ord={ord!r}) of a {ndim}-d array{_where()}: only the 2-norm of vectors (ord None or 2) "
            "and the Frobenius norm (ord None or 'fro') are traced; write other norms with np.sum / np.max")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if (len(axes) == 1 and ord in (None, 2)) or (len(axes) == 2 and ord in (None, "f", "fro")):
        return elementwise("sqrt", reduce_("sum", elementwise("mul", lx, lx), axes, keepdims))
    raise UnsupportedOperationError(
        f"np.linalg.norm(ord={ord!r}, axis={axis!r}){_where()}: only the 2-norm along one axis and the Frobenius "
        "norm over two axes are traced; write other norms with np.sum / np.max")


register_functions({np.linalg.solve: solve, np.linalg.inv: inv, np.linalg.det: det, np.linalg.slogdet: slogdet,
                    np.linalg.cholesky: cholesky, np.linalg.norm: norm})


# ------------------------------------------------------------------------------ gradients


def _swap_last(x: Term) -> Term:
    n = len(x.shape or ())
    return make("transpose", [x], axes=(*range(n - 2), n - 1, n - 2))


def _neg(x: Term) -> Term:
    return make("neg", [x])


def _as_matrices(g: Term, shape: tuple[int, ...]) -> Term:
    """A cotangent over the batch (one number per matrix) broadcast over each matrix."""
    return make("broadcast_to", [make("reshape", [g], shape=(*(g.shape or ()), 1, 1))], shape=shape)


def _solve_rule(t: Term, g: Term) -> tuple[Cotangent | Masked | Embedded, ...]:
    a, b = t.args
    sa, sb = a.shape or (), b.shape or ()
    vector = len(sb) == 1
    g2 = make("reshape", [g], shape=(*(g.shape or ()), 1)) if vector else g
    x2 = make("reshape", [t], shape=(*(t.shape or ()), 1)) if vector else t
    gb2 = make("solve", [_swap_last(a), g2])
    da = sum_to(_neg(make("matmul", [gb2, _swap_last(x2)])), sa)
    gb = make("reshape", [gb2], shape=tuple(g.shape or ())) if vector else gb2
    return da, sum_to(gb, sb)


def _inv_rule(t: Term, g: Term) -> tuple[Cotangent | Masked | Embedded, ...]:
    t_t = _swap_last(t)
    return (_neg(make("matmul", [make("matmul", [t_t, g]), t_t])),)


def _logabsdet_rule(t: Term, g: Term) -> tuple[Cotangent | Masked | Embedded, ...]:
    (a,) = t.args
    return (make("mul", [_as_matrices(g, a.shape or ()), _swap_last(make("inv", [a]))]),)


def _det_rule(t: Term, g: Term) -> tuple[Cotangent | Masked | Embedded, ...]:
    (a,) = t.args
    return (make("mul", [_as_matrices(make("mul", [g, t]), a.shape or ()), _swap_last(make("inv", [a]))]),)


def _cholesky_rule(t: Term, g: Term) -> tuple[Cotangent | Masked | Embedded, ...]:
    """Murray (2016), eq. 10, symmetrized as JAX and PyTorch do: with P = Phi(L^T g) (the lower triangle,
    diagonal halved), dA = sym(L^-T P L^-1). A gradient for symmetric perturbations of a."""
    shape, dtype = tuple(t.shape or ()), str(t.dtype)
    n = shape[-1]
    phi = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    weights = make("broadcast_to", [make("array_const", array=constant_array(phi.astype(dtype)))], shape=shape)
    p = make("mul", [make("matmul", [_swap_last(t), g]), weights])
    left = make("solve", [_swap_last(t), p])  # L^-T P
    da = _swap_last(make("solve", [_swap_last(t), _swap_last(left)]))  # L^-T P L^-1
    half = make("mul", [make("add", [da, _swap_last(da)]), const(0.5)])
    return (half,)


VJPS.update({"solve": _solve_rule, "cholesky": _cholesky_rule, "inv": _inv_rule, "logabsdet": _logabsdet_rule, "det": _det_rule,
             "slogdet_sign": lambda t, g: (None,)})

__all__ = ["SlogdetResult", "cholesky", "det", "inv", "norm", "slogdet", "solve"]
