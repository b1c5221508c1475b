"""Pause Python's cyclic garbage collector around allocation-heavy passes.

Loading a 10^6-node file builds millions of dicts and lists, and greedy DAG millions of
frozensets; none of them form reference cycles, yet each full collection rescans all of
them, which made those passes grow faster than linearly. Reference counting still frees
everything; the collector resumes (if it was running) when the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic GC inside the block, restoring its previous state afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
