"""The result record of every extractor, and conversions from internal choice arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .model import EGraphModel

__all__ = ["STOP_REASONS", "Extraction", "choices_from_dict", "choices_to_dict"]

#: Why an extractor stopped: ``optimal`` (proven), ``time-limit`` / ``node-limit`` (best answer
#: when the limit hit), ``fallback`` (the exact search failed, e.g. an infeasible formulation,
#: and the answer of the extractor named in ``Extraction.fallback`` is returned), ``greedy``
#: (a heuristic, no proof attempted).
STOP_REASONS = ("optimal", "time-limit", "node-limit", "fallback", "greedy")


@dataclass(frozen=True)
class Extraction:
    """A verified extraction.

    ``choices`` maps each e-class reachable from the roots (through the chosen nodes) to its
    chosen node id. ``cost`` is the DAG cost (each distinct chosen node counted once).
    ``lower_bound`` is a proven bound on the optimal DAG cost (``None`` if unknown) and
    ``optimal`` is true only when the cost is proven optimal. ``stop_reason`` (one of
    :data:`STOP_REASONS`) says why the extractor stopped; with ``fallback`` it names the
    extractor whose answer was returned instead, and ``stop_detail`` says what failed.
    """

    choices: Mapping[str, str]
    cost: float
    lower_bound: float | None
    optimal: bool
    seconds: float
    method: str
    stats: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    stop_reason: str = "greedy"
    fallback: str | None = None
    stop_detail: str = ""

    def __post_init__(self) -> None:
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason {self.stop_reason!r} is not one of {STOP_REASONS}")

    @property
    def gap(self) -> float | None:
        """Absolute gap ``cost - lower_bound`` (``None`` without a bound)."""
        return None if self.lower_bound is None else self.cost - self.lower_bound

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON object: cost, lower_bound, optimal, stop reason, choices, seconds."""
        return {"cost": self.cost, "lower_bound": self.lower_bound, "optimal": self.optimal,
                "stop_reason": self.stop_reason, "fallback": self.fallback,
                "stop_detail": self.stop_detail, "method": self.method,
                "choices": dict(self.choices), "seconds": self.seconds}


def choices_to_dict(model: EGraphModel, choice: Sequence[int], order: Sequence[int]
                    ) -> dict[str, str]:
    """String-id choices for the classes in ``order`` (the reachable ones)."""
    cids, nids = model.class_ids, model.node_ids
    return {cids[c]: nids[choice[c]] for c in order}


def choices_from_dict(model: EGraphModel, choices: Mapping[str, str]) -> list[int]:
    """Internal choice array (node index per class, -1 unchosen) from string-id choices."""
    from .errors import InvalidExtractionError

    out = [-1] * model.num_classes
    for cid, nid in choices.items():
        cls = model.class_index.get(cid)
        if cls is None:
            raise InvalidExtractionError(f"choice names e-class {cid!r}, which is not in the graph")
        node = model.node_index.get(nid)
        if node is None:
            raise InvalidExtractionError(
                f"e-class {cid!r} is mapped to {nid!r}, which is not a node in the graph")
        out[cls] = node
    return out
