"""VM.get_all_records of 10,000 VMs, end to end with login and logout, side by side in one
run against one in-process simulator (scenario pool16, VMs rescaled):

* xenpool            ``xenpool.Session(...).xenapi.VM.get_all_records()`` (typed records),
                     then reading ``name_label`` and ``memory_static_max`` of every VM;
* XenAPI.py          the official client (XML-RPC), same reads;
* urllib + json      plain JSON-RPC with ``urllib.request`` and ``json.loads``, same reads;
* Rust call          the typed Rust call ``Vm::get_all_records`` (core's example
                     ``get_all_records``, built with ``cargo build --release -p xenpool
                     --example get_all_records``; left out when it is not built), same reads.

The simulator runs in a process of its own (``--serve``) and each client in a fresh
subprocess (``--client NAME``) started by a parent that holds no simulator: Linux carries
the parent's peak RSS into a child, so a parent holding 10,000 simulated VMs would show as
every client's peak. The figures are the best and median of ``--rounds`` runs. For
representative numbers install a release build (``maturin develop --release``): the
simulator runs from it too.

    python bench/get_all_records.py --vms 10000 --rounds 3 [--rust PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request


def run_xenpool(url: str, password: str, fingerprint: str) -> int:
    import xenpool

    with xenpool.Session(url, "root", password, fingerprint=fingerprint) as s:
        vms = s.xenapi.VM.get_all_records()
        total = sum(v.memory_static_max for v in vms.values())
        names = [v.name_label for v in vms.values()]
    assert total > 0 and len(names) == len(vms)
    return len(vms)


def run_official(url: str, password: str, fingerprint: str) -> int:
    import XenAPI

    s = XenAPI.Session(url, ignore_ssl=True)
    s.xenapi.login_with_password("root", password, "2.23", "bench")
    try:
        vms = s.xenapi.VM.get_all_records()
        total = sum(int(v["memory_static_max"]) for v in vms.values())
        names = [v["name_label"] for v in vms.values()]
    finally:
        s.xenapi.session.logout()
    assert total > 0 and len(names) == len(vms)
    return len(vms)


def run_urllib(url: str, password: str, fingerprint: str) -> int:
    context = ssl._create_unverified_context()
    endpoint = url.rstrip("/") + "/jsonrpc"

    def call(method: str, *params: object) -> object:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        req = urllib.request.Request(endpoint, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=context) as r:
            reply = json.loads(r.read())
        if "error" in reply and reply["error"]:
            raise RuntimeError(reply["error"])
        return reply["result"]

    session = call("session.login_with_password", "root", password, "2.23", "bench")
    try:
        vms = call("VM.get_all_records", session)
        assert isinstance(vms, dict)
        total = sum(int(v["memory_static_max"]) for v in vms.values())
        names = [v["name_label"] for v in vms.values()]
    finally:
        call("session.logout", session)
    assert total > 0 and len(names) == len(vms)
    return len(vms)


CLIENTS = {"xenpool": run_xenpool, "XenAPI.py": run_official, "urllib+json": run_urllib}


#: The module each client imports, loaded before the clock starts (import time is shown
#: apart: xenpool builds its proxies and record classes from the metadata at import).
MODULES = {"xenpool": "xenpool", "XenAPI.py": "XenAPI", "urllib+json": "json"}


def child(name: str, url: str, password: str, fingerprint: str) -> None:
    t0 = time.perf_counter()
    importlib.import_module(MODULES[name])
    imported = time.perf_counter() - t0
    started = time.perf_counter()
    count = CLIENTS[name](url, password, fingerprint)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": elapsed, "import": imported, "peak_mib": peak, "vms": count}))


def serve(vms: int) -> None:
    """Runs the simulator until stdin closes; its coordinator's access on one line."""
    from xenpool.testing import simulator

    with simulator("pool16", vms=vms) as sim:
        h = sim.hosts[0]
        print(json.dumps({"url": h.url, "password": h.password, "fingerprint": h.fingerprint or ""}), flush=True)
        sys.stdin.read()


def rust_client(given: str | None) -> str | None:
    """The Rust client's program: as given, else the release build in the target dir."""
    if given:
        return given
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target"))
    path = os.path.join(target, "release", "examples", "get_all_records")
    return path if os.access(path, os.X_OK) else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vms", type=int, default=10000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--client", choices=list(CLIENTS))
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url")
    p.add_argument("--password")
    p.add_argument("--fingerprint")
    p.add_argument("--rust", help="the Rust client (core's example get_all_records)")
    a = p.parse_args()
    if a.client:
        child(a.client, a.url, a.password, a.fingerprint)
        return

    if a.serve:
        serve(a.vms)
        return

    rust = rust_client(a.rust)
    if rust is None:
        print("(no Rust row: cargo build --release -p xenpool --example get_all_records)")
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--vms", str(a.vms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ,
    )
    try:
        assert server.stdout is not None
        host = json.loads(server.stdout.readline())
        access = [host["url"], host["password"], host["fingerprint"]]
        commands = {
            name: [sys.executable, __file__, "--client", name, "--url", access[0],
                   "--password", access[1], "--fingerprint", access[2]]
            for name in CLIENTS
        }
        if rust is not None:
            commands["Rust call"] = [rust, *access]
        results: dict[str, list[dict[str, float]]] = {n: [] for n in commands}
        for _ in range(a.rounds):
            for name, command in commands.items():  # interleaved: drift hits every client alike
                out = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
                results[name].append(json.loads(out.stdout))
        base = min(r["seconds"] for r in results["xenpool"])
        print(f"VM.get_all_records, {a.vms} VMs (pool16), login to logout, {a.rounds} rounds")
        print(f"{'client':<14}{'best s':>9}{'median s':>10}{'import s':>10}{'peak MiB':>10}{'vs xenpool':>12}")
        for name, rs in results.items():
            secs = [r["seconds"] for r in rs]
            print(
                f"{name:<14}{min(secs):>9.3f}{statistics.median(secs):>10.3f}"
                f"{min(r.get('import', 0.0) for r in rs):>10.3f}"
                f"{max(r['peak_mib'] for r in rs):>10.1f}{min(secs) / base:>11.1f}x"
            )
            assert all(r["vms"] >= a.vms for r in rs)

        def ratio(slow: str, fast: str) -> str:
            best = min(r["seconds"] for r in results[slow]) / min(r["seconds"] for r in results[fast])
            med = statistics.median(r["seconds"] for r in results[slow]) / statistics.median(
                r["seconds"] for r in results[fast])
            return f"{best:.2f}x best, {med:.2f}x median"

        print(f"XenAPI.py / xenpool:   {ratio('XenAPI.py', 'xenpool')} (target >= 15x)")
        print(f"urllib+json / xenpool: {ratio('urllib+json', 'xenpool')} (target >= 1.5x)")
        if "Rust call" in results:
            print(f"xenpool / Rust call:   {ratio('xenpool', 'Rust call')} (target <= 1.5x)")
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
