"""Value types of results: ``Ref`` and ``EnumValue`` are ``str`` subclasses (they compare
and hash as their text), one subclass per XenAPI class / enum carrying its name."""

from __future__ import annotations

from typing import ClassVar

__all__ = ["Ref", "EnumValue", "RECORD_TYPES"]


class Ref(str):
    """A reference to a XenAPI object (``OpaqueRef:…``); ``xenapi_class`` names its class."""

    __slots__ = ()
    xenapi_class: ClassVar[str] = ""
    _by_class: ClassVar[dict[str, type[Ref]]] = {}

    def __new__(cls, value: str, xenapi_class: str | None = None) -> Ref:
        if xenapi_class and cls is Ref:
            sub = Ref._by_class.get(xenapi_class)
            if sub is None:
                sub = type(f"Ref[{xenapi_class}]", (Ref,), {"__slots__": (), "xenapi_class": xenapi_class})
                Ref._by_class[xenapi_class] = sub
            cls = sub
        return str.__new__(cls, value)

    @property
    def is_null(self) -> bool:
        """True for ``OpaqueRef:NULL``."""
        return self == "OpaqueRef:NULL"

    def __repr__(self) -> str:
        name = self.xenapi_class or "?"
        return f"Ref[{name}]({str.__repr__(self)})"


class EnumValue(str):
    """A value of a XenAPI enum: equal to its string (``vm.power_state == "Running"``);
    ``enumeration`` names the enum."""

    __slots__ = ()
    enumeration: ClassVar[str] = ""
    _by_enum: ClassVar[dict[str, type[EnumValue]]] = {}

    def __new__(cls, value: str, enumeration: str | None = None) -> EnumValue:
        if enumeration and cls is EnumValue:
            sub = EnumValue._by_enum.get(enumeration)
            if sub is None:
                sub = type(enumeration, (EnumValue,), {"__slots__": (), "enumeration": enumeration})
                EnumValue._by_enum[enumeration] = sub
            cls = sub
        return str.__new__(cls, value)

    def __repr__(self) -> str:
        return f"{self.enumeration or 'EnumValue'}({str.__repr__(self)})"


from .records import RECORD_TYPES  # noqa: E402  (the record classes need nothing above)
