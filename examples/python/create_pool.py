"""Create a pool: intel1 becomes the coordinator, intel2 and intel3 join it.
A dry run first shows the plan; nothing changes until the real run.

    python examples/python/create_pool.py
"""

from __future__ import annotations

import xenpool
from xenpool.testing import simulator


def main() -> None:
    with simulator(scenario="lab") as sim:
        master = sim.host("intel1").access()
        members = [sim.host(name).access() for name in ("intel2", "intel3")]

        plan_only, plan = xenpool.Pool.create("lab-pool", master, members, dry_run=True)
        plan_only.close()
        print(f"plan: {len(plan.calls)} calls, executed={plan.executed}")
        for call in plan.calls:
            print(f"  {call}")

        steps: list[str] = []
        pool, outcome = xenpool.Pool.create(
            "lab-pool", master, members, progress=lambda step, total, msg: steps.append(msg)
        )
        with pool:
            print(f"{len(steps)} progress steps; joined: {', '.join(outcome.joined)}")
            names = sorted(name for name, _address in pool.members())
            print(f"pool lab-pool: {len(names)} hosts ({', '.join(names)})")


if __name__ == "__main__":
    main()
