"""The dtypes egraph-dsl supports and NumPy's promotion between them."""

from __future__ import annotations

import numpy as np

from .errors import DTypeError

SUPPORTED = ("bool", "int32", "int64", "float32", "float64")
FLOATS = ("float32", "float64")


def canonical(dtype: object, where: str = "") -> str:
    """The name of a supported dtype, or a DTypeError saying which are supported."""
    try:
        name: str = np.dtype(dtype).name  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:  # np.dtype("f(1)") raises ValueError
        raise DTypeError(f"{where}unknown dtype {dtype!r}; supported: {', '.join(SUPPORTED)}") from exc
    if name not in SUPPORTED:
        raise DTypeError(
            f"{where}dtype {name} is not supported (supported: {', '.join(SUPPORTED)}); "
            "convert the array with .astype(np.float64) before calling"
        )
    return name


def promote(*names: str) -> str:
    """NumPy's result dtype of the given (non-weak) dtypes."""
    return canonical(np.result_type(*[np.dtype(n) for n in names]))


def is_integer(name: str | None) -> bool:
    return name in ("int32", "int64")


def is_float(name: str | None) -> bool:
    return name in FLOATS


def itemsize(name: str | None) -> int:
    return 8 if name is None else np.dtype(name).itemsize
