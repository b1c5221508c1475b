"""Command-line entry points for the lead's ``egraph-dsl`` command: ``check-rules`` and ``prove``.

    egraph-dsl check-rules [NAME ...] [--from FILE.py] [--profile dev|ci|thorough] [--cache-dir DIR]
    egraph-dsl prove [NAME ...] [--from FILE.py] [--write --dir DIR | --check [--dir DIR]] [--timeout MS]

``--from FILE.py`` runs FILE.py as Python code (that is how it registers its rulesets): use it only
on files you trust. Exit status 1 on a counterexample, a refuted proof, or (``prove --check``) a
stale certificate; 2 on bad input (a missing file, an unknown ruleset), as a one-line message;
0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import runpy
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from egraph_dsl.rulesets import register_shipped

from egraph_dsl.errors import EgraphDslError
from egraph_dsl.registry import RuleSet, default_registry

from . import certificates
from .check import RuleResult, check_rules
from .profiles import EXAMPLES
from .prove import DEFAULT_TIMEOUT_MS, prove_rules

STYLE = {"passed": "green", "proved": "green", "untested": "yellow", "unknown": "yellow",
         "counterexample": "red", "refuted": "red", "error": "red"}

RUNS_CODE = ("FILE.py is run as Python code to register its rulesets: only use files you trust")


class UsageError(EgraphDslError):
    """Bad command-line input: reported as one line, exit status 2."""


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


def run_rules_file(path: str) -> None:
    """Run ``path`` (a Python file that registers rulesets); any problem becomes a UsageError."""
    file = Path(path)
    if not file.exists():
        raise UsageError(f"--from {path}: no such file")
    if not file.is_file():
        raise UsageError(f"--from {path}: not a file (give the Python file that registers your rulesets)")
    try:
        runpy.run_path(str(file), run_name="__egraph_dsl_rules__")
    except SystemExit as exc:
        raise UsageError(f"--from {path}: the file called exit({exc.code!r}) while registering its rulesets") from None
    except Exception as exc:  # the user's code: name the error and its line, not our traceback
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == file.resolve()]
        line = frames[-1].lineno if frames and not isinstance(exc, SyntaxError) else None  # SyntaxError names it
        where = f" (line {line})" if line else ""
        raise UsageError(f"--from {path}: running it raised {type(exc).__name__}: {exc}{where}") from None


def select_rulesets(names: Sequence[str], from_file: str | None) -> list[RuleSet]:
    """The rulesets to work on: named ones, those ``--from FILE`` registers, or all shipped ones."""
    register_shipped(default_registry)  # the shipped ones can always be named
    if from_file:
        before = set(default_registry.names())
        run_rules_file(from_file)
        added = [n for n in default_registry.names() if n not in before]
        if not names and not added:
            raise UsageError(f"{from_file} registered no ruleset (call egraph_dsl.registry.register(RuleSet(...)))")
        names = list(names) or added
    elif not names:
        names = default_registry.names()
    return [default_registry.get(n) for n in names]


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=f"{description} Note: --from {RUNS_CODE}.")
    p.add_argument("names", nargs="*", metavar="NAME", help="ruleset names (default: all registered)")
    p.add_argument("--from", dest="from_file", metavar="FILE.py",
                   help=f"use the rulesets FILE.py registers ({RUNS_CODE})")
    return p


@contextlib.contextmanager
def hypothesis_storage(directory: str | None) -> Iterator[Path]:
    """Hypothesis keeps its caches in ``directory``, or in a temporary one removed afterwards,
    never in the current directory."""
    from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

    previous = storage_directory(intent_to_write=False).home_directory
    with contextlib.ExitStack() as stack:
        if directory is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="egraph-dsl-hypothesis-")))
        else:
            home = Path(directory)
            if home.exists() and not home.is_dir():
                raise UsageError(f"--cache-dir {directory}: not a directory")
        set_hypothesis_home_dir(home)
        try:
            yield home
        finally:
            set_hypothesis_home_dir(previous)


def _reported(body: Callable[[], int], prog: str) -> int:
    """Run a command body; bad input becomes one line on stderr and exit status 2."""
    try:
        return body()
    except EgraphDslError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


def check_rules_main(argv: Sequence[str] | None = None) -> int:
    """``egraph-dsl check-rules``: property-test rules; 1 if any rule is unsound or errors."""
    p = _parser("egraph-dsl check-rules", "Property-test rewrite rules on drawn inputs.")
    p.add_argument("--profile", default="ci", choices=sorted(EXAMPLES))
    p.add_argument("--cache-dir", metavar="DIR",
                   help="keep hypothesis' caches in DIR (default: a temporary directory, removed afterwards)")
    args = p.parse_args(argv)

    def body() -> int:
        sets = select_rulesets(args.names, args.from_file)
        start = time.perf_counter()

        def show(r: RuleResult) -> None:
            _print(r.text(), r.status)

        with hypothesis_storage(args.cache_dir):
            report = check_rules(sets, profile=args.profile, on_result=show)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items()))
        _print(f"{len(report.results)} rules in {', '.join(s.name for s in sets)}: {summary or 'none'} "
               f"(profile {args.profile}, {time.perf_counter() - start:.1f}s)", "passed" if report.ok else "error")
        return 0 if report.ok else 1

    return _reported(body, "egraph-dsl check-rules")


def prove_main(argv: Sequence[str] | None = None) -> int:
    """``egraph-dsl prove``: prove rules with z3; ``--write DIR`` stores certificates; 1 if any is refuted."""
    p = _parser("egraph-dsl prove", "Prove rewrite rules with z3, over the reals and in IEEE floats.")
    p.add_argument("--write", action="store_true", help="write a certificate DIR/<ruleset>.json per ruleset (needs --dir)")
    p.add_argument("--check", action="store_true", help="only check that stored certificates are current")
    p.add_argument("--dir", metavar="DIR",
                   help="where certificates are written (--write; the repository's own: --dir proofs/certificates) "
                        "or read (--check; default: those shipped with egraph-dsl)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_MS, help="per obligation, in milliseconds")
    args = p.parse_args(argv)
    if args.check and args.write:
        p.error("--check and --write exclude each other")
    if args.write and not args.dir:
        p.error("--write needs --dir DIR, the directory to write certificates into "
                "(the repository's own: --dir proofs/certificates)")

    def body() -> int:
        out = certificates.target_directory(args.dir) if args.write else None
        stored = certificates.existing_directory(args.dir) if args.check and args.dir else None
        sets = select_rulesets(args.names, args.from_file)
        for rs in sets:  # refuse a name that cannot be a file name before proving anything
            certificates.path_for(rs.name, out or stored)
        if args.check:
            problems = [msg for rs in sets for msg in certificates.stale(rs, stored)]
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
            if out is not None:
                _print(f"wrote {certificates.write(rs.name, proofs, out)}")
        return 1 if failed else 0

    return _reported(body, "egraph-dsl prove")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m egraph_dsl.proofs.cli check-rules|prove …`` until the console command is wired."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"check-rules": check_rules_main, "prove": prove_main}
    if not argv or argv[0] not in commands:
        print(f"usage: python -m egraph_dsl.proofs.cli {{{'|'.join(commands)}}} [NAME ...] [options]")
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
