"""asyncio use, Ctrl-C during a slow call, and the GIL released while a big call runs."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time

import pytest

import xenpool
from xenpool import exceptions
from xenpool.testing import Simulator, simulator


def test_async_session(sim: Simulator, protocol: str) -> None:
    h = sim.host("intel1")

    async def main() -> None:
        async with xenpool.AsyncSession(
            h.url, "root", h.password, fingerprint=h.fingerprint, protocol=protocol
        ) as s:
            assert h.password not in repr(s)
            vms, hosts = await asyncio.gather(s.xenapi.VM.get_all_records(), s.xenapi.host.get_all())
            assert vms and len(hosts) == 1
            vm = next(r for r, v in vms.items() if v.is_control_domain)
            assert await s.xenapi.VM.get_power_state(vm) == "Running"
            with pytest.raises(xenpool.Failure):
                await s.xenapi.VM.get_record("OpaqueRef:gone")
            with pytest.raises(AttributeError):
                s.xenapi.VM.strat  # noqa: B018
            events = s.events(["host"])
            first = await events.__anext__()
            assert first.class_ == "host" and first.operation == "add"
            gib = 1 << 30
            new = await s.xenapi.VM.create(
                {"name_label": "aio", "memory_static_max": gib, "memory_dynamic_max": gib,
                 "memory_dynamic_min": gib, "memory_static_min": gib, "VCPUs_max": 1,
                 "VCPUs_at_startup": 1}
            )
            task = await s.xenapi.Async.VM.start(new, False, False)
            assert isinstance(task, xenpool.Task)
            assert await task is None
            assert await s.xenapi.VM.get_power_state(new) == "Running"

    asyncio.run(main())


def test_keyboard_interrupt_cancels_a_slow_call(sim: Simulator) -> None:
    with sim.session("intel1") as s:
        sim.set_latency("intel1", 5.0)
        timer = threading.Timer(0.3, _thread.interrupt_main)
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt) as e:
            s.xenapi.host.get_all()
        elapsed = time.monotonic() - started
        assert elapsed < 2.0, f"the interrupt took {elapsed:.1f} s"
        cause = e.value.__cause__
        assert isinstance(cause, exceptions.Cancelled) and cause.code == "CANCELLED"
        assert cause.params == ["host.get_all"]
        sim.set_latency("intel1", 0)
        assert len(s.xenapi.host.get_all()) == 1, "the session stays usable"


def test_the_gil_is_released_during_a_big_call() -> None:
    with simulator("pool16", vms=4000) as big:
        h = big.hosts[0]
        with xenpool.Session(h.url, "root", h.password, fingerprint=h.fingerprint) as s:
            ticks = 0
            stop = threading.Event()
            counting = threading.Event()

            def count() -> None:
                nonlocal ticks
                counting.set()
                while not stop.is_set():
                    ticks += 1

            t = threading.Thread(target=count)
            t.start()
            assert counting.wait(10), "the counting thread runs"
            before = ticks
            started = time.monotonic()
            vms = s.xenapi.VM.get_all_records()
            during = ticks - before
            elapsed = time.monotonic() - started
            stop.set()
            t.join()
            assert len(vms) >= 4000
            # Python's switch interval is 5 ms: a held GIL would leave the counter at a
            # few hundred thousand at most over the call, released it runs flat out.
            assert during > 50_000, f"{during} ticks in {elapsed:.2f} s"
