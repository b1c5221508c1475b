"""Solve a :class:`~extract.formulation.Formulation` with HiGHS (single thread, warm start)."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .formulation import Formulation

__all__ = ["SolverResult", "solve_highs", "solver_running", "wait_for_solvers"]

_STOPPING: list[threading.Thread] = []  # solves left to stop after their deadline


def solver_running() -> bool:
    """Whether a solve left behind at its deadline is still winding down."""
    _STOPPING[:] = [t for t in _STOPPING if t.is_alive()]
    return bool(_STOPPING)


def wait_for_solvers() -> None:
    """Wait for the solves left behind at their deadline (HiGHS aborts the process if it is
    still running while the interpreter exits); registered with :mod:`atexit`."""
    for thread in list(_STOPPING):
        thread.join()
    _STOPPING.clear()


atexit.register(wait_for_solvers)


@dataclass(frozen=True)
class SolverResult:
    """What a MIP backend hands back: values (or None), dual bound, status, proven flag.

    ``limit`` is ``"time-limit"`` or ``"node-limit"`` when the solver stopped at that limit.
    """

    values: list[float] | None
    bound: float | None
    status: str
    proven_optimal: bool
    start_accepted: bool | None = None
    limit: str | None = None


def _new_highs() -> Any:
    """A ``Highs`` instance, created with file descriptor 1 silenced.

    HiGHS prints its banner to stdout from C++ when constructed, before ``output_flag`` can be
    set; that would corrupt the CLI's single JSON object.
    """
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


class _Watch:
    """What the callbacks of a running HiGHS saw last: its best solution and dual bound.

    HiGHS checks its ``time_limit`` (and calls the interrupt callback) only between phases
    of its search: on herbie files one root LP or cut round ran 0.3-2.5 s past the limit.
    So the solve runs in a thread of its own (HiGHS releases the GIL) and the caller waits at
    most until the deadline; if HiGHS is still busy then, the watch asks it to stop at its
    next check and the caller takes the last improving solution the callback reported.
    """

    def __init__(self, h: Any, deadline: float) -> None:
        self.deadline = deadline
        self.values: list[float] | None = None
        self.bound: float | None = None
        self.stop = False
        h.cbMipImprovingSolution.subscribe(self._improving)
        h.cbMipInterrupt.subscribe(self._check)
        h.cbSimplexInterrupt.subscribe(self._check)
        h.cbIpmInterrupt.subscribe(self._check)

    def _improving(self, event: Any) -> None:
        self.values = np.array(event.data_out.mip_solution, dtype=np.float64).tolist()
        self._check(event)

    def _check(self, event: Any) -> None:
        if self.stop or time.perf_counter() >= self.deadline:
            event.interrupt()


def solve_highs(form: Formulation, start: list[float] | None, time_limit: float,
                seed: int = 0, node_limit: int | None = None,
                deadline: float | None = None, levels: bool = True,
                extra_rows: Sequence[tuple[list[tuple[int, float]], float, float]] = ()
                ) -> SolverResult:
    """Run HiGHS on ``form`` with ``start`` as the incumbent (at most ``node_limit`` B&B nodes).

    ``deadline`` (a ``time.perf_counter()`` value; default ``time_limit`` plus one second) is a
    hard stop: the call returns by then with the best solution seen (see :class:`_Watch`)
    and ``limit="time-limit"``. ``levels=False`` leaves out the level (acyclicity) rows;
    ``extra_rows`` are added (cycle cuts, :mod:`extract.cycles`).
    """
    import highspy

    h = _new_highs()
    if deadline is None:
        deadline = time.perf_counter() + time_limit + 1.0
    time_limit = min(time_limit, deadline - time.perf_counter())
    watch = _Watch(h, deadline)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", seed)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    if node_limit is not None:
        h.setOptionValue("mip_max_nodes", int(node_limit))
    rows = form.rows + (form.level_rows() if levels else []) + list(extra_rows)
    lp = highspy.HighsLp()
    lp.num_col_ = form.num_cols
    lp.num_row_ = len(rows)
    lp.col_cost_ = np.asarray(form.col_cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(form.col_lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(form.col_upper, dtype=np.float64)
    inf = highspy.kHighsInf
    lp.row_lower_ = np.asarray([max(r[1], -inf) for r in rows], dtype=np.float64)
    lp.row_upper_ = np.asarray([min(r[2], inf) for r in rows], dtype=np.float64)
    starts = np.zeros(len(rows) + 1, dtype=np.int32)
    starts[1:] = np.cumsum([len(r[0]) for r in rows])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = form.num_cols
    lp.a_matrix_.num_row_ = len(rows)
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = np.asarray([c for r in rows for c, _ in r[0]], dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray([v for r in rows for _, v in r[0]], dtype=np.float64)
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer if flag else continuous for flag in form.col_integer]
    h.passModel(lp)
    accepted: bool | None = None
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(start)
        sol.value_valid = True
        accepted = h.setSolution(sol) == highspy.HighsStatus.kOk
    thread = threading.Thread(target=h.run, name="highs-solve", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.perf_counter()))
    if thread.is_alive():  # past the deadline inside one HiGHS phase: leave it to stop
        watch.stop = True
        _STOPPING.append(thread)
        seen = watch.values
        if seen is None and start is not None and accepted:
            seen = list(start)
        return SolverResult(values=seen, bound=None,
                            status="stopped at the deadline (HiGHS was between checks)",
                            proven_optimal=False, start_accepted=accepted, limit="time-limit")
    status = h.getModelStatus()
    info = h.getInfo()
    values: list[float] | None = None
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        values = list(h.getSolution().col_value)
    bound = float(info.mip_dual_bound)
    statuses = highspy.HighsModelStatus
    proven = status == statuses.kOptimal
    limit = ("time-limit" if status in (statuses.kTimeLimit, statuses.kInterrupt) else
             "node-limit" if status in (statuses.kSolutionLimit, statuses.kIterationLimit)
             else None)
    return SolverResult(values=values, bound=bound if np.isfinite(bound) else None,
                        status=h.modelStatusToString(status), proven_optimal=proven,
                        start_accepted=accepted, limit=limit)
