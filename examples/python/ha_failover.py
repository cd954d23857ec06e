"""HA failover: with HA on, the coordinator dies; a survivor takes over, the pool
connection follows it, and the protected VM restarts on another host.

    python examples/python/ha_failover.py
"""

from __future__ import annotations

import xenpool
from xenpool.testing import simulator

GIB = 1 << 30


def main() -> None:
    with simulator(scenario="lab") as sim:
        hosts = [sim.host(n).access() for n in ("intel1", "intel2", "intel3")]
        pool, _ = xenpool.Pool.create("production", hosts[0], hosts[1:])
        with pool:
            pool.create_nfs_sr("shared", "nfs.lab", "/exports/vms")
            api = pool.xenapi
            db = api.VM.create(
                {"name_label": "db", "memory_static_max": GIB, "memory_dynamic_max": GIB,
                 "memory_dynamic_min": GIB, "memory_static_min": GIB // 2,
                 "VCPUs_max": 1, "VCPUs_at_startup": 1}
            )
            (intel1,) = [r for r, h in api.host.get_all_records().items() if h.name_label == "intel1"]
            api.VM.start_on(db, intel1, False, False)
            api.VM.set_ha_restart_priority(db, "restart")
            ha = pool.enable_ha()
            print(f"HA enabled; the pool tolerates {ha.failures_to_tolerate} host failure(s)")

            cache = pool.cache(["VM"])
            sim.kill("intel1")
            print(f"intel1 killed; {len(api.host.get_all())} hosts still listed")  # the call fails over
            coordinator = next(h.name for h in sim.hosts if h.address == pool.coordinator_address)
            print(f"new coordinator: {coordinator}")
            record = cache.wait_for(
                "VM", db, lambda r: r.power_state == "Running" and r.resident_on != intel1, timeout=20
            )
            print(f"db runs again on {api.host.get_name_label(record.resident_on)}")
            pool.disable_ha()


if __name__ == "__main__":
    main()
