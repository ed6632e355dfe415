"""Piccolo's ``ForeignKey`` attribute reads without a ``dir()`` each.

``ForeignKey.__getattribute__`` (Piccolo 1.x) starts every read of a public
attribute with ``name not in dir(self)``, to find out whether a lazily
referenced table still has to lend its columns. ``dir()`` builds and sorts the
list of a column's ~100 attribute names; building one ``Inspection.select()``
reads such attributes hundreds of times, so ``bench/demo_build.py`` spent about
one second of its Python time there (44,000 calls).

The module's ``dir`` is given :func:`_names`, whose answer to ``in`` is the
answer ``dir()``'s list gives for an object without its own ``__dir__`` (which
columns are): the name is in the instance's ``__dict__`` or in the ``__dict__``
of a class of its type's MRO. Nothing else in that module calls ``dir``.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import column_types


class _Names:
    """What ``dir(obj)`` lists, for ``in`` only."""

    __slots__ = ("_obj",)

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __contains__(self, name: object) -> bool:
        obj = self._obj
        if name in object.__getattribute__(obj, "__dict__"):
            return True
        return any(name in klass.__dict__ for klass in type(obj).__mro__)


def _names(obj: Any) -> _Names:
    return _Names(obj)


def install() -> None:
    """Give Piccolo's column module the cheap ``dir`` (idempotent)."""
    column_types.dir = _names  # type: ignore[attr-defined]  # a module global shadows the builtin for that module


install()
