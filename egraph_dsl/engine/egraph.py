"""The egglog bridge: load terms in bulk, run rulesets under limits, serialize the result.

Terms are loaded as rows of per-op relations read from TSV files (``input``), plus one rule per
op that builds the e-nodes, so loading is a few bulk operations however large or deep the
program is. Each loaded term keeps a ``Node`` handle so Python can name its e-class later
(scopes, roots, undo).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import signal
import sys
import tempfile
import time
import warnings
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from egglog import bindings

from .. import ops
from ..errors import ConstantConflictError, SaturationError
from ..pattern import Op, Pattern
from ..registry import RuleSet
from ..term import Term, postorder
from .compile import compile_rule
from .encode import NEG_ZERO, decode_attr, is_negative_zero, tsv_cell
from .limits import Budget, Limits, StopReason
from .report import RunReport
from .scheduler import BackoffScheduler
from .schema import ANALYSIS, FOLD, LOAD, UNLOAD, declarations

_OP_EGG = {s.egg for s in ops.OPS.values()} | {NEG_ZERO}
_CAN_FORK = sys.platform == "linux" and hasattr(os, "fork")  # trial runs in a killable copy


@dataclass(frozen=True)
class ENode:
    op: str  # IR op name
    attrs: tuple[tuple[str, Any], ...]
    children: tuple[str, ...]  # e-class ids
    eclass: str
    subsumed: bool = False  # replaced by a rule (``replaces=True``): never extracted, never matched again


@dataclass
class _CompiledRuleset:
    ruleset: RuleSet
    names: list[str]  # egglog ruleset applying each rule
    growth: list[int]  # e-nodes a match may add (op nodes on the right side)
    rule_of: dict[str, str]  # egglog rule name -> rule name
    combined: dict[tuple[str, ...], str]


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


# egglog e-graphs that hold the schema (declarations()) and nothing else. Type-checking the
# schema's ~1,000 declarations and rules takes 100-150 ms, an egglog push/pop about 25 ms, so an
# EGraph leases one of these, pushes, and its finalizer pops back to the bare schema and returns it.
# egglog's pop does not free everything a rule declaration added: each later optimization on that
# e-graph gets slower, by ~35 us per rule it ever declared (a 60-rule jit: 115 ms at first, 550 ms
# after 200 jits), so an e-graph is retired, not pooled, once it has declared _RULES_PER_EGRAPH.
_DECLARED: list[Any] = []
_POOL_SIZE = 4
_RULES_PER_EGRAPH = 1_000
_RULES_DECLARED: dict[int, int] = {}  # id() of each pooled egglog e-graph -> rules it has declared


@dataclass
class _Lease:
    """A leased egglog e-graph and how many rules it has declared since its schema was loaded."""

    egraph: Any
    rules_declared: int


def _lease() -> _Lease:
    if _DECLARED:
        egraph = _DECLARED.pop()
        rules_declared = _RULES_DECLARED.pop(id(egraph))
    else:
        egraph, rules_declared = bindings.EGraph(), 0
        try:
            egraph.parse_and_run_program(declarations())
        except Exception as exc:  # egglog raises its own EggSmolError
            raise SaturationError(f"egglog rejected the schema: {exc}") from exc
    egraph.parse_and_run_program("(push)")
    return _Lease(egraph, rules_declared)


def _give_back(lease: _Lease, pushes: list[Any]) -> None:
    """Pop the leased e-graph to the bare schema (the lease's push, and any push left open) and
    pool it, unless it is broken or has declared too many rules to stay fast."""
    if lease.rules_declared >= _RULES_PER_EGRAPH:
        return
    try:
        for _ in range(len(pushes) + 1):
            lease.egraph.parse_and_run_program("(pop)")
    except Exception:  # a broken e-graph is dropped, never reused
        return
    if len(_DECLARED) < _POOL_SIZE:
        _RULES_DECLARED[id(lease.egraph)] = lease.rules_declared
        _DECLARED.append(lease.egraph)


class EGraph:
    """One egglog e-graph holding a program and everything rules made equal to it."""

    def __init__(self) -> None:
        self._lease = _lease()
        self._egraph = self._lease.egraph
        self._handles: dict[Term, int] = {}
        self._next_handle = 0
        self._ids = itertools.count()
        self._saved_handles: list[tuple[dict[Term, int], int]] = []  # Python side of push/pop
        weakref.finalize(self, _give_back, self._lease, self._saved_handles)

    # ------------------------------------------------------------------ plumbing
    def _run(self, program: str) -> list[Any]:
        try:
            return list(self._egraph.parse_and_run_program(program))
        except Exception as exc:  # egglog raises its own EggSmolError
            raise SaturationError(f"egglog rejected a command: {exc}") from exc

    def size(self) -> int:
        """The number of op e-nodes (handles and analysis facts are not counted)."""
        return self.counts()[0]

    def counts(self) -> tuple[int, int]:
        """Op e-nodes, and all rows egglog holds (op e-nodes, analysis facts, handles): what serializing costs."""
        (out,) = self._run("(print-size)")
        sizes = out.sizes  # type: ignore[attr-defined]
        return sum(n for name, n in sizes if name in _OP_EGG), sum(n for _, n in sizes)

    def push(self) -> None:
        """Save the e-graph (egglog push) and which terms have Node handles, for an exact pop."""
        self._run("(push)")
        self._saved_handles.append((dict(self._handles), self._next_handle))

    def pop(self) -> None:
        """Restore the e-graph and the handle table to the last push."""
        if not self._saved_handles:
            raise SaturationError("pop() without a matching push()")
        self._run("(pop)")
        self._handles, self._next_handle = self._saved_handles.pop()

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
            elif t.op == "const" and is_negative_zero(float(t.attr["value"])):
                rows.setdefault("RowNegZero", []).append(str(h))  # -0.0 is an e-node of its own (encode.py)
            elif t.op == "const":
                rows.setdefault("RowConst", []).append(f"{h}\t{tsv_cell('value', t.attr['value'])}")
            else:
                cells = [str(h)] + [str(self._handles[a]) for a in t.args]
                cells += [tsv_cell(k, v) for k, v in t.attrs]
                rows.setdefault(f"Row{spec.egg}", []).append("\t".join(cells))
            if t.shape is not None and len(t.shape) == 2 and t.shape[0] == t.shape[1]:
                rows.setdefault("RowIsSquare", []).append(str(h))
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
    def _compile_ruleset(self, ruleset: RuleSet, scope_relation: str | None) -> _CompiledRuleset:
        """One egglog ruleset per rule, so rules can be scheduled one by one."""
        key = next(self._ids)
        lines: list[str] = []
        names: list[str] = []
        rule_of: dict[str, str] = {}
        for i, rule in enumerate(ruleset.rules):
            egg = f"rs{key}_{i}"
            names.append(egg)
            rule_of[f"{egg}/apply"] = rule.name
            lines.append(f"(ruleset {egg})")
            lines.append(compile_rule(rule, egg, f"{egg}/apply", scope_relation))
        self._lease.rules_declared += len(ruleset.rules)
        self._run("\n".join(lines))
        # e-nodes one match may add: the right side's op nodes, times the left side's op nodes
        # (egglog's semi-naive evaluation may apply a match once per changed atom)
        growth = [max(1, _op_nodes(rule.rhs)) * max(1, _op_nodes(rule.lhs)) for rule in ruleset.rules]
        return _CompiledRuleset(ruleset, names, growth, rule_of, {})

    def _combined(self, compiled: _CompiledRuleset, members: tuple[str, ...]) -> str:
        """An egglog ruleset running ``members`` together in one iteration (cached)."""
        if len(members) == 1:
            return members[0]
        name = compiled.combined.get(members)
        if name is None:
            name = f"{members[0]}_c{len(compiled.combined)}"
            self._run(f"(unstable-combined-ruleset {name} {' '.join(members)})")
            compiled.combined[members] = name
        return name

    def new_scope(self, terms: Iterable[Term]) -> str:
        """A scope relation seeded with the e-classes of ``terms`` (loaded first if needed)."""
        terms = list(terms)
        self.load(terms)
        name = f"InScope{next(self._ids)}"
        seeds = " ".join(f"({name} (Node {self._handles[t]}))" for t in terms)
        self._run(f"(relation {name} (Term))\n{seeds}")
        return name

    def run(self, ruleset: RuleSet, limits: Limits | None = None, scope: str | None = None,
            budget: Budget | None = None) -> RunReport:
        """Saturate with ``ruleset`` until saturated or a limit is hit.

        Which rules run in each iteration, and in what groups, is ``scheduler.BackoffScheduler``'s
        choice (egg's backoff: a rule past its match budget is banned for a while). egglog cannot
        stop inside an application, so once a group could matter (the e-graph past 1% of the node
        limit, or the group's last run, scaled to the present size, above 2% of the time left) it
        is first tried on a copy: a forked process that is killed when it needs more than half the
        time left (push/pop where there is no fork). A group that would pass the node limit, or
        whose application would not leave ``budget.reserve`` seconds for serializing and
        extracting the result, is held back, so both limits hold. ``budget`` defaults to
        ``limits.seconds`` from now, all for saturation. After each iteration the
        constant-conflict check runs; a conflict stops the run with an error naming the rules that
        fired in that iteration.
        """
        limits = limits or Limits()
        start = time.perf_counter()
        budget = budget or Budget(start + limits.seconds)
        compiled = self._compile_ruleset(ruleset, scope)
        rules = ruleset.rules
        # matches per step before a rule is banned
        scheduler = BackoffScheduler(compiled.growth, match_limit=max(50, limits.nodes // 100))
        before, rows = self.counts()
        ratio = rows / max(1, before)  # egglog rows per op e-node: serializing costs per row
        sizes: list[int] = []
        matches: dict[str, int] = {r.name: 0 for r in rules}
        iterations = 0
        size = before
        reason = StopReason.ITERATION_LIMIT
        note = ""
        index = {name: i for i, name in enumerate(compiled.names)}
        held: dict[int, StopReason] = {}  # rules held back: one application would pass the node or time limit
        while True:
            cap = budget.node_cap(limits.nodes, ratio)
            if iterations >= limits.iterations:
                reason = StopReason.ITERATION_LIMIT
                break
            if size >= limits.nodes:
                reason = StopReason.NODE_LIMIT
                break
            if budget.spendable(size, ratio) <= 0 or size >= cap:
                reason, note = StopReason.TIME_LIMIT, _time_note(budget, size)
                break
            active = scheduler.active(iterations)
            iterations += 1
            work = scheduler.groups(active, cap - size)
            fired_now: dict[str, int] = {}
            cut = False  # the step stopped at a limit before every active rule ran
            while work:
                group = work.pop(0)
                now, rows = self.counts()
                ratio = rows / max(1, now)
                cap = budget.node_cap(limits.nodes, ratio)
                spendable = budget.spendable(now, ratio)
                if now >= limits.nodes or now >= cap or spendable <= 0:
                    cut = True  # the loop's checks name the limit next; nothing fired is not saturation
                    break
                name = self._combined(compiled, tuple(compiled.names[i] for i in group))
                if now * 100 > cap or scheduler.predicted_seconds(group, now) > 0.02 * spendable:
                    verdict = self._verdict(name, limits, budget, spendable / 2)
                    if verdict is not None:
                        if len(group) > 1:
                            work[:0] = [(i,) for i in group]  # find the rules that overshoot on their own
                        else:
                            (i,) = group
                            scheduler.ban(i, iterations)
                            held[i] = verdict
                        continue
                t0 = time.perf_counter()
                applied = self._apply(name, compiled, matches, fired_now)
                scheduler.timed(group, time.perf_counter() - t0, now)
                for egg_rule, n in applied.items():
                    i = index[egg_rule]
                    held.pop(i, None)
                    scheduler.matched(i, n, iterations)
            self._check_conflicts(fired_now)
            size, rows = self.counts()
            ratio = rows / max(1, size)
            sizes.append(size)
            if not fired_now and not cut:
                if held:  # what is left to do would pass a limit
                    reason = StopReason.TIME_LIMIT if StopReason.TIME_LIMIT in held.values() else StopReason.NODE_LIMIT
                    if reason is StopReason.TIME_LIMIT:
                        names = sorted(rules[i].name for i, r in held.items() if r is StopReason.TIME_LIMIT)
                        note = f"one application of {', '.join(names)} needs more time than is left"
                    break
                if not scheduler.bans_pending(iterations):
                    reason = StopReason.SATURATED
                    break
        return RunReport(ruleset.name, reason, iterations, time.perf_counter() - start, before, size,
                         matches, tuple(sizes), note)

    def _verdict(self, egg_ruleset: str, limits: Limits, budget: Budget, timeout: float) -> StopReason | None:
        """Try one application on a copy: None if it fits, else the limit it would break."""
        trial = self._trial(egg_ruleset, timeout)
        if trial is None:
            return StopReason.TIME_LIMIT
        grown, rows, seconds = trial
        if grown > limits.nodes:
            return StopReason.NODE_LIMIT
        # the real application takes about as long again; allow for a slower second run
        ratio = rows / max(1, grown)
        if grown > budget.node_cap(limits.nodes, ratio) or budget.spendable(grown, ratio) < 1.25 * seconds:
            return StopReason.TIME_LIMIT
        return None

    def _trial(self, egg_ruleset: str, timeout: float) -> tuple[int, int, float] | None:
        """(op e-nodes, rows, seconds) after one application of ``egg_ruleset`` on a copy of the
        e-graph, or None when that takes longer than ``timeout`` seconds.

        The copy is a forked process (copy-on-write, so it is cheap), killed at the timeout; where
        there is no fork the copy is an egglog push/pop and the timeout cannot be enforced.
        """
        start = time.perf_counter()
        if not _CAN_FORK:
            return *self._trial_counts(egg_ruleset), time.perf_counter() - start
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():  # the child only runs egglog and exits: other threads do not matter
            warnings.simplefilter("ignore", DeprecationWarning)
            # JAX (and other libraries with thread pools) warn on any fork; the child takes no lock
            # of theirs: it runs egglog's Rust code, writes to a pipe and leaves through os._exit
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            pid = os.fork()
        if pid == 0:  # the child: apply, report the size, exit without running any Python cleanup
            status = 1
            try:
                os.close(read_end)
                self._run(_step(egg_ruleset))
                os.write(write_end, " ".join(map(str, self.counts())).encode())
                status = 0
            except BaseException:  # the parent sees the empty pipe and the exit status
                pass
            finally:
                os._exit(status)
        os.close(write_end)
        data = b""
        try:
            ready, _, _ = select.select([read_end], [], [], min(max(timeout, 0.0), 1e6))
            if ready:
                data = os.read(read_end, 64)
        finally:
            os.close(read_end)
            if not data:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        seconds = time.perf_counter() - start
        if data:
            grown, rows = map(int, data.split())
            return grown, rows, seconds
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1:  # egglog failed: fail here, with its message
            return *self._trial_counts(egg_ruleset), time.perf_counter() - start
        return None  # killed at the timeout (or by the system, out of memory)

    def _trial_counts(self, egg_ruleset: str) -> tuple[int, int]:
        """``counts()`` after one application of ``egg_ruleset``, measured on an egglog push/pop copy."""
        self._run("(push)")
        try:
            self._run(_step(egg_ruleset))
            return self.counts()
        finally:
            self._run("(pop)")

    def _apply(self, egg_ruleset: str, compiled: _CompiledRuleset, matches: dict[str, int],
               fired: dict[str, int]) -> dict[str, int]:
        """Run one egglog ruleset once, then the analyses; returns matches per egglog rule set name."""
        outputs = self._run(_step(egg_ruleset))
        per_rule: dict[str, int] = {}
        for rule_id, n in outputs[0].report.num_matches_per_rule.items():
            rule_name = compiled.rule_of.get(rule_id)
            if rule_name is None:
                continue
            per_rule[rule_id.split("/")[0]] = n
            if n:
                matches[rule_name] += n
                fired[rule_name] = fired.get(rule_name, 0) + n
        return per_rule

    def _check_conflicts(self, fired: dict[str, int]) -> None:
        (out,) = self._run("(print-size ConstConflict)")
        (zero,) = self._run("(print-size ZeroConflict)")
        if out.size or zero.size:  # egglog's PrintFunctionSize
            rows = self._run("(print-function ConstConflict 3)") if out.size else ["0.0 and -0.0"]
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
            subsumed = bool(n.get("subsumed", False))
            if op == NEG_ZERO:
                nodes[node_id] = ENode("const", (("value", -0.0),), (), n["eclass"], subsumed)
                classes.setdefault(n["eclass"], []).append(node_id)
                continue
            spec = ops.BY_EGG.get(op)
            if spec is None:
                continue
            kids = n["children"]
            term_kids = tuple(raw[k]["eclass"] for k in kids[: spec.arity])
            attrs = tuple((name, decode_attr(name, raw[k]["op"])) for name, k in zip(spec.attrs, kids[spec.arity:], strict=True))
            nodes[node_id] = ENode(spec.name, attrs, term_kids, n["eclass"], subsumed)
            classes.setdefault(n["eclass"], []).append(node_id)
        inputs = {str(t.attr["name"]): t for t in self._handles if t.op == "input"}
        shapes, dtypes_ = _class_types(nodes, inputs)
        return Snapshot(nodes, classes, handle_class, shapes, dtypes_)


def _step(egg_ruleset: str) -> str:
    """One application of ``egg_ruleset``, then constant folding and the analyses."""
    return f"(run-schedule (run {egg_ruleset}) (run {FOLD}) (saturate (run {ANALYSIS})))"


def _time_note(budget: Budget, size: int) -> str:
    if not budget.reserves:
        return ""
    return f"stopped with {max(0.0, budget.remaining()):.2f} s left, kept for serializing and extracting {size} e-nodes"


def _op_nodes(p: Pattern) -> int:
    return sum(1 for q in p.walk() if isinstance(q, Op))


def _conflict_text(rows: Sequence[Any]) -> str:
    return " ".join(str(r) for r in rows)[:200] or "see the e-graph"


def _class_types(nodes: dict[str, ENode], inputs: dict[str, Term]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Shape and dtype of every e-class, typing each e-node once its children's classes are typed.

    A class whose nodes disagree on shape or dtype can only come from an unsound rule.
    """
    shapes: dict[str, Any] = {}
    dtypes_: dict[str, Any] = {}
    parents: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}
    ready: list[str] = []
    for nid, n in nodes.items():
        kids = set(n.children)
        waiting[nid] = len(kids)
        for c in kids:
            parents.setdefault(c, []).append(nid)
        if not kids:
            ready.append(nid)
    memo: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    while ready:
        nid = ready.pop()
        n = nodes[nid]
        if n.op == "input":
            t = inputs[str(dict(n.attrs)["name"])]
            typed = (t.shape, t.dtype)
        else:
            kid_shapes = tuple(shapes[c] for c in n.children)
            kid_dtypes = tuple(dtypes_[c] for c in n.children)
            key = (n.op, n.attrs, kid_shapes, kid_dtypes)
            typed = memo.get(key)  # type: ignore[assignment]
            if typed is None:
                attrs = dict(n.attrs)
                try:
                    typed = (ops.infer_shape(n.op, kid_shapes, attrs), ops.infer_dtype(n.op, kid_dtypes, attrs))
                except Exception as exc:
                    raise SaturationError(f"an e-node {n.op} is ill-typed after rewriting ({exc}); a rule that "
                                          "fired changes shapes or dtypes and is unsound") from None
                memo[key] = typed
        if n.eclass in shapes:
            if (shapes[n.eclass], dtypes_[n.eclass]) != typed:
                raise SaturationError(
                    f"e-class {n.eclass} holds values of type {shapes[n.eclass]}/{dtypes_[n.eclass]} and "
                    f"{typed[0]}/{typed[1]} (via {n.op}): a rule that fired changes shapes or dtypes and is unsound")
            continue
        shapes[n.eclass], dtypes_[n.eclass] = typed
        for parent in parents.get(n.eclass, ()):
            waiting[parent] -= 1
            if waiting[parent] == 0:
                ready.append(parent)
    return shapes, dtypes_
