"""Stored certificates are current with the shipped rules; a changed rule makes them stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from egraph_dsl.proofs import certificates
from egraph_dsl.proofs.prove import prove_rule

from egraph_dsl import rulesets
from egraph_dsl.registry import RuleSet, default_registry
from egraph_dsl.rules import rewrite

rulesets.register_shipped(default_registry)


@pytest.mark.parametrize("name", default_registry.names())
def test_shipped_certificates_are_current(name: str) -> None:
    problems = certificates.stale(default_registry.get(name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", default_registry.names())
def test_no_shipped_rule_is_refuted(name: str) -> None:
    refuted = [r for r, result in certificates.results(name).items() if result == "refuted"]
    assert not refuted


def test_changed_rule_makes_the_certificate_stale(tmp_path: Path) -> None:
    rs = RuleSet("mine", [rewrite("?x * 1", "?x", name="mul-one")])
    certificates.write("mine", [prove_rule(r, "mine") for r in rs.rules], tmp_path)
    assert certificates.stale(rs, tmp_path) == []
    changed = RuleSet("mine", [rewrite("?x * 1", "?x", name="mul-one", claim="real"),
                               rewrite("?x + 0", "?x", name="add-zero", claim="real")])
    problems = certificates.stale(changed, tmp_path)
    assert len(problems) == 2
    assert all(f"egraph-dsl prove --write --dir {tmp_path} mine" in p for p in problems)
    assert "rule changed" in problems[0] and "no certificate" in problems[1]


def test_missing_certificate_is_stale(tmp_path: Path) -> None:
    (problem,) = certificates.stale(RuleSet("absent", []), tmp_path)
    assert "has no certificate" in problem and "prove --write" in problem


def test_soundness_verdicts() -> None:
    from egraph_dsl.proofs.report import verdict

    assert verdict("proved", "passed") == "proved"
    assert verdict("unknown", "passed") == "tested only"
    assert verdict("proved", "counterexample") == "UNSOUND"
    assert verdict("refuted", "passed") == "UNSOUND"
    assert verdict("unknown", "untested") == "unknown"


@pytest.mark.parametrize("name", ["../../../../elsewhere/x", "a/b", "..", "x/../../y", "/abs", "", ".hidden",
                                  "a\\b", "nul\x00"])
def test_names_that_could_leave_the_directory_are_refused(name: str, tmp_path: Path) -> None:
    """prove --write with a ruleset named ../../../../elsewhere/x wrote outside the directory."""
    with pytest.raises(certificates.CertificateError, match="cannot be a certificate file name"):
        certificates.write(name, [], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "mine.json").symlink_to(outside)
    with pytest.raises(certificates.CertificateError, match="outside"):
        certificates.write("mine", [], folder)
    assert not outside.exists()


def test_plain_names_are_written_where_asked(tmp_path: Path) -> None:
    for name in ("mine", "algebra+stability", "my-rules.v2"):
        assert certificates.write(name, [], tmp_path) == tmp_path / f"{name}.json"


def test_the_fix_for_shipped_certificates_names_the_repository_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(certificates.DIRECTORY.parent.parent)  # the repository root (or site-packages)
    (problem,) = certificates.stale(RuleSet("absent", []))
    assert "egraph-dsl prove --write --dir proofs/certificates absent" in problem
