"""A forced, heterogeneous join: intel-old (another Intel model) is refused by the
pre-checks, then joins with force=True (pool.join_force) and the pool levels its CPU
features down to the common set.

    python examples/python/heterogeneous_join.py
"""

from __future__ import annotations

import xenpool
from xenpool import exceptions
from xenpool.testing import simulator


def main() -> None:
    with simulator(scenario="lab") as sim:
        a = sim.host
        pool, _ = xenpool.Pool.create("lab-pool", a("intel1").access(), [a("intel2").access()])
        with pool:
            old = sim.host("intel-old")
            try:
                pool.join(old.url, "root", old.password, fingerprint=old.fingerprint)
            except exceptions.Refused as refused:
                print(f"intel-old refused: {refused.code} ({', '.join(refused.params)})")
                print(f"  {refused}")
            plan = pool.join(old.url, "root", old.password, fingerprint=old.fingerprint, force=True, dry_run=True)
            print(f"forced plan: {', '.join(plan.calls)}")
            pool.join(old.url, "root", old.password, fingerprint=old.fingerprint, force=True)
            names = sorted(h.name_label for h in pool.xenapi.host.get_all_records().values())
            print(f"forced join done: {', '.join(names)}")


if __name__ == "__main__":
    main()
