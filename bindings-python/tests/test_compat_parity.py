"""One module, two clients: the official XenAPI module (PyPI) and xenpool's drop-in run
the same script against the simulator with the same assertions."""

from __future__ import annotations

import importlib
import xmlrpc.client
from types import ModuleType

import pytest

from xenpool.testing import Simulator


@pytest.fixture(params=["official", "xenpool"])
def XenAPI(request: pytest.FixtureRequest) -> ModuleType:  # noqa: N802 - the module's name
    if request.param == "official":
        return importlib.import_module("XenAPI")
    return importlib.import_module("xenpool.XenAPI")


def test_script_written_for_the_official_client(sim: Simulator, XenAPI: ModuleType) -> None:  # noqa: N803
    h = sim.host("intel1")
    session = XenAPI.Session(h.url, ignore_ssl=True)
    assert session.xenapi.login_with_password("root", h.password, "2.23", "parity-test") is None
    assert isinstance(session.handle, str) and session.handle.startswith("OpaqueRef:")
    try:
        vms = session.xenapi.VM.get_all()
        assert isinstance(vms, list) and all(isinstance(v, str) for v in vms)
        records = session.xenapi.VM.get_all_records()
        assert set(records) == set(vms)
        ref, rec = next(iter(records.items()))
        assert type(rec) is dict
        # XML-RPC: int64 are strings, enums plain strings, booleans bools.
        assert type(rec["memory_static_max"]) is str and int(rec["memory_static_max"]) > 0
        assert rec["power_state"] in ("Running", "Halted")
        assert type(rec["is_a_template"]) is bool
        assert session.xenapi.VM.get_record(ref) == rec
        host = session.xenapi.host.get_all()[0]
        assert session.xenapi.host.get_name_label(host) == "intel1"
        metrics = session.xenapi.host.get_metrics(host)
        assert isinstance(session.xenapi.host_metrics.get_last_updated(metrics), xmlrpc.client.DateTime)
        # Arguments go out as given.
        session.xenapi.VM.set_name_description(ref, "set by parity test")
        assert session.xenapi.VM.get_name_description(ref) == "set by parity test"
        with pytest.raises(XenAPI.Failure) as e:
            session.xenapi.VM.get_record("OpaqueRef:no-such-vm")
        assert e.value.details == ["HANDLE_INVALID", "VM", "OpaqueRef:no-such-vm"]
        assert str(e.value) == str(e.value.details)
        with pytest.raises(XenAPI.Failure) as e:
            session.xenapi.VM.get_record(ref, "one too many")
        assert e.value.details[0] == "MESSAGE_PARAMETER_COUNT_MISMATCH"
        assert session.API_version == "2.21" or "." in session.API_version
    finally:
        session.xenapi.session.logout()
    assert session.handle is None
    assert sim.session_count() == 0


def test_wrong_password(sim: Simulator, XenAPI: ModuleType) -> None:  # noqa: N803
    h = sim.host("intel1")
    session = XenAPI.Session(h.url, ignore_ssl=True)
    with pytest.raises(XenAPI.Failure) as e:
        session.xenapi.login_with_password("root", "not-the-password")
    assert e.value.details[0] == "SESSION_AUTHENTICATION_FAILED"


def test_xapi_local_exists(XenAPI: ModuleType) -> None:  # noqa: N803
    session = XenAPI.xapi_local()
    assert hasattr(session, "xenapi")
