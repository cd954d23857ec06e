"""Validate a candidate before it joins: every check with its verdict and remedy, then the
join. A host with another CPU vendor fails the pre-flight and is refused.

    python examples/python/validate_and_join.py
"""

from __future__ import annotations

import xenpool
from xenpool import exceptions
from xenpool.testing import simulator


def show(report: xenpool.JoinReport) -> None:
    print(repr(report))
    for check in report.fails + report.warnings:
        print(f"  {check['status']}: {check['id']}: {check.get('remedy') or ''}")


def main() -> None:
    with simulator(scenario="lab") as sim:
        pool, _ = xenpool.Pool.create("lab-pool", sim.host("intel1").access())
        with pool:
            intel3 = sim.host("intel3")
            report = pool.validate_join(intel3.url, "root", intel3.password, fingerprint=intel3.fingerprint)
            show(report)
            if report.ready:
                pool.join(intel3.url, "root", intel3.password, fingerprint=intel3.fingerprint)
                print(f"intel3 joined: {len(pool.xenapi.host.get_all())} hosts")

            amd = sim.host("amd1")
            report = pool.validate_join(amd.url, "root", amd.password, fingerprint=amd.fingerprint)
            show(report)
            try:
                pool.join(amd.url, "root", amd.password, fingerprint=amd.fingerprint)
            except exceptions.Refused as refused:
                print(f"amd1 refused: {refused.code}")


if __name__ == "__main__":
    main()
