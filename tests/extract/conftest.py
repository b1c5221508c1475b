"""Fixtures for the extract tests; helpers live in ``extract_helpers``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the helpers module sits next to this file; with --import-mode=importlib pytest does not put
# test directories on sys.path, so do it here (conftest is imported before the test modules)
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from egraph_dsl.extract import EGraphModel
from extract_helpers import make


@pytest.fixture
def shared() -> EGraphModel:
    """Tree optimum differs from DAG optimum: sharing ``s`` makes the DAG choice cheaper."""
    return make({
        "r": [("pair", ["a", "b"], 1.0)],
        "a": [("fa", ["s"], 1.0), ("la", [], 4.0)],
        "b": [("fb", ["s"], 1.0), ("lb", [], 4.0)],
        "s": [("big", [], 5.0)],
    }, ["r"])
