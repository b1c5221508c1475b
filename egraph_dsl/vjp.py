"""Vector-Jacobian products: for each op of the table, the cotangents of its arguments.

A rule ``vjp(t, g)`` gets the term ``t`` (its arguments and, where the derivative is best said
through it, its own value) and the cotangent ``g`` of its output (same shape and dtype as ``t``),
and returns one entry per argument: a cotangent term of that argument's shape and dtype, ``None``
where no gradient flows (an index, a condition, a constant), or a :class:`Masked` cotangent
(``where``'s branches: the gradient is ``g`` where the condition selects that branch, exactly 0
elsewhere). Everything is built from ops of the table, so the gradient program is optimized by
the same rules as the value program.

Ops whose output is boolean or integer (comparisons, index checks) are :data:`NONDIFFERENTIABLE`:
no gradient flows through them. Every other op must have a rule; the coverage test checks it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import ops
from .constants import constant_array
from .errors import GradientError
from .term import Term, const, make

Cotangent = Term | None


@dataclass(frozen=True)
class Masked:
    """A cotangent that is ``g`` where ``mask`` holds and exactly zero elsewhere (whatever ``g``
    is there: an inf or nan of the branch ``where`` did not take never leaks into the gradient)."""

    g: Term
    mask: Term


@dataclass(frozen=True)
class Embedded:
    """The cotangent of a slice's argument: ``g`` placed at ``slices`` of an array of zeros of
    ``shape``. Kept symbolic until every contribution to the argument is known, so that a vector
    unpacked into pieces (``theta[:n]``, ``theta[n:]``) gets one concatenation, not a sum of
    padded copies (:func:`embed`)."""

    g: Term
    slices: ops.Slices
    shape: ops.Shape


Rule = Callable[[Term, Term], tuple[Cotangent | Masked | Embedded, ...]]


# ------------------------------------------------------------------------------ builders


def full(value: float, shape: ops.Shape, dtype: str) -> Term:
    """A strong array of ``shape`` filled with ``value`` (a broadcast, no memory of its own)."""
    return make("broadcast_to", [make("astype", [const(value)], dtype=dtype)], shape=tuple(shape))


def fill_value(t: Term) -> float | None:
    """The value a :func:`full` array (possibly reshaped or broadcast again) is filled with, or None."""
    while t.op in ("broadcast_to", "reshape"):
        t = t.args[0]
    if t.op == "astype" and t.args[0].op == "const":
        return float(t.args[0].attr["value"])
    return None


def _neg(a: Term) -> Term:
    value = fill_value(a)
    return full(-value, a.shape or (), str(a.dtype)) if value is not None else make("neg", [a])


def _mul(a: Term, b: Term) -> Term:
    """a * b, with 1 * b = b (exact in IEEE arithmetic, nan, inf and -0.0 included) where the
    shapes and dtypes already agree: gradients start from ones, and need not carry them along."""
    for one, other in ((a, b), (b, a)):
        if fill_value(one) == 1.0 and other.shape == one.shape and other.dtype == one.dtype:
            return other
    return make("mul", [a, b])


def _div(a: Term, b: Term) -> Term:
    return make("div", [a, b])


def _where(cond: Term, a: Term, b: Term) -> Term:
    return make("where", [cond, a, b])


def not_(cond: Term) -> Term:
    """Logical not of a boolean term."""
    return make("equal", [cond, const(0.0)])


def and_(a: Term, b: Term) -> Term:
    """Logical and of two boolean terms (a product of booleans is their and, as np.multiply gives)."""
    return make("mul", [a, b])


def keepdims_shape(shape: ops.Shape, axis: tuple[int, ...] | None) -> ops.Shape:
    axes = range(len(shape)) if axis is None else axis
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_back(g: Term, x_shape: ops.Shape, axis: tuple[int, ...] | None, keepdims: bool) -> Term:
    """A reduction's output (or cotangent) broadcast back over the reduced axes of ``x_shape``."""
    kept = keepdims_shape(x_shape, axis)
    value = fill_value(g)
    if value is not None:
        return full(value, x_shape, str(g.dtype))
    if not keepdims and g.shape != kept:
        g = make("reshape", [g], shape=kept)
    return g if g.shape == x_shape else make("broadcast_to", [g], shape=tuple(x_shape))


def sum_to(g: Term, shape: ops.Shape) -> Term:
    """The adjoint of ``broadcast_to(x, g.shape)`` for ``x`` of ``shape``: sum over the axes it added
    or stretched, as NumPy's broadcasting rules place them."""
    if g.shape == shape:
        return g
    gshape = g.shape or ()
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    summed = make("sum", [g], axis=axes, keepdims=False) if axes else g
    return summed if summed.shape == shape else make("reshape", [summed], shape=tuple(shape))


def _eye(rows: int, cols: int) -> Term:
    return make("array_const", array=constant_array(np.eye(rows, cols, dtype=bool)))


def _index_map(shape: ops.Shape, slices: ops.Slices) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    """For each element of an array of ``shape`` (flat, C order), its position in the flattened
    slice ``a[slices]``, or the slice's size where the slice does not select it."""
    size = math.prod(shape)
    out_shape = ops.slice_shape(shape, slices)
    picked = np.full(size, math.prod(out_shape), dtype=np.int64)
    positions = np.arange(size, dtype=np.int64).reshape(shape)
    selected = ops.OPS["slice"].impl(np, positions, slices=slices)
    picked[selected.ravel()] = np.arange(selected.size, dtype=np.int64)
    return picked


# ------------------------------------------------------------------------------ the rules


def _binary(da: Callable[[Term, Term], Term], db: Callable[[Term, Term], Term]) -> Rule:
    return lambda t, g: (da(t, g), db(t, g))


def _bell(x: Term, rate: float, scale: float) -> Term:
    """``scale * u / (1 + u)^2`` with ``u = exp(-rate |x|)``: the derivative of sigmoid (rate 1,
    scale 1) and of tanh (rate 2, scale 4), accurate to a few ulps for every x (u never overflows)."""
    u = make("exp", [_mul(make("abs", [x]), const(-rate))])
    return _div(_mul(u, const(scale)), make("square", [make("add", [u, const(1.0)])]))


def _pow_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    a, b = t.args
    exponent_minus_one = const(float(b.attr["value"]) - 1.0) if b.op == "const" else make("sub", [b, const(1.0)])
    da = _mul(g, _mul(b, make("pow", [a, exponent_minus_one])))
    db = None if b.weak else _mul(g, _mul(t, make("log", [a])))
    return da, db


def _extremum_rule(first_wins: str) -> Rule:
    """maximum / minimum: the gradient goes to the larger (smaller) operand, half to each on a tie."""

    def rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
        a, b = t.args
        half = _mul(g, const(0.5))
        zero = const(0.0)
        tie = make("equal", [a, b])
        da = _where(make(first_wins, [a, b]), g, _where(tie, half, zero))
        db = _where(make(first_wins, [b, a]), g, _where(tie, half, zero))
        return da, db

    return rule


def _reduction_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    (x,) = t.args
    axis, keepdims = t.attr["axis"], t.attr["keepdims"]
    shape = x.shape or ()
    spread = expand_back(g, shape, axis, keepdims)
    if t.op == "sum":
        return (spread,)
    if t.op == "mean":
        count = math.prod(n for i, n in enumerate(shape) if axis is None or i in axis)
        return (_div(spread, const(float(count))) if count else spread,)
    value = expand_back(t, shape, axis, keepdims)
    if t.op == "logsumexp":  # the softmax of x along the axes
        return (_mul(spread, make("exp", [make("sub", [x, value])])),)
    # max / min: split evenly between the entries that attain it
    hit = make("equal", [x, value])
    ties = make("sum", [make("astype", [hit], dtype=str(x.dtype))], axis=axis, keepdims=True)
    share = _div(make("reshape", [g], shape=ties.shape) if g.shape != ties.shape else g, ties)
    return (_where(hit, expand_back(share, shape, axis, True), const(0.0)),)


def _matmul_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    a, b = t.args
    sa, sb = a.shape or (), b.shape or ()
    if len(sa) > 2 or len(sb) > 2:
        return _batched_matmul_rule(t, g)
    if len(sa) == 1 and len(sb) == 1:  # a dot product: a scalar
        return _mul(full_like_shape(g, sa), b), _mul(full_like_shape(g, sb), a)
    if len(sa) == 1:  # (k,) @ (k, n) -> (n,)
        da = make("matmul", [b, g])
        db = _mul(make("broadcast_to", [make("reshape", [a], shape=(sa[0], 1))], shape=sb),
                  make("broadcast_to", [make("reshape", [g], shape=(1, sb[1]))], shape=sb))
        return da, db
    if len(sb) == 1:  # (m, k) @ (k,) -> (m,)
        da = _mul(make("broadcast_to", [make("reshape", [g], shape=(sa[0], 1))], shape=sa),
                  make("broadcast_to", [make("reshape", [b], shape=(1, sb[0]))], shape=sa))
        db = make("matmul", [make("transpose", [a], axes=(1, 0)), g])
        return da, db
    da = make("matmul", [g, make("transpose", [b], axes=(1, 0))])
    db = make("matmul", [make("transpose", [a], axes=(1, 0)), g])
    return da, db


def _swap_last(x: Term) -> Term:
    n = len(x.shape or ())
    return make("transpose", [x], axes=(*range(n - 2), n - 1, n - 2))


def _batched_matmul_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    """Stacks of matrices (both at least 2-D): the 2-D rule per batch, summed over broadcast batches."""
    a, b = t.args
    if len(a.shape or ()) < 2 or len(b.shape or ()) < 2:
        raise NotImplementedError("the gradient of a batched matmul with a 1-D operand is not implemented; "
                                  "reshape the vector to a matrix first")
    da = sum_to(make("matmul", [g, _swap_last(b)]), a.shape or ())
    db = sum_to(make("matmul", [_swap_last(a), g]), b.shape or ())
    return da, db


def full_like_shape(g: Term, shape: ops.Shape) -> Term:
    """A 0-d cotangent broadcast to ``shape``."""
    return make("broadcast_to", [g], shape=tuple(shape))


def _trace_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    (a,) = t.args
    m, n = a.shape or (0, 0)
    return (_where(_eye(m, n), make("broadcast_to", [g], shape=(m, n)), const(0.0)),)


def _diagonal_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    (a,) = t.args
    m, n = a.shape or (0, 0)
    k = min(m, n)
    along = make("reshape", [g], shape=(k, 1) if m <= n else (1, k))
    return (_where(_eye(m, n), make("broadcast_to", [along], shape=(m, n)), const(0.0)),)


def _transpose_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    axes = tuple(t.attr["axes"])
    inverse = tuple(int(i) for i in np.argsort(axes))
    return (make("transpose", [g], axes=inverse),)


def _slice_rule(t: Term, g: Term) -> tuple[Embedded]:
    return (Embedded(g, tuple(t.attr["slices"]), tuple(t.args[0].shape or ())),)


def _scattered(part: Embedded) -> Term:
    """Each entry gets the cotangent of the slice entry it became, or 0: a gather from
    ``[ravel(g), 0]`` by a constant index map (exact: no arithmetic)."""
    g, shape = part.g, part.shape
    if math.prod(shape) == 0:
        return full(0.0, shape, str(g.dtype))
    flat = make("reshape", [g], shape=(g.size,))
    padded = make("concat", [flat, full(0.0, (1,), str(g.dtype))], dim=0)
    index = make("array_const", array=constant_array(_index_map(shape, part.slices)))
    return make("reshape", [make("take", [padded, index], dim=0)], shape=shape)


def _block_axis(part: Embedded) -> int | None:
    """The one axis a step-1 slice cuts (full on every other axis), or None."""
    cut = [d for d, ((start, stop, step), n) in enumerate(zip(part.slices, part.shape, strict=True))
           if (start, stop, step) != (0, n, 1)]
    if len(cut) == 1 and part.slices[cut[0]][2] == 1 and part.slices[cut[0]][0] < part.slices[cut[0]][1]:
        return cut[0]
    return None if cut else 0


def embed(parts: list[Embedded]) -> list[Term]:
    """The cotangents of one slice argument, from every slice of it: blocks along one axis that
    do not overlap become one concatenation (zeros in the gaps); anything else is scattered."""
    axes = {_block_axis(p) for p in parts}
    d = next(iter(axes))
    if len(axes) == 1 and d is not None:
        shape, dtype = parts[0].shape, str(parts[0].g.dtype)
        ordered = sorted(parts, key=lambda p: p.slices[d][0])
        bounds = [(p.slices[d][0], p.slices[d][1]) for p in ordered]
        if all(stop <= nxt for (_s, stop), (nxt, _e) in itertools.pairwise(bounds)):
            pieces: list[Term] = []
            at = 0
            for p, (start, stop) in zip(ordered, bounds, strict=True):
                if start > at:
                    pieces.append(full(0.0, (*shape[:d], start - at, *shape[d + 1:]), dtype))
                pieces.append(p.g)
                at = stop
            if at < shape[d]:
                pieces.append(full(0.0, (*shape[:d], shape[d] - at, *shape[d + 1:]), dtype))
            out = pieces[0]
            for piece in pieces[1:]:
                out = make("concat", [out, piece], dim=d)
            return [out]
    return [_scattered(p) for p in parts]


def _take_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    a, indices = t.args
    dim = int(t.attr["dim"])
    return make("scatter_add", [g, indices], dim=dim, size=(a.shape or ())[dim]), None


def _scatter_add_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    _updates, indices = t.args
    return make("take", [g, indices], dim=int(t.attr["dim"])), None


def _scatter_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    """``base[indices] = updates``: the base keeps the cotangent where nothing was written; each
    update gets the cotangent at its index if it was the last write there (0 if overwritten)."""
    base, updates, indices = t.args
    k, dtype = (updates.shape or (0,))[0], str(g.dtype)
    d_base = make("scatter", [g, full(0.0, (k,), dtype), indices])
    order = make("array_const", array=constant_array(np.arange(k, dtype=np.int64)))
    last = make("scatter", [full(-1.0, base.shape or (), "int64"), order, indices])
    won = make("equal", [make("take", [last, indices], dim=0), order])
    return d_base, _where(won, make("take", [g, indices], dim=0), const(0.0)), None


def _sort_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    """Each entry gets the cotangent of the place it was sorted to: ``g`` scattered by the
    permutation (flat positions ``row * n + argsort``, one scatter)."""
    (x,) = t.args
    dim, shape = int(t.attr["dim"]), tuple(x.shape or ())
    if math.prod(shape) == 0:
        return (full(0.0, shape, str(g.dtype)),)
    order = make("argsort", [x], dim=dim)
    axes = (*(d for d in range(len(shape)) if d != dim), dim)
    moved_shape = tuple(shape[d] for d in axes)
    n, rows = shape[dim], math.prod(moved_shape[:-1])
    offsets = np.arange(rows, dtype=np.int64).reshape((*moved_shape[:-1], 1)) * n
    moved = make("transpose", [order], axes=axes) if axes != tuple(range(len(shape))) else order
    flat = make("add", [moved, make("broadcast_to", [make("array_const", array=constant_array(offsets))],
                                    shape=moved_shape)])
    flat = make("reshape", [flat], shape=(rows * n,))
    gm = make("transpose", [g], axes=axes) if axes != tuple(range(len(shape))) else g
    placed = make("scatter", [full(0.0, (rows * n,), str(g.dtype)), make("reshape", [gm], shape=(rows * n,)), flat])
    back = make("reshape", [placed], shape=moved_shape)
    inverse = tuple(int(i) for i in np.argsort(axes))
    return (make("transpose", [back], axes=inverse) if inverse != tuple(range(len(shape))) else back,)


def _bincount_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    x, weights = t.args
    d_weights = make("take", [g, x], dim=0)
    if weights.dtype != "float64":
        d_weights = make("astype", [d_weights], dtype=str(weights.dtype))
    return None, d_weights


def _concat_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    a = t.args[0]
    dim = int(t.attr["dim"])
    shape = g.shape or ()
    split = (a.shape or ())[dim]

    def part(start: int, stop: int) -> Term:
        slices = tuple((start, stop, 1) if i == dim else (0, n, 1) for i, n in enumerate(shape))
        slices = tuple(s if s[0] < s[1] else (0, 0, 1) for s in slices)
        return make("slice", [g], slices=slices)

    return part(0, split), part(split, shape[dim])


def _astype_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    (a,) = t.args
    if a.weak or a.dtype not in ("float32", "float64"):
        return (None,)
    return (make("astype", [g], dtype=str(a.dtype)),)


def _where_rule(t: Term, g: Term) -> tuple[Cotangent | Masked, ...]:
    cond = t.args[0]
    return None, Masked(g, cond), Masked(g, not_(cond))


def _f(op: str, *args: Term) -> Term:
    return make(op, list(args))


def _one_minus_square(x: Term) -> Term:
    """1 - x^2 as (1 - x)(1 + x): exact factors where |x| is near 1."""
    return _mul(_f("sub", const(1.0), x), _f("add", const(1.0), x))


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _unary(derivative: Callable[[Term, Term], Term]) -> Rule:
    """An elementwise op of one argument: ``g * derivative(x, out)``."""
    return lambda t, g: (_mul(g, derivative(t.args[0], t)),)


def _unsupported(op: str, reason: str) -> Rule:
    def rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
        raise GradientError(f"the gradient of {op} is not available: {reason}")

    return rule


# differentiable ops whose derivative the table cannot express yet: a GradientError says why
NOT_YET: dict[str, str] = {
    "gammaln": "it needs digamma, which is not an op of the table yet",
    "cumprod": "the adjoint of a running product at zeros needs a scan the table does not have yet",
}

ELEMENTARY: dict[str, Rule] = {
    **{op: _unsupported(op, reason) for op, reason in NOT_YET.items()},
    "sin": _unary(lambda x, out: _f("cos", x)),
    "cos": _unary(lambda x, out: _neg(_f("sin", x))),
    "tan": _unary(lambda x, out: _f("add", const(1.0), _f("square", out))),
    "arcsin": _unary(lambda x, out: _div(const(1.0), _f("sqrt", _one_minus_square(x)))),
    "arccos": _unary(lambda x, out: _div(const(-1.0), _f("sqrt", _one_minus_square(x)))),
    "arctan": _unary(lambda x, out: _div(const(1.0), _f("add", const(1.0), _f("square", x)))),
    "sinh": _unary(lambda x, out: _f("cosh", x)),
    "cosh": _unary(lambda x, out: _f("sinh", x)),
    "arcsinh": _unary(lambda x, out: _div(const(1.0), _f("hypot", x, const(1.0)))),  # no overflow of x^2
    "arccosh": _unary(lambda x, out: _div(const(1.0), _f("sqrt", _mul(_f("sub", x, const(1.0)),
                                                                          _f("add", x, const(1.0)))))),
    "arctanh": _unary(lambda x, out: _div(const(1.0), _one_minus_square(x))),
    "exp2": _unary(lambda x, out: _mul(out, const(_LN2))),
    "log2": _unary(lambda x, out: _div(const(1.0 / _LN2), x)),
    "log10": _unary(lambda x, out: _div(const(1.0 / _LN10), x)),
    "cbrt": _unary(lambda x, out: _div(const(1.0), _mul(_f("square", out), const(3.0)))),
    "reciprocal": _unary(lambda x, out: _neg(_f("square", out))),
    "erf": _unary(lambda x, out: _mul(_f("exp", _neg(_f("square", x))), const(_TWO_OVER_SQRT_PI))),
    "erfc": _unary(lambda x, out: _mul(_f("exp", _neg(_f("square", x))), const(-_TWO_OVER_SQRT_PI))),
    "ndtr": _unary(lambda x, out: _f("exp", _f("sub", _mul(_f("square", x), const(-0.5)), const(_LOG_SQRT_2PI)))),
    # phi(x) / Phi(x) = exp(-x^2/2 - log sqrt(2 pi) - log_ndtr(x)): no underflow of Phi far left
    "log_ndtr": _unary(lambda x, out: _f("exp", _f("sub", _f("sub", _mul(_f("square", x), const(-0.5)),
                                                            const(_LOG_SQRT_2PI)), out))),
    "log_expit": _unary(lambda x, out: _f("sigmoid", _neg(x))),
    "logit": _unary(lambda x, out: _div(const(1.0), _mul(x, _f("sub", const(1.0), x)))),
    "arctan2": lambda t, g: (  # d/dy atan2(y, x) = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2)
        _div(_mul(g, t.args[1]), _f("add", _f("square", t.args[0]), _f("square", t.args[1]))),
        _neg(_div(_mul(g, t.args[0]), _f("add", _f("square", t.args[0]), _f("square", t.args[1]))))),
    "hypot": lambda t, g: (_mul(g, _div(t.args[0], t)), _mul(g, _div(t.args[1], t))),
    "remainder": lambda t, g: (g, _neg(_mul(g, _f("floor", _div(t.args[0], t.args[1]))))),
    "fmod": lambda t, g: (g, _neg(_mul(g, _f("trunc", _div(t.args[0], t.args[1]))))),
    "copysign": lambda t, g: (_where(_f("equal", _f("signbit", t.args[0]), _f("signbit", t.args[1])), g, _neg(g)),
                              None),
    "xlogy": lambda t, g: (_mul(g, _f("log", t.args[1])), _mul(g, _div(t.args[0], t.args[1]))),
    "xlog1py": lambda t, g: (_mul(g, _f("log1p", t.args[1])),
                             _mul(g, _div(t.args[0], _f("add", t.args[1], const(1.0))))),
}


def _prod_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    """d prod / d x_k is the product of the other entries; with zeros in x that is not prod / x:
    one zero leaves the product of the nonzero entries at its place, two or more leave 0."""
    (x,) = t.args
    axis, shape = t.attr["axis"], x.shape or ()
    zero = make("equal", [x, const(0.0)])
    nonzero_prod = make("prod", [_where(zero, const(1.0), x)], axis=axis, keepdims=True)
    zeros = make("sum", [make("astype", [zero], dtype="int64")], axis=axis, keepdims=True)
    spread_nonzero = expand_back(nonzero_prod, shape, axis, True)
    spread_zeros = expand_back(zeros, shape, axis, True)
    others = _where(zero, _where(make("equal", [spread_zeros, const(1.0)]), spread_nonzero, const(0.0)),
                    _where(make("equal", [spread_zeros, const(0.0)]), _div(spread_nonzero, x), const(0.0)))
    return (_mul(expand_back(g, shape, axis, t.attr["keepdims"]), others),)


def _reverse(x: Term, dim: int) -> Term:
    shape = x.shape or ()
    slices = tuple(ops.normalize_slice(slice(None, None, -1 if d == dim else 1), n) for d, n in enumerate(shape))
    return make("slice", [x], slices=slices)


def _cumsum_rule(t: Term, g: Term) -> tuple[Cotangent, ...]:
    """The adjoint of a running sum is the running sum from the other end."""
    dim = int(t.attr["dim"])
    return (_reverse(make("cumsum", [_reverse(g, dim)], dim=dim), dim),)


VJPS: dict[str, Rule] = {
    **ELEMENTARY,
    "prod": _prod_rule,
    "cumsum": _cumsum_rule,
    "add": _binary(lambda t, g: g, lambda t, g: g),
    "sub": _binary(lambda t, g: g, lambda t, g: _neg(g)),
    "mul": _binary(lambda t, g: _mul(g, t.args[1]), lambda t, g: _mul(g, t.args[0])),
    "div": _binary(lambda t, g: _div(g, t.args[1]), lambda t, g: _neg(_div(_mul(g, t), t.args[1]))),
    "pow": _pow_rule,
    "maximum": _extremum_rule("greater"),
    "minimum": _extremum_rule("less"),
    "logaddexp": _binary(lambda t, g: _mul(g, make("exp", [make("sub", [t.args[0], t])])),
                         lambda t, g: _mul(g, make("exp", [make("sub", [t.args[1], t])]))),
    "neg": lambda t, g: (_neg(g),),
    "abs": lambda t, g: (_where(make("greater_equal", [t.args[0], const(0.0)]), g, _neg(g)),),
    "sqrt": lambda t, g: (_div(g, _mul(t, const(2.0))),),
    "square": lambda t, g: (_mul(g, _mul(t.args[0], const(2.0))),),
    "exp": lambda t, g: (_mul(g, t),),
    "log": lambda t, g: (_div(g, t.args[0]),),
    "log1p": lambda t, g: (_div(g, make("add", [t.args[0], const(1.0)])),),
    "expm1": lambda t, g: (_mul(g, make("exp", [t.args[0]])),),  # not expm1(x) + 1: it cancels for x < 0
    # 1 - tanh(x)^2 = 4u / (1 + u)^2 with u = exp(-2|x|) <= 1: no cancellation where tanh is near 1
    "tanh": lambda t, g: (_mul(g, _bell(t.args[0], 2.0, 4.0)),),
    # s (1 - s) = u / (1 + u)^2 with u = exp(-|x|)
    "sigmoid": lambda t, g: (_mul(g, _bell(t.args[0], 1.0, 1.0)),),
    "softplus": lambda t, g: (_mul(g, make("sigmoid", [t.args[0]])),),
    "where": _where_rule,
    "sum": _reduction_rule, "mean": _reduction_rule, "max": _reduction_rule, "min": _reduction_rule,
    "logsumexp": _reduction_rule,
    "matmul": _matmul_rule,
    "trace": _trace_rule,
    "diagonal": _diagonal_rule,
    "transpose": _transpose_rule,
    "reshape": lambda t, g: (make("reshape", [g], shape=tuple(t.args[0].shape or ())),),
    "broadcast_to": lambda t, g: (sum_to(g, t.args[0].shape or ()),),
    "slice": _slice_rule,
    "take": _take_rule,
    "scatter_add": _scatter_add_rule,
    "scatter": _scatter_rule,
    "bincount": _bincount_rule,
    "sort": _sort_rule,
    "concat": _concat_rule,
    "astype": _astype_rule,
}

# no gradient flows through these: leaves, and ops whose output is boolean or an index
NONDIFFERENTIABLE: frozenset[str] = frozenset({
    "input", "const", "array_const", "index_check",
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
    "isfinite", "isnan", "isinf", "signbit", "logical_not", "logical_and", "logical_or", "logical_xor",
    "invert", "bitwise_and", "bitwise_or", "bitwise_xor",  # boolean or integer results
    "floor", "ceil", "trunc", "rint", "sign", "floor_divide",  # piecewise constant: a zero gradient
    "argmax", "argmin", "argsort",
})


def rule_for(op: str) -> Rule | None:
    """The VJP of ``op``; None for a nondifferentiable op. A KeyError names an op with neither."""
    if op in NONDIFFERENTIABLE:
        return None
    try:
        return VJPS[op]
    except KeyError:
        raise KeyError(f"op {op!r} has no vector-Jacobian product in egraph_dsl/vjp.py") from None
