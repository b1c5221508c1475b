"""SVG of a Graph: Graphviz's ``dot`` when installed, else a built-in layered layout (rank by depth,
order by barycentres, boxes and edges) that needs nothing else."""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from .dot import FILL, to_dot
from .graph import Graph, VNode

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
                       f'rx="5" fill="{FILL[n.kind]}" stroke="#333"/>')
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
