"""The examples run as tests, so they never rot."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
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
