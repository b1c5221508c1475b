"""Fusion grouping (backends.fusion): regions, written outputs, validity, reductions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: reach the helpers
from cupy_helpers import pattern_plan
from egraph_dsl.backends.cupy_backend import assign_buffers
from egraph_dsl.backends.fusion import FusedGroup, Layout, fuse

from egraph_dsl.plan import Plan


def _plan(fn: Any, *args: Any) -> Plan:
    return pattern_plan(fn, args, getattr(fn, "__name__", "f"))


def test_a_chain_is_one_kernel_writing_only_the_result() -> None:
    plan = _plan(lambda x: np.tanh(np.exp(-np.abs(x)) * 2.0 + 1.0) - x, np.ones(8))
    schedule = fuse(plan)
    assert len(schedule.steps) == 1
    (group,) = schedule.groups
    assert len(group.members) == len(plan.instructions)
    assert group.outputs == plan.outputs
    assert [i.layout for i in group.inputs] == [Layout.FLAT]


def test_values_used_outside_the_group_are_written() -> None:
    def f(x: Any) -> Any:
        a = np.exp(x)
        return a, a * a + 1.0
    plan = _plan(f, np.ones(8))
    (group,) = fuse(plan).groups
    assert set(group.outputs) == set(plan.outputs)


def test_a_group_never_grows_past_an_outside_consumer() -> None:
    def f(x: Any) -> Any:
        a = np.exp(x)
        return a * (a @ x)  # the matmul needs a before the product can run
    plan = _plan(f, np.ones((4, 4)))
    steps = fuse(plan).steps
    assert [type(s).__name__ for s in steps] == ["FusedGroup", "int", "FusedGroup"]
    first = steps[0]
    assert isinstance(first, FusedGroup)
    assert first.outputs == (plan.instructions[first.members[0]].output,)


def test_a_reduction_closes_its_producer_group() -> None:
    def f(x: Any, y: Any) -> Any:
        return np.sum(y * x - np.logaddexp(0.0, x))
    plan = _plan(f, np.ones(100), np.ones(100))
    (group,) = fuse(plan).groups
    assert group.reduction is not None and group.reduction.op == "sum"
    assert (group.reduction.outer, group.reduction.reduced, group.reduction.inner) == (1, 100, 1)
    assert group.outputs == ()


def test_axis_reduction_geometry_and_extra_output() -> None:
    def f(a: Any) -> Any:
        e = np.exp(a)
        return e, np.sum(e, axis=1)
    plan = _plan(f, np.ones((3, 4, 5)))
    (group,) = fuse(plan).groups
    assert group.reduction is not None
    assert (group.reduction.outer, group.reduction.reduced, group.reduction.inner) == (3, 4, 5)
    assert len(group.outputs) == 1  # e is returned, so the reduction kernel also writes it


def test_broadcast_operands_are_read_through_strides() -> None:
    plan = _plan(lambda x, a: a * np.exp(x), np.ones(6), np.ones((4, 6)))
    groups = fuse(plan).groups
    big = next(g for g in groups if g.shape == (4, 6))
    assert Layout.STRIDED in {i.layout for i in big.inputs}


def test_buffers_are_reused_only_after_every_alias_died() -> None:
    def f(x: Any) -> Any:
        a = np.exp(x) * 2.0
        b = np.log(x) * 3.0   # a is still live: must not share a's block
        c = np.sqrt(a + b) + 1.0
        d = np.abs(c) - 1.0   # a and b are dead now: blocks can be recycled
        return d @ x
    plan = _plan(f, np.ones((5, 5)))
    schedule = fuse(plan)
    blocks = assign_buffers(schedule)
    assert len(set(blocks.values())) <= len(blocks)
    for group in schedule.groups:  # a kernel never writes a block it also reads
        written = {blocks[s] for s in group.outputs}
        read = {blocks.get(i.slot) for i in group.inputs}
        assert not written & read
