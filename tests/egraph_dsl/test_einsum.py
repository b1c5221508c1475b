"""np.einsum and np.tensordot, lowered to diagonals, sums, broadcasts, transposes and matmul,
against NumPy (within rounding: NumPy's einsum loops sum in another order than BLAS)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import egraph_dsl as ed
from egraph_dsl.errors import UnsupportedOperationError
from egraph_dsl.program import evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: reach the helpers
from sample_programs import central_difference

SIZES = {"i": 2, "j": 3, "k": 4, "l": 1}


def traced(fn: Any, *args: Any) -> Any:
    (out,) = evaluate(ed.trace(fn, *args), list(args))
    return out


def assert_close(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@st.composite
def contractions(draw: Any) -> tuple[str, list[tuple[int, ...]]]:
    """Subscripts over i, j, k (and l of size 1), repeated labels, implicit or explicit output, and
    size-1 dimensions that broadcast."""
    specs = []
    for _ in range(draw(st.integers(1, 3))):
        specs.append("".join(draw(st.lists(st.sampled_from("ijkl"), max_size=3))))
    labels = sorted(set("".join(specs)))
    if draw(st.booleans()):
        output = "".join(draw(st.permutations(labels))[:draw(st.integers(0, len(labels)))])
        subscripts = ",".join(specs) + "->" + output
    else:
        subscripts = ",".join(specs)
    shapes = [tuple(1 if draw(st.integers(0, 5)) == 0 else SIZES[ch] for ch in spec) for spec in specs]
    # a repeated label within one operand takes a diagonal: its dimensions must agree
    shapes = [tuple(SIZES[ch] if spec.count(ch) > 1 else n for ch, n in zip(spec, shape, strict=True))
              for spec, shape in zip(specs, shapes, strict=True)]
    return subscripts, shapes


@settings(max_examples=200)
@given(contractions(), st.integers(0, 1000), st.sampled_from([np.float64, np.int64]))
def test_einsum_matches_numpy(case: tuple[str, list[tuple[int, ...]]], seed: int, dtype: Any) -> None:
    subscripts, shapes = case
    rng = np.random.default_rng(seed)
    arrays = [(rng.standard_normal(s) * 3).astype(dtype) for s in shapes]
    want = np.einsum(subscripts, *arrays)
    assert_close(traced(lambda *xs: np.einsum(subscripts, *xs), *arrays), want)


@pytest.mark.parametrize(("subscripts", "shapes"), [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,kj", [(2, 3), (4, 3)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("ij->ji", [(2, 3)]), ("i,j->ij", [(2,), (3,)]), ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]), ("...i,...i", [(2, 3), (1, 3)]), ("i...->...", [(2, 3, 4)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]), ("ijk,jl,kl->il", [(2, 3, 4), (3, 5), (4, 5)]), (",i->i", [(), (3,)]),
])
def test_spelled_einsums_match_numpy(subscripts: str, shapes: list[tuple[int, ...]]) -> None:
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_close(ed.jit(lambda *xs: np.einsum(subscripts, *xs))(*arrays), np.einsum(subscripts, *arrays))
    f32 = [a.astype(np.float32) for a in arrays]
    got = traced(lambda *xs: np.einsum(subscripts, *xs), *f32)
    np.testing.assert_allclose(got, np.einsum(subscripts, *f32), rtol=1e-5, atol=1e-5)
    assert got.dtype == np.float32


def test_tensordot_matches_numpy() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4, 5))
    for axes in (2, 0, 1, ([1, 2], [0, 1]), ([2], [1]), (1, 0)):
        x, y = (a, b) if axes != 1 else (a, b.transpose(1, 2, 0))
        assert_close(traced(lambda p, q: np.tensordot(p, q, axes=axes), x, y), np.tensordot(x, y, axes=axes))


def test_einsum_gradients_flow_through_the_lowering() -> None:
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)

    def fn(x: Any, y: Any, z: Any) -> Any:
        return np.sum(np.sin(np.einsum("ij,jk,k->i", x, y, z))) + np.einsum("ii", y) * np.einsum("i,i", z, z)

    grads = ed.grad(fn, argnums=(0, 1, 2))(a, b, c)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, central_difference(fn, [a, b, c], i), rtol=1e-7, atol=1e-7)


def test_einsum_errors() -> None:
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="subscript 'j' has sizes 3 and 2"):
        ed.trace(lambda a: np.einsum("ij,j", a, np.ones(2)), x)
    with pytest.raises(ValueError, match="name 2 operands, 1 given"):
        ed.trace(lambda a: np.einsum("ij,jk", a), x)
    with pytest.raises(ValueError, match="has 2 dimensions"):
        ed.trace(lambda a: np.einsum("i", a), x)
    with pytest.raises(ValueError, match="'k' is in no operand"):
        ed.trace(lambda a: np.einsum("ij->k", a), x)
    with pytest.raises(UnsupportedOperationError, match="bool"):
        ed.trace(lambda a: np.einsum("ij", a > 0), x)
    with pytest.raises(UnsupportedOperationError, match=r"subscripts-string form .*test_einsum\.py"):
        ed.trace(lambda a: np.einsum(a, [0, 1]), x)
