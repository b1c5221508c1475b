"""Rule soundness: property tests (hypothesis + NumPy backend + mpmath) and z3 proofs of rules.

    from egraph_dsl.proofs import check_rules, prove_rules
    report = check_rules(["algebra"], profile="ci")   # counterexamples, shrunk and exact
    proofs = prove_rules(["algebra"])                # proved / refuted / unknown per rule
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .check import Finding, Report, RuleResult, check_case, check_rule, check_rules
    from .prove import Obligation, RuleProof, prove_rule, prove_rules, rule_hash

# loaded on first use: the checker pulls in hypothesis and z3 (about a second), which the error
# model (proofs.error_model, run by jit on every first call) does not need
_HOME = {"Finding": "check", "Report": "check", "RuleResult": "check", "check_case": "check",
         "check_rule": "check", "check_rules": "check", "Obligation": "prove", "RuleProof": "prove",
         "prove_rule": "prove", "prove_rules": "prove", "rule_hash": "prove"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Finding", "Obligation", "Report", "RuleProof", "RuleResult", "check_case", "check_rule",
           "check_rules", "prove_rule", "prove_rules", "rule_hash"]
