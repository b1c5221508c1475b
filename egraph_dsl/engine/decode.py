"""Turn an extraction's choices (e-class -> e-node) back into terms and a Program; find the
e-nodes of a program's terms (to tell whether a replacing rule subsumed any of them)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from ..errors import ExtractionFailedError
from ..program import Program
from ..term import Term, make, postorder
from .egraph import ENode, Snapshot


def terms_from_choices(snapshot: Snapshot, choices: Mapping[str, str], roots: list[str],
                       inputs: Mapping[str, Term]) -> list[Term]:
    """Build the chosen term of each root class, children first, without recursion."""
    built: dict[str, Term] = {}
    on_stack: set[str] = set()
    for root in roots:
        stack = [root]
        while stack:
            cls = stack[-1]
            if cls in built:
                stack.pop()
                continue
            node_id = choices.get(cls)
            if node_id is None or node_id not in snapshot.nodes:
                raise ExtractionFailedError(f"the extraction chose no e-node for e-class {cls}")
            node = snapshot.nodes[node_id]
            missing = [c for c in node.children if c not in built]
            if missing:
                if cls in on_stack:
                    raise ExtractionFailedError(f"the extraction has a cycle through e-class {cls}")
                on_stack.add(cls)
                stack.extend(missing)
                continue
            stack.pop()
            on_stack.discard(cls)
            attrs = dict(node.attrs)
            if node.op == "input":
                built[cls] = inputs[str(attrs["name"])]
            else:
                built[cls] = make(node.op, [built[c] for c in node.children], **attrs)
    return [built[r] for r in roots]


def program_from_choices(snapshot: Snapshot, choices: Mapping[str, str], original: Program,
                         root_classes: list[str]) -> Program:
    inputs = {str(t.attr["name"]): t for t in original.inputs}
    outputs = terms_from_choices(snapshot, choices, root_classes, inputs)
    return original.with_outputs(outputs)


def attr_key(value: object) -> object:
    """An attribute value as a dictionary key: nan equals nan, -0.0 differs from 0.0."""
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value == 0.0 and math.copysign(1.0, value) < 0:
            return "-0.0"
    return value


def node_key(op: str, attrs: Iterable[tuple[str, object]], children: Sequence[str]) -> tuple[object, ...]:
    """E-node identity: op, attributes (see :func:`attr_key`) and child e-classes."""
    return (op, tuple((k, attr_key(v)) for k, v in attrs), tuple(children))


def replaced_terms(snapshot: Snapshot, roots: Iterable[Term]) -> list[Term]:
    """The terms below ``roots`` whose e-node a replacing rule subsumed, or that the e-graph does
    not hold, children first. Empty: an extraction may choose exactly this program."""
    index: dict[tuple[object, ...], ENode] = {}
    for n in snapshot.nodes.values():
        index[node_key(n.op, n.attrs, n.children)] = n
    cls: dict[Term, str] = {}
    out: list[Term] = []
    for t in postorder(roots):
        node = None
        if all(a in cls for a in t.args):
            node = index.get(node_key(t.op, t.attrs, [cls[a] for a in t.args]))
        if node is None or node.subsumed:
            out.append(t)
        if node is not None:
            cls[t] = node.eclass
    return out
