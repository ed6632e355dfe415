"""Wire types of login, tokens, departments and users."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from schemas.base import Input, Struct
from schemas.vocab import District, Role

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
BadgeNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class LoginRequest(Input, kw_only=True):
    username: Username
    password: Password
    device_id: uuid.UUID | None = None
    device_name: Annotated[str, msgspec.Meta(max_length=64)] = ""


class PasswordChange(Input, kw_only=True):
    current_password: Password
    new_password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)]


class RefreshRequest(Input, kw_only=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    #: The device the token was issued to; lets it retry a refresh whose answer was lost (see ``refresh_grace_s``).
    device_id: uuid.UUID | None = None


class Me(Struct, kw_only=True):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    department_id: uuid.UUID | None = None
    districts: list[District] = msgspec.field(default_factory=list)
    badge_number: str | None = None


class TokenPair(Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    user: Me


class Department(Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str


class DepartmentCreate(Input, kw_only=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")]
    name: Name


class User(Struct, kw_only=True):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    department_id: uuid.UUID | None = None
    badge_number: str | None = None
    districts: list[District] = msgspec.field(default_factory=list)
    active: bool = True
    created_at: dt.datetime | None = None


class UserCreate(Input, kw_only=True):
    username: Username
    display_name: Name
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
    role: Role
    department_id: uuid.UUID | None = None
    badge_number: BadgeNumber | None = None
    districts: Annotated[list[District], msgspec.Meta(max_length=8)] = msgspec.field(default_factory=list)


class UserUpdate(Input, kw_only=True):
    display_name: Name | msgspec.UnsetType = msgspec.UNSET
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)] | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    department_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    badge_number: BadgeNumber | None | msgspec.UnsetType = msgspec.UNSET
    districts: Annotated[list[District], msgspec.Meta(max_length=8)] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
