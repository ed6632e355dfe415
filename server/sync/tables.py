"""Push dedupe records and the change feed pulls read.

``change`` holds the *current* state of every record in every scope it is
published to, one row per ``(scope, entity_type, entity_id)``; each publish
gives the row a new ``seq``. A removal keeps the row with ``payload`` NULL (a
tombstone) so a phone that held the record learns it left. Pull reads rows
with ``seq`` above the phone's cursor for that scope: the history between two
pulls is collapsed to the latest state, which is all a replica needs.
"""

from piccolo.columns import UUID, BigInt, Bytea, ForeignKey, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import Device


class DeviceMutation(Table, tablename="device_mutation"):
    """The outcome of mutation ``seq`` of ``device`` (MessagePack), stored in the push's own transaction."""

    id = UUID(primary_key=True)
    device = ForeignKey(references=Device)  # looked up through the (device, seq) unique index
    seq = BigInt()
    kind = Varchar(length=32)
    outcome = Bytea()
    created_at = Timestamptz()
    # Unique (device, seq): m0002_composite_unique (SQLite cannot add Piccolo's Unique constraints).


class Change(Table, tablename="change"):
    """The latest state of one record in one scope (``payload`` MessagePack, NULL = removed)."""

    # The position is the key: every index on this table is paid for by every publish.
    seq = BigInt(primary_key=True)
    scope = Varchar(length=80)
    entity_type = Varchar(length=32)
    entity_id = UUID()
    payload = Bytea(null=True, default=None)
    updated_at = Timestamptz()

    # Unique (scope, entity_type, entity_id) and (scope, seq), the latter serving "this scope after
    # that seq, in seq order": both in m0002_composite_unique (SQLite cannot add Piccolo's Unique constraints).
