"""The ``egraph-dsl show`` command: trace a function from a file, optimize it, and draw it.

``show_main`` loads ``FILE.py:function``, finds example shapes it traces with (``--shapes`` or small
defaults), runs the chosen rulesets in a :class:`~.session.Session` and writes the pictures of
:mod:`.viz` (SVG and/or DOT) of the optimized program or of the e-graph.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import itertools
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import EgraphDslError, TraceError
from ..trace import ArraySpec, trace_function
from .session import Session
from .viz import egraph_graph, program_graph, to_dot, to_svg

DEFAULT_SHAPES: tuple[tuple[int, ...], ...] = ((8,), (8, 8), ())


def parse_shapes(text: str) -> dict[str, tuple[int, ...]]:
    """``"x=500x8,y=500,b="`` -> {"x": (500, 8), "y": (500,), "b": ()} (empty: a scalar)."""
    out: dict[str, tuple[int, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, dims = part.partition("=")
        if not eq or not name.strip().isidentifier():
            raise ValueError(f"bad --shapes entry {part!r}: write name=3x4 (or name= for a scalar)")
        try:
            out[name.strip()] = tuple(int(d) for d in dims.lower().split("x") if d.strip())
        except ValueError:
            raise ValueError(f"bad --shapes entry {part!r}: dimensions are integers joined by 'x'") from None
    return out


def example_args(fn: Any, shapes: Mapping[str, tuple[int, ...]]) -> list[Any]:
    """ArraySpecs for ``fn``'s parameters: the given shapes; each other one tries (8,), (8, 8), ()."""
    params = [p.name for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    unknown = set(shapes) - set(params)
    if unknown:
        raise ValueError(f"--shapes names {sorted(unknown)}, which {fn.__name__} does not take ({', '.join(params)})")
    free = [p for p in params if p not in shapes]
    last: Exception | None = None
    for attempt, combo in enumerate(itertools.product(DEFAULT_SHAPES, repeat=len(free))):
        if attempt >= 256:
            break
        chosen = dict(zip(free, combo, strict=True)) | dict(shapes)
        args = [ArraySpec(chosen[p]) for p in params]
        try:
            trace_function(fn, args)
            return args
        except TraceError as exc:
            last = exc
    raise ValueError(f"could not find example shapes for {fn.__name__}: pass --shapes (last error: {last})")


def load_function(target: str) -> Any:
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise ValueError(f"{target!r}: write FILE.py:function")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"egraph_dsl_show_{file.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)  # runs the user's file: --help says so
    except Exception as exc:
        line = None if isinstance(exc, SyntaxError) else _line_in(exc, file)  # a SyntaxError names its line
        raise ValueError(f"{path}: running it raised {type(exc).__name__}: {exc}"
                         f"{f' (line {line})' if line else ''}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ValueError(f"{path} has no function {name!r}")
    return fn


def _line_in(exc: BaseException, file: Path) -> int | None:
    """The last line of ``file`` in the traceback of ``exc``."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == file.resolve()]
    return lines[-1] if lines else None


def show_main(argv: Sequence[str] | None = None) -> int:
    """``egraph-dsl show FILE.py:function [--svg out.svg] [--dot out.dot] [--egraph] [--shapes x=3x4,...]``."""
    ap = argparse.ArgumentParser(prog="egraph-dsl show", description="Trace a NumPy function, optimize it and "
                                 "draw the program (or the e-graph). Note: FILE.py is imported, that is, run as "
                                 "Python code: only use files you trust.")
    ap.add_argument("target", help="FILE.py:function (FILE.py is run as Python code)")
    ap.add_argument("--svg", help="write an SVG picture here")
    ap.add_argument("--dot", help="write Graphviz DOT text here")
    ap.add_argument("--egraph", action="store_true", help="draw the e-graph instead of the program")
    ap.add_argument("--shapes", default="", help="example shapes, e.g. x=500x8,y=500 (others: tried small shapes)")
    ap.add_argument("--rulesets", default="algebra,stability,linalg", help="comma-separated rulesets ('' = none)")
    ap.add_argument("--iterations", type=int, default=4, help="saturation iterations (default 4)")
    ap.add_argument("--nodes", type=int, default=5000, help="e-node limit (default 5000)")
    ap.add_argument("--engine", default="auto", choices=["auto", "dot", "python"], help="SVG renderer")
    args = ap.parse_args(list(argv) if argv is not None else None)
    try:
        fn = load_function(args.target)
        session = Session(fn, *example_args(fn, parse_shapes(args.shapes)))
        names = [r for r in args.rulesets.split(",") if r.strip()]
        if names:
            session.apply([n.strip() for n in names], limits={"iterations": args.iterations, "nodes": args.nodes})
        session.show(file=sys.stdout)
        if args.egraph:
            snap = session.snapshot()
            graph = egraph_graph(snap, session.root_classes())
        else:
            graph = program_graph(session.current, session.op_costs())
        if args.svg:
            Path(args.svg).write_text(to_svg(graph, args.engine), encoding="utf-8")
            print(f"wrote {args.svg}")
        if args.dot:
            Path(args.dot).write_text(to_dot(graph), encoding="utf-8")
            print(f"wrote {args.dot}")
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"egraph-dsl show: {exc}", file=sys.stderr)
        return 2
    except EgraphDslError as exc:  # from tracing or saturating: report it, do not crash
        print(f"egraph-dsl show: {exc}", file=sys.stderr)
        return 2
    return 0
