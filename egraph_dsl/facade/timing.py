"""Timing of competing implementations side by side, for the demo's tables."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def interleaved_times(fns: list[Callable[..., Any]], args: tuple[Any, ...], repeats: int = 9,
                      inner: int = 20) -> list[list[float]]:
    """Seconds per call of each function, repeats interleaved so machine noise hits all alike."""
    if repeats < 1 or inner < 1:
        raise ValueError(f"interleaved_times: repeats={repeats} and inner={inner} must both be at least 1")
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn(*args)
            out.append((time.perf_counter() - t0) / inner)
    return times
