"""Rules a lower domain runs but a higher one owns, registered by name so the import runs one way.

A domain that must ask another one above it (the inspections asking whether a covert
task is released, the registry asking whose work shows an enterprise) declares a
:class:`Hooks` with the names it expects; the owning domain registers its function
when its module is imported (the app imports every domain). Asking for a hook that was
never registered is an error naming it, never a rule silently skipped.
"""

from __future__ import annotations

from typing import Generic, TypeVar

H = TypeVar("H")


class Hooks(Generic[H]):
    """The ``expected`` hooks of one kind, each registered once by the domain that owns it."""

    def __init__(self, kind: str, expected: tuple[str, ...]) -> None:
        self.kind = kind
        self.expected = expected
        self.registered: dict[str, H] = {}

    def register(self, name: str, hook: H) -> H:
        """Make ``hook`` the one named ``name`` (re-registering replaces it)."""
        if name not in self.expected:
            raise ValueError(f"no {self.kind} named {name!r} is expected ({', '.join(self.expected)})")
        self.registered[name] = hook
        return hook

    def each(self) -> list[H]:
        """Every expected hook in the declared order; RuntimeError when one was never registered."""
        missing = [name for name in self.expected if name not in self.registered]
        if missing:
            raise RuntimeError(
                f"the {self.kind} {', '.join(map(repr, missing))} is not registered (its domain was never imported)"
            )
        return [self.registered[name] for name in self.expected]

    def one(self) -> H:
        """The single hook of a kind that expects one."""
        (hook,) = self.each()
        return hook
