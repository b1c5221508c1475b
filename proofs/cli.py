"""Command-line entry points for the lead's ``egraph-dsl`` command: ``check-rules`` and ``prove``.

    egraph-dsl check-rules [NAME ...] [--from FILE.py] [--profile dev|ci|thorough]
    egraph-dsl prove [NAME ...] [--from FILE.py] [--write] [--timeout MS]

Exit status 1 on a counterexample, a refuted proof, an error, or (``prove --check``) a stale
certificate; 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import runpy
import sys
import time
from collections.abc import Sequence

from egraph_dsl.registry import RuleSet, default_registry

from . import certificates
from .check import RuleResult, check_rules
from .profiles import EXAMPLES
from .prove import DEFAULT_TIMEOUT_MS, prove_rules

STYLE = {"passed": "green", "proved": "green", "untested": "yellow", "unknown": "yellow",
         "counterexample": "red", "refuted": "red", "error": "red"}


def _console() -> object:
    try:
        from rich.console import Console

        return Console(highlight=False, soft_wrap=True)
    except ImportError:  # rich is optional: plain text
        return None


def _print(text: str, status: str = "") -> None:
    console = _console()
    if console is not None and status:
        from rich.markup import escape

        console.print(f"[{STYLE.get(status, 'white')}]{escape(text)}[/]")  # type: ignore[attr-defined]
    else:
        print(text)


def select_rulesets(names: Sequence[str], from_file: str | None) -> list[RuleSet]:
    """The rulesets to work on: named ones, those ``--from FILE`` registers, or all shipped ones."""
    if from_file:
        before = set(default_registry.names())
        runpy.run_path(from_file, run_name="__egraph_dsl_rules__")
        added = [n for n in default_registry.names() if n not in before]
        if not names and not added:
            raise SystemExit(f"{from_file} registered no ruleset (call egraph_dsl.registry.register(RuleSet(...)))")
        names = list(names) or added
    elif not names:
        try:
            importlib.import_module("rulesets")
        except ImportError as exc:
            raise SystemExit(f"cannot import the shipped rulesets: {exc}") from None
        names = default_registry.names()
    return [default_registry.get(n) for n in names]


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog)
    p.add_argument("names", nargs="*", metavar="NAME", help="ruleset names (default: all registered)")
    p.add_argument("--from", dest="from_file", metavar="FILE.py", help="import FILE and use the rulesets it registers")
    return p


def check_rules_main(argv: Sequence[str] | None = None) -> int:
    """``egraph-dsl check-rules``: property-test rules; 1 if any rule is unsound or errors."""
    p = _parser("egraph-dsl check-rules")
    p.add_argument("--profile", default="ci", choices=sorted(EXAMPLES))
    args = p.parse_args(argv)
    sets = select_rulesets(args.names, args.from_file)
    start = time.perf_counter()

    def show(r: RuleResult) -> None:
        _print(r.text(), r.status)

    report = check_rules(sets, profile=args.profile, on_result=show)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items()))
    _print(f"{len(report.results)} rules in {', '.join(s.name for s in sets)}: {summary or 'none'} "
           f"(profile {args.profile}, {time.perf_counter() - start:.1f}s)", "passed" if report.ok else "error")
    return 0 if report.ok else 1


def prove_main(argv: Sequence[str] | None = None) -> int:
    """``egraph-dsl prove``: prove rules with z3; ``--write`` stores certificates; 1 if any is refuted."""
    p = _parser("egraph-dsl prove")
    p.add_argument("--write", action="store_true", help="write proofs/certificates/<ruleset>.json")
    p.add_argument("--check", action="store_true", help="only check that stored certificates are current")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_MS, help="per obligation, in milliseconds")
    args = p.parse_args(argv)
    sets = select_rulesets(args.names, args.from_file)
    if args.check:
        problems = [msg for rs in sets for msg in certificates.stale(rs)]
        for msg in problems:
            _print(msg, "error")
        _print(f"certificates of {', '.join(s.name for s in sets)}: {'current' if not problems else 'stale'}",
               "passed" if not problems else "error")
        return 1 if problems else 0
    failed = False
    for rs in sets:
        proofs = prove_rules([rs], timeout_ms=args.timeout)[rs.name]
        for proof in proofs:
            _print(proof.text(), proof.result)
            failed |= proof.result == "refuted"
        counts = {k: sum(1 for x in proofs if x.result == k) for k in ("proved", "unknown", "refuted")}
        _print(f"{rs.name}: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
               "refuted" if counts["refuted"] else "proved")
        if args.write:
            _print(f"wrote {certificates.write(rs.name, proofs)}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m proofs.cli check-rules|prove …`` until the console command is wired."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"check-rules": check_rules_main, "prove": prove_main}
    if not argv or argv[0] not in commands:
        print(f"usage: python -m proofs.cli {{{'|'.join(commands)}}} [NAME ...] [options]")
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
