"""Pool workflows over the core's failover-aware connection. Every workflow takes
``dry_run=True`` (returns the plan, changes nothing) and ``progress=`` (a callable
``(step, total, message)`` or a tqdm bar)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from . import _html, _native
from ._types import Ref
from .api import XenAPI
from .session import Host, Session

__all__ = ["Host", "Pool", "JoinReport", "Outcome", "PoolOverview", "ObjectCache", "Progress"]

#: A progress callback: ``(step, total, message)``, or a tqdm bar.
Progress = Callable[[int, int, str], Any]


def _progress(progress: Any) -> Callable[[int, int, str], Any] | None:
    """Adapts a tqdm bar (anything with ``update`` and ``set_description``)."""
    if progress is None or not (hasattr(progress, "update") and hasattr(progress, "set_description")):
        return progress  # type: ignore[no-any-return]
    bar = progress

    def update(step: int, total: int, message: str) -> None:
        bar.total = total
        bar.update(step - bar.n)
        bar.set_description(message)

    return update


class _Data(Mapping[str, Any]):
    """A JSON outcome with attribute access (``outcome.plan``), read-only."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain data (as the core serialises it)."""
        return self._data


class Outcome(_Data):
    """What a workflow did (or, in a dry run, would do): ``plan`` (calls and warnings),
    ``executed``, ``complete`` and the workflow's own fields."""

    def __init__(self, operation: str, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.operation = operation

    @property
    def calls(self) -> list[str]:
        """The plan's calls as ``method`` names, in order."""
        return [c["method"] for c in self._data.get("plan", {}).get("calls", [])]

    def __repr__(self) -> str:
        executed = self._data.get("executed")
        return f"Outcome({self.operation}, executed={executed}, calls={len(self.calls)})"

    def _repr_html_(self) -> str:
        return _html.plan(self._data, self.operation)


class JoinReport(_Data):
    """The join pre-flight: every check with its verdict, evidence and remedy."""

    @property
    def ready(self) -> bool:
        """True when nothing fails."""
        return bool(self._data.get("ready"))

    @property
    def fails(self) -> list[dict[str, Any]]:
        """The failing checks."""
        return [c for c in self._data["checks"] if c["status"] == "fail"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """The checks that warn."""
        return [c for c in self._data["checks"] if c["status"] == "warn"]

    @property
    def predicted_failure(self) -> tuple[str, list[str]] | None:
        """The error ``pool.join`` would raise as ``(code, params)``; ``None`` if it would
        succeed (only the documentation's advice may fail)."""
        error = self._data.get("predicted_failure")
        return (error["code"], list(error["params"])) if error else None

    def check(self, id: str) -> dict[str, Any] | None:  # noqa: A002
        """The check ``id`` (e.g. ``cpu_vendor``)."""
        return next((c for c in self._data["checks"] if c["id"] == id), None)

    def __repr__(self) -> str:
        cand = self._data.get("candidate", {}).get("name", "?")
        pool = self._data.get("pool", {}).get("name", "?")
        return (
            f"JoinReport({cand} -> {pool}: {'ready' if self.ready else 'not ready'}, "
            f"{len(self.fails)} fail, {len(self.warnings)} warn)"
        )

    def _repr_html_(self) -> str:
        return _html.join_report(self._data)


class PoolOverview(_Data):
    """Hosts (coordinator marked), memory in use, VMs on each, shared SRs; drawn as SVG."""

    def __repr__(self) -> str:
        return f"PoolOverview({self._data.get('name')!r}, hosts={len(self._data.get('hosts', []))})"

    def _repr_svg_(self) -> str:
        return _html.pool_svg(self._data)

    def _repr_html_(self) -> str:
        return _html.pool_svg(self._data)


class ObjectCache:
    """An event-fed cache: reads never call the host."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def get(self, class_: str, ref: str) -> Any:
        """The cached record, or ``None``."""
        return self._native.get(class_, ref)

    def wait_for(
        self, class_: str, ref: str, predicate: Callable[[Any], bool], timeout: float = 30.0
    ) -> Any:
        """Waits until the record of ``ref`` satisfies ``predicate`` (at once if it
        already does); returns it (:class:`~xenpool.exceptions.TimeoutError` after
        ``timeout`` seconds)."""
        return self._native.wait_for(class_, ref, predicate, timeout)

    def wait_for_any(
        self, class_: str, predicate: Callable[[Any], bool], timeout: float = 30.0
    ) -> tuple[Ref, Any]:
        """Waits until the record of some object of ``class_`` satisfies ``predicate``
        (at once if one already does); returns ``(ref, record)`` of the first that does
        (:class:`~xenpool.exceptions.TimeoutError` after ``timeout`` seconds)."""
        found: tuple[Ref, Any] = self._native.wait_for_any(class_, predicate, timeout)
        return found

    def close(self) -> None:
        """Stops following events; waits in progress raise
        :class:`~xenpool.exceptions.SessionClosed`."""
        self._native.close()


class Pool:
    """A connection to a pool that follows its coordinator (failover to a new one when
    it goes), with the pool workflows. ``pool.xenapi`` shares the connection."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self._session = Session._from_native(native.session())

    @classmethod
    def connect(
        cls,
        url: str,
        user: str = "root",
        password: str | None = None,
        *,
        fingerprint: str | None = None,
        insecure: bool = False,
        timeout: float = 120.0,
        protocol: str = "auto",
        password_file: str | os.PathLike[str] | None = None,
        trust_on_first_use: bool = False,
    ) -> Pool:
        """Logs in through any member and learns the members for failover (options as
        for :class:`Host`)."""
        host = Host(url, user, password, fingerprint, insecure, timeout, protocol,
                    password_file, trust_on_first_use)
        return cls(_native.Pool.connect(host))

    @staticmethod
    def create(
        name: str,
        master: Host,
        members: Sequence[Host] = (),
        *,
        description: str = "",
        force: bool = False,
        allow_cross_vendor: bool = False,
        dry_run: bool = False,
        progress: Progress | Any = None,
    ) -> tuple[Pool, Outcome]:
        """Forms a pool: ``master`` becomes the coordinator, ``members`` join it."""
        native, outcome = _native.create_pool(
            name,
            description,
            master,
            list(members),
            force,
            dry_run,
            _progress(progress),
            allow_cross_vendor,
        )
        return Pool(native), Outcome("create_pool", json.loads(outcome))

    @staticmethod
    def recover_lost_coordinator(
        member: Host,
        *,
        restart_vms: bool = False,
        dry_run: bool = False,
        progress: Progress | Any = None,
    ) -> tuple[Pool | None, Outcome]:
        """The coordinator is gone and HA is off: makes ``member`` the coordinator and
        points the other members at it. ``restart_vms=True`` also declares the hosts that
        stay down dead and starts their VMs on the others (only when they are gone for
        good). The pool is ``None`` in a dry run, which contacts nothing."""
        native, outcome = _native.recover_lost_coordinator(
            member, dry_run, _progress(progress), restart_vms
        )
        pool = Pool(native) if native is not None else None
        return pool, Outcome("recover_lost_coordinator", json.loads(outcome))

    @property
    def xenapi(self) -> XenAPI:
        """Every XenAPI message, over this pool connection."""
        return self._session.xenapi

    @property
    def session(self) -> Session:
        """A :class:`Session` sharing this connection."""
        return self._session

    @property
    def coordinator_address(self) -> str:
        """The coordinator's address now."""
        return str(self._native.coordinator_address)

    def members(self) -> list[tuple[str, str]]:
        """``(name, address)`` of every member, as last learnt."""
        return list(self._native.members())

    def failover(self) -> None:
        """Looks for a new coordinator among the members now."""
        self._native.failover()

    def validate_join(
        self,
        url: str,
        user: str = "root",
        password: str | None = None,
        *,
        fingerprint: str | None = None,
        insecure: bool = False,
    ) -> JoinReport:
        """Checks whether the host at ``url`` can join, changing nothing."""
        host = Host(url, user, password, fingerprint=fingerprint, insecure=insecure)
        return JoinReport(json.loads(self._native.validate_join(host)))

    def join(
        self,
        url: str,
        user: str = "root",
        password: str | None = None,
        *,
        force: bool = False,
        allow_cross_vendor: bool = False,
        fingerprint: str | None = None,
        insecure: bool = False,
        dry_run: bool = False,
        progress: Progress | Any = None,
    ) -> Outcome:
        """Joins the host at ``url``. ``force=True`` goes past the documentation's advice
        and xapi's homogeneity check (``pool.join_force``), e.g. for another CPU model; a
        CPU vendor mismatch also needs ``allow_cross_vendor=True`` (an unsupported pool)."""
        host = Host(url, user, password, fingerprint=fingerprint, insecure=insecure)
        data = json.loads(
            self._native.join(host, force, dry_run, _progress(progress), allow_cross_vendor)
        )
        return Outcome("join", data)

    def eject(
        self, host: str, *, evacuate: bool = True, dry_run: bool = False, progress: Progress | Any = None
    ) -> Outcome:
        """Removes a member (by name, uuid or address); running VMs are migrated away first."""
        return Outcome("eject", json.loads(self._native.eject(host, evacuate, dry_run, _progress(progress))))

    def create_bond(
        self,
        devices: Sequence[str],
        mode: str,
        network: str,
        *,
        dry_run: bool = False,
        progress: Progress | Any = None,
    ) -> Outcome:
        """A bond over ``devices`` on every host, on a new network ``network``."""
        data = self._native.create_bond(list(devices), mode, network, dry_run, _progress(progress))
        return Outcome("create_bond", json.loads(data))

    def check_bonds(self) -> list[dict[str, Any]]:
        """Bonds that differ between members (empty when consistent)."""
        return list(json.loads(self._native.check_bonds()))

    def repair_bonds(self, *, dry_run: bool = False, progress: Progress | Any = None) -> Outcome:
        """Brings every member's bonds in line with the coordinator's."""
        return Outcome("repair_bonds", json.loads(self._native.repair_bonds(dry_run, _progress(progress))))

    def create_nfs_sr(
        self,
        name: str,
        server: str,
        path: str,
        *,
        nfs_version: str | None = None,
        dry_run: bool = False,
        progress: Progress | Any = None,
    ) -> Outcome:
        """A shared NFS SR plugged on every host."""
        data = self._native.create_nfs_sr(name, server, path, nfs_version, dry_run, _progress(progress))
        return Outcome("create_nfs_sr", json.loads(data))

    def migrate(
        self, vm: str, host: str, *, dry_run: bool = False, progress: Progress | Any = None
    ) -> Outcome:
        """Live-migrates ``vm`` to ``host`` (names, uuids or references)."""
        return Outcome("migrate", json.loads(self._native.migrate(vm, host, dry_run, _progress(progress))))

    def evacuate(self, host: str, *, dry_run: bool = False, progress: Progress | Any = None) -> Outcome:
        """Moves every running VM off ``host``."""
        return Outcome("evacuate", json.loads(self._native.evacuate(host, dry_run, _progress(progress))))

    def enable_ha(
        self, heartbeat_sr: str | None = None, *, dry_run: bool = False, progress: Progress | Any = None
    ) -> Outcome:
        """Enables HA with its heartbeat on ``heartbeat_sr`` (default: the default shared SR)."""
        data = self._native.enable_ha(heartbeat_sr, dry_run, _progress(progress))
        return Outcome("enable_ha", json.loads(data))

    def disable_ha(self, *, dry_run: bool = False, progress: Progress | Any = None) -> Outcome:
        """Disables HA."""
        data = self._native.disable_ha(dry_run, _progress(progress))
        return Outcome("disable_ha", json.loads(data))

    def overview(self) -> PoolOverview:
        """The pool at a glance (an SVG picture in Jupyter)."""
        return PoolOverview(json.loads(self._native.overview()))

    def cache(self, classes: Sequence[str] = ("VM", "host")) -> ObjectCache:
        """An event-fed cache of ``classes``."""
        return ObjectCache(self._native.cache(list(classes)))

    def close(self) -> None:
        """Logs out."""
        self._native.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._native)

    def _repr_html_(self) -> str:
        return self.overview()._repr_html_()
