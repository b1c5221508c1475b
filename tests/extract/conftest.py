"""Fixtures for the extract tests; helpers live in ``extract_helpers``."""

from __future__ import annotations

import pytest
from extract_helpers import make

from extract import EGraphModel


@pytest.fixture
def shared() -> EGraphModel:
    """Tree optimum differs from DAG optimum: sharing ``s`` makes the DAG choice cheaper."""
    return make({
        "r": [("pair", ["a", "b"], 1.0)],
        "a": [("fa", ["s"], 1.0), ("la", [], 4.0)],
        "b": [("fb", ["s"], 1.0), ("lb", [], 4.0)],
        "s": [("big", [], 5.0)],
    }, ["r"])
