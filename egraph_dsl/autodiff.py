"""Reverse-mode differentiation of a Program, on the Term IR.

:func:`value_and_grad_program` turns a program with one scalar float output into one whose
outputs are that value followed by its gradient with respect to the chosen inputs. The gradient
terms are built from ops of the table (see :mod:`egraph_dsl.vjp`) and share every subterm of the
value they use, so when the joint program goes into one e-graph, ``sigmoid(z)`` or
``exp(x - max)`` computed for the value is extracted once and reused by the gradient.

``where`` does not leak the branch it did not take: a cotangent below a ``where`` carries the
condition as a mask, and is multiplied out (``where(mask, g, 0)``) only where it leaves the
elementwise region, so ``np.where(x > 0, np.log(x), 0)`` has gradient 0, not nan, at x = 0
(JAX's "double where" trap, handled here without the user's help).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .dtypes import FLOATS
from .errors import GradientError
from .program import Program
from .term import Term, const, make, postorder
from .vjp import Embedded, Masked, and_, embed, full, rule_for


@dataclass(frozen=True)
class _Cot:
    """A cotangent on its way up: ``g`` where ``mask`` holds (everywhere if no mask), else 0."""

    g: Term
    mask: Term | None = None

    def plain(self) -> Term:
        return self.g if self.mask is None else make("where", [self.mask, self.g, const(0.0)])


Contribution = _Cot | Embedded


def _differentiable(t: Term) -> bool:
    return not t.weak and t.dtype in FLOATS


def _combine(contributions: list[Contribution]) -> _Cot:
    """The sum of the cotangents a term receives from its consumers."""
    slices = [c for c in contributions if isinstance(c, Embedded)]
    parts = [c for c in contributions if isinstance(c, _Cot)] + [_Cot(t) for t in (embed(slices) if slices else [])]
    if len(parts) == 1:
        return parts[0]
    masks = {id(p.mask) for p in parts}
    if len(masks) == 1 and parts[0].mask is not None:  # one mask for all: add under it
        total = parts[0].g
        for p in parts[1:]:
            total = make("add", [total, p.g])
        return _Cot(total, parts[0].mask)
    total = parts[0].plain()
    for p in parts[1:]:
        total = make("add", [total, p.plain()])
    return _Cot(total)


def gradients(output: Term, wrt: Sequence[Term]) -> list[Term]:
    """The gradient of the scalar ``output`` with respect to each input term in ``wrt``."""
    order = postorder([output])
    pending: dict[int, list[Contribution]] = {id(output): [_Cot(full(1.0, (), str(output.dtype)))]}
    found: dict[int, Term] = {}
    wanted = {id(w) for w in wrt}
    for t in reversed(order):
        parts = pending.pop(id(t), None)
        if not parts:
            continue
        cot = _combine(parts)
        if t.op == "input":
            if id(t) in wanted:
                found[id(t)] = cot.plain()
            continue
        rule = rule_for(t.op)
        if rule is None:
            continue
        if cot.mask is not None and not t.spec.elementwise:
            cot = _Cot(cot.plain())  # a mask has the shape of this term only: multiply it out here
        for arg, c in zip(t.args, rule(t, cot.g), strict=True):
            if c is None or not _differentiable(arg):
                continue
            if isinstance(c, Embedded):
                pending.setdefault(id(arg), []).append(c)  # a slice: its argument is not elementwise
            elif isinstance(c, Masked):
                mask = c.mask if cot.mask is None else and_(cot.mask, c.mask)
                pending.setdefault(id(arg), []).append(_Cot(c.g, mask))
            else:
                pending.setdefault(id(arg), []).append(_Cot(c, cot.mask))
    return [found.get(id(w)) or full(0.0, w.shape or (), str(w.dtype)) for w in wrt]


def normalize_argnums(argnums: int | Sequence[int], n_inputs: int, name: str) -> tuple[tuple[int, ...], bool]:
    """``argnums`` as a tuple of valid positions, and whether it was a single int."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    items: Any = (argnums,) if single else argnums
    try:
        nums: tuple[Any, ...] = tuple(items)
    except TypeError:
        raise GradientError(f"argnums must be an int or a tuple of ints, got {argnums!r}") from None
    if not nums or any(not isinstance(i, int) or isinstance(i, bool) for i in nums):
        raise GradientError(f"argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    for i in nums:
        if not -n_inputs <= i < n_inputs:
            raise GradientError(f"argnums={argnums!r}: {name} has {n_inputs} argument(s), so {i} is out of range")
    positions = tuple(i % n_inputs for i in nums)
    if len(set(positions)) != len(positions):
        raise GradientError(f"argnums={argnums!r} names an argument twice")
    return positions, single


def value_and_grad_program(program: Program, argnums: int | Sequence[int] = 0) -> Program:
    """The program returning ``(value, d value / d input_i for i in argnums)`` as one flat tuple."""
    positions, _single = normalize_argnums(argnums, len(program.inputs), program.name)
    if len(program.outputs) != 1 or program.output_tuple:
        raise GradientError(f"{program.name} returns {len(program.outputs)} outputs; grad needs one scalar "
                            "output (return the sum you want to differentiate, or differentiate each output)")
    (out,) = program.outputs
    if out.shape != ():
        raise GradientError(f"{program.name} returns an array of shape {out.shape}; grad needs a scalar output: "
                            "differentiate np.sum(...) of it, or a weighted sum for a vector-Jacobian product")
    if out.dtype not in FLOATS:
        raise GradientError(f"{program.name} returns a {out.dtype} value; grad needs a float output")
    wrt = [program.inputs[i] for i in positions]
    for i, w in zip(positions, wrt, strict=True):
        if w.dtype not in FLOATS:
            raise GradientError(f"argument {i} ({w.attr['name']!r}) of {program.name} is {w.dtype}; gradients "
                                "are taken with respect to float arguments only (pass it as float64, or "
                                "leave it out of argnums)")
    grads = gradients(out, wrt)
    return Program(program.inputs, (out, *grads), program.name, output_tuple=True)
