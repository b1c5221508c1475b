"""Compile rule records into egglog rules (one egglog ruleset per application).

A rule's left side becomes a query, its guards become sign-analysis atoms, and its right side
becomes a ``union`` with the matched class. When the rule is applied in a scope, the query
also asks ``(InScope root)`` and the new nodes of the right side join the scope. A rule that
``replaces`` its left side also ``subsume``s the matched root e-node: its children are bound to
query variables so the action can name exactly that e-node (it stays in its class, but is
neither extracted nor matched again).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .. import ops
from ..errors import RuleError
from ..pattern import AttrVar, Const, Op, Pattern, Var, Wildcard, shape_anchor
from ..rules import Rule
from .encode import const_expr, encode_attr, string
from .schema import FACT_RELATION, NDIM_FACT


@dataclass
class _Names:
    counter: itertools.count[int]

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"


def var_name(name: str) -> str:
    return f"v_{name}"


def query_expr(p: Pattern, names: _Names, bound: list[str] | None = None) -> str:
    """An egglog pattern expression for ``p`` (variables are shared by name).

    With ``bound`` (a list of atoms to extend), ``p``'s direct arguments that are not variables
    are bound to fresh variables by atoms of their own, so the expression names one e-node by
    variables only (what ``subsume`` needs).
    """
    if isinstance(p, Var):
        return var_name(p.name)
    if isinstance(p, Wildcard):
        return names.fresh("w")
    if isinstance(p, Const):
        return const_expr(p.value)
    assert isinstance(p, Op)
    spec = ops.spec(p.op)
    parts = []
    for arg in p.args:
        expr = query_expr(arg, names)
        if bound is not None and not isinstance(arg, (Var, Wildcard)):
            kid = names.fresh("k")
            bound.append(f"(= {kid} {expr})")
            expr = kid
        parts.append(expr)
    for a in spec.attrs:
        value = p.attrs.get(a, _MISSING)
        if value is _MISSING:
            parts.append(names.fresh("x"))
        elif isinstance(value, AttrVar):
            parts.append(f"at_{value.name}")
        else:
            parts.append(encode_attr(a, value))
    return f"({spec.egg} {' '.join(parts)})"


_MISSING = object()


def action_expr(p: Pattern, lets: list[str], names: _Names, scope: str | None) -> str:
    """An egglog expression building ``p``; inner op nodes are let-bound so they join the scope."""
    if isinstance(p, Var):
        return var_name(p.name)
    if isinstance(p, Const):
        return const_expr(p.value)
    assert isinstance(p, Op)
    spec = ops.spec(p.op)
    parts = [action_expr(a, lets, names, scope) for a in p.args]
    for a in spec.attrs:
        value = p.attrs[a]
        parts.append(f"at_{value.name}" if isinstance(value, AttrVar) else encode_attr(a, value))
    expr = f"({spec.egg} {' '.join(parts)})"
    if scope is None:
        return expr
    name = names.fresh("n")
    lets.append(f"(let {name} {expr})")
    lets.append(f"({scope} {name})")
    return name


def compile_rule(rule: Rule, ruleset: str, rule_id: str, scope: str | None = None) -> str:
    """The egglog ``rule`` command for one rule record."""
    names = _Names(itertools.count())
    root = "root"
    inner: list[str] = []
    matched = query_expr(rule.lhs, names, inner if rule.replaces else None)
    atoms = [f"(= {root} {matched})", *inner]
    if scope is not None:
        atoms.append(f"({scope} {root})")
    for g in rule.when:
        if g.fact.value in NDIM_FACT:
            atoms.append(f"(= (NdimOf {var_name(g.var)}) {NDIM_FACT[g.fact.value]})")
        else:
            atoms.append(f"({FACT_RELATION[g.fact.value]} {var_name(g.var)})")
    lhs_vars, rhs_vars = rule.lhs.variables(), rule.rhs.variables()
    lets: list[str] = []
    if not rhs_vars:
        # a constant right side takes the shape and dtype of the matched class, from a variable
        # of the same shape (every variable of a purely elementwise left side qualifies)
        anchor = shape_anchor(rule.lhs)
        if anchor is None:
            raise RuleError(
                f"rule {rule.name!r}: its right side is a constant, but no variable of the left side "
                "has the shape of the whole match (the left side must be elementwise around a ?var)"
            )
        atoms += [f"(Strong {root})", f"(= sh (ShapeOf {var_name(anchor)}))", f"(= dt (DtypeOf {var_name(anchor)}))"]
        body = action_expr(rule.rhs, lets, names, scope)
        rhs = f"(BroadcastTo (Astype {body} dt) sh)"
    else:
        # dropping variables must not turn an array into a weak constant, and a variable placed
        # under a non-elementwise op must be an array (weak constants live only in elementwise ops)
        strong = set(rhs_vars) if rhs_vars < lhs_vars else set()
        strong |= _under_structural_ops(rule.rhs)
        atoms += [f"(Strong {var_name(v)})" for v in sorted(strong)]
        rhs = action_expr(rule.rhs, lets, names, scope)
    actions = [*lets, f"(union {root} {rhs})"]
    if rule.replaces:
        actions.append(f"(subsume {matched})")
    return (f"(rule ({' '.join(atoms)})\n      ({' '.join(actions)})\n      "
            f":ruleset {ruleset} :name {string(rule_id)})")


def _under_structural_ops(p: Pattern) -> set[str]:
    """Variables that are direct arguments of a non-elementwise op in ``p``."""
    out: set[str] = set()
    for node in p.walk():
        if isinstance(node, Op) and not ops.spec(node.op).elementwise:
            out |= {a.name for a in node.args if isinstance(a, Var)}
    return out
