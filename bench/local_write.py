"""The phone's local write as its replica grows: ``record_item_result`` at 0, 10k and 100k replica rows.

    .venv/bin/python bench/local_write.py [--sizes 0,10000,100000] [--writes 300]

One ``SyncClient`` replica (SQLite, ``synchronous=FULL`` as on a phone), no server: each size's
``item_result`` records are stored the way a pull stores them (``Store.apply_page``, 100 results per
inspection scope), then ``--writes`` results are recorded on a fresh inspection, timed one by one.

Baseline in the same run, at each size: the lookup the write did before, reading every
``item_result`` of the replica (server records and local views) to find the one item's record,
timed on the same replica. Prints writes/s at each size, the ratio of each to the empty replica
(goal: about 1), and how much of one write the old lookup alone would cost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.inspections import ItemResult  # noqa: E402
from sync_client import SyncClient  # noqa: E402
from sync_client import _protocol as protocol  # noqa: E402

PER_INSPECTION = 100


def _fill(client: SyncClient, rows: int, start_seq: int) -> None:
    now = dt.datetime.now(dt.UTC)
    seq = start_seq
    for first in range(0, rows, 5000):
        puts = []
        for _ in range(min(5000, rows - first) // PER_INSPECTION):
            inspection = uuid.uuid4()
            for _ in range(PER_INSPECTION):
                seq += 1
                record = ItemResult(id=uuid.uuid4(), inspection_id=inspection, item_id=uuid.uuid4(), outcome="pass",
                                    note="消防通道畅通", updated_at=now)
                puts.append((protocol.inspection_scope(inspection), "item_result", str(record.id), seq,
                             msgspec.msgpack.encode(record)))
        client.store.apply_page(puts, [], {}, [])


def _old_lookup(client: SyncClient, inspection: uuid.UUID, item: uuid.UUID) -> None:
    decode = protocol.record_decoder("item_result")
    protocol.find_item_result(
        [decode(msgspec.msgpack.encode(r)) for r in client.store.server_records("item_result").values()],
        inspection, item,
    )
    protocol.find_item_result(client.store.records("item_result", decode), inspection, item)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        async with SyncClient("http://127.0.0.1:9", Path(folder) / "phone.sqlite3") as client:
            held = 0
            for size in (int(s) for s in args.sizes.split(",")):
                _fill(client, size - held, start_seq=held)
                held = size
                rows = client.store.counts()["records"]
                inspection = uuid.uuid4()
                times = []
                for _ in range(args.writes):
                    started = time.perf_counter()
                    await client.record_item_result(inspection, uuid.uuid4(), outcome="pass", note="")
                    times.append(time.perf_counter() - started)
                old = []
                for _ in range(5):
                    started = time.perf_counter()
                    _old_lookup(client, inspection, uuid.uuid4())
                    old.append(time.perf_counter() - started)
                write_ms, old_ms = statistics.median(times) * 1000, statistics.median(old) * 1000
                results.append({"replica_rows": size, "stored": rows, "write_ms": round(write_ms, 3),
                                "writes_per_s": round(1000 / write_ms), "old_lookup_ms": round(old_ms, 3)})
                print(f"replica {size:>7,} item results: record_item_result {write_ms:6.2f} ms "
                      f"({1000 / write_ms:,.0f}/s); the old whole-replica lookup alone {old_ms:8.2f} ms", flush=True)
    first = results[0]["write_ms"]
    for row in results:
        row["ratio_to_empty"] = round(row["write_ms"] / first, 2)
        print(f"replica {row['replica_rows']:>7,}: write time / write time on an empty replica = {row['ratio_to_empty']:.2f};"
              f" old lookup / write now = {row['old_lookup_ms'] / row['write_ms']:.1f}x")
    out = Path(__file__).parent / "results" / "local_write.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
