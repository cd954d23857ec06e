"""Sessions: :class:`Session` (blocking; the GIL is released for the whole call) and
:class:`AsyncSession` (asyncio), with events as an iterator / async iterator."""

from __future__ import annotations

import asyncio
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable, Iterator

from . import _native
from .api import AioXenAPI, XenAPI

__all__ = ["Host", "Session", "AsyncSession", "Event", "Events"]

@dataclass(frozen=True)
class Host:
    """How to reach a host: a URL or bare host name, the user, and where the password comes
    from — the argument, ``password_file``, ``$XENPOOL_PASSWORD`` or, on a terminal, a
    prompt (core's rules, the same on every surface). TLS: verified by default;
    ``fingerprint`` pins a certificate, ``trust_on_first_use`` pins whatever the host
    presents now, ``insecure`` accepts anything (at most one of the three)."""

    url: str
    user: str = "root"
    password: str | None = field(default=None, repr=False)
    fingerprint: str | None = None
    insecure: bool = False
    timeout: float = 120.0
    protocol: str = "auto"
    password_file: str | os.PathLike[str] | None = None
    trust_on_first_use: bool = False


@dataclass(frozen=True)
class Event:
    """One change from ``event.from``: ``operation`` is ``add``, ``mod``, ``del`` (or
    ``resync`` when the host lost the token and every object is announced again)."""

    operation: str
    class_: str = ""
    ref: str = ""
    id: str = ""
    snapshot: Any = None


class Events:
    """``event.from`` as an iterator and async iterator (never ends by itself)."""

    def __init__(self, watcher: Any) -> None:
        self._watcher = watcher
        self._buffer: deque[Event] = deque()

    @property
    def token(self) -> str:
        """The token to resume from."""
        return str(self._watcher.token)

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        while not self._buffer:
            self._buffer.extend(Event(**e) for e in self._watcher.next_batch())
        return self._buffer.popleft()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while not self._buffer:
            batch = await self._watcher.next_batch_async()
            self._buffer.extend(Event(**e) for e in batch)
        return self._buffer.popleft()


class Session:
    """A logged-in XenAPI session: ``session.xenapi.VM.get_all_records()``.

    ``url`` may name any pool member (``HOST_IS_SLAVE`` is followed to the coordinator).
    TLS: verified by default; ``fingerprint=`` pins a certificate (SHA-256, hex),
    ``trust_on_first_use=True`` pins whatever the host presents now (read it back from
    ``session.fingerprint`` to store it), ``insecure=True`` accepts anything.
    ``protocol`` is ``"auto"`` (JSON-RPC, falling back to XML-RPC), ``"json"`` or ``"xml"``.
    The password comes from the argument, ``password_file``, ``$XENPOOL_PASSWORD`` or, on
    a terminal, a prompt; it is never kept on the object nor shown in a repr or message.
    """

    xenapi: XenAPI

    def __init__(
        self,
        url: str,
        user: str = "root",
        password: str | None = None,
        *,
        fingerprint: str | None = None,
        trust_on_first_use: bool = False,
        insecure: bool = False,
        timeout: float = 120.0,
        protocol: str = "auto",
        password_file: str | os.PathLike[str] | None = None,
    ) -> None:
        native = _native.Session.login(
            Host(url, user, password, fingerprint, insecure, timeout, protocol,
                 password_file, trust_on_first_use)
        )
        self._attach(native)

    def _attach(self, native: Any) -> None:
        self._native = native
        self.xenapi = XenAPI(native)

    @classmethod
    def _from_native(cls, native: Any) -> Session:
        s = cls.__new__(cls)
        s._attach(native)
        return s

    def events(
        self, classes: Iterable[str] = ("*",), *, token: str = "", poll_timeout: float = 30.0
    ) -> Events:
        """Watches ``event.from`` for ``classes`` (``"vm"``, ``"host"``, ``"*"``)."""
        return Events(self._native.events(list(classes), token, poll_timeout))

    def call(self, method: str, *args: Any) -> Any:
        """Calls ``Class.message`` by name (as ``xenapi.Class.message(*args)``)."""
        return self._native.call(method, *args)

    def call_untyped(self, method: str, *args: Any, with_session: bool = True) -> Any:
        """Calls a message this version's datamodel does not know, values sent as they are."""
        return self._native.call_untyped(method, *args, with_session=with_session)

    def logout(self) -> None:
        """Logs out (twice is harmless)."""
        self._native.logout()

    close = logout

    @property
    def closed(self) -> bool:
        """True once logged out."""
        return bool(self._native.closed)

    @property
    def url(self) -> str:
        """The URL given."""
        return str(self._native.url)

    @property
    def coordinator_url(self) -> str | None:
        """The URL of the host serving the session now."""
        return self._native.coordinator_url  # type: ignore[no-any-return]

    @property
    def username(self) -> str:
        """The user logged in."""
        return str(self._native.username)

    @property
    def fingerprint(self) -> str | None:
        """The pinned certificate fingerprint (store it after trust on first use)."""
        return self._native.fingerprint  # type: ignore[no-any-return]

    @property
    def session_ref(self) -> str | None:
        """The session reference (a bearer token: never shown in the repr)."""
        return self._native.session_ref  # type: ignore[no-any-return]

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.logout()

    def __repr__(self) -> str:
        return repr(self._native)


class AsyncSession:
    """:class:`Session` for asyncio: ``async with AsyncSession(url, user, pw) as s:`` then
    ``await s.xenapi.VM.get_all_records()``; events with ``async for``."""

    xenapi: AioXenAPI

    def __init__(
        self,
        url: str,
        user: str = "root",
        password: str | None = None,
        *,
        fingerprint: str | None = None,
        trust_on_first_use: bool = False,
        insecure: bool = False,
        timeout: float = 120.0,
        protocol: str = "auto",
        password_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self._url = url
        self._host: Host | None = Host(url, user, password, fingerprint, insecure, timeout,
                                       protocol, password_file, trust_on_first_use)
        self._native: Any = None

    async def login(self) -> AsyncSession:
        """Logs in (done by ``async with``)."""
        if self._native is None and self._host is not None:
            host = self._host
            self._native = await asyncio.to_thread(lambda: _native.Session.login(host))
            self._host = None  # drop the password as soon as it is used
            self.xenapi = AioXenAPI(self._native)
        return self

    def events(
        self, classes: Iterable[str] = ("*",), *, token: str = "", poll_timeout: float = 30.0
    ) -> Events:
        """Watches ``event.from``: ``async for event in session.events(["vm"])``."""
        return Events(self._native.events(list(classes), token, poll_timeout))

    async def logout(self) -> None:
        """Logs out."""
        if self._native is not None:
            await self._native.logout_async()

    async def __aenter__(self) -> AsyncSession:
        return await self.login()

    async def __aexit__(self, *exc: object) -> None:
        await self.logout()

    def __repr__(self) -> str:
        if self._native is None:
            return f"AsyncSession(url={self._url!r}, not logged in)"
        return "Async" + repr(self._native)
