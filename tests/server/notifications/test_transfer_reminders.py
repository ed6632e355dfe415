"""行刑衔接 clocks in the reminder job: the head's 3-day decision and the 24-hour transfer each remind the
case's people once when near and once when passed, and stop once the case is decided and transferred."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import httpx

from schemas import enforcement as ew
from schemas.vocab import EnforcementKind
from server import database
from server.accounts.policy import Actor
from server.enforcement import policy
from server.enforcement import service as enforcement_service
from server.jobs.catalogue import BY_NAME
from server.jobs.runner import run_job
from server.notifications.tables import Notification
from server.settings import Settings
from tests.server.hazards.factories import World, world  # noqa: F401  (fixture)


async def _told() -> Counter[tuple[uuid.UUID, str]]:
    rows = await Notification.select(Notification.user, Notification.kind).where(Notification.kind.like("transfer%"))
    return Counter((row["user"], row["kind"]) for row in rows)


async def _remind(settings: Settings, at: dt.datetime) -> None:
    assert await run_job(BY_NAME["reminders"], settings, now=at) is not None


async def test_transfer_clocks_remind_the_case_people_once_near_and_once_passed(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    inspection = await world.inspection()
    proposer = Actor(user_id=world.supervisor_id, role="supervisor", department_id=world.department_id)
    head = Actor(user_id=world.second_supervisor_id, role="supervisor", department_id=world.department_id)
    reported = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    data = ew.EnforcementProposal(id=uuid.uuid4(), kind=EnforcementKind.JUDICIAL_TRANSFER,
                                  reason="涉嫌重大责任事故罪，调查报告已形成", inspection_id=inspection)
    async with database.transaction():
        await enforcement_service.propose(proposer, data, settings, now=reported)
    people = {world.supervisor_id, world.second_supervisor_id}  # the proposer and the department's heads

    await _remind(settings, reported + dt.timedelta(hours=1))  # the decision is three days away
    assert await _told() == Counter()
    await _remind(settings, reported + dt.timedelta(days=2, hours=1))
    assert await _told() == Counter({(p, "transfer_decision_near"): 1 for p in people})
    await _remind(settings, reported + dt.timedelta(days=2, hours=2))  # a later run tells nobody again
    await _remind(settings, reported + dt.timedelta(days=3, hours=1))
    assert await _told() == Counter({(p, k): 1 for p in people for k in ("transfer_decision_near", "transfer_decision_overdue")})
    inbox = await client.get("/api/v1/notifications", headers=await world.headers(world.supervisor_id))
    assert inbox.status_code == 200, inbox.text
    titles = [n["title"] for n in inbox.json() if n["kind"] == "transfer_decision_overdue"]
    assert titles == [f"涉嫌犯罪案件移送决定已超期：{await _enterprise_name(world)}（期限 2026-03-05 09:00）"]  # Beijing time

    decided_at = reported + dt.timedelta(days=3, hours=2)
    async with database.transaction():
        await enforcement_service.decide(head, data.id, ew.EnforcementDecision(approve=True, note="同意移送"), settings,
                                         now=decided_at)
    await _remind(settings, decided_at + dt.timedelta(hours=4))  # 20 hours left of the 24
    assert not {k for _, k in await _told()} & {"transfer_near", "transfer_overdue"}
    await _remind(settings, decided_at + dt.timedelta(hours=17))
    await _remind(settings, decided_at + dt.timedelta(hours=25))
    told = await _told()
    assert {(p, k) for (p, k) in told if k.startswith("transfer_") and "decision" not in k} == {
        (p, k) for p in people for k in ("transfer_near", "transfer_overdue")
    }
    assert set(told.values()) == {1}

    transferred = await client.post(f"/api/v1/enforcement-actions/{data.id}/transfer",
                                    json={"receiving_agency": "中卫市公安局沙坡头区分局"},
                                    headers=await world.headers(world.supervisor_id))
    assert transferred.status_code == 200, transferred.text
    await _remind(settings, decided_at + dt.timedelta(days=3))
    assert await _told() == told  # a transferred case's clocks are done


async def _enterprise_name(world: World) -> str:
    from server.registry.tables import Enterprise

    return (await Enterprise.select(Enterprise.name).where(Enterprise.id == world.enterprise_id).first())["name"]


def test_which_clock_runs_and_when_it_is_near_or_passed() -> None:
    proposed = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

    def reminder(now: dt.datetime, decided_at: dt.datetime | None = None, transferred_at: dt.datetime | None = None):
        clock = policy.transfer_clock(proposed_at=proposed, decided_at=decided_at, approved=decided_at is not None,
                                      transferred_at=transferred_at, now=now)
        return policy.transfer_reminder(clock, decided=decided_at is not None, transferred=transferred_at is not None, now=now)

    assert reminder(proposed + dt.timedelta(days=1, hours=23)) is None
    assert reminder(proposed + dt.timedelta(days=2)).kind == "transfer_decision_near"
    assert reminder(proposed + dt.timedelta(days=3, seconds=1)).kind == "transfer_decision_overdue"
    decided = proposed + dt.timedelta(days=1)
    assert reminder(decided + dt.timedelta(hours=15), decided) is None
    assert reminder(decided + dt.timedelta(hours=16), decided).kind == "transfer_near"
    assert reminder(decided + dt.timedelta(hours=24, seconds=1), decided).due_at == decided + dt.timedelta(hours=24)
    assert reminder(decided + dt.timedelta(days=2), decided, decided + dt.timedelta(hours=30)) is None
