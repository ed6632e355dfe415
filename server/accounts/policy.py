"""Who is calling, and the pure decisions about what they may do.

Every endpoint and every sync mutation acts for an :class:`Actor`. Role rules
live here as plain functions so they can be tested without I/O; object-level
checks (is this inspector on this inspection?) are made by each domain's
service with these helpers and raise ``PermissionDenied`` / ``NotFound``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from schemas.vocab import Role


@dataclass(frozen=True)
class Actor:
    """The authenticated caller (or the system itself, for scheduled work)."""

    user_id: uuid.UUID | None
    role: Role
    department_id: uuid.UUID | None = None
    districts: frozenset[str] = field(default_factory=frozenset)
    device_id: uuid.UUID | None = None
    username: str = ""

    @property
    def is_system(self) -> bool:
        return self.user_id is None


#: The actor of scheduled work (escalation, covert release): audited as 系统.
SYSTEM = Actor(user_id=None, role=Role.ADMIN, username="system")

#: Roles that may write anything at all; leaders only read.
WRITING_ROLES = frozenset({Role.INSPECTOR, Role.SUPERVISOR, Role.ADMIN})


def may_write(actor: Actor) -> bool:
    return actor.role in WRITING_ROLES


def sees_all_departments(actor: Actor) -> bool:
    """Leaders and admins see the whole bureau; supervisors their department; inspectors their work."""
    return actor.role in {Role.LEADER, Role.ADMIN}


def may_manage_department(actor: Actor, department_id: uuid.UUID | None) -> bool:
    """Supervisors manage their own department's work; admins everything."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.SUPERVISOR and department_id is not None and actor.department_id == department_id
