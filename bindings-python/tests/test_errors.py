"""Every exception class and code: raised for real where the simulator can provoke it,
and through the one native mapping for every code the core defines."""

from __future__ import annotations

import json
import pickle
import time

import pytest

import xenpool
from xenpool import _native, exceptions
from xenpool.testing import Simulator


def test_every_core_code_has_its_class() -> None:
    codes = _native.error_codes()
    assert set(codes) == set(exceptions.CODES)
    for code in codes:
        e = exceptions._from_native(json.dumps(
            {"code": code, "params": ["p"], "message": "m", "method": "x.y", "host": None,
             "may_have_reached_host": False}
        ))
        assert type(e) is exceptions.CODES[code] and e.code == code and e.params == ["p"]
        assert isinstance(e, exceptions.XenpoolError) and e.method == "x.y"
    # Python's own hierarchy where it helps: except TypeError / AttributeError / LookupError.
    assert issubclass(exceptions.WrongType, TypeError)
    assert issubclass(exceptions.UnknownMethod, AttributeError)
    assert issubclass(exceptions.NotFound, LookupError)
    assert issubclass(exceptions.TimeoutError, TimeoutError)
    assert issubclass(exceptions.TransportError, ConnectionError)
    member_error = {"code": "HOSTS_NOT_HOMOGENEOUS", "params": ["CPUs differ"],
                    "message": "pool.join failed", "method": "pool.join", "host": "intel3",
                    "may_have_reached_host": True}
    partial = exceptions._from_native(json.dumps({
        "code": "POOL_PARTIAL", "params": ["create_pool", "intel3"], "message": "m",
        "method": "create_pool", "host": None, "may_have_reached_host": True,
        "partial": {"done": ["intel2"], "failed": [{"member": "intel3", "error": member_error}],
                    "not_attempted": []},
    }))
    assert isinstance(partial, exceptions.PoolPartial) and partial.done == ["intel2"]
    member, err = partial.failed[0]
    assert member == "intel3" and isinstance(err, xenpool.Failure) and err.details[0] == "HOSTS_NOT_HOMOGENEOUS"
    assert err.method == "pool.join" and err.host == "intel3"


def test_xenapi_failures_carry_details(sim: Simulator) -> None:
    with sim.session("intel1") as s:
        with pytest.raises(xenpool.Failure) as e:
            s.xenapi.VM.get_record("OpaqueRef:gone")
    f = e.value
    assert f.code == "HANDLE_INVALID" and f.params == ["VM", "OpaqueRef:gone"]
    assert f.details == [f.code, *f.params] and f.method == "VM.get_record"
    assert "class: VM" in str(f) and "handle: OpaqueRef:gone" in str(f)
    assert f.may_have_reached_host
    again = pickle.loads(pickle.dumps(f))
    assert again.details == f.details and type(again) is type(f)


def test_transport_and_timeout(sim: Simulator) -> None:
    with pytest.raises(exceptions.TransportError) as e:
        xenpool.Session("https://127.0.0.1:1", "root", "x", insecure=True)
    assert e.value.code == "TRANSPORT" and isinstance(e.value.__cause__, exceptions.NativeCause) or e.value.params
    h = sim.host("intel1")
    with xenpool.Session(h.url, "root", h.password, fingerprint=h.fingerprint, timeout=0.5) as s:
        sim.set_latency("intel1", 2.0)
        started = time.monotonic()
        with pytest.raises(exceptions.TimeoutError) as t:
            s.xenapi.host.get_all()
        assert time.monotonic() - started < 1.9
        assert t.value.code == "TIMEOUT" and t.value.params[0] == "host.get_all"
        sim.set_latency("intel1", 0)
        assert s.xenapi.host.get_all()


def test_invalid_argument_and_ambiguous_name(sim: Simulator) -> None:
    with sim.session("intel1") as s:
        with pytest.raises(exceptions.InvalidArgument) as e:
            s.xenapi.VM.get_record("a", "b")
        assert e.value.code == "INVALID_ARGUMENT" and not e.value.may_have_reached_host
        with pytest.raises(exceptions.InvalidArgument):
            xenpool.Session("not a url", "root", "x")
        vm = s.xenapi.VM.get_all()[0]
        with pytest.raises(exceptions.InvalidArgument):
            s.xenapi.VM.set_actions_after_crash(vm, "explode")  # not an enum value
        for _ in range(2):
            s.xenapi.network.create({"name_label": "twin"})
        with pytest.raises(exceptions.AmbiguousName) as a:
            s.xenapi.network.get_record("twin")
        assert a.value.code == "AMBIGUOUS_NAME" and a.value.params[:2] == ["network", "twin"]


def test_refused_by_a_workflow(sim: Simulator) -> None:
    with sim.pool("intel1") as pool:
        with pytest.raises(exceptions.Refused) as e:
            pool.eject("intel1")
    assert e.value.code == "REFUSED" and e.value.params
