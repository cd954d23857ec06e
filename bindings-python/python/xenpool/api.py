"""``session.xenapi``: one proxy class per XenAPI class, one method per message, all built
from the datamodel's metadata at import and dispatched through the core's dynamic layer
(arguments checked and converted there). ``xenapi.Async.<Class>.<message>`` returns a
:class:`Task`. The ``Aio*`` classes are the same surface for :class:`xenpool.AsyncSession`,
returning awaitables."""

from __future__ import annotations

import inspect
import keyword
from typing import Any, Awaitable, Callable, Generator, Generic, TypeVar

from . import _html, _native
from .records import Record

__all__ = ["Task", "ClassProxy", "XenAPI", "AsyncTasks", "AioXenAPI", "AioAsyncTasks", "RecordMap", "RecordList"]

T = TypeVar("T")


class RecordMap(dict):  # type: ignore[type-arg]
    """``get_all_records``' result: a ``dict`` of reference → record, shown as a table."""

    def _repr_html_(self) -> str:
        return _html.records(self)


class RecordList(list):  # type: ignore[type-arg]
    """A list of records, shown as a table."""

    def _repr_html_(self) -> str:
        return _html.records(self)


def _wrap(result: Any) -> Any:
    if isinstance(result, dict) and result and isinstance(next(iter(result.values())), Record):
        return RecordMap(result)
    if isinstance(result, list) and result and isinstance(result[0], Record):
        return RecordList(result)
    return result


class Task(Generic[T]):
    """The task of an ``Async.`` call: ``wait()`` (or ``await task``) for its result,
    typed as the synchronous message's. Ctrl-C while waiting cancels the task."""

    __slots__ = ("_session", "ref", "method")

    def __init__(self, session: Any, ref: str, method: str) -> None:
        self._session = session
        self.ref = ref
        self.method = method

    def wait(self, timeout: float | None = None) -> T:
        """Blocks until the task ends; returns its result or raises its failure."""
        return _wrap(self._session.wait_task(self.ref, self.method, timeout))  # type: ignore[no-any-return]

    async def wait_async(self, timeout: float | None = None) -> T:
        """Awaits the task's end."""
        return _wrap(await self._session.wait_task_async(self.ref, self.method, timeout))  # type: ignore[no-any-return]

    def __await__(self) -> Generator[Any, None, T]:
        return self.wait_async().__await__()

    def __repr__(self) -> str:
        return f"Task({self.method}, {str(self.ref)!r})"


class ClassProxy:
    """Base of the per-class proxies: unknown names raise ``AttributeError``
    (:class:`xenpool.exceptions.UnknownMethod`) with the closest known names."""

    __slots__ = ("_session",)
    xenapi_class = ""
    _prefix = ""

    def __init__(self, session: Any) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        # Raises UnknownMethod (an AttributeError) through the one error mapping.
        _native.find_method(f"{self._prefix}{self.xenapi_class}.{name}")
        raise AttributeError(name)  # pragma: no cover - the line above always raises

    def __repr__(self) -> str:
        return f"<xenapi {self._prefix}{self.xenapi_class}>"


def _sync(wire: str, name: str) -> Callable[..., Any]:
    def method(self: ClassProxy, *args: Any) -> Any:
        return _wrap(self._session.call(wire, *args))

    method.__name__ = name
    return method


def _task(wire: str, name: str) -> Callable[..., Any]:
    def method(self: ClassProxy, *args: Any) -> Task[Any]:
        return Task(self._session, self._session.call(f"Async.{wire}", *args), wire)

    method.__name__ = name
    return method


def _aio(wire: str, name: str) -> Callable[..., Awaitable[Any]]:
    async def method(self: ClassProxy, *args: Any) -> Any:
        return _wrap(await self._session.call_async(wire, *args))

    method.__name__ = name
    return method


def _aio_task(wire: str, name: str) -> Callable[..., Awaitable[Task[Any]]]:
    async def method(self: ClassProxy, *args: Any) -> Task[Any]:
        ref = await self._session.call_async(f"Async.{wire}", *args)
        return Task(self._session, ref, wire)

    method.__name__ = name
    return method


class _Namespace:
    """Attributes per class, each a proxy made on first access."""

    __slots__ = ("_session", "__dict__")
    _classes: dict[str, type[ClassProxy]] = {}

    def __init__(self, session: Any) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        cls = self._classes.get(name) or self._classes.get(name.lower())
        if cls is None:
            for key, c in self._classes.items():
                if key.lower() == name.lower():
                    cls = c
                    break
        if cls is None:
            if name.startswith("__"):
                raise AttributeError(name)
            _native.find_method(f"{name}.{name}")
            raise AttributeError(name)
        proxy = cls(self._session)
        self.__dict__[name] = proxy
        return proxy

    def __dir__(self) -> list[str]:
        return sorted(self._classes)


class AsyncTasks(_Namespace):
    """``xenapi.Async``: each message that can run as a task returns a :class:`Task`."""

    __slots__ = ()


class XenAPI(_Namespace):
    """``session.xenapi``: ``xenapi.VM.get_all_records()`` and every other message."""

    __slots__ = ()

    @property
    def Async(self) -> AsyncTasks:  # noqa: N802 - the XenAPI's own spelling
        """The ``Async.`` forms, returning tasks."""
        return AsyncTasks(self._session)


class AioAsyncTasks(_Namespace):
    """``xenapi.Async`` on an :class:`~xenpool.AsyncSession`: awaitables of tasks."""

    __slots__ = ()


class AioXenAPI(_Namespace):
    """``session.xenapi`` on an :class:`~xenpool.AsyncSession`: every message awaitable."""

    __slots__ = ()

    @property
    def Async(self) -> AioAsyncTasks:  # noqa: N802
        """The ``Async.`` forms, as awaitables of tasks."""
        return AioAsyncTasks(self._session)


_POSITIONAL = inspect.Parameter.POSITIONAL_ONLY


class _Omitted:
    """The default shown for a parameter that may be left out (not sent)."""

    def __repr__(self) -> str:
        return "<omitted>"


_OMITTED = _Omitted()


def _signature(params: list[tuple[str, Any, bool]]) -> inspect.Signature:
    """The message's parameters as the method's signature (``help()``, completion in
    Jupyter): positional, those the datamodel marks optional (and trailing) defaulted."""
    out = [inspect.Parameter("self", _POSITIONAL)]
    optional = False
    for i, (name, _ty, required) in enumerate(params):
        optional = optional or (not required and not any(r for _, _, r in params[i:]))
        ident = f"{name}_" if keyword.iskeyword(name) or name == "self" else name
        default = _OMITTED if optional else inspect.Parameter.empty
        out.append(inspect.Parameter(ident, _POSITIONAL, default=default))
    return inspect.Signature(out, __validate_parameters__=False)


def _build() -> None:
    spaces: list[tuple[type[_Namespace], str, Callable[[str, str], Any], bool]] = [
        (XenAPI, "{}Class", _sync, False),
        (AsyncTasks, "{}AsyncTasks", _task, True),
        (AioXenAPI, "Aio{}Class", _aio, False),
        (AioAsyncTasks, "Aio{}AsyncTasks", _aio_task, True),
    ]
    classes = _native.classes()
    signatures: dict[tuple[str, str], inspect.Signature] = {}
    for space, pattern, make, only_async in spaces:
        space._classes = {}
        for class_name, _fields, messages in classes:
            ns: dict[str, Any] = {
                "__slots__": (),
                "__module__": __name__,
                "xenapi_class": class_name,
                "_prefix": "Async." if only_async else "",
            }
            for name, params, _result, is_async, _session in messages:
                if only_async and not is_async:
                    continue
                attr = f"{name}_" if keyword.iskeyword(name) else name
                ns[attr] = make(f"{class_name}.{name}", attr)
                key = (class_name, name)
                if key not in signatures:
                    signatures[key] = _signature(params)
                ns[attr].__signature__ = signatures[key]
                if attr != name:
                    ns[name] = ns[attr]
            cls = type(pattern.format(class_name), (ClassProxy,), ns)
            cls.__doc__ = f"The XenAPI class {class_name}."
            space._classes[class_name] = cls
            globals()[cls.__name__] = cls


_build()
