from __future__ import annotations

import io
import json
from typing import Any

import pytest
from egraph_dsl.extract import (
    EGraphModel,
    MalformedEGraphError,
    dumps,
    from_dict,
    greedy_dag,
    load,
    loads,
    save,
    to_dict,
)
from extract_helpers import DATA


def doc(**nodes: Any) -> dict[str, Any]:
    return {"nodes": nodes, "root_eclasses": ["r"]}


def test_round_trip_preserves_everything(tmp_path: Any) -> None:
    source = DATA / "eggcc-bril__branch_duplicate_work.bril.json"
    model = load(source)
    target = tmp_path / "out.json"
    save(model, target)
    again = load(target)
    assert again.node_ids == model.node_ids
    assert again.costs.tolist() == model.costs.tolist()
    assert again.child_nodes.tolist() == model.child_nodes.tolist()
    assert dict(again.class_data) == json.loads(source.read_text())["class_data"]
    assert to_dict(again) == to_dict(model)


def test_primitive_leaves_and_defaults() -> None:
    m = from_dict({"nodes": {
        "f64-0": {"op": "1.0", "children": [], "eclass": "f64-0", "cost": 0.0},
        "n": {"op": "Num", "children": ["f64-0"], "eclass": "r"},
        "s": {"op": "Old", "children": [], "eclass": "r", "subsumed": True}},
        "root_eclasses": ["r"], "comment": "kept"})
    assert m.costs[m.node_index["n"]] == 1.0  # egraph-serialize's default
    assert bool(m.subsumed[m.node_index["s"]])
    assert greedy_dag(m).choices == {"r": "n", "f64-0": "f64-0"}
    assert to_dict(m)["comment"] == "kept"
    assert to_dict(m)["nodes"]["s"]["subsumed"] is True


def test_file_objects() -> None:
    text = json.dumps(doc(a={"op": "x", "children": [], "eclass": "r", "cost": 2}))
    model = load(io.StringIO(text))
    out = io.StringIO()
    save(model, out)
    assert loads(out.getvalue()).costs.tolist() == [2.0]
    assert json.loads(dumps(model))["root_eclasses"] == ["r"]


@pytest.mark.parametrize(("document", "message"), [
    (doc(a={"op": "f", "children": ["ghost"], "eclass": "r"}), r"'a'.*'ghost'.*not a node"),
    (doc(a={"op": "f", "children": []}), r"'a' has no 'eclass'"),
    (doc(a={"op": "f", "children": [], "eclass": "r", "cost": float("nan")}), r"'a'.*NaN"),
    (doc(a={"op": "f", "children": [], "eclass": "r", "cost": "cheap"}), r"'a'.*not a number"),
    ({"nodes": {"a": {"op": "f", "children": [], "eclass": "x"}}, "root_eclasses": ["r"]},
     r"root e-class 'r' has no nodes"),
    ({"nodes": {"a": {"op": "f", "children": [], "eclass": "x"}}}, "no root e-classes"),
    ({"graph": {}}, "'nodes' object"),
])
def test_malformed_input_is_named(document: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedEGraphError, match=message):
        from_dict(document)


def test_negative_costs_can_be_disallowed() -> None:
    document = doc(a={"op": "f", "children": [], "eclass": "r", "cost": -1})
    assert from_dict(document).costs.tolist() == [-1.0]
    with pytest.raises(MalformedEGraphError, match=r"'a' has negative cost.*allow_negative"):
        from_dict(document, allow_negative=False)


def test_invalid_json_text() -> None:
    with pytest.raises(MalformedEGraphError, match="not valid JSON"):
        loads("{nope")


def test_missing_file_is_a_clear_error() -> None:
    with pytest.raises(MalformedEGraphError, match="cannot read"):
        load("/nonexistent/graph.json")


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.name[:20])
def test_sample_files_load(path: Any) -> None:
    model = load(path)
    raw = json.loads(path.read_text())
    assert model.num_nodes == len(raw["nodes"])
    assert [model.class_ids[r] for r in model.roots] == [str(r) for r in raw["root_eclasses"]]


def _same(a: EGraphModel, b: EGraphModel) -> None:
    import numpy as np

    assert a.node_ids == b.node_ids and a.ops == b.ops and a.class_ids == b.class_ids
    for name in ("node_class", "costs", "subsumed", "child_ptr", "child_nodes", "class_ptr",
                 "class_nodes", "roots"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert dict(a.class_data) == dict(b.class_data) and dict(a.extra) == dict(b.extra)


_MIXED = {
    "nodes": {"n0": {"op": "x", "eclass": 7, "cost": 3},  # an integer e-class id and cost
              "n1": {"op": "f", "children": ["n0", "n0"], "eclass": "c", "cost": 1.5,
                     "subsumed": False},
              "n2": {"op": "g", "children": ["n1"], "eclass": "c", "subsumed": True},
              "n3": {"op": "h", "children": ["n1", "n0"], "eclass": "r", "cost": 1e300}},
    "root_eclasses": ["r"], "class_data": {"c": {"type": "Math"}}, "version": [1, {"a": None}]}


@pytest.mark.parametrize("document", [_MIXED, {"nodes": {}, "root_eclasses": []}])
def test_msgspec_and_the_standard_library_build_the_same_model(
        document: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # the typed msgspec decoder is the fast path; json.loads the fallback (no msgspec, or
    # anything msgspec's strict types reject): both must give the same model or error
    import sys

    module = sys.modules["egraph_dsl.extract.serialize_io"]
    pytest.importorskip("msgspec")
    text = json.dumps(document)
    assert module._typed_parse(text) is not None
    try:
        fast: EGraphModel | Exception = loads(text)
    except MalformedEGraphError as exc:
        fast = exc
    monkeypatch.setattr(module, "msgspec", None)
    assert module._typed_parse(text) is None
    try:
        slow: EGraphModel | Exception = loads(text)
    except MalformedEGraphError as exc:
        slow = exc
    if isinstance(fast, Exception) or isinstance(slow, Exception):
        assert str(fast) == str(slow)
    else:
        _same(fast, slow)


def test_what_msgspec_rejects_falls_back_to_the_standard_library() -> None:
    import sys

    module = sys.modules["egraph_dsl.extract.serialize_io"]
    for node in ({"op": "a", "eclass": "1", "cost": "2.5"},  # a numeric string
                 {"op": "a", "eclass": "1", "cost": float("inf")}):  # the Infinity literal
        text = json.dumps({"nodes": {"n": node}, "root_eclasses": ["1"]})
        assert module._typed_parse(text) is None
        assert loads(text).costs[0] == float(node["cost"])
