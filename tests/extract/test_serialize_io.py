from __future__ import annotations

import io
import json
from typing import Any

import pytest
from egraph_dsl.extract import (
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
