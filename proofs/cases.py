"""Test cases for one rule: a template plus input arrays, and the hypothesis strategy drawing them.

Values mix IEEE edge cases (±0, ±inf, nan, subnormals, the largest finite, values near exp's
overflow) with arbitrary floats; a variable may be drawn equal to (or the negation of) an
earlier one of the same type. ``real`` and ``guarded`` claims get finite values only, and
guarded variables are mapped into their guard's set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from egraph_dsl.rules import Claim, Fact, Rule

from .instantiate import FLOAT_DTYPES, LABELS, Template


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
    near_exp = 700.0 if dtype == "float64" else 88.0
    raw = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0, float("nan"), float("inf"), float("-inf"), sub, -sub,
           tiny, -tiny, big, -big, near_exp, -near_exp, 1e-8, 1.0 + float(info.eps), 0.1, 1e30]
    return [float(np.asarray(v, dtype=dtype)) for v in raw]


def elements(dtype: str, finite: bool) -> st.SearchStrategy[float]:
    edges = [v for v in edge_values(dtype) if not finite or np.isfinite(v)]
    floats = (st.floats(width=64, allow_nan=not finite, allow_infinity=not finite) if dtype == "float64"
              else st.floats(width=32, allow_nan=not finite, allow_infinity=not finite))
    return st.one_of(st.sampled_from(edges), floats)


def apply_guard(array: np.ndarray, fact: Fact) -> np.ndarray:
    """Map an array into the set a guard allows (keeping as many drawn values as possible)."""
    a = np.asarray(array)
    with np.errstate(all="ignore"):
        if fact is Fact.POSITIVE:
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


def finite_inputs(rule: Rule) -> bool:
    return rule.claim is not Claim.EXACT


@st.composite
def cases(draw: Any, rule: Rule, templates: list[Template]) -> Case:
    """A random case for ``rule`` from one of its well-typed ``templates``."""
    template = draw(st.sampled_from(templates))
    sizes = {label: draw(st.integers(1, 3)) for label in LABELS}
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    t = template.relabel(sizes, dtype)
    dtypes = dict(t.dtypes)
    finite = finite_inputs(rule)
    guards = {g.var: g.fact for g in rule.when if not g.is_shape_fact}
    arrays: dict[str, np.ndarray] = {}
    for name, shape in t.shapes:
        dt = dtypes[name]
        if dt == "bool":
            arrays[name] = draw(hnp.arrays(np.bool_, shape))
            continue
        peers = [(other, sign) for other, arr in arrays.items() if arr.shape == shape and str(arr.dtype) == dt
                 for sign in (1.0, -1.0)]
        alias = draw(st.sampled_from([None, *peers])) if peers and draw(st.integers(0, 3)) == 0 else None
        if alias is not None:
            arr = np.asarray(arrays[alias[0]] * alias[1], dtype=dt)
        else:
            arr = draw(hnp.arrays(dt, shape, elements=elements(dt, finite)))
        if name in guards:
            arr = apply_guard(arr, guards[name])
        arrays[name] = arr
    return Case(t, tuple(arrays.items()))
