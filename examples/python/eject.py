"""Eject a member: its running VMs are migrated away first, then pool.eject.

    python examples/python/eject.py
"""

from __future__ import annotations

import xenpool
from xenpool.testing import simulator

GIB = 1 << 30


def main() -> None:
    with simulator(scenario="lab") as sim:
        hosts = [sim.host(n).access() for n in ("intel1", "intel2", "intel3")]
        pool, _ = xenpool.Pool.create("lab-pool", hosts[0], hosts[1:])
        with pool:
            pool.create_nfs_sr("shared", "nfs.lab", "/exports/lab")
            api = pool.xenapi
            vm = api.VM.create(
                {"name_label": "web", "memory_static_max": GIB, "memory_dynamic_max": GIB,
                 "memory_dynamic_min": GIB, "memory_static_min": GIB // 2,
                 "VCPUs_max": 1, "VCPUs_at_startup": 1}
            )
            (intel3,) = [r for r, h in api.host.get_all_records().items() if h.name_label == "intel3"]
            api.VM.start_on(vm, intel3, False, False)

            print(f"plan: {', '.join(pool.eject('intel3', dry_run=True).calls)}")
            outcome = pool.eject("intel3")
            for warning in outcome.plan["warnings"]:
                print(f"warning: {warning}")
            where = api.host.get_name_label(api.VM.get_resident_on(vm))
            print(f"ejected intel3; evacuated {', '.join(outcome.evacuated)}; web now on {where}")
            print(f"{len(api.host.get_all())} hosts left")


if __name__ == "__main__":
    main()
