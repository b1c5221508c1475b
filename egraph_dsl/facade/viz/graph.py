"""The graph model of a picture: a Program or an e-graph Snapshot as nodes, clusters and edges."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ...engine.egraph import Snapshot
from ...errors import ScopeError
from ...program import Program
from ...term import Term, format_attr, format_type


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
