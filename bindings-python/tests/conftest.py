"""Shared fixtures: a fresh lab simulator per test and both wire protocols."""

from __future__ import annotations

from typing import Iterator

import pytest

from xenpool.testing import Simulator, simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with simulator("lab") as s:
        yield s
        # Every test closes what it opens: no session may outlive it.
        assert s.session_count() == 0, "a test leaked a session"


@pytest.fixture(params=["json", "xml"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)
