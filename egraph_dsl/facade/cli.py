"""The ``egraph-dsl`` command: demo, extract, check-rules, prove, show, rulesets."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main()


def _extract(args: argparse.Namespace) -> int:
    from egraph_dsl.extract.cli import run

    return run(args)


def _check_rules(rest: Sequence[str]) -> int:
    from egraph_dsl.proofs.cli import check_rules_main

    return check_rules_main(list(rest))


def _prove(rest: Sequence[str]) -> int:
    from egraph_dsl.proofs.cli import prove_main

    return prove_main(list(rest))


def _show(rest: Sequence[str]) -> int:
    from .show import show_main

    return show_main(list(rest))


def _rulesets(args: argparse.Namespace) -> int:
    from egraph_dsl import rulesets

    from ..registry import default_registry

    for rs in rulesets.register_shipped(default_registry):
        print(f"{rs.name:12s} {len(rs.rules):3d} rules  tags: {', '.join(sorted(rs.tags))}  {rs.doc}")
        if args.verbose:
            for r in rs.rules:
                print(f"    {r}")
    return 0


_PASSTHROUGH = {"check-rules": _check_rules, "prove": _prove, "show": _show}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; library errors become a one-line message on stderr and exit status 2."""
    from ..errors import EgraphDslError

    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except EgraphDslError as exc:
        print(f"egraph-dsl: error: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    if argv and argv[0] in _PASSTHROUGH:
        from egraph_dsl import rulesets

        from ..registry import default_registry

        rulesets.register_shipped(default_registry)  # the shipped rulesets, so they can be named
        return _PASSTHROUGH[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(prog="egraph-dsl", description="equality saturation for NumPy programs")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="optimize the reactivity model and compare with naive NumPy").set_defaults(run=_demo)
    from egraph_dsl.extract.cli import add_arguments

    p = sub.add_parser("extract", help="extract the cheapest program from an egraph-serialize JSON file")
    add_arguments(p)
    p.set_defaults(run=_extract)
    p = sub.add_parser("rulesets", help="list the registered rulesets")
    p.add_argument("-v", "--verbose", action="store_true", help="list every rule")
    p.set_defaults(run=_rulesets)
    for name, text in (("check-rules", "property-test rules; --from FILE.py runs FILE.py"),
                       ("prove", "prove rules with z3; --from FILE.py runs FILE.py"),
                       ("show", "draw a program as SVG/DOT; runs the FILE.py of FILE.py:fn")):
        sub.add_parser(name, help=f"{text} (see egraph-dsl {name} --help)")
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
