"""Optimal extraction from serialized e-graphs (egraph-serialize JSON, as egglog writes it).

Public API::

    from egraph_dsl import extract
    model = extract.load("graph.json")               # EGraphModel (immutable, array-backed)
    fast = extract.greedy_dag(model)                 # shared subterms counted once
    best = extract.extract(model, method="ilp", time_limit=20)   # exact, with proven bound
    best.cost, best.lower_bound, best.optimal, best.choices      # verified Extraction
    best.stop_reason, best.fallback                  # optimal / time-limit / node-limit / ...
    extract.verify(model, best)                      # recomputes and checks the DAG cost
    priced = model.with_costs(vector)                # plug in any cost model
    extract.top_k(model, 5)                          # 5 cheapest distinct extractions
"""

from .api import DEFAULT_TIME_LIMIT, METHODS, extract
from .cost import CostModel, NodeCost, OpCount, dag_cost, price, tree_cost
from .errors import (
    CostOverflowError,
    EmptyRootsWarning,
    ExtractionError,
    InvalidExtractionError,
    MalformedEGraphError,
    NoFiniteExtractionError,
)
from .extraction import STOP_REASONS, Extraction
from .greedy import greedy_dag, greedy_tree
from .ilp import ilp
from .model import EGraphModel
from .serialize_io import dumps, from_dict, load, loads, save, to_dict
from .topk import top_k
from .verify import verify

__all__ = [
    "DEFAULT_TIME_LIMIT", "METHODS", "STOP_REASONS", "CostModel", "CostOverflowError", "EGraphModel", "EmptyRootsWarning",
    "Extraction", "ExtractionError", "InvalidExtractionError", "MalformedEGraphError", "NoFiniteExtractionError",
    "NodeCost", "OpCount", "dag_cost", "dumps", "extract", "from_dict", "greedy_dag",
    "greedy_tree", "ilp", "load", "loads", "price", "save", "to_dict", "top_k", "tree_cost",
    "verify",
]
