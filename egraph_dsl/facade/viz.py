"""Pictures of programs and e-graphs: Graphviz DOT text, and SVG with or without Graphviz.

``program_graph`` / ``egraph_graph`` turn a Program or an e-graph Snapshot (whole, or the
neighbourhood of one e-class) into a small ``Graph`` record; ``to_dot`` writes it as DOT and
``to_svg`` draws it — with Graphviz's ``dot`` when it is installed, otherwise with the layered
layout here (rank by depth, order by barycentres, boxes and edges), which needs nothing else.
``session_html`` is a Session's notebook view; the ``egraph-dsl show`` command is in :mod:`.show`.
"""

from __future__ import annotations

import html
import itertools
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine.egraph import Snapshot
from ..errors import ScopeError
from ..program import Program
from ..term import Term, format_attr, format_type

# ------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class VNode:
    id: str
    label: str  # lines separated by "\n"
    kind: str = "op"  # op | input | const | enode | root
    cluster: str | None = None


@dataclass
class Graph:
    """Nodes (optionally grouped in clusters, e.g. e-classes), edges and a title."""

    title: str
    nodes: list[VNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)  # node id -> node id or cluster id
    clusters: dict[str, str] = field(default_factory=dict)  # cluster id -> label

    def node_ids(self) -> set[str]:
        return {n.id for n in self.nodes}


def _op_label(t: Term) -> str:
    attrs = ", ".join(f"{k}={format_attr(v)}" for k, v in t.attrs if k not in ("name", "value"))
    return t.op + (f"({attrs})" if attrs else "")


def program_graph(program: Program, costs: Mapping[Term, float] | None = None) -> Graph:
    """The program as a dataflow graph: inputs and constants at the top, outputs at the bottom."""
    g = Graph(program.name)
    ids: dict[Term, str] = {}
    count = itertools.count()
    for t in program.terms():
        if t.op == "input":
            ids[t] = f"in_{t.attr['name']}"
            g.nodes.append(VNode(ids[t], f"{t.attr['name']}\n{format_type(t)}", "input"))
            continue
        if t.op == "const":
            ids[t] = f"c{len(ids)}"
            g.nodes.append(VNode(ids[t], format_attr(t.attr["value"]), "const"))
            continue
        label = f"%{next(count)}"
        ids[t] = f"n{label[1:]}"
        cost = f"\ncost {costs[t]:,.0f}" if costs is not None and t in costs else ""
        kind = "root" if t in program.outputs else "op"
        g.nodes.append(VNode(ids[t], f"{label} {_op_label(t)}\n{format_type(t)}{cost}", kind))
        for a in t.args:
            g.edges.append((ids[a], ids[t]))
    return g


def egraph_graph(snapshot: Snapshot, roots: Sequence[str] = (), focus: str | None = None, radius: int = 2,
                 max_nodes: int = 400) -> Graph:
    """The e-graph: e-classes as clusters of e-nodes, edges from an e-node to its child classes.

    ``focus``: draw only the classes within ``radius`` steps (up or down) of that e-class.
    At most ``max_nodes`` e-nodes are drawn; the title says when some were left out.
    """
    classes = list(snapshot.classes)
    if focus is not None:
        if focus not in snapshot.classes:
            raise ScopeError(f"e-class {focus!r} is not in the e-graph")
        near = {focus}
        parents: dict[str, set[str]] = {}
        for n in snapshot.nodes.values():
            for c in n.children:
                parents.setdefault(c, set()).add(n.eclass)
        frontier = {focus}
        for _ in range(radius):
            nxt: set[str] = set()
            for cls in frontier:
                for nid in snapshot.classes.get(cls, ()):
                    nxt.update(snapshot.nodes[nid].children)
                nxt.update(parents.get(cls, ()))
            frontier = nxt - near
            near |= nxt
        classes = [c for c in classes if c in near]
    title = f"e-graph: {len(snapshot.nodes)} e-nodes in {len(snapshot.classes)} e-classes"
    if focus is not None:
        title += f"; within {radius} of e-class {focus}"
    g = Graph(title)
    drawn = 0
    kept: set[str] = set()
    for cls in classes:
        members = snapshot.classes[cls]
        if drawn + len(members) > max_nodes:
            g.title += f" (first {drawn} e-nodes drawn)"
            break
        kept.add(cls)
        shape = snapshot.shapes.get(cls)
        typ = "weak" if shape is None else f"[{','.join(map(str, shape))}]"
        g.clusters[cls] = f"e-class {cls} {typ}" + (" (root)" if cls in roots else "")
        for nid in members:
            n = snapshot.nodes[nid]
            attrs = dict(n.attrs)
            if n.op == "input":
                label = str(attrs["name"])
            elif n.op == "const":
                label = format_attr(attrs["value"])
            else:
                extra = ", ".join(f"{k}={format_attr(v)}" for k, v in n.attrs)
                label = n.op + (f"({extra})" if extra else "")
            g.nodes.append(VNode(f"e{nid}", label, "enode", cls))
            drawn += 1
    drawn_ids = g.node_ids()
    for nid, n in snapshot.nodes.items():
        if f"e{nid}" in drawn_ids:
            for c in n.children:
                if c in kept:
                    g.edges.append((f"e{nid}", f"cluster_{c}"))
    return g


# ------------------------------------------------------------------------------- DOT

_FILL = {"input": "#dbeafe", "const": "#f3f4f6", "op": "#ffffff", "root": "#dcfce7", "enode": "#ffffff"}


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph) -> str:
    """Graphviz DOT text; clusters become ``subgraph cluster_…`` boxes."""
    lines = ["digraph G {", f"  label={_dot_quote(graph.title)}; labelloc=t; compound=true; rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];']
    by_cluster: dict[str | None, list[VNode]] = {}
    for n in graph.nodes:
        by_cluster.setdefault(n.cluster, []).append(n)
    for n in by_cluster.get(None, []):
        lines.append(f"  {_dot_quote(n.id)} [label={_dot_quote(n.label)}, fillcolor=\"{_FILL[n.kind]}\"];")
    first: dict[str, str] = {}
    for cid, label in graph.clusters.items():
        members = by_cluster.get(cid, [])
        if not members:
            continue
        first[cid] = members[0].id
        lines.append(f"  subgraph {_dot_quote('cluster_' + cid)} {{ label={_dot_quote(label)}; style=dashed;")
        for n in members:
            lines.append(f"    {_dot_quote(n.id)} [label={_dot_quote(n.label)}, fillcolor=\"{_FILL[n.kind]}\"];")
        lines.append("  }")
    for src, dst in graph.edges:
        if dst.startswith("cluster_") and dst[8:] in first:
            lines.append(f"  {_dot_quote(src)} -> {_dot_quote(first[dst[8:]])} [lhead={_dot_quote(dst)}];")
        else:
            lines.append(f"  {_dot_quote(src)} -> {_dot_quote(dst)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- SVG

_CHAR_W, _LINE_H, _PAD, _GAP_X, _GAP_Y = 6.6, 14.0, 6.0, 18.0, 44.0


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


def to_svg(graph: Graph, engine: str = "auto") -> str:
    """SVG text: Graphviz's ``dot`` when ``engine`` is "dot" (or "auto" and it is installed), else built in."""
    if engine not in ("auto", "dot", "python"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'python', got {engine!r}")
    if engine == "dot" or (engine == "auto" and graphviz_available()):
        if not graphviz_available():
            raise RuntimeError("Graphviz 'dot' is not installed; use engine='python'")
        done = subprocess.run(["dot", "-Tsvg"], input=to_dot(graph), capture_output=True, text=True, check=True)
        return done.stdout
    return _layered_svg(graph)


@dataclass
class _Unit:
    """What the layout places: one free node, or one cluster with its nodes side by side."""

    id: str
    nodes: list[VNode]
    label: str | None
    width: float = 0.0
    height: float = 0.0
    x: float = 0.0
    y: float = 0.0


def _box_size(label: str) -> tuple[float, float]:
    lines = label.split("\n")
    return max(len(s) for s in lines) * _CHAR_W + 2 * _PAD, len(lines) * _LINE_H + 2 * _PAD


def _ranks(units: list[str], succ: Mapping[str, list[str]]) -> dict[str, int]:
    """Longest-path layering from the sources, ignoring edges that close a cycle (iterative DFS)."""
    state: dict[str, int] = {}
    order: list[str] = []
    back: set[tuple[str, str]] = set()
    for start in units:
        if start in state:
            continue
        stack = [(start, iter(succ.get(start, ())))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ.get(nxt, ()))))
                    break
            else:
                stack.pop()
                state[node] = 2
                order.append(node)
    rank = {u: 0 for u in units}
    for u in reversed(order):  # topological order of the acyclic part
        for v in succ.get(u, ()):
            if (u, v) not in back and v != u:
                rank[v] = max(rank[v], rank[u] + 1)
    return rank


def _layered_svg(graph: Graph) -> str:
    units: dict[str, _Unit] = {}
    unit_of: dict[str, str] = {}
    for n in graph.nodes:
        uid = f"cluster_{n.cluster}" if n.cluster is not None else n.id
        if uid not in units:
            units[uid] = _Unit(uid, [], graph.clusters.get(n.cluster) if n.cluster is not None else None)
        units[uid].nodes.append(n)
        unit_of[n.id] = uid
    succ: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        a, b = unit_of.get(src), dst if dst in units else unit_of.get(dst)
        if a is not None and b is not None and b not in succ.setdefault(a, []):
            succ[a].append(b)
    for u in units.values():
        sizes = [_box_size(n.label) for n in u.nodes]
        u.width = sum(w for w, _ in sizes) + _PAD * (len(sizes) - 1)
        u.height = max(h for _, h in sizes)
        if u.label is not None:
            u.width = max(u.width, len(u.label) * _CHAR_W) + 2 * _PAD
            u.height += _LINE_H + 2 * _PAD
    rank = _ranks(list(units), succ)
    layers: dict[int, list[str]] = {}
    for uid in units:
        layers.setdefault(rank[uid], []).append(uid)
    pred: dict[str, list[str]] = {}
    for a, bs in succ.items():
        for b in bs:
            pred.setdefault(b, []).append(a)
    for _ in range(2):  # barycentre ordering, top-down
        pos = {u: i for layer in layers.values() for i, u in enumerate(layer)}
        for r in sorted(layers)[1:]:
            layers[r].sort(key=lambda u: sum(pos[p] for p in pred.get(u, [])) / max(1, len(pred.get(u, []))))
            pos.update({u: i for i, u in enumerate(layers[r])})
    widths = {r: sum(units[u].width for u in layer) + _GAP_X * (len(layer) - 1) for r, layer in layers.items()}
    total_w = max(widths.values(), default=100.0) + 2 * _GAP_X
    y = _LINE_H * 2 + _GAP_X
    for r in sorted(layers):
        x = (total_w - widths[r]) / 2
        for uid in layers[r]:
            units[uid].x, units[uid].y = x, y
            x += units[uid].width + _GAP_X
        y += max(units[u].height for u in layers[r]) + _GAP_Y
    total_h = y
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
           f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
           f'<text class="title" x="{total_w / 2:.1f}" y="{_LINE_H * 1.3:.1f}" text-anchor="middle" '
           f'font-size="13">{html.escape(graph.title)}</text>']
    box: dict[str, tuple[float, float, float, float]] = {}
    for u in units.values():
        if u.label is not None:
            box[u.id] = (u.x, u.y, u.width, u.height)
            out.append(f'<rect class="cluster" x="{u.x:.1f}" y="{u.y:.1f}" width="{u.width:.1f}" '
                       f'height="{u.height:.1f}" rx="8" fill="#fafafa" stroke="#888" stroke-dasharray="4 3"/>')
            out.append(f'<text x="{u.x + _PAD:.1f}" y="{u.y + _LINE_H:.1f}" fill="#555">{html.escape(u.label)}</text>')
            nx, ny = u.x + _PAD, u.y + _LINE_H + _PAD
        else:
            nx, ny = u.x, u.y
        for n in u.nodes:
            w, h = _box_size(n.label)
            box[n.id] = (nx, ny, w, h)
            out.append(f'<rect class="node {n.kind}" x="{nx:.1f}" y="{ny:.1f}" width="{w:.1f}" height="{h:.1f}" '
                       f'rx="5" fill="{_FILL[n.kind]}" stroke="#333"/>')
            for i, line in enumerate(n.label.split("\n")):
                out.append(f'<text x="{nx + w / 2:.1f}" y="{ny + _PAD + _LINE_H * (i + 0.8):.1f}" '
                           f'text-anchor="middle">{html.escape(line)}</text>')
            nx += w + _PAD
    for src, dst in graph.edges:
        if src not in box or dst not in box:
            continue
        sx, sy, sw, sh = box[src]
        dx, dy, dw, dh = box[dst]
        x1, y1, x2 = sx + sw / 2, sy + sh, dx + dw / 2
        if dy >= y1:  # downward: a straight edge
            out.append(f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{dy:.1f}" '
                       'stroke="#555" marker-end="url(#arrow)"/>')
        else:  # an edge back up (a cycle through an e-class): a curve around the side
            side = max(sx + sw, dx + dw) + 30
            out.append(f'<path class="edge back" d="M {sx + sw:.1f} {sy + sh / 2:.1f} C {side:.1f} {sy + sh / 2:.1f} '
                       f'{side:.1f} {dy + dh / 2:.1f} {dx + dw:.1f} {dy + dh / 2:.1f}" fill="none" stroke="#b45309" '
                       'stroke-dasharray="3 2" marker-end="url(#arrow)"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- session


def session_html(session: Any) -> str:
    """Jupyter view of a Session: the program with costs, its picture and the step history."""
    svg = to_svg(program_graph(session.current, session.op_costs()), engine="python")
    steps = "".join(f"<li><pre>{html.escape(str(r))}</pre></li>" for r in session.history()) or "<li>no steps yet</li>"
    return (f'<div class="egraph-dsl-session"><pre>{html.escape(str(session))}</pre>{svg}'
            f"<details><summary>history</summary><ol>{steps}</ol></details></div>")
