"""The Term IR: frozen, hash-consed nodes with explicit shape and dtype.

Terms are interned, so equal terms are the same object: equality and hashing are by identity
and never recurse (a 10,000-deep chain is as cheap as a shallow one). Every walk over terms is
iterative for the same reason.
"""

from __future__ import annotations

import math
import struct
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from . import ops

AttrValue = Any
Attrs = tuple[tuple[str, AttrValue], ...]


def _attr_key(value: AttrValue) -> object:
    """A key that tells -0.0 from 0.0 and matches nan with nan."""
    if isinstance(value, float):
        return ("f", struct.pack("<d", value))
    return value


class Term:
    """One op applied to argument terms, with its output shape and dtype (None = weak scalar)."""

    __slots__ = ("__weakref__", "args", "attrs", "dtype", "op", "shape")
    _table: weakref.WeakValueDictionary[tuple[object, ...], Term] = weakref.WeakValueDictionary()

    op: str
    args: tuple[Term, ...]
    attrs: Attrs
    shape: ops.Shape | None
    dtype: str | None

    def __new__(cls, op: str, args: tuple[Term, ...], attrs: Attrs, shape: ops.Shape | None,
                dtype: str | None) -> Term:
        key = (op, args, tuple((k, _attr_key(v)) for k, v in attrs), shape, dtype)
        found = cls._table.get(key)
        if found is not None:
            return found
        self = object.__new__(cls)
        for name, value in (("op", op), ("args", args), ("attrs", attrs), ("shape", shape), ("dtype", dtype)):
            object.__setattr__(self, name, value)
        cls._table[key] = self
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Term is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Term, (self.op, self.args, self.attrs, self.shape, self.dtype))

    @property
    def attr(self) -> dict[str, AttrValue]:
        return dict(self.attrs)

    @property
    def spec(self) -> ops.OpSpec:
        return ops.spec(self.op)

    @property
    def weak(self) -> bool:
        """A constant expression: no shape, no dtype of its own (broadcast by its consumer)."""
        return self.shape is None

    @property
    def size(self) -> int:
        return math.prod(self.shape or ())

    def __repr__(self) -> str:
        return f"<Term {self.op} {format_type(self)} #{id(self) & 0xFFFF:04x}>"


def format_type(term: Term) -> str:
    if term.shape is None:
        return "weak"
    return f"{short_dtype(term.dtype)}[{','.join(map(str, term.shape))}]"


def short_dtype(dtype: str | None) -> str:
    return {"float64": "f64", "float32": "f32", "int64": "i64", "int32": "i32", "bool": "bool"}.get(
        dtype or "", str(dtype)
    )


def operand_dtype(term: Term) -> str:
    """The dtype an elementwise op computes in: its strong operands' (float64 if all are weak)."""
    args = term.args[1:] if term.op == "where" else term.args
    for a in args:
        if a.dtype is not None and not a.weak:
            return a.dtype
    return "float64"


def make(op: str, args: Iterable[Term] = (), **attrs: AttrValue) -> Term:
    """Build a term, inferring its shape and dtype from the op table."""
    args = tuple(args)
    spec = ops.spec(op)
    if len(args) != spec.arity:
        raise TypeError(f"{op} takes {spec.arity} arguments, got {len(args)}")
    attr_items = tuple((name, attrs[name]) for name in spec.attrs)
    if op == "input":
        return Term(op, (), attr_items, tuple(attrs["shape"]), attrs["dtype"])
    shape = ops.infer_shape(op, tuple(a.shape for a in args), attrs)
    dtype = ops.infer_dtype(op, tuple(a.dtype for a in args), attrs)
    return Term(op, args, attr_items, shape, dtype)


def const(value: float) -> Term:
    return make("const", value=float(value))


def input_(name: str, shape: ops.Shape, dtype: str) -> Term:
    return make("input", name=name, shape=tuple(shape), dtype=dtype)


def postorder(roots: Iterable[Term]) -> list[Term]:
    """Every term reachable from ``roots``, children before parents, each once (iterative)."""
    order: list[Term] = []
    seen: set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        stack: list[tuple[Term, Iterator[Term]]] = [(root, iter(root.args))]
        seen.add(id(root))
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(child.args)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def substitute(roots: Iterable[Term], mapping: Mapping[Term, Term]) -> list[Term]:
    """``roots`` with every occurrence of a key of ``mapping`` replaced by its value, rebuilt
    bottom-up (iteratively; shapes and dtypes inferred again by :func:`make`)."""
    rebuilt: dict[Term, Term] = dict(mapping)
    roots = list(roots)
    for t in postorder(roots):
        if t in rebuilt:
            continue
        args = tuple(rebuilt.get(a, a) for a in t.args)
        if args == t.args or t.op in ("input", "const"):
            rebuilt[t] = t
        else:
            rebuilt[t] = make(t.op, args, **t.attr)
    return [rebuilt[r] for r in roots]


def format_attr(value: AttrValue) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):  # slices
        return "[" + ",".join(":".join(map(str, v)) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ",".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def format_terms(roots: Iterable[Term], names: Mapping[int, str] | None = None) -> str:
    """SSA text of the terms below ``roots``: one line per op, constants inlined."""
    roots = list(roots)
    label: dict[int, str] = {}
    lines: list[str] = []
    for node in postorder(roots):
        if node.op == "const":
            label[id(node)] = format_attr(node.attr["value"])
            continue
        if node.op == "input":
            label[id(node)] = str(node.attr["name"])
            continue
        label[id(node)] = f"%{len(lines)}"
        parts = [label[id(a)] for a in node.args] + [f"{k}={format_attr(v)}" for k, v in node.attrs]
        lines.append(f"  {label[id(node)]}: {format_type(node)} = {node.op}({', '.join(parts)})")
    outs = ", ".join(label[id(r)] for r in roots)
    return "\n".join([*lines, f"  return {outs}"])

