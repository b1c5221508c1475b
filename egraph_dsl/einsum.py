"""np.einsum and np.tensordot, lowered to ops the table has: diagonals (a gather), sums, broadcasts,
transposes, reshapes and matmul.

A subscripts string (explicit ``->`` or implicit output, ``...`` too) is parsed into labels per
operand; a label repeated within one operand takes that diagonal; a label in one operand only and
not in the output is summed out; two operands are contracted by one (batched) matmul over the
labels they share, operands folded from the left and labels no later operand or the output needs
summed as soon as they can be. Size-1 dimensions broadcast, as in NumPy. The values are NumPy's
up to rounding (NumPy's einsum loops sum in another order than BLAS); gradients flow through the
lowering.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes
from .errors import ShapeError, UnsupportedOperationError
from .term import Term, make
from .trace import LazyArray, _where, lift, register_functions

_LETTERS = string.ascii_letters


def _parse(subscripts: str, shapes: Sequence[tuple[int, ...]]) -> tuple[list[str], str]:
    """Labels per operand and of the output, with ``...`` replaced by upper-case-free placeholder
    labels (characters outside the ASCII letters, right-aligned like NumPy's broadcasting)."""
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        inputs_part, output = spec.split("->", 1)
        if "->" in output:
            raise ValueError(f"np.einsum: subscripts {subscripts!r} have more than one '->'{_where()}")
        explicit = True
    else:
        inputs_part, output, explicit = spec, "", False
    inputs = inputs_part.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"np.einsum: subscripts {subscripts!r} name {len(inputs)} operands, {len(shapes)} given"
                         f"{_where()}")
    for part in (*inputs, output):
        bad = set(part.replace("...", "")) - set(_LETTERS)
        if bad or part.count("...") > 1:
            raise ValueError(f"np.einsum: invalid subscripts {subscripts!r}: only letters and one '...' per "
                             f"operand{_where()}")
    ellipsis_ndim = max((len(s) - len(p.replace("...", "")) for p, s in zip(inputs, shapes, strict=True)
                         if "..." in p), default=0)
    dots = [chr(0x100 + k) for k in range(ellipsis_ndim)]  # placeholder labels for the ellipsis axes
    labels = []
    for part, shape in zip(inputs, shapes, strict=True):
        plain = part.replace("...", "")
        if "..." in part:
            n = len(shape) - len(plain)
            if n < 0:
                raise ValueError(f"np.einsum: operand of shape {shape} has fewer dimensions than {part!r}{_where()}")
            part = part.replace("...", "".join(dots[ellipsis_ndim - n:]))
        elif len(plain) != len(shape):
            raise ValueError(f"np.einsum: operand of shape {shape} has {len(shape)} dimensions, subscripts {part!r} "
                             f"name {len(plain)}{_where()}")
        labels.append(part)
    if explicit:
        if "..." in output:
            output = output.replace("...", "".join(dots))
        elif ellipsis_ndim and any("..." in p for p in inputs):
            raise ValueError(f"np.einsum: output subscripts {subscripts!r} drop the '...' axes{_where()}")
        for ch in output:
            if output.count(ch) > 1:
                raise ValueError(f"np.einsum: output subscript {ch!r} appears more than once{_where()}")
            if not any(ch in lab for lab in labels):
                raise ValueError(f"np.einsum: output subscript {ch!r} is in no operand{_where()}")
    else:
        everything = "".join(labels)
        output = "".join(dots) + "".join(sorted(ch for ch in set(everything) if everything.count(ch) == 1
                                                and ch not in dots))
    return labels, output


def _diagonal(x: Term, labels: str) -> tuple[Term, str]:
    """Take the diagonal over every label repeated within one operand (``ii->i``)."""
    while True:
        repeated = next((ch for ch in labels if labels.count(ch) > 1), None)
        if repeated is None:
            return x, labels
        p = labels.index(repeated)
        q = labels.index(repeated, p + 1)
        shape = x.shape or ()
        if shape[p] != shape[q]:
            raise ShapeError(f"np.einsum: dimensions of the repeated subscript {repeated!r} differ: {shape[p]} and "
                             f"{shape[q]}{_where()}")
        n = shape[p]
        rest = [i for i in range(len(shape)) if i not in (p, q)]
        moved = make("transpose", [x], axes=(*rest, p, q)) if (*rest, p, q) != tuple(range(len(shape))) else x
        flat = make("reshape", [moved], shape=(*(shape[i] for i in rest), n * n))
        index = lift(np.arange(n, dtype=np.int64) * (n + 1)).term
        x = make("take", [flat, index], dim=len(rest))
        labels = "".join(labels[i] for i in rest) + repeated


def _sum_out(x: Term, labels: str, keep: set[str]) -> tuple[Term, str]:
    axes = tuple(i for i, ch in enumerate(labels) if ch not in keep)
    if not axes:
        return x, labels
    return make("sum", [x], axis=axes, keepdims=False), "".join(ch for ch in labels if ch in keep)


def _arrange(x: Term, labels: str, order: str, sizes: dict[str, int]) -> Term:
    """``x`` with its axes in ``order`` (labels ``x`` lacks become broadcast axes of their size)."""
    present = [ch for ch in order if ch in labels]
    perm = tuple(labels.index(ch) for ch in present)
    if perm != tuple(range(len(labels))):
        x = make("transpose", [x], axes=perm)
    shape = tuple(sizes[ch] if ch in labels and (x.shape or ())[present.index(ch)] != 1 else 1 for ch in order)
    if shape != x.shape:
        x = make("reshape", [x], shape=shape)
    target = tuple(sizes[ch] for ch in order)
    return x if target == x.shape else make("broadcast_to", [x], shape=target)


def _contract(a: Term, la: str, b: Term, lb: str, keep: set[str], sizes: dict[str, int]) -> tuple[Term, str]:
    """The product of two operands summed over the labels they share that ``keep`` lacks: one matmul."""
    batch = [ch for ch in la if ch in lb and ch in keep]
    left = [ch for ch in la if ch not in lb]
    right = [ch for ch in lb if ch not in la]
    inner = [ch for ch in la if ch in lb and ch not in keep]
    nb, nl, nr, nk = (math.prod(sizes[c] for c in group) for group in (batch, left, right, inner))
    a2 = make("reshape", [_arrange(a, la, "".join(batch + left + inner), sizes)], shape=(nb, nl, nk))
    b2 = make("reshape", [_arrange(b, lb, "".join(batch + inner + right), sizes)], shape=(nb, nk, nr))
    out = make("matmul", [a2, b2])
    labels = "".join(batch + left + right)
    return make("reshape", [out], shape=tuple(sizes[c] for c in labels)), labels


def einsum(*operands: Any, out: Any = None, dtype: Any = None, order: str = "K", casting: str = "safe",
           optimize: Any = False) -> LazyArray:
    """np.einsum with a subscripts string (explicit or implicit output, ``...``); ``optimize`` is
    accepted and ignored: the contraction order is left to right, and the e-graph may reorder it."""
    if out is not None:
        raise UnsupportedOperationError(f"np.einsum(..., out=...) writes into an array{_where()}: drop out=")
    if not operands or not isinstance(operands[0], str):
        raise UnsupportedOperationError(f"np.einsum: only the subscripts-string form is traced{_where()} "
                                        "(np.einsum('ij,jk->ik', a, b)), not the sublist form")
    subscripts, arrays = operands[0], [lift(x) for x in operands[1:]]
    terms = []
    for x in arrays:
        t = x.term
        if t.weak:  # a Python scalar operand: a 0-d array of NumPy's default dtype
            t = make("astype", [t], dtype="float64" if x.weak_kind is float else "int64")
        terms.append(t)
    kinds = [str(t.dtype) for t in terms]
    if "bool" in kinds:
        raise UnsupportedOperationError(f"np.einsum of a bool array (NumPy sums bools as a logical or){_where()}; "
                                        "cast it first, e.g. with .astype(np.float64)")
    common = np.result_type(*kinds) if dtype is None else np.dtype(dtype)
    target = dtypes.canonical(common, f"np.einsum{_where()}: ")
    terms = [t if t.dtype == target else make("astype", [t], dtype=target) for t in terms]
    labels, output = _parse(subscripts, [t.shape or () for t in terms])
    sizes: dict[str, int] = {}
    for t, lab in zip(terms, labels, strict=True):
        for ch, n in zip(lab, t.shape or (), strict=True):
            if sizes.get(ch, 1) not in (1, n) and n != 1:
                raise ShapeError(f"np.einsum: operands could not be broadcast together: subscript {ch!r} has sizes "
                                 f"{sizes[ch]} and {n}{_where()}")
            sizes[ch] = max(sizes.get(ch, 1), n)
    pieces = [_diagonal(t, lab) for t, lab in zip(terms, labels, strict=True)]
    # sum out every label only one operand has and the output lacks
    needed = [set(output) | {ch for _, lab in pieces[:k] + pieces[k + 1:] for ch in lab} for k in range(len(pieces))]
    pieces = [_sum_out(t, lab, keep) for (t, lab), keep in zip(pieces, needed, strict=True)]
    acc, acc_labels = pieces[0]
    for k, (t, lab) in enumerate(pieces[1:], start=1):
        keep = set(output) | {ch for _, rest in pieces[k + 1:] for ch in rest}
        acc, acc_labels = _contract(acc, acc_labels, t, lab, keep, sizes)
    acc, acc_labels = _sum_out(acc, acc_labels, set(output))
    return LazyArray(_arrange(acc, acc_labels, output, sizes))  # a 0-d result is a NumPy scalar, as NumPy's


def tensordot(a: Any, b: Any, axes: Any = 2) -> LazyArray:
    """np.tensordot: the last ``axes`` axes of ``a`` against the first of ``b``, or the paired lists."""
    la, lb = lift(a), lift(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(la.ndim, lb.ndim):
            raise ValueError(f"np.tensordot: axes={n} does not fit shapes {la.shape} and {lb.shape}{_where()}")
        pairs = (list(range(la.ndim - n, la.ndim)), list(range(n)))
    else:
        first, second = axes
        first = [first] if isinstance(first, (int, np.integer)) else list(first)
        second = [second] if isinstance(second, (int, np.integer)) else list(second)
        if len(first) != len(second):
            raise ValueError(f"np.tensordot: shape-mismatch for sum: {len(first)} and {len(second)} axes{_where()}")
        pairs = ([int(i) % la.ndim for i in first], [int(i) % lb.ndim for i in second])
    for i, j in zip(*pairs, strict=True):
        if la.shape[i] != lb.shape[j]:
            raise ShapeError(f"np.tensordot: shape-mismatch for sum: axis {i} of {la.shape} and axis {j} of "
                             f"{lb.shape}{_where()}")
    letters = iter(_LETTERS)
    sa = [next(letters) for _ in range(la.ndim)]
    sb = [next(letters) for _ in range(lb.ndim)]
    for i, j in zip(*pairs, strict=True):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in pairs[0]] + [c for k, c in enumerate(sb) if k not in pairs[1]]
    result = einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", la, lb)
    return LazyArray(result.term, array0d=True)  # np.tensordot returns an ndarray, 0-d too


register_functions({np.einsum: einsum, np.tensordot: tensordot})

__all__ = ["einsum", "tensordot"]
