"""Pool-wide bonds: create an LACP bond on every host, let a forced join of intel-old
(its NICs in other slots) break the layout, find the drift and repair it.

    python examples/python/bond_repair.py
"""

from __future__ import annotations

import xenpool
from xenpool.testing import simulator


def main() -> None:
    with simulator(scenario="lab") as sim:
        a = sim.host
        pool, _ = xenpool.Pool.create("lab-pool", a("intel1").access(), [a("intel2").access()])
        with pool:
            bonds = pool.create_bond(["eth2", "eth3"], "lacp", "Storage")
            print(f"bonds created: {len(bonds.bonds)}")
            old = a("intel-old")
            pool.join(old.url, "root", old.password, fingerprint=old.fingerprint, force=True)
            for problem in pool.check_bonds():
                print(f"drift on {problem['host']}: {problem}")
            print(f"repair plan: {', '.join(pool.repair_bonds(dry_run=True).calls)}")
            pool.repair_bonds()
            print(f"bonds consistent: {pool.check_bonds() == []}")


if __name__ == "__main__":
    main()
