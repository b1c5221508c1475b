"""One entry point, :func:`extract`, dispatching to the extractors by method name."""

from __future__ import annotations

from .errors import ExtractionError
from .extraction import Extraction
from .greedy import greedy_dag, greedy_tree
from .ilp import ilp
from .model import EGraphModel

__all__ = ["DEFAULT_TIME_LIMIT", "METHODS", "extract"]

METHODS = ("greedy-tree", "greedy-dag", "ilp", "ilp-highs", "ilp-cpsat")
DEFAULT_TIME_LIMIT = 20.0


def extract(model: EGraphModel, method: str = "ilp", *,
            time_limit: float = DEFAULT_TIME_LIMIT, node_limit: int | None = None
            ) -> Extraction:
    """Extract with ``method`` (greedy-tree, greedy-dag, ilp = ilp-highs, ilp-cpsat).

    The ILP methods stop after ``time_limit`` seconds (``node_limit`` branch-and-bound nodes,
    HiGHS only) and return their best answer, which is never worse than greedy's;
    ``Extraction.stop_reason`` says why they stopped.
    """
    if node_limit is not None and method not in ("ilp", "ilp-highs"):
        raise ExtractionError(f"a node limit applies to the HiGHS ILP only, not to {method!r}")
    if method == "greedy-tree":
        return greedy_tree(model)
    if method == "greedy-dag":
        return greedy_dag(model)
    if method in ("ilp", "ilp-highs"):
        return ilp(model, time_limit=time_limit, backend="highs", node_limit=node_limit)
    if method == "ilp-cpsat":
        return ilp(model, time_limit=time_limit, backend="cpsat")
    raise ValueError(f"unknown extraction method {method!r}; choose one of {METHODS}")
