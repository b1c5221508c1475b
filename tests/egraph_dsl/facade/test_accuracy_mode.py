"""``accuracy=`` and ``input_ranges=`` on jit, value_and_grad and optimize; the record in explain()."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.errors import OptionError
from egraph_dsl.facade.pipeline import optimize
from egraph_dsl.trace import trace_function

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # --import-mode=importlib: reach the helpers
from sample_programs import LARGE, conjugate_registry, sqrt_difference


def test_balanced_is_the_default_and_explain_reports_error_before_and_after() -> None:
    f = ed.jit(lambda x: np.log(1 + np.exp(x)), input_ranges={"x": (-700.0, 700.0)})
    f(np.linspace(-700.0, 700.0, 32))
    text = f.explain()
    assert "== accuracy (balanced): 32 samples (x: range [-700, 700])" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("  output 0: before"))
    assert "bits mean" in line and "max relative error" in line
    record = f.lower(np.linspace(-700.0, 700.0, 32)).optimized.accuracy
    assert record.before[0].mean_bits > 8.0 and record.after[0].mean_bits < 0.5


def test_jit_chooses_the_accurate_form_and_reports_the_change() -> None:
    reg = conjugate_registry()
    accurate = ed.jit(sqrt_difference, rulesets=["conjugate"], registry=reg)
    np.testing.assert_allclose(accurate(LARGE), 1 / (np.sqrt(LARGE + 1) + np.sqrt(LARGE)), rtol=1e-15)
    assert "changed: sub(sqrt, sqrt) -> div(const, add)" in accurate.explain()
    fast = ed.jit(sqrt_difference, rulesets=["conjugate"], registry=reg, accuracy="fast")
    fast(LARGE)
    assert "sub(" in str(fast.program(LARGE)) and "== accuracy" not in fast.explain()


def test_fast_gives_the_cost_model_program() -> None:
    program = trace_function(lambda x: np.exp(x) - 1 + np.log(1 + x * x), (np.ones(4),))
    for rulesets in (None, ["algebra"]):
        fast = optimize(program, rulesets, accuracy="fast")
        assert fast.accuracy is None and "accuracy" not in fast.timings
        jitted = ed.jit(lambda x: np.exp(x) - 1 + np.log(1 + x * x), rulesets=rulesets, accuracy="fast")
        assert str(jitted.program(np.ones(4))).split("\n", 1)[1] == str(fast.after).split("\n", 1)[1]


def test_samples_are_drawn_once_per_signature() -> None:
    scale = 2.0

    def f(x):  # type: ignore[no-untyped-def]
        return np.exp(x) * scale - 1

    jitted = ed.jit(f)
    jitted(np.linspace(0, 1, 8))
    jitted(np.linspace(0, 1, 8) + 1)
    assert jitted.samples_drawn == 1
    scale = 3.0  # a closed-over value changed: traced again, same signature, same samples
    jitted(np.linspace(0, 1, 8))
    assert len(jitted._cache) == 2 and jitted.samples_drawn == 1
    jitted(np.linspace(0, 1, 9))  # a new signature draws its own
    assert jitted.samples_drawn == 2 and len(jitted._samples) == 2
    assert ed.jit(f, accuracy="fast").samples_drawn == 0


def test_input_ranges_change_the_samples() -> None:
    data = np.linspace(1.0, 2.0, 16)
    by_data = ed.jit(lambda x: np.log(x))
    by_range = ed.jit(lambda x: np.log(x), input_ranges={"x": (1e-8, 1e8)})
    by_data(data)
    by_range(data)
    (from_data,) = by_data._samples.values()
    (from_range,) = by_range._samples.values()
    assert from_data.values["x"].max() <= 2.0 and from_range.values["x"].max() == 1e8
    assert "x: first-call data" in by_data.explain() and "x: range [1e-08, 1e+08]" in by_range.explain()


def test_value_and_grad_takes_the_accuracy_options() -> None:
    vg = ed.value_and_grad(lambda x: np.sum(np.log(1 + np.exp(x))), accuracy="accurate",
                           input_ranges={"x": (-30.0, 30.0)})
    _value, grad = vg(np.linspace(-3.0, 3.0, 10))
    np.testing.assert_allclose(grad, 1 / (1 + np.exp(-np.linspace(-3.0, 3.0, 10))), rtol=1e-12)
    assert "== accuracy (accurate)" in vg.jitted.explain()
    assert vg.jitted.accuracy == "accurate" and "accuracy" not in vg.jitted.backend_options
    assert ed.jit(vg, accuracy="fast").jitted.accuracy == "fast"


@pytest.mark.parametrize(("options", "message"), [
    ({"accuracy": "precise"}, "unknown accuracy mode 'precise'; use one of 'fast', 'balanced', 'accurate'"),
    ({"accuracy": None}, "unknown accuracy mode None"),
    ({"input_ranges": {"y": (0.0, 1.0)}}, "input_ranges names 'y', which is not an argument"),
    ({"input_ranges": {"x": (1.0, 0.0)}}, r"input_ranges\['x'\] = \(1.0, 0.0\) has lo > hi"),
    ({"input_ranges": {"x": (0.0, float("nan"))}}, "must be finite"),
])
def test_bad_accuracy_options_fail_at_decoration(options: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        ed.jit(lambda x: x + 1, **options)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=message):
        ed.value_and_grad(lambda x: np.sum(x), **options)


def test_optimize_refuses_an_unknown_mode() -> None:
    program = trace_function(lambda x: x + 1, (np.ones(2),))
    with pytest.raises(OptionError, match="unknown accuracy mode 'best'"):
        optimize(program, accuracy="best")
