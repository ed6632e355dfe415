"""SyncClient against the real app: the round trip, rejections kept, expired logins, the CLI."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from server.accounts.auth import issue_access_token
from server.accounts.policy import Actor
from schemas.vocab import Role
from server.inspections.tables import ItemResult
from sync_client import SyncClient
from tests.conftest import PASSWORD, username_of
from tests.server.sync.conftest import team  # noqa: F401  (fixture)


def phone(app, tmp_path, name="phone") -> SyncClient:
    return SyncClient("http://fieldcheck.test", tmp_path / f"{name}.sqlite3", transport=httpx.ASGITransport(app=app))


async def test_record_offline_sync_and_read_back(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        report = await sc.sync()
        assert report.complete and report.pulled >= 1
        [job] = await sc.assignments()
        assert job["id"] == str(inspection)
        [checklist] = await sc.records("checklist_template")  # what the phone needs to fill it in
        assert checklist["id"] == job["template_id"] and [i["id"] for i in checklist["items"]] == [str(i) for i in team.items]

        await sc.start_inspection(inspection)
        result_id = await sc.record_item_result(inspection, team.items[0], outcome="fail", note="灭火器过期")
        await sc.record_item_result(inspection, team.items[1], outcome="pass")
        await sc.add_note(inspection, "企业负责人在场")
        local = {r["id"]: r for r in await sc.records("item_result")}
        assert local[str(result_id)]["outcome"] == "fail"  # visible at once, before any network
        assert (await sc.status()).pending_mutations == 4

        report = await sc.sync()
        assert report.complete and report.pushed == 4 and report.rejected == 0
        status = await sc.status()
        assert status.all_synced and status.last_sync_at and status.errors == []
        server = await ItemResult.select().where(ItemResult.id == result_id).first()
        assert (server["outcome"], server["note"]) == ("fail", "灭火器过期")
        replica = {r["id"]: r for r in await sc.records("item_result")}
        assert replica[str(result_id)]["version"] == server["version"]
        assert [a["text"] for a in await sc.records("amendment")] == ["企业负责人在场"]


async def test_a_rejection_is_kept_with_its_reason_and_does_not_block_the_queue(client, app, team, tmp_path):
    inspection = await team.assign(client, [team.inspectors[0]])
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        await sc.record_item_result(inspection, uuid.uuid4(), outcome="fail")  # not an item of this checklist
        good = await sc.record_item_result(inspection, team.items[0], outcome="pass")
        report = await sc.sync()
        assert report.complete and report.rejected == 1 and report.pushed == 2
        status = await sc.status()
        assert status.pending_mutations == 0
        [rejection] = status.rejections
        assert (rejection.code, rejection.field, rejection.kind) == ("invalid_input", "item_id", "record_item_result")
        assert "检查项" in rejection.message
        assert str(good) in {r["id"] for r in await sc.records("item_result")}
        # the rejected local view is gone once the server's state arrived
        assert len(await sc.records("item_result")) == 1


async def test_an_expired_login_refreshes_or_pauses_sync_without_losing_the_outbox(client, app, team, tmp_path, settings):
    inspection = await team.assign(client, [team.inspectors[0]])
    async with phone(app, tmp_path) as sc:
        user = await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        expired = issue_access_token(
            Actor(user_id=uuid.UUID(user["id"]), role=Role.INSPECTOR, device_id=sc.device_id),
            secret=app.state.settings.auth.secret_key, ttl_s=60, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        )
        sc.store.set_meta(access_token=expired)
        await sc.record_item_result(inspection, team.items[0], outcome="pass")
        report = await sc.sync()  # 401 token_expired → refresh → retried
        assert report.complete and report.pushed == 1

        sc.store.set_meta(access_token=expired, refresh_token="revoked-or-unknown")
        await sc.record_item_result(inspection, team.items[1], outcome="fail")
        report = await sc.sync()
        assert not report.complete and report.error.startswith("auth")
        status = await sc.status()
        assert status.auth_required and status.pending_mutations == 1

        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        report = await sc.sync()
        assert report.complete and report.pushed == 1
        assert (await sc.status()).all_synced


async def test_a_record_that_leaves_scope_is_kept_while_a_local_change_is_queued(client, app, team, tmp_path):
    from schemas.vocab import InspectionStatus
    from server.inspections.tables import Inspection

    inspection = await team.assign(client, [team.inspectors[0]])
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        await sc.add_note(inspection, "离开前的记录")
        # the supervisor cancels it meanwhile; the phone's note must still be pushed and answered
        await Inspection.update({Inspection.status: InspectionStatus.CANCELLED}).where(Inspection.id == inspection)
        await sc._pull(__import__("sync_client._client", fromlist=["SyncReport"]).SyncReport())
        assert [r["id"] for r in await sc.records("inspection")] == [str(inspection)]
        await sc.sync()
        assert await sc.records("inspection") == []


async def test_the_cli_logs_in_lists_records_and_syncs(client, app, team, tmp_path, capsys):
    from sync_client import __main__ as cli

    inspection = await team.assign(client, [team.inspectors[0]])
    store = tmp_path / "cli.sqlite3"
    # the CLI builds its own client; give it the app through the same seam the tests use
    original = cli.SyncClient

    def with_app(base_url, store_path, **kw):
        return original(base_url, store_path, transport=httpx.ASGITransport(app=app))

    cli.SyncClient = with_app
    try:
        base = ["--server", "http://fieldcheck.test", "--store", str(store)]
        name = await username_of(team.inspectors[0])
        assert await cli._run(cli_args(cli, base + ["login", name, "--password", PASSWORD])) == 0
        assert await cli._run(cli_args(cli, base + ["sync"])) == 0
        assert await cli._run(cli_args(cli, base + ["assignments"])) == 0
        assert str(inspection) in capsys.readouterr().out
        assert await cli._run(cli_args(cli, base + ["items", str(inspection)])) == 0
        assert str(team.items[0]) in capsys.readouterr().out
        assert await cli._run(cli_args(cli, base + ["record", str(inspection), str(team.items[0]), "--outcome", "fail",
                                                    "--note", "通道堵塞"])) == 0
        assert await cli._run(cli_args(cli, base + ["sync"])) == 0
        assert await cli._run(cli_args(cli, base + ["status"])) == 0
        out = capsys.readouterr().out
        assert "上传 1 条" in out and "全部已同步" in out
        # 上次同步 in Beijing time (the store keeps UTC)
        synced = dt.datetime.strptime(out.split("上次同步 ")[1][:19], "%Y-%m-%d %H:%M:%S")
        beijing_now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)
        assert abs((beijing_now - synced).total_seconds()) < 120
    finally:
        cli.SyncClient = original
    assert (await ItemResult.select().where(ItemResult.inspection == inspection).first())["note"] == "通道堵塞"


def cli_args(cli, argv):
    import argparse

    parser_holder = {}
    real = argparse.ArgumentParser.parse_args

    def capture(self, args=None, namespace=None):
        parsed = real(self, args, namespace)
        parser_holder["args"] = parsed
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = capture
    try:
        try:
            cli.main(argv)
        except SystemExit:
            pass
    finally:
        argparse.ArgumentParser.parse_args = real
    return parser_holder["args"]


async def test_a_photo_and_the_signing_recorded_offline_both_reach_the_server(client, app, team, tmp_path):
    from server.evidence.tables import Evidence
    from server.inspections.tables import Inspection
    from tests.server.evidence.images import photo

    inspection = await team.assign(client, [team.inspectors[0]])
    picture = tmp_path / "hazard.jpg"
    picture.write_bytes(photo())
    async with phone(app, tmp_path) as sc:
        await sc.login(await username_of(team.inspectors[0]), PASSWORD)
        await sc.sync()
        await sc.start_inspection(inspection)
        for item in team.items:  # signing needs every item answered
            await sc.record_item_result(inspection, item, outcome="pass")
        evidence_id = await sc.attach_photo(inspection, picture, caption="配电箱门未关闭")
        for item in team.items:
            await sc.record_item_result(inspection, item, outcome="pass")
        await sc.submit_inspection(inspection, summary="发现一般隐患1处", signed_by_name="李四")
        picture.unlink()  # the camera app may drop its file at once: the queue kept a copy
        local = {r["id"]: r for r in await sc.records("evidence")}
        assert local[str(evidence_id)]["status"] == "pending"
        report = await sc.sync()
        assert report.complete, report.error
        status = await sc.status()
        assert status.all_synced and status.errors == [] and status.uploads == []
    stored = await Evidence.select().where(Evidence.id == evidence_id).first()
    assert stored is not None and stored["status"] == "stored"
    row = await Inspection.select().where(Inspection.id == inspection).first()
    assert row["status"] == "submitted" and row["signed_by_name"] == "李四"
