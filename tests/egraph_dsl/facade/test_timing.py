"""interleaved_times: one list of per-call seconds per function, every call made."""

from __future__ import annotations

import pytest

from egraph_dsl.facade.timing import interleaved_times


def test_every_function_is_called_repeats_times_inner():
    calls: list[str] = []
    times = interleaved_times([lambda x: calls.append(f"a{x}"), lambda x: calls.append(f"b{x}")], (1,),
                              repeats=3, inner=2)
    assert len(times) == 2 and all(len(t) == 3 for t in times)
    assert all(s >= 0.0 for t in times for s in t)
    assert calls == ["a1", "a1", "b1", "b1"] * 3  # interleaved: a, then b, in each repeat


@pytest.mark.parametrize(("repeats", "inner"), [(0, 1), (1, 0)])
def test_no_repeat_is_a_clear_error(repeats, inner):
    with pytest.raises(ValueError, match="must both be at least 1"):
        interleaved_times([print], (), repeats=repeats, inner=inner)
