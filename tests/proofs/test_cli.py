"""``check-rules`` and ``prove`` entry points: --from FILE, exit status, readable output."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from egraph_dsl.proofs.cli import check_rules_main, main, prove_main

from egraph_dsl import rulesets
from egraph_dsl.registry import default_registry

rulesets.register_shipped(default_registry)  # registered before the fixture notes what a test added

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


def test_from_file_that_registers_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert check_rules_main(["--from", str(empty)]) == 2
    assert "registered no ruleset" in capsys.readouterr().err


def test_module_entry_point_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "check-rules" in capsys.readouterr().out


@pytest.mark.parametrize("command", [check_rules_main, prove_main])
@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("directory", "not a file"),
    ("x = (\n", "SyntaxError"),
    ("import egraph_dsl\n\nraise RuntimeError('boom')\n", "RuntimeError: boom (line 3)"),
    ("raise SystemExit(3)\n", "called exit(3)"),
])
def test_bad_from_files_are_one_line_errors(command, content: str | None, message: str,  # type: ignore[no-untyped-def]
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing --from file gave a FileNotFoundError traceback (and a broken one the file's traceback)."""
    path = tmp_path / "rules.py"
    if content == "directory":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    assert command(["--from", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_help_says_that_from_runs_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (check_rules_main, prove_main):
        with pytest.raises(SystemExit):
            command(["--help"])
        assert "run as Python code" in " ".join(capsys.readouterr().out.split())


def test_check_rules_leaves_no_hypothesis_directory(tmp_path: Path) -> None:
    """check-rules left .hypothesis/ in the current directory (a fresh process: hypothesis writes its
    caches on first use). It runs outside the repository, from the installed package only: it
    once imported the shipped rulesets as a top-level ``rulesets`` and failed there."""
    env = {**os.environ, "EGRAPH_DSL_CHECK_RULES": "0"}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    command = [sys.executable, "-m", "egraph_dsl.proofs.cli", "check-rules", "linalg", "--profile", "dev"]
    work = tmp_path / "work"
    work.mkdir()
    env.pop("PYTHONPATH", None)
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(work.iterdir()) == []
    cache = tmp_path / "cache"
    done = subprocess.run([*command, "--cache-dir", str(cache)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(work.iterdir()) == [] and cache.is_dir() and any(cache.iterdir())  # the user's directory


def test_hypothesis_storage_is_restored_for_the_caller(tmp_path: Path) -> None:
    from egraph_dsl.proofs.cli import hypothesis_storage
    from hypothesis.configuration import storage_directory

    home = storage_directory(intent_to_write=False).home_directory
    with hypothesis_storage(str(tmp_path)) as used:
        assert used == tmp_path == storage_directory(intent_to_write=False).home_directory
    with hypothesis_storage(None) as temporary:
        assert temporary.is_dir() and storage_directory(intent_to_write=False).home_directory == temporary
    assert not temporary.exists()
    assert storage_directory(intent_to_write=False).home_directory == home


def test_prove_write_needs_a_directory_and_writes_only_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--write wrote into the installed package; now it needs --dir and writes there."""
    from egraph_dsl.proofs import certificates

    shipped = sorted(p.name for p in certificates.DIRECTORY.iterdir())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        prove_main(["linalg", "--write"])
    assert "--write needs --dir DIR" in capsys.readouterr().err
    out = tmp_path / "certs"
    assert prove_main(["linalg", "--write", "--dir", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["linalg.json"]
    assert prove_main(["linalg", "--check", "--dir", str(out)]) == 0
    assert sorted(p.name for p in certificates.DIRECTORY.iterdir()) == shipped
    assert prove_main(["linalg", "--check", "--dir", str(tmp_path / "absent")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert prove_main(["linalg", "--write", "--dir", str(tmp_path / "no" / "such")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_prove_refuses_ruleset_names_that_leave_the_directory(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A ruleset named ../../../../elsewhere/x wrote outside proofs/certificates."""
    from egraph_dsl.registry import RuleSet
    from egraph_dsl.rules import rewrite

    evil = RuleSet.__new__(RuleSet)  # the registry now refuses such names; the writer must too
    object.__setattr__(evil, "name", "../../../../elsewhere/x")
    object.__setattr__(evil, "rules", (rewrite("?x * 1", "?x", name="m1"),))
    object.__setattr__(evil, "tags", frozenset())
    object.__setattr__(evil, "doc", "")
    default_registry._sets[evil.name] = evil
    try:
        out = tmp_path / "a" / "b" / "c" / "d" / "certs"
        out.parent.mkdir(parents=True)
        assert prove_main([evil.name, "--write", "--dir", str(out)]) == 2
    finally:
        del default_registry._sets[evil.name]
    assert "cannot be a certificate file name" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists() and not list(out.iterdir())
