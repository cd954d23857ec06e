"""XenMotion: live-migrate a running VM between members (names are resolved), then
evacuate a host for maintenance.

    python examples/python/xenmotion.py
"""

from __future__ import annotations

import xenpool
from xenpool.testing import simulator

GIB = 1 << 30


def main() -> None:
    with simulator(scenario="lab") as sim:
        hosts = [sim.host(n).access() for n in ("intel1", "intel2")]
        pool, _ = xenpool.Pool.create("lab-pool", hosts[0], hosts[1:])
        with pool:
            pool.create_nfs_sr("shared", "nfs.lab", "/exports/lab")
            api = pool.xenapi
            vm = api.VM.create(
                {"name_label": "web", "memory_static_max": GIB, "memory_dynamic_max": GIB,
                 "memory_dynamic_min": GIB, "memory_static_min": GIB // 2,
                 "VCPUs_max": 1, "VCPUs_at_startup": 1}
            )
            (intel1,) = [r for r, h in api.host.get_all_records().items() if h.name_label == "intel1"]
            api.VM.start_on(vm, intel1, False, False)

            moved = pool.migrate("web", "intel2")
            record = api.VM.get_record(vm)
            print(f"moved: {moved.moved}; web is {record.power_state} on {api.host.get_name_label(record.resident_on)}")
            evacuated = pool.evacuate("intel2")
            print(f"evacuated intel2: web on {api.host.get_name_label(api.VM.get_resident_on(vm))} ({len(evacuated.calls)} calls)")


if __name__ == "__main__":
    main()
