"""The official XenAPI Python client (PyPI `XenAPI`) drives xenpool-sim unchanged."""
import json
import os
import subprocess
import time

import pytest
import XenAPI

SIM = os.environ.get("XENPOOL_SIM", os.path.join(os.path.dirname(__file__), "..", "..", "..", "target", "debug", "xenpool-sim"))

# Lab hosts xapi refuses, with the exact ErrorDescription a real pool.join raises.
REFUSED = {
    "amd1": ["HOSTS_NOT_HOMOGENEOUS", "CPUs differ"],
    "busy": ["JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"],
    "midop": ["JOINING_HOST_CANNOT_HAVE_VMS_WITH_CURRENT_OPERATIONS"],
    "nfs-host": ["JOINING_HOST_CANNOT_CONTAIN_SHARED_SRS"],
    "bonded": ["POOL_JOINING_HOST_HAS_BONDS"],
    "oldver": ["HOSTS_NOT_COMPATIBLE"],
    "nohotfix": ["HOSTS_NOT_HOMOGENEOUS", "Updates on local host nohotfix and pool host intel1 differ"],
    "nolinux": ["HOSTS_NOT_HOMOGENEOUS", "Software version differs"],
    "pooled-a": ["JOINING_HOST_CANNOT_BE_MASTER_OF_OTHER_HOSTS"],
}


@pytest.fixture(scope="module")
def lab():
    proc = subprocess.Popen([SIM, "--scenario", "lab", "--json", "--auth-delay-ms", "100"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, "xenpool-sim printed nothing"
        description = json.loads(line)
        yield {h["name"]: h for h in description["hosts"]}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def session(host):
    s = XenAPI.Session(host["url"], ignore_ssl=True)
    s.xenapi.login_with_password("root", host["password"], "1.0", "pytest")
    return s


def test_login_and_records_look_like_xapi(lab):
    s = session(lab["intel1"])
    hosts = s.xenapi.host.get_all_records()
    assert len(hosts) == 1
    (host,) = hosts.values()
    assert host["name_label"] == "intel1"
    # xapi sends int64 untagged, so XenAPI.py sees strings; booleans stay booleans.
    assert host["API_version_major"] == "2"
    assert host["enabled"] is True
    with pytest.raises(XenAPI.Failure) as wrong:
        XenAPI.Session(lab["intel1"]["url"], ignore_ssl=True).xenapi.login_with_password("root", "wrong")
    assert wrong.value.details[0] == "SESSION_AUTHENTICATION_FAILED"
    s.xenapi.session.logout()


def test_pool_story(lab):
    master = lab["intel1"]
    s = session(master)

    joiner = session(lab["intel2"])
    joiner.xenapi.pool.join(master["address"], "root", master["password"])
    with pytest.raises(XenAPI.Failure) as redirected:
        session(lab["intel2"])
    assert redirected.value.details == ["HOST_IS_SLAVE", master["address"]]
    # Every lab host has its own password; a member takes its coordinator's.
    assert lab["intel2"]["password"] != master["password"]
    local = XenAPI.Session(lab["intel2"]["url"], ignore_ssl=True)
    with pytest.raises(XenAPI.Failure) as stale:
        local.slave_local_login_with_password("root", lab["intel2"]["password"])
    assert stale.value.details[0] == "SESSION_AUTHENTICATION_FAILED"
    local.slave_local_login_with_password("root", master["password"])
    local.xenapi.session.logout()

    for name, details in REFUSED.items():
        other = session(lab[name])
        with pytest.raises(XenAPI.Failure) as refused:
            other.xenapi.pool.join(master["address"], "root", master["password"])
        assert refused.value.details == details, name

    with pytest.raises(XenAPI.Failure) as member:
        session(lab["pooled-b"])
    assert member.value.details == ["HOST_IS_SLAVE", lab["pooled-a"]["address"]]

    # join_force succeeds where xapi's would: only the homogeneity check is skipped.
    session(lab["amd1"]).xenapi.pool.join_force(master["address"], "root", master["password"])
    assert len(s.xenapi.host.get_all()) == 3

    # Shared NFS storage: a plugged PBD on every host.
    hosts = s.xenapi.host.get_all()
    sr = s.xenapi.SR.create(hosts[0], {"server": "nfs.lab", "serverpath": "/exports/lab"}, "0", "lab-nfs", "", "nfs", "user", True, {})
    pbds = s.xenapi.SR.get_PBDs(sr)
    assert len(pbds) == 3
    assert all(s.xenapi.PBD.get_currently_attached(p) for p in pbds)

    # A bond on intel2's storage NICs.
    intel2 = s.xenapi.host.get_by_name_label("intel2")[0]
    nics = [p for p in s.xenapi.PIF.get_all_records().items() if p[1]["host"] == intel2 and p[1]["device"] in ("eth2", "eth3")]
    network = s.xenapi.network.create({"name_label": "storage bond", "name_description": "", "MTU": "1500", "other_config": {}})
    bond = s.xenapi.Bond.create(network, [r for r, _ in nics], "", "lacp", {})
    assert s.xenapi.Bond.get_mode(bond) == "lacp"
    assert s.xenapi.Bond.get_properties(bond)["hashing_algorithm"] == "tcpudp_ports"

    # Live migration of a VM on the shared SR.
    vm = s.xenapi.VM.create({
        "name_label": "mover", "name_description": "", "user_version": "1", "is_a_template": False,
        "affinity": hosts[0], "memory_static_max": str(1 << 30), "memory_dynamic_max": str(1 << 30),
        "memory_dynamic_min": str(1 << 30), "memory_static_min": str(1 << 29), "VCPUs_params": {},
        "VCPUs_max": "1", "VCPUs_at_startup": "1", "actions_after_shutdown": "destroy",
        "actions_after_reboot": "restart", "actions_after_crash": "restart", "PV_bootloader": "",
        "PV_kernel": "", "PV_ramdisk": "", "PV_args": "", "PV_bootloader_args": "", "PV_legacy_args": "",
        "HVM_boot_policy": "BIOS order", "HVM_boot_params": {}, "platform": {}, "PCI_bus": "",
        "other_config": {}, "recommendations": "",
    })
    s.xenapi.VM.start_on(vm, intel2, False, False)
    s.xenapi.VM.pool_migrate(vm, hosts[0], {"live": "true"})
    assert s.xenapi.VM.get_resident_on(vm) == hosts[0]
    task = s.xenapi.Async.VM.pool_migrate(vm, intel2, {})
    for _ in range(100):
        if s.xenapi.task.get_status(task) != "pending":
            break
        time.sleep(0.05)
    assert s.xenapi.task.get_status(task) == "success"
    s.xenapi.task.destroy(task)

    # Eject: the coordinator is refused; a member with no running VMs goes.
    with pytest.raises(XenAPI.Failure) as master_eject:
        s.xenapi.pool.eject(hosts[0])
    assert master_eject.value.details == ["INTERNAL_ERROR", "Xapi_pool.Cannot_eject_master"]
    amd = s.xenapi.host.get_by_name_label("amd1")[0]
    s.xenapi.pool.eject(amd)
    assert len(s.xenapi.host.get_all()) == 2
    s.xenapi.session.logout()


def test_bad_input_gets_xapi_errors(lab):
    s = session(lab["intel3"])
    for call, code in [
        (lambda: s.xenapi.VM.get_record("OpaqueRef:nope"), "HANDLE_INVALID"),
        (lambda: s.xenapi.VM.get_by_uuid("nope"), "UUID_INVALID"),
        (lambda: s.xenapi.VM.get_all("extra"), "MESSAGE_PARAMETER_COUNT_MISMATCH"),
        (lambda: s.xenapi.VM.teleport(), "MESSAGE_METHOD_UNKNOWN"),
    ]:
        with pytest.raises(XenAPI.Failure) as e:
            call()
        assert e.value.details[0] == code
    s.xenapi.session.logout()


def test_issue_18_over_xmlrpc(lab):
    s = session(lab["suspended"])
    vm = s.xenapi.VM.get_by_name_label("sleeper")[0]
    # One power-state table: clean shutdown needs Running; allowed_operations is filled.
    assert "resume" in s.xenapi.VM.get_allowed_operations(vm)
    with pytest.raises(XenAPI.Failure) as e:
        s.xenapi.VM.clean_shutdown(vm)
    assert e.value.details == ["VM_BAD_POWER_STATE", vm, "running", "suspended"]
    # valid_ref_counts: every table, integers on the wire.
    batch = s.xenapi.event_from(["vm"], "", 0.0)
    assert isinstance(batch["valid_ref_counts"]["vm"], int)
    assert "pif" in batch["valid_ref_counts"]
    # Async error text without the prefix.
    host = s.xenapi.host.get_all()[0]
    with pytest.raises(XenAPI.Failure) as e:
        s.xenapi.Async.host.get_servertime(host)
    assert e.value.details == ["Fault", "No async mode for this operation (rpc: host.get_servertime)"]
    s.xenapi.session.logout()
