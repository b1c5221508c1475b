"""Plan executors, by name: ``numpy`` (CPU), ``native`` (generated C++ kernels, needs g++),
``cupy`` (NVIDIA GPU, optional extra) and ``dask`` (chunked arrays on a Dask scheduler,
optional extra).

A backend is a module with ``compile_plan(plan, **options) -> callable``; it is imported only
when asked for, so ``import backends`` never needs CuPy or a GPU.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from egraph_dsl.errors import BackendError

_BACKENDS: dict[str, str] = {
    "numpy": "egraph_dsl.backends.numpy_backend",
    "cupy": "egraph_dsl.backends.cupy_backend",
    "native": "egraph_dsl.backends.native_backend",
    "dask": "egraph_dsl.backends.dask_backend",
}


def names() -> list[str]:
    return sorted(_BACKENDS)


def register_backend(name: str, module: str) -> None:
    """Make ``backend=name`` load ``module`` (which must define ``compile_plan``)."""
    if name in _BACKENDS:
        raise BackendError(f"a backend named {name!r} is already registered")
    _BACKENDS[name] = module


def get_backend(name: str) -> ModuleType:
    try:
        path = _BACKENDS[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r}; available: {', '.join(names())}") from None
    return importlib.import_module(path)
