"""Committing and revealing a draw, and reading draws back.

The life of a draw, and why it is in two transactions::

    commit_draw   seed <- secrets; snapshot frozen; Draw row + audit
                  "spot_check.draw_commit" {seed_hash, pool_hash, algorithm}  ── COMMIT
    reveal_draw   policy.draw(snapshot, seed); result + tasks stored; audit
                  "spot_check.draw_result" {result_hash}; redacted tasks to
                  the teams' phones; announced tasks released at once       ── COMMIT

The commitment is durable before any result exists, so a draw cannot be
quietly re-rolled: a second commitment for the campaign needs a recorded
reason and supersedes the first, in the audit chain for anyone to see.
Targets, draw results and seeds are for the campaign's own supervisor.
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from typing import Any

import msgspec

from schemas import spotchecks as wire
from schemas.audit import AuditRecord
from schemas.vocab import District, Sector, label
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.context import Context
from server.errors import InvalidInput, NotFound, StateConflict
from server.spotchecks import campaigns, covert, policy, pool, release, tasks
from server.spotchecks.tables import Campaign, Draw, SpotCheckTask
from server.sync import scopes
from server.sync import service as sync_service


COMMIT_ACTION = "spot_check.draw_commit"


RESULT_ACTION = "spot_check.draw_result"


ENTITY = "spot_check_draw"


async def preview_pool(ctx: Context, actor: Actor, campaign_id: uuid.UUID) -> wire.PoolPreview:
    """The pool a draw made now would freeze, screened as the draw screens it; its own supervisor's only."""
    campaigns.require_supervisor(actor)
    row = await campaigns.owned_campaign(actor, campaign_id)
    as_of = ctx.today()
    snapshot = await pool.build_snapshot(row, attempt=len(await draw_rows(campaign_id)) + 1, as_of=as_of, zone=ctx.zone)
    eligible, excluded = policy.screen(snapshot)
    strata = Counter(policy.stratum_of(e, snapshot.rules.stratify_by) for e in eligible)
    reasons = Counter(x.reason for x in excluded)
    vocab = {**{str(s): s for s in Sector}, **{str(d): d for d in District}}
    return wire.PoolPreview(
        campaign_id=campaign_id,
        as_of_date=as_of,
        enterprises=len(snapshot.enterprises),
        eligible_count=len(eligible),
        sample_size=policy.sample_size(len(eligible), snapshot.rules),
        excluded=[
            wire.ExclusionCount(reason=r, label=policy.EXCLUSION_LABELS.get(r, r), count=n) for r, n in sorted(reasons.items())
        ],
        strata=[
            wire.StratumCount(key=k, label=label(vocab[k]) if k in vocab else "全部", count=n) for k, n in sorted(strata.items())
        ],
        inspectors=len(snapshot.inspectors),
        certified_inspectors=sum(1 for i in snapshot.inspectors if i.certified),
    )


def _draw_wire(row: dict[str, Any], *, with_seed: bool) -> wire.Draw:
    result = row["result"] or {}
    reasons = Counter(x["reason"] for x in result.get("excluded", []))
    return wire.Draw(
        id=row["id"],
        campaign_id=row["campaign"],
        attempt=row["attempt"],
        algorithm_version=row["algorithm_version"],
        seed_hash=row["seed_hash"],
        pool_hash=row["pool_hash"],
        result_hash=row["result_hash"],
        revealed=bool(row["result_hash"]),
        superseded=row["superseded"],
        reason=row["reason"],
        drawn_by=row["drawn_by"],
        drawn_at=row["drawn_at"],
        eligible_count=result.get("eligible_count", 0),
        sample_size=result.get("sample_size", 0),
        task_count=len(result.get("tasks", [])),
        excluded=[
            wire.ExclusionCount(reason=r, label=policy.EXCLUSION_LABELS.get(r, r), count=n) for r, n in sorted(reasons.items())
        ],
        seed_hex=row["seed_hex"] if with_seed and row["result_hash"] else None,
    )


async def draw_rows(campaign_id: uuid.UUID) -> list[dict[str, Any]]:
    return await Draw.select().where(Draw.campaign == campaign_id).order_by(Draw.attempt).output(load_json=True)


async def _cancel_tasks(draw_id: uuid.UUID) -> None:
    """Withdraw a superseded draw's tasks from the teams' phones."""
    withdrawn = await SpotCheckTask.select(SpotCheckTask.id, SpotCheckTask.team).where(
        SpotCheckTask.draw == draw_id, SpotCheckTask.status == "drawn"
    ).output(load_json=True)
    if not withdrawn:
        return
    await SpotCheckTask.update({SpotCheckTask.status: "cancelled"}).where(
        SpotCheckTask.id.is_in([t["id"] for t in withdrawn])
    )
    sync_service.publish_many((tasks.TASK_ENTITY, t["id"], None, [scopes.user(u) for u in t["team"]]) for t in withdrawn)


async def commit_draw(
    ctx: Context, actor: Actor, campaign_id: uuid.UUID, data: wire.DrawRequest
) -> wire.Draw:
    """Freeze the pool, take a fresh seed and commit both hashes to the audit chain (nothing revealed yet)."""
    campaigns.require_supervisor(actor)
    row = await campaigns.owned_campaign(actor, campaign_id, lock=True)
    earlier = await draw_rows(campaign_id)
    live = [d for d in earlier if not d["superseded"]]
    reason = data.reason.strip()
    if earlier and len(reason) < 4:
        raise InvalidInput(
            "该计划已抽取过，重新抽取须填写理由（至少4个字）", "a redraw needs a recorded reason", field="reason"
        )
    if live:
        released = await SpotCheckTask.count().where(
            SpotCheckTask.draw.is_in([d["id"] for d in live]), SpotCheckTask.status != "drawn",
            SpotCheckTask.status != "cancelled",
        )
        if released:
            raise StateConflict("已有抽查任务发布，不能重新抽取", "tasks of this draw are already released", field="campaign_id")
        for d in live:
            await _cancel_tasks(d["id"])
        await Draw.update({Draw.superseded: True}).where(Draw.id.is_in([d["id"] for d in live]))
    now = ctx.now()
    attempt = len(earlier) + 1
    snapshot = await pool.build_snapshot(row, attempt=attempt, as_of=ctx.local_date(now), zone=ctx.zone)
    eligible, _ = policy.screen(snapshot)
    if not eligible:
        raise InvalidInput("没有符合条件的检查对象", "no eligible enterprise in the pool", field="rules.filters")
    policy.check_rules(snapshot.rules)
    seed = secrets.token_bytes(32)
    draw_id = uuid.uuid4()
    snapshot_json = msgspec.json.decode(policy.canonical(snapshot))
    values = {
        "id": draw_id,
        "campaign": campaign_id,
        "attempt": attempt,
        "algorithm_version": snapshot.algorithm_version,
        "seed_hex": seed.hex(),
        "seed_hash": policy.seed_hash(seed),
        "pool_snapshot": snapshot_json,
        "pool_hash": policy.pool_hash(snapshot),
        "result": {},
        "result_hash": "",
        "reason": reason,
        "superseded": False,
        "drawn_by": actor.user_id,
        "drawn_at": now,
    }
    await Draw.insert(Draw(**values))
    await Campaign.update({Campaign.status: campaigns.COMMITTED}).where(Campaign.id == campaign_id)
    audit_service.record(
        actor,
        COMMIT_ACTION,
        ENTITY,
        draw_id,
        {
            "campaign_id": str(campaign_id),
            "attempt": attempt,
            "algorithm_version": snapshot.algorithm_version,
            "seed_hash": values["seed_hash"],
            "pool_hash": values["pool_hash"],
            "reason": reason,
            "enterprises": len(snapshot.enterprises),
            "inspectors": len(snapshot.inspectors),
        },
    )
    return _draw_wire(values, with_seed=False)


async def commitment(draw_id: uuid.UUID, action: str) -> AuditRecord | None:
    """The draw's first entry of ``action`` in the audit chain (its commitment, or its revealed result)."""
    return next((e for e in await audit_service.entries_for([(ENTITY, draw_id)]) if e.action == action), None)


def snapshot_of(row: dict[str, Any]) -> policy.PoolSnapshot:
    return msgspec.convert(row["pool_snapshot"], policy.PoolSnapshot)


async def reveal_draw(ctx: Context, actor: Actor, draw_id: uuid.UUID) -> wire.Draw:
    """Run the committed draw, record its result and tasks, and tell the teams (redacted)."""
    campaigns.require_supervisor(actor)
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    if row is None:
        raise NotFound("抽取记录不存在", "draw not found", field="draw_id")
    campaign = await campaigns.owned_campaign(actor, row["campaign"], lock=True)
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()  # as of the lock
    if row["superseded"]:
        raise StateConflict("该次抽取已被重新抽取取代", "this draw was superseded", field="draw_id")
    if row["result_hash"]:
        return _draw_wire(row, with_seed=True)
    if await commitment(draw_id, COMMIT_ACTION) is None:
        raise StateConflict("抽取承诺尚未写入审计链", "the commitment is not in the audit chain", field="draw_id")
    snapshot = snapshot_of(row)
    seed = bytes.fromhex(row["seed_hex"])
    if policy.pool_hash(snapshot) != row["pool_hash"] or policy.seed_hash(seed) != row["seed_hash"]:
        raise StateConflict("抽取输入与承诺不符", "the draw inputs do not match their commitment", field="draw_id")
    result = policy.draw(snapshot, seed)
    result_json = msgspec.json.decode(policy.canonical(result))
    digest = policy.result_hash(result)
    now = ctx.now()
    await Draw.update({Draw.result: result_json, Draw.result_hash: digest}).where(Draw.id == draw_id)
    new_tasks = [
        SpotCheckTask(
            id=uuid.uuid4(),
            campaign=row["campaign"],
            draw=draw_id,
            position=task.index,
            enterprise=uuid.UUID(task.enterprise_id),
            district=task.district,
            team=list(task.team),
            planned_date=task.planned_date,
            release_at=task.release_at or now,
            status="drawn",
        )
        for task in result.tasks
    ]
    if new_tasks:
        await SpotCheckTask.insert(*new_tasks)
    await Campaign.update({Campaign.status: campaigns.DRAWN}).where(Campaign.id == row["campaign"])
    audit_service.record(
        actor,
        RESULT_ACTION,
        ENTITY,
        draw_id,
        {
            "campaign_id": str(row["campaign"]),
            "result_hash": digest,
            "seed_hash": row["seed_hash"],
            "pool_hash": row["pool_hash"],
            "tasks": len(new_tasks),
        },
    )
    stored = await SpotCheckTask.select().where(SpotCheckTask.draw == draw_id).output(load_json=True)
    sync_service.publish_many(
        (tasks.TASK_ENTITY, t["id"], tasks.assigned(t, campaign), [scopes.user(u) for u in t["team"]]) for t in stored
    )
    if not campaign["covert"]:
        for task in stored:
            await release.release_task(ctx, task, campaign, now)
    updated = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    return _draw_wire(updated, with_seed=True)


async def get_draw(actor: Actor, draw_id: uuid.UUID) -> wire.Draw:
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    if row is None:
        raise NotFound("抽取记录不存在", "draw not found", field="draw_id")
    campaign = await campaigns.readable_campaign(actor, row["campaign"])
    return _draw_wire(row, with_seed=covert.is_owner(actor, campaign))


async def list_draws(actor: Actor, campaign_id: uuid.UUID) -> list[wire.Draw]:
    campaign = await campaigns.readable_campaign(actor, campaign_id)
    mine = covert.is_owner(actor, campaign)
    return [_draw_wire(r, with_seed=mine) for r in await draw_rows(campaign_id)]
