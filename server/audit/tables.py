"""The audit chain."""

from piccolo.columns import JSON, UUID, BigInt, Integer, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_entry"):
    """One recorded step; ``hash`` covers the previous entry's hash and every other column (version 1: but ``id``)."""

    id = UUID(primary_key=True)
    seq = BigInt(unique=True)
    at = Timestamptz()
    actor_id = UUID(null=True, default=None, index=True)
    actor_role = Varchar(length=16, default="")
    device_id = UUID(null=True, default=None)
    action = Varchar(length=64, index=True)
    entity_type = Varchar(length=32, index=True)
    entity_id = Varchar(length=64, index=True)
    changes = JSON(default={})
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
    #: How ``hash`` was computed: 1 before m0009 (without ``id``), 2 since (see ``server.audit.service``).
    chain_version = Integer(default=1)
