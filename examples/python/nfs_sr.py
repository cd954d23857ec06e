"""A shared NFS SR: created once, plugged on every host, made the pool's default SR.

    python examples/python/nfs_sr.py
"""

from __future__ import annotations

import xenpool
from xenpool.testing import simulator


def main() -> None:
    with simulator(scenario="lab") as sim:
        hosts = [sim.host(n).access() for n in ("intel1", "intel2", "intel3")]
        pool, _ = xenpool.Pool.create("lab-pool", hosts[0], hosts[1:])
        with pool:
            outcome = pool.create_nfs_sr("lab-nfs", "nfs.lab", "/exports/lab")
            api = pool.xenapi
            sr = api.SR.get_record(outcome.sr)
            plugged = [api.PBD.get_currently_attached(pbd) for pbd in sr.PBDs]
            print(f"SR {sr.name_label}: type {sr.type}, shared {sr.shared}, plugged on {sum(plugged)}/{len(plugged)} hosts")
            default = api.pool.get_default_SR(api.pool.get_all()[0])
            print(f"default SR is lab-nfs: {default == outcome.sr}")


if __name__ == "__main__":
    main()
