"""``check-rules`` and ``prove`` entry points: --from FILE, exit status, readable output."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from egraph_dsl.registry import default_registry
from proofs.cli import check_rules_main, main, prove_main

_ids = itertools.count()

TEMPLATE = '''
from egraph_dsl.registry import RuleSet, register
from egraph_dsl.rules import rewrite
register(RuleSet("{name}", [rewrite({lhs!r}, {rhs!r}, name="r", claim={claim!r})]))
'''


@pytest.fixture
def rules_file(tmp_path: Path) -> Iterator[object]:
    before = set(default_registry.names())

    def make(lhs: str, rhs: str, claim: str) -> str:
        path = tmp_path / f"rules_{next(_ids)}.py"
        path.write_text(TEMPLATE.format(name=f"cli-test-{next(_ids)}", lhs=lhs, rhs=rhs, claim=claim))
        return str(path)

    yield make
    for name in set(default_registry.names()) - before:
        default_registry.unregister(name)


def test_check_rules_exit_status(rules_file, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert check_rules_main(["--from", rules_file("?x * 1", "?x", "exact"), "--profile", "dev"]) == 0
    assert "passed" in capsys.readouterr().out
    assert check_rules_main(["--from", rules_file("?x / ?x", "1", "exact"), "--profile", "dev"]) == 1
    out = capsys.readouterr().out
    assert "counterexample" in out and "float.fromhex" in out


def test_prove_exit_status(rules_file, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert prove_main(["--from", rules_file("log(exp(?x))", "?x", "real")]) == 0
    assert "proved" in capsys.readouterr().out
    assert prove_main(["--from", rules_file("sqrt(?x * ?x)", "?x", "real")]) == 1
    assert "refuted" in capsys.readouterr().out


def test_from_file_that_registers_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(SystemExit, match="registered no ruleset"):
        check_rules_main(["--from", str(empty)])


def test_module_entry_point_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "check-rules" in capsys.readouterr().out
