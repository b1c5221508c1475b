"""A deadline that long pure-Python stages (pruning, formulation) check as they go."""

from __future__ import annotations

import time

__all__ = ["OutOfTime", "check"]


class OutOfTime(Exception):  # noqa: N818  (control flow inside extract, not an error)
    """Raised by :func:`check` once the deadline has passed; the ILP then returns greedy."""


def check(deadline: float | None) -> None:
    """Raise :class:`OutOfTime` when ``deadline`` (a ``time.perf_counter()`` value) is past."""
    if deadline is not None and time.perf_counter() >= deadline:
        raise OutOfTime
