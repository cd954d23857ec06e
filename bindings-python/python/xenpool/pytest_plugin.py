"""pytest plugin (entry point ``xenpool``): the ``xenpool_simulator`` fixture, a fresh
in-process simulator per test. Choose the scenario with
``@pytest.mark.xenpool_scenario("pool16")``."""

from __future__ import annotations

from typing import Iterator

import pytest

from .testing import Simulator, simulator


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "xenpool_scenario(name): the simulator scenario for xenpool_simulator"
    )


@pytest.fixture
def xenpool_simulator(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """A fresh simulator (scenario ``lab`` unless marked ``xenpool_scenario``)."""
    marker = request.node.get_closest_marker("xenpool_scenario")
    scenario = marker.args[0] if marker else "lab"
    with simulator(scenario) as sim:
        yield sim
