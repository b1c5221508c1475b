"""The error model: sampling, bits of error, and the per-e-class choice in each accuracy mode."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from egraph_dsl.proofs import error_model as em

from egraph_dsl.errors import OptionError
from egraph_dsl.facade.pipeline import optimize
from egraph_dsl.trace import trace_function

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "egraph_dsl"))  # --import-mode=importlib: reach the helpers
from sample_programs import LARGE, conjugate_registry, sqrt_difference


def test_error_bits_counts_ulps_and_non_finite_results() -> None:
    exact = np.array([1.0, 1.0, 1.0, np.inf, np.nan])
    got = np.array([1.0, np.nextafter(1.0, 2.0), np.nan, np.inf, 3.0])
    bits = em.error_bits(got, exact)
    assert bits[:4].tolist() == [0.0, 1.0, 64.0, 0.0]
    assert np.isnan(bits[4])  # undefined exactly: not counted
    assert em.error_bits(np.array([2.0 ** 52 + 4]), np.array([2.0 ** 52]))[0] == pytest.approx(np.log2(5))


def test_samples_come_from_the_data_with_its_extremes() -> None:
    x = np.linspace(-3.0, 5.0, 101)
    program = trace_function(lambda x: np.exp(x), (x,))
    samples = em.draw_samples(program, (x,), n=16)
    values = samples.values["x"]
    assert values.shape == (16,) and set(values) <= set(x)
    assert values.min() == -3.0 and values.max() == 5.0
    assert "first-call data" in samples.describe()


def test_declared_ranges_are_sampled_log_uniformly_and_change_the_samples() -> None:
    x = np.ones(10)
    program = trace_function(lambda x: np.log(x), (x,))
    wide = em.draw_samples(program, (x,), {"x": (1e-8, 1e8)}, n=64).values["x"]
    assert wide.min() == 1e-8 and wide.max() == 1e8
    assert np.mean(wide < 1.0) > 0.25  # log-uniform: about half the points below 1
    across = em.draw_samples(program, (x,), {"x": (-2.0, 3.0)}, n=64).values["x"]
    assert across.min() >= -2.0 and across.max() <= 3.0 and (across < 0).any() and (across > 0).any()
    assert not np.array_equal(wide, em.draw_samples(program, (x,), n=64).values["x"])


def test_integer_inputs_are_sampled_from_the_data() -> None:
    k = np.array([3, 7, 9], dtype=np.int64)
    program = trace_function(lambda k: k + 1, (k,))
    assert set(em.draw_samples(program, (k,), n=8).values["k"]) <= {3, 7, 9}


@pytest.mark.parametrize(("ranges", "message"), [
    ({"y": (0, 1)}, "'y', which is not an argument"),
    ({"x": (2.0, 1.0)}, "lo > hi"),
    ({"x": (0.0, np.inf)}, "must be finite"),
    ({"x": "wide"}, "pair of numbers"),
])
def test_bad_ranges_are_refused(ranges: dict[str, object], message: str) -> None:
    program = trace_function(lambda x: x * 2.0, (np.ones(3),))
    with pytest.raises(OptionError, match=message):
        em.draw_samples(program, (np.ones(3),), ranges)


def test_unknown_mode_lists_the_modes() -> None:
    with pytest.raises(OptionError, match="'fast', 'balanced', 'accurate'"):
        em.check_accuracy("precise")


def test_softplus_from_log_one_plus_exp_is_measured_before_and_after() -> None:
    x = np.linspace(-700.0, 700.0, 64)
    program = trace_function(lambda x: np.log(1 + np.exp(x)), (x,))
    samples = em.draw_samples(program, (x,), {"x": (-700.0, 700.0)})
    record = optimize(program, accuracy="balanced", samples=samples).accuracy
    assert record is not None
    (before,), (after,) = record.before, record.after
    assert before is not None and after is not None
    assert before.mean_bits > 8.0 and before.max_bits > 50.0  # log(1 + exp(-700)) is 0, exp(700) overflows
    assert after.mean_bits < 0.5 and after.max_relative < 1e-15


def test_expm1_near_zero_is_exact_after() -> None:
    x = np.linspace(-1e-6, 1e-6, 41)
    program = trace_function(lambda x: np.exp(x) - 1, (x,))
    record = optimize(program, samples=em.draw_samples(program, (x,))).accuracy
    assert record is not None and record.before[0] is not None and record.after[0] is not None
    assert record.before[0].mean_bits > 10.0
    assert record.after[0].max_bits <= 1.0


def test_balanced_takes_a_dearer_form_when_it_is_much_more_accurate() -> None:
    program = trace_function(sqrt_difference, (LARGE,))
    samples = em.draw_samples(program, (LARGE,))
    reg = conjugate_registry()
    fast = optimize(program, ["conjugate"], registry=reg, accuracy="fast")
    balanced = optimize(program, ["conjugate"], registry=reg, samples=samples)
    assert fast.after == program and fast.accuracy is None  # fast: the cost model alone, as before
    assert "div" in str(balanced.after) and "sub" not in str(balanced.after)
    assert balanced.cost_after > balanced.cost_before  # the cost fallback did not undo it
    record = balanced.accuracy
    assert record is not None and record.changed and "sub(sqrt, sqrt) -> div(const, add)" in record.changed[0]
    assert record.before[0] is not None and record.after[0] is not None
    assert record.before[0].mean_bits > 20.0 and record.after[0].mean_bits < 1.0


def test_accurate_is_never_worse_than_balanced_nor_balanced_than_fast() -> None:
    reg = conjugate_registry()
    for x in (LARGE, np.linspace(0.5, 4.0, 40), np.geomspace(1e-12, 1e-3, 40)):
        program = trace_function(sqrt_difference, (x,))
        samples = em.draw_samples(program, (x,))
        errors = {}
        for mode in ("fast", "balanced", "accurate"):
            after = optimize(program, ["conjugate"], registry=reg, accuracy=mode, samples=samples).after
            measured = optimize(after, [], accuracy="accurate", samples=samples).accuracy
            assert measured is not None and measured.after[0] is not None
            errors[mode] = measured.after[0].mean_bits
        assert errors["balanced"] <= errors["fast"]
        assert errors["accurate"] <= errors["balanced"] + em.TIE_BITS  # accurate: closer than TIE_BITS is a tie


def test_the_model_is_skipped_when_nothing_is_to_decide() -> None:
    x = np.linspace(1.0, 2.0, 8)
    program = trace_function(lambda x: np.sqrt(x), (x,))
    opt = optimize(program, [], samples=em.draw_samples(program, (x,)))
    assert opt.accuracy is not None and opt.accuracy.skipped and not opt.accuracy.changed
    assert opt.accuracy.after[0] is not None and opt.accuracy.after[0].max_bits <= 1.0


def test_improve_never_chooses_a_subsumed_e_node() -> None:
    from egraph_dsl.engine.egraph import EGraph
    from egraph_dsl.engine.limits import Limits
    from egraph_dsl.facade.pipeline import extract_program, resolve_cost_model, resolve_rulesets, root_classes
    from egraph_dsl.registry import combine

    x = np.linspace(-700.0, 700.0, 32)
    program = trace_function(lambda x: np.log(1 + np.exp(x)), (x,))
    egraph = EGraph()
    egraph.load(program.outputs)
    ruleset = resolve_rulesets(None)
    egraph.run(combine([ruleset], ruleset.name), Limits.of(None))
    snapshot = egraph.snapshot()
    roots = root_classes(egraph, snapshot, program.outputs)
    extracted = extract_program(snapshot, program, roots, resolve_cost_model(None))
    assert any(n.subsumed for n in snapshot.nodes.values())
    improvement = em.improve(snapshot, roots, extracted.choices, em.draw_samples(program, (x,)),
                             lambda nid: 1.0, program, "accurate")
    assert not any(snapshot.nodes[nid].subsumed for nid in improvement.choices.values())


def test_past_its_deadline_the_model_leaves_the_cost_model_choices() -> None:
    """The optimization's time limit holds for the error model too: past the deadline the e-classes
    not yet decided keep the cost model's choice (here all of them), and the record says so."""
    program = trace_function(sqrt_difference, (LARGE,))
    samples = em.draw_samples(program, (LARGE,))
    opt = optimize(program, ["conjugate"], registry=conjugate_registry(), accuracy="fast", samples=samples)
    from egraph_dsl.engine.egraph import EGraph
    from egraph_dsl.engine.limits import Limits
    from egraph_dsl.facade.pipeline import extract_program, resolve_cost_model, root_classes

    egraph = EGraph()
    egraph.load(program.outputs)
    egraph.run(conjugate_registry().get("conjugate"), Limits.of(None))
    snapshot = egraph.snapshot()
    roots = root_classes(egraph, snapshot, program.outputs)
    extracted = extract_program(snapshot, program, roots, resolve_cost_model(None))
    late = em.improve(snapshot, roots, extracted.choices, samples, lambda nid: 1.0, program, "accurate", deadline=0.0)
    assert late.model.out_of_time and not late.changed and late.choices == dict(extracted.choices)
    on_time = em.improve(snapshot, roots, extracted.choices, samples, lambda nid: 1.0, program, "accurate")
    assert not on_time.model.out_of_time and on_time.changed  # the same call in time takes the conjugate
    assert "div" not in str(opt.after)  # fast: the cost model's cheaper difference


def test_reductions_are_outside_the_model_but_feed_it_and_are_fed_by_it() -> None:
    reg = conjugate_registry()
    inside = trace_function(lambda x: np.sum(np.sqrt(x + 1) - np.sqrt(x)), (LARGE,))
    opt = optimize(inside, ["conjugate"], registry=reg, samples=em.draw_samples(inside, (LARGE,)))
    assert "div" in str(opt.after) and opt.accuracy is not None
    assert opt.accuracy.after == (None,)  # a sum at the root: outside the per-element model
    above = trace_function(lambda x: np.sqrt(np.sum(x) + 1) - np.sqrt(np.sum(x)), (LARGE,))
    opt = optimize(above, ["conjugate"], registry=reg, samples=em.draw_samples(above, (LARGE,)))
    assert "div" in str(opt.after)  # judged on the sum's value on the data (about 1e13)
    assert opt.accuracy is not None and opt.accuracy.before[0] is not None and opt.accuracy.after[0] is not None
    assert opt.accuracy.before[0].mean_bits > 20.0 and opt.accuracy.after[0].mean_bits < 1.0


def test_the_exact_budget_leaves_the_cost_models_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(em, "EXACT_BUDGET", -1)
    program = trace_function(sqrt_difference, (LARGE,))
    opt = optimize(program, ["conjugate"], registry=conjugate_registry(), samples=em.draw_samples(program, (LARGE,)))
    assert opt.after == program and opt.accuracy is not None
    assert "exact budget spent: 1 e-class(es)" in opt.accuracy.lines()[0]


def test_element_moves_carry_their_first_operand_through_the_model() -> None:
    index = np.array([3, 0, 7, 7], dtype=np.int64)
    program = trace_function(lambda x, i: np.sqrt(x[i].T + 1) - np.sqrt(x[i].T), (LARGE, index))
    opt = optimize(program, ["conjugate"], registry=conjugate_registry(),
                   samples=em.draw_samples(program, (LARGE, index)))
    assert "div" in str(opt.after) and "take" in str(opt.after)
    assert opt.accuracy is not None and opt.accuracy.after[0] is not None and opt.accuracy.after[0].mean_bits < 1.0
