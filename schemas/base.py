"""The one base for every wire type, shared by the server and the phones.

Why each option is set:

- ``kw_only=True``: fields are passed by name, so adding a field with a default
  never shifts positional arguments in older code. msgspec applies ``kw_only``
  to the fields of the class that sets it only, so every subclass declares it
  again: ``class Hazard(Struct, kw_only=True)``.
- ``forbid_unknown_fields`` is *off* here: a message from a newer peer must still
  decode in an older one (phones run old builds for months). Request bodies the
  server accepts from people opt in with :class:`Input`, so a typo or a
  privileged field (``id``, ``created_by``, ``status``) is refused, not ignored.
- ``omit_defaults=True``: smaller messages; a field left at its default is not sent.
- ``rename`` is not used: wire names are the snake_case identifiers, the same in
  JSON and MessagePack, so a packet dump reads like the code.

Evolution rules (see STYLE.md rule 5): the wire only grows. New fields get a
default; an existing field never changes type or meaning; a removed field is
kept and ignored. Tagged unions (``Mutation``) only gain tags.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from schemas import bounds

#: The device's own sequence number of a mutation (1, 2, 3, … per device).
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**53)]


class Struct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every wire type (see the module docstring for the options)."""


class Input(Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of bodies a client sends to change something: unknown fields are refused, and every
    value is held to :mod:`schemas.bounds` (plausible dates and times, no NUL in text)."""

    __bounds_checked__: ClassVar[bool] = True

    def __post_init__(self) -> None:
        bounds.check(self)


class Mutation(Input, kw_only=True, tag_field="kind"):
    """One offline write, replayed on the server exactly once.

    ``seq`` is the device's own sequence number: it starts at 1 and grows by one
    for every mutation the device records. The server keeps ``(device, seq) ->
    outcome`` so a retried push applies nothing twice. Each concrete mutation is
    a subclass with ``tag="<kind>"`` (see ``schemas/sync.py`` for the union).
    """

    seq: Seq
