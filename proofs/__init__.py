"""Rule soundness: property tests (hypothesis + NumPy backend + mpmath) and z3 proofs of rules.

    from egraph_dsl.proofs import check_rules, prove_rules
    report = check_rules(["algebra"], profile="ci")   # counterexamples, shrunk and exact
    proofs = prove_rules(["algebra"])                # proved / refuted / unknown per rule
"""

from __future__ import annotations

from .check import Finding, Report, RuleResult, check_case, check_rule, check_rules
from .prove import Obligation, RuleProof, prove_rule, prove_rules, rule_hash

__all__ = ["Finding", "Obligation", "Report", "RuleProof", "RuleResult", "check_case", "check_rule",
           "check_rules", "prove_rule", "prove_rules", "rule_hash"]
