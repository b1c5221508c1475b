"""The notebook (Jupyter) view of a Session: its program with costs, its picture and its step history."""

from __future__ import annotations

import html
from typing import Any

from .graph import program_graph
from .svg import to_svg


def session_html(session: Any) -> str:
    """Jupyter view of a Session: the program with costs, its picture and the step history."""
    svg = to_svg(program_graph(session.current, session.op_costs()), engine="python")
    steps = "".join(f"<li><pre>{html.escape(str(r))}</pre></li>" for r in session.history()) or "<li>no steps yet</li>"
    return (f'<div class="egraph-dsl-session"><pre>{html.escape(str(session))}</pre>{svg}'
            f"<details><summary>history</summary><ol>{steps}</ol></details></div>")
