"""xenpool: a typed, pool-aware client for the XenAPI of XenServer / XCP-ng.

>>> import xenpool                                           # doctest: +SKIP
>>> with xenpool.Session("https://pool.example", "root", fingerprint="ab:cd:…") as s:
...     for ref, vm in s.xenapi.VM.get_all_records().items():
...         print(vm.name_label, vm.power_state, vm.memory_static_max)

Pool workflows: :class:`Pool`. Drop-in for the official client: ``from xenpool import
XenAPI``. Tests without hardware: :mod:`xenpool.testing`.
"""

from __future__ import annotations

from . import exceptions
from ._native import __version__
from ._types import EnumValue, Ref
from .api import Task
from .exceptions import Failure, XenpoolError
from .pool import Host, JoinReport, ObjectCache, Outcome, Pool, PoolOverview
from .records import Record
from .session import AsyncSession, Event, Events, Session

__all__ = [
    "__version__",
    "AsyncSession",
    "EnumValue",
    "Event",
    "Events",
    "Failure",
    "Host",
    "JoinReport",
    "ObjectCache",
    "Outcome",
    "Pool",
    "PoolOverview",
    "Record",
    "Ref",
    "Session",
    "Task",
    "XenpoolError",
    "exceptions",
]
