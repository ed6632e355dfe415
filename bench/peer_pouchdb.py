"""The peer side by side: PouchDB 9 → pouchdb-server vs ``SyncClient`` → ``fieldcheck serve`` on PostgreSQL.

    .venv/bin/python bench/peer_pouchdb.py [--records 10000,100000] [--items 100] [--scratch DIR]

Not part of ``make test``: it installs ``pouchdb`` and ``pouchdb-server`` from the npm registry
(``npm install`` into a scratch folder, never the project's node_modules or package.json; ``--scratch``
reuses a folder installed before).

For each record count N, in one run on this machine:

- peer: pouchdb-server (LevelDB on disk, its own process); ``bench/peer_pouchdb_client.js`` writes N
  item-result documents into a local PouchDB (LevelDB, not timed), times ``replicate.to`` the server
  (push), then ``replicate`` from the server into a fresh local PouchDB (initial pull), default batch size;
- fieldcheck: one ``fieldcheck serve`` process on a throw-away PostgreSQL database, one inspector with
  N / ``--items`` planned checks of an ``--items``-item checklist. A ``SyncClient`` pulls them, queues N
  ``record_item_result`` calls with the same note (timed as context: the phone's local writes), then its
  push phase is timed (every outbox batch to ``/api/v1/sync/push`` until answered); then a second
  ``SyncClient`` with a fresh SQLite replica on a new device times its first ``sync()`` (initial pull), in a
  process of its own whose peak RSS growth is read from ``VmHWM`` after resetting it; the same pull is
  run, same server and data, with the ``sync_client`` of ``--baseline-tree`` (default the main checkout)
  as the before figure; ``--pull-rounds`` pulls each, alternating which goes first, the fastest kept.

Documents are the same fields on both sides (ids, inspection, item, outcome, note, version, author,
time), about 350 bytes of JSON each. Prints records/s for each and the ratios
(goals: push >= 10x PouchDB, initial pull >= 20x, initial sync >= 100,000 rows/s).
Other work on the machine shares the same cores: compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import sync_common  # noqa: E402
from bench.sync_load import Servers, _world  # noqa: E402
from sync_client import SyncClient  # noqa: E402
from sync_client._client import SyncReport  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PEER_PACKAGES = ("pouchdb@9.0.0", "pouchdb-server@4.2.0")
#: Every result carries this note, so a document is about 350 bytes of JSON on both sides.
NOTE = "灭火器压力正常，疏散通道畅通"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_peer(scratch: Path) -> None:
    if (scratch / "node_modules" / "pouchdb-server").exists() and (scratch / "node_modules" / "pouchdb").exists():
        return
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "package.json").write_text('{"name": "peer-bench-scratch", "private": true}\n')
    print(f"npm install {' '.join(PEER_PACKAGES)} into {scratch} …", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", *PEER_PACKAGES], cwd=scratch, check=True)


def run_peer(scratch: Path, records: int) -> dict:
    port = free_port()
    db_dir = Path(tempfile.mkdtemp(prefix="pouchdb-server-", dir=scratch))
    server = subprocess.Popen(
        [str(scratch / "node_modules" / ".bin" / "pouchdb-server"), "--port", str(port), "--dir", str(db_dir),
         "--no-stdout-logs", "--config", str(db_dir / "config.json")],
        cwd=db_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("pouchdb-server did not start")
            time.sleep(0.2)
        local = Path(tempfile.mkdtemp(prefix="pouchdb-phone-", dir=scratch))
        done = subprocess.run(
            ["node", str(ROOT / "bench" / "peer_pouchdb_client.js"), f"http://127.0.0.1:{port}", str(records),
             str(local), NOTE],
            cwd=scratch, env={**os.environ, "NODE_PATH": str(scratch / "node_modules")},
            capture_output=True, text=True, check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        shutil.rmtree(local, ignore_errors=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(db_dir, ignore_errors=True)
    assert result["pushed"] == result["on_server"] == result["pulled"] == result["on_fresh"] == records, result
    return result


async def run_fieldcheck(records: int, items: int, phone_dir: Path, trees: dict[str, Path], pull_rounds: int) -> dict:
    name = f"fc_bench_peer_{uuid.uuid4().hex[:6]}"
    url = await sync_common.fresh_database(name)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            servers = Servers(ROOT, 1, url, Path(data_dir))
            await servers.start()
            try:
                (person,) = await _world(url, 1, records // items, items)
                base = servers.next_url()
                async with SyncClient(base, phone_dir / f"phone_{records}.sqlite3") as phone:
                    await phone.login(person["username"], sync_common.PASSWORD)
                    assert (await phone.sync()).complete
                    started = time.perf_counter()
                    for inspection in person["inspections"]:
                        for item in person["items"]:
                            await phone.record_item_result(inspection, item, outcome="pass", note=NOTE)
                    queue_s = time.perf_counter() - started
                    payload_bytes = sum(len(e.payload) for e in phone.store.pending(1000))
                    report = SyncReport()
                    started = time.perf_counter()
                    await phone._push(report)  # the push phase of sync(): every outbox batch until answered
                    push_s = time.perf_counter() - started
                    assert report.pushed == records and not report.rejected and not report.deferred, report
                    assert (await phone.sync()).complete  # its own results come back; not timed
                runs: dict[str, list[dict]] = {label: [] for label in trees}
                for round_ in range(pull_rounds):  # alternating which goes first: the first pull warms the server
                    for label in list(trees) if round_ % 2 == 0 else reversed(list(trees)):
                        path = phone_dir / f"{label.replace(' ', '_')}_{records}_{round_}.sqlite3"
                        runs[label].append(initial_pull(trees[label], base, person["username"], path))
                        assert runs[label][-1]["item_results"] == records, runs[label][-1]
                pulls = {label: {**min(done, key=lambda r: r["pull_s"]),
                                 "pull_s_runs": [round(r["pull_s"], 3) for r in done]} for label, done in runs.items()}
            finally:
                await servers.stop()
    finally:
        await sync_common.drop_database(name)
    return {"records": records, "queue_s": queue_s, "push_s": push_s, "payload_bytes": payload_bytes / min(records, 1000),
            "pulls": pulls}


#: A new phone's first sync, in a process of its own that imports ``sync_client`` from the tree it is given.
_PULL_CHILD = """
import asyncio, json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from sync_client import SyncClient

async def main():
    async with SyncClient(sys.argv[2], sys.argv[3]) as phone:
        await phone.login(sys.argv[4], sys.argv[5])
        Path("/proc/self/clear_refs").write_text("5")
        rss = {l.split(":")[0]: int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
               if l.startswith(("VmRSS", "VmHWM"))}
        started = time.perf_counter()
        report = await phone.sync()
        seconds = time.perf_counter() - started
        peak = {l.split(":")[0]: int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
                if l.startswith("VmHWM")}["VmHWM"]
        held = phone.store._db.execute("SELECT count(*) FROM record WHERE entity_type = 'item_result'").fetchone()[0]
        print(json.dumps({"pull_s": seconds, "complete": report.complete, "pulled": report.pulled,
                          "item_results": held, "rss_growth_mib": (peak - rss["VmRSS"]) / 1024}))

asyncio.run(main())
"""


def initial_pull(tree: Path, base: str, username: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _PULL_CHILD, str(tree), base, str(path), username, sync_common.PASSWORD],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["complete"], result
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", default="10000,100000", help="comma-separated record counts")
    parser.add_argument("--items", type=int, default=100, help="checklist items per check (records per check)")
    parser.add_argument("--scratch", type=Path, help="folder for the npm install (default: a new temp folder)")
    parser.add_argument("--pull-rounds", type=int, default=4, help="initial pulls per client, alternating; best kept")
    parser.add_argument("--baseline-tree", type=Path, default=Path("/work/main"),
                        help="a checkout whose sync_client also runs the initial pull, same run (skipped if absent)")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.baseline_tree.exists() and args.baseline_tree.resolve() != ROOT:
        trees["baseline"] = args.baseline_tree.resolve()
    counts = [int(n) for n in args.records.split(",")]
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="fieldcheck-peer-"))
    install_peer(scratch.resolve())
    rows = []
    with tempfile.TemporaryDirectory() as phone_dir:
        for records in counts:
            peer = run_peer(scratch.resolve(), records)
            print(f"PouchDB {peer['pouchdb_version']}, {records:,} docs of {peer['doc_bytes']:.0f} B JSON: "
                  f"push {peer['push_s']:.2f} s, initial pull {peer['pull_s']:.2f} s", flush=True)
            ours = await run_fieldcheck(records, args.items, Path(phone_dir), trees, args.pull_rounds)
            print(f"SyncClient, {records:,} item results ({ours['payload_bytes']:.0f} B MessagePack each): local writes "
                  f"{ours['queue_s']:.2f} s ({records / ours['queue_s']:,.0f}/s), push {ours['push_s']:.2f} s", flush=True)
            for label, pull in ours["pulls"].items():
                print(f"  initial sync, sync_client of {trees[label]}: best {pull['pull_s']:.2f} s of {pull['pull_s_runs']} "
                      f"({records / pull['pull_s']:,.0f} item results/s, {pull['pulled']:,} records, peak RSS growth "
                      f"{pull['rss_growth_mib']:.1f} MiB)", flush=True)
            rows.append((records, peer, ours))
    print("\n| records | PouchDB push | SyncClient push | ratio | PouchDB initial pull | sync() initial pull | ratio |")
    print("|---|---|---|---|---|---|---|")
    for records, peer, ours in rows:
        for label, pull in ours["pulls"].items():
            print(f"| {records:,} | {records / peer['push_s']:,.0f}/s | {records / ours['push_s']:,.0f}/s | "
                  f"{peer['push_s'] / ours['push_s']:.1f}x | {records / peer['pull_s']:,.0f}/s | "
                  f"{records / pull['pull_s']:,.0f}/s ({label}) | {peer['pull_s'] / pull['pull_s']:.1f}x |")
    print(f"baseline: {trees.get('baseline', 'none')}")
    print("goals: push >= 10x, initial pull >= 20x, initial sync >= 100,000 rows/s with bounded memory")
    out = ROOT / "bench" / "results" / "peer_pouchdb.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps([{"records": r, "pouchdb": p, "fieldcheck": o} for r, p, o in rows], indent=2))


if __name__ == "__main__":
    asyncio.run(main())
