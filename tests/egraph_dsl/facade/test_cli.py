"""The egraph-dsl command: subcommands wired, errors as a message and exit status 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from egraph_dsl.facade.cli import main

SAMPLE = next((p / "shared" / "data" / "egraphs" / "egg__math_associate_adds.json"
               for p in Path(__file__).resolve().parents
               if (p / "shared" / "data" / "egraphs" / "egg__math_associate_adds.json").exists()),
              Path("/work/shared/data/egraphs/egg__math_associate_adds.json"))


def test_rulesets_lists_the_shipped_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rulesets"]) == 0
    out = capsys.readouterr().out
    for name in ("algebra", "stability", "linalg", "reassociate"):
        assert name in out


def test_unknown_ruleset_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-rules", "nosuch"]) == 2
    assert "unknown ruleset 'nosuch'" in capsys.readouterr().err


def test_check_rules_on_a_user_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "mine.py"
    rules.write_text(
        "import egraph_dsl as ed\n"
        "ed.register(ed.RuleSet('mine-ok', [ed.rewrite('?x * 1', '?x', name='m1')]))\n"
        "ed.register(ed.RuleSet('mine-bad', [ed.rewrite('sqrt(?x * ?x)', '?x', name='bad', claim='real')]))\n"
    )
    assert main(["check-rules", "--from", str(rules), "--profile", "dev"]) == 1
    out = capsys.readouterr().out
    assert "counterexample" in out and "m1" in out


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared sample e-graphs not present")
def test_extract_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(SAMPLE), "--method", "greedy-dag", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"cost", "lower_bound", "optimal", "choices", "seconds", "method", "stop_reason",
                           "fallback", "stop_detail"} and result["cost"] == 13
    assert result["method"] == "greedy-dag" and result["stop_reason"] == "greedy"  # no proof from a heuristic


def test_demo_shows_naive_nan_and_finite_optimized_values() -> None:
    from egraph_dsl.facade.demo import main as demo

    out = io.StringIO()
    assert demo(out) == 0
    text = out.getvalue()
    assert "softplus" in text and "nan" in text and "reference (mpmath)" in text
    extreme_row = next(line for line in text.splitlines() if line.strip().startswith("│") and " 800 " in line)
    cells = [c.strip() for c in extreme_row.split("│") if c.strip()]
    assert cells[1] == "nan" and cells[2] == cells[3]  # naive nan; ours equals the 50-digit reference


@pytest.mark.parametrize("argv", [["check-rules", "--from", "{missing}"], ["prove", "--from", "{missing}"],
                                  ["show", "{missing}:fn"], ["show", "{broken}:fn"]])
def test_missing_or_broken_files_are_one_line_errors(argv: list[str], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import numpy\nraise ValueError('bad file')\n")
    args = [a.format(missing=tmp_path / "missing.py", broken=broken) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert ("no such file" in err or "bad file (line 2)" in err) and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["check-rules", "prove", "show"])
def test_help_says_which_files_are_run(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "run as Python code" in " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = " ".join(capsys.readouterr().out.split())
    assert f"{command} " in listed and "runs FILE.py" in listed
