"""Sessions over both protocols: typed records, conversions, checks, tasks, events."""

from __future__ import annotations

import datetime as dt

import pytest

import xenpool
from xenpool import EnumValue, Ref, exceptions
from xenpool.records import RECORD_TYPES
from xenpool.testing import Simulator


def test_typed_records(sim: Simulator, protocol: str) -> None:
    with sim.session("intel1", protocol=protocol) as s:
        vms = s.xenapi.VM.get_all_records()
        assert len(vms) >= 1
        ref, vm = next(iter(vms.items()))
        assert isinstance(ref, Ref) and isinstance(ref, str) and ref.startswith("OpaqueRef:")
        assert ref.xenapi_class == "VM"
        assert isinstance(vm, RECORD_TYPES["VM"]) and isinstance(vm, xenpool.Record)
        assert type(vm.memory_static_max) is int and vm.memory_static_max > 0
        assert isinstance(vm.power_state, EnumValue) and vm.power_state == "Running"
        assert vm.power_state.enumeration == "vm_power_state"
        assert isinstance(vm.resident_on, Ref) and vm.resident_on.xenapi_class == "host"
        d = vm.to_dict()
        assert d["uuid"] == vm.uuid and d["memory_static_max"] == vm.memory_static_max
        assert vm == s.xenapi.VM.get_record(ref)
        assert vm != s.xenapi.host.get_record(s.xenapi.host.get_all()[0])
        assert "VMRecord(" in repr(vm) and vm.name_label in repr(vm)
        assert "<table>" in vm._repr_html_()
        host = s.xenapi.host.get_all()[0]
        metrics = s.xenapi.host.get_metrics(host)
        updated = s.xenapi.host_metrics.get_last_updated(metrics)
        assert isinstance(updated, dt.datetime) and updated.tzinfo is not None
        with pytest.raises(AttributeError):
            vm.no_such_field  # noqa: B018


def test_arguments_are_checked_by_the_datamodel(sim: Simulator, protocol: str) -> None:
    with sim.session("intel1", protocol=protocol) as s:
        vm = s.xenapi.VM.get_all()[0]
        with pytest.raises(TypeError) as e:
            s.xenapi.VM.set_memory_static_max(vm, "lots")
        assert isinstance(e.value, exceptions.WrongType)
        assert e.value.code == "WRONG_TYPE" and e.value.parameter == "value"
        with pytest.raises(AttributeError) as a:
            s.xenapi.VM.strat  # noqa: B018
        assert isinstance(a.value, exceptions.UnknownMethod)
        assert "VM.start" in a.value.suggestions
        with pytest.raises(exceptions.InvalidArgument):
            s.xenapi.VM.get_record()
        # A host by name, looked up by the core; an enum in any case.
        host = s.xenapi.host.get_by_name_label("intel1")[0]
        assert s.xenapi.host.get_record("intel1").uuid == s.xenapi.host.get_uuid(host)
        with pytest.raises(exceptions.NotFound):
            s.xenapi.host.get_record("no-such-host")


def new_vm(s: xenpool.Session, name: str) -> Ref:
    """A small halted VM (the record is completed from the datamodel's defaults)."""
    gib = 1 << 30
    return s.xenapi.VM.create(
        {
            "name_label": name,
            "memory_static_max": gib,
            "memory_dynamic_max": gib,
            "memory_dynamic_min": gib,
            "memory_static_min": gib // 2,
            "VCPUs_max": 1,
            "VCPUs_at_startup": 1,
        }
    )


def test_async_task_and_events(sim: Simulator, protocol: str) -> None:
    with sim.session("intel1", protocol=protocol) as s:
        vm = new_vm(s, "by-task")
        assert s.xenapi.VM.get_power_state(vm) == "Halted"
        events = s.events(["vm"])
        first = next(events)
        assert first.operation == "add" and first.class_ == "VM"
        task = s.xenapi.Async.VM.start(vm, False, False)
        assert isinstance(task, xenpool.Task) and task.ref.startswith("OpaqueRef:")
        assert task.wait(timeout=30) is None
        assert s.xenapi.VM.get_power_state(vm) == "Running"
        while True:
            e = next(events)
            if e.ref == vm and e.operation == "mod" and e.snapshot.power_state == "Running":
                break
        assert isinstance(e.snapshot, xenpool.Record) and e.snapshot.name_label == "by-task"
        assert events.token
        with pytest.raises(xenpool.Failure) as f:
            s.xenapi.Async.VM.start(vm, False, False).wait(timeout=30)
        assert f.value.code == "VM_BAD_POWER_STATE"


def test_secrets_stay_out_of_reprs_and_messages(sim: Simulator) -> None:
    h = sim.host("intel1")
    with sim.session("intel1") as s:
        assert h.password not in repr(s) and s.session_ref not in repr(s)
    bad = "-".join(["Wr0ng", "Secret!"])  # not spelled out: tracebacks quote source lines
    with pytest.raises(xenpool.Failure) as e:
        xenpool.Session(h.url, "root", bad, fingerprint=h.fingerprint)
    assert e.value.code == "SESSION_AUTHENTICATION_FAILED"
    import traceback

    text = "".join(traceback.format_exception(e.value))
    assert bad not in text and bad not in repr(e.value) and bad not in str(e.value.__cause__)
    assert h.password not in repr(h) and h.password not in repr(h.access())


def test_password_from_environment(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    h = sim.host("intel1")
    monkeypatch.setenv("XENPOOL_PASSWORD", h.password)
    with xenpool.Session(h.url, fingerprint=h.fingerprint) as s:
        assert s.xenapi.pool.get_all()
    monkeypatch.delenv("XENPOOL_PASSWORD")
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(exceptions.InvalidArgument):
        xenpool.Session(h.url, fingerprint=h.fingerprint)


def test_tls_policies(sim: Simulator) -> None:
    h = sim.host("intel1")
    with xenpool.Session(h.url, "root", h.password, trust_on_first_use=True) as s:
        assert s.fingerprint == h.fingerprint
    with xenpool.Session(h.url, "root", h.password, insecure=True) as s:
        assert s.xenapi.host.get_all()
    with pytest.raises(exceptions.TLSError) as e:
        xenpool.Session(h.url, "root", h.password)  # self-signed: not trusted
    assert e.value.code == "TLS" and not e.value.may_have_reached_host
    other = sim.host("intel2").fingerprint
    with pytest.raises(exceptions.TLSError):
        xenpool.Session(h.url, "root", h.password, fingerprint=other)


def test_member_redirects_to_coordinator_and_logout(sim: Simulator) -> None:
    b = sim.host("pooled-b")
    s = xenpool.Session(b.url, "root", b.password, insecure=True)
    assert s.coordinator_url and sim.host("pooled-a").address in s.coordinator_url
    s.logout()
    s.logout()
    assert s.closed
    with pytest.raises(exceptions.SessionClosed):
        s.xenapi.pool.get_all()
