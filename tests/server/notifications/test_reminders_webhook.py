"""A hazard's deadline coming and passing tells its team and supervisors once each, in the inbox, on the
phone and at the bureau's webhook, retried through receiver failures and never sent twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import httpx
import pytest

from server.jobs.catalogue import BY_NAME
from server.jobs.runner import run_job
from server.notifications.tables import DeliveryAttempt, Notification, NotificationDelivery
from server.notifications.webhook import signature
from server.settings import NotificationSettings, Settings
from tests.server.hazards.factories import World, make_phone, world  # noqa: F401  (fixture)

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "webhook-secret-for-the-test-" + "z" * 20
FAILURES_PER_DELIVERY = 2


class Receiver:
    """A webhook endpoint that fails each delivery's first tries, then accepts; it keeps what it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self._tries: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["X-Fieldcheck-Delivery"]
                receiver._tries[delivery] += 1
                code = 503 if receiver._tries[delivery] <= FAILURES_PER_DELIVERY else 200
                receiver.requests.append((dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict]:
        return [json.loads(body) for _, body, code in self.requests if code == 200]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), TZ)


async def test_a_deadline_near_then_passed_tells_each_follower_once_through_a_flaky_webhook(
    client: httpx.AsyncClient, world: World, settings: Settings, receiver: Receiver  # noqa: F811
) -> None:
    hooked = dataclasses.replace(
        settings, notifications=NotificationSettings(webhook_url=receiver.url, webhook_secret=SECRET, days_before=3)
    )
    inspection = await world.inspection(team=world.inspectors[:2])
    deadline = dt.datetime.now(TZ).date() + dt.timedelta(days=5)
    created = await client.post(
        "/api/v1/hazards/",
        json={"id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "general",
              "description": "配电箱未设置安全警示标志", "deadline_date": deadline.isoformat()},
        headers=await world.headers(world.inspectors[0]),
    )
    assert created.status_code == 201, created.text
    followers = {*world.inspectors[:2], world.supervisor_id, world.second_supervisor_id}

    async def remind(when: dt.datetime) -> None:
        run = await run_job(BY_NAME["reminders"], hooked, now=when)
        assert run is not None

    await remind(at(deadline - dt.timedelta(days=4)))  # not yet within three days
    assert await Notification.count() == 0
    await remind(at(deadline - dt.timedelta(days=2)))
    await remind(at(deadline - dt.timedelta(days=2), 15))  # the next run tells nobody again
    await remind(at(deadline + dt.timedelta(days=1)))
    await remind(at(deadline + dt.timedelta(days=2)))
    notes = await Notification.select(Notification.user, Notification.kind)
    assert Counter((n["user"], n["kind"]) for n in notes) == Counter(
        {(u, kind): 1 for u in followers for kind in ("hazard_deadline_near", "hazard_overdue")}
    )
    assert world.inspectors[2] not in {n["user"] for n in notes}  # not on the team, not told

    # The webhook: every notification delivered once, after two refusals each, each try recorded.
    start = at(deadline + dt.timedelta(days=2), 10)
    for seconds in (0, 10, 31, 60, 95, 200, 400, 900):
        await run_job(BY_NAME["notify-webhook"], hooked, now=start + dt.timedelta(seconds=seconds))
    accepted = receiver.accepted()
    assert len(accepted) == len(notes) == 8
    assert Counter(a["notification_id"] for a in accepted).most_common(1)[0][1] == 1
    assert {uuid.UUID(a["user"]["id"]) for a in accepted} == followers
    assert len(receiver.requests) == 8 * (FAILURES_PER_DELIVERY + 1)
    for headers, body, _ in receiver.requests:
        t = int(headers["X-Fieldcheck-Signature"].split(",")[0].removeprefix("t="))
        assert headers["X-Fieldcheck-Signature"] == signature(SECRET, t, body)
        expected = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        assert headers["X-Fieldcheck-Signature"].endswith("v1=" + expected)
    deliveries = await NotificationDelivery.select()
    assert {d["status"] for d in deliveries} == {"delivered"} and {d["attempts"] for d in deliveries} == {3}
    assert await DeliveryAttempt.count() == 24
    await run_job(BY_NAME["notify-webhook"], hooked, now=start + dt.timedelta(days=1))
    assert len(receiver.requests) == 24  # nothing is sent again

    # The inbox, read on the web and on the phone.
    inspector = await world.headers(world.inspectors[0])
    mine = (await client.get("/api/v1/notifications", headers=inspector)).json()
    assert sorted(n["kind"] for n in mine) == ["hazard_deadline_near", "hazard_overdue"]
    phone = await make_phone(client, world.inspectors[0])
    records, _ = await phone.pull_all()
    assert {str(k[1]) for k in records if k[0] == "notification"} == {n["id"] for n in mine}
    read = await client.post(f"/api/v1/notifications/{mine[0]['id']}/read", headers=inspector)
    assert read.status_code == 200 and read.json()["read_at"]
    unread = (await client.get("/api/v1/notifications", params={"unread": "true"}, headers=inspector)).json()
    assert [n["id"] for n in unread] == [mine[1]["id"]]
    other = await world.headers(world.inspectors[1])
    assert (await client.post(f"/api/v1/notifications/{mine[1]['id']}/read", headers=other)).status_code == 404


async def test_a_receiver_that_never_answers_is_given_up_after_the_last_attempt(
    client: httpx.AsyncClient, world: World, settings: Settings  # noqa: F811
) -> None:
    hooked = dataclasses.replace(
        settings,
        notifications=NotificationSettings(webhook_url="http://127.0.0.1:9/nothing-listens", webhook_secret=SECRET,
                                           webhook_max_attempts=3, webhook_timeout_s=2),
    )
    inspection = await world.inspection(team=world.inspectors[:2])
    deadline = dt.datetime.now(TZ).date() + dt.timedelta(days=1)
    await client.post(
        "/api/v1/hazards/",
        json={"id": str(uuid.uuid4()), "inspection_id": str(inspection), "level": "general",
              "description": "消防通道堵塞", "deadline_date": deadline.isoformat()},
        headers=await world.headers(world.inspectors[0]),
    )
    await run_job(BY_NAME["reminders"], hooked, now=at(deadline))
    start = at(deadline, 10)
    for seconds in (0, 40, 200, 1000, 5000):
        await run_job(BY_NAME["notify-webhook"], hooked, now=start + dt.timedelta(seconds=seconds))
    deliveries = await NotificationDelivery.select()
    assert deliveries and {d["status"] for d in deliveries} == {"failed"} and {d["attempts"] for d in deliveries} == {3}
    admin_id = world.leader_id  # a leader reads statistics, not the delivery log
    assert (await client.get("/api/v1/notifications/deliveries", headers=await world.headers(admin_id))).status_code == 403
