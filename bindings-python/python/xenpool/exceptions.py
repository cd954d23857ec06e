"""Every exception xenpool raises, one class per category of the core's error contract.

Branch on ``.code``: a XenAPI failure carries the host's code (``HOST_IS_SLAVE``, ...);
everything else one of ``TRANSPORT``, ``TIMEOUT``, ``PROTOCOL``, ``TLS``,
``INVALID_ARGUMENT``, ``WRONG_TYPE``, ``UNKNOWN_METHOD``, ``NOT_FOUND``,
``AMBIGUOUS_NAME``, ``SESSION_CLOSED``, ``CANCELLED``, ``REFUSED``, ``INDETERMINATE``,
``POOL_PARTIAL``, ``INTERNAL``. Exceptions raised from the native module carry the Rust
error chain as ``__cause__``.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

__all__ = [
    "XenpoolError",
    "Failure",
    "TransportError",
    "TimeoutError",
    "ProtocolError",
    "TLSError",
    "InvalidArgument",
    "WrongType",
    "UnknownMethod",
    "NotFound",
    "AmbiguousName",
    "SessionClosed",
    "Cancelled",
    "Refused",
    "Indeterminate",
    "PoolPartial",
    "InternalError",
    "NativeCause",
    "CODES",
]

_builtin_timeout = TimeoutError


class NativeCause(Exception):
    """One link of the Rust error chain (set as ``__cause__``)."""


class XenpoolError(Exception):
    """Base of every xenpool error.

    ``code`` is stable and machine-readable, ``params`` its parameters as strings,
    ``method`` the call or operation, ``host`` the host that answered where it is not the
    session's own, ``may_have_reached_host`` whether the host may have acted on the request
    (decides whether a non-idempotent call may be retried).
    """

    code: str
    params: list[str]
    method: str | None
    host: str | None = None
    may_have_reached_host: bool

    def __init__(
        self,
        message: str,
        *,
        code: str,
        params: Sequence[str] = (),
        method: str | None = None,
        may_have_reached_host: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.params = list(params)
        self.method = method
        self.may_have_reached_host = may_have_reached_host

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), str(self), self.__dict__))


def _rebuild(cls: type[XenpoolError], message: str, state: dict[str, Any]) -> XenpoolError:
    e = cls.__new__(cls)
    Exception.__init__(e, message)
    e.__dict__.update(state)
    return e


class Failure(XenpoolError):
    """A XenAPI failure from the host, as the official client's ``Failure``:
    ``details == [code, *params]``.
    """

    details: list[str]

    def __init__(
        self,
        details: Sequence[str],
        message: str | None = None,
        *,
        method: str | None = None,
    ) -> None:
        details = [str(d) for d in details]
        code = details[0] if details else ""
        if message is None:
            message = _readable(code, details[1:], method)
        super().__init__(
            message, code=code, params=details[1:], method=method, may_have_reached_host=True
        )
        self.details = details

    def _details_map(self) -> dict[str, str]:
        """The parameters by their datamodel names."""
        names = _error_params().get(self.code, [])
        return {n: v for n, v in zip(names, self.params)}


def _error_params() -> dict[str, list[str]]:
    global _ERRORS
    if _ERRORS is None:
        from . import _native

        _ERRORS = _native.errors()
    return _ERRORS


_ERRORS: dict[str, list[str]] | None = None


def _readable(code: str, params: Sequence[str], method: str | None) -> str:
    names = _error_params().get(code, [])
    parts = [f"{n}: {v}" if n else v for n, v in zip(list(names) + [""] * len(params), params)]
    head = f"{method} failed: {code}" if method else code
    return f"{head} ({', '.join(parts)})" if parts else head


class TransportError(XenpoolError, ConnectionError):
    """The HTTP exchange failed (refused, reset, DNS, HTTP status)."""


class TimeoutError(XenpoolError, _builtin_timeout):  # noqa: A001 - deliberately a builtin's subclass
    """No answer in time (a subclass of the builtin ``TimeoutError``)."""


class ProtocolError(XenpoolError):
    """The reply was not valid XML-RPC / JSON-RPC, or did not fit the expected type."""


class TLSError(XenpoolError, ConnectionError):
    """The TLS handshake failed (unknown issuer, pinned fingerprint mismatch)."""


class InvalidArgument(XenpoolError, ValueError):
    """Something unusable was passed (arity, malformed URL, unknown enum value)."""


class WrongType(XenpoolError, TypeError):
    """An argument has the wrong type for its parameter; ``parameter`` names it."""

    @property
    def parameter(self) -> str:
        """The parameter (or member path) that was given the wrong type."""
        return self.params[0] if self.params else ""


class UnknownMethod(XenpoolError, AttributeError):
    """The XenAPI has no such message; ``suggestions`` lists the closest names."""

    @property
    def suggestions(self) -> list[str]:
        """The closest known method names."""
        return self.params[1:]


class NotFound(XenpoolError, LookupError):
    """No object has that uuid or name."""


class AmbiguousName(XenpoolError, LookupError):
    """Several objects have that name: use a uuid or reference."""


class SessionClosed(XenpoolError):
    """The session was logged out before this call."""


class Cancelled(XenpoolError):
    """The call was cancelled (``KeyboardInterrupt``, task cancellation)."""


class Refused(XenpoolError):
    """A pool workflow's pre-checks refused the operation; ``params`` lists the reasons."""


class Indeterminate(XenpoolError):
    """The coordinator stopped answering after a state-changing call: check the pool."""


class PoolPartial(XenpoolError):
    """A pool operation over several members stopped part-way (``done``, ``failed``)."""

    done: list[str]
    failed: list[tuple[str, XenpoolError]]


class InternalError(XenpoolError):
    """A bug inside xenpool: please report it."""


#: Non-XenAPI code → exception class.
CODES: dict[str, type[XenpoolError]] = {
    "TRANSPORT": TransportError,
    "TIMEOUT": TimeoutError,
    "PROTOCOL": ProtocolError,
    "TLS": TLSError,
    "INVALID_ARGUMENT": InvalidArgument,
    "WRONG_TYPE": WrongType,
    "UNKNOWN_METHOD": UnknownMethod,
    "NOT_FOUND": NotFound,
    "AMBIGUOUS_NAME": AmbiguousName,
    "SESSION_CLOSED": SessionClosed,
    "CANCELLED": Cancelled,
    "REFUSED": Refused,
    "INDETERMINATE": Indeterminate,
    "POOL_PARTIAL": PoolPartial,
    "INTERNAL": InternalError,
}


def _from_native(description: str) -> XenpoolError:
    """Builds the exception for a core error from core's description of it (JSON: code,
    params, method, host, may_have_reached_host, message, and for POOL_PARTIAL the
    members); called by the native module only."""
    return _from_description(json.loads(description))


def _from_description(d: dict[str, Any]) -> XenpoolError:
    code, params, method = d["code"], d["params"], d.get("method")
    cls = CODES.get(code)
    if cls is None:
        e: XenpoolError = Failure([code, *params], d["message"], method=method)
    else:
        e = cls(
            d["message"],
            code=code,
            params=params,
            method=method,
            may_have_reached_host=d["may_have_reached_host"],
        )
    e.host = d.get("host")
    partial = d.get("partial")
    if isinstance(e, PoolPartial) and partial is not None:
        e.done = list(partial["done"])
        e.failed = [(m["member"], _from_description(m["error"])) for m in partial["failed"]]
    return e
