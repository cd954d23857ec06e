"""Typed record classes, one per XenAPI class (``VMRecord``, ``hostRecord``, …), built
from the datamodel's metadata at import. Fields are read from the Rust record on access;
``to_dict()`` converts them all; records compare equal when their fields are equal."""

from __future__ import annotations

import keyword
from typing import Any

from . import _html, _native

__all__ = ["Record", "RECORD_TYPES"]


class Record(_native.Record):
    """Base of every typed record."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return _html.record(self.class_name, self.to_dict())

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.field_names()))


_RESERVED = set(dir(Record))


def _field(name: str) -> property:
    def get(self: Any) -> Any:
        return self.field(name)

    get.__name__ = name
    return property(get, doc=f"The ``{name}`` field.")


def python_name(name: str) -> str:
    """A field or message name as a Python identifier (``import`` → ``import_``)."""
    return f"{name}_" if keyword.iskeyword(name) or name in _RESERVED else name


def _build() -> dict[str, type[Record]]:
    types: dict[str, type[Record]] = {}
    for class_name, fields, _messages in _native.classes():
        namespace: dict[str, Any] = {"__slots__": (), "__module__": __name__}
        for field_name, _ty, _qualifier in fields:
            namespace[python_name(field_name)] = _field(field_name)
        name = f"{class_name}Record"
        cls = type(name, (Record,), namespace)
        cls.__doc__ = f"A {class_name} record."
        types[class_name] = cls
        globals()[name] = cls
    return types


#: XenAPI class wire name → its record class.
RECORD_TYPES: dict[str, type[Record]] = _build()
