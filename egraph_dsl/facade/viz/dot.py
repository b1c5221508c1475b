"""Graphviz DOT text of a Graph (e-classes as dashed clusters), and the fill colour of each node kind."""

from __future__ import annotations

from .graph import Graph, VNode

FILL = {"input": "#dbeafe", "const": "#f3f4f6", "op": "#ffffff", "root": "#dcfce7", "enode": "#ffffff"}


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
        lines.append(f"  {_dot_quote(n.id)} [label={_dot_quote(n.label)}, fillcolor=\"{FILL[n.kind]}\"];")
    first: dict[str, str] = {}
    for cid, label in graph.clusters.items():
        members = by_cluster.get(cid, [])
        if not members:
            continue
        first[cid] = members[0].id
        lines.append(f"  subgraph {_dot_quote('cluster_' + cid)} {{ label={_dot_quote(label)}; style=dashed;")
        for n in members:
            lines.append(f"    {_dot_quote(n.id)} [label={_dot_quote(n.label)}, fillcolor=\"{FILL[n.kind]}\"];")
        lines.append("  }")
    for src, dst in graph.edges:
        if dst.startswith("cluster_") and dst[8:] in first:
            lines.append(f"  {_dot_quote(src)} -> {_dot_quote(first[dst[8:]])} [lhead={_dot_quote(dst)}];")
        else:
            lines.append(f"  {_dot_quote(src)} -> {_dot_quote(dst)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
