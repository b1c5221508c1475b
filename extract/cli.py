"""``egraph-dsl extract FILE [--method ...] [--time-limit S] [--json]``.

With ``--json`` prints exactly one JSON object ``{"cost", "lower_bound", "optimal",
"stop_reason", "fallback", "stop_detail", "method", "choices", "seconds"}`` (ids as in the
file); otherwise a short readable summary. The ILP time limit covers the whole command:
loading counts against it. Errors go to stderr, one line, with exit status 2. A root
e-class with no nodes is such an error; ``--drop-empty-roots`` drops those roots instead,
with a one-line warning on stderr naming them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

from .api import DEFAULT_TIME_LIMIT, METHODS, extract
from .errors import EmptyRootsWarning, ExtractionError
from .serialize_io import load

__all__ = ["add_arguments", "main", "run"]

_OUTPUT_RESERVE = 0.05  # seconds kept back from the ILP for writing the answer


def _process_age() -> float:
    """Seconds since this process started (interpreter start-up and imports count against
    ``--time-limit`` too); 0 where ``/proc`` cannot tell."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time after boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def _output_reserve(num_classes: int) -> float:
    """Seconds kept back for building and writing the answer (10^5 classes: about 0.1 s)."""
    return _OUTPUT_RESERVE + 1e-6 * num_classes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``extract`` subcommand's arguments to ``parser``."""
    parser.add_argument("file", help="e-graph in egraph-serialize JSON format")
    parser.add_argument("--method", choices=METHODS, default="ilp",
                        help="extractor (default: ilp, warm-started from greedy)")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                        help=f"ILP time limit in seconds (default {DEFAULT_TIME_LIMIT:g})")
    parser.add_argument("--node-limit", type=int, default=None, metavar="N",
                        help="ILP branch-and-bound node limit (HiGHS only)")
    parser.add_argument("--drop-empty-roots", action="store_true",
                        help="drop root e-classes that have no nodes (with a warning) "
                             "instead of rejecting the file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, started: float | None = None) -> int:
    """Run the subcommand for parsed ``args``; return the exit status.

    The time limit counts from ``started`` (a ``time.perf_counter()`` value; default: now).
    """
    start = time.perf_counter() if started is None else started
    try:
        if args.time_limit is not None and not args.time_limit > 0:
            raise ExtractionError(f"--time-limit must be positive, got {args.time_limit}")
        node_limit = getattr(args, "node_limit", None)
        if node_limit is not None and node_limit < 0:
            raise ExtractionError(f"--node-limit must be >= 0, got {node_limit}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EmptyRootsWarning)
            model = load(args.file, drop_empty_roots=getattr(args, "drop_empty_roots", False))
        for warning in caught:
            print(f"egraph-dsl extract: warning: {warning.message}", file=sys.stderr)
        left = (args.time_limit - (time.perf_counter() - start)
                - _output_reserve(model.num_classes))
        result = extract(model, args.method, time_limit=max(left, 0.0), node_limit=node_limit)
    except (ExtractionError, OSError) as exc:
        print(f"egraph-dsl extract: error: {exc}", file=sys.stderr)
        return 2
    except RecursionError:  # a safety net: the loader turns deep nesting into an error itself
        print(f"egraph-dsl extract: error: {args.file} is nested too deeply to process",
              file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    if args.json:
        payload = result.to_json()
        payload["seconds"] = seconds
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        bound = "unknown" if result.lower_bound is None else f"{result.lower_bound:.6g}"
        gap = "" if result.gap is None else f" (gap {result.gap:.6g})"
        print(f"file:        {args.file}")
        print(f"graph:       {model.num_nodes} nodes, {model.num_classes} e-classes, "
              f"{len(model.roots)} roots")
        print(f"method:      {result.method}")
        print(f"cost:        {result.cost:.10g}  (DAG cost, {len(result.choices)} classes chosen)")
        print(f"lower bound: {bound}{gap}")
        print(f"optimal:     {'yes (proven)' if result.optimal else 'not proven'}")
        why = result.stop_reason + (f" -> {result.fallback}" if result.fallback else "")
        print(f"stopped:     {why}{f' ({result.stop_detail})' if result.stop_detail else ''}")
        print(f"seconds:     {seconds:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m egraph_dsl.extract FILE ...``.

    Run as the program (``argv`` None), the time limit counts from the process's start.
    """
    started = time.perf_counter() - _process_age() if argv is None else None
    parser = argparse.ArgumentParser(prog="egraph-dsl extract",
                                     description="Extract the cheapest program from an e-graph.")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    status = run(args, started)
    if argv is None:
        # the answer is out: skip the interpreter's teardown (freeing a 10^6-node model took
        # 1.5 s) and a solve past its deadline still winding down (see highs_backend)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status
