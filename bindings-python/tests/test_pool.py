"""The pool stories from Python: create, validate and join, forced join, bonds, NFS,
XenMotion, eject, HA failover and recovery; dry runs and progress callbacks."""

from __future__ import annotations

import pytest

import xenpool
from xenpool import exceptions
from xenpool.testing import Simulator


def test_the_pool_story(sim: Simulator) -> None:
    a = lambda name: sim.host(name).access()  # noqa: E731
    steps: list[tuple[int, int, str]] = []

    dry_pool, dry = xenpool.Pool.create("lab-pool", a("intel1"), [a("intel2")], dry_run=True)
    assert not dry.executed and "pool.join" in dry.calls
    assert sim.host("intel1").password not in str(dry.to_dict())
    assert sim.host("intel2").master_address is None
    dry_pool.close()

    pool, created = xenpool.Pool.create(
        "lab-pool", a("intel1"), [a("intel2")], progress=lambda *s: steps.append(s)
    )
    with pool:
        assert created.executed and created.joined == ["intel2"]
        assert steps and steps[-1][0] == steps[-1][1], "progress reaches the end"
        assert len(pool.xenapi.host.get_all()) == 2

        i3 = sim.host("intel3")
        report = pool.validate_join(i3.url, "root", i3.password, fingerprint=i3.fingerprint)
        assert isinstance(report, xenpool.JoinReport) and report.ready and not report.fails
        assert "✔" in report._repr_html_() and "ready" in repr(report)
        plan = pool.join(i3.url, "root", i3.password, fingerprint=i3.fingerprint, dry_run=True)
        assert not plan.executed and "pool.join" in plan.calls
        assert sim.host("intel3").master_address is None
        joined = pool.join(i3.url, "root", i3.password, fingerprint=i3.fingerprint)
        assert joined.executed

        amd = sim.host("amd1")
        amd_report = pool.validate_join(amd.url, "root", amd.password, fingerprint=amd.fingerprint)
        assert not amd_report.ready
        assert report.predicted_failure is None
        assert amd_report.predicted_failure == ("HOSTS_NOT_HOMOGENEOUS", ["CPUs differ"])
        assert any(c["xapi_error"] and c["xapi_error"]["code"] == "HOSTS_NOT_HOMOGENEOUS" for c in amd_report.fails)
        assert "✘" in amd_report._repr_html_()
        with pytest.raises(exceptions.Refused) as refused:
            pool.join(amd.url, "root", amd.password, fingerprint=amd.fingerprint)
        # Branch on the check ids; the words are for people.
        assert refused.value.params == ["cpu_vendor"] and "AuthenticAMD" in str(refused.value)
        with pytest.raises(exceptions.Refused) as refused:
            pool.join(amd.url, "root", amd.password, fingerprint=amd.fingerprint, force=True)
        assert refused.value.params == ["cpu_vendor"] and "allow_cross_vendor" in str(refused.value)
        with pytest.raises(exceptions.InvalidArgument):
            pool.join(amd.url, "root", amd.password, fingerprint=amd.fingerprint, allow_cross_vendor=True)
        plan = pool.join(
            amd.url, "root", amd.password, fingerprint=amd.fingerprint, force=True, allow_cross_vendor=True, dry_run=True
        )
        assert [c["id"] for c in plan["forced_past"]] == ["cpu_vendor"]

        bonds = pool.create_bond(["eth2", "eth3"], "lacp", "Storage")
        assert len(bonds.bonds) == 3
        old = sim.host("intel-old")
        with pytest.raises(exceptions.Refused):
            pool.join(old.url, "root", old.password, fingerprint=old.fingerprint)
        pool.join(old.url, "root", old.password, fingerprint=old.fingerprint, force=True)
        problems = pool.check_bonds()
        assert len(problems) == 1 and problems[0]["host"] == "intel-old"
        assert "Bond.destroy" in pool.repair_bonds(dry_run=True).calls
        pool.repair_bonds()
        assert pool.check_bonds() == []

        sr = pool.create_nfs_sr("lab-nfs", "nfs.lab", "/exports/lab")
        assert sr.sr and pool.xenapi.pool.get_default_SR(pool.xenapi.pool.get_all()[0]) == sr.sr

        gib = 1 << 30
        vm = pool.xenapi.VM.create(
            {"name_label": "web", "memory_static_max": gib, "memory_dynamic_max": gib,
             "memory_dynamic_min": gib, "memory_static_min": gib // 2, "VCPUs_max": 1,
             "VCPUs_at_startup": 1}
        )
        pool.xenapi.VM.start_on(vm, "intel3", False, False)
        moved = pool.migrate("web", "intel2")
        assert moved.moved == [["web", "intel2"]]
        pool.migrate("web", "intel3")

        overview = pool.overview()
        assert overview.hosts[0]["coordinator"] and overview.hosts[0]["name"] == "intel1"
        assert "web" in next(h for h in overview.hosts if h["name"] == "intel3")["vms"]
        svg = overview._repr_svg_()
        assert svg.startswith("<svg") and "★ intel1" in svg and "lab-nfs" in svg

        ejected = pool.eject("intel3")
        assert ejected.evacuated == ["web"]
        assert any("IPMI" in w for w in ejected.plan["warnings"])

        cache = pool.cache(["VM"])
        pool.xenapi.VM.set_name_description(vm, "watched")
        rec = cache.wait_for("VM", vm, lambda r: r.name_description == "watched", timeout=10)
        assert rec.name_label == "web"
        with pytest.raises(exceptions.TimeoutError):
            cache.wait_for("VM", vm, lambda r: False, timeout=0.3)

        pool.xenapi.VM.set_ha_restart_priority(vm, "restart")
        assert "Async.pool.enable_ha" in pool.enable_ha(dry_run=True).calls
        ha = pool.enable_ha()
        assert ha.failures_to_tolerate >= 1
        sim.kill("intel1")
        assert len(pool.xenapi.host.get_all_records()) == 3, "reads carry on after failover"
        assert pool.coordinator_address != sim.host("intel1").address
        pool.disable_ha()
    assert sim.session_count() == 0


def test_the_cache_waits_for_one_object_or_any_of_a_class(sim: Simulator) -> None:
    with sim.pool("intel1") as pool:
        cache = pool.cache(["VM"])
        gib = 1 << 30
        vm = pool.xenapi.VM.create(
            {"name_label": "cached", "memory_static_max": gib, "memory_dynamic_max": gib,
             "memory_dynamic_min": gib, "memory_static_min": gib // 2, "VCPUs_max": 1,
             "VCPUs_at_startup": 1}
        )

        # One object: it may not be cached yet, and a record that already fits returns.
        rec = cache.wait_for("VM", vm, lambda r: r.power_state == "Halted", timeout=10)
        assert rec.name_label == "cached"
        pool.xenapi.VM.start(vm, False, False)
        rec = cache.wait_for("VM", vm, lambda r: r.power_state == "Running", timeout=10)
        assert not rec.resident_on.is_null
        with pytest.raises(exceptions.TimeoutError) as timeout:
            cache.wait_for("VM", vm, lambda r: False, timeout=0.2)
        assert timeout.value.params[0] == f"waiting for VM {vm}"

        # Any object of a class: the first record that fits, with its reference.
        ref, rec = cache.wait_for_any("vm", lambda r: r.is_control_domain, timeout=10)
        assert rec.is_control_domain and ref.xenapi_class == "VM"
        ref, rec = cache.wait_for_any("VM", lambda r: r.power_state == "Running" and not r.is_control_domain)
        assert ref == vm and rec.name_label == "cached"
        with pytest.raises(exceptions.TimeoutError) as timeout:
            cache.wait_for_any("VM", lambda r: r.name_label == "never", timeout=0.2)
        assert timeout.value.params[0] == "waiting for any VM"
        with pytest.raises(exceptions.InvalidArgument):
            cache.wait_for_any("host", lambda r: True)

        # The predicate runs in the caller's thread: its exception is the caller's.
        with pytest.raises(ZeroDivisionError):
            cache.wait_for_any("VM", lambda r: 1 / 0)
        cache.close()
        with pytest.raises(exceptions.SessionClosed):
            cache.wait_for("VM", vm, lambda r: False)


def test_recovery_of_a_lost_coordinator(sim: Simulator) -> None:
    a = lambda name: sim.host(name).access()  # noqa: E731
    pool, _ = xenpool.Pool.create("p", a("intel1"), [a("intel2")])
    pool.close()
    sim.kill("intel1")
    none, dry = xenpool.Pool.recover_lost_coordinator(a("intel2"), restart_vms=True, dry_run=True)
    assert none is None and not dry.executed and "host.declare_dead" in dry.calls
    new, outcome = xenpool.Pool.recover_lost_coordinator(a("intel2"), restart_vms=True)
    assert new is not None
    with new:
        assert "pool.emergency_transition_to_master" in outcome.calls
        assert outcome.declared_dead == ["intel1"]
        assert len(new.xenapi.host.get_all()) == 2


def test_pytest_plugin_fixture(xenpool_simulator: Simulator) -> None:
    assert any(h.name == "intel1" for h in xenpool_simulator.hosts)
