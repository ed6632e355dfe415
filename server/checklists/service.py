"""Checklist templates: versions are immutable; a change is a new current version.

Anyone signed in may read templates (they are the public 判定标准, not
secrets); only admins create and revise them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from piccolo.query.functions.aggregate import Count

from schemas import checklists as wire
from schemas.problems import ErrorCode
from schemas.vocab import Role, Sector
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.checklists.tables import ChecklistItem, ChecklistTemplate
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.registry import service as registry_service


def _require_admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied("仅管理员可以维护检查表", "only admins change checklist templates")


def _check_items(items: Sequence[wire.ChecklistItemInput]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.code in seen:
            raise InvalidInput(
                f"检查项编号 {item.code} 重复（第 {seen[item.code] + 1} 项与第 {index + 1} 项）",
                f"duplicate item code {item.code}",
                field=f"items[{index}].code",
            )
        seen[item.code] = index


def to_item(row: dict[str, Any]) -> wire.ChecklistItem:
    return wire.ChecklistItem(
        id=row["id"],
        position=row["position"],
        code=row["code"],
        category=row["category"],
        text=row["text"],
        legal_basis=row["legal_basis"],
        is_major_criterion=bool(row["is_major_criterion"]),
    )


async def _template(row: dict[str, Any]) -> wire.ChecklistTemplate:
    items = await ChecklistItem.select().where(ChecklistItem.template == row["id"]).order_by(ChecklistItem.position)
    return wire.ChecklistTemplate(
        id=row["id"],
        code=row["code"],
        version=row["version"],
        sector=Sector(row["sector"]),
        title=row["title"],
        basis=row["basis"],
        is_current=bool(row["is_current"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        items=[to_item(i) for i in items],
    )


async def get(actor: Actor, template_id: uuid.UUID) -> wire.ChecklistTemplate:
    """Any version by id, current or not."""
    row = await ChecklistTemplate.select().where(ChecklistTemplate.id == template_id).first()
    if row is None:
        raise NotFound("检查表不存在", "checklist template not found")
    return await _template(row)


async def item_ids_by_template(template_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    """The item ids of each of these versions (what an item result or a hazard may name for a check using it)."""
    items: dict[uuid.UUID, set[uuid.UUID]] = {t: set() for t in template_ids}
    if items:
        for row in await ChecklistItem.select(ChecklistItem.id, ChecklistItem.template).where(
            ChecklistItem.template.is_in(list(items))
        ):
            items[row["template"]].add(row["id"])
    return items


async def item_of(item_id: uuid.UUID) -> tuple[uuid.UUID, bool] | None:
    """The version an item belongs to and whether failing it is a 重大事故隐患 (None: no such item)."""
    row = await ChecklistItem.select(ChecklistItem.template, ChecklistItem.is_major_criterion).where(
        ChecklistItem.id == item_id
    ).first()
    return None if row is None else (row["template"], bool(row["is_major_criterion"]))


async def get_current(actor: Actor, code: str) -> wire.ChecklistTemplate:
    """The current version of the template ``code``."""
    row = await ChecklistTemplate.select().where(
        (ChecklistTemplate.code == code) & (ChecklistTemplate.is_current == True)  # noqa: E712 - SQL comparison
    ).first()
    if row is None:
        raise NotFound("检查表不存在", "checklist template not found")
    return await _template(row)


async def current_for_sector(sector: Sector) -> list[wire.ChecklistTemplateSummary]:
    """Current templates of a sector (what a new inspection of that sector may use)."""
    return await _summaries(
        ChecklistTemplate.select().where((ChecklistTemplate.sector == sector) & (ChecklistTemplate.is_current == True))  # noqa: E712
    )


async def list_templates(
    actor: Actor, *, sector: Sector | None = None, code: str | None = None, all_versions: bool = False
) -> list[wire.ChecklistTemplateSummary]:
    """Templates, current versions only unless ``all_versions``."""
    query = ChecklistTemplate.select()
    if sector is not None:
        query = query.where(ChecklistTemplate.sector == sector)
    if code is not None:
        query = query.where(ChecklistTemplate.code == code)
    if not all_versions:
        query = query.where(ChecklistTemplate.is_current == True)  # noqa: E712
    return await _summaries(query)


async def _summaries(query: Any) -> list[wire.ChecklistTemplateSummary]:
    rows = await query.order_by(ChecklistTemplate.code).order_by(ChecklistTemplate.version, ascending=False)
    ids = [r["id"] for r in rows]
    counts: dict[Any, int] = {}
    if ids:
        counted = await ChecklistItem.select(ChecklistItem.template, Count(alias="n")).where(
            ChecklistItem.template.is_in(ids)
        ).group_by(ChecklistItem.template)
        counts = {r["template"]: r["n"] for r in counted}
    return [
        wire.ChecklistTemplateSummary(
            id=r["id"],
            code=r["code"],
            version=r["version"],
            sector=Sector(r["sector"]),
            title=r["title"],
            basis=r["basis"],
            is_current=bool(r["is_current"]),
            item_count=counts.get(r["id"], 0),
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def _insert_version(
    actor: Actor, *, code: str, version: int, sector: Sector, title: str, basis: str, items: Sequence[wire.ChecklistItemInput]
) -> uuid.UUID:
    template_id = uuid.uuid4()
    try:
        await ChecklistTemplate.insert(
            ChecklistTemplate(
                id=template_id,
                code=code,
                version=version,
                sector=sector,
                title=title,
                basis=basis,
                is_current=True,
                created_by=actor.user_id,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    except Exception as exc:
        if registry_service.is_unique_violation(exc):  # a concurrent revision took this version number
            raise StateConflict(
                "检查表已被他人修改，请刷新后重试", "template revised concurrently", code=ErrorCode.VERSION_CONFLICT
            ) from None
        raise
    if items:
        await ChecklistItem.insert(
            *(
                ChecklistItem(
                    id=uuid.uuid4(),
                    template=template_id,
                    position=position,
                    code=item.code,
                    category=item.category,
                    text=item.text,
                    legal_basis=item.legal_basis,
                    is_major_criterion=item.is_major_criterion,
                )
                for position, item in enumerate(items, start=1)
            )
        )
    return template_id


async def create(actor: Actor, data: wire.ChecklistTemplateCreate) -> wire.ChecklistTemplate:
    """Version 1 of a new template."""
    _require_admin(actor)
    _check_items(data.items)
    if await ChecklistTemplate.exists().where(ChecklistTemplate.code == data.code):
        raise StateConflict(
            "检查表编码已存在；修改请发布新版本", "template code exists; publish a new version instead", code=ErrorCode.DUPLICATE, field="code"
        )
    template_id = await _insert_version(
        actor, code=data.code, version=1, sector=data.sector, title=data.title, basis=data.basis, items=data.items
    )
    audit_service.record(
        actor, "checklist.create", "checklist_template", template_id,
        {"code": data.code, "version": 1, "sector": data.sector, "title": data.title, "items": len(data.items)},
    )
    return await get(actor, template_id)


async def revise(actor: Actor, code: str, data: wire.ChecklistTemplateRevise) -> wire.ChecklistTemplate:
    """Publish the next version of ``code``; the old one stays readable by id but is no longer current."""
    _require_admin(actor)
    _check_items(data.items)
    current = await ChecklistTemplate.select().where(
        (ChecklistTemplate.code == code) & (ChecklistTemplate.is_current == True)  # noqa: E712
    ).first()
    if current is None:
        raise NotFound("检查表不存在", "checklist template not found")
    if data.expected_version is not None and data.expected_version != current["version"]:
        raise StateConflict(
            f"检查表已更新到第 {current['version']} 版，请刷新后重试",
            "the template changed since it was read",
            code=ErrorCode.VERSION_CONFLICT,
            field="expected_version",
        )
    retired = await ChecklistTemplate.update({ChecklistTemplate.is_current: False}).where(
        (ChecklistTemplate.id == current["id"]) & (ChecklistTemplate.is_current == True)  # noqa: E712
    ).returning(ChecklistTemplate.id)
    if not retired:
        raise StateConflict("检查表已被他人修改，请刷新后重试", "template revised concurrently", code=ErrorCode.VERSION_CONFLICT)
    version = current["version"] + 1
    template_id = await _insert_version(
        actor, code=code, version=version, sector=Sector(current["sector"]), title=data.title, basis=data.basis, items=data.items
    )
    audit_service.record(
        actor, "checklist.revise", "checklist_template", template_id,
        {"code": code, "version": version, "previous_id": str(current["id"]), "title": data.title, "items": len(data.items)},
    )
    return await get(actor, template_id)
