"""The egglog bridge: load terms in bulk, run rulesets under limits, serialize the result.

Terms are loaded as rows of per-op relations read from TSV files (``input``), plus one rule per
op that builds the e-nodes, so loading is a few bulk operations however large or deep the
program is. Each loaded term keeps a ``Node`` handle so Python can name its e-class later
(scopes, roots, undo).
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from egglog import bindings

from .. import ops
from ..errors import ConstantConflictError, SaturationError
from ..registry import RuleSet
from ..term import Term, postorder
from .compile import compile_rule
from .encode import decode_attr, tsv_cell
from .limits import Limits, StopReason
from .report import RunReport
from .schema import ANALYSIS, LOAD, UNLOAD, declarations

_OP_EGG = {s.egg for s in ops.OPS.values()}


@dataclass(frozen=True)
class ENode:
    op: str  # IR op name
    attrs: tuple[tuple[str, Any], ...]
    children: tuple[str, ...]  # e-class ids
    eclass: str


@dataclass(frozen=True)
class Snapshot:
    """The e-graph as plain data: op e-nodes by id, grouped by e-class, plus Node handles."""

    nodes: dict[str, ENode]
    classes: dict[str, list[str]]
    handle_class: dict[int, str]
    shapes: dict[str, ops.Shape | None]
    dtypes: dict[str, str | None]

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)


class EGraph:
    """One egglog e-graph holding a program and everything rules made equal to it."""

    def __init__(self) -> None:
        self._egraph = bindings.EGraph()
        self._run(declarations())
        self._handles: dict[Term, int] = {}
        self._next_handle = 0
        self._ids = itertools.count()
        self._compiled: dict[tuple[str, str | None, int], str] = {}

    # ------------------------------------------------------------------ plumbing
    def _run(self, program: str) -> list[Any]:
        try:
            return list(self._egraph.parse_and_run_program(program))
        except Exception as exc:  # egglog raises its own EggSmolError
            raise SaturationError(f"egglog rejected a command: {exc}") from exc

    def size(self) -> int:
        """The number of op e-nodes (handles and analysis facts are not counted)."""
        (out,) = self._run("(print-size)")
        return sum(n for name, n in out.sizes if name in _OP_EGG)  # type: ignore[attr-defined]

    def push(self) -> None:
        self._run("(push)")

    def pop(self) -> None:
        self._run("(pop)")

    # -------------------------------------------------------------------- loading
    def handle(self, term: Term) -> int:
        return self._handles[term]

    def has(self, term: Term) -> bool:
        return term in self._handles

    def load(self, roots: Iterable[Term]) -> dict[Term, int]:
        """Add the terms below ``roots`` (those not loaded yet) in one bulk step."""
        new = [t for t in postorder(roots) if t not in self._handles]
        if not new:
            return {}
        for t in new:
            self._handles[t] = self._next_handle
            self._next_handle += 1
        rows: dict[str, list[str]] = {}
        for t in new:
            h = self._handles[t]
            spec = ops.spec(t.op)
            if t.op == "input":
                rows.setdefault("RowVar", []).append(f"{h}\t{tsv_cell('name', t.attr['name'])}")
            elif t.op == "const":
                rows.setdefault("RowConst", []).append(f"{h}\t{tsv_cell('value', t.attr['value'])}")
            else:
                cells = [str(h)] + [str(self._handles[a]) for a in t.args]
                cells += [tsv_cell(k, v) for k, v in t.attrs]
                rows.setdefault(f"Row{spec.egg}", []).append("\t".join(cells))
            if not t.weak:
                rows.setdefault("RowType", []).append(f"{h}\t{tsv_cell('shape', t.shape)}\t{t.dtype}\t{len(t.shape or ())}")
        with tempfile.TemporaryDirectory(prefix="egraph-dsl-load-") as tmp:
            commands = []
            for rel, lines in rows.items():
                path = os.path.join(tmp, f"{rel}.tsv")
                with open(path, "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
                commands.append(f'(input {rel} "{path}")')
            self._run("\n".join(commands) + f"\n(run {LOAD} 1)\n(run {UNLOAD} 1)")
        self._run(f"(run-schedule (saturate (run {ANALYSIS})))")
        return {t: self._handles[t] for t in new}

    # ---------------------------------------------------------------------- rules
    def _ensure_ruleset(self, ruleset: RuleSet, scope_relation: str | None) -> tuple[str, dict[str, str]]:
        egg_name = f"rs{next(self._ids)}"
        rule_ids: dict[str, str] = {}
        lines = [f"(ruleset {egg_name})"]
        for rule in ruleset.rules:
            rule_id = f"{egg_name}/{rule.name}"
            rule_ids[rule_id] = rule.name
            lines.append(compile_rule(rule, egg_name, rule_id, scope_relation))
        self._run("\n".join(lines))
        return egg_name, rule_ids

    def new_scope(self, terms: Iterable[Term]) -> str:
        """A scope relation seeded with the e-classes of ``terms`` (loaded first if needed)."""
        terms = list(terms)
        self.load(terms)
        name = f"InScope{next(self._ids)}"
        seeds = " ".join(f"({name} (Node {self._handles[t]}))" for t in terms)
        self._run(f"(relation {name} (Term))\n{seeds}")
        return name

    def run(self, ruleset: RuleSet, limits: Limits | None = None, scope: str | None = None) -> RunReport:
        """Saturate with ``ruleset`` until saturated or a limit is hit, one iteration at a time.

        After each iteration the constant-conflict check runs; a conflict stops the run with an
        error naming the rules that fired in that iteration.
        """
        limits = limits or Limits()
        egg_name, rule_ids = self._ensure_ruleset(ruleset, scope)
        start = time.perf_counter()
        before = self.size()
        sizes: list[int] = []
        matches: dict[str, int] = {r.name: 0 for r in ruleset.rules}
        reason = StopReason.ITERATION_LIMIT
        iterations = 0
        size = before
        while iterations < limits.iterations:
            if size >= limits.nodes:
                reason = StopReason.NODE_LIMIT
                break
            if time.perf_counter() - start >= limits.seconds:
                reason = StopReason.TIME_LIMIT
                break
            outputs = self._run(f"(run-schedule (run {egg_name}) (saturate (run {ANALYSIS})))")
            iterations += 1
            report = outputs[-1].report
            fired_now = {}
            for rule_id, n in report.num_matches_per_rule.items():
                if rule_id in rule_ids:
                    matches[rule_ids[rule_id]] += n
                    if n:
                        fired_now[rule_ids[rule_id]] = n
            self._check_conflicts(fired_now)
            size = self.size()
            sizes.append(size)
            if not _updated(report, rule_ids):
                reason = StopReason.SATURATED
                break
        else:
            reason = StopReason.ITERATION_LIMIT
        if reason is StopReason.ITERATION_LIMIT and size >= limits.nodes:
            reason = StopReason.NODE_LIMIT
        return RunReport(ruleset.name, reason, iterations, time.perf_counter() - start, before, size,
                         matches, tuple(sizes))

    def _check_conflicts(self, fired: dict[str, int]) -> None:
        (out,) = self._run("(print-size ConstConflict)")
        if _size_of(out):
            rows = self._run("(print-function ConstConflict 3)")
            names = ", ".join(sorted(fired)) or "(none in this iteration)"
            raise ConstantConflictError(
                f"two different constants became equal ({_conflict_text(rows)}): a rule that fired is "
                f"unsound. Rules that fired in that iteration: {names}. Check their claims with "
                "`egraph-dsl check-rules`."
            )

    # ------------------------------------------------------------------ serialize
    def snapshot(self) -> Snapshot:
        data = json.loads(self._egraph.serialize([]).to_json())
        raw = data["nodes"]
        nodes: dict[str, ENode] = {}
        classes: dict[str, list[str]] = {}
        handle_class: dict[int, str] = {}
        for node_id, n in raw.items():
            op = n["op"]
            if op == "Node":
                handle_class[int(raw[n["children"][0]]["op"])] = n["eclass"]
                continue
            spec = ops.BY_EGG.get(op)
            if spec is None:
                continue
            kids = n["children"]
            term_kids = tuple(raw[k]["eclass"] for k in kids[: spec.arity])
            attrs = tuple((name, decode_attr(name, raw[k]["op"])) for name, k in zip(spec.attrs, kids[spec.arity:], strict=True))
            nodes[node_id] = ENode(spec.name, attrs, term_kids, n["eclass"])
            classes.setdefault(n["eclass"], []).append(node_id)
        inputs = {str(t.attr["name"]): t for t in self._handles if t.op == "input"}
        shapes, dtypes_ = _class_types(nodes, inputs)
        return Snapshot(nodes, classes, handle_class, shapes, dtypes_)


def _updated(report: Any, rule_ids: dict[str, str]) -> bool:
    return bool(report.updated)


def _size_of(out: Any) -> int:
    size = getattr(out, "size", None)
    if isinstance(size, int):
        return size
    text = str(out)
    digits = "".join(c for c in text if c.isdigit())
    return int(digits) if digits else 0


def _conflict_text(rows: Sequence[Any]) -> str:
    return " ".join(str(r) for r in rows)[:200] or "see the e-graph"


def _class_types(nodes: dict[str, ENode], inputs: dict[str, Term]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Shape and dtype of every e-class, by a worklist over nodes whose children are typed.

    A class whose nodes disagree on shape or dtype can only come from an unsound rule.
    """
    shapes: dict[str, Any] = {}
    dtypes_: dict[str, Any] = {}
    parents: dict[str, list[str]] = {}
    for nid, n in nodes.items():
        for c in n.children:
            parents.setdefault(c, []).append(nid)
    work = [nid for nid, n in nodes.items() if not n.children]
    done: set[str] = set()
    while work:
        nid = work.pop()
        if nid in done:
            continue
        n = nodes[nid]
        if any(c not in shapes for c in n.children):
            continue
        done.add(nid)
        attrs = dict(n.attrs)
        try:
            if n.op == "input":
                t = inputs[str(attrs["name"])]
                shape, dtype = t.shape, t.dtype
            else:
                shape = ops.infer_shape(n.op, tuple(shapes[c] for c in n.children), attrs)
                dtype = ops.infer_dtype(n.op, tuple(dtypes_[c] for c in n.children), attrs)
        except Exception as exc:
            raise SaturationError(f"an e-node {n.op} is ill-typed after rewriting ({exc}); a rule that fired "
                                  "changes shapes or dtypes and is unsound") from None
        if n.eclass in shapes:
            if (shapes[n.eclass], dtypes_[n.eclass]) != (shape, dtype):
                raise SaturationError(
                    f"e-class {n.eclass} holds values of type {shapes[n.eclass]}/{dtypes_[n.eclass]} and "
                    f"{shape}/{dtype} (via {n.op}): a rule that fired changes shapes or dtypes and is unsound")
            continue
        shapes[n.eclass], dtypes_[n.eclass] = shape, dtype
        work.extend(parents.get(n.eclass, ()))
    return shapes, dtypes_
