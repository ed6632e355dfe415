"""Every reader, as every caller but the campaign's owner: an unreleased covert task leaves no trace and moves no count.

The readers are not listed by hand: every GET route of the app (path and query
parameters filled from the ids the world holds, so a route added later is
walked too), every sync pull page, every statistic with its drill-downs and
exports, the audit entries an extract would show, and the published inputs of
a draw another supervisor runs. Each is read twice — with the covert draw
committed but not revealed (the world without its task) and once it is
revealed — and must answer the same, apart from the campaign's own settings
and counts (for the readers the design lets see them) and the day-and-district
task its team is told of; none of those may name the target.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import msgspec
from litestar import Litestar
from litestar.routes import HTTPRoute

from schemas import spotchecks as spot_wire
from schemas import sync as sync_wire
from schemas.vocab import District, Role
from server import database
from server.accounts.policy import Actor
from server.audit.tables import AuditEntry
from server.spotchecks import draws as spotcheck_draws
from server.spotchecks import release as spotcheck_release
from server.documents.verify_limit import VerifyLimiter
from tests.conftest import context_at, make_department, make_user
from tests.server.spotchecks.conftest import BASE, World, target_traces
from tests.server.spotchecks.test_covert_inputs import pool_of
from tests.server.stats.conftest import comparable, every_statistic
from tests.server.sync.conftest import MSGPACK, Phone, make_phone

_PARAM = re.compile(r"\{(\w+):(\w+)\}")
#: Files shipped with the server (assets, the API document): no record reaches them.
FILES = ("/static/", "/schema")


def _body(response: httpx.Response) -> Any:
    try:
        return (response.status_code, comparable(response.json()))
    except ValueError:
        return (response.status_code, response.content)


def _raw(value: Any) -> bytes:
    return value[1] if isinstance(value[1], bytes) else msgspec.json.encode(value[1])


class Walk:
    """Reads everything each caller can read; the ids that fill parameters come from ``ids`` (name → values)."""

    def __init__(self, app: Litestar, client: httpx.AsyncClient, ids: dict[str, list[str]]) -> None:
        self.client = client
        self.ids = ids
        self.every_id = sorted({v for values in ids.values() for v in values})
        schema = app.openapi_schema.to_schema()
        self.requests: list[tuple[str, dict[str, str]]] = []
        for route in app.routes:
            if not isinstance(route, HTTPRoute) or "GET" not in route.methods or route.path.startswith(FILES):
                continue
            for path in self._paths(route.path):
                self.requests.append((path, {}))
                operation = schema["paths"].get(_PARAM.sub(r"{\1}", route.path), {}).get("get", {})
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        self.requests += [(path, {parameter["name"]: v}) for v in self._query_values(parameter)]

    def _paths(self, template: str) -> list[str]:
        paths = [template]
        for name, kind in _PARAM.findall(template):
            values = self.ids.get(name) or (self.every_id if kind == "uuid" else ["hc-basic"])
            paths = [p.replace(f"{{{name}:{kind}}}", v) for p in paths for v in values]
        return paths

    def _query_values(self, parameter: dict[str, Any]) -> list[str]:
        name = parameter["name"]
        if name in self.ids:
            return self.ids[name]
        if name.endswith("_id"):
            return self.every_id
        if name == "q":
            return ["暗访目标"]
        if name == "limit":
            found = re.search(r'"maximum":\s*(\d+)', msgspec.json.encode(parameter).decode())
            return [found.group(1) if found else "100"]
        return []

    async def routes(self, headers: dict[str, str]) -> dict[str, Any]:
        out = {}
        for path, params in self.requests:
            response = await self.client.get(path, params=params, headers=headers)
            out[f"GET {path}?{params}"] = _body(response)
        return out

    async def pull(self, phone: Phone) -> dict[str, Any]:
        """Every page of a pull from nothing (small pages, MessagePack) and the whole pull once in JSON.

        ``pull records`` is what the phone ends up holding (compared); ``pull raw`` every byte it was sent
        (searched for traces: cursors and server time move between two pulls, records must not).
        """
        raw = b""
        cursors: dict[str, int] = {}
        held = set()
        for _ in range(200):
            request = sync_wire.PullRequest(device_id=phone.device_id, cursors=cursors, limit=5)
            response = await self.client.post(
                "/api/v1/sync/pull", content=msgspec.msgpack.encode(request),
                headers={**phone.headers, "content-type": MSGPACK, "accept": MSGPACK},
            )
            raw += response.content
            if response.status_code != 200:
                return {"pull records": (response.status_code, response.content), "pull raw": (0, raw)}
            page = msgspec.msgpack.decode(response.content, type=sync_wire.PullResponse)
            for change in page.changes:
                record = msgspec.msgpack.decode(change.record) if isinstance(change, sync_wire.Put) else None
                held.add((change.entity_type, str(change.entity_id), msgspec.json.encode(record)))
            held.update(("dropped", scope, b"") for scope in page.dropped_scopes)
            cursors = page.cursors
            if not page.has_more:
                break
        request = sync_wire.PullRequest(device_id=phone.device_id, cursors={}, limit=2000)
        whole = await self.client.post(
            "/api/v1/sync/pull", content=msgspec.json.encode(request),
            headers={**phone.headers, "content-type": "application/json", "accept": "application/json"},
        )
        return {"pull records": (200, sorted(held)), "pull raw": (0, raw + whole.content)}


async def test_every_reader_hides_an_unreleased_covert_task_from_everyone_but_its_owner(world: World, app: Litestar) -> None:
    client = world.client
    # The walk calls every public verify route once per reader, more than a minute's allowance from one
    # address; the limit itself is tested in tests/server/documents/test_verify_limit.py.
    app.state.verify_limiter = VerifyLimiter(0)
    other_department = await make_department()
    people: dict[str, uuid.UUID] = {
        "colleague": await make_user(Role.SUPERVISOR, department_id=world.department_id),
        "other supervisor": await make_user(Role.SUPERVISOR, department_id=other_department),
        "leader": await make_user(Role.LEADER),
        "admin": await make_user(Role.ADMIN),
        "other inspector": await make_user(Role.INSPECTOR, department_id=other_department, districts=[District.SHAPOTOU]),
        **{f"inspector {n}": user for n, user in enumerate(world.inspectors)},
    }
    headers = {who: await world.as_user(user) for who, user in people.items()}
    phones = {who: await make_phone(client, user) for who, user in people.items()}

    # The colleague's own covert campaign, drawn before: the draw whose inputs they read again at the end.
    colleague = headers["colleague"]
    body = {"name": "同科室另一暗访抽查", "covert": True, "period_start": None, "period_end": None,
            "rules": {"sample_size": 1, "team_size": 2, "weekdays": [1, 2, 3, 4, 5, 6, 7]}}
    campaign = await world.campaign(rules={"sample_size": 1})
    body.update(period_start=campaign["period_start"], period_end=campaign["period_end"])
    theirs = await client.post(f"{BASE}/campaigns", json=body, headers=colleague)
    assert theirs.status_code == 201, theirs.text
    their_draw = await client.post(f"{BASE}/campaigns/{theirs.json()['id']}/draws", json={"reason": ""}, headers=colleague)
    their_inputs = (await client.get(f"{BASE}/draws/{their_draw.json()['id']}/inputs", headers=colleague)).json()

    # The covert draw, committed (its inputs frozen) but not revealed: the world without its task.
    owner = Actor(user_id=world.supervisor_id, role=Role.SUPERVISOR, department_id=world.department_id)
    async with database.transaction():
        committed = await spotcheck_draws.commit_draw(
            app.state.context, owner, uuid.UUID(campaign["id"]), spot_wire.DrawRequest()
        )
    ids = {
        "enterprise_id": [str(e) for e in world.enterprises],
        "campaign_id": [campaign["id"], theirs.json()["id"]],
        "draw_id": [str(committed.id), their_draw.json()["id"]],
        "template_id": [str(world.template_id)],
        "department_id": [str(world.department_id), str(other_department)],
        "user_id": [str(u) for u in people.values()],
    }
    walk = Walk(app, client, ids)
    periods = sorted({campaign["period_start"][:4], campaign["period_end"][:4]})

    async def read(who: str) -> dict[str, Any]:
        out = await walk.routes(headers[who])
        out.update(await walk.pull(phones[who]))
        if "inspector" not in who:
            for period in periods:
                stats = await every_statistic(client, headers[who], period)
                out.update({f"stats {period} {k}": (200, v) for k, v in stats.items()})
        return out

    before = {who: await read(who) for who in people}

    revealed = await client.post(f"{BASE}/draws/{committed.id}/reveal", headers=world.supervisor)
    assert revealed.status_code == 200, revealed.text
    [task] = await world.tasks(campaign["id"])
    target = uuid.UUID(task["enterprise_id"])
    traces = [t for t in await target_traces(target) if len(t) > 8]  # id (both spellings), name, code, address
    team = {str(u) for u in task["team"]}
    own_settings = (f"/campaigns/{campaign['id']}", f"/draws/{committed.id}", f"{BASE}/campaigns?")

    for who, user in people.items():
        after = await read(who)
        assert after.keys() == before[who].keys(), who
        on_team = str(user) in team
        for key, value in after.items():
            if "inspector" in who:
                found = [t for t in traces if t in _raw(value)]
                assert found == [], (who, key, found)
                # Its team is told of a task on a day in a district, nothing more: on their phone and their list.
                if on_team and (key == "pull records" or "/my-tasks" in key):
                    told = [r for r in value[1] if r not in before[who][key][1]] if key == "pull records" else []
                    assert all(r[0] == "spot_check_task" for r in told), (who, told)
                    continue
            if key == "pull raw":
                continue
            elif any(part in key for part in own_settings):
                found = [t for t in traces if t in _raw(value)]
                assert found == [], (who, key, found)  # the campaign's own status and counts, never its target
                continue
            assert value == before[who][key], (who, key)

    # What any audit extract can show: no entry written up to now (commitment, result) names the target.
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.changes).output(load_json=True)
    assert [e["action"] for e in entries if any(t in msgspec.json.encode(e) for t in traces)] == []

    # A draw the colleague runs now reads the same inputs as before the covert task existed.
    again = await client.post(
        f"{BASE}/campaigns/{theirs.json()['id']}/draws", json={"reason": "检查组需要调整"}, headers=colleague
    )
    assert again.status_code == 201, again.text
    inputs = (await client.get(f"{BASE}/draws/{again.json()['id']}/inputs", headers=colleague)).json()
    assert pool_of(inputs) == pool_of(their_inputs)
    assert (await client.get(f"{BASE}/draws/{again.json()['id']}/verify", headers=colleague)).json()["ok"] is True

    # Released: the team sees the target on their phones and lists; nobody else's view gains it.
    due = max(dt.datetime.fromisoformat(t["release_at"].replace("Z", "+00:00")) for t in await world.tasks(campaign["id"]))
    assert await spotcheck_release.release_due_tasks(context_at(world.client, due)) >= 1
    theirs_now = (await client.get(f"{BASE}/campaigns/{theirs.json()['id']}/tasks", headers=colleague)).json()
    released = [*await world.tasks(campaign["id"]), *theirs_now]
    entitled = {u for t in released if t["enterprise_id"] == str(target) and t["status"] == "released" for u in t["team"]}
    for who, user in people.items():
        if "inspector" not in who:
            continue
        pulled = (await walk.pull(phones[who]))["pull raw"][1]
        listed = (await client.get("/api/v1/inspections/", headers=headers[who])).content
        seen = await client.get(f"/api/v1/enterprises/{target}", headers=headers[who])
        if str(user) in entitled:
            assert str(target).encode() in pulled and str(target).encode() in listed and seen.status_code == 200, who
        else:
            assert str(target).encode() not in pulled + listed and seen.status_code == 404, who
    assert team <= entitled
