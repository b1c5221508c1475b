"""Instantiate a rule's patterns into Terms: concrete input terms for its variables.

A *template* fixes, for each pattern variable, a shape and dtype, and a value for each
attribute variable. Templates are enumerated once per rule over symbolic dimension labels
(2, 3, 4 stand for three different sizes) and kept when the left side is well typed; sizes
are then drawn per example by relabelling the dimensions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from egraph_dsl import ops, term
from egraph_dsl.errors import EgraphDslError
from egraph_dsl.pattern import AttrVar, Const, Op, Pattern, Var, Wildcard
from egraph_dsl.rules import Rule
from egraph_dsl.term import Term

LABELS = (2, 3, 4)  # symbolic sizes in templates; relabelled per example
FLOAT_DTYPES = ("float64", "float32")
NDIM_FACTS = {"matrix": 2, "vector": 1}  # shape guards: the variable has exactly this many dimensions


class IllTypedError(Exception):
    """A pattern side does not build into a well-typed term for this template."""


@dataclass(frozen=True)
class Template:
    """Shapes and dtypes of the variables and values of the attribute variables of one rule."""

    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    dtypes: tuple[tuple[str, str], ...]
    attrs: tuple[tuple[str, Any], ...]

    def relabel(self, sizes: Mapping[int, int], dtype: str) -> Template:
        """Replace the symbolic sizes by ``sizes`` and every float dtype by ``dtype``."""

        def fix(value: Any) -> Any:
            if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
                return tuple(sizes.get(v, v) for v in value)
            return value

        return Template(
            tuple((n, tuple(sizes.get(d, d) for d in s)) for n, s in self.shapes),
            tuple((n, dtype if d in FLOAT_DTYPES else d) for n, d in self.dtypes),
            tuple((n, fix(v) if n.startswith("shape:") else v) for n, v in self.attrs),
        )

    def describe(self) -> str:
        parts = [f"?{n}: {term.short_dtype(dict(self.dtypes)[n])}[{','.join(map(str, s))}]" for n, s in self.shapes]
        parts += [f"?{n.split(':', 1)[-1]}={v!r}" for n, v in self.attrs]
        return ", ".join(parts)


def variables(rule: Rule) -> list[str]:
    """The rule's variables in a stable order, wildcards of the left side included (as _0, _1 …)."""
    names = sorted(rule.lhs.variables())
    return names + [f"_{i}" for i in range(_count_wildcards(rule.lhs))]


def _count_wildcards(p: Pattern) -> int:
    return sum(1 for n in p.walk() if isinstance(n, Wildcard))


def attr_variables(p: Pattern) -> dict[str, str]:
    """Attribute variable name -> the attribute it stands for (axis, keepdims, axes, shape, dtype)."""
    out: dict[str, str] = {}
    for node in p.walk():
        if isinstance(node, Op):
            for k, v in node.attrs.items():
                if isinstance(v, AttrVar):
                    out[v.name] = k
    return out


def bool_variables(p: Pattern) -> set[str]:
    """Variables used as the condition of ``where``: they are bool arrays."""
    return {n.args[0].name for n in p.walk()
            if isinstance(n, Op) and n.op == "where" and isinstance(n.args[0], Var)}


def inputs_for(template: Template) -> dict[str, Term]:
    dtypes = dict(template.dtypes)
    return {name: term.input_(name, shape, dtypes[name]) for name, shape in template.shapes}


def build(p: Pattern, env: Mapping[str, Term], attrs: Mapping[str, Any]) -> Term:
    """The term of pattern ``p`` with variables from ``env``; IllTypedError if it does not type-check."""
    wild = iter(sorted(n for n in env if n.startswith("_")))
    memo: dict[int, Term] = {}

    def go(node: Pattern) -> Term:
        if isinstance(node, Var):
            return env[node.name]
        if isinstance(node, Wildcard):
            return env[next(wild)]
        if isinstance(node, Const):
            return term.const(node.value)
        assert isinstance(node, Op)
        args = [go(a) for a in node.args]
        spec = ops.spec(node.op)
        values: dict[str, Any] = {}
        for name in spec.attrs:
            v = node.attrs.get(name, _MISSING)
            if isinstance(v, AttrVar):
                v = attrs[v.name]
            if v is _MISSING:
                v = _default_attr(node.op, name, args)
            values[name] = v
        _check_attrs(node.op, args, values)
        try:
            return term.make(node.op, args, **values)
        except (EgraphDslError, ValueError, TypeError, KeyError) as exc:
            raise IllTypedError(str(exc)) from None

    del memo
    return go(p)


_MISSING = object()


def _default_attr(op: str, name: str, args: list[Term]) -> Any:
    """Attributes a left side leaves out ("any"): use the most common value."""
    ndim = len(args[0].shape or ()) if args else 0
    defaults = {"axis": None, "keepdims": False, "axes": tuple(reversed(range(ndim))),
                "shape": args[0].shape if args else (), "dtype": args[0].dtype if args else "float64"}
    return defaults[name]


def _check_attrs(op: str, args: list[Term], values: Mapping[str, Any]) -> None:
    """What ``term.make`` does not check: axes in range, permutations, reshape sizes."""
    shape = args[0].shape or () if args else ()
    ndim = len(shape)
    if "axis" in values:
        axis = values["axis"]
        if axis is not None and (not axis or any(not 0 <= a < ndim for a in axis) or len(set(axis)) != len(axis)):
            raise IllTypedError(f"{op}: axis {axis} invalid for {ndim} dimensions")
    if op == "transpose" and sorted(values["axes"]) != list(range(ndim)):
        raise IllTypedError(f"transpose: axes {values['axes']} is not a permutation of {ndim} dimensions")
    if op == "reshape" and math.prod(values["shape"]) != math.prod(shape):
        raise IllTypedError(f"reshape: {shape} cannot become {values['shape']}")
    if op == "broadcast_to":
        target = tuple(values["shape"])
        if len(target) < ndim or any(s not in (1, t) for s, t in zip(shape[::-1], target[::-1], strict=False)):
            raise IllTypedError(f"broadcast_to: {shape} does not broadcast to {target}")
    if op in ("max", "min", "logsumexp") and 0 in shape:
        raise IllTypedError(f"{op}: empty reduction")


def _uses_structure(rule: Rule) -> bool:
    """Does either side use an op that is not elementwise (so shapes matter)?"""
    return any(isinstance(n, Op) and ops.spec(n.op).kind is not ops.Kind.ELEMENTWISE
               for side in (rule.lhs, rule.rhs) for n in side.walk())


def elementwise(rule: Rule) -> bool:
    """Are both sides elementwise (so every variable shares one shape and elements are independent)?"""
    return not _uses_structure(rule)


def _shape_pool(max_ndim: int) -> list[tuple[int, ...]]:
    pool: list[tuple[int, ...]] = [()]
    for nd in range(1, max_ndim + 1):
        pool += list(itertools.product(LABELS[:max(nd, 2)], repeat=nd))
    return pool


def _attr_pool(kind: str) -> list[Any]:
    if kind == "axis":
        return [None, (0,), (1,), (0, 1), (2,), (1, 2), (0, 2), (0, 1, 2)]
    if kind == "keepdims":
        return [False, True]
    if kind == "axes":
        return [p for n in range(4) for p in itertools.permutations(range(n))]
    if kind == "dtype":
        return list(FLOAT_DTYPES)
    if kind == "shape":
        return [(), (2,), (3,), (2, 3), (3, 2), (6,), (1, 2), (2, 1), (2, 3, 4), (4, 3, 2), (3, 4)]
    return [None]


def templates(rule: Rule, *, limit: int = 64, max_ndim: int = 3, both_sides: bool = False) -> list[Template]:
    """Well-typed templates of the rule's left side (and right side too with ``both_sides``).

    Elementwise rules give every variable one shared shape; others search shapes per variable.
    """
    names = variables(rule)
    bools = bool_variables(rule.lhs)
    avars = attr_variables(rule.lhs)
    anames = sorted(avars)
    dtype_of = {n: ("bool" if n in bools else "float64") for n in names}
    if _uses_structure(rule):
        per_var = [_shape_pool(max_ndim) for _ in names]
        shape_choices: Iterator[tuple[tuple[int, ...], ...]] = itertools.product(*per_var)
    else:
        shape_choices = ((s,) * len(names) for s in _shape_pool(max_ndim) if len(set(s)) == len(s))
    ndim_of = {g.var: NDIM_FACTS[g.fact.value] for g in rule.when if g.fact.value in NDIM_FACTS}
    square = {g.var for g in rule.when if g.fact.value == "square"}
    attr_choices = list(itertools.product(*[_attr_pool(avars[a]) for a in anames]))
    found: list[Template] = []
    tried = 0
    for shapes in shape_choices:
        if any(len(s) != ndim_of[n] for n, s in zip(names, shapes, strict=True) if n in ndim_of):
            continue
        if any(len(s) != 2 or s[0] != s[1] for n, s in zip(names, shapes, strict=True) if n in square):
            continue
        for attr_values in attr_choices:
            tried += 1
            if tried > 20000 or len(found) >= limit:
                return found
            t = Template(tuple(zip(names, shapes, strict=True)), tuple(dtype_of.items()),
                         tuple((f"{avars[a]}:{a}" if avars[a] == "shape" else a, v)
                               for a, v in zip(anames, attr_values, strict=True)))
            try:
                env = inputs_for(t)
                build(rule.lhs, env, attr_env(t))
                if both_sides:
                    build(rule.rhs, env, attr_env(t))
            except IllTypedError:
                continue
            found.append(t)
    return found


def attr_env(template: Template) -> dict[str, Any]:
    return {n.split(":", 1)[-1]: v for n, v in template.attrs}


def instantiate(rule: Rule, template: Template) -> tuple[dict[str, Term], Term, Term | None, str]:
    """Input terms, the left term, and the right term (None, with the reason, if ill typed)."""
    env = inputs_for(template)
    attrs = attr_env(template)
    lhs = build(rule.lhs, env, attrs)
    try:
        return env, lhs, build(rule.rhs, env, attrs), ""
    except IllTypedError as exc:
        return env, lhs, None, str(exc)
