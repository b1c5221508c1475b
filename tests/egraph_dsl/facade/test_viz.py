"""Pictures: DOT text, the built-in SVG layout, the e-graph neighbourhood and the show command."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.facade.session import Session
from egraph_dsl.facade.viz import egraph_graph, example_args, parse_shapes, program_graph, show_main, to_dot, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def reactivity(X, y, w, b):
    z = X @ w + b
    p = 1 / (1 + np.exp(-z))
    return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) - 0.5 * np.sum(w * w)


@pytest.fixture
def session():
    s = Session(lambda x: np.log(1 + np.exp(x)) * 2.0, np.ones(3))
    s.apply("stability")
    return s


def rects(svg_text, cls):
    root = ET.fromstring(svg_text)
    return [r for r in root.iter(f"{SVG}rect") if cls in r.get("class", "").split()]


def test_program_dot_has_one_node_per_term_and_one_edge_per_argument():
    prog = ed.trace(reactivity, np.ones((5, 3)), np.ones(5), np.ones(3), 0.5)
    dot = to_dot(program_graph(prog))
    terms = prog.terms()
    assert dot.startswith("digraph G {") and dot.rstrip().endswith("}")
    assert dot.count("[label=") == len(terms)
    assert dot.count("->") == sum(len(t.args) for t in terms)


def test_builtin_svg_is_valid_and_edges_point_down():
    prog = ed.trace(reactivity, np.ones((5, 3)), np.ones(5), np.ones(3), 0.5)
    graph = program_graph(prog)
    svg = to_svg(graph, engine="python")
    root = ET.fromstring(svg)
    assert len(rects(svg, "node")) == len(graph.nodes)
    lines = [e for e in root.iter(f"{SVG}line") if "edge" in e.get("class", "")]
    assert len(lines) == len(graph.edges)
    assert all(float(e.get("y2")) > float(e.get("y1")) for e in lines)  # layered: producers above consumers


def test_builtin_svg_boxes_in_a_layer_do_not_overlap():
    prog = ed.trace(reactivity, np.ones((5, 3)), np.ones(5), np.ones(3), 0.5)
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width")))
             for r in rects(to_svg(program_graph(prog), engine="python"), "node")]
    rows: dict[float, list[tuple[float, float]]] = {}
    for x, y, w in boxes:
        rows.setdefault(y, []).append((x, x + w))
    assert len(rows) > 3  # really layered
    for spans in rows.values():
        spans.sort()
        assert all(right <= nxt_left for (_, right), (nxt_left, _) in itertools.pairwise(spans))


def test_egraph_picture_groups_enodes_in_classes(session):
    snap = session.snapshot()
    graph = egraph_graph(snap, session.root_classes())
    assert len(graph.nodes) == len(snap.nodes) and set(graph.clusters) == set(snap.classes)
    svg = to_svg(graph, engine="python")
    assert len(rects(svg, "cluster")) == len(snap.classes)
    assert "subgraph \"cluster_" in to_dot(graph)
    # the root class holds both the original log(...) and softplus-based forms
    root = session.root_classes()[0]
    near = egraph_graph(snap, focus=root, radius=1)
    assert root in near.clusters and len(near.clusters) < len(snap.classes)


def test_session_html_has_program_and_picture(session):
    page = session._repr_html_()
    assert "<svg" in page and "softplus" in page and "total cost" in page


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
