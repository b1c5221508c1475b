"""Stored proof certificates: ``proofs/certificates/<ruleset>.json``, tied to each rule's hash.

A certificate is current when it lists exactly the ruleset's rules with their present hashes;
otherwise :func:`stale` explains what changed and says to run ``egraph-dsl prove --write``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from egraph_dsl.registry import RuleSet

from .prove import RuleProof, rule_hash

DIRECTORY = Path(__file__).parent / "certificates"
FORMAT = "egraph-dsl-proof-certificate/1"
FIX = "run `egraph-dsl prove --write {name}` (or `python -m proofs.cli prove --write {name}`)"


def path_for(name: str, directory: Path | None = None) -> Path:
    return (directory or DIRECTORY) / f"{name}.json"


def write(name: str, proofs: Iterable[RuleProof], directory: Path | None = None) -> Path:
    """Write the certificate of ruleset ``name`` (sorted keys, stable order for clean diffs)."""
    path = path_for(name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, "ruleset": name, "rules": [p.to_json() for p in proofs]}
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def load(name: str, directory: Path | None = None) -> dict[str, Any] | None:
    path = path_for(name, directory)
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def stale(ruleset: RuleSet, directory: Path | None = None) -> list[str]:
    """Why the stored certificate of ``ruleset`` is not current (empty when it is)."""
    fix = FIX.format(name=ruleset.name)
    data = load(ruleset.name, directory)
    if data is None:
        return [f"ruleset {ruleset.name!r} has no certificate at {path_for(ruleset.name, directory)}; {fix}"]
    stored = {r["rule"]: r["hash"] for r in data.get("rules", [])}
    problems = []
    for rule in ruleset.rules:
        if rule.name not in stored:
            problems.append(f"{ruleset.name}/{rule.name}: no certificate; {fix}")
        elif stored[rule.name] != rule_hash(rule):
            problems.append(f"{ruleset.name}/{rule.name}: the rule changed since it was proved "
                            f"(hash {stored[rule.name]} != {rule_hash(rule)}); {fix}")
    for name in sorted(set(stored) - {r.name for r in ruleset.rules}):
        problems.append(f"{ruleset.name}/{name}: certificate for a rule that no longer exists; {fix}")
    return problems


def results(name: str, directory: Path | None = None) -> dict[str, str]:
    """Rule name -> stored proof result (proved / refuted / unknown)."""
    data = load(name, directory) or {}
    return {r["rule"]: r["result"] for r in data.get("rules", [])}
