"""What a saturation run did: per-rule matches, e-graph growth, time and the stop reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from .limits import StopReason


@dataclass(frozen=True)
class RunReport:
    ruleset: str
    stop_reason: StopReason
    iterations: int
    seconds: float
    nodes_before: int
    nodes_after: int
    matches: dict[str, int] = field(default_factory=dict)  # rule name -> matches found
    size_per_iteration: tuple[int, ...] = ()
    note: str = ""  # why the run stopped, when the stop reason alone does not say (time kept for extraction)

    @property
    def fired(self) -> dict[str, int]:
        return {k: v for k, v in self.matches.items() if v}

    def __str__(self) -> str:
        lines = [f"ran {self.ruleset}: {self.iterations} iteration(s), {self.seconds * 1e3:.1f} ms, "
                 f"{self.nodes_before} -> {self.nodes_after} e-nodes, stopped: {self.stop_reason.value}"
                 + (f" ({self.note})" if self.note else "")]
        for name, n in sorted(self.fired.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {n:6d}  {name}")
        return "\n".join(lines)
