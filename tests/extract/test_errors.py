"""The extractor's errors belong to the library's one hierarchy (``egraph_dsl.errors``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from egraph_dsl.extract import (
    CostOverflowError,
    ExtractionError,
    InvalidExtractionError,
    MalformedEGraphError,
    NoFiniteExtractionError,
    greedy_dag,
    loads,
    verify,
)
from egraph_dsl.extract.errors import ExtractionError as ExtractionErrorFromModule
from extract_helpers import make

import egraph_dsl as ed
from egraph_dsl import extract

CYCLIC = make({"r": [("f", ["a"], 1.0)], "a": [("g", ["r"], 1.0)]}, ["r"])
LEAF = make({"r": [("f", [], 1.0)]}, ["r"])


@pytest.mark.parametrize(("fail", "kind"), [
    (lambda: loads("{nope"), MalformedEGraphError),
    (lambda: greedy_dag(CYCLIC), NoFiniteExtractionError),
    (lambda: verify(LEAF, {}), InvalidExtractionError),
])
def test_except_egraph_dsl_error_catches_what_the_extractor_raises(fail: Callable[[], object],
                                                                    kind: type[Exception]) -> None:
    with pytest.raises(ed.EgraphDslError) as caught:
        fail()
    assert type(caught.value) is kind
    assert isinstance(caught.value, ExtractionError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("kind", [ExtractionError, MalformedEGraphError, NoFiniteExtractionError,
                                  CostOverflowError, InvalidExtractionError])
def test_every_extraction_error_is_an_egraph_dsl_error_and_a_value_error(kind: type[Exception]) -> None:
    assert issubclass(kind, ed.errors.EgraphDslError) and issubclass(kind, ValueError)
    assert issubclass(kind, ExtractionError)


def test_the_names_stay_where_they_were() -> None:
    assert extract.ExtractionError is ExtractionErrorFromModule is ExtractionError
    assert issubclass(CostOverflowError, NoFiniteExtractionError)
