"""Saturation limits and why a run stopped: saturation always ends."""

from __future__ import annotations

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
    """Upper bounds for one saturation run; every one of them is enforced."""

    nodes: int = 10_000
    iterations: int = 30
    seconds: float = 2.0

    def __post_init__(self) -> None:
        for name, value, kind in (("nodes", self.nodes, int), ("iterations", self.iterations, int),
                                  ("seconds", self.seconds, (int, float))):
            if isinstance(value, bool) or not isinstance(value, kind):
                raise LimitsError(f"limits.{name} must be a positive number, got {value!r}")
            if not value > 0:
                raise LimitsError(f"limits.{name} must be > 0, got {value!r}; saturation needs room to run")

    @staticmethod
    def of(spec: Limits | dict[str, float] | None) -> Limits:
        if spec is None:
            return Limits()
        if isinstance(spec, Limits):
            return spec
        if isinstance(spec, dict):
            unknown = set(spec) - {"nodes", "iterations", "seconds"}
            if unknown:
                raise LimitsError(f"unknown limit(s) {sorted(unknown)}; use nodes, iterations, seconds")
            return Limits(**spec)  # type: ignore[arg-type]
        raise LimitsError(f"limits must be a Limits or a dict, got {type(spec).__name__}")
