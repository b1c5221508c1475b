"""Plan executors, by name: ``numpy`` (CPU), ``native`` (generated C++ kernels, needs g++),
``cupy`` (NVIDIA GPU, optional extra) and ``dask`` (chunked arrays on a Dask scheduler,
optional extra).

A backend is a module that declares itself (:class:`Backend`): its ``NAME``, the cost model jit
uses with it, whether it generates kernels, ``available()`` and ``compile_plan(plan, **options)``.
It is imported only when asked for, so ``import egraph_dsl.backends`` never needs CuPy or a GPU;
the façade asks the module, never compares backend names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

from egraph_dsl.errors import BackendError
from egraph_dsl.plan import Plan

_BACKENDS: dict[str, str] = {
    "numpy": "egraph_dsl.backends.numpy_backend",
    "cupy": "egraph_dsl.backends.cupy_backend",
    "native": "egraph_dsl.backends.native_backend",
    "dask": "egraph_dsl.backends.dask_backend",
}

DECLARED = ("NAME", "DEFAULT_COST_MODEL", "GENERATES_KERNELS", "available", "compile_plan")


class Backend(Protocol):
    """What a backend module declares (module attributes; a module satisfies this protocol)."""

    NAME: str
    DEFAULT_COST_MODEL: str  # a cost-model name (``"cpu"``, ``"gpu"``)
    GENERATES_KERNELS: bool  # True: ``lower(plan, args)`` gives the generated kernels, no device needed

    def available(self) -> bool:
        """Whether plans can run here now (packages, compiler, device)."""
        ...

    def compile_plan(self, plan: Plan, **options: Any) -> Callable[..., Any]:
        """The executable of ``plan``."""
        ...


class KernelBackend(Backend, Protocol):
    """A backend with ``GENERATES_KERNELS = True``: it also lowers a plan to its kernels."""

    def lower(self, plan: Plan, args: Sequence[Any] | None = None) -> Any:
        """The generated kernels of ``plan`` (for the shapes of ``args`` when given); no device needed."""
        ...


def names() -> list[str]:
    return sorted(_BACKENDS)


def register_backend(name: str, module: str) -> None:
    """Make ``backend=name`` load ``module``, which declares :class:`Backend` with ``NAME = name``."""
    if name in _BACKENDS:
        raise BackendError(f"a backend named {name!r} is already registered")
    _BACKENDS[name] = module


def get_backend(name: str) -> Backend:
    """The backend module registered as ``name`` (unknown names and missing extras raise BackendError)."""
    try:
        path = _BACKENDS[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r}; available: {', '.join(names())}") from None
    module = importlib.import_module(path)
    declared = DECLARED + (("lower",) if getattr(module, "GENERATES_KERNELS", False) else ())
    missing = [attribute for attribute in declared if not hasattr(module, attribute)]
    if missing:
        raise BackendError(f"the module {path} registered as backend {name!r} does not declare "
                           f"{', '.join(missing)}; a backend module defines {', '.join(DECLARED)} (and lower when it "
                           "generates kernels)")
    if module.NAME != name:
        raise BackendError(f"the module {path} registered as backend {name!r} declares NAME = {module.NAME!r}; "
                           "register it under its own name")
    return cast(Backend, module)


def is_available(name: str) -> bool:
    """Whether backend ``name`` can run plans here (False also when its optional extra is missing)."""
    try:
        backend = get_backend(name)
    except BackendError as exc:
        if isinstance(exc.__cause__, ImportError):  # the module refused to import: an extra is missing
            return False
        raise
    return backend.available()
