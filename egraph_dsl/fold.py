"""Folding array constants: what depends only on closed-over data is computed once, at compile time.

After extraction, a term whose leaves are all constants (closed-over arrays and weak scalars) has
the same value at every call: ``1 - y`` for observed outcomes ``y``, ``-(1 - y)`` in a gradient,
the index ``i * K + k`` of a gather. :func:`fold_array_constants` evaluates such terms once with
the op table's implementations (exactly what the NumPy backend would compute at each call) and
puts the result in the program as a read-only array constant.

Views and broadcasts of constants are left alone (folding ``broadcast_to(0.0, (10**6,))`` would
allocate what the view does not), and so is anything larger than ``max_bytes``; an op that
raises (an index out of bounds) is left to raise at run time, as NumPy would.
"""

from __future__ import annotations

import numpy as np

from .constants import constant_array
from .program import Program, evaluate_node, finish
from .term import Term, make, postorder

MAX_BYTES = 64 * 2**20


def _is_constant_leaf(t: Term) -> bool:
    return t.op in ("const", "array_const")


def fold_array_constants(program: Program, max_bytes: int = MAX_BYTES) -> Program:
    """``program`` with every constant subterm that does real work evaluated now."""
    replaced: dict[int, Term] = {}
    constant: set[int] = set()
    changed = False
    for t in postorder(program.outputs):
        args = tuple(replaced.get(id(a), a) for a in t.args)
        if args != t.args:
            t_new = Term(t.op, args, t.attrs, t.shape, t.dtype)
            replaced[id(t)] = t_new
        else:
            t_new = t
        if _is_constant_leaf(t):
            constant.add(id(t))
            continue
        if t.op == "input" or not all(id(a) in constant for a in t.args):
            continue
        constant.add(id(t))
        if t.weak or t.spec.view or (t.op == "astype" and t.args[0].op == "const"):
            continue  # free to compute at run time (a view, a weak scalar, a typed scalar)
        if t.size * np.dtype(t.dtype or "float64").itemsize > max_bytes:
            continue
        value = _evaluate(t_new)
        if value is None:
            constant.discard(id(t))
            continue
        replaced[id(t)] = make("array_const", array=constant_array(value))
        changed = True
    if not changed:
        return program
    return program.with_outputs([replaced.get(id(o), o) for o in program.outputs])


def _evaluate(t: Term) -> np.ndarray | None:
    """The value of the constant term ``t`` (its constant operands folded already, or views and
    weak scalars), or None if evaluating it raises."""
    values: dict[int, object] = {}
    try:
        with np.errstate(all="ignore"):
            for s in postorder([t]):
                values[id(s)] = evaluate_node(s, [values[id(a)] for a in s.args], {})
            out = finish(values[id(t)], t)
    except (ArithmeticError, IndexError, ValueError):
        return None
    return np.array(out, order="C")  # a copy of its own (ascontiguousarray would make a 0-d array 1-d)
