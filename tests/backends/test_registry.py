"""The backend registry (``egraph_dsl.backends``): backends declare themselves, the façade asks them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import egraph_dsl as ed
from egraph_dsl import backends
from egraph_dsl.errors import BackendError

PROBE = '''
from egraph_dsl.backends.numpy_backend import compile_plan

NAME = "probe"
DEFAULT_COST_MODEL = "gpu"
GENERATES_KERNELS = False


def available() -> bool:
    return True
'''


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private copy of the registry, and a folder on sys.path for probe backend modules."""
    monkeypatch.setattr(backends, "_BACKENDS", dict(backends._BACKENDS))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def importable(name: str) -> bool:
    try:
        backends.get_backend(name)
    except BackendError:
        return False
    return True


@pytest.mark.parametrize("name", backends.names())
def test_each_backend_declares_itself(name: str) -> None:
    if not importable(name):
        pytest.skip(f"the {name} backend's optional extra is not installed")
    backend = backends.get_backend(name)
    assert backend.NAME == name
    assert backend.DEFAULT_COST_MODEL in {"cpu", "gpu"}
    assert isinstance(backend.GENERATES_KERNELS, bool) and hasattr(backend, "lower") == backend.GENERATES_KERNELS
    assert backends.is_available(name) is backend.available()


def test_jit_uses_the_backends_cost_model() -> None:
    assert backends.get_backend("cupy").DEFAULT_COST_MODEL == "gpu"  # the module imports without CuPy
    assert ed.jit(lambda x: x + 1, backend="cupy").cost_model == "gpu"
    assert ed.jit(lambda x: x + 1, backend="native").cost_model == "cpu"
    assert ed.jit(lambda x: x + 1, backend="cupy", cost_model="cpu").cost_model == "cpu"


def test_unknown_backend_lists_the_known_ones() -> None:
    expected = "unknown backend 'tpu'; available: cupy, dask, native, numpy"
    with pytest.raises(BackendError, match=expected):
        ed.jit(lambda x: x, backend="tpu")
    with pytest.raises(BackendError, match=expected):
        backends.is_available("tpu")


def test_a_missing_extra_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)  # as if Dask were not installed
    monkeypatch.setitem(sys.modules, "dask.array", None)
    monkeypatch.delitem(sys.modules, "egraph_dsl.backends.dask_backend", raising=False)
    with pytest.raises(BackendError, match=r"pip install 'egraph-dsl\[dask\]'"):
        ed.jit(lambda x: x, backend="dask")
    assert backends.is_available("dask") is False


def test_a_registered_backend_runs_under_jit(registry: Path) -> None:
    (registry / "probe_backend.py").write_text(PROBE)
    backends.register_backend("probe", "probe_backend")
    assert "probe" in backends.names() and backends.is_available("probe")
    f = ed.jit(lambda x: np.exp(x) * 2.0, backend="probe")
    assert f.cost_model == "gpu"  # what the probe declares, though no GPU is involved
    x = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(f(x), np.exp(x) * 2.0)
    with pytest.raises(BackendError, match="a backend named 'probe' is already registered"):
        backends.register_backend("probe", "probe_backend")


def test_a_module_that_does_not_declare_itself_is_refused(registry: Path) -> None:
    (registry / "half_backend.py").write_text("def compile_plan(plan, **options):\n    return None\n")
    backends.register_backend("half", "half_backend")
    with pytest.raises(BackendError, match="does not declare NAME, DEFAULT_COST_MODEL, GENERATES_KERNELS, available"):
        ed.jit(lambda x: x, backend="half")
    (registry / "alias_backend.py").write_text(PROBE)
    backends.register_backend("alias", "alias_backend")
    with pytest.raises(BackendError, match="declares NAME = 'probe'; register it under its own name"):
        backends.get_backend("alias")
    (registry / "nolower_backend.py").write_text(PROBE.replace('"probe"', '"nolower"').replace("= False", "= True"))
    backends.register_backend("nolower", "nolower_backend")
    with pytest.raises(BackendError, match="does not declare lower"):
        backends.get_backend("nolower")


def test_explain_shows_kernels_only_for_a_backend_that_generates_them() -> None:
    fn = lambda x: np.sum(np.exp(x) * 2.0)
    x = np.ones(8)
    assert "== native kernels" in ed.jit(fn, backend="native").explain(x)
    assert "kernels" not in ed.jit(fn).explain(x)
