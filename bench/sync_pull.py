"""Initial pull of a 100,000-row scope vs a raw asyncpg fetch of the same rows.

    .venv/bin/python bench/sync_pull.py [--rows 100000] [--page 5000]

One throw-away PostgreSQL database, one inspector with 100 inspections of 1,000 checklist items each,
every item recorded (100,000 ``item_result`` rows, published to the change feed by the service).
Measured in this process, alternating, ``--rounds`` times:

- baseline: asyncpg ``fetch`` of the same 100,000 ``item_result`` rows (one query, no paging);
- server pull: every page of ``POST /api/v1/sync/pull`` through the app's HTTP stack (in-process ASGI,
  MessagePack + gzip), decoded by the client, nothing stored;
- full initial sync: ``SyncClient.sync()`` into a new SQLite replica (pages, cursors and records
  committed page by page, ``synchronous=FULL``).

Prints rows/s and ratio = baseline time / pull time (goals: ratio >= 0.5 and >= 20,000 rows/s).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import sync_common  # noqa: E402
from schemas import sync as wire  # noqa: E402
from schemas.inspections import ItemResult  # noqa: E402
from server import database  # noqa: E402
from server.app import create_app  # noqa: E402
from server.inspections import records as inspection_records  # noqa: E402
from server.sync import scopes  # noqa: E402
from server.sync import service as sync_service  # noqa: E402
from sync_client import SyncClient  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    name = f"fc_bench_pull_{secrets.token_hex(3)}"
    url = await sync_common.fresh_database(name)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = sync_common.settings_for(url, Path(data_dir))
            app = create_app(settings)
            await database.start(app.state.settings)
            conn = await asyncpg.connect(url)
            items_per = 1000
            team = await sync_common.make_team(conn, inspections=args.rows // items_per, items=items_per)
            now = dt.datetime.now(dt.UTC)
            rows = [(uuid.uuid4(), i, item, "pass", "", "{}", 1, team["inspector"], now)
                    for i in team["inspections"] for item in team["items"]]
            await conn.copy_records_to_table(
                "item_result", records=rows,
                columns=["id", "inspection", "item", "outcome", "note", "field_versions", "version", "updated_by",
                         "updated_at"],
            )
            started = time.perf_counter()
            async with database.transaction():
                for inspection in team["inspections"]:
                    await inspection_records.publish(inspection)
                sync_service.publish_many(
                    ("item_result", r[0],
                     ItemResult(id=r[0], inspection_id=r[1], item_id=r[2], outcome="pass", version=1, updated_by=r[7],
                                updated_at=now),
                     scopes.inspection(r[1]))
                    for r in rows
                )
            publish_s = time.perf_counter() - started
            await conn.execute("VACUUM ANALYZE")

            baselines, server_pulls, client_syncs, stored = [], [], [], 0
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
                for round_ in range(args.rounds):
                    started = time.perf_counter()
                    fetched = await conn.fetch(
                        "SELECT id, inspection, item, outcome, note, version, updated_by, updated_at"
                        " FROM item_result WHERE inspection = ANY($1::uuid[])",
                        team["inspections"],
                    )
                    baselines.append(time.perf_counter() - started)
                    assert len(fetched) == len(rows)

                    device = uuid.uuid4()
                    login = await http.post("/api/v1/auth/login", json={
                        "username": team["username"], "password": sync_common.PASSWORD, "device_id": str(device)})
                    headers = {"authorization": f"Bearer {login.json()['access_token']}",
                               "content-type": "application/msgpack", "accept": "application/msgpack",
                               "accept-encoding": "gzip"}
                    started = time.perf_counter()
                    cursors: dict[str, int] = {}
                    received = 0
                    while True:
                        body = msgspec.msgpack.encode(wire.PullRequest(device_id=device, cursors=cursors, limit=args.page))
                        response = await http.post("/api/v1/sync/pull", content=body, headers=headers)
                        response.raise_for_status()
                        page = msgspec.msgpack.decode(response.content, type=wire.PullResponse)
                        received += sum(1 for c in page.changes if c.entity_type == "item_result")
                        cursors = page.cursors
                        if not page.has_more:
                            break
                    server_pulls.append(time.perf_counter() - started)
                    assert received == len(rows), received

                    with tempfile.TemporaryDirectory() as phone_dir:
                        async with SyncClient("http://bench", Path(phone_dir) / "phone.sqlite3",
                                              transport=httpx.ASGITransport(app=app), pull_limit=args.page) as client:
                            await client.login(team["username"], sync_common.PASSWORD)
                            started = time.perf_counter()
                            report = await client.sync()
                            client_syncs.append(time.perf_counter() - started)
                            assert report.complete, report.error
                            stored = client.store._db.execute(
                                "SELECT count(*) FROM record WHERE entity_type = 'item_result'").fetchone()[0]
                            assert stored == len(rows), stored
                    print(f"round {round_ + 1}: baseline fetch {baselines[-1]:.3f} s, server pull {server_pulls[-1]:.3f} s,"
                          f" full initial sync into SQLite {client_syncs[-1]:.3f} s")
            await conn.close()
            await database.stop()
    finally:
        await sync_common.drop_database(name)
    n = len(rows)
    baseline, server_pull, client_sync = (statistics.median(x) for x in (baselines, server_pulls, client_syncs))
    print(f"published {n} records to the change feed in one transaction: {publish_s:.3f} s")
    print(f"baseline asyncpg fetch of {n} item_result rows (median): {baseline:.3f} s = {n / baseline:,.0f} rows/s")
    print(f"server pull, pages of {args.page}, HTTP+MessagePack+gzip, decoded (median): {server_pull:.3f} s"
          f" = {n / server_pull:,.0f} rows/s, ratio {baseline / server_pull:.2f}")
    print(f"full initial sync into the phone's SQLite replica (median): {client_sync:.3f} s"
          f" = {n / client_sync:,.0f} rows/s, ratio {baseline / client_sync:.2f}")
    print("goals: ratio >= 0.5 and >= 20,000 rows/s")
    out = Path(__file__).parent / "results" / "sync_pull.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "rows": n, "page": args.page, "rounds": args.rounds, "publish_s": round(publish_s, 3),
        "baseline_fetch_s": [round(x, 4) for x in baselines], "server_pull_s": [round(x, 4) for x in server_pulls],
        "client_sync_s": [round(x, 4) for x in client_syncs],
        "server_pull_rows_per_s": round(n / server_pull), "client_sync_rows_per_s": round(n / client_sync),
        "server_pull_ratio": round(baseline / server_pull, 3), "client_sync_ratio": round(baseline / client_sync, 3),
    }, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
