"""The enterprise registry and declared conflicts of interest (回避): rules, queries, audit.

Who sees what:

- admins, supervisors and leaders read the whole registry; admins and
  supervisors change it (the role guards say so, the services check again);
- an inspector reads only the enterprises of their own assignments
  (:func:`visible_enterprise_ids`), and a covert target only once its task is
  released. Each domain that gives inspectors work registers where that work
  is (:data:`WORK_SOURCES`), so the registry imports none of them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import msgspec

from schemas import registry as wire
from schemas.identifiers import credit_code_refusal, normalize_credit_code
from schemas.problems import ErrorCode
from schemas.vocab import District, OperatingStatus, RiskGrade, Role, Sector, StandardizationLevel
from server import database
from server.accounts.policy import Actor, may_manage_department, may_write
from server.accounts.tables import User
from server.audit import service as audit_service
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.hooks import Hooks
from server.registry.tables import ConflictOfInterest, Enterprise
from server.sync import scopes, sql
from server.sync import service as sync_service

#: Largest page a registry search returns, whatever ``limit`` asks for.
MAX_PAGE = 200
DEFAULT_PAGE = 50

_REGISTRY_WRITERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
#: 法制审核 is bureau-wide: the reviewer reads the party of every case (never writes the registry).
_REGISTRY_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.LEGAL_REVIEWER})


# --------------------------------------------------------------------- shared helpers


def is_unique_violation(exc: BaseException) -> bool:
    """True for a UNIQUE constraint failure on either engine (they raise different types)."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


def _checked_credit_code(code: str) -> str:
    refusal = credit_code_refusal(code)
    if refusal is not None:
        raise InvalidInput.of(refusal)
    return normalize_credit_code(code)


def to_enterprise(row: dict[str, Any]) -> wire.Enterprise:
    return wire.Enterprise(
        id=row["id"],
        credit_code=row["credit_code"],
        name=row["name"],
        sector=Sector(row["sector"]),
        district=District(row["district"]),
        address=row["address"],
        longitude=row["longitude"],
        latitude=row["latitude"],
        risk_grade=RiskGrade(row["risk_grade"]),
        standardization_level=StandardizationLevel(row["standardization_level"]),
        major_hazard_source=bool(row["major_hazard_source"]),
        operating_status=OperatingStatus(row["operating_status"]),
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        notes=row["notes"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# --------------------------------------------------------------------- visibility


#: The enterprises one kind of an inspector's work lets them see.
WorkSource = Callable[[Actor], Awaitable[set[uuid.UUID]]]

#: Registered by the domains that give inspectors work: the inspections they are on (a covert one's target
#: only after its task is released, :func:`server.inspections.access.assigned_enterprises`) and the rechecks
#: assigned to them (:func:`server.hazards.rechecks.assigned_enterprises`).
WORK_SOURCES: Hooks[WorkSource] = Hooks("registry work source", ("inspections", "hazards"))


async def visible_enterprise_ids(actor: Actor) -> set[uuid.UUID]:
    """Enterprises an inspector's work lets them see: the union of every registered work source."""
    ids: set[uuid.UUID] = set()
    for source in WORK_SOURCES.each():
        ids.update(await source(actor))
    return ids


async def can_see_enterprise(actor: Actor, enterprise_id: uuid.UUID) -> bool:
    """Whether ``actor`` may read this enterprise (and so know that it exists)."""
    if actor.role in _REGISTRY_READERS:
        return True
    if actor.role == Role.INSPECTOR and actor.user_id is not None:
        return enterprise_id in await visible_enterprise_ids(actor)
    return False


def require_writer(actor: Actor) -> None:
    if actor.role not in _REGISTRY_WRITERS:
        raise PermissionDenied("仅管理员和科室负责人可以维护企业名录", "only admins and supervisors change the registry")


# --------------------------------------------------------------------- enterprises


async def get(actor: Actor, enterprise_id: uuid.UUID) -> wire.Enterprise:
    """One enterprise; 404 also when the caller may not see it (its existence is not revealed)."""
    if not await can_see_enterprise(actor, enterprise_id):
        raise NotFound("企业不存在", "enterprise not found")
    row = await Enterprise.select().where(Enterprise.id == enterprise_id).first()
    if row is None:
        raise NotFound("企业不存在", "enterprise not found")
    return to_enterprise(row)


class EnterpriseFilter(msgspec.Struct, kw_only=True):
    """Search terms of :func:`list_enterprises`; ``None`` means "any"."""

    q: str | None = None
    sector: Sector | None = None
    district: District | None = None
    risk_grade: RiskGrade | None = None
    standardization_level: StandardizationLevel | None = None
    major_hazard_source: bool | None = None
    operating_status: OperatingStatus | None = None


def encode_cursor(name: str, enterprise_id: uuid.UUID) -> str:
    raw = msgspec.json.encode([name, str(enterprise_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, enterprise_id = msgspec.json.decode(raw, type=tuple[str, str])
        if "\x00" in name:  # a cursor is ours only if it holds text a name can hold (schemas.bounds)
            raise ValueError("NUL in cursor")
        return name, uuid.UUID(enterprise_id)
    except (binascii.Error, msgspec.DecodeError, ValueError, TypeError):
        raise InvalidInput("分页游标无效，请从第一页重新查询", "invalid cursor", field="cursor") from None


def _search_term(q: str) -> str:
    # LIKE wildcards typed by a person are taken literally by dropping them.
    return "".join(c for c in q.strip() if c not in "%_\\")


async def list_enterprises(
    actor: Actor, filters: EnterpriseFilter, *, cursor: str | None = None, limit: int = DEFAULT_PAGE
) -> wire.EnterprisePage:
    """Search the registry by name or credit code, filter, and page by (name, id) keyset."""
    limit = max(1, min(limit, MAX_PAGE))
    query = Enterprise.select()
    if actor.role == Role.INSPECTOR:
        visible = await visible_enterprise_ids(actor)
        if not visible:
            return wire.EnterprisePage(items=[])
        query = query.where(Enterprise.id.is_in(sorted(visible)))
    elif actor.role not in _REGISTRY_READERS:
        raise PermissionDenied("无权查看企业名录", "may not read the registry")
    if filters.q and (term := _search_term(filters.q)):
        by_name = Enterprise.name.ilike(f"%{term}%") if database.is_postgres() else Enterprise.name.like(f"%{term}%")
        query = query.where(by_name | Enterprise.credit_code.like(f"{normalize_credit_code(term)}%"))
    for column, value in (
        (Enterprise.sector, filters.sector),
        (Enterprise.district, filters.district),
        (Enterprise.risk_grade, filters.risk_grade),
        (Enterprise.standardization_level, filters.standardization_level),
        (Enterprise.major_hazard_source, filters.major_hazard_source),
        (Enterprise.operating_status, filters.operating_status),
    ):
        if value is not None:
            query = query.where(column == value)
    if cursor:
        last_name, last_id = decode_cursor(cursor)
        query = query.where(
            (Enterprise.name > last_name) | ((Enterprise.name == last_name) & (Enterprise.id > last_id))
        )
    rows = await query.order_by(Enterprise.name, Enterprise.id).limit(limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]["name"], page[-1]["id"]) if len(rows) > limit else None
    return wire.EnterprisePage(items=[to_enterprise(r) for r in page], next_cursor=next_cursor)


async def _refuse_duplicate(credit_code: str, *, except_id: uuid.UUID | None = None) -> None:
    query = Enterprise.select(Enterprise.id).where(Enterprise.credit_code == credit_code)
    if except_id is not None:
        query = query.where(Enterprise.id != except_id)
    if await query.first():
        raise StateConflict(
            "该统一社会信用代码已登记", "an enterprise with this credit code exists", code=ErrorCode.DUPLICATE, field="credit_code"
        )


def new_enterprise_values(data: wire.EnterpriseCreate) -> dict[str, Any]:
    """The columns of a new enterprise: its credit code checked (GB 32100) and normalised, its name trimmed."""
    credit_code = _checked_credit_code(data.credit_code)
    return msgspec.structs.asdict(data) | {"credit_code": credit_code, "name": data.name.strip()}


async def registered_codes(codes: Sequence[str]) -> set[str]:
    """Those of ``codes`` (normalised) already in the registry."""
    found: set[str] = set()
    for start in range(0, len(codes), 500):
        chunk = list(codes[start : start + 500])
        rows = await Enterprise.select(Enterprise.credit_code).where(Enterprise.credit_code.is_in(chunk))
        found.update(r["credit_code"] for r in rows)
    return found


async def create(actor: Actor, data: wire.EnterpriseCreate) -> wire.Enterprise:
    """Register an enterprise; the credit code must be valid and not yet registered."""
    require_writer(actor)
    values = new_enterprise_values(data)
    now = dt.datetime.now(dt.UTC)
    row = Enterprise(id=uuid.uuid4(), version=1, created_at=now, updated_at=now, **values)
    # The unique credit code answers "registered already?" (a concurrent registration included) in the insert itself,
    # which then writes nothing and leaves the transaction usable.
    written = await Enterprise.insert(row).on_conflict(target=Enterprise.credit_code, action="DO NOTHING").returning(
        *Enterprise.all_columns()
    )
    if not written:
        raise StateConflict(
            "该统一社会信用代码已登记", "an enterprise with this credit code exists", code=ErrorCode.DUPLICATE, field="credit_code"
        )
    audit_service.record(actor, "enterprise.create", "enterprise", row.id, values)
    result = to_enterprise(written[0])
    # Only phones granted this scope (an inspection of it they may see) ever receive it.
    await sync_service.publish("enterprise", row.id, result, scope=scopes.enterprise(row.id))
    return result


def imported_payload(enterprise_id: uuid.UUID, values: dict[str, Any], now: dt.datetime) -> bytes:
    """The change-feed payload of an enterprise an import registers: ``values`` as :func:`new_enterprise_values` made
    them when the file was checked (stored as JSON), registered with this id at ``now``."""
    row = values | {"id": enterprise_id, "version": 1, "created_at": now, "updated_at": now}
    return msgspec.msgpack.encode(to_enterprise(row))


#: Columns of ``enterprise`` an import's staged row holds (the rest: version 1 and the time of the import).
_STAGED_COLUMNS = [c._meta.db_column_name for c in Enterprise._meta.columns
                   if c._meta.db_column_name not in ("id", "version", "created_at", "updated_at")]


async def create_imported(actor: Actor, import_id: uuid.UUID, now: dt.datetime) -> None:
    """Register every good row of an import, set-based, all or none; each enterprise's id is its staged row's.

    The staged rows hold :func:`new_enterprise_values` of the file's row (as JSON) and the payload
    of :func:`imported_payload`. One INSERT … SELECT from the staging table (no row passes
    through Python), then the payloads published to each enterprise's sync scope by SQL too; a credit code registered
    meanwhile fails the whole statement (the unique index), and so the import.
    """
    require_writer(actor)
    names = ", ".join(f'"{c}"' for c in ["id", *_STAGED_COLUMNS, "version", "created_at", "updated_at"])
    pg_values = "r.id, " + ", ".join(f'e."{c}"' for c in _STAGED_COLUMNS)
    sqlite_values = "r.id, " + ", ".join(f"json_extract(r.data, '$.{c}')" for c in _STAGED_COLUMNS)
    try:
        await sql.execute(
            f"INSERT INTO enterprise ({names}) SELECT {pg_values}, 1, $2, $2 FROM enterprise_import_row AS r"
            " CROSS JOIN LATERAL jsonb_populate_record(NULL::enterprise, r.data::jsonb) AS e"
            " WHERE r.batch = $1 AND r.ok ORDER BY r.row_number",
            f"INSERT INTO enterprise ({names}) SELECT {sqlite_values}, 1, ?, ? FROM enterprise_import_row AS r"
            " WHERE r.batch = ? AND r.ok ORDER BY r.row_number",
            *((import_id, now) if database.is_postgres() else (now, now, str(import_id))),
        )
    except Exception as exc:
        if is_unique_violation(exc):  # registered meanwhile by someone else
            raise StateConflict(
                "该统一社会信用代码已登记", "an enterprise with this credit code exists", code=ErrorCode.DUPLICATE, field="credit_code"
            ) from None
        raise
    prefix = scopes.enterprise(uuid.UUID(int=0))[: -len(str(uuid.UUID(int=0)))]
    await sync_service.publish_query(
        "SELECT $3 || r.id::text AS scope, 'enterprise' AS entity_type, r.id AS entity_id, r.payload"
        " FROM enterprise_import_row AS r"
        " WHERE r.batch = $2 AND r.ok ORDER BY r.row_number",
        "SELECT ? || r.id AS scope, 'enterprise' AS entity_type, r.id AS entity_id, r.payload"
        " FROM enterprise_import_row AS r"
        " WHERE r.batch = ? AND r.ok ORDER BY r.row_number",
        *((import_id, prefix) if database.is_postgres() else (prefix, str(import_id))),
    )


async def update(actor: Actor, enterprise_id: uuid.UUID, data: wire.EnterpriseUpdate) -> wire.Enterprise:
    """Change an enterprise; the audit entry records each changed field as ``[old, new]``."""
    require_writer(actor)
    current = await Enterprise.select().where(Enterprise.id == enterprise_id).first()
    if current is None:
        raise NotFound("企业不存在", "enterprise not found")
    fields = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    expected = fields.pop("expected_version", None)
    if expected is not None and expected != current["version"]:
        raise StateConflict(
            "企业信息已被他人修改，请刷新后重试",
            "the enterprise changed since it was read",
            code=ErrorCode.VERSION_CONFLICT,
            field="expected_version",
        )
    if "credit_code" in fields:
        fields["credit_code"] = _checked_credit_code(fields["credit_code"])
        await _refuse_duplicate(fields["credit_code"], except_id=enterprise_id)
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    changes = {k: [_plain(current[k]), _plain(v)] for k, v in fields.items() if _plain(current[k]) != _plain(v)}
    if not changes:
        return to_enterprise(current)
    values = {getattr(Enterprise, k): v for k, v in fields.items() if k in changes}
    values[Enterprise.version] = current["version"] + 1
    values[Enterprise.updated_at] = dt.datetime.now(dt.UTC)
    try:
        # The version in the WHERE makes two concurrent updates of the same read conflict, not overwrite.
        updated = await Enterprise.update(values).where(
            (Enterprise.id == enterprise_id) & (Enterprise.version == current["version"])
        ).returning(Enterprise.id)
    except Exception as exc:
        if is_unique_violation(exc):
            raise StateConflict(
                "该统一社会信用代码已登记", "an enterprise with this credit code exists", code=ErrorCode.DUPLICATE, field="credit_code"
            ) from None
        raise
    if not updated:
        raise StateConflict(
            "企业信息已被他人修改，请刷新后重试", "the enterprise changed concurrently", code=ErrorCode.VERSION_CONFLICT
        )
    audit_service.record(actor, "enterprise.update", "enterprise", enterprise_id, changes)
    result = to_enterprise(await Enterprise.select().where(Enterprise.id == enterprise_id).first())
    # Phones holding this enterprise (through a visible inspection) receive the new state on their next pull.
    await sync_service.publish("enterprise", enterprise_id, result, scope=scopes.enterprise(enterprise_id))
    return result


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, (Sector, District, RiskGrade, StandardizationLevel, OperatingStatus)) else value


# --------------------------------------------------------------------- conflicts of interest (回避)


def to_conflict(row: dict[str, Any]) -> wire.ConflictOfInterest:
    return wire.ConflictOfInterest(
        id=row["id"],
        user_id=row["user"],
        enterprise_id=row["enterprise"],
        reason=row["reason"],
        declared_at=row["declared_at"],
        revoked_at=row["revoked_at"],
    )


async def _may_manage_user(actor: Actor, user_id: uuid.UUID) -> bool:
    if actor.role == Role.ADMIN or actor.user_id == user_id:
        return True
    if actor.role != Role.SUPERVISOR:
        return False
    user = await User.select(User.department).where(User.id == user_id).first()
    return user is not None and may_manage_department(actor, user["department"])


async def conflicted_users(enterprise_id: uuid.UUID, user_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``user_ids`` with a declared, unrevoked 回避 for the enterprise: they may not check it."""
    if not user_ids:
        return set()
    rows = await ConflictOfInterest.select(ConflictOfInterest.user).where(
        (ConflictOfInterest.enterprise == enterprise_id)
        & ConflictOfInterest.user.is_in(list(user_ids))
        & ConflictOfInterest.revoked_at.is_null()
    )
    return {r["user"] for r in rows}


async def declare_conflict(actor: Actor, data: wire.ConflictOfInterestCreate) -> wire.ConflictOfInterest:
    """Record a 回避: anyone who writes may declare their own; supervisors for their department; admins for all."""
    if not may_write(actor) or not await _may_manage_user(actor, data.user_id):
        raise PermissionDenied("只能为本人或本科室人员申报回避", "may declare conflicts only for yourself or your department")
    if not await User.exists().where(User.id == data.user_id):
        raise InvalidInput("人员不存在", "unknown user", code=ErrorCode.UNKNOWN_REFERENCE, field="user_id")
    if not await Enterprise.exists().where(Enterprise.id == data.enterprise_id):
        raise InvalidInput("企业不存在", "unknown enterprise", code=ErrorCode.UNKNOWN_REFERENCE, field="enterprise_id")
    now = dt.datetime.now(dt.UTC)
    existing = await ConflictOfInterest.select().where(
        (ConflictOfInterest.user == data.user_id) & (ConflictOfInterest.enterprise == data.enterprise_id)
    ).first()
    if existing is not None and existing["revoked_at"] is None:
        raise StateConflict("该回避关系已申报", "this conflict is already declared", code=ErrorCode.DUPLICATE, field="enterprise_id")
    if existing is not None:
        # One row per (user, enterprise): declaring again reactivates it.
        conflict_id = existing["id"]
        await ConflictOfInterest.update(
            {ConflictOfInterest.reason: data.reason, ConflictOfInterest.declared_at: now, ConflictOfInterest.revoked_at: None}
        ).where(ConflictOfInterest.id == conflict_id)
    else:
        conflict_id = uuid.uuid4()
        await ConflictOfInterest.insert(
            ConflictOfInterest(id=conflict_id, user=data.user_id, enterprise=data.enterprise_id, reason=data.reason, declared_at=now)
        )
    audit_service.record(actor, "conflict.declare", "conflict_of_interest", conflict_id, data)
    return to_conflict(await ConflictOfInterest.select().where(ConflictOfInterest.id == conflict_id).first())


async def revoke_conflict(actor: Actor, conflict_id: uuid.UUID) -> wire.ConflictOfInterest:
    """End a 回避. Only admins and supervisors: an inspector must not free themselves to be drawn."""
    row = await ConflictOfInterest.select().where(ConflictOfInterest.id == conflict_id).first()
    if row is None:
        raise NotFound("回避记录不存在", "conflict not found")
    if actor.role not in _REGISTRY_WRITERS or not await _may_manage_user(actor, row["user"]):
        raise PermissionDenied("无权撤销该回避", "may not revoke this conflict")
    if row["revoked_at"] is not None:
        raise StateConflict("该回避已撤销", "conflict already revoked")
    now = dt.datetime.now(dt.UTC)
    await ConflictOfInterest.update({ConflictOfInterest.revoked_at: now}).where(ConflictOfInterest.id == conflict_id)
    audit_service.record(actor, "conflict.revoke", "conflict_of_interest", conflict_id, {"revoked_at": now.isoformat()})
    return to_conflict(await ConflictOfInterest.select().where(ConflictOfInterest.id == conflict_id).first())


def _conflicts_query(
    actor: Actor, query: Any, user_id: uuid.UUID | None, enterprise_id: uuid.UUID | None, include_revoked: bool
) -> Any:
    if actor.role == Role.INSPECTOR:
        if user_id is not None and user_id != actor.user_id:
            raise PermissionDenied("只能查看本人的回避申报", "inspectors see only their own conflicts")
        user_id = actor.user_id
    if user_id is not None:
        query = query.where(ConflictOfInterest.user == user_id)
    if enterprise_id is not None:
        query = query.where(ConflictOfInterest.enterprise == enterprise_id)
    if not include_revoked:
        query = query.where(ConflictOfInterest.revoked_at.is_null())
    return query


async def list_conflicts(
    actor: Actor,
    *,
    user_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    include_revoked: bool = False,
    newest_first: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[wire.ConflictOfInterest]:
    """Declared conflicts; inspectors see only their own. ``offset``/``limit``: one page (:func:`count_conflicts`)."""
    query = ConflictOfInterest.select().order_by(ConflictOfInterest.declared_at, ascending=not newest_first).order_by(
        ConflictOfInterest.id
    )
    query = _conflicts_query(actor, query, user_id, enterprise_id, include_revoked)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [to_conflict(r) for r in await query]


async def count_conflicts(
    actor: Actor, *, user_id: uuid.UUID | None = None, enterprise_id: uuid.UUID | None = None, include_revoked: bool = False
) -> int:
    return await _conflicts_query(actor, ConflictOfInterest.count(), user_id, enterprise_id, include_revoked)


async def conflicted_user_ids(enterprise_id: uuid.UUID) -> set[uuid.UUID]:
    """Users with an active 回避 for this enterprise (for draws and assignments)."""
    rows = await ConflictOfInterest.select(ConflictOfInterest.user).where(
        (ConflictOfInterest.enterprise == enterprise_id) & ConflictOfInterest.revoked_at.is_null()
    )
    return {r["user"] for r in rows}
