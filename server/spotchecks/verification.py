"""Verifying a recorded draw: re-run it from its recorded inputs and compare everything stored about it.

Who may: the campaign's supervisor; leaders and admins once every task is
released; the operator at the command line (``fieldcheck verify-draw``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import msgspec

from schemas import spotchecks as wire
from server.accounts.policy import Actor
from server.errors import InvalidInput, NotFound, PermissionDenied, StateConflict
from server.spotchecks import campaigns, covert, draws, policy
from server.spotchecks.tables import Draw, SpotCheckTask


async def _draw_with_targets(actor: Actor | None, draw_id: uuid.UUID) -> dict[str, Any]:
    """A draw row, if ``actor`` may see its targets (``None``: the operator at the command line).

    The campaign's supervisor always; leaders and admins once no task of the
    campaign is still waiting for release.
    """
    row = await Draw.select().where(Draw.id == draw_id).output(load_json=True).first()
    if row is None:
        raise NotFound("抽取记录不存在", "draw not found", field="draw_id")
    if actor is not None:
        campaign = await campaigns.readable_campaign(actor, row["campaign"])
        waiting = await SpotCheckTask.count().where(
            (SpotCheckTask.campaign == row["campaign"]) & (SpotCheckTask.status == "drawn")
        )
        # A draw not yet revealed has nothing released either: its owner's alone.
        if not covert.may_see_targets(actor, campaign, unreleased=waiting if row["result_hash"] else 1):
            raise PermissionDenied("抽查对象发布前只有本计划负责人可以查看或复核", "only the campaign's supervisor sees a draw before release")
    return row


async def draw_inputs(actor: Actor, draw_id: uuid.UUID) -> wire.DrawInputs:
    """Everything needed to re-run a draw elsewhere: the snapshot, the seed and the recorded result."""
    row = await _draw_with_targets(actor, draw_id)
    if not row["result_hash"]:
        raise StateConflict("该次抽取尚未揭晓", "the draw is not revealed yet", field="draw_id")
    return wire.DrawInputs(
        draw_id=row["id"],
        algorithm_version=row["algorithm_version"],
        seed_hex=row["seed_hex"],
        seed_hash=row["seed_hash"],
        pool_hash=row["pool_hash"],
        result_hash=row["result_hash"],
        pool_snapshot=row["pool_snapshot"],
        result=row["result"],
    )


async def verify_draw(actor: Actor | None, draw_id: uuid.UUID) -> wire.DrawVerification:
    """Re-run a recorded draw from its recorded inputs and compare everything stored about it.

    ``actor`` None is the operator at the command line. Otherwise the campaign's
    supervisor, or a leader/admin once every task is released.
    """
    row = await _draw_with_targets(actor, draw_id)
    checks: list[wire.VerifyCheck] = []
    differences: list[wire.DrawDifference] = []

    def check(name: str, ok: bool, detail: str = "") -> bool:
        checks.append(wire.VerifyCheck(name=name, ok=ok, detail="" if ok else detail))
        return ok

    try:
        seed = bytes.fromhex(row["seed_hex"])
    except ValueError:
        seed = b""
    check("seed_hash", policy.seed_hash(seed) == row["seed_hash"], "种子与其哈希不符 / the seed does not match seed_hash")
    try:
        snapshot = draws.snapshot_of(row)
    except (msgspec.ValidationError, TypeError) as exc:
        check("pool_snapshot", False, f"名录快照无法读取 / unreadable snapshot: {exc}")
        return wire.DrawVerification(draw_id=draw_id, algorithm_version=row["algorithm_version"], ok=False, checks=checks)
    stored_snapshot_hash = hashlib.sha256(policy.canonical(row["pool_snapshot"])).hexdigest()
    check("pool_hash", stored_snapshot_hash == row["pool_hash"], "名录快照与其哈希不符 / the snapshot does not match pool_hash")
    check(
        "algorithm_version",
        row["algorithm_version"] == snapshot.algorithm_version == policy.ALGORITHM_VERSION,
        f"算法版本 {row['algorithm_version']} 无法复核 / unknown algorithm",
    )
    commit = await draws.commitment(draw_id, draws.COMMIT_ACTION)
    if check("commitment_recorded", commit is not None, "审计链中没有抽取承诺 / no commitment in the audit chain"):
        changes = commit.changes
        for key in ("seed_hash", "pool_hash", "algorithm_version"):
            if changes.get(key) != row[key]:
                differences.append(wire.DrawDifference(path=f"commitment.{key}", stored=row[key], recomputed=changes.get(key)))
        check("commitment_matches", all(changes.get(k) == row[k] for k in ("seed_hash", "pool_hash", "algorithm_version")),
              "抽取记录与审计链中的承诺不符 / the draw row differs from its commitment")
    if not row["result_hash"]:
        ok = all(c.ok for c in checks) and not differences
        return wire.DrawVerification(draw_id=draw_id, algorithm_version=row["algorithm_version"], ok=ok, checks=checks,
                                     differences=differences)
    revealed = await draws.commitment(draw_id, draws.RESULT_ACTION)
    if check("result_recorded", revealed is not None, "审计链中没有抽取结果 / no result in the audit chain") and commit:
        check("committed_before_revealed", commit.seq < revealed.seq, "结果先于承诺 / the result precedes the commitment")
        if revealed.changes.get("result_hash") != row["result_hash"]:
            differences.append(wire.DrawDifference(path="audit.result_hash", stored=row["result_hash"],
                                                   recomputed=revealed.changes.get("result_hash")))
    stored_result_hash = hashlib.sha256(policy.canonical(row["result"])).hexdigest()
    check("result_hash", stored_result_hash == row["result_hash"], "抽取结果与其哈希不符 / the stored result does not match result_hash")
    recomputed: policy.DrawResult | None = None
    try:
        recomputed = policy.draw(snapshot, seed)
    except InvalidInput as exc:
        check("rerun", False, f"无法重新运行 / the re-run failed: {exc.message}")
    if recomputed is not None:
        again = msgspec.json.decode(policy.canonical(recomputed))
        differences += [
            wire.DrawDifference(path=f"result.{d.path}", stored=d.stored, recomputed=d.recomputed)
            for d in policy.differences(row["result"], again)
        ]
        differences += await _task_row_differences(draw_id, again, row["drawn_at"])
        check("rerun", True)
    ok = all(c.ok for c in checks) and not differences
    return wire.DrawVerification(
        draw_id=draw_id, algorithm_version=row["algorithm_version"], ok=ok, checks=checks, differences=differences
    )


async def _task_row_differences(draw_id: uuid.UUID, result: dict[str, Any], drawn_at: dt.datetime) -> list[wire.DrawDifference]:
    """Compare the task rows (what teams and inspections are built from) with the re-run result."""
    rows = await SpotCheckTask.select().where(SpotCheckTask.draw == draw_id).order_by(SpotCheckTask.position).output(
        load_json=True
    )
    stored = [
        {
            "index": r["position"],
            "enterprise_id": str(r["enterprise"]),
            "district": r["district"],
            "team": list(r["team"]),
            "planned_date": r["planned_date"].isoformat(),
            "release_at": r["release_at"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for r in rows
    ]
    expected = [
        {
            "index": t["index"],
            "enterprise_id": t["enterprise_id"],
            "district": t["district"],
            "team": t["team"],
            "planned_date": t["planned_date"],
            # Announced tasks have no release time in the result: they were released when drawn.
            "release_at": t["release_at"] or stored[n]["release_at"] if n < len(stored) else t["release_at"],
        }
        for n, t in enumerate(result["tasks"])
    ]
    return [
        wire.DrawDifference(path=f"task_rows{d.path}" if d.path.startswith("[") else f"task_rows.{d.path}",
                            stored=d.stored, recomputed=d.recomputed)
        for d in policy.differences(stored, expected)
    ]
