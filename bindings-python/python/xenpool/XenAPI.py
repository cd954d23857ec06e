"""Drop-in for the official ``XenAPI`` module: ``from xenpool import XenAPI``.

Scripts written for the official client run unchanged: ``XenAPI.Session(url,
ignore_ssl=...)``, ``session.xenapi.login_with_password(...)``,
``session.xenapi.VM.get_all()``, ``session.xenapi.session.logout()``, ``XenAPI.Failure``
with ``.details``, ``xapi_local()``; results have the official client's shapes (XML-RPC:
int64 as strings, datetimes as ``xmlrpc.client.DateTime``). Underneath, xenpool's
transport: timeouts, ``HOST_IS_SLAVE`` followed, re-login on ``SESSION_INVALID``.
"""

from __future__ import annotations

from typing import Any

from . import _native
from .exceptions import Failure as _Failure

__all__ = ["Session", "Failure", "xapi_local", "API_VERSION_1_1", "API_VERSION_1_2"]

API_VERSION_1_1 = "1.1"
API_VERSION_1_2 = "1.2"


class Failure(_Failure):
    """A XenAPI failure, as the official client's: ``details == [code, *params]`` and
    ``str()`` the details list (also a :class:`xenpool.exceptions.Failure`)."""

    def __init__(self, details: Any, message: str | None = None, *, method: str | None = None) -> None:
        super().__init__(details, message, method=method)

    def __str__(self) -> str:
        return str(self.details)

    def _details_map(self) -> dict[str, str]:
        return {str(i): d for i, d in enumerate(self.details)}


class Session:
    """A session proxy as the official ``XenAPI.Session``."""

    def __init__(
        self,
        uri: str,
        transport: Any = None,
        encoding: Any = None,
        verbose: bool = False,
        allow_none: bool = True,
        ignore_ssl: bool = False,
        *,
        protocol: str = "xml",
        timeout: float = 120.0,
    ) -> None:
        self._uri = uri
        self._ignore_ssl = ignore_ssl
        self._protocol = protocol
        self._timeout = timeout
        self._raw: Any = None
        self.last_login_method: str | None = None
        self._API_version: str | None = API_VERSION_1_1

    def xenapi_request(self, methodname: str, params: tuple[Any, ...]) -> Any:
        if methodname.startswith("login") or methodname.startswith("slave_local"):
            self._login(methodname, params)
            return None
        if methodname in ("logout", "session.logout", "session.local_logout"):
            self._logout()
            return None
        if self._raw is None:
            raise Failure(["SESSION_INVALID", "OpaqueRef:NULL"])
        try:
            return self._raw.call(methodname, params)
        except _Failure as e:
            raise Failure(e.details, method=e.method) from e

    def _login(self, method: str, params: tuple[Any, ...]) -> None:
        if len(params) < 2:
            raise Failure(["MESSAGE_PARAMETER_COUNT_MISMATCH", f"session.{method}", "2", str(len(params))])
        originator = str(params[3]) if len(params) > 3 else None
        try:
            self._raw = _native.RawSession.login(
                self._uri,
                str(params[0]),
                str(params[1]),
                insecure=self._ignore_ssl or self._uri.startswith("http:"),
                protocol=self._protocol,
                timeout=self._timeout,
                originator=originator,
                local=method.startswith("slave_local"),
            )
        except _Failure as e:
            raise Failure(e.details, method=e.method) from e
        self.last_login_method = method
        self._API_version = None

    def _logout(self) -> None:
        raw, self._raw = self._raw, None
        self.last_login_method = None
        self._API_version = API_VERSION_1_1
        if raw is not None:
            raw.logout()

    @property
    def handle(self) -> str | None:
        """The session reference."""
        return None if self._raw is None else self._raw.session_ref

    @property
    def xenapi(self) -> _Dispatcher:
        """``session.xenapi.<Class>.<message>(...)``."""
        return _Dispatcher(self.xenapi_request, None)

    @property
    def API_version(self) -> str:  # noqa: N802 - the official spelling
        if not self._API_version:
            pool = self.xenapi.pool.get_all()[0]
            host = self.xenapi.pool.get_master(pool)
            major = self.xenapi.host.get_API_version_major(host)
            minor = self.xenapi.host.get_API_version_minor(host)
            self._API_version = f"{major}.{minor}"
        return self._API_version

    def __getattr__(self, name: str) -> Any:
        if name.startswith("login") or name.startswith("slave_local"):
            return lambda *params: self._login(name, params)
        if name == "logout":
            return _Dispatcher(self.xenapi_request, "logout")
        raise AttributeError(name)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._raw is not None:
            self._logout()

    def __repr__(self) -> str:
        return f"<xenpool.XenAPI.Session {self._uri}>"


class _Dispatcher:
    def __init__(self, send: Any, name: str | None) -> None:
        self.__send = send
        self.__name = name

    def __repr__(self) -> str:
        return f"<XenAPI._Dispatcher for {self.__name}>" if self.__name else "<XenAPI._Dispatcher>"

    def __getattr__(self, name: str) -> _Dispatcher:
        if self.__name is None:
            return _Dispatcher(self.__send, name)
        return _Dispatcher(self.__send, f"{self.__name}.{name}")

    def __call__(self, *args: Any) -> Any:
        return self.__send(self.__name, args)


def xapi_local() -> Session:
    """The official client's session over xapi's Unix socket. xenpool's transport speaks
    HTTP(S) only, so this session reaches the local xapi through its loopback HTTP port
    (``http://127.0.0.1/``) instead, as in dom0."""
    return Session("http://127.0.0.1/")
