"""Property-test rules: hypothesis draws inputs, the NumPy backend runs both sides, the claim judges.

``check_rules(["algebra", my_ruleset], profile="ci")`` returns a :class:`Report` with, per
rule, ``passed``, ``counterexample`` (shrunk by hypothesis, printed exactly), ``untested``
(no drawn point was in scope) or ``error``.

Rules are judged by the default rulesets' IEEE-faithful floating-point policy
(``compare.compare_faithful``) unless the rule or its ruleset is tagged ``fast-math``
(``compare.compare_real``: equal over the reals, close in floats, finite inputs only).
"""

from __future__ import annotations

import hashlib
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from egraph_dsl import term
from egraph_dsl.program import Program, evaluate
from egraph_dsl.registry import Registry, RuleSet, default_registry
from egraph_dsl.rules import Claim, Rule
from egraph_dsl.term import Term

from .cases import Case, cases, random_cases, sweep_cases
from .compare import bits_equal, compare_faithful, compare_real, first_difference, same_type
from .instantiate import IllTypedError, Template, attr_env, build, elementwise, inputs_for, templates
from .profiles import settings_for
from .semantics import WIDE_EXP_LIMIT, MpMath


class CounterexampleError(AssertionError):
    """The two sides of a rule disagree at a point."""


@dataclass(frozen=True)
class Finding:
    """A reproducible counterexample: the inputs, both outputs and why they disagree."""

    case: Case
    message: str
    lhs_out: np.ndarray | None
    rhs_out: np.ndarray | None

    def text(self) -> str:
        lines = [f"  where {self.case.template.describe()}", f"  {self.message}"]
        for name, arr in self.case.arrays:
            lines.append(f"  ?{name} = {exact_repr(arr)}")
        if self.lhs_out is not None:
            lines.append(f"  left  = {exact_repr(self.lhs_out)}")
        if self.rhs_out is not None:
            lines.append(f"  right = {exact_repr(self.rhs_out)}")
        return "\n".join(lines)


def exact_repr(a: np.ndarray) -> str:
    """An expression that rebuilds ``a`` bit for bit (floats as hex), with its repr for reading."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return f"np.array({a.tolist()!r}, dtype={a.dtype.name})"
    hexes = [f"float.fromhex({float(v).hex()!r})" for v in a.ravel()]
    return (f"np.array([{', '.join(hexes)}], dtype=np.{a.dtype.name}).reshape({a.shape})"
            f"  # {np.array2string(a, precision=17, floatmode='unique')}")


@dataclass
class RuleResult:
    """What checking one rule found."""

    rule: Rule
    ruleset: str
    status: str  # passed | counterexample | untested | error
    examples: int = 0
    checked: int = 0
    finding: Finding | None = None
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "untested")

    def text(self) -> str:
        replaces = ", replaces" if self.rule.replaces else ""
        head = f"{self.ruleset}/{self.rule.name} [{self.rule.claim.value}{replaces}]: {self.status} " \
               f"({self.checked}/{self.examples} points checked, {self.seconds:.2f}s)"
        if self.finding is not None:
            return f"{head}\n  rule {self.rule.lhs} => {self.rule.rhs}\n{self.finding.text()}"
        if self.error:
            return f"{head}\n  {self.error}"
        return head


@dataclass
class Report:
    """Per-rule results of :func:`check_rules`."""

    results: list[RuleResult] = field(default_factory=list)
    profile: str = "ci"

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.ok]

    def result(self, rule_name: str) -> RuleResult:
        for r in self.results:
            if r.rule.name == rule_name:
                return r
        raise KeyError(f"no result for rule {rule_name!r}")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def __str__(self) -> str:
        lines = [r.text() for r in self.results]
        summary = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items()))
        return "\n".join([*lines, f"{len(self.results)} rules: {summary or 'none'} (profile {self.profile})"])


# ------------------------------------------------------------------------ evaluation


class Evaluator:
    """Builds and caches the NumPy-backend executables of both sides for each template."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._cache: dict[Template, tuple[Term, Term | None, str, Callable[..., Any], Callable[..., Any] | None,
                                          list[str]]] = {}

    def sides(self, template: Template) -> tuple[Term, Term | None, str, Callable[..., Any],
                                                 Callable[..., Any] | None, list[str]]:
        if template not in self._cache:
            env = inputs_for(template)
            attrs = attr_env(template)
            lhs = build(self.rule.lhs, env, attrs)
            try:
                rhs: Term | None = build(self.rule.rhs, env, attrs)
                why = ""
            except IllTypedError as exc:
                rhs, why = None, str(exc)
            shape, dtype = side_type(lhs, template)
            inputs = list(env.values())
            names = [str(t.attr["name"]) for t in inputs]
            extra = [term.input_("__true", shape, "bool"), term.input_("__fill", shape, dtype)]
            needs_extra = lhs.weak or (rhs is not None and rhs.weak)
            if needs_extra:
                inputs += extra
                names += ["__true", "__fill"]
            run_lhs = _executable(tuple(inputs), _strong(lhs, extra))
            run_rhs = _executable(tuple(inputs), _strong(rhs, extra)) if rhs is not None else None
            self._cache[template] = (lhs, rhs, why, run_lhs, run_rhs, names)
        return self._cache[template]


def side_type(lhs: Term, template: Template) -> tuple[tuple[int, ...], str]:
    """The type the rewritten e-class has: the left side's, or a float scalar if it is weak."""
    if not lhs.weak:
        return lhs.shape or (), lhs.dtype or "float64"
    floats = [d for _, d in template.dtypes if d in ("float32", "float64")]
    return (), floats[0] if floats else "float64"


def _strong(side: Term, extra: list[Term]) -> Term:
    """A weak side broadcast to the type of the rewritten e-class, bits unchanged."""
    return term.make("where", [extra[0], side, extra[1]]) if side.weak else side


def _executable(inputs: tuple[Term, ...], out: Term) -> Callable[..., Any]:
    """One side of a rule as a function of its inputs, run by the core's reference interpreter."""
    side = Program(inputs, (out,), name="side")
    return lambda *args: evaluate(side, args)[0]


FAST_MATH = "fast-math"
REPLACES_FAST_MATH = ("a rule that replaces its left side (replaces=True) claims to be at least as accurate, which "
                      "only the default policy checks; it cannot be in a fast-math ruleset")


def is_fast_math(rule: Rule, ruleset_tags: Iterable[str] = ()) -> bool:
    """Whether ``rule`` is judged by the fast-math policy: it or its ruleset is tagged ``fast-math``."""
    return FAST_MATH in rule.tags or FAST_MATH in set(ruleset_tags)


def check_case(rule: Rule, case: Case, evaluator: Evaluator | None = None,
               m: MpMath | None = None, *, fast_math: bool | None = None) -> tuple[bool, Finding | None]:
    """Check ``rule`` at one point: (whether the point was in scope, the finding if they disagree).

    ``fast_math`` picks the policy (default: the rule's own ``fast-math`` tag).
    """
    evaluator = evaluator or Evaluator(rule)
    fast = is_fast_math(rule) if fast_math is None else fast_math
    try:
        lhs, rhs, why, run_lhs, run_rhs, names = evaluator.sides(case.template)
    except IllTypedError:
        return False, None
    args = case.args
    shape, dtype = side_type(lhs, case.template)
    extra = {"__true": np.ones(shape, bool), "__fill": np.zeros(shape, dtype)}
    values = [args[n] if n in args else extra[n] for n in names]
    with np.errstate(all="ignore"):
        lhs_out = np.asarray(run_lhs(*values))
    if rhs is None or run_rhs is None:
        return True, Finding(case, f"the right side does not type-check: {why}", lhs_out, None)
    mismatch = same_type(lhs, rhs)
    with np.errstate(all="ignore"):
        rhs_out = np.asarray(run_rhs(*values))
    if mismatch:
        return True, Finding(case, mismatch, lhs_out, rhs_out)
    if rule.claim is Claim.EXACT:
        failure = bits_equal(lhs_out, rhs_out)
        if failure is None:
            return True, None
        index = first_difference(lhs_out, rhs_out) if lhs_out.shape == rhs_out.shape else None
        return True, _finding(rule, case, f"not bit-identical {failure}", lhs_out, rhs_out, index)
    compare = compare_real if fast or rule.claim is Claim.APPROX else compare_faithful
    with np.errstate(all="ignore"):
        verdict = compare(rule, lhs, rhs, args, lhs_out, rhs_out, m)
    if verdict.failure:
        return True, _finding(rule, case, verdict.failure, lhs_out, rhs_out, verdict.index)
    return verdict.checked, None


def _finding(rule: Rule, case: Case, message: str, lhs_out: np.ndarray, rhs_out: np.ndarray,
             index: tuple[int, ...] | None) -> Finding:
    """The finding; for an elementwise rule failing at one element, the case of just that element."""
    if index is None or not elementwise(rule) or lhs_out.ndim == 0:
        return Finding(case, message, lhs_out, rhs_out)
    one = Case.of({k: v[index] if v.shape == lhs_out.shape else v for k, v in case.arrays}, dict(case.template.attrs))
    message = message.replace(f"at index {index}", "at index ()")
    return Finding(one, message, np.asarray(lhs_out[index]), np.asarray(np.broadcast_to(rhs_out, lhs_out.shape)[index]))


# ------------------------------------------------------------------------- the driver



def _templates_or_report(rule: Rule, result: RuleResult, start: float) -> list[Template] | None:
    """The rule's instantiation templates, or None with ``result`` saying why there are none."""
    try:
        temps = templates(rule)
    except Exception as exc:  # a rule the instantiator cannot handle is reported, not raised
        result.status, result.error = "error", f"cannot instantiate: {exc!r}"
        return None
    if not temps:
        result.status, result.error = "untested", "no well-typed instantiation of the left side was found"
        result.seconds = time.perf_counter() - start
        return None
    return temps

def check_rule(rule: Rule, profile: str = "ci", ruleset: str = "", *, fast_math: bool | None = None) -> RuleResult:
    """Property-test one rule under ``profile``; never raises for a bad rule, reports it.

    ``fast_math`` picks the policy (default: the rule's own ``fast-math`` tag).
    """
    from hypothesis import example, given

    fast = is_fast_math(rule) if fast_math is None else fast_math
    start = time.perf_counter()
    result = RuleResult(rule, ruleset, "passed")
    if rule.replaces and fast:  # replacing claims "at least as accurate": only the default policy checks that
        result.status, result.error = "error", REPLACES_FAST_MATH
        return result
    temps = _templates_or_report(rule, result, start)
    if temps is None:
        return result
    evaluator, m = Evaluator(rule), (MpMath() if fast else MpMath(exp_limit=WIDE_EXP_LIMIT))
    last: list[Finding] = []

    def check(case: Case) -> None:
        result.examples += 1
        checked, finding = check_case(rule, case, evaluator, m, fast_math=fast)
        result.checked += int(checked)
        if finding is not None:
            last[:] = [finding]
            raise CounterexampleError(finding.message)

    prop = given(cases(rule, temps, fast))(check)
    for case in sweep_cases(rule, temps, fast):  # every edge value, before the random draws
        prop = example(case)(prop)
    prop = settings_for(profile)(prop)

    try:
        prop()
    except CounterexampleError:
        result.status, result.finding = "counterexample", last[0]
    except Exception as exc:  # report, do not crash the whole run
        result.status = "error"
        result.error = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[0]
    else:
        if result.checked == 0:
            result.status, result.error = "untested", "no drawn point was in the rule's scope"
    result.seconds = time.perf_counter() - start
    return result


QUICK_COMBINATIONS = 24  # edge-value combinations per dtype in the quick check of a multi-variable rule
QUICK_PRECISION = 512  # bits: exact enough for float64 judgments (two exact sides must agree to 2^-156)


def quick_check(rule: Rule, *, fast_math: bool = False, ruleset: str = "", random_points: int = 32) -> RuleResult:
    """Check ``rule`` on a few dozen fixed points, without hypothesis (what first use runs).

    Elementwise rules: every edge value (combinations of them for several variables) plus
    ``random_points`` reproducible random arrays; other rules: the random arrays. Stops at the
    first counterexample (not shrunk).
    """
    start = time.perf_counter()
    result = RuleResult(rule, ruleset, "passed")
    if rule.replaces and fast_math:
        result.status, result.error = "error", REPLACES_FAST_MATH
        return result
    temps = _templates_or_report(rule, result, start)
    if temps is None:
        return result
    evaluator = Evaluator(rule)
    m = MpMath() if fast_math else MpMath(exp_limit=WIDE_EXP_LIMIT)
    seed = int.from_bytes(hashlib.sha256(rule.name.encode()).digest()[:4], "little")
    points = (sweep_cases(rule, temps, fast_math, QUICK_COMBINATIONS, aliased=8)
              + random_cases(rule, temps, random_points, fast_math, seed))
    for case in points:
        result.examples += 1
        try:
            checked, finding = check_case(rule, case, evaluator, m, fast_math=fast_math)
        except Exception as exc:  # report, do not crash the caller
            result.status = "error"
            result.error = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[0]
            break
        result.checked += int(checked)
        if finding is not None:
            result.status, result.finding = "counterexample", finding
            break
    else:
        if result.checked == 0:
            result.status, result.error = "untested", "no point was in the rule's scope"
    result.seconds = time.perf_counter() - start
    return result


RulesetLike = str | RuleSet


def resolve(rulesets: RulesetLike | Sequence[RulesetLike] | None, registry: Registry | None = None) -> list[RuleSet]:
    """RuleSets from names or values; None means every registered ruleset."""
    reg = registry or default_registry
    if rulesets is None:
        return list(reg)
    items: Iterable[RulesetLike] = [rulesets] if isinstance(rulesets, (str, RuleSet)) else rulesets
    return [r if isinstance(r, RuleSet) else reg.get(r) for r in items]


def check_rules(rulesets: RulesetLike | Sequence[RulesetLike] | None = None, profile: str = "ci",
                registry: Registry | None = None, on_result: Callable[[RuleResult], None] | None = None) -> Report:
    """Property-test every rule of ``rulesets`` (names, RuleSets, or None for all registered)."""
    report = Report(profile=profile)
    for rs in resolve(rulesets, registry):
        for rule in rs.rules:
            r = check_rule(rule, profile, rs.name, fast_math=is_fast_math(rule, rs.tags))
            report.results.append(r)
            if on_result:
                on_result(r)
    return report
