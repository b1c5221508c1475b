"""The soundness table of docs/soundness.md: per shipped rule, proved / only tested / unknown.

    python -m egraph_dsl.proofs.report            # print the table (runs check-rules, profile dev)
    python -m egraph_dsl.proofs.report --write    # also replace the table in docs/soundness.md
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from egraph_dsl.rulesets import register_shipped

from egraph_dsl.registry import default_registry

from . import certificates
from .check import check_rules

DOC = Path(__file__).resolve().parent.parent / "docs" / "soundness.md"
BEGIN, END = "<!-- soundness-table:begin -->", "<!-- soundness-table:end -->"


def verdict(proof: str, tested: str) -> str:
    """One word per rule: proof beats testing; a counterexample or refutation beats both."""
    if proof == "refuted" or tested in ("counterexample", "error"):
        return "UNSOUND"
    if proof == "proved":
        return "proved"
    return "tested only" if tested == "passed" else "unknown"


def soundness_table(names: Sequence[str] | None = None, profile: str = "dev") -> str:
    """Markdown table: ruleset, rule, claim, stored proof result, check-rules result, verdict."""
    register_shipped(default_registry)
    names = list(names or default_registry.names())
    report = check_rules(names, profile=profile)
    tested = {(r.ruleset, r.rule.name): r.status for r in report.results}
    lines = ["| ruleset | rule | claim | z3 proof | check-rules | verdict |", "|---|---|---|---|---|---|"]
    for name in names:
        proofs = certificates.results(name)
        for rule in default_registry.get(name).rules:
            proof = proofs.get(rule.name, "no certificate")
            status = tested[(name, rule.name)]
            lines.append(f"| {name} | `{rule.name}` | {rule.claim.value} | {proof} | {status} | "
                         f"{verdict(proof, status)} |")
    return "\n".join(lines)


def write_into_doc(table: str, doc: Path = DOC) -> None:
    text = doc.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m egraph_dsl.proofs.report")
    p.add_argument("--write", action="store_true", help=f"replace the table in {DOC}")
    p.add_argument("--profile", default="dev")
    args = p.parse_args(argv)
    table = soundness_table(profile=args.profile)
    print(table)
    if args.write:
        write_into_doc(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
