"""The type stubs: the committed ones are what stubgen.py writes from the metadata now, they
cover every class, field and message, and they type (not ``Any``) calls and records.
(``mypy.stubtest`` and a type-checked example run from ``cargo xtask test``.)"""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from xenpool import _native, enums

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "xenpool"
GENERATED = ("api.pyi", "records.pyi", "enums.pyi")


def test_committed_stubs_are_current(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "stubgen.py"), "--out", str(tmp_path)], check=True)
    for name in GENERATED:
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        committed = (PACKAGE / name).read_text(encoding="utf-8")
        if fresh != committed:
            diff = "".join(
                list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), name, "fresh"))[:40]
            )
            raise AssertionError(f"{name} is stale: run `python stubgen.py`\n{diff}")
    check = subprocess.run([sys.executable, str(ROOT / "stubgen.py"), "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_stubs_cover_every_class_field_message_and_enum() -> None:
    api = (PACKAGE / "api.pyi").read_text(encoding="utf-8")
    records = (PACKAGE / "records.pyi").read_text(encoding="utf-8")
    for class_name, fields, messages in _native.classes():
        assert f"class {class_name}Class(ClassProxy):" in api
        assert f"class Aio{class_name}Class(ClassProxy):" in api
        assert f"    {class_name}: {class_name}Class\n" in api
        assert f"class {class_name}Record(Record):" in records
        section = api.split(f"class {class_name}Class(ClassProxy):", 1)[1].split("\nclass ", 1)[0]
        for name, _params, _result, _is_async, _session in messages:
            assert f" def {name}(" in section or f" def {name}_(" in section, f"{class_name}.{name}"
    stub_enums = (PACKAGE / "enums.pyi").read_text(encoding="utf-8")
    for name in _native.enums():
        assert f"\n{name}: TypeAlias = Literal[" in stub_enums
        assert getattr(enums, name) is not None


def test_known_signatures_are_typed() -> None:
    api = (PACKAGE / "api.pyi").read_text(encoding="utf-8")
    records = (PACKAGE / "records.pyi").read_text(encoding="utf-8")
    assert "    def get_all_records(self) -> dict[Ref, VMRecord]: ..." in api
    assert "    def start_on(self, vm: str, host: str, start_paused: bool, force: bool, /) -> None: ..." in api
    assert "    async def get_all_records(self) -> dict[Ref, VMRecord]: ..." in api
    assert "    def start(self, vm: str, start_paused: bool, force: bool, /) -> Task[None]: ..." in api
    assert "    def memory_static_max(self) -> int: ..." in records
    assert "    def power_state(self) -> enums.vm_power_state: ..." in records


def test_runtime_proxies_carry_the_message_signature() -> None:
    import inspect

    from xenpool import api

    assert str(inspect.signature(api.VMClass.start_on)) == "(self, vm, host, start_paused, force, /)"
    assert str(inspect.signature(api.AiohostClass.disable)) == "(self, host, auto_enable=<omitted>, /)"
    assert str(inspect.signature(api.VMClass.import_)).startswith("(self, url, sr, full_restore, force")


def test_the_runtime_enum_aliases_hold_the_values() -> None:
    from typing import get_args

    values = _native.enums()["vm_power_state"]
    assert sorted(a for arg in get_args(enums.vm_power_state) for a in get_args(arg)) == sorted(values)
    assert "vm_power_state" in enums.__all__


SNIPPET = """
from xenpool.testing import simulator
with simulator(scenario="lab") as sim:
    with sim.session("intel1") as s:
        vms = s.xenapi.VM.get_all_records()
        reveal_type(vms)
        for ref, vm in vms.items():
            reveal_type(vm.memory_static_max)
            reveal_type(vm.power_state)
            s.xenapi.VM.start_on(ref, "h", "yes", False)
            s.xenapi.VM.get_all_recordz()
            vm.name_labell
        reveal_type(s.xenapi.Async.VM.clean_shutdown(ref))
    with sim.pool("intel1") as p:
        reveal_type(p.xenapi.host.disable)
"""


def test_mypy_types_calls_and_records_through_the_stubs(tmp_path: Path) -> None:
    from mypy import api

    path = tmp_path / "uses_xenpool.py"
    path.write_text(SNIPPET)
    out, err, status = api.run(["--strict", "--no-error-summary", str(path)])
    assert status == 1, out + err
    expected = [
        'Revealed type is "dict[xenpool._types.Ref, xenpool.records.VMRecord]"',
        'Revealed type is "int"',
        "Revealed type is \"Literal['Halted'] | Literal['Paused'] | Literal['Running'] | Literal['Suspended']\"",
        'Argument 3 to "start_on" of "VMClass" has incompatible type "str"; expected "bool"',
        '"VMClass" has no attribute "get_all_recordz"; maybe "get_all_records"?',
        '"VMRecord" has no attribute "name_labell"; maybe "name_label"?',
        'Revealed type is "xenpool.api.Task[None]"',
        'Revealed type is "def (str, bool =)"',
    ]
    for line in expected:
        assert line in out, f"{line!r} not in:\n{out}"
    assert out.count("error:") == 3, out
