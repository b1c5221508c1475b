"""Root e-classes with no nodes (9 of 10 lean-egg files of extraction-gym name one): an
error that names the way out by default, dropped with a warning on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from egraph_dsl.extract import EmptyRootsWarning, MalformedEGraphError, from_dict, load
from egraph_dsl.extract.cli import main


def _document(roots: list[str]) -> dict[str, Any]:
    return {"nodes": {"a": {"op": "x", "children": [], "eclass": "1", "cost": 2.0},
                      "b": {"op": "f", "children": ["a"], "eclass": "2", "cost": 1.0}},
            "root_eclasses": roots}


def test_an_empty_root_is_an_error_naming_the_option() -> None:
    with pytest.raises(MalformedEGraphError, match=r"root e-class '69' has no nodes in the "
                       r"file.*drop_empty_roots=True, extract --drop-empty-roots"):
        from_dict(_document(["2", "69"]))


def test_drop_empty_roots_warns_and_keeps_the_others() -> None:
    with pytest.warns(EmptyRootsWarning, match=r"dropped 1 root e-class\(es\) with no nodes "
                      r"in the file: '69'; the extraction covers the other 1 root"):
        model = from_dict(_document(["2", "69"]), drop_empty_roots=True)
    assert [model.class_ids[r] for r in model.roots.tolist()] == ["2"]


def test_dropping_every_root_is_still_an_error() -> None:
    with pytest.raises(MalformedEGraphError, match=r"no root e-class has nodes in the file "
                       r"\(dropped '68', '69'\)"):
        from_dict(_document(["68", "69"]), drop_empty_roots=True)


def test_load_passes_the_option_on(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_document(["69", "1"])))
    with pytest.raises(MalformedEGraphError, match=r"g\.json: root e-class '69'"):
        load(path)
    with pytest.warns(EmptyRootsWarning, match="'69'"):
        assert load(path, drop_empty_roots=True).num_classes == 2


def test_cli_error_and_flag(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_document(["2", "69"])))
    assert main([str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--drop-empty-roots" in err and "'69'" in err
    assert main([str(path), "--json", "--drop-empty-roots"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ("egraph-dsl extract: warning: dropped 1 root e-class(es) with no "
                            "nodes in the file: '69'; the extraction covers the other 1 root(s)\n")
    payload = json.loads(captured.out)
    assert payload["cost"] == 3.0 and payload["choices"] == {"2": "b", "1": "a"}
