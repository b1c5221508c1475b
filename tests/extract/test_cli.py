from __future__ import annotations

import argparse
import json
from typing import Any

import pytest
from egraph_dsl.extract import load, verify
from egraph_dsl.extract.cli import add_arguments, main, run
from extract_helpers import DATA

EGG = DATA / "egg__math_associate_adds.json"


@pytest.mark.parametrize("method", ["greedy-tree", "greedy-dag", "ilp"])
def test_json_output_shape(method: str, capsys: Any) -> None:
    # the ILP proves egg's optimum in a few CPU seconds; the limit leaves room for a loaded machine
    limit = "60" if method == "ilp" else "10"
    assert main([str(EGG), "--method", method, "--time-limit", limit, "--json"]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out)  # exactly one JSON object, nothing else on stdout
    assert set(payload) == {"cost", "lower_bound", "optimal", "stop_reason", "fallback",
                            "stop_detail", "method", "choices", "seconds"}
    assert isinstance(payload["cost"], float) and isinstance(payload["optimal"], bool)
    assert payload["lower_bound"] is None or payload["lower_bound"] <= payload["cost"]
    assert verify(load(EGG), payload["choices"]) == payload["cost"]
    if method == "ilp":
        assert payload["cost"] == 13.0 and payload["optimal"] is True


def test_human_summary(capsys: Any) -> None:
    assert main([str(EGG), "--method", "greedy-dag"]) == 0
    out = capsys.readouterr().out
    assert "cost:" in out and "13" in out and "greedy-dag" in out


def test_errors_go_to_stderr_with_status_2(tmp_path: Any, capsys: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nodes": {"a": {"op": "f", "children": ["zz"], "eclass": "r"}},
                               "root_eclasses": ["r"]}))
    assert main([str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "'zz'" in captured.err
    assert main([str(tmp_path / "missing.json")]) == 2
    assert main([str(EGG), "--time-limit", "0"]) == 2
    assert main([str(EGG), "--method", "nope"]) == 2


def test_subcommand_wiring(capsys: Any) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_arguments(sub.add_parser("extract"))
    args = parser.parse_args(["extract", str(EGG), "--method", "greedy-tree", "--json"])
    assert run(args) == 0
    assert json.loads(capsys.readouterr().out)["cost"] == 13.0
