"""Rules are data: ``rewrite(lhs, rhs, when=..., claim=...)`` records, written once.

The same record compiles to egglog rules, hypothesis properties and z3 proof obligations. Each
rule states its claim: ``exact`` (bit-identical in IEEE arithmetic), ``real`` (equal over the
reals where the left side is defined; floats agree within ``rtol``), ``guarded`` (valid only
where its ``when`` conditions hold, which the engine must establish) or ``approx`` (opt-in).

A rule may also declare that its right side *replaces* its left side (``replaces=True``): the
right side is at least as accurate everywhere and keeps NumPy's nan, infinities and signed
zeros (what ``check-rules`` verifies for non-fast-math ``real`` and ``guarded`` claims), so the
left side should never be chosen, however cheap the cost model finds it. The engine compiles
this to egglog's ``subsume``: the matched left-side e-node stays in its e-class (the equality
holds) but is neither extracted nor matched by any rule again. Use it where the left side is
numerically fragile (``log(sigmoid(x))``), not for plain algebra, where the cheaper side should
win. ``exact`` rules may replace too (the sides are bit-identical); ``approx`` and fast-math
rules may not (their right side is not as accurate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from .errors import RuleError
from .pattern import Const, Op, Pattern, Var, Wildcard, as_pattern, parse


class Claim(Enum):
    EXACT = "exact"
    REAL = "real"
    GUARDED = "guarded"
    APPROX = "approx"


class Fact(Enum):
    """What a guard can ask of a term; the engine derives these by a sign analysis."""

    POSITIVE = "positive"  # x > 0
    NONNEGATIVE = "nonnegative"  # x >= 0
    NONZERO = "nonzero"  # x != 0
    FINITE = "finite"  # not inf, not nan
    MATRIX = "matrix"  # exactly 2-D (a shape fact, for linear-algebra rules)
    VECTOR = "vector"  # exactly 1-D
    SQUARE = "square"  # a square 2-D matrix


@dataclass(frozen=True)
class Guard:
    """``fact(var)``: a condition on one bound variable."""

    fact: Fact
    var: str

    def __str__(self) -> str:
        return {Fact.POSITIVE: "?{} > 0", Fact.NONNEGATIVE: "?{} >= 0", Fact.NONZERO: "?{} != 0",
                Fact.FINITE: "finite(?{})", Fact.MATRIX: "matrix(?{})",
                Fact.VECTOR: "vector(?{})", Fact.SQUARE: "square(?{})"}[self.fact].format(self.var)

    @property
    def is_shape_fact(self) -> bool:
        """Shape facts restrict where a rule applies; they are not value conditions."""
        return self.fact in (Fact.MATRIX, Fact.VECTOR, Fact.SQUARE)


_GUARD_TEXT = [
    (re.compile(r"^\??(\w+)\s*>\s*0$"), Fact.POSITIVE),
    (re.compile(r"^\??(\w+)\s*>=\s*0$"), Fact.NONNEGATIVE),
    (re.compile(r"^\??(\w+)\s*!=\s*0$"), Fact.NONZERO),
    (re.compile(r"^finite\(\??(\w+)\)$"), Fact.FINITE),
    (re.compile(r"^matrix\(\??(\w+)\)$"), Fact.MATRIX),
    (re.compile(r"^vector\(\??(\w+)\)$"), Fact.VECTOR),
    (re.compile(r"^square\(\??(\w+)\)$"), Fact.SQUARE),
]


def positive(x: Var) -> Guard: return Guard(Fact.POSITIVE, x.name)
def nonnegative(x: Var) -> Guard: return Guard(Fact.NONNEGATIVE, x.name)
def nonzero(x: Var) -> Guard: return Guard(Fact.NONZERO, x.name)
def finite(x: Var) -> Guard: return Guard(Fact.FINITE, x.name)
def matrix(x: Var) -> Guard: return Guard(Fact.MATRIX, x.name)
def vector(x: Var) -> Guard: return Guard(Fact.VECTOR, x.name)
def square(x: Var) -> Guard: return Guard(Fact.SQUARE, x.name)


def parse_guard(text: str) -> Guard:
    for regex, fact in _GUARD_TEXT:
        m = regex.match(text.strip())
        if m:
            return Guard(fact, m.group(1))
    raise RuleError(f"guard {text!r} is not understood; write '?x > 0', '?x >= 0', '?x != 0', 'finite(?x)', "
                    "'matrix(?x)', 'vector(?x)' or 'square(?x)'")


@dataclass(frozen=True)
class Rule:
    """One rewrite ``lhs → rhs``, with its guards and its claim."""

    name: str
    lhs: Pattern
    rhs: Pattern
    claim: Claim = Claim.EXACT
    when: tuple[Guard, ...] = ()
    rtol: float = 0.0  # for `real` claims: allowed relative difference on floats (float64)
    doc: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)
    replaces: bool = False  # the right side replaces the left (egglog subsume; see the module docstring)

    def __str__(self) -> str:
        guard = f" if {', '.join(map(str, self.when))}" if self.when else ""
        replaces = ", replaces" if self.replaces else ""
        return f"{self.name}: {self.lhs} => {self.rhs}{guard}  [{self.claim.value}{replaces}]"

    @property
    def variables(self) -> set[str]:
        return self.lhs.variables()


PatternLike = Pattern | str | int | float


def rewrite(lhs: PatternLike, rhs: PatternLike, *, name: str | None = None,
            when: Guard | str | Sequence[Guard | str] = (), claim: Claim | str = Claim.EXACT,
            rtol: float | None = None, doc: str = "", tags: Iterable[str] = (), replaces: bool = False) -> Rule:
    """Declare a rule; validates it now so a malformed rule never reaches the engine.

    ``replaces=True``: the right side replaces the left side in the e-graph (the left side is
    never extracted nor rewritten again); see the module docstring for when that is right.
    """
    lhs_p = parse(lhs) if isinstance(lhs, str) else as_pattern(lhs)
    rhs_p = parse(rhs) if isinstance(rhs, str) else as_pattern(rhs)
    try:
        claim_v = Claim(claim) if isinstance(claim, str) else claim
    except ValueError:
        raise RuleError(f"claim {claim!r} is not one of {[c.value for c in Claim]}") from None
    guards_in = [when] if isinstance(when, (Guard, str)) else list(when)
    guards = tuple(g if isinstance(g, Guard) else parse_guard(g) for g in guards_in)
    rule_name = name or _default_name(lhs_p, rhs_p)
    if any(not g.is_shape_fact for g in guards) and claim_v is Claim.EXACT:
        claim_v = Claim.GUARDED
    if claim_v is Claim.GUARDED and not any(not g.is_shape_fact for g in guards):
        raise RuleError(f"rule {rule_name!r} claims 'guarded' but has no when= condition")
    default_rtol = {Claim.EXACT: 0.0, Claim.REAL: 1e-12, Claim.GUARDED: 1e-12, Claim.APPROX: 1e-6}[claim_v]
    if not isinstance(replaces, bool):
        raise RuleError(f"rule {rule_name!r}: replaces= must be True or False, got {replaces!r}")
    rule = Rule(rule_name, lhs_p, rhs_p, claim_v, guards, default_rtol if rtol is None else float(rtol),
                doc, frozenset(tags), replaces)
    validate(rule)
    return rule


def _default_name(lhs: Pattern, rhs: Pattern) -> str:
    text = f"{lhs}=>{rhs}"
    return re.sub(r"[^A-Za-z0-9_?=>+*/-]+", "", text)[:80]


def validate(rule: Rule) -> None:
    """Reject what cannot be a sound, compilable rule, naming the rule and the problem."""
    where = f"rule {rule.name!r}"
    if not re.fullmatch(r"[A-Za-z0-9_.?=>+*/()-]+", rule.name):
        raise RuleError(f"{where}: names may use letters, digits and _ . - only")
    if isinstance(rule.lhs, (Var, Wildcard)):
        raise RuleError(f"{where}: the left side {rule.lhs} matches everything; it must be an op pattern")
    if isinstance(rule.lhs, Const):
        raise RuleError(f"{where}: the left side is a bare constant; constants are folded, not rewritten")
    for p in rule.rhs.walk():
        if isinstance(p, Wildcard):
            raise RuleError(f"{where}: the right side has a wildcard '_'; name it ?x on both sides")
    unbound = rule.rhs.variables() - rule.lhs.variables()
    if unbound:
        raise RuleError(f"{where}: variable(s) {', '.join('?' + v for v in sorted(unbound))} on the right "
                        "side are not bound on the left side")
    unbound_attrs = rule.rhs.attr_variables() - rule.lhs.attr_variables()
    if unbound_attrs:
        raise RuleError(f"{where}: attribute variable(s) {sorted(unbound_attrs)} on the right are not bound on the left")
    for p in rule.rhs.walk():
        if isinstance(p, Op):
            from . import ops

            missing = [a for a in ops.spec(p.op).attrs if a not in p.attrs]
            if missing:
                raise RuleError(f"{where}: {p.op}(...) on the right side needs attribute(s) {missing} "
                                "(bind them on the left, e.g. axis=?a)")
    for g in rule.when:
        if g.var not in rule.lhs.variables():
            raise RuleError(f"{where}: guard {g} names ?{g.var}, which the left side does not bind")
    if rule.replaces and (rule.claim is Claim.APPROX or "fast-math" in rule.tags):
        raise RuleError(f"{where}: an {'approx' if rule.claim is Claim.APPROX else 'fast-math'} rule cannot replace "
                        "its left side (its right side is not at least as accurate); drop replaces=True")
