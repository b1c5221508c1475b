"""Exceptions raised by the extractor: bad input, no finite answer, or an internal bug.

All derive from :class:`ExtractionError`, a ``ValueError`` in the library's one hierarchy
(:class:`egraph_dsl.errors.EgraphDslError`), so ``except ExtractionError`` catches the extractor's
errors and ``except EgraphDslError`` every error egraph-dsl raises.
Messages name the node or class involved and say what to do about it.
"""

from __future__ import annotations

from egraph_dsl.errors import EgraphDslError

__all__ = [
    "CostOverflowError",
    "EmptyRootsWarning",
    "ExtractionError",
    "InvalidExtractionError",
    "MalformedEGraphError",
    "NoFiniteExtractionError",
]


class ExtractionError(EgraphDslError, ValueError):
    """Base class of every error raised by :mod:`egraph_dsl.extract`."""


class MalformedEGraphError(ExtractionError):
    """The serialized e-graph is not well formed (dangling child, missing field, NaN cost...)."""


class NoFiniteExtractionError(ExtractionError):
    """A root e-class has no acyclic derivation (every term for it is infinite)."""


class CostOverflowError(NoFiniteExtractionError):
    """Every extraction's cost overflows the float range (finite node costs, infinite sum)."""


def overflow_message(what: str) -> str:
    """The one message for costs whose sum exceeds the float range, naming ``what`` overflows."""
    return (f"{what} overflows the float range (about 1.8e308) although every node cost is "
            "finite; scale the costs down")


class InvalidExtractionError(ExtractionError):
    """A set of choices fails verification: a root or child unchosen, a cycle, a wrong cost.

    Raised by :func:`egraph_dsl.extract.verify.verify`. When an extractor of this package triggers it,
    that is a bug in the extractor, never a property of the input.
    """


class EmptyRootsWarning(UserWarning):
    """Root e-classes without nodes were dropped (``drop_empty_roots=True``)."""
