"""Test your automation without hardware: an in-process XenAPI simulator.

>>> from xenpool.testing import simulator
>>> with simulator("lab") as sim:                      # doctest: +SKIP
...     with sim.session("intel1") as s:
...         s.xenapi.host.get_all()

Each ``simulator()`` starts fresh hosts on loopback addresses (real sockets, HTTPS with
self-signed certificates whose fingerprints ``sim.host(...)`` gives); the pytest fixture
``xenpool_simulator`` (registered by the package's pytest plugin) gives one per test.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from . import _native
from .pool import Host, Pool
from .session import Session

__all__ = ["simulator", "Simulator", "SimHost"]


@dataclass(frozen=True)
class SimHost:
    """One simulated host: its endpoint and credentials."""

    name: str
    uuid: str
    address: str
    port: int
    url: str
    username: str
    password: str = field(repr=False)
    fingerprint: str | None
    alive: bool
    master_address: str | None

    def access(self) -> Host:
        """How to reach it, for pool workflows (``pool.join(**...)`` takes a :class:`Host`)."""
        return Host(self.url, self.username, self.password, self.fingerprint)


class Simulator:
    """A running simulator (see :func:`simulator`)."""

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def hosts(self) -> list[SimHost]:
        """Every host, in scenario order."""
        return [SimHost(**h) for h in self._native.hosts()]

    def host(self, name: str) -> SimHost:
        """A host by scenario name or uuid."""
        for h in self.hosts:
            if name in (h.name, h.uuid):
                return h
        raise KeyError(f"no simulated host named {name!r}")

    def session(self, host: str, **kwargs: Any) -> Session:
        """A :class:`Session` on ``host``, its certificate pinned."""
        h = self.host(host)
        kwargs.setdefault("fingerprint", h.fingerprint)
        return Session(h.url, h.username, h.password, **kwargs)

    def pool(self, host: str, **kwargs: Any) -> Pool:
        """A :class:`Pool` connection through ``host``."""
        h = self.host(host)
        kwargs.setdefault("fingerprint", h.fingerprint)
        return Pool.connect(h.url, h.username, h.password, **kwargs)

    def session_count(self) -> int:
        """Sessions alive in the whole simulation (to find leaks)."""
        return int(self._native.session_count())

    def set_latency(self, host: str, seconds: float) -> None:
        """Delays every reply of ``host``."""
        self._native.set_latency(host, seconds)

    def kill(self, host: str) -> None:
        """Kills ``host``."""
        self._native.kill(host)

    def restart(self, host: str) -> None:
        """Restarts a killed host."""
        self._native.restart(host)

    def reset(self) -> None:
        """Back to the scenario's initial state."""
        self._native.reset()

    def stop(self) -> None:
        """Stops every host."""
        self._native.stop()

    def __repr__(self) -> str:
        return repr(self._native)


@contextmanager
def simulator(
    scenario: str = "lab", *, vms: int | None = None, tls: bool = True, distinct_ports: bool = False
) -> Iterator[Simulator]:
    """Starts ``scenario`` (``lab``, ``pool16``, ``single`` or a TOML path) in-process;
    stops it on exit. ``vms`` rescales the scenario's VM groups (``pool16``, 10000)."""
    sim = Simulator(_native.Simulator.start(scenario, vms=vms, tls=tls, distinct_ports=distinct_ports))
    try:
        yield sim
    finally:
        sim.stop()
