from __future__ import annotations

import pytest
from egraph_dsl.extract import EGraphModel

from egraph_dsl import extract


@pytest.mark.parametrize("method", extract.METHODS)
def test_every_method_returns_verified_extraction(shared: EGraphModel, method: str) -> None:
    result = extract.extract(shared, method, time_limit=5)
    assert extract.verify(shared, result) == result.cost
    assert result.cost <= 9.0


def test_unknown_method(shared: EGraphModel) -> None:
    with pytest.raises(ValueError, match="unknown extraction method"):
        extract.extract(shared, "magic")
