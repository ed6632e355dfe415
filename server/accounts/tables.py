"""Departments, users, devices and refresh tokens."""

from piccolo.columns import (
    UUID,
    Array,
    Boolean,
    ForeignKey,
    Integer,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.vocab import Role


class Department(Table, tablename="department"):
    """A 科室/支队 of the bureau."""

    id = UUID(primary_key=True)
    code = Varchar(length=32, unique=True)
    name = Varchar(length=64, unique=True)
    created_at = Timestamptz()


class User(Table, tablename="app_user"):
    """A person who signs in; ``badge_number`` is the 执法证 number of certified officers.

    ``token_version`` is in every access token; bumping it ends the user's access tokens at once.
    """

    id = UUID(primary_key=True)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=64)
    password_hash = Varchar(length=256)
    role = Varchar(length=16, choices=Role, index=True)
    department = ForeignKey(references=Department, on_delete=OnDelete.restrict, null=True, index=True)
    badge_number = Varchar(length=32, null=True, default=None)
    districts = Array(base_column=Varchar(length=32))
    active = Boolean(default=True)
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    token_version = Integer(default=0)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Device(Table, tablename="device"):
    """A phone (or the CLI) registered by a user at login; its id is generated on the device."""

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=64, default="")
    registered_at = Timestamptz()
    last_seen_at = Timestamptz()
    revoked = Boolean(default=False)


class RefreshToken(Table, tablename="refresh_token"):
    """A refresh token, stored as its SHA-256 so a database leak does not leak sessions.

    ``family`` is the id of the login's first token (null on tokens older than
    m0004: the token's own id); ``replaced_by`` is the token a rotation issued,
    so a revoked token with a successor being shown again is a replay.
    """

    id = UUID(primary_key=True)
    user = ForeignKey(references=User, on_delete=OnDelete.restrict, index=True)
    device = ForeignKey(references=Device, on_delete=OnDelete.restrict, null=True)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    family = UUID(null=True, default=None, index=True)
    replaced_by = UUID(null=True, default=None)


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed login tries of one username from one source address (``user:<name>@<addr>``) or of one address (``addr:<addr>``).

    Keyed by the name as typed, so unknown usernames are counted exactly like real ones.
    """

    key = Varchar(length=160, primary_key=True)
    failures = Integer(default=0)
    blocked_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(index=True)
