"""Every XenAPI enum as a type alias of its values, for annotations::

    from xenpool import enums

    def wanted(state: enums.vm_power_state) -> bool: ...

Built from the datamodel's metadata at import (``Literal`` values joined in a ``Union``).
The values records carry are :class:`~xenpool.EnumValue` strings equal to these literals.
"""

from __future__ import annotations

from typing import Literal, Union

from . import _native


def _build() -> list[str]:
    names = []
    for name, values in _native.enums().items():
        globals()[name] = Union[tuple(Literal[v] for v in values)]  # type: ignore[valid-type]
        names.append(name)
    return sorted(names)


__all__: list[str] = _build()

