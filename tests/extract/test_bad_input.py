"""Bad input to ``extract``: one line on stderr naming what and where, exit status 2."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from egraph_dsl.extract import CostOverflowError, ExtractionError, MalformedEGraphError, greedy_dag, load
from egraph_dsl.extract.cli import main

GOOD: dict[str, Any] = {
    "nodes": {"a": {"op": "f", "children": ["b"], "eclass": "r", "cost": 1.0},
              "b": {"op": "x", "children": [], "eclass": "s", "cost": 2.0}},
    "root_eclasses": ["r"]}


def variant(**changes: Any) -> dict[str, Any]:
    """GOOD with node ``a``'s fields (``a_<field>``) or top-level keys changed; None deletes."""
    doc = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        target, field = (doc["nodes"]["a"], key[2:]) if key.startswith("a_") else (doc, key)
        if value is None:
            target.pop(field, None)
        else:
            target[field] = value
    return doc


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


def run_cli(path: Path, capsys: Any, method: str = "ilp") -> str:
    """Run the CLI; assert exit 2, nothing on stdout, one stderr line; return that line."""
    assert main([str(path), "--method", method, "--json", "--time-limit", "5"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    return lines[0]


def test_gzipped_file_is_accepted(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "g.json.gz"
    path.write_bytes(gzip.compress(json.dumps(GOOD).encode()))
    assert load(path).num_nodes == 2
    assert main([str(path), "--method", "greedy-dag", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"] == 3.0


def test_truncated_gzip_is_an_error(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "g.json.gz"
    path.write_bytes(gzip.compress(json.dumps(GOOD).encode())[:20])
    assert "gzipped" in run_cli(path, capsys)


def test_latin1_file_says_utf8_is_expected(tmp_path: Path, capsys: Any) -> None:
    doc = variant(a_op="caf\u00e9")
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    line = run_cli(path, capsys)
    assert "latin1.json" in line and "UTF-8" in line and "0xe9" in line
    with pytest.raises(MalformedEGraphError, match="UTF-8"):
        load(path)


def test_deeply_nested_json_is_a_clear_error(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"nodes": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "too deeply" in run_cli(path, capsys)
    with pytest.raises(MalformedEGraphError, match="too deeply"):
        load(path)


@pytest.mark.parametrize(("changes", "message"), [
    ({"class_data": [1, 2]}, r"'class_data' is a list; it must be an object"),
    ({"a_subsumed": "false"}, r"node 'a' has 'subsumed' \"false\"; it must be JSON true or false"),
    ({"a_subsumed": 0}, r"node 'a' has 'subsumed' 0"),
    ({"a_op": None}, r"node 'a' has no 'op'"),
    ({"a_op": 3}, r"node 'a' has 'op' 3, which is not a string"),
], ids=["class_data-list", "subsumed-string", "subsumed-int", "no-op", "op-number"])
def test_malformed_fields_are_named(tmp_path: Path, capsys: Any, changes: dict[str, Any],
                                    message: str) -> None:
    path = write(tmp_path / "bad.json", variant(**changes))
    line = run_cli(path, capsys)
    assert "bad.json" in line
    with pytest.raises(MalformedEGraphError, match=message):
        load(path)


def test_null_eclass_is_an_error(tmp_path: Path, capsys: Any) -> None:
    doc = variant(root_eclasses=[None])
    doc["nodes"]["a"]["eclass"] = None
    path = write(tmp_path / "null.json", doc)
    assert "node 'a' has 'eclass' null" in run_cli(path, capsys)
    doc = variant(root_eclasses=[None])
    with pytest.raises(MalformedEGraphError, match="'root_eclasses' holds null"):
        load(write(tmp_path / "root.json", doc))


@pytest.mark.parametrize("method", ["greedy-tree", "greedy-dag", "ilp", "ilp-cpsat"])
def test_overflowing_cost_sum_is_not_called_a_cycle(tmp_path: Path, capsys: Any,
                                                    method: str) -> None:
    doc = variant(a_cost=1e308)
    doc["nodes"]["b"]["cost"] = 1e308
    path = write(tmp_path / "big.json", doc)
    line = run_cli(path, capsys, method)
    assert "overflows the float range" in line and "cycle" not in line


def test_overflowing_dag_sum_over_two_roots(tmp_path: Path, capsys: Any) -> None:
    doc = {"nodes": {"a": {"op": "f", "children": [], "eclass": "r", "cost": 1e308},
                     "b": {"op": "x", "children": [], "eclass": "s", "cost": 1e308}},
           "root_eclasses": ["r", "s"]}
    path = write(tmp_path / "two.json", doc)
    assert "overflows" in run_cli(path, capsys, "greedy-dag")
    with pytest.raises(CostOverflowError):
        greedy_dag(load(path))
    assert issubclass(CostOverflowError, ExtractionError)
