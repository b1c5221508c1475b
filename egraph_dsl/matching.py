"""Term-level pattern matching: the same patterns as rules, matched against Term graphs.

``match(pattern, term)`` binds ``?x`` variables to terms (a repeated variable must bind the same
term, which is identity since terms are interned) and attribute variables to attribute values.
``find_all`` lists every match below some roots; ``instantiate`` builds a rule's right side
from bindings, the way the egglog compiler does; ``rewrite_at`` applies a rule at one subterm.
Every walk is iterative, so deep programs are as cheap as shallow ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .pattern import AttrVar, Const, Op, Pattern, Var, Wildcard, parse, shape_anchor
from .rules import Fact, Rule
from .term import Term, make, postorder, substitute

_MISSING = object()


@dataclass(frozen=True)
class Bindings:
    """What a match bound: term variables (``?x`` → Term) and attribute variables (``?a`` → value)."""

    terms: Mapping[str, Term] = field(default_factory=dict)
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        name = name.removeprefix("?")
        if name in self.terms:
            return self.terms[name]
        return self.attrs[name]


@dataclass(frozen=True)
class Match:
    """One place a pattern matched: the matched term and the bindings."""

    term: Term
    bindings: Bindings


def as_pattern_text(pattern: Pattern | str) -> Pattern:
    """A pattern from text (parsed; a PatternError names what is wrong) or a Pattern as is."""
    return parse(pattern) if isinstance(pattern, str) else pattern


def constants_equal(a: float, b: float) -> bool:
    """Constant equality as egglog's f64 sees it: numeric equality, and nan equals nan."""
    return a == b or (math.isnan(a) and math.isnan(b))


def attr_equal(name: str, pattern_value: Any, term_value: Any) -> bool:
    if name == "axis" and term_value is not None and pattern_value is not None:
        return tuple(sorted(term_value)) == tuple(pattern_value)
    if isinstance(pattern_value, float) and isinstance(term_value, float):
        return constants_equal(pattern_value, term_value)
    return bool(pattern_value == term_value)


def match(pattern: Pattern | str, term: Term) -> Bindings | None:
    """Bindings if ``pattern`` matches ``term`` at its root, else None (iterative, no recursion)."""
    pattern = as_pattern_text(pattern)
    terms: dict[str, Term] = {}
    attrs: dict[str, Any] = {}
    work: list[tuple[Pattern, Term]] = [(pattern, term)]
    while work:
        p, t = work.pop()
        if isinstance(p, Wildcard):
            continue
        if isinstance(p, Var):
            bound = terms.get(p.name)
            if bound is None:
                terms[p.name] = t
            elif bound is not t:
                return None
            continue
        if isinstance(p, Const):
            if t.op != "const" or not constants_equal(p.value, float(t.attr["value"])):
                return None
            continue
        assert isinstance(p, Op)
        if p.op != t.op:
            return None
        term_attrs = t.attr
        for name, want in p.attrs.items():
            have = term_attrs.get(name, _MISSING)
            if have is _MISSING:
                return None
            if isinstance(want, AttrVar):
                seen = attrs.get(want.name, _MISSING)
                if seen is _MISSING:
                    attrs[want.name] = have
                elif not attr_equal(name, seen, have):
                    return None
            elif not attr_equal(name, want, have):
                return None
        work.extend(zip(reversed(p.args), reversed(t.args), strict=True))
    return Bindings(terms, attrs)


def find_all(pattern: Pattern | str, roots: Iterable[Term]) -> list[Match]:
    """Every subterm below ``roots`` that ``pattern`` matches, children before parents."""
    pattern = as_pattern_text(pattern)
    out = []
    for t in postorder(roots):
        b = match(pattern, t)
        if b is not None:
            out.append(Match(t, b))
    return out


def instantiate(pattern: Pattern, bindings: Bindings) -> Term:
    """Build ``pattern`` with its variables replaced by their bindings (iterative)."""
    if isinstance(pattern, Var):
        return bindings.terms[pattern.name]
    if isinstance(pattern, Const):
        return make("const", value=pattern.value)
    built: dict[int, Term] = {}
    stack: list[tuple[Pattern, bool]] = [(pattern, False)]
    while stack:
        p, ready = stack.pop()
        if id(p) in built:
            continue
        if isinstance(p, Var):
            built[id(p)] = bindings.terms[p.name]
        elif isinstance(p, Const):
            built[id(p)] = make("const", value=p.value)
        elif isinstance(p, Wildcard):
            raise ValueError("cannot build a wildcard '_'")
        else:
            assert isinstance(p, Op)
            if not ready:
                stack.append((p, True))
                stack.extend((a, False) for a in p.args)
                continue
            values = {k: bindings.attrs[v.name] if isinstance(v, AttrVar) else v for k, v in p.attrs.items()}
            built[id(p)] = make(p.op, [built[id(a)] for a in p.args], **values)
    return built[id(pattern)]


# ------------------------------------------------------------------ applying a rule to terms

FactOracle = Any  # callable (Fact, Term) -> bool


def term_fact(fact: Fact, term: Term) -> bool:
    """The engine's sign analysis (engine/schema.py), evaluated on one term, children first."""
    if fact is Fact.MATRIX:
        return term.shape is not None and len(term.shape) == 2
    if fact is Fact.VECTOR:
        return term.shape is not None and len(term.shape) == 1
    if fact is Fact.FINITE:
        return False  # the engine derives no finiteness facts either
    pos: dict[Term, bool] = {}
    nonneg: dict[Term, bool] = {}
    nonzero: dict[Term, bool] = {}
    for t in postorder([term]):
        a = t.args
        p = nn = nz = False
        if t.op == "const":
            v = float(t.attr["value"])
            p, nn, nz = v > 0, v >= 0, v != 0
        elif t.op in ("exp", "sigmoid", "softplus"):
            p = True
        elif t.op in ("square", "abs", "sqrt"):
            nn = True
            p = (t.op == "sqrt" and pos[a[0]]) or (t.op in ("abs", "square") and nonzero[a[0]])
        elif t.op == "neg":
            nz = nonzero[a[0]]
        elif t.op == "add":
            p = (pos[a[0]] and nonneg[a[1]]) or (nonneg[a[0]] and pos[a[1]])
            nn = nonneg[a[0]] and nonneg[a[1]]
        elif t.op == "mul":
            p = pos[a[0]] and pos[a[1]]
            nn = nonneg[a[0]] and nonneg[a[1]]
            nz = nonzero[a[0]] and nonzero[a[1]]
        elif t.op == "div":
            p = pos[a[0]] and pos[a[1]]
        elif t.op == "maximum":
            p = pos[a[0]] or pos[a[1]]
            nn = nonneg[a[0]] or nonneg[a[1]]
        elif t.op in ("sum",):
            p, nn = pos[a[0]], nonneg[a[0]]
        elif t.op in ("mean", "max", "min", "broadcast_to", "transpose", "reshape"):
            p = pos[a[0]]
        elif t.op == "astype":
            p = pos[a[0]] and t.attr["dtype"] in ("float64", "float32")
        elif t.op == "sub":
            p = (a[0].op == "const" and float(a[0].attr["value"]) >= 1.0 and a[1].op == "sigmoid")
        pos[t] = p
        nonneg[t] = nn or p
        nonzero[t] = nz or p
    return {Fact.POSITIVE: pos, Fact.NONNEGATIVE: nonneg, Fact.NONZERO: nonzero}[fact][term]


def apply_rule(rule: Rule, term: Term, facts: FactOracle = term_fact) -> Term | None:
    """The rule's right side for ``term`` if its left side matches there and its guards hold.

    Mirrors the egglog compiler (engine/compile.py): guards ask ``facts``; variables the right
    side drops must be strong (not weak constants); a constant right side is cast and broadcast
    to the matched term's dtype and shape.
    """
    b = match(rule.lhs, term)
    if b is None:
        return None
    for g in rule.when:
        if not facts(g.fact, b.terms[g.var]):
            return None
    lhs_vars, rhs_vars = rule.lhs.variables(), rule.rhs.variables()
    if not rhs_vars:
        anchor = shape_anchor(rule.lhs)
        if anchor is None or term.weak or b.terms[anchor].shape is None:
            return None
        body = instantiate(rule.rhs, b)
        anchor_t = b.terms[anchor]
        return make("broadcast_to", [make("astype", [body], dtype=anchor_t.dtype)], shape=anchor_t.shape)
    if rhs_vars < lhs_vars and any(b.terms[v].weak for v in rhs_vars):
        return None
    try:
        return instantiate(rule.rhs, b)
    except Exception:  # an ill-typed instance (shapes that do not fit): the rule does not apply here
        return None


def replace(root: Term, old: Term, new: Term) -> Term:
    """``root`` with every occurrence of subterm ``old`` replaced by ``new`` (iterative rebuild)."""
    return substitute([root], {old: new})[0]
