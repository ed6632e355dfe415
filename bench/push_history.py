"""Push cost as a device's history grows: time per 1,000 mutations at 0, 100k and 1M stored outcomes.

    .venv/bin/python bench/push_history.py [--sizes 0,100000,1000000] [--pushes 10]

One throw-away PostgreSQL database, one inspector's phone. For each size in turn the phone's
``device_mutation`` history is grown to that many rows with one ``INSERT … SELECT generate_series``
(seconds, not hours of pushing), its statistics left as they were at size 0 (autovacuum off on it) as
a quickly grown table's are until autovacuum catches up, then
``--pushes`` pushes of 1,000 ``record_item_result`` mutations go through the app's HTTP stack
(in-process ASGI, MessagePack). Sequential requests reuse one pooled connection, so from the sixth
push on asyncpg runs the dedupe lookup on PostgreSQL's generic plan: the median of the last five
pushes is what is reported.

Baseline in the same run, at each size, on its own connection: the dedupe lookup as it was before
(``seq = ANY($2)`` alone) against the lookup the push now runs (the same plus ``seq BETWEEN``),
each prepared and run ten times on the same 1,000 new seqs on PostgreSQL's generic plan
(``plan_cache_mode = force_generic_plan``, the plan the issue found a busy connection on).
Prints both, and each size's push time as a ratio to the push time at size 0 (goal: about 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
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
from server import database  # noqa: E402
from server.app import create_app  # noqa: E402

BATCH = 1000
OLD_LOOKUP = "SELECT seq, outcome FROM device_mutation WHERE device = $1 AND seq = ANY($2::bigint[])"
NEW_LOOKUP = ("SELECT seq, outcome FROM device_mutation"
              " WHERE device = $1 AND seq BETWEEN $2 AND $3 AND seq = ANY($4::bigint[])")


async def _lookup_ms(conn: asyncpg.Connection, device: uuid.UUID, seqs: list[int], *, old: bool) -> float:
    """Median time of the lookup on its generic plan (the state a long-lived pooled connection reaches)."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    statement = await conn.prepare(OLD_LOOKUP if old else NEW_LOOKUP)
    args = (device, seqs) if old else (device, min(seqs), max(seqs), seqs)
    times = []
    for _ in range(10):
        started = time.perf_counter()
        await statement.fetch(*args)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[5:])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,100000,1000000")
    parser.add_argument("--pushes", type=int, default=10)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    logging.getLogger("httpx").setLevel(logging.WARNING)
    name = f"fc_bench_history_{secrets.token_hex(3)}"
    url = await sync_common.fresh_database(name)
    results: list[dict] = []
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            app = create_app(sync_common.settings_for(url, Path(data_dir)))
            await database.start(app.state.settings)
            conn = await asyncpg.connect(url)
            items_per = 100
            team = await sync_common.make_team(conn, inspections=(len(sizes) * args.pushes + 1) * BATCH // items_per,
                                               items=items_per)
            pairs = iter([(i, item) for i in team["inspections"] for item in team["items"]])
            # Every table analysed once, as after `fieldcheck generate`; then the history's statistics are
            # left as they were while it grows (no autovacuum on it), the state of a table grown quickly.
            await conn.execute("ANALYZE")
            await conn.execute("ALTER TABLE device_mutation SET (autovacuum_enabled = false)")
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                phone = uuid.uuid4()
                login = await client.post("/api/v1/auth/login", json={
                    "username": team["username"], "password": sync_common.PASSWORD, "device_id": str(phone)})
                headers = {"authorization": f"Bearer {login.json()['access_token']}",
                           "content-type": "application/msgpack", "accept": "application/msgpack"}
                device_row = phone  # a device's row id is the id the phone generated
                next_seq = 1
                for size in sizes:
                    history = await conn.fetchval("SELECT count(*) FROM device_mutation WHERE device = $1", device_row)
                    started = time.perf_counter()
                    if size > history:
                        await conn.execute(
                            "INSERT INTO device_mutation (id, device, seq, kind, outcome, created_at)"
                            " SELECT gen_random_uuid(), $1, g, 'record_item_result', $2, now()"
                            " FROM generate_series($3::bigint, $4::bigint) AS g",
                            device_row, msgspec.msgpack.encode(wire.Applied(seq=0)), next_seq, next_seq + size - history - 1,
                        )
                        next_seq += size - history
                    built = time.perf_counter() - started
                    probe = list(range(next_seq, next_seq + BATCH))
                    old_ms = await _lookup_ms(conn, device_row, probe, old=True)
                    new_ms = await _lookup_ms(conn, device_row, probe, old=False)
                    times = []
                    for _ in range(args.pushes + (1 if size == sizes[0] else 0)):  # one warm-up push first
                        mutations = [
                            msgspec.Raw(msgspec.msgpack.encode(RecordItemResult(
                                seq=next_seq + n, id=uuid.uuid4(), inspection_id=inspection, item_id=item,
                                outcome="fail", note="灭火器压力不足")))
                            for n, (inspection, item) in enumerate(next(pairs) for _ in range(BATCH))
                        ]
                        next_seq += BATCH
                        body = msgspec.msgpack.encode(wire.PushRequest(device_id=phone, mutations=mutations))
                        started = time.perf_counter()
                        response = await client.post("/api/v1/sync/push", content=body, headers=headers)
                        times.append(time.perf_counter() - started)
                        response.raise_for_status()
                        outcomes = msgspec.msgpack.decode(response.content, type=wire.PushResponse).outcomes
                        assert all(isinstance(o, wire.Applied) for o in outcomes), outcomes[:3]
                    results.append({
                        "history_rows": size, "built_s": round(built, 1),
                        "push_ms_per_1000": round(statistics.median(times[-5:]) * 1000, 1),
                        "push_ms_all": [round(t * 1000, 1) for t in times[-args.pushes:]],
                        "lookup_before_ms": round(old_ms, 3), "lookup_now_ms": round(new_ms, 3),
                    })
                    print(f"history {size:>9,}: built in {built:5.1f} s; push of 1,000 (median of last 5) "
                          f"{results[-1]['push_ms_per_1000']:7.1f} ms; dedupe lookup before {old_ms:8.3f} ms, "
                          f"now {new_ms:6.3f} ms", flush=True)
            await conn.close()
            await database.stop()
    finally:
        await sync_common.drop_database(name)
    first = results[0]["push_ms_per_1000"]
    for row in results:
        row["ratio_to_first"] = round(row["push_ms_per_1000"] / first, 2)
        print(f"history {row['history_rows']:>9,}: push time / push time at {results[0]['history_rows']:,} = "
              f"{row['ratio_to_first']:.2f}; lookup before/now = {row['lookup_before_ms'] / row['lookup_now_ms']:.0f}x")
    out = Path(__file__).parent / "results" / "push_history.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
