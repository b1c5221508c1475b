"""The GPU cost model (backends.cupy_cost): launches, bandwidth and nearly free fused ops."""

from __future__ import annotations

import pytest
from egraph_dsl.backends.cupy_cost import H200, gpu_node_cost

from egraph_dsl import ops

N = (1_000_000,)


def test_every_op_has_a_finite_non_negative_price() -> None:
    for name, spec in ops.OPS.items():
        if spec.kind is ops.Kind.LEAF:
            assert gpu_node_cost(name, (), None, None) == 0.0
            continue
        shapes: tuple[tuple[int, ...], ...] = ((64, 64),) * spec.arity
        out = (64,) if spec.kind is ops.Kind.REDUCTION else () if name == "trace" else (64, 64)
        cost = gpu_node_cost(name, shapes, out, "float64")
        assert 0.0 <= cost < 1.0, name


def test_a_fused_elementwise_op_costs_far_less_than_a_launch() -> None:
    assert gpu_node_cost("exp", (N,), N, "float64") < 0.2 * H200.launch
    assert gpu_node_cost("add", (N, N), N, "float64") < gpu_node_cost("logsumexp", (N,), (), "float64")


def test_unfused_ops_pay_launch_and_bandwidth() -> None:
    big = (4_000_000, 16)
    cost = gpu_node_cost("matmul", (big, (16,)), (big[0],), "float64")
    bytes_moved = (big[0] * 16 + 16 + big[0]) * 8
    assert cost == pytest.approx(H200.launch + bytes_moved / H200.bandwidth, rel=1e-6)
    assert gpu_node_cost("diagonal", ((8, 8),), (8,), "float64") >= H200.launch


def test_views_are_nearly_free_and_float32_moves_half_the_bytes() -> None:
    assert gpu_node_cost("transpose", ((1000, 1000),), (1000, 1000), "float64") < 1e-8
    f64 = gpu_node_cost("sum", (N,), (), "float64") - H200.launch
    f32 = gpu_node_cost("sum", (N,), (), "float32") - H200.launch
    assert f32 == pytest.approx(f64 / 2, rel=0.05)
