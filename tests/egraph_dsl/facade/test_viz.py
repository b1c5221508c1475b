"""Pictures: DOT text, the built-in SVG layout, the e-graph neighbourhood and the notebook view."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl.facade.session import Session
from egraph_dsl.facade.viz import egraph_graph, program_graph, to_dot, to_svg

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
    assert page.count('class="node') == len(session.current.terms())


def test_op_costs_cover_every_op(session):
    costs = session.op_costs()
    assert list(costs) == session.ops() and all(c >= 0.0 for c in costs.values())
