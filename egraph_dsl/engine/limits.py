"""Saturation limits, the time budget of a whole optimization, and why a run stopped."""

from __future__ import annotations

import math
import numbers
import os
import time
from dataclasses import dataclass
from enum import Enum

from ..errors import LimitsError


class StopReason(Enum):
    SATURATED = "saturated"
    NODE_LIMIT = "node limit"
    ITERATION_LIMIT = "iteration limit"
    TIME_LIMIT = "time limit"


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one optimization; every one of them is enforced.

    ``nodes`` and ``iterations`` bound saturation; ``seconds`` is a deadline for the whole
    optimization (saturate, serialize and extract) when ``optimize`` or ``jit`` runs it, and for
    saturation alone in ``Session.apply``. Counts take any whole number (``100``, ``np.int64(100)``,
    ``100.0``), seconds any positive finite real.
    """

    nodes: int = 10_000
    iterations: int = 30
    seconds: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", _count("nodes", self.nodes, "e.g. nodes=10_000"))
        object.__setattr__(self, "iterations", _count("iterations", self.iterations, "e.g. iterations=30"))
        object.__setattr__(self, "seconds", _seconds(self.seconds))

    @staticmethod
    def of(spec: Limits | dict[str, float] | None) -> Limits:
        if spec is None:
            return Limits()
        if isinstance(spec, Limits):
            return spec
        if isinstance(spec, dict):
            unknown = set(spec) - {"nodes", "iterations", "seconds"}
            if unknown:
                raise LimitsError(f"unknown limit(s) {sorted(map(str, unknown))}; use nodes, iterations, seconds")
            return Limits(**spec)  # type: ignore[arg-type]
        raise LimitsError(f"limits must be a Limits or a dict, got {type(spec).__name__}")


def _real(name: str, value: object, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LimitsError(f"limits.{name} must be a number ({example}), got {value!r} of type {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise LimitsError(f"limits.{name} must be finite ({example}), got {value!r}")
    if not number > 0:
        raise LimitsError(f"limits.{name} must be > 0 ({example}), got {value!r}; saturation needs room to run")
    return number


def _count(name: str, value: object, example: str) -> int:
    number = _real(name, value, example)
    if number != math.floor(number):
        raise LimitsError(f"limits.{name} must be a whole number ({example}), got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else int(number)


def _seconds(value: object) -> float:
    return _real("seconds", value, "e.g. seconds=2.5")


def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the forked trial runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass(frozen=True)
class Budget:
    """The deadline of one optimization and the time that must still be left when saturation stops.

    Serialization and extraction cannot be interrupted, and their cost grows with the e-graph:
    serializing with the rows egglog holds (op e-nodes, analysis facts, handles), extracting with
    the op e-nodes. Costs are given in CPU seconds and scaled by how much slower than CPU time the
    wall clock has run so far (other processes on the machine), then saturation keeps
    ``reserve(...)`` seconds for them, which also caps the e-graph size.
    """

    deadline: float  # a time.perf_counter() value
    seconds_per_row: float = 0.0  # serializing, per egglog row
    seconds_per_node: float = 0.0  # extracting, per op e-node
    fixed_seconds: float = 0.0  # both, at any size
    started: tuple[float, float] = (0.0, 0.0)  # (perf_counter, cpu_seconds) at the start

    @staticmethod
    def starting_now(seconds: float, seconds_per_row: float = 0.0, seconds_per_node: float = 0.0,
                     fixed_seconds: float = 0.0) -> Budget:
        now = time.perf_counter()
        return Budget(now + seconds, seconds_per_row, seconds_per_node, fixed_seconds, (now, cpu_seconds()))

    @property
    def reserves(self) -> bool:
        return bool(self.seconds_per_row or self.seconds_per_node or self.fixed_seconds)

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def slowdown(self) -> float:
        """Wall-clock seconds per CPU second since the start (1 on an idle machine, at most 8)."""
        wall = time.perf_counter() - self.started[0]
        if wall < 0.05 or not self.started[1]:
            return 1.0
        return min(8.0, max(1.0, wall / max(cpu_seconds() - self.started[1], 1e-6)))

    def per_node(self, rows_per_node: float = 1.0) -> float:
        """Wall-clock seconds that serializing and extracting take per op e-node, now."""
        return (self.seconds_per_node + self.seconds_per_row * rows_per_node) * self.slowdown()

    def reserve(self, nodes: int, rows_per_node: float = 1.0) -> float:
        """Seconds to keep for serializing and extracting an e-graph of ``nodes`` op e-nodes."""
        if not self.reserves:
            return 0.0
        return self.fixed_seconds + nodes * self.per_node(rows_per_node)

    def spendable(self, nodes: int, rows_per_node: float = 1.0) -> float:
        """Seconds saturation may still use at this e-graph size."""
        return self.remaining() - self.reserve(nodes, rows_per_node)

    def node_cap(self, node_limit: int, rows_per_node: float = 1.0) -> int:
        """The most op e-nodes the time left can still serialize and extract (at most ``node_limit``)."""
        if not self.reserves:
            return node_limit
        room = (self.remaining() - self.fixed_seconds) / self.per_node(rows_per_node)
        return max(0, min(node_limit, int(room)))
