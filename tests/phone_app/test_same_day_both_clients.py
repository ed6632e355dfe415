"""The web app and sync_client, given the same scripted day, leave the same state on the server.

Two checks of the same enterprise with the same checklist, one filled through the web app's writes (the functions
its screens call) in chromium, the other through the Python client; both are synced and every row the server
keeps about them is compared with ids and times left out: the check, its item results, hazards with 五落实,
三违 (masked number), evidence with hashes and links, notes and amendments, and each device's outcomes by kind.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.evidence.tables import Evidence
from sync_client import RetryPolicy, SyncClient
from tests.conftest import PASSWORD
from tests.phone_app import helpers
from tests.phone_app.conftest import Phone, World
from tests.server.evidence.images import photo
from tests.dates import bureau_today

pytestmark = pytest.mark.browser

DEADLINE = (bureau_today() + dt.timedelta(days=20)).isoformat()
FIVE = {"responsible_person": "王建国", "measures": "停止作业，配备气体检测仪", "funds_yuan": 12000,
        "deadline_date": DEADLINE, "contingency_plan": "有限空间事故现场处置方案"}
VIOLATION = {"person_name": "李四", "id_number": helpers.RIGHT_ID, "violation_type": "illegal_operation",
             "description": "未经检测进入有限空间", "post": "作业人员", "certificate_required": True,
             "certificate_held": False, "disposition": "停止作业，接受安全培训"}


def outcomes_of(world: World) -> list[tuple[str, str]]:
    """The scripted results: (item id, outcome) with a note on the failed one."""
    major = world.major_items[0]["id"]
    return [(i["id"], "fail" if i["id"] == major else "not_applicable" if i["is_major_criterion"] else "pass")
            for i in world.items]


async def web_day(page, world: World, inspection_id: uuid.UUID, files: dict[str, bytes]) -> None:
    script = {
        "inspection": str(inspection_id), "results": outcomes_of(world), "major": world.major_items[0]["id"],
        "deadline": DEADLINE, "five": FIVE, "violation": VIOLATION,
        "files": {k: base64.b64encode(v).decode() for k, v in files.items()},
    }
    await page.evaluate("""async (s) => {
      const W = FC.writes;
      const blob = (name, type) => new Blob([Uint8Array.from(atob(s.files[name]), c => c.charCodeAt(0))], { type });
      await W.startInspection(s.inspection);
      for (const [item, outcome] of s.results) {
        const fields = { outcome };
        if (outcome === "fail") fields.note = "有限空间未检测";
        await W.recordItemResult(s.inspection, item, fields);
      }
      const hazard = await W.addHazard(s.inspection, { level: "major", description: "有限空间作业未检测", location: "污水池",
        deadline_date: s.deadline, checklist_item_id: s.major, five_in_place: s.five });
      await W.attachEvidence(s.inspection, blob("hazard", "image/jpeg"), { hazardId: hazard });
      await W.addViolation(s.inspection, s.violation);
      await W.attachEvidence(s.inspection, blob("scene", "image/jpeg"));
      await W.addNote(s.inspection, "企业负责人在场");
      const signature = await W.attachEvidence(s.inspection, blob("signature", "image/png"), { kind: "signature", signerName: "王建国" });
      await W.submitInspection(s.inspection, { summary: "发现重大隐患一项", signedByName: "王建国", signatureEvidenceId: signature });
      await W.addNote(s.inspection, "补充：隐患已拍照");
    }""", script)


async def python_day(client: SyncClient, world: World, inspection_id: uuid.UUID, paths: dict[str, Path]) -> None:
    await client.start_inspection(inspection_id)
    for item, outcome in outcomes_of(world):
        note = "有限空间未检测" if outcome == "fail" else None
        kwargs: dict[str, Any] = {"outcome": outcome} if note is None else {"outcome": outcome, "note": note}
        await client.record_item_result(inspection_id, uuid.UUID(item), **kwargs)
    hazard = await client.add_hazard(inspection_id, level="major", description="有限空间作业未检测", location="污水池",
                                     deadline_date=dt.date.fromisoformat(DEADLINE),
                                     checklist_item_id=uuid.UUID(world.major_items[0]["id"]), five_in_place=FIVE)
    await client.attach_photo(inspection_id, paths["hazard"], hazard_id=hazard)
    await client.add_violation(inspection_id, **VIOLATION)
    await client.attach_photo(inspection_id, paths["scene"])
    await client.add_note(inspection_id, "企业负责人在场")
    signature = await client.attach_signature(inspection_id, paths["signature"], signer_name="王建国")
    await client.submit_inspection(inspection_id, summary="发现重大隐患一项", signed_by_name="王建国",
                                   signature_evidence_id=signature)
    await client.add_note(inspection_id, "补充：隐患已拍照")


def _plain(row: dict[str, Any], drop: set[str]) -> str:
    kept = {k: v for k, v in row.items() if k not in drop}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True, default=str)


async def server_state(inspection_id: uuid.UUID, device_id: str) -> dict[str, Any]:
    rows = await helpers.server_rows(inspection_id)
    times = {"id", "inspection", "created_at", "updated_at", "started_at", "submitted_at", "found_at", "recorded_at",
             "captured_at", "stored_at", "completed_at", "version", "field_versions", "listed_at", "author", "found_by",
             "recorded_by", "created_by", "updated_by", "device", "lead_inspector", "spot_check_task_id"}
    hazard_ids = {h["id"]: n for n, h in enumerate(rows["hazards"])}
    violation_ids = {v["id"]: n for n, v in enumerate(rows["violations"])}
    evidence = []
    for e in rows["evidence"]:
        e = {**e, "hazard": hazard_ids.get(e["hazard"]), "violation": violation_ids.get(e["violation"])}
        evidence.append(_plain(e, times | {"exif_captured_at"}))
    inspection = rows["inspection"]
    signature = await Evidence.select(Evidence.sha256).where(Evidence.inspection == inspection_id,
                                                             Evidence.kind == "signature").first()
    return {
        "inspection": _plain({**inspection, "signature": signature["sha256"]},
                             times | {"enterprise", "template", "department", "planned_date", "kind"}),
        "results": sorted(_plain({**r, "item": str(r["item"])}, times) for r in rows["results"]),
        "hazards": sorted(_plain(h, times | {"enterprise"}) for h in rows["hazards"]),
        "violations": sorted(_plain(v, times | {"enterprise", "id_number_protected"}) for v in rows["violations"]),
        "evidence": sorted(evidence),
        "amendments": sorted(_plain(a, times) for a in rows["amendments"]),
        "outcomes": [m["kind"] for m in await helpers.device_mutations(device_id)],
    }


async def test_the_web_app_and_sync_client_leave_the_same_state(world: World, phone, client, app, tmp_path):
    second = await client.post("/api/v1/inspections/", headers=world.supervisor, json={
        "enterprise_id": str(world.enterprise_id), "template_id": world.template_id,
        "inspector_ids": [str(world.inspector_id)], "planned_date": bureau_today().isoformat()})
    assert second.status_code == 201, second.text
    python_inspection = uuid.UUID(second.json()["id"])
    files = {"hazard": photo(seed=31), "scene": photo(seed=32), "signature": photo("PNG", (400, 200), exif=False, seed=33)}
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.{'png' if name == 'signature' else 'jpg'}"
        paths[name].write_bytes(data)

    page = await phone.new_page()
    p = Phone(page, world.url, "same-day")
    await p.open()
    await p.login(world.inspector)
    await p.sync()
    await web_day(page, world, world.inspection_id, files)
    await helpers.sync_until_safe(p)
    web_device = await page.evaluate("FC.store.deviceId()")

    async with SyncClient("http://fieldcheck.test", tmp_path / "python.sqlite3", transport=httpx.ASGITransport(app=app),
                          retry=RetryPolicy(attempts=2, base_delay_s=0, max_delay_s=0)) as sc:
        await sc.login(world.inspector, PASSWORD)
        await sc.sync()
        await python_day(sc, world, python_inspection, paths)
        for _ in range(4):
            report = await sc.sync()
            if report.complete and (await sc.status()).all_synced:
                break
        assert (await sc.status()).all_synced and (await sc.status()).errors == []
        python_device = str(sc.device_id)

    web = await server_state(world.inspection_id, web_device)
    python = await server_state(python_inspection, python_device)
    assert len(web["results"]) == 20 and len(web["evidence"]) == 3 and len(web["amendments"]) == 2
    for key in web:
        assert web[key] == python[key], key
    assert p.errors == []
