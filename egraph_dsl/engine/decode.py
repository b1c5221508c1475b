"""Turn an extraction's choices (e-class -> e-node) back into terms and a Program."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ExtractionFailedError
from ..program import Program
from ..term import Term, make
from .egraph import Snapshot


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
