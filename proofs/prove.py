"""Prove rules with z3: each rule becomes proof obligations on small fixed shapes.

Elementwise rules are stated on scalars; rules with reductions, matmul or layout ops on arrays
whose dimensions are all 2. ``real`` and ``guarded`` rules are proved over the reals (guards
and the left side's domain as hypotheses; the right side must be defined and equal). ``exact``
rules are proved bit-precisely in z3's IEEE theory at float16 and float32 when every op has a
model there, otherwise reported ``unknown``. A z3 counterexample is only reported after it is
re-checked (mpmath for reals, the NumPy backend for floats); unconfirmed models give ``unknown``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import z3

from egraph_dsl import ops
from egraph_dsl.pattern import Op
from egraph_dsl.registry import Registry
from egraph_dsl.rules import Claim, Fact, Rule
from egraph_dsl.term import Term, postorder

from .cases import Case
from .check import RulesetLike, check_case, resolve
from .compare import _reals_agree, same_type
from .instantiate import IllTypedError, Template, instantiate, templates
from .semantics import MpMath, OutOfRangeError, UndefinedError, evaluate_real
from .ufunc_semantics import UnsupportedError
from .z3_semantics import FP_OPS, Z3Float, Z3Real, fp_identical

DEFAULT_TIMEOUT_MS = 2000
MAX_OBLIGATIONS = 6
LAYOUT_FP = frozenset({"transpose", "reshape", "broadcast_to"})


@dataclass
class Obligation:
    """One proof obligation and its outcome."""

    shapes: str
    solver: str  # z3-real | z3-float16 | z3-float32 | static
    result: str  # proved | refuted | unknown
    seconds: float
    statement: str
    detail: str = ""


@dataclass
class RuleProof:
    """The outcome of proving one rule: proved only if every obligation is."""

    rule: str
    ruleset: str
    claim: str
    hash: str
    result: str
    obligations: list[Obligation] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{self.ruleset}/{self.rule} [{self.claim}]: {self.result}"]
        for ob in self.obligations:
            extra = f" — {ob.detail}" if ob.detail else ""
            lines.append(f"  {ob.solver} on {ob.shapes or 'scalars'}: {ob.result} ({ob.seconds:.2f}s){extra}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rule_hash(rule: Rule) -> str:
    """A hash of the rule record (sides, claim, guards, rtol): certificates are tied to it."""
    record = [rule.name, str(rule.lhs), str(rule.rhs), rule.claim.value, [str(g) for g in rule.when],
              repr(rule.rtol)]
    return hashlib.sha256(json.dumps(record).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- evaluation in z3


def evaluate_with(root: Term, env: Mapping[str, np.ndarray], m: Any) -> np.ndarray:
    """Evaluate the term graph with the op table's ``real`` semantics over namespace ``m``."""
    values: dict[int, np.ndarray] = {}
    for t in postorder([root]):
        if t.op == "input":
            values[id(t)] = env[str(t.attr["name"])]
            continue
        spec = ops.spec(t.op)
        assert spec.real is not None
        values[id(t)] = np.asarray(spec.real(m, *[values[id(a)] for a in t.args], **t.attr), dtype=object)
    return values[id(root)]


def _symbols(template: Template, make: Any) -> dict[str, np.ndarray]:
    dtypes = dict(template.dtypes)
    env: dict[str, np.ndarray] = {}
    for name, shape in template.shapes:
        arr = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            label = name + "".join(f"_{i}" for i in idx)
            arr[idx] = z3.Bool(label) if dtypes[name] == "bool" else make(label)
        env[name] = arr
    return env


def _guards(rule: Rule, env: Mapping[str, np.ndarray], zero: Any, fp: bool = False) -> list[Any]:
    out: list[Any] = []
    for g in rule.when:
        if g.is_shape_fact:  # shape facts hold by construction of the template
            continue
        for x in env[g.var].ravel():
            if fp:
                out.append({Fact.POSITIVE: z3.fpGT(x, zero), Fact.NONNEGATIVE: z3.fpGEQ(x, zero),
                            Fact.NONZERO: z3.Not(z3.fpIsZero(x)),
                            Fact.FINITE: z3.Not(z3.Or(z3.fpIsNaN(x), z3.fpIsInf(x)))}[g.fact])
            else:
                out.append({Fact.POSITIVE: x > 0, Fact.NONNEGATIVE: x >= 0, Fact.NONZERO: x != 0,
                            Fact.FINITE: z3.BoolVal(True)}[g.fact])
    return out


def _as_bool(x: Any) -> Any:
    return z3.BoolVal(bool(x)) if isinstance(x, (bool, np.bool_)) else x


def _equal(a: Any, b: Any) -> Any:
    if isinstance(a, (bool, np.bool_)) or z3.is_bool(a):
        return _as_bool(a) == _as_bool(b)
    return _r(a) == _r(b)


def _r(x: Any) -> Any:
    return z3.RealVal(Fraction(x)) if isinstance(x, (int, float, Fraction)) else x


def _solve(hypotheses: list[Any], goal: Any, timeout_ms: int) -> tuple[str, z3.ModelRef | None, float]:
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*hypotheses)
    solver.add(z3.Not(goal))
    start = time.perf_counter()
    verdict = solver.check()
    seconds = time.perf_counter() - start
    if verdict == z3.unsat:
        return "proved", None, seconds
    if verdict == z3.sat:
        return "sat", solver.model(), seconds
    return "unknown", None, seconds


def _statement(rule: Rule, hypotheses: list[Any], goal: Any, limit: int = 1500) -> str:
    text = f"{len(hypotheses)} hypotheses (guards, left-side domain, axiom instances) ⊢ {goal}"
    return text if len(text) <= limit else text[:limit] + " …"


# --------------------------------------------------------------------- obligations


def prove_real(rule: Rule, template: Template, lhs: Term, rhs: Term, timeout_ms: int) -> Obligation:
    """Over the reals: guards ∧ dom(lhs) ⇒ dom(rhs) ∧ lhs = rhs, elementwise."""
    m = Z3Real()
    env = _symbols(template, z3.Real)
    shapes = template.describe()
    try:
        left = evaluate_with(lhs, env, m)
        n_left = len(m.defined)
        right = evaluate_with(rhs, env, m)
    except (UnsupportedError, UndefinedError) as exc:
        return Obligation(shapes, "z3-real", "unknown", 0.0, "", f"not expressible: {exc}")
    left_b, right_b = np.broadcast_arrays(left, right)
    eqs = [_equal(a, b) for a, b in zip(left_b.ravel(), right_b.ravel(), strict=True)]
    goal = z3.And(*m.defined[n_left:], *eqs) if (m.defined[n_left:] or eqs) else z3.BoolVal(True)
    base = _guards(rule, env, 0) + m.defined[:n_left] + m.facts
    hypotheses = base + m.axioms([*base, goal])
    result, model, seconds = _solve(hypotheses, goal, timeout_ms)
    statement = _statement(rule, hypotheses, goal)
    if result != "sat":
        detail = "" if result == "proved" else "z3 could not decide within the timeout"
        return Obligation(shapes, "z3-real", result, seconds, statement, detail)
    assert model is not None
    confirmed, detail = _recheck_real(rule, template, lhs, rhs, env, model)
    return Obligation(shapes, "z3-real", "refuted" if confirmed else "unknown", seconds, statement, detail)


def _model_value(model: z3.ModelRef, x: Any) -> Any:
    v = model.eval(x, model_completion=True)
    if z3.is_true(v) or z3.is_false(v):
        return z3.is_true(v)
    if z3.is_algebraic_value(v):
        v = v.approx(80)
    return Fraction(v.as_fraction())


def _recheck_real(rule: Rule, template: Template, lhs: Term, rhs: Term, env: Mapping[str, np.ndarray],
                  model: z3.ModelRef) -> tuple[bool, str]:
    mp = MpMath()
    point = {k: np.vectorize(lambda x: _model_value(model, x), otypes=[object])(v) if v.size else v
             for k, v in env.items()}
    real_env = {k: np.vectorize(lambda x: x if isinstance(x, bool) else mp.const(x), otypes=[object])(v)
                if v.size else v for k, v in point.items()}
    shown = ", ".join(f"?{k}={_show_point(v)}" for k, v in point.items())
    try:
        left = evaluate_real(lhs, real_env, mp)
    except (UndefinedError, OutOfRangeError):
        return False, f"z3 model {shown} not confirmed: left side undefined there in mpmath"
    try:
        right = evaluate_real(rhs, real_env, mp)
    except UndefinedError as exc:
        return True, f"counterexample {shown}: right side undefined ({exc}), confirmed in mpmath"
    except OutOfRangeError:
        return False, f"z3 model {shown} out of range for mpmath"
    failure = _reals_agree(left, right)
    if failure:
        return True, f"counterexample {shown}: {failure} (confirmed in mpmath)"
    return False, f"z3 model {shown} not confirmed in mpmath (the uninterpreted functions differ from the real ones)"


def _show_point(v: np.ndarray) -> str:
    items = [str(x) for x in np.asarray(v, dtype=object).ravel()]
    return items[0] if v.shape == () else "[" + ", ".join(items) + "]"


def prove_float(rule: Rule, template: Template, lhs: Term, rhs: Term, dtype: str, timeout_ms: int) -> Obligation:
    """Bit-exactness in IEEE ``dtype`` (float16/float32): not (both nan or equal with equal sign) is unsat."""
    sort = {"float16": z3.Float16(), "float32": z3.Float32()}[dtype]
    m = Z3Float(sort)
    env = _symbols(template, lambda name: z3.FP(name, sort))
    shapes = template.describe()
    left, right = evaluate_with(lhs, env, m), evaluate_with(rhs, env, m)
    left_b, right_b = np.broadcast_arrays(left, right)
    goal = z3.And(*[fp_identical(a, b) for a, b in zip(left_b.ravel(), right_b.ravel(), strict=True)])
    hypotheses = _guards(rule, env, z3.FPVal(0.0, sort), fp=True)
    result, model, seconds = _solve(hypotheses, goal, timeout_ms)
    solver = f"z3-{dtype}"
    statement = _statement(rule, hypotheses, goal)
    if result != "sat":
        detail = "" if result == "proved" else "z3 could not decide within the timeout"
        return Obligation(shapes, solver, result, seconds, statement, detail)
    assert model is not None
    np_dtype = np.dtype(dtype)
    uint = {2: np.uint16, 4: np.uint32}[np_dtype.itemsize]
    arrays: dict[str, np.ndarray] = {}
    for name, syms in env.items():
        out = np.empty(syms.shape, dtype=bool if dict(template.dtypes)[name] == "bool" else np_dtype)
        for idx in np.ndindex(syms.shape):
            if out.dtype == bool:
                out[idx] = z3.is_true(model.eval(syms[idx], model_completion=True))
            else:
                bits = model.eval(z3.fpToIEEEBV(syms[idx]), model_completion=True).as_long()
                out[idx] = np.asarray(bits, dtype=uint).view(np_dtype)
        arrays[name] = out
    case = Case(_retype(template, dtype), tuple(arrays.items()))
    _, finding = check_case(rule, case)
    if finding is not None:
        shown = ", ".join(f"?{k}={v.tolist()!r}" for k, v in arrays.items())
        return Obligation(shapes, solver, "refuted", seconds, statement,
                          f"counterexample {shown}: {finding.message} (confirmed by the NumPy backend)")
    return Obligation(shapes, solver, "unknown", seconds, statement, "z3 model not confirmed by the NumPy backend")


def _retype(template: Template, dtype: str) -> Template:
    return Template(template.shapes, tuple((n, d if d == "bool" else dtype) for n, d in template.dtypes),
                    template.attrs)


# ------------------------------------------------------------------------- driver


def proof_templates(rule: Rule) -> list[Template]:
    """Scalars for elementwise rules; otherwise well-typed shapes with every dimension 2."""
    structural = any(isinstance(n, Op) and ops.spec(n.op).kind is not ops.Kind.ELEMENTWISE
                     for side in (rule.lhs, rule.rhs) for n in side.walk())
    if not structural:
        return templates(rule, limit=1, max_ndim=0)
    groups: dict[tuple[Any, ...], Template] = {}
    for t in templates(rule, limit=400, max_ndim=2):
        t2 = t.relabel({2: 2, 3: 2, 4: 2}, "float64")
        try:
            instantiate(rule, t2)
        except IllTypedError:
            continue
        best = groups.get(t2.attrs)
        if best is None or _ndims(t2) > _ndims(best):
            groups[t2.attrs] = t2
    # the richest shapes per attribute choice; concrete axes before axis=None
    ranked = sorted(groups.values(), key=lambda t: (any(v is None for _, v in t.attrs), -_ndims(t)))
    return ranked[:MAX_OBLIGATIONS]


def _ndims(t: Template) -> int:
    return sum(len(s) for _, s in t.shapes)


def _ops_of(*terms: Term) -> set[str]:
    return {t.op for t in postorder(terms)}


def prove_rule(rule: Rule, ruleset: str = "", timeout_ms: int = DEFAULT_TIMEOUT_MS) -> RuleProof:
    """All obligations of ``rule`` and the combined result."""
    proof = RuleProof(rule.name, ruleset, rule.claim.value, rule_hash(rule), "unknown")
    if rule.claim is Claim.APPROX:
        proof.obligations.append(Obligation("", "static", "unknown", 0.0, "", "approx claims are not proved"))
        return proof
    temps = proof_templates(rule)
    if not temps:
        proof.obligations.append(Obligation("", "static", "unknown", 0.0, "", "no well-typed instantiation"))
    for template in temps:
        proof.obligations.extend(_obligations(rule, template, timeout_ms))
    results = [ob.result for ob in proof.obligations]
    if "refuted" in results:
        proof.result = "refuted"
    elif results and all(r == "proved" for r in results):
        proof.result = "proved"
    return proof


def _obligations(rule: Rule, template: Template, timeout_ms: int) -> list[Obligation]:
    shapes = template.describe()
    _, lhs, rhs, why = instantiate(rule, template)
    if rhs is None:
        return [Obligation(shapes, "static", "refuted", 0.0, "type check",
                           f"the right side does not type-check: {why}")]
    mismatch = same_type(lhs, rhs)
    if mismatch:
        return [Obligation(shapes, "static", "refuted", 0.0, "type check", mismatch)]
    if rule.claim is not Claim.EXACT:
        return [prove_real(rule, template, lhs, rhs, timeout_ms)]
    unsupported = _ops_of(lhs, rhs) - FP_OPS - LAYOUT_FP
    if unsupported:
        real = prove_real(rule, template, lhs, rhs, timeout_ms)
        if real.result == "refuted":
            return [real]
        note = "holds over the reals; " if real.result == "proved" else ""
        return [Obligation(shapes, "z3-float", "unknown", real.seconds, real.statement,
                           f"{note}no IEEE model in z3 for {', '.join(sorted(unsupported))}")]
    out = []
    for dtype in ("float16", "float32"):
        ob = prove_float(rule, template, lhs, rhs, dtype, timeout_ms)
        out.append(ob)
        if ob.result == "refuted":
            break
    return out


def prove_rules(rulesets: RulesetLike | Sequence[RulesetLike] | None = None, timeout_ms: int = DEFAULT_TIMEOUT_MS,
                registry: Registry | None = None) -> dict[str, list[RuleProof]]:
    """Proofs of every rule, by ruleset name."""
    return {rs.name: [prove_rule(r, rs.name, timeout_ms) for r in rs.rules] for rs in resolve(rulesets, registry)}
