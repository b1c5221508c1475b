"""Read and write the egraph-serialize JSON format (egglog, extraction-gym).

Format: ``{"nodes": {id: {"op", "children": [node ids], "eclass", "cost"?, "subsumed"?}},
"root_eclasses": [class ids], "class_data"?: {class id: {...}}}``. A child names a node and
stands for that node's e-class. A missing cost defaults to 1.0, as in egraph-serialize.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import MalformedEGraphError
from .model import EGraphModel

__all__ = ["dumps", "from_dict", "load", "loads", "save", "to_dict"]

_KNOWN_TOP = ("nodes", "root_eclasses", "class_data")


def load(source: str | os.PathLike[str] | IO[str], *, allow_negative: bool = True
         ) -> EGraphModel:
    """Load an e-graph from a JSON file path or an open text file."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            with path.open("rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise MalformedEGraphError(f"cannot read e-graph file {str(path)!r}: {exc}") from exc
        return loads(raw, allow_negative=allow_negative, name=str(path))
    return loads(source.read(), allow_negative=allow_negative)


def loads(text: str | bytes, *, allow_negative: bool = True, name: str = "<string>"
          ) -> EGraphModel:
    """Load an e-graph from JSON text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedEGraphError(f"{name} is not valid JSON: {exc}") from exc
    return from_dict(data, allow_negative=allow_negative)


def _cost(node_id: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise MalformedEGraphError(
            f"node {node_id!r} has cost {value!r}, which is not a number; give a numeric cost")
    return float(value)


def from_dict(data: Mapping[str, Any], *, allow_negative: bool = True) -> EGraphModel:
    """Build a model from the parsed JSON object (see module docstring for the format)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), Mapping):
        raise MalformedEGraphError(
            "an egraph-serialize document is an object with a 'nodes' object; none found")
    nodes: Mapping[str, Any] = data["nodes"]
    node_ids = list(nodes.keys())
    index = {nid: i for i, nid in enumerate(node_ids)}
    class_index: dict[str, int] = {}
    class_ids: list[str] = []
    ops: list[str] = []
    node_class: list[int] = []
    costs: list[float] = []
    subsumed: list[bool] = []
    children: list[list[int]] = []
    for nid, node in nodes.items():
        if not isinstance(node, Mapping):
            raise MalformedEGraphError(f"node {nid!r} is not an object")
        try:
            eclass = node["eclass"]
        except KeyError:
            raise MalformedEGraphError(
                f"node {nid!r} has no 'eclass'; every node must name its e-class") from None
        eclass = str(eclass)
        cls = class_index.get(eclass)
        if cls is None:
            cls = class_index[eclass] = len(class_ids)
            class_ids.append(eclass)
        node_class.append(cls)
        ops.append(str(node.get("op", "")))
        cost = node.get("cost", 1.0)
        costs.append(cost if type(cost) is float else _cost(nid, cost))
        subsumed.append(bool(node.get("subsumed", False)))
        kids = node.get("children", ())
        try:
            children.append([index[k] for k in kids])
        except KeyError:
            missing = next(k for k in kids if k not in index)
            raise MalformedEGraphError(
                f"node {nid!r} has child {missing!r}, which is not a node in the file; "
                "children must be node ids (each stands for that node's e-class)") from None
        except TypeError:
            raise MalformedEGraphError(f"node {nid!r} has non-list 'children' {kids!r}") from None
    roots_raw = data.get("root_eclasses", [])
    if not isinstance(roots_raw, list):
        raise MalformedEGraphError("'root_eclasses' must be a list of e-class ids")
    roots: list[int] = []
    for root in roots_raw:
        cls = class_index.get(str(root))
        if cls is None:
            raise MalformedEGraphError(
                f"root e-class {root!r} has no nodes in the file; list only e-classes "
                "that contain at least one node in 'root_eclasses'")
        roots.append(cls)
    if not roots:
        raise MalformedEGraphError("the e-graph has no root e-classes; set 'root_eclasses'")
    for nid, cost in zip(node_ids, costs):
        if math.isnan(cost):
            raise MalformedEGraphError(
                f"node {nid!r} has a NaN cost; give it a number "
                "(use a large finite cost or 'inf' to forbid it)")
    class_data = data.get("class_data") or {}
    extra = {k: v for k, v in data.items() if k not in _KNOWN_TOP}
    return EGraphModel.build(
        node_ids=node_ids, ops=ops, node_class=np.asarray(node_class, dtype=np.int64),
        costs=np.asarray(costs, dtype=np.float64), children=children, class_ids=class_ids,
        roots=roots, subsumed=np.asarray(subsumed, dtype=np.bool_),
        class_data=class_data, extra=extra, allow_negative=allow_negative)


def to_dict(model: EGraphModel) -> dict[str, Any]:
    """The egraph-serialize JSON object for ``model`` (inverse of :func:`from_dict`)."""
    ids = model.node_ids
    flat = model.child_nodes.tolist()
    ptr = model.child_ptr.tolist()
    costs = model.cost_list
    nodes: dict[str, Any] = {}
    for i, nid in enumerate(ids):
        entry: dict[str, Any] = {
            "op": model.ops[i],
            "children": [ids[k] for k in flat[ptr[i]:ptr[i + 1]]],
            "eclass": model.class_ids[model.class_list[i]],
            "cost": costs[i],
        }
        if model.subsumed[i]:
            entry["subsumed"] = True
        nodes[nid] = entry
    out: dict[str, Any] = {"nodes": nodes,
                           "root_eclasses": [model.class_ids[r] for r in model.roots.tolist()]}
    if model.class_data:
        out["class_data"] = dict(model.class_data)
    out.update(model.extra)
    return out


def dumps(model: EGraphModel, indent: int | None = None) -> str:
    """Serialize ``model`` as egraph-serialize JSON text."""
    return json.dumps(to_dict(model), indent=indent)


def save(model: EGraphModel, target: str | os.PathLike[str] | IO[str],
         indent: int | None = None) -> None:
    """Write ``model`` as egraph-serialize JSON to a path or an open text file."""
    text = dumps(model, indent=indent)
    if isinstance(target, (str, os.PathLike)):
        Path(target).write_text(text)
    else:
        target.write(text)
