"""Test cases for one rule: a template plus input arrays, and the hypothesis strategy drawing them.

Values mix IEEE edge cases (±0, ±inf, nan, subnormals, tiny and huge values, the largest
finite, values around exp's overflow, 5 … 35 where log(1 + exp(-x)) is tiny) with arbitrary
floats; a variable may be drawn equal to, the negation of, a few ulps above, or near the
reciprocal of an earlier one of the same type. Guarded variables are mapped into their guard's set. Under the default
(IEEE-faithful) policy every claim gets every IEEE value, half of the points all finite; a
``fast-math`` rule's ``real`` and ``guarded`` claims, and ``approx`` claims, get finite values only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from egraph_dsl.rules import Claim, Fact, Rule

from .instantiate import FLOAT_DTYPES, LABELS, Template, elementwise


@dataclass(frozen=True)
class Case:
    """One point at which a rule is checked."""

    template: Template
    arrays: tuple[tuple[str, np.ndarray], ...]

    @property
    def args(self) -> dict[str, np.ndarray]:
        return dict(self.arrays)

    @staticmethod
    def of(arrays: Mapping[str, Any], attrs: Mapping[str, Any] | None = None) -> Case:
        """A case from concrete arrays (for pinned ``@example`` regressions)."""
        arrs = {k: np.asarray(v) for k, v in sorted(arrays.items())}
        template = Template(tuple((k, a.shape) for k, a in arrs.items()),
                            tuple((k, str(a.dtype)) for k, a in arrs.items()),
                            tuple(sorted((attrs or {}).items())))
        return Case(template, tuple(arrs.items()))

    def __repr__(self) -> str:
        return f"Case({self.template.describe()}; {', '.join(f'{k}={v!r}' for k, v in self.arrays)})"


def edge_values(dtype: str) -> list[float]:
    info = np.finfo(dtype)
    big, tiny = float(info.max), float(info.tiny)
    sub = float(np.nextafter(np.zeros((), dtype), np.ones((), dtype)))
    wide = dtype == "float64"
    near_exp = 700.0 if wide else 88.0  # exp stays finite
    past_exp = 750.0 if wide else 104.0  # exp overflows, exp(-x) underflows to 0
    huge, small = (1e308, 1e-300) if wide else (3e38, 1e-37)
    raw = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0, float("nan"), float("inf"), float("-inf"), sub, -sub,
           tiny, -tiny, big, -big, huge, -huge, small, -small, near_exp, -near_exp, past_exp, -past_exp,
           5.0, 10.0, 20.0, 30.0, 35.0, -30.0, 1e-8, 1.0 + float(info.eps), 0.1, 1e30]
    return [float(np.asarray(v, dtype=dtype)) for v in raw]


def elements(dtype: str, finite: bool) -> st.SearchStrategy[float]:
    edges = [v for v in edge_values(dtype) if not finite or np.isfinite(v)]
    floats = (st.floats(width=64, allow_nan=not finite, allow_infinity=not finite) if dtype == "float64"
              else st.floats(width=32, allow_nan=not finite, allow_infinity=not finite))
    return st.one_of(st.sampled_from(edges), floats)


def apply_guard(array: np.ndarray, fact: Fact, ieee: bool = False) -> np.ndarray:
    """Map an array into the set a guard allows (keeping as many drawn values as possible).

    With ``ieee`` the sets are those the engine's sign analysis establishes in IEEE floats:
    ``?x > 0``: positive or nan; ``?x >= 0``: +0.0, positive or nan (never -0.0); ``?x != 0``:
    anything but a zero (nan and ±inf included). Without it (fast-math), finite values only.
    """
    a = np.asarray(array)
    with np.errstate(all="ignore"):
        if ieee and fact is Fact.POSITIVE:
            a = np.abs(a)
            a = np.where(a == 0, 1, a)
        elif ieee and fact is Fact.NONNEGATIVE:
            a = np.abs(a)
        elif fact is Fact.POSITIVE:
            a = np.abs(a)
            a = np.where((a == 0) | np.isnan(a), 1, a)
        elif fact is Fact.NONNEGATIVE:
            a = np.abs(a)
            a = np.where(np.isnan(a), 0, a)
        elif fact is Fact.NONZERO:
            a = np.where(a == 0, 1, a)
        elif fact is Fact.FINITE:
            a = np.where(np.isfinite(a), a, 1)
    return np.asarray(a, dtype=array.dtype)


def finite_inputs(rule: Rule, fast_math: bool = False) -> bool:
    """Whether only finite values are drawn: ``approx`` claims, and inexact fast-math claims."""
    return rule.claim is Claim.APPROX or (fast_math and rule.claim is not Claim.EXACT)


def near(array: np.ndarray, ulps: int = 1) -> np.ndarray:
    """Each element ``ulps`` floats above: a value that nearly cancels against the original."""
    out = np.asarray(array)
    with np.errstate(all="ignore"):
        for _ in range(ulps):
            out = np.nextafter(out, np.asarray(np.inf, out.dtype))
    return out


def _alias(source: np.ndarray, kind: str, ulps: int) -> np.ndarray:
    """A value drawn from an earlier one: equal, negated, a few ulps away, or its near reciprocal."""
    with np.errstate(all="ignore"):
        if kind == "same":
            return source
        if kind == "negated":
            return -source
        if kind == "near":
            return near(source, ulps)
        return near(np.asarray(1 / source, source.dtype), ulps - 1)


@st.composite
def cases(draw: Any, rule: Rule, templates: list[Template], fast_math: bool = False) -> Case:
    """A random case for ``rule`` from one of its well-typed ``templates``.

    ``fast_math`` draws for the fast-math policy (finite values for inexact claims, guards
    over the reals); otherwise for the IEEE-faithful one.
    """
    template = draw(st.sampled_from(templates))
    sizes = {label: draw(st.integers(1, 3)) for label in LABELS}
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    t = template.relabel(sizes, dtype)
    dtypes = dict(t.dtypes)
    finite = finite_inputs(rule, fast_math) or draw(st.booleans())
    ieee = not fast_math and rule.claim is not Claim.APPROX
    guards = {g.var: g.fact for g in rule.when if not g.is_shape_fact}
    arrays: dict[str, np.ndarray] = {}
    for name, shape in t.shapes:
        dt = dtypes[name]
        if dt == "bool":
            arrays[name] = draw(hnp.arrays(np.bool_, shape))
            continue
        peers = [(other, kind) for other, arr in arrays.items() if arr.shape == shape and str(arr.dtype) == dt
                 for kind in ("same", "negated", "near", "reciprocal")]
        alias = draw(st.sampled_from([None, *peers])) if peers and draw(st.integers(0, 3)) == 0 else None
        if alias is not None:
            arr = np.asarray(_alias(arrays[alias[0]], alias[1], draw(st.integers(1, 64))), dtype=dt)
        else:
            arr = draw(hnp.arrays(dt, shape, elements=elements(dt, finite)))
        if name in guards:
            arr = apply_guard(arr, guards[name], ieee)
        arrays[name] = arr
    return Case(t, tuple(arrays.items()))


# ------------------------------------------------------------ deterministic points


SWEEP_COMBINATIONS = 256  # combinations of edge values for rules of two or more variables


def _finite_for(rule: Rule, fast_math: bool, dtype: str) -> list[float]:
    values = edge_values(dtype)
    return [v for v in values if np.isfinite(v)] if finite_inputs(rule, fast_math) else values


def sweep_cases(rule: Rule, templates: list[Template], fast_math: bool = False,
                combinations: int = SWEEP_COMBINATIONS, aliased: int | None = None) -> list[Case]:
    """Every edge value (and, for several variables, many combinations of them) as explicit cases.

    Only for elementwise rules (one shared shape), where each element is judged on its own: one
    case per dtype holds the sweep as a 1-D array. Structural rules get none (shapes matter).
    Several variables get ``combinations`` random combinations of edge values, plus rows where
    the later variables equal, negate or nearly equal the first (for ``aliased`` edge values,
    all if None).
    """
    if not templates or not elementwise(rule):
        return []
    template = templates[0]
    names = [n for n, _ in template.shapes]
    kinds = dict(template.dtypes)
    floats = [n for n in names if kinds[n] != "bool"]
    guards = {g.var: g.fact for g in rule.when if not g.is_shape_fact}
    ieee = not fast_math and rule.claim is not Claim.APPROX
    out = []
    for dtype in FLOAT_DTYPES:
        values = _finite_for(rule, fast_math, dtype)
        if len(floats) <= 1:
            rows = [[v] for v in values]
        else:
            rng = np.random.default_rng(len(values) * 7919 + len(floats))
            rows = [list(rng.choice(values, len(floats))) for _ in range(combinations)]
            for v in values[::max(1, len(values) // aliased)] if aliased else values:  # equal, negated, just above
                rows += [[v] * len(floats), [v] + [-v] * (len(floats) - 1),
                         [v] + [float(near(np.asarray(v, dtype), 3))] * (len(floats) - 1)]
        columns = np.asarray(rows, dtype=dtype).T
        arrays: dict[str, np.ndarray] = {}
        for name in names:
            if kinds[name] == "bool":
                arrays[name] = np.arange(len(rows)) % 2 == 0
                continue
            column = columns[floats.index(name)]
            arrays[name] = apply_guard(column, guards[name], ieee) if name in guards else column
        out.append(Case.of(arrays, dict(template.attrs)))
    return out


def random_cases(rule: Rule, templates: list[Template], count: int, fast_math: bool = False,
                 seed: int = 0) -> list[Case]:
    """``count`` reproducible random cases (edge values and wide-ranging floats), without hypothesis."""
    rng = np.random.default_rng(seed)
    guards = {g.var: g.fact for g in rule.when if not g.is_shape_fact}
    ieee = not fast_math and rule.claim is not Claim.APPROX
    out = []
    for i in range(count):
        template = templates[i % len(templates)]
        dtype = FLOAT_DTYPES[(i // len(templates)) % len(FLOAT_DTYPES)]
        t = template.relabel({label: int(rng.integers(1, 4)) for label in LABELS}, dtype)
        kinds = dict(t.dtypes)
        edges = _finite_for(rule, fast_math, dtype)
        arrays: dict[str, np.ndarray] = {}
        for name, shape in t.shapes:
            if kinds[name] == "bool":
                arrays[name] = rng.random(shape) < 0.5
                continue
            wide = np.sign(rng.standard_normal(shape)) * 10.0 ** rng.uniform(-30, 30, shape)
            pick = rng.choice(edges, shape) if shape else rng.choice(edges)
            with np.errstate(all="ignore"):
                arr = np.asarray(np.where(rng.random(shape) < 0.5, pick, wide), dtype=dtype)
            arrays[name] = apply_guard(arr, guards[name], ieee) if name in guards else arr
        out.append(Case(t, tuple(arrays.items())))
    return out
