"""One exception hierarchy for egraph-dsl: every message says what was wrong, where, and what to do."""

from __future__ import annotations


class EgraphDslError(Exception):
    """Base class of every error egraph-dsl raises on purpose."""


class TraceError(EgraphDslError):
    """The traced NumPy code did something the tracer cannot represent."""


class UnsupportedOperationError(TraceError, TypeError):
    """A NumPy function, ufunc or method has no op in the op table."""


class ShapeError(TraceError, ValueError):
    """Operand shapes do not fit together (matmul, broadcasting, reshape, axes)."""


class DTypeError(TraceError, TypeError):
    """An array dtype the library does not support (object, strings, complex …), or an operation
    NumPy refuses for the operands' dtypes (``-`` on booleans)."""


class ScalarOverflowError(TraceError, OverflowError):
    """A Python integer does not fit the dtype NumPy would convert it to (as NumPy raises)."""


class IntegerPowerError(TraceError, ValueError):
    """An integer raised to a negative integer power (NumPy refuses it too)."""


class SignatureError(EgraphDslError, TypeError):
    """Arguments of a call do not match what the function was traced or declared with."""


class GradientError(EgraphDslError, ValueError):
    """A gradient that cannot be taken: a non-scalar or non-float output, a non-float argument,
    or ``argnums`` naming no argument."""


class RuleError(EgraphDslError, ValueError):
    """A malformed rewrite rule or pattern."""


class PatternError(RuleError):
    """A pattern that does not parse or names an unknown op."""


class RulesetError(EgraphDslError, KeyError):
    """An unknown or duplicate ruleset name, or a bad registry query."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class UnsoundRuleError(RulesetError):
    """A user rule failed its property test at first use: a counterexample shows its claim is wrong."""


class OptionError(EgraphDslError, ValueError):
    """An option that names nothing known: a cost model or an extractor."""


class LimitsError(EgraphDslError, ValueError):
    """Saturation limits that are zero, negative or of the wrong type."""


class SaturationError(EgraphDslError, RuntimeError):
    """The e-graph engine failed while running rules."""


class ConstantConflictError(SaturationError):
    """Two different constants became equal: some rule that fired is unsound."""


class ScopeError(EgraphDslError, ValueError):
    """A scope that matches nothing or refers to ops outside the program."""


class ExtractionFailedError(EgraphDslError, RuntimeError):
    """No program could be extracted from the e-graph (a bug or an unsound rule)."""


class BackendError(EgraphDslError, RuntimeError):
    """A backend cannot run this plan."""


class BackendUnavailableError(BackendError):
    """The requested backend needs hardware or packages that are not present."""


class HistoryError(EgraphDslError, IndexError):
    """Undo/redo with nothing to undo or redo."""
