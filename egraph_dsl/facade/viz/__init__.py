"""Pictures of programs and e-graphs: Graphviz DOT text, and SVG with or without Graphviz.

``program_graph`` / ``egraph_graph`` turn a Program or an e-graph Snapshot (whole, or the
neighbourhood of one e-class) into a small ``Graph`` record (:mod:`.graph`); ``to_dot`` writes it
as DOT (:mod:`.dot`) and ``to_svg`` draws it (:mod:`.svg`) — with Graphviz's ``dot`` when it is
installed, otherwise with the layered layout there (rank by depth, order by barycentres, boxes and
edges), which needs nothing else. ``session_html`` is a Session's notebook view (:mod:`.notebook`);
the ``egraph-dsl show`` command is in :mod:`egraph_dsl.facade.show`.
"""

from .dot import to_dot
from .graph import Graph, VNode, egraph_graph, program_graph
from .notebook import session_html
from .svg import graphviz_available, to_svg

__all__ = ["Graph", "VNode", "egraph_graph", "graphviz_available", "program_graph", "session_html", "to_dot", "to_svg"]
