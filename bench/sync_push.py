"""Push throughput: 10,000 item results pushed in batches vs raw asyncpg ``executemany`` of the same rows.

    .venv/bin/python bench/sync_push.py [--mutations 10000] [--batch 1000]

Both run in this process on one throw-away PostgreSQL database:

- baseline: ``executemany`` of the 10,000 ``item_result`` rows in one transaction (then deleted);
- push: the same 10,000 results as ``record_item_result`` mutations, ``--batch`` per request, MessagePack,
  through the app's HTTP stack (in-process ASGI, no socket), each batch one transaction that also
  checks permissions, merges field versions, stores the dedupe outcomes, appends the audit chain and
  publishes to the change feed. The garbage collector is tuned as the server tunes it once started
  (``server.gc_tuning``, ``FIELDCHECK_GC_THRESHOLDS``).

Prints both times and ratio = baseline time / push time (goal ≥ 0.5).
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
from schemas.inspections import RecordItemResult  # noqa: E402
from server import database, gc_tuning  # noqa: E402
from server.app import create_app  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutations", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    name = f"fc_bench_push_{secrets.token_hex(3)}"
    url = await sync_common.fresh_database(name)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = sync_common.settings_for(url, Path(data_dir))
            app = create_app(settings)
            await database.start(app.state.settings)
            gc_tuning.tune(app.state.settings)  # as the server's last start-up step does (no lifespan runs here)
            conn = await asyncpg.connect(url)
            items_per = 100
            team = await sync_common.make_team(conn, inspections=args.rounds * args.mutations // items_per, items=items_per)
            pairs = [(i, item) for i in team["inspections"] for item in team["items"]]
            now = dt.datetime.now(dt.UTC)
            baselines, all_rows, pushes, applied = [], [], [], 0
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                device = uuid.uuid4()
                login = await client.post("/api/v1/auth/login", json={
                    "username": team["username"], "password": sync_common.PASSWORD, "device_id": str(device)})
                headers = {"authorization": f"Bearer {login.json()['access_token']}",
                           "content-type": "application/msgpack", "accept": "application/msgpack"}
                for round_ in range(args.rounds):  # alternate baseline and push so load on the machine hits both
                    chunk = pairs[round_ * args.mutations : (round_ + 1) * args.mutations]
                    rows = [(uuid.uuid4(), inspection, item, "fail", "灭火器压力不足",
                             '{"outcome": {"v": 1, "by": "x"}}', 1, team["inspector"], now) for inspection, item in chunk]
                    started = time.perf_counter()
                    async with conn.transaction():
                        await conn.executemany(
                            "INSERT INTO item_result (id, inspection, item, outcome, note, field_versions, version,"
                            " updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8, $9)",
                            rows,
                        )
                    baselines.append(time.perf_counter() - started)
                    await conn.execute("DELETE FROM item_result WHERE inspection = ANY($1::uuid[])",
                                       list({r[1] for r in rows}))
                    await conn.execute("VACUUM ANALYZE item_result")

                    # second baseline: executemany of every row the push writes (result, feed entry, dedupe record)
                    device_row = await conn.fetchval("SELECT id FROM device LIMIT 1")
                    top = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM change")
                    payload = msgspec.msgpack.encode({"outcome": "fail", "note": "灭火器压力不足", "version": 1})
                    started = time.perf_counter()
                    async with conn.transaction():
                        await conn.executemany(
                            "INSERT INTO item_result (id, inspection, item, outcome, note, field_versions, version,"
                            " updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8, $9)",
                            rows,
                        )
                        await conn.executemany(
                            "INSERT INTO change (seq, scope, entity_type, entity_id, payload, updated_at)"
                            " VALUES ($1, $2, 'item_result', $3, $4, $5)",
                            [(top + n + 1, f"inspection:{r[1]}", r[0], payload, now) for n, r in enumerate(rows)],
                        )
                        await conn.executemany(
                            "INSERT INTO device_mutation (id, device, seq, kind, outcome, created_at)"
                            " VALUES ($1, $2, $3, 'record_item_result', $4, $5)",
                            [(uuid.uuid4(), device_row, 10**9 + n, payload, now) for n in range(len(rows))],
                        )
                    all_rows.append(time.perf_counter() - started)
                    await conn.execute("DELETE FROM item_result WHERE inspection = ANY($1::uuid[])",
                                       list({r[1] for r in rows}))
                    await conn.execute("DELETE FROM change WHERE seq > $1", top)
                    await conn.execute("DELETE FROM device_mutation WHERE seq >= $1", 10**9)
                    await conn.execute("VACUUM ANALYZE")

                    first_seq = round_ * args.mutations + 1
                    mutations = [
                        msgspec.Raw(msgspec.msgpack.encode(RecordItemResult(
                            seq=first_seq + n, id=row[0], inspection_id=row[1], item_id=row[2], outcome="fail",
                            note="灭火器压力不足")))
                        for n, row in enumerate(rows)
                    ]
                    started = time.perf_counter()
                    for start in range(0, len(mutations), args.batch):
                        body = msgspec.msgpack.encode(
                            wire.PushRequest(device_id=device, mutations=mutations[start : start + args.batch]))
                        response = await client.post("/api/v1/sync/push", content=body, headers=headers)
                        response.raise_for_status()
                        outcomes = msgspec.msgpack.decode(response.content, type=wire.PushResponse).outcomes
                        applied += sum(isinstance(o, wire.Applied) for o in outcomes)
                    pushes.append(time.perf_counter() - started)
            stored = await conn.fetchval("SELECT count(*) FROM item_result")
            dedupe = await conn.fetchval("SELECT count(*) FROM device_mutation")
            audit = await conn.fetchval(
                "SELECT coalesce(sum(json_array_length(changes->'results')), 0) FROM audit_entry"
                " WHERE action = 'inspection.item_results'"
            )
            changes = await conn.fetchval("SELECT count(*) FROM change WHERE entity_type = 'item_result'")
            await conn.close()
            await database.stop()
    finally:
        await sync_common.drop_database(name)
    total = args.rounds * args.mutations
    assert applied == stored == dedupe == audit == changes == total, (applied, stored, dedupe, audit, changes)
    baseline, pushed = statistics.median(baselines), statistics.median(pushes)
    result = {
        "mutations": args.mutations,
        "batch": args.batch,
        "rounds": args.rounds,
        "baseline_executemany_s": [round(b, 4) for b in baselines],
        "push_s": [round(p, 4) for p in pushes],
        "median_ratio": round(baseline / pushed, 3),
        "push_mutations_per_s": round(args.mutations / pushed),
    }
    everything = statistics.median(all_rows)
    result["baseline_all_rows_s"] = [round(x, 4) for x in all_rows]
    result["median_ratio_all_rows"] = round(everything / pushed, 3)
    for round_, (b, a, p) in enumerate(zip(baselines, all_rows, pushes, strict=True), start=1):
        print(f"round {round_}: baseline executemany {b:.3f} s (all rows the push writes: {a:.3f} s), push {p:.3f} s,"
              f" ratio {b / p:.2f}")
    print(f"baseline asyncpg executemany of {args.mutations} item_result rows (median): {baseline:.3f} s")
    print(f"push of {args.mutations} record_item_result mutations in batches of {args.batch} "
          f"(+ dedupe, audit chain, change feed), median: {pushed:.3f} s = {args.mutations / pushed:,.0f} mutations/s")
    print(f"ratio (baseline / push) = {baseline / pushed:.2f}   (goal >= 0.5)")
    print(f"for scale: executemany of every row the push writes (item_result + change + device_mutation, "
          f"3 x {args.mutations}): {everything:.3f} s, ratio {everything / pushed:.2f}")
    out = Path(__file__).parent / "results" / "sync_push.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
