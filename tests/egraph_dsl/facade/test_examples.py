"""The examples run as tests, so they never rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_interactive_session_walkthrough(capsys):
    out = load("interactive_session").main(verbose=True)
    printed = capsys.readouterr().out
    assert "== why does the output look like this?" in printed
    stability, _algebra, linalg = out["steps"]
    assert {"sigmoid-def", "log-sigmoid", "log-one-minus-sigmoid"} <= set(stability.fired)
    assert "sum-product-dot" in linalg.fired
    assert stability.cost_after < stability.cost_before
    s = out["session"]
    assert s.cost < s.history()[0].cost_before
    assert not any(t.op == "log" for t in s.ops())  # every log was stabilised away
    assert out["explanation"].found and out["explanation"].verified
    np.testing.assert_allclose(out["value"], out["reference"], rtol=1e-12)
    assert np.isfinite(out["big"]) and not np.isfinite(out["naive_big"])
    costs = [a.cost for a in out["alternatives"]]
    assert costs == sorted(costs) and costs[0] <= s.cost + 1e-9


def test_reactivity_gradient_matches_the_hand_written_one():
    import egraph_dsl as ed
    from egraph_dsl.facade import demo_reactivity as model

    data, theta = model.make_data(30, 400, K=3, seed=5)
    value, grad = ed.value_and_grad(model.log_posterior_for(data))(theta)
    hand_value, hand_grad = model.hand_value_and_grad_for(data)(theta)
    assert abs(value - hand_value) <= 1e-12 * abs(hand_value)
    np.testing.assert_allclose(grad, hand_grad, rtol=1e-12, atol=1e-12)


def test_reactivity_nuts_chains_agree_with_the_hand_written_gradient():
    import pytest

    pytest.importorskip("mici")
    from egraph_dsl.facade import demo_reactivity as model

    nuts = model
    import egraph_dsl as ed

    data, _ = model.make_data(20, 200, K=2, seed=1)
    init = np.full(data.dim, 0.05)
    ours, _ = nuts.run_nuts(ed.value_and_grad(model.log_posterior_for(data)), init, 0, 12, seed=3, step_size=0.05)
    hand, _ = nuts.run_nuts(model.hand_value_and_grad_for(data), init, 0, 12, seed=3, step_size=0.05)
    assert ours.shape == (12, data.dim)
    assert np.abs(ours - init).max() > 0.01  # the chain moved
    np.testing.assert_allclose(ours, hand, rtol=0, atol=1e-8)


def test_emcee_chain_is_the_same_under_jit():
    import pytest

    pytest.importorskip("emcee")
    example = load("emcee_line_fit")
    chain, _ = example.run(example.log_prob, n_steps=40)
    jit_chain, _ = example.run(example.ed.jit(example.log_prob), n_steps=40)
    assert chain.shape == (40, 32, 3) and np.ptp(chain[:, :, 0]) > 1e-3  # the walkers moved
    np.testing.assert_array_equal(jit_chain, chain)
