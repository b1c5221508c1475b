"""The ``egraph-dsl show`` command: shapes, loading the user's file, pictures written, clear errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.facade.show import example_args, parse_shapes, show_main


def reactivity(X, y, w, b):
    z = X @ w + b
    p = 1 / (1 + np.exp(-z))
    return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) - 0.5 * np.sum(w * w)


def test_parse_shapes_and_defaults():
    assert parse_shapes("x=500x8,y=500,b=") == {"x": (500, 8), "y": (500,), "b": ()}
    with pytest.raises(ValueError, match="bad --shapes"):
        parse_shapes("x:3")
    args = example_args(reactivity, {})
    assert len(args) == 4 and all(a.shape == (8,) for a in args)
    args = example_args(lambda A, v: A @ v, {"A": (3, 8)})
    assert [a.shape for a in args] == [(3, 8), (8,)]
    args = example_args(lambda A, v: (A @ v).T @ v, {})  # vectors fail; matrices are tried next
    assert ed.trace(lambda A, v: (A @ v).T @ v, *args).outputs
    with pytest.raises(ValueError, match="pass --shapes"):
        example_args(lambda A, v: A @ v + v, {"A": (3, 4)})


def test_show_main_writes_svg_and_dot(tmp_path, capsys):
    src = tmp_path / "model.py"
    src.write_text("import numpy as np\n\ndef softplus(x):\n    return np.log(1 + np.exp(x))\n")
    out, dot = tmp_path / "p.svg", tmp_path / "p.dot"
    assert show_main([f"{src}:softplus", "--svg", str(out), "--dot", str(dot), "--shapes", "x=3x4"]) == 0
    assert "softplus" in capsys.readouterr().out
    ET.fromstring(out.read_text())
    assert "digraph" in dot.read_text()
    assert show_main([f"{src}:softplus", "--svg", str(out), "--egraph", "--engine", "python"]) == 0
    assert "e-class" in out.read_text()


def test_show_main_bad_input_is_a_clear_error(tmp_path, capsys):
    src = tmp_path / "m.py"
    src.write_text("def f(x):\n    return x\n")
    assert show_main([f"{src}:nope"]) == 2
    assert "has no function 'nope'" in capsys.readouterr().err
    assert show_main([f"{src}:f", "--shapes", "z=3"]) == 2
    assert "does not take" in capsys.readouterr().err
    assert show_main(["no_colon"]) == 2
    assert show_main([f"{src}:f", "--rulesets", "nope"]) == 2
    assert "unknown ruleset" in capsys.readouterr().err
