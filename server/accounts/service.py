"""Accounts: passwords, login with throttling, token rotation, departments and users."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas import accounts as wire
from schemas.problems import ErrorCode
from schemas.vocab import Role
from server import database
from server.accounts import auth
from server.accounts import policy
from server.accounts.policy import Actor
from server.accounts.tables import Department, Device, LoginThrottle, RefreshToken, User
from server.audit import service as audit_service
from server.errors import FieldcheckError, InvalidInput, NotAuthenticated, NotFound, RateLimited, StateConflict
from server.settings import AuthSettings

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def actor_of(user: dict, device_id: uuid.UUID | None = None) -> Actor:
    return Actor(
        user_id=user["id"],
        role=Role(user["role"]),
        department_id=user["department"],
        districts=frozenset(user["districts"] or ()),
        device_id=device_id,
        username=user["username"],
        token_version=user["token_version"],
    )


def to_me(user: dict) -> wire.Me:
    return wire.Me(
        id=user["id"],
        username=user["username"],
        display_name=user["display_name"],
        role=Role(user["role"]),
        department_id=user["department"],
        districts=list(user["districts"] or []),
        badge_number=user["badge_number"],
    )


@dataclass(frozen=True)
class LoginRefused:
    """A refused login or refresh; the caller commits what it wrote (a failure count, a revoked family), then raises ``error``."""

    error: FieldcheckError


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue_pair(
    user: dict,
    device_id: uuid.UUID | None,
    settings: AuthSettings,
    now: dt.datetime,
    *,
    token_id: uuid.UUID | None = None,
    family: uuid.UUID | None = None,
) -> wire.TokenPair:
    actor = actor_of(user, device_id)
    refresh = secrets.token_urlsafe(32)
    token_id = token_id or uuid.uuid4()
    await RefreshToken.insert(
        RefreshToken(
            id=token_id,
            family=family or token_id,
            user=user["id"],
            device=device_id,
            token_hash=_hash_token(refresh),
            expires_at=now + dt.timedelta(seconds=settings.refresh_ttl_s),
            created_at=now,
        )
    )
    return wire.TokenPair(
        access_token=auth.issue_access_token(actor, secret=settings.secret_key, ttl_s=settings.access_ttl_s, now=now),
        refresh_token=refresh,
        expires_in=settings.access_ttl_s,
        user=to_me(user),
    )


async def _register_device(user: dict, request: wire.LoginRequest, now: dt.datetime) -> uuid.UUID | None:
    if request.device_id is None:
        return None
    device = await Device.select().where(Device.id == request.device_id).first()
    if device is None:
        await Device.insert(
            Device(id=request.device_id, user=user["id"], name=request.device_name, registered_at=now, last_seen_at=now)
        )
        return request.device_id
    if device["user"] != user["id"] or device["revoked"]:
        # A device id belongs to one person; another account may not speak for it.
        raise StateConflict("该设备已登记给其他账号或已停用", "device belongs to another user or is revoked", field="device_id")
    await Device.update({Device.last_seen_at: now}).where(Device.id == request.device_id)
    return request.device_id


@dataclass(frozen=True)
class LoginAttempt:
    """A login with its try reserved from its source; the password is checked outside any transaction."""

    request: wire.LoginRequest
    user: dict | None
    password_hash: str
    source: str


_BAD_CREDENTIALS = ("用户名或密码错误", "wrong username or password")

#: A throttle row untouched this long is forgotten, and no backoff grows beyond it.
_THROTTLE_MEMORY = dt.timedelta(days=1)


def _throttled(wait: int) -> LoginRefused:
    return LoginRefused(RateLimited(f"登录失败次数过多，请 {wait} 秒后再试", "too many failed logins", retry_after_s=wait))


def _throttle_keys(username: str, source: str, settings: AuthSettings) -> list[tuple[str, int]]:
    """The counters a try from ``source`` on ``username`` counts on, with their limits, in the order they are locked."""
    return [(f"user:{username}@{source}", settings.max_failed_logins), (f"addr:{source}", settings.max_failed_logins_per_source)]


async def begin_login(
    request: wire.LoginRequest, settings: AuthSettings, *, source: str = "unknown", now: dt.datetime | None = None
) -> LoginAttempt | LoginRefused:
    """Reserve one try on (username, source) and on the source before the password is checked.

    Throttling the source, never the account, means a stranger's wrong
    guesses cannot lock its owner out from another address. Unknown
    usernames go through the same rows and statements as real ones.
    """
    now = now or dt.datetime.now(dt.UTC)
    user = await User.select().where(User.username == request.username).first()
    counted: list[tuple[str, int, int]] = []
    for key, limit in _throttle_keys(request.username, source, settings):
        failures = await _reserve_try(key, now)
        if failures is None:
            # A try refused by one counter is not counted on the other (keys are locked in one order: no deadlock).
            for done, _, _ in counted:
                await LoginThrottle.update({LoginThrottle.failures: LoginThrottle.failures - 1}).where(LoginThrottle.key == done)
            wait = await _wait_s(key, settings, now)
            if user is not None:
                audit_service.record(
                    actor_of(user), "auth.login_throttled", "user", user["id"], {"retry_after_s": wait, "source": source}
                )
            return _throttled(wait)
        counted.append((key, limit, failures))
    for key, limit, failures in counted:
        if failures >= limit:
            # Each try past the limit doubles the wait before the next one.
            backoff = min(dt.timedelta(seconds=settings.lockout_s * 2 ** min(failures - limit, 20)), _THROTTLE_MEMORY)
            await LoginThrottle.update({LoginThrottle.blocked_until: now + backoff}).where(LoginThrottle.key == key)
    await _forget_old_tries(now)
    return LoginAttempt(request, user, user["password_hash"] if user else _DUMMY_HASH, source)


async def _reserve_try(key: str, now: dt.datetime) -> int | None:
    """Count one try on ``key``; its failures so far, or None while it is in backoff."""
    idle = (LoginThrottle.updated_at < now - _THROTTLE_MEMORY) & (
        LoginThrottle.blocked_until.is_null() | (LoginThrottle.blocked_until <= now)
    )
    # A counter left alone for a day starts again from nothing.
    await LoginThrottle.insert(LoginThrottle(key=key, failures=0, blocked_until=None, updated_at=now)).on_conflict(
        target=LoginThrottle.key,
        action="DO UPDATE",
        values=[(LoginThrottle.failures, 0), (LoginThrottle.blocked_until, None)],
        where=idle,
    )
    # One UPDATE takes the row lock and counts the try, so the limit holds whatever runs concurrently.
    reserved = await LoginThrottle.update(
        {LoginThrottle.failures: LoginThrottle.failures + 1, LoginThrottle.updated_at: now}
    ).where(
        (LoginThrottle.key == key) & (LoginThrottle.blocked_until.is_null() | (LoginThrottle.blocked_until <= now))
    ).returning(LoginThrottle.failures)
    return reserved[0]["failures"] if reserved else None


async def _wait_s(key: str, settings: AuthSettings, now: dt.datetime) -> int:
    row = await LoginThrottle.select(LoginThrottle.blocked_until).where(LoginThrottle.key == key).first()
    blocked_until = (row or {}).get("blocked_until") or now + dt.timedelta(seconds=settings.lockout_s)
    return max(int((blocked_until - now).total_seconds()) + 1, 1)


async def _forget_old_tries(now: dt.datetime) -> None:
    """Drop counters idle for a day, so names and addresses tried once do not pile up.

    Last in its transaction and, on PostgreSQL, skipping rows others hold: it never waits while holding a lock.
    """
    lock = " FOR UPDATE SKIP LOCKED" if database.is_postgres() else ""
    await LoginThrottle.raw(
        'DELETE FROM "login_throttle" WHERE "key" IN (SELECT "key" FROM "login_throttle" WHERE "updated_at" < {} '
        f'AND ("blocked_until" IS NULL OR "blocked_until" <= {{}}) LIMIT 100{lock})',
        now - _THROTTLE_MEMORY,
        now,
    )


async def _release_try(attempt: LoginAttempt, settings: AuthSettings) -> None:
    """A right password: (username, source) starts afresh and the source gets its try back."""
    (account_key, _), (source_key, source_limit) = _throttle_keys(attempt.request.username, attempt.source, settings)
    await LoginThrottle.delete().where(LoginThrottle.key == account_key)
    await LoginThrottle.update({LoginThrottle.failures: LoginThrottle.failures - 1}).where(
        (LoginThrottle.key == source_key) & (LoginThrottle.failures > 0)
    )
    await LoginThrottle.update({LoginThrottle.blocked_until: None}).where(
        (LoginThrottle.key == source_key) & (LoginThrottle.failures < source_limit)
    )


async def check_password(attempt: LoginAttempt) -> bool:
    """Run argon2 for the attempt; call it outside any transaction (it takes ~0.1 s of CPU)."""
    ok = await _verify_password(attempt.password_hash, attempt.request.password)
    return ok and attempt.user is not None and attempt.user["active"]


async def finish_login(
    attempt: LoginAttempt, password_ok: bool, settings: AuthSettings, *, now: dt.datetime | None = None
) -> wire.TokenPair | LoginRefused:
    """Issue tokens and release the try after a right password; audit a wrong one (its try is already counted)."""
    now = now or dt.datetime.now(dt.UTC)
    user = attempt.user
    if user is None:
        return LoginRefused(NotAuthenticated(*_BAD_CREDENTIALS, code=ErrorCode.BAD_CREDENTIALS))
    if not password_ok:
        (account_key, _), _ = _throttle_keys(attempt.request.username, attempt.source, settings)
        current = await LoginThrottle.select(LoginThrottle.failures).where(LoginThrottle.key == account_key).first()
        failures = current["failures"] if current else 0
        audit_service.record(
            actor_of(user), "auth.login_failed", "user", user["id"], {"failed_logins": failures, "source": attempt.source}
        )
        return LoginRefused(NotAuthenticated(*_BAD_CREDENTIALS, code=ErrorCode.BAD_CREDENTIALS))
    device_id = await _register_device(user, attempt.request, now)
    await _release_try(attempt, settings)
    audit_service.record(actor_of(user, device_id), "auth.login", "user", user["id"], {"source": attempt.source})
    return await _issue_pair(user, device_id, settings, now)


async def refresh(
    request: wire.RefreshRequest, settings: AuthSettings, *, now: dt.datetime | None = None
) -> wire.TokenPair | LoginRefused:
    """Rotate a refresh token once; showing an already rotated one again revokes its whole family.

    Except within ``refresh_grace_s`` of its rotation, from the device it was issued to: then the
    answer to that rotation was lost on the way, and the family's live token is rotated instead.
    """
    now = now or dt.datetime.now(dt.UTC)
    expired = LoginRefused(NotAuthenticated("登录已失效，请重新登录", "refresh token invalid, expired or revoked"))
    token = await RefreshToken.select().where(RefreshToken.token_hash == _hash_token(request.refresh_token)).first()
    if token is None:
        return expired
    family = token["family"] or token["id"]
    retried = False
    if token["revoked_at"] is not None:
        if token["replaced_by"] is None:
            return expired
        if not _answer_lost(token, request, settings, now):
            return await _revoke_family(token, family, now, expired)
        token = await RefreshToken.select().where(
            ((RefreshToken.family == family) | (RefreshToken.id == family))
            & RefreshToken.revoked_at.is_null()
            & (RefreshToken.device == request.device_id)
        ).order_by(RefreshToken.created_at, ascending=False).first()
        if token is None:  # the session ended meanwhile (logout, a new password, a replay)
            return expired
        retried = True
    if token["expires_at"] <= now:
        return expired
    user = await User.select().where(User.id == token["user"]).first()
    if user is None or not user["active"]:
        return LoginRefused(NotAuthenticated("账号已停用", "account disabled"))
    successor = uuid.uuid4()
    # The WHERE makes rotation happen once: of two concurrent refreshes only one gets the row back.
    rotated = await RefreshToken.update({RefreshToken.revoked_at: now, RefreshToken.replaced_by: successor}).where(
        (RefreshToken.id == token["id"]) & RefreshToken.revoked_at.is_null()
    ).returning(RefreshToken.id)
    if not rotated:
        return await _revoke_family(token, family, now, expired)
    if retried:
        audit_service.record(actor_of(user, token["device"]), "auth.refresh_retried", "user", user["id"], {"family": str(family)})
    return await _issue_pair(user, token["device"], settings, now, token_id=successor, family=family)


def _answer_lost(token: dict, request: wire.RefreshRequest, settings: AuthSettings, now: dt.datetime) -> bool:
    """A rotated token shown again soon, by its own device: the phone retrying a refresh whose answer it never got."""
    return (
        request.device_id is not None
        and token["device"] == request.device_id
        and now - token["revoked_at"] <= dt.timedelta(seconds=settings.refresh_grace_s)
    )


async def _revoke_family(token: dict, family: uuid.UUID, now: dt.datetime, refusal: LoginRefused) -> LoginRefused:
    """A rotated token came back, so it may be stolen: end every session of its login."""
    await RefreshToken.update({RefreshToken.revoked_at: now}).where(
        ((RefreshToken.family == family) | (RefreshToken.id == family)) & RefreshToken.revoked_at.is_null()
    )
    user = await User.select().where(User.id == token["user"]).first()
    if user is not None:
        audit_service.record(actor_of(user), "auth.refresh_reused", "user", user["id"], {"family": str(family)})
    return refusal


async def logout(actor: Actor, request: wire.RefreshRequest, *, now: dt.datetime | None = None) -> None:
    """Revoke the given refresh token (it must be the caller's) and end the caller's access tokens."""
    now = now or dt.datetime.now(dt.UTC)
    await RefreshToken.update({RefreshToken.revoked_at: now}).where(
        (RefreshToken.token_hash == _hash_token(request.refresh_token))
        & (RefreshToken.user == actor.user_id)
        & RefreshToken.revoked_at.is_null()
    )
    # Other devices' access tokens end too; their refresh tokens still work and bring a fresh one.
    await _bump_token_version(actor.user_id)
    audit_service.record(actor, "auth.logout", "user", actor.user_id or "", {})


async def _bump_token_version(user_id: uuid.UUID | None) -> None:
    """End every access token issued to the user so far (see ``auth.check_token_version``)."""
    await User.update({User.token_version: User.token_version + 1}).where(User.id == user_id)


async def _revoke_sessions(user_id: uuid.UUID, now: dt.datetime, *, keep_device: uuid.UUID | None = None) -> None:
    """Revoke the user's live refresh tokens, except those of ``keep_device`` when given."""
    where = (RefreshToken.user == user_id) & RefreshToken.revoked_at.is_null()
    if keep_device is not None:
        where &= RefreshToken.device.is_null() | (RefreshToken.device != keep_device)
    await RefreshToken.update({RefreshToken.revoked_at: now}).where(where)


async def get_me(actor: Actor) -> wire.Me:
    user = await User.select().where(User.id == actor.user_id).first()
    if user is None:
        raise NotFound("账号不存在", "user not found")
    return to_me(user)


async def users_by_id(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, wire.User]:
    """The named users (documents print officers' names and 执法证 numbers)."""
    if not user_ids:
        return {}
    return {r["id"]: to_user(r) for r in await User.select().where(User.id.is_in(list(user_ids)))}


def to_department(row: dict) -> wire.Department:
    return wire.Department(id=row["id"], code=row["code"], name=row["name"])


async def list_departments() -> list[wire.Department]:
    return [to_department(r) for r in await Department.select().order_by(Department.code)]


async def create_department(actor: Actor, data: wire.DepartmentCreate) -> wire.Department:
    clash = await Department.select(Department.id).where(
        (Department.code == data.code) | (Department.name == data.name)
    ).first()
    if clash:
        raise StateConflict("科室编码或名称已存在", "department code or name exists", code=ErrorCode.DUPLICATE, field="code")
    row = Department(id=uuid.uuid4(), code=data.code, name=data.name, created_at=dt.datetime.now(dt.UTC))
    await Department.insert(row)
    audit_service.record(actor, "department.create", "department", row.id, data)
    return wire.Department(id=row.id, code=row.code, name=row.name)


def to_user(row: dict) -> wire.User:
    return wire.User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        department_id=row["department"],
        badge_number=row["badge_number"],
        districts=list(row["districts"] or []),
        active=row["active"],
        created_at=row["created_at"],
    )


async def _check_department(department_id: uuid.UUID | None) -> None:
    if department_id is not None and not await Department.exists().where(Department.id == department_id):
        raise InvalidInput("所属科室不存在", "unknown department", code=ErrorCode.UNKNOWN_REFERENCE, field="department_id")


async def badge_numbers(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The 执法证 number of each of ``user_ids`` (None for one without); unknown ids are left out."""
    if not user_ids:
        return {}
    rows = await User.select(User.id, User.badge_number).where(User.id.is_in(list(user_ids)))
    return {r["id"]: r["badge_number"] for r in rows}


def _users_where(
    query: Any, role: Role | None, department_id: uuid.UUID | None, active: bool | None, q: str | None
) -> Any:
    if role is not None:
        query = query.where(User.role == role)
    if department_id is not None:
        query = query.where(User.department == department_id)
    if active is not None:
        query = query.where(User.active == active)
    if q and (term := "".join(c for c in q.strip() if c not in "%_\\")):  # typed wildcards are taken literally
        query = query.where(User.username.like(f"%{term}%") | User.display_name.like(f"%{term}%"))
    return query


async def list_users(
    *,
    role: Role | None = None,
    department_id: uuid.UUID | None = None,
    active: bool | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[wire.User]:
    """Accounts by username; ``q`` matches part of the username or name; ``offset``/``limit``: one page (:func:`count_users`)."""
    query = _users_where(User.select().order_by(User.username), role, department_id, active, q)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [to_user(r) for r in await query]


async def count_users(
    *, role: Role | None = None, department_id: uuid.UUID | None = None, active: bool | None = None, q: str | None = None
) -> int:
    return await _users_where(User.count(), role, department_id, active, q)


# A new password is checked and hashed by the caller *before* it opens the unit of work: argon2 takes
# ~0.1 s of CPU, and inside a write transaction (on SQLite, the one database-wide write lock) it holds
# up every other writer, sync pushes included.


def check_new_password(password: str, username: str) -> None:
    """Refuse a weak new password (``weak_password``)."""
    problem = policy.password_problem(password, username)
    if problem is not None:
        raise InvalidInput(problem, "weak password", code=ErrorCode.WEAK_PASSWORD, field="password")


async def new_password_hash(password: str, username: str) -> str:
    """Refuse a weak new password, else its argon2 hash; call it outside any transaction."""
    check_new_password(password, username)
    return await hash_password(password)


async def new_password_hash_for_update(user_id: uuid.UUID, data: wire.UserUpdate) -> str | None:
    """The hash of the password ``data`` sets (None when it sets none); call it outside any transaction."""
    if data.password is msgspec.UNSET:
        return None
    user = await User.select(User.username).where(User.id == user_id).first()
    if user is None:
        raise NotFound("账号不存在", "user not found")
    return await new_password_hash(data.password, user["username"])


async def create_user(actor: Actor, data: wire.UserCreate, password_hash: str) -> wire.User:
    """Create the account; ``password_hash`` is ``new_password_hash(data.password, data.username)``."""
    if await User.exists().where(User.username == data.username):
        raise StateConflict("用户名已存在", "username exists", code=ErrorCode.DUPLICATE, field="username")
    await _check_department(data.department_id)
    now = dt.datetime.now(dt.UTC)
    row = User(
        id=uuid.uuid4(),
        username=data.username,
        display_name=data.display_name,
        password_hash=password_hash,
        role=data.role,
        department=data.department_id,
        badge_number=data.badge_number,
        districts=[str(d) for d in data.districts],
        created_at=now,
        updated_at=now,
    )
    await User.insert(row)
    audit_service.record(actor, "user.create", "user", row.id, {**_public(data), "password": "***"})
    return to_user(await User.select().where(User.id == row.id).first())


def _public(data: wire.UserCreate | wire.UserUpdate) -> dict:
    return {k: v for k, v in msgspec.structs.asdict(data).items() if k != "password" and v is not msgspec.UNSET}


#: Columns an access token speaks for (role, scope, the account being usable, its password): changing one ends them.
_TOKEN_COLUMNS = frozenset({"role", "department", "districts", "active", "password_hash"})


async def update_user(actor: Actor, user_id: uuid.UUID, data: wire.UserUpdate, password_hash: str | None = None) -> wire.User:
    """Change the account; a new password comes hashed, from ``new_password_hash_for_update``."""
    if (data.password is msgspec.UNSET) != (password_hash is None):
        raise TypeError("update_user: pass the hash from new_password_hash_for_update, made before the transaction")
    user = await User.select().where(User.id == user_id).first()
    if user is None:
        raise NotFound("账号不存在", "user not found")
    values: dict = {}
    for name, value in msgspec.structs.asdict(data).items():
        if value is msgspec.UNSET:
            continue
        if name == "password":
            values[User.password_hash] = password_hash
        elif name == "department_id":
            await _check_department(value)
            values[User.department] = value
        elif name == "districts":
            values[User.districts] = [str(d) for d in value]
        else:
            values[getattr(User, name)] = value
    if values:
        now = dt.datetime.now(dt.UTC)
        values[User.updated_at] = now
        await User.update(values).where(User.id == user_id)
        changed = {c._meta.name for c, v in values.items() if c._meta.name == "password_hash" or user.get(c._meta.name) != v}
        if changed & _TOKEN_COLUMNS:
            await _bump_token_version(user_id)
        if "password_hash" in changed or data.active is False:
            await _revoke_sessions(user_id, now)
        audit_service.record(actor, "user.update", "user", user_id, _public(data) | ({"password": "***"} if data.password is not msgspec.UNSET else {}))
    return to_user(await User.select().where(User.id == user_id).first())


@dataclass(frozen=True)
class PasswordChange:
    """A password change whose current password was proven and whose new one is hashed, outside any transaction."""

    user_id: uuid.UUID
    proven_hash: str
    new_hash: str


async def prepare_password_change(actor: Actor, data: wire.PasswordChange) -> PasswordChange:
    """Check the current password and hash the new one; call it outside any transaction."""
    user = await User.select(User.id, User.username, User.password_hash).where(User.id == actor.user_id).first()
    if user is None or not await _verify_password(user["password_hash"], data.current_password):
        raise NotAuthenticated(*_BAD_CREDENTIALS, code=ErrorCode.BAD_CREDENTIALS)
    return PasswordChange(user["id"], user["password_hash"], await new_password_hash(data.new_password, user["username"]))


async def change_password(actor: Actor, change: PasswordChange) -> None:
    """The caller sets a new password, proven by ``prepare_password_change``."""
    now = dt.datetime.now(dt.UTC)
    # Only over the password that was proven: a change or reset in between wins, and this one is refused.
    changed = await User.update({User.password_hash: change.new_hash, User.updated_at: now}).where(
        (User.id == change.user_id) & (User.password_hash == change.proven_hash)
    ).returning(User.id)
    if not changed:
        raise StateConflict("密码刚被修改，请重新输入当前密码", "password changed meanwhile", field="current_password")
    # Every other session ends; this device keeps its refresh token and refreshes past the bumped version.
    await _bump_token_version(change.user_id)
    await _revoke_sessions(change.user_id, now, keep_device=actor.device_id)
    audit_service.record(actor, "user.change_password", "user", change.user_id, {})
