"""The result record of every extractor, and conversions from internal choice arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .model import EGraphModel

__all__ = ["Extraction", "choices_from_dict", "choices_to_dict"]


@dataclass(frozen=True)
class Extraction:
    """A verified extraction.

    ``choices`` maps each e-class reachable from the roots (through the chosen nodes) to its
    chosen node id. ``cost`` is the DAG cost (each distinct chosen node counted once).
    ``lower_bound`` is a proven bound on the optimal DAG cost (``None`` if unknown) and
    ``optimal`` is true only when the cost is proven optimal.
    """

    choices: Mapping[str, str]
    cost: float
    lower_bound: float | None
    optimal: bool
    seconds: float
    method: str
    stats: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def gap(self) -> float | None:
        """Absolute gap ``cost - lower_bound`` (``None`` without a bound)."""
        return None if self.lower_bound is None else self.cost - self.lower_bound

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON object: cost, lower_bound, optimal, choices, seconds."""
        return {"cost": self.cost, "lower_bound": self.lower_bound, "optimal": self.optimal,
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
