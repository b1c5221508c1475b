"""Read and write the egraph-serialize JSON format (egglog, extraction-gym).

Format: ``{"nodes": {id: {"op", "children": [node ids], "eclass", "cost"?, "subsumed"?}},
"root_eclasses": [class ids], "class_data"?: {class id: {...}}}``. A child names a node and
stands for that node's e-class. A missing cost defaults to 1.0, as in egraph-serialize.
Files are UTF-8 JSON, optionally gzipped (``.json.gz``, recognised by its magic number).
"""

from __future__ import annotations

import gzip
import json
import os
import warnings
import zlib
from collections.abc import Mapping
from itertools import chain
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._gcpause import paused_gc
from .errors import EmptyRootsWarning, MalformedEGraphError
from .model import EGraphModel

__all__ = ["dumps", "from_dict", "load", "loads", "save", "to_dict"]

_KNOWN_TOP = ("nodes", "root_eclasses", "class_data")


_GZIP_MAGIC = b"\x1f\x8b"


def load(source: str | os.PathLike[str] | IO[str] | IO[bytes], *, allow_negative: bool = True,
         drop_empty_roots: bool = False) -> EGraphModel:
    """Load an e-graph from a JSON file path (``.json`` or gzipped ``.json.gz``) or open file.

    A root e-class with no nodes is an error, unless ``drop_empty_roots``: then such roots
    are dropped with an :class:`EmptyRootsWarning` naming them (many lean-egg files of
    extraction-gym list one; the gym's own checker rejects those files).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            with path.open("rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise MalformedEGraphError(f"cannot read e-graph file {str(path)!r}: {exc}") from exc
        return loads(raw, allow_negative=allow_negative, name=str(path),
                     drop_empty_roots=drop_empty_roots)
    return loads(source.read(), allow_negative=allow_negative, drop_empty_roots=drop_empty_roots)


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 text of ``raw``, gunzipped first when it starts with the gzip magic number."""
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise MalformedEGraphError(f"{name} looks gzipped but cannot be unpacked: {exc}"
                                       ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedEGraphError(
            f"{name} is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "an e-graph file must be UTF-8 JSON (optionally gzipped): re-encode it as UTF-8"
        ) from None


def loads(text: str | bytes, *, allow_negative: bool = True, name: str = "<string>",
          drop_empty_roots: bool = False) -> EGraphModel:
    """Load an e-graph from JSON text (``bytes`` must be UTF-8, optionally gzipped)."""
    if isinstance(text, (bytes, bytearray)):
        text = _decode(bytes(text), name)
    with paused_gc():  # millions of acyclic containers: full collections only cost time
        return _parse_and_build(text, allow_negative, name, drop_empty_roots)


def _parse_and_build(text: str, allow_negative: bool, name: str, drop_empty_roots: bool
                     ) -> EGraphModel:
    doc = _typed_parse(text)
    if doc is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EmptyRootsWarning)
            try:
                model = _from_dict(doc, allow_negative, drop_empty_roots)
            except MalformedEGraphError:
                model = None  # the standard path below names what is wrong, as it always has
        if model is not None:
            for warning in caught:
                warnings.warn(warning.message, stacklevel=4)
            return model
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedEGraphError(f"{name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedEGraphError(
            f"{name} nests JSON arrays/objects too deeply to parse; an egraph-serialize "
            "document needs only 4 levels") from None
    try:
        return from_dict(data, allow_negative=allow_negative, drop_empty_roots=drop_empty_roots)
    except MalformedEGraphError as exc:
        if name == "<string>":
            raise
        raise MalformedEGraphError(f"{name}: {exc}") from None


def _show(value: Any) -> str:
    """A value as JSON spells it (``null``, ``"false"``), for error messages."""
    try:
        return json.dumps(value)[:60]
    except (TypeError, ValueError):
        return repr(value)[:60]


def _few(ids: list[str], shown: int = 5) -> str:
    """``'a', 'b', ... (n in all)`` for messages."""
    text = ", ".join(repr(i) for i in ids[:shown])
    return text + (f", ... ({len(ids)} in all)" if len(ids) > shown else "")


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


try:
    import msgspec
except ImportError:  # the standard library's json does it all, slower
    msgspec = None  # type: ignore[assignment]

_Node: Any = None
if msgspec is not None:
    class _Node(msgspec.Struct, gc=False):  # type: ignore[no-redef]
        """One node as the typed decoder reads it (no per-node dict; not tracked by gc)."""

        op: str
        eclass: str | int
        children: list[str] = []
        cost: float = 1.0
        subsumed: bool = False

    _TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
    _NODES = msgspec.json.Decoder(dict[str, _Node])
    _ANY = msgspec.json.Decoder()


def _typed_parse(text: str) -> dict[str, Any] | None:
    """The document with its nodes as :class:`_Node` structs, by msgspec (10^5 nodes: about
    3x faster than ``json.loads`` and no dict per node); ``None`` without msgspec or for
    anything its strict types reject (NaN literals, numeric strings, missing fields, ...):
    then the standard path parses it and names the problem."""
    if msgspec is None:
        return None
    try:
        parts = _TOP.decode(text)
        raw_nodes = parts.get("nodes")
        if raw_nodes is None:
            return None
        doc = {key: _ANY.decode(raw) for key, raw in parts.items() if key != "nodes"}
        doc["nodes"] = _NODES.decode(raw_nodes)
    except (msgspec.DecodeError, RecursionError):
        return None
    return doc


class _SlowPathError(Exception):
    """The fast columnar reader met something unusual; redo with per-node checks."""


def _columns_fast(node_ids: list[str], values: list[Any]) -> dict[str, Any]:
    """Columnar read of well-formed nodes with C-level loops (no per-node Python objects kept).

    Raises :class:`_SlowPathError` on anything unusual, so that :func:`_columns_checked` can name
    the offending node.
    """
    n = len(values)
    if n and set(map(type, values)) != {dict}:
        raise _SlowPathError
    try:
        eclasses = [v["eclass"] for v in values]
    except KeyError:
        raise _SlowPathError from None
    if n and set(map(type, eclasses)) != {str}:
        if not set(map(type, eclasses)) <= {str, int}:
            raise _SlowPathError
        eclasses = list(map(str, eclasses))
    try:
        ops = [v["op"] for v in values]
    except KeyError:
        raise _SlowPathError from None
    if n and set(map(type, ops)) != {str}:
        raise _SlowPathError
    raw_costs = [v.get("cost", 1.0) for v in values]
    if n and not set(map(type, raw_costs)) <= {float, int}:
        raise _SlowPathError
    subsumed_raw = [v.get("subsumed", False) for v in values]
    if n and not set(map(type, subsumed_raw)) <= {bool}:
        raise _SlowPathError
    kids = [v.get("children", ()) for v in values]
    if n and not set(map(type, kids)) <= {list, tuple}:
        raise _SlowPathError
    return _assemble(node_ids, eclasses, ops, raw_costs, subsumed_raw, kids)


def _columns_structs(node_ids: list[str], values: list[Any]) -> dict[str, Any]:
    """:func:`_columns_fast` for nodes msgspec decoded into typed :class:`_Node` structs."""
    eclasses = [v.eclass for v in values]
    if values and set(map(type, eclasses)) != {str}:
        eclasses = list(map(str, eclasses))
    return _assemble(node_ids, eclasses, [v.op for v in values], [v.cost for v in values],
                     [v.subsumed for v in values], [v.children for v in values])


def _assemble(node_ids: list[str], eclasses: list[str], ops: list[str], raw_costs: list[Any],
              subsumed_raw: list[bool], kids: list[Any]) -> dict[str, Any]:
    """Arrays from per-node columns (raises :class:`_SlowPathError` on an unknown child)."""
    n = len(node_ids)
    index = dict(zip(node_ids, range(n), strict=True))
    try:
        child_nodes = np.fromiter(map(index.__getitem__, chain.from_iterable(kids)),
                                  dtype=np.int64)
    except (KeyError, TypeError):
        raise _SlowPathError from None
    child_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, kids), dtype=np.int64, count=n), out=child_ptr[1:])
    class_ids = list(dict.fromkeys(eclasses))
    class_index = dict(zip(class_ids, range(len(class_ids)), strict=True))
    node_class = np.fromiter(map(class_index.__getitem__, eclasses), dtype=np.int64, count=n)
    costs = np.array(raw_costs, dtype=np.float64) if n else np.zeros(0, np.float64)
    if any(subsumed_raw):
        subsumed = np.fromiter(map(bool, subsumed_raw), dtype=np.bool_, count=n)
    else:
        subsumed = np.zeros(n, dtype=np.bool_)
    return {"ops": ops, "node_class": node_class, "costs": costs, "subsumed": subsumed,
            "child_csr": (child_ptr, child_nodes), "class_ids": class_ids,
            "class_index": class_index}


def _columns_checked(node_ids: list[str], nodes: Mapping[str, Any]) -> dict[str, Any]:
    """Per-node read with a precise error for the first malformed node."""
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
        if isinstance(eclass, bool) or not isinstance(eclass, (str, int)):
            raise MalformedEGraphError(
                f"node {nid!r} has 'eclass' {_show(eclass)}; an e-class id must be a string")
        eclass = str(eclass)
        cls = class_index.get(eclass)
        if cls is None:
            cls = class_index[eclass] = len(class_ids)
            class_ids.append(eclass)
        node_class.append(cls)
        op = node.get("op")
        if not isinstance(op, str):
            what = "no 'op'" if op is None else f"'op' {_show(op)}, which is not a string"
            raise MalformedEGraphError(
                f"node {nid!r} has {what}; every node needs its operator name as a string")
        ops.append(op)
        cost = node.get("cost", 1.0)
        costs.append(cost if type(cost) is float else _cost(nid, cost))
        flag = node.get("subsumed", False)
        if not isinstance(flag, bool):
            raise MalformedEGraphError(
                f"node {nid!r} has 'subsumed' {_show(flag)}; it must be JSON true or false")
        subsumed.append(flag)
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
    lengths = [len(k) for k in children]
    child_ptr = np.zeros(len(children) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=child_ptr[1:])
    child_nodes = np.asarray([k for kids in children for k in kids], dtype=np.int64)
    return {"ops": ops, "node_class": np.asarray(node_class, dtype=np.int64),
            "costs": np.asarray(costs, dtype=np.float64),
            "subsumed": np.asarray(subsumed, dtype=np.bool_),
            "child_csr": (child_ptr, child_nodes), "class_ids": class_ids,
            "class_index": class_index}


def from_dict(data: Mapping[str, Any], *, allow_negative: bool = True,
              drop_empty_roots: bool = False) -> EGraphModel:
    """Build a model from the parsed JSON object (see module docstring for the format;
    ``drop_empty_roots`` as in :func:`load`)."""
    with paused_gc():
        return _from_dict(data, allow_negative, drop_empty_roots)


def _from_dict(data: Mapping[str, Any], allow_negative: bool, drop_empty_roots: bool = False
               ) -> EGraphModel:
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), Mapping):
        raise MalformedEGraphError(
            "an egraph-serialize document is an object with a 'nodes' object; none found")
    nodes: Mapping[str, Any] = data["nodes"]
    node_ids = list(nodes.keys())
    if set(map(type, node_ids)) - {str}:
        node_ids = list(map(str, node_ids))
    values = list(nodes.values())
    try:
        if _Node is not None and values and type(values[0]) is _Node:
            cols = _columns_structs(node_ids, values)
        else:
            cols = _columns_fast(node_ids, values)
    except _SlowPathError:
        cols = _columns_checked(node_ids, nodes)
    class_index: dict[str, int] = cols["class_index"]
    roots_raw = data.get("root_eclasses", [])
    if not isinstance(roots_raw, list):
        raise MalformedEGraphError("'root_eclasses' must be a list of e-class ids")
    roots: list[int] = []
    dropped: list[str] = []
    for root in roots_raw:
        if isinstance(root, bool) or not isinstance(root, (str, int)):
            raise MalformedEGraphError(
                f"'root_eclasses' holds {_show(root)}; an e-class id must be a string")
        cls = class_index.get(str(root))
        if cls is None:
            if drop_empty_roots:
                dropped.append(str(root))
                continue
            raise MalformedEGraphError(
                f"root e-class {root!r} has no nodes in the file; list only e-classes "
                "that contain at least one node in 'root_eclasses' (or drop such roots: "
                "drop_empty_roots=True, extract --drop-empty-roots)")
        roots.append(cls)
    if dropped:
        if not roots:
            raise MalformedEGraphError(
                f"no root e-class has nodes in the file (dropped {_few(dropped)}); "
                "list e-classes that contain at least one node in 'root_eclasses'")
        warnings.warn(EmptyRootsWarning(
            f"dropped {len(dropped)} root e-class(es) with no nodes in the file: "
            f"{_few(dropped)}; the extraction covers the other {len(roots)} root(s)"),
            stacklevel=4)
    if not roots:
        raise MalformedEGraphError("the e-graph has no root e-classes; set 'root_eclasses'")
    costs = cols["costs"]
    nan = np.flatnonzero(np.isnan(costs))
    if len(nan):
        raise MalformedEGraphError(
            f"node {node_ids[int(nan[0])]!r} has a NaN cost; give it a number "
            "(use a large finite cost or 'inf' to forbid it)")
    class_data = data.get("class_data")
    if class_data is None:
        class_data = {}
    elif not isinstance(class_data, Mapping):
        raise MalformedEGraphError(
            f"'class_data' is a {type(class_data).__name__}; it must be an object "
            "mapping e-class ids to their data")
    extra = {k: v for k, v in data.items() if k not in _KNOWN_TOP}
    return EGraphModel.build(
        node_ids=node_ids, ops=cols["ops"], node_class=cols["node_class"], costs=costs,
        children=None, child_csr=cols["child_csr"], class_ids=cols["class_ids"], roots=roots,
        subsumed=cols["subsumed"], class_data=class_data, extra=extra,
        allow_negative=allow_negative)


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
