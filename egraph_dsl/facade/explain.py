"""Readable reports of what an optimization did."""

from __future__ import annotations

from ..plan import Plan
from .pipeline import Optimized


def explain_text(opt: Optimized, timings: dict[str, float], plan: Plan | None = None) -> str:
    lines = [f"== {opt.before.name}: before ({opt.before.op_count()} ops, cost {opt.cost_before:,.0f})",
             str(opt.before),
             f"== after ({opt.after.op_count()} ops, cost {opt.cost_after:,.0f}; "
             f"{_comparison(opt.cost_before, opt.cost_after)})",
             str(opt.after)]
    for report in opt.reports:
        lines.append("== saturation")
        lines.append(str(report))
    bound = "" if opt.lower_bound is None else f", lower bound {opt.lower_bound:,.0f}"
    lines.append(f"== extraction: {opt.method}, e-graph of {opt.egraph_nodes} e-nodes{bound}"
                 f"{', proven optimal' if opt.optimal else ''}")
    if opt.stop:
        lines.append(f"== stopped: {opt.stop}")
    if opt.accuracy is not None:  # error on the samples, before and after (proofs.error_model)
        lines.extend(opt.accuracy.lines())
    lines.append("== time per stage: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in timings.items()))
    if plan is not None:
        reused = sum(1 for i in plan.instructions if i.buffer is not None)
        lines.append(f"== plan: {len(plan.instructions)} instructions, {reused} write into reused buffers")
    return "\n".join(lines)


def _comparison(before: float, after: float) -> str:
    """How the cost changed; a rise comes from rules that replace a fragile form (see rules.py)."""
    if after <= 0 or before <= 0:
        return "cost ratio n/a"
    if after > before:
        return f"{after / before:.2f}x dearer by the cost model: stable forms replaced fragile ones"
    return f"{before / after:.2f}x cheaper by the cost model"
