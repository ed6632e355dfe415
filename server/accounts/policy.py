"""Who is calling, and the pure decisions about what they may do.

Every endpoint and every sync mutation acts for an :class:`~server.actor.Actor` (defined
below the domains, since the unit of work's audit and the handlers' parameters name it too;
the domains take it from here with the rules). Role rules
live here as plain functions so they can be tested without I/O; object-level
checks (is this inspector on this inspection?) are made by each domain's
service with these helpers and raise ``PermissionDenied`` / ``NotFound``.
"""

from __future__ import annotations

import uuid

from schemas.vocab import Role
from server.actor import Actor


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


#: The passwords people pick first; a few dozen catch most of them (lower-cased before comparing).
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password123", "passw0rd", "12345678", "123456789", "1234567890",
    "87654321", "11111111", "00000000", "88888888", "66666666", "12341234", "11223344", "abcd1234",
    "1q2w3e4r", "qwertyui", "qwerty123", "qwertyuiop", "asdfghjk", "zxcvbnm1", "iloveyou", "admin123",
    "admin1234", "administrator", "welcome1", "letmein1", "abc12345", "aa123456", "a1234567",
    "woaini1314", "5201314520", "1314520520", "changeme", "fieldcheck", "sunshine", "football",
})

PASSWORD_MIN_LENGTH = 8


def password_problem(password: str, username: str) -> str | None:
    """Why a new password is refused (a Chinese sentence), or None when it is acceptable."""
    lowered = password.lower()
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"密码至少 {PASSWORD_MIN_LENGTH} 位"
    if not password.strip() or len(set(password)) <= 2:
        return "密码不能全是空格或重复的字符"
    if lowered in COMMON_PASSWORDS:
        return "密码过于常见，请换一个"
    if username and username.lower() in lowered:
        return "密码不能包含用户名"
    return None
