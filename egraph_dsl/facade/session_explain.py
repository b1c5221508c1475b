"""Why an op was chosen: a chain of single rule applications from the original subterm to it.

egglog keeps no proofs we can read from Python, so the chain is reconstructed from the rule
records themselves: a best-first search over terms, where a move applies one rule (left to
right, or right to left when that is well defined) at one subterm, with the same guard and
strength checks the egglog compiler emits. Guards are decided on the e-graph's own e-classes
(the sign analysis re-run over the snapshot), so a chain uses only facts the engine knew. A
found chain is replayed from the start before it is returned.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .. import ops
from ..engine.decode import node_key
from ..engine.egraph import Snapshot
from ..matching import apply_rule, replace, term_fact
from ..pattern import Op, Wildcard
from ..rules import Fact, Rule
from ..term import Term, format_attr, format_terms, make, postorder

# ---------------------------------------------------------------- terms -> e-classes


def class_index(snapshot: Snapshot) -> dict[tuple[object, ...], str]:
    """E-node key (op, attrs, child classes) -> e-class id."""
    index: dict[tuple[object, ...], str] = {}
    for n in snapshot.nodes.values():
        index[_node_key(n.op, n.attrs, n.children)] = n.eclass
    return index


def _node_key(op: str, attrs: Iterable[tuple[str, object]], children: Sequence[str]) -> tuple[object, ...]:
    return node_key(op, attrs, children)  # nan equals nan; -0.0 and 0.0 are different e-nodes


def classes_of(snapshot: Snapshot, roots: Iterable[Term],
               index: Mapping[tuple[object, ...], str] | None = None) -> dict[Term, str]:
    """The e-class of every term below ``roots`` that the e-graph represents (others are absent)."""
    index = class_index(snapshot) if index is None else index
    out: dict[Term, str] = {}
    for t in postorder(roots):
        if any(a not in out for a in t.args):
            continue
        cls = index.get(_node_key(t.op, t.attrs, [out[a] for a in t.args]))
        if cls is not None:
            out[t] = cls
    return out


def class_facts(snapshot: Snapshot) -> dict[Fact, set[str]]:
    """The engine's sign analysis (engine/schema.py, rule for rule), run to a fixpoint over the
    snapshot's classes, so a chain uses only facts the engine could know."""
    pos: set[str] = set()
    nonneg: set[str] = set()
    nonzero: set[str] = set()
    nodes = list(snapshot.nodes.values())
    consts = {n.eclass: float(dict(n.attrs)["value"]) for n in nodes if n.op == "const"}
    changed = True
    while changed:
        changed = False
        for n in nodes:
            c = n.children
            p = nn = nz = False
            if n.op == "const":
                v = float(dict(n.attrs)["value"])
                p, nn, nz = v > 0, v >= 0 and math.copysign(1.0, v) > 0, v != 0  # -0.0 is not NonNeg
            elif n.op in ("exp", "sigmoid", "softplus", "square", "abs"):  # exp(-800) is 0.0
                nn = True
                p = n.op == "abs" and c[0] in nonzero
            elif n.op == "sqrt":  # sqrt(-0.0) is -0.0
                p, nn = c[0] in pos, c[0] in nonneg
            elif n.op == "neg":
                nz = c[0] in nonzero
            elif n.op == "add":
                p = (c[0] in pos and c[1] in nonneg) or (c[0] in nonneg and c[1] in pos)
                nn = c[0] in nonneg and c[1] in nonneg
            elif n.op == "mul":  # 1e-200 * 1e-200 is 0.0
                nn = c[0] in nonneg and c[1] in nonneg
            elif n.op == "div":
                nn = c[0] in nonneg and c[1] in pos
            elif n.op == "maximum":  # max(-0.0, 0.0)
                p = c[0] in pos or c[1] in pos
                nn = c[0] in nonneg and c[1] in nonneg
            elif n.op == "sum":  # an empty sum is 0.0
                nn = c[0] in nonneg
            elif n.op in ("mean", "max"):
                p = c[0] in pos
            elif n.op in ("broadcast_to", "transpose", "reshape"):
                p, nn = c[0] in pos, c[0] in nonneg
            elif n.op == "astype":  # 1e-300 becomes 0 in float32
                dtype = dict(n.attrs)["dtype"]
                p = c[0] in pos and dtype == "float64"
                nn = c[0] in nonneg and dtype == "float32"
            elif n.op == "sub":
                nn = consts.get(c[0], 0.0) >= 1.0 and any(
                    snapshot.nodes[m].op == "sigmoid" for m in snapshot.classes.get(c[1], ()))
            nn, nz = nn or p, nz or p
            for flag, facts in ((p, pos), (nn, nonneg), (nz, nonzero)):
                if flag and n.eclass not in facts:
                    facts.add(n.eclass)
                    changed = True
    return {Fact.POSITIVE: pos, Fact.NONNEGATIVE: nonneg, Fact.NONZERO: nonzero}


class EGraphFacts:
    """Answers guard questions about a term from its e-class (falls back to the term itself)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.index = class_index(snapshot)
        self.facts = class_facts(snapshot)

    def __call__(self, fact: Fact, term: Term) -> bool:
        if fact in (Fact.MATRIX, Fact.VECTOR, Fact.FINITE):
            return term_fact(fact, term)
        cls = classes_of(self.snapshot, [term], self.index).get(term)
        if cls is None:
            return term_fact(fact, term)
        return cls in self.facts[fact]


# ----------------------------------------------------------------------- moves


FOLD = "fold-constants"  # the engine's own constant folding (schema ANALYSIS), not a rule record


@dataclass(frozen=True)
class Move:
    """One rule application: ``rule`` at subterm ``at`` (``reverse``: right side to left)."""

    rule: str
    reverse: bool
    at: Term
    new: Term  # what ``at`` became
    result: Term  # the whole term after the move
    replaces: bool = False  # the rule replaces its left side (the old form can no longer be chosen)

    def __str__(self) -> str:
        how = " (right to left)" if self.reverse else " (replaces)" if self.replaces else ""
        return f"{self.rule}{how}: {short_text(self.at)}  =>  {short_text(self.new)}"


def short_text(term: Term, limit: int = 70) -> str:
    """Infix text of a term, each subterm cut at ``limit`` characters (iterative)."""
    text: dict[Term, str] = {}
    for t in postorder([term]):
        if t.op == "input":
            s = str(t.attr["name"])
        elif t.op == "const":
            s = format_attr(t.attr["value"])
        else:
            args = [text[a] for a in t.args]
            symbol = ops.spec(t.op).symbol
            if symbol and len(args) == 2:
                s = f"({args[0]} {symbol} {args[1]})"
            elif t.op == "neg":
                s = f"-{args[0]}"
            else:
                s = f"{t.op}({', '.join(_bare(a) for a in args)})"
        text[t] = s if len(s) <= limit else s[: limit - 1] + "…"
    return _bare(text[term])


def _bare(text: str) -> str:
    """``text`` without one pair of outer parentheses, when they enclose all of it."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, c in enumerate(text):
        depth += c == "("
        depth -= c == ")"
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def _fold(t: Term) -> Term | None:
    if not t.args or any(a.op != "const" for a in t.args):
        return None
    values = [float(a.attr["value"]) for a in t.args]
    if t.op == "add":
        return make("const", value=values[0] + values[1])
    if t.op == "sub":
        return make("const", value=values[0] - values[1])
    if t.op == "mul":
        return make("const", value=values[0] * values[1])
    if t.op == "div" and values[1] != 0.0:
        return make("const", value=values[0] / values[1])
    if t.op == "neg":
        return make("const", value=-values[0])
    return None


def reversible(rule: Rule) -> Rule | None:
    """The rule read right to left, when that is a rule the compiler accepts (no new variables)."""
    if not isinstance(rule.rhs, Op) or rule.lhs.variables() - rule.rhs.variables():
        return None
    if rule.lhs.attr_variables() - rule.rhs.attr_variables():
        return None
    for p in rule.lhs.walk():
        if isinstance(p, Op) and any(a not in p.attrs for a in ops.spec(p.op).attrs):
            return None
        if isinstance(p, Wildcard):
            return None
    return Rule(rule.name, rule.rhs, rule.lhs, rule.claim, (), rule.rtol)


def moves(term: Term, rules: Sequence[Rule], reversed_rules: Sequence[Rule], facts: EGraphFacts) -> list[Move]:
    """Every single rule application anywhere in ``term`` (a DAG: a shared subterm changes everywhere)."""
    out: list[Move] = []
    for sub in postorder([term]):
        if sub.op in ("input", "const"):
            continue
        folded = _fold(sub)
        if folded is not None:
            out.append(Move(FOLD, False, sub, folded, replace(term, sub, folded)))
        for rule, rev in itertools.chain(((r, False) for r in rules), ((r, True) for r in reversed_rules)):
            new = apply_rule(rule, sub, facts)
            if new is not None and new is not sub:
                out.append(Move(rule.name, rev, sub, new, replace(term, sub, new), rule.replaces and not rev))
    return out


# ---------------------------------------------------------------------- search


@dataclass(frozen=True)
class Explanation:
    """The chain of rules from ``original`` to ``chosen`` (``found`` False: none within budget)."""

    op_label: str
    original: Term | None
    chosen: Term
    steps: tuple[Move, ...]
    found: bool
    verified: bool
    explored: int
    message: str = ""

    def __str__(self) -> str:
        head = f"explain {self.op_label}"
        if self.original is None or not self.found:
            return f"{head}: {self.message}"
        if not self.steps:
            return f"{head}: unchanged from the original program\n{format_terms([self.chosen])}"
        check = "replayed and checked" if self.verified else "NOT confirmed by replay"
        lines = [f"{head}: {len(self.steps)} rewrite(s), {check} ({self.explored} terms searched)",
                 f"  from: {short_text(self.original, 200)}"]
        for i, m in enumerate(self.steps, 1):
            lines.append(f"  {i:2d}. {m}")
        lines.append(f"  to:   {short_text(self.chosen, 200)}")
        return "\n".join(lines)

    @property
    def rules(self) -> list[str]:
        return [m.rule for m in self.steps]


def _distance(term: Term, goal_nodes: set[Term]) -> int:
    return sum(1 for t in postorder([term]) if t not in goal_nodes)


def search(original: Term, goal: Term, rules: Sequence[Rule], facts: EGraphFacts,
           budget: int = 4000, max_size_growth: int = 12) -> tuple[list[Move] | None, int]:
    """A chain of moves from ``original`` to ``goal``: best-first by (distance to goal, depth)."""
    if original is goal:
        return [], 0
    reversed_rules = [r for r in (reversible(rule) for rule in rules) if r is not None]
    goal_nodes = set(postorder([goal]))
    size_cap = max(len(postorder([original])), len(goal_nodes)) + max_size_growth
    counter = itertools.count()
    parent: dict[Term, tuple[Term, Move] | None] = {original: None}
    depth = {original: 0}
    frontier = [(_distance(original, goal_nodes), 0, next(counter), original)]
    explored = 0
    while frontier and explored < budget:
        _, d, _, term = heapq.heappop(frontier)
        explored += 1
        for move in moves(term, rules, reversed_rules, facts):
            nxt = move.result
            if nxt in parent:
                continue
            parent[nxt] = (term, move)
            depth[nxt] = d + 1
            if nxt is goal:
                chain: list[Move] = []
                node: Term = nxt
                while (link := parent[node]) is not None:
                    node, m = link
                    chain.append(m)
                return chain[::-1], explored
            if len(postorder([nxt])) > size_cap:
                continue
            heapq.heappush(frontier, (2 * _distance(nxt, goal_nodes) + d + 1, d + 1, next(counter), nxt))
    return None, explored


def replay(original: Term, steps: Sequence[Move], rules: Sequence[Rule], facts: EGraphFacts) -> Term | None:
    """Re-apply each step from ``original``; the final term, or None if some step does not apply."""
    by_name = {r.name: r for r in rules}
    term = original
    for m in steps:
        if m.at not in set(postorder([term])):
            return None
        if m.rule == FOLD:
            new = _fold(m.at)
        else:
            rule = by_name.get(m.rule)
            if rule is None:
                return None
            if m.reverse:
                rule = reversible(rule)
                if rule is None:
                    return None
            new = apply_rule(rule, m.at, facts)
        if new is None:
            return None
        term = replace(term, m.at, new)
        if term is not m.result:
            return None
    return term


def explain_chain(op_label: str, original: Term | None, chosen: Term, rules: Sequence[Rule],
                  facts: EGraphFacts, budget: int = 4000) -> Explanation:
    if original is None:
        return Explanation(op_label, None, chosen, (), False, False, 0,
                           "no subterm of the original program is equal to this op in the e-graph")
    chain, explored = search(original, chosen, rules, facts, budget)
    if chain is None:
        return Explanation(op_label, original, chosen, (), False, False, explored,
                           f"no chain of rewrites found within the budget ({explored} of {budget} terms "
                           "searched); pass a larger budget= or explain an op further down")
    final = replay(original, chain, rules, facts)
    ok = final is chosen
    return Explanation(op_label, original, chosen, tuple(chain), True, ok, explored,
                       "" if ok else "the chain found did not replay")
