"""The Python surface of the cross-surface suite: plays one scenario file (tests/README.md)
through the ``xenpool`` package against a fresh in-process ``lab`` simulator and prints one
``@@STEP {json}`` line per step. Run with the package's venv: ``python run.py FILE.toml``."""

from __future__ import annotations

import json
import socket
import sys
import tomllib
from typing import Any

import xenpool
from xenpool import exceptions
from xenpool.testing import simulator


def state(pool: xenpool.Pool) -> dict[str, Any]:
    x = pool.xenapi
    hosts = x.host.get_all_records()
    names = {ref: rec.name_label for ref, rec in hosts.items()}
    master = x.pool.get_master(x.pool.get_all()[0])
    vms = {
        rec.name_label: names[rec.resident_on]
        for rec in x.VM.get_all_records().values()
        if not rec.is_a_template and not rec.is_control_domain and rec.resident_on in names
    }
    return {"coordinator": names.get(master), "hosts": sorted(names.values()), "vms": vms}


GIB = 1 << 30
VM = {"memory_static_max": GIB, "memory_dynamic_max": GIB, "memory_dynamic_min": GIB,
      "memory_static_min": GIB // 2, "VCPUs_max": 1, "VCPUs_at_startup": 1}


def close_quietly(pool: xenpool.Pool | None) -> None:
    """Closes a replaced handle; its coordinator may be dead (as the Rust runner does)."""
    if pool is None:
        return
    try:
        pool.close()
    except exceptions.XenpoolError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def play(path: str) -> None:
    with open(path, "rb") as f:
        scenario = tomllib.load(f)
    with simulator(scenario="lab") as sim:
        pool: xenpool.Pool | None = None

        def cred(name: str) -> dict[str, Any]:
            h = sim.host(name)
            return {"url": h.url, "user": "root", "password": h.password, "fingerprint": h.fingerprint}

        for step in scenario["step"]:
            kind = step["do"]
            host = step.get("host", "")
            label = step.get("id") or (f"{kind} {host}" if host else kind)
            r: dict[str, Any] = {"step": label, "ok": False, "code": None, "params": None, "method": None, "state": None}
            dry = step.get("dry_run", False)
            outcome: xenpool.Outcome | None = None
            flags = {"force": step.get("force", False), "allow_cross_vendor": step.get("allow_cross_vendor", False)}
            try:
                if kind == "connect" and "with" in step:
                    w, h = step["with"], sim.host(host)
                    url = h.url.removeprefix("https://") if w.get("bare") else h.url
                    new = xenpool.Pool.connect(
                        url,
                        password=None if w.get("no_password") else h.password,
                        fingerprint=w.get("fingerprint"),
                        insecure=w.get("insecure", False),
                        protocol=w.get("protocol", "auto"),
                        trust_on_first_use=w.get("trust_on_first_use", False),
                    )
                    close_quietly(pool)
                    pool = new
                elif kind == "connect":
                    c = cred(host)
                    if step.get("password"):
                        c["password"] = step["password"]
                    if step.get("unreachable"):
                        c["url"] = f"https://127.0.0.1:{free_port()}"
                    new = xenpool.Pool.connect(c["url"], c["user"], c["password"], fingerprint=c["fingerprint"])
                    close_quietly(pool)
                    pool = new
                elif kind == "validate":
                    assert pool is not None
                    c = cred(host)
                    rep = pool.validate_join(c["url"], c["user"], c["password"], fingerprint=c["fingerprint"])
                    predicted = rep.predicted_failure
                    r["ok"] = rep.ready
                    r["code"] = predicted[0] if predicted else None
                    r["params"] = predicted[1] if predicted else None
                    r["state"] = {"fails": [c["id"] for c in rep.fails]}
                elif kind == "create_pool":
                    master = sim.host(step.get("coordinator", "intel1")).access()
                    members = [sim.host(m).access() for m in step.get("members", [])]
                    new, _ = xenpool.Pool.create(step.get("name", "pool"), master, members, **flags)
                    close_quietly(pool)
                    pool = new
                elif kind == "join":
                    assert pool is not None
                    c = cred(host)
                    outcome = pool.join(
                        c["url"], c["user"], c["password"], fingerprint=c["fingerprint"], dry_run=dry, **flags
                    )
                elif kind == "eject":
                    assert pool is not None
                    outcome = pool.eject(host, dry_run=dry)
                elif kind == "create_bond":
                    assert pool is not None
                    outcome = pool.create_bond(
                        step["devices"], step.get("mode", "lacp"), step.get("network", "Bond"), dry_run=dry
                    )
                elif kind == "repair_bonds":
                    assert pool is not None
                    outcome = pool.repair_bonds(dry_run=dry)
                elif kind == "create_nfs_sr":
                    assert pool is not None
                    outcome = pool.create_nfs_sr(
                        step.get("name", "nfs"), step.get("server", ""), step.get("path", ""), dry_run=dry
                    )
                elif kind == "start_vm":
                    assert pool is not None
                    x = pool.xenapi
                    vm = x.VM.create({"name_label": step.get("name", "vm"), **VM})
                    x.VM.start_on(vm, x.host.get_by_name_label(host)[0], False, False)
                elif kind == "migrate":
                    assert pool is not None
                    outcome = pool.migrate(step["vm"], host, dry_run=dry)
                elif kind == "evacuate":
                    assert pool is not None
                    outcome = pool.evacuate(host, dry_run=dry)
                elif kind == "enable_ha":
                    assert pool is not None
                    outcome = pool.enable_ha(dry_run=dry)
                elif kind == "disable_ha":
                    assert pool is not None
                    outcome = pool.disable_ha(dry_run=dry)
                elif kind == "check_bonds":
                    assert pool is not None
                    r.update(ok=True, state={"bond_problems": sorted(b["host"] for b in pool.check_bonds())})
                elif kind == "kill":
                    sim.kill(host)
                elif kind == "state":
                    pass
                elif kind == "recover":
                    new, outcome = xenpool.Pool.recover_lost_coordinator(
                        sim.host(host).access(), restart_vms=step.get("restart_vms", False), dry_run=dry
                    )
                    if new is not None:
                        close_quietly(pool)
                        pool = new
                else:
                    r = {"step": label, "unsupported": f"the Python runner has no step {kind!r}"}
                if kind == "kill":
                    r["ok"] = True
                elif dry and outcome is not None:
                    r.update(ok=True, state={"executed": outcome.executed, "calls": outcome.calls})
                elif kind not in ("validate", "check_bonds") and "unsupported" not in r:
                    assert pool is not None
                    r["ok"] = True
                    r["state"] = state(pool)
            except exceptions.XenpoolError as e:
                r.update(ok=False, code=e.code, params=list(e.params), method=e.method, state=None)
            print("@@STEP " + json.dumps(r), flush=True)
        close_quietly(pool)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        play(arg)
