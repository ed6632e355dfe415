"""Write transactions per second through the unit of work, in 1, 2 and 3 processes on one PostgreSQL.

    .venv/bin/python bench/commit_throughput.py [--processes 1,2,3] [--tasks 16] [--seconds 10]
                                                [--baseline-tree /work/main]

Each writer process opens ``--tasks`` concurrent transactions at a time, each recording one audit entry
and publishing three change-feed entries (what a small sync push or an API write commits), for
``--seconds``. Nothing else runs in those processes, so this isolates the commit path of this tree
(commits take no lock; a settle per process numbers what many commits left pending, under the chain
lock) against the baseline tree's (``--baseline-tree``, a checkout of an earlier commit, when it exists:
before 646eccd every commit took the chain lock in its own round trip, or before that across four
awaits). Pass a worktree of the commit to compare with. Each (tree, processes) gets a fresh
database migrated by that tree. Prints transactions/s, commit latency p50/p99, how long the chain lock
is held per transaction (the share of back-to-back samples of ``pg_locks``, from another connection,
that found it held, times the run's length, over the transactions committed), the audit chain verified
at the end, and the ratios to one process and to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import sync_common  # noqa: E402

HERE = Path(__file__).resolve().parent.parent

_WRITER = textwrap.dedent(
    """
    import asyncio, json, sys, time, uuid
    from pathlib import Path
    import msgspec
    from schemas.vocab import Role
    from server import database
    from server.accounts.policy import Actor
    from server.audit import service as audit_service
    from server.sync import scopes
    from server.sync import service as sync_service
    sys.path.insert(0, sys.argv[5])
    from bench import sync_common

    class Thing(msgspec.Struct):
        n: int

    async def main():
        url, data_dir, tasks, seconds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        settings = sync_common.settings_for(url, data_dir)
        await database.start(settings)
        actor = Actor(user_id=uuid.uuid4(), role=Role.SUPERVISOR)
        scope = scopes.user(uuid.uuid4())
        latencies = []
        start_at = float(sys.argv[6])
        while time.time() < start_at:
            await asyncio.sleep(0.01)
        until = time.monotonic() + seconds

        async def task():
            while time.monotonic() < until:
                began = time.perf_counter()
                async with database.transaction():
                    for n in range(3):
                        await sync_service.publish("thing", uuid.uuid4(), Thing(n=n), scope=scope)
                    audit_service.record(actor, "bench.commit", "thing", uuid.uuid4(), {"n": 3})
                latencies.append(time.perf_counter() - began)

        await asyncio.gather(*(task() for _ in range(tasks)))
        await database.stop()
        print("RESULT " + json.dumps(latencies))

    asyncio.run(main())
    """
)

_VERIFY = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from server import database
    from server.audit import service as audit_service
    sys.path.insert(0, sys.argv[3])
    from bench import sync_common

    async def main():
        await database.start(sync_common.settings_for(sys.argv[1], Path(sys.argv[2])))
        report = await audit_service.verify()
        await database.stop()
        print("VERIFY", report.ok, report.checked)

    asyncio.run(main())
    """
)


async def _python(tree: Path, script: str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, *args, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(err.decode(errors="replace")[-2000:])
    return out.decode()


#: The chain lock's key (``server.database.CHAIN_LOCK_KEY``, the same in both trees): pg_locks shows a
#: one-bigint advisory key as classid (high 32 bits) and objid (low 32 bits).
_CHAIN_LOCK_KEY = 0x46434B43


async def _lock_duty(url: str, start_at: float, seconds: float) -> float:
    """The share of samples, taken back to back from another connection, in which the chain lock was held."""
    import time

    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        while time.time() < start_at:
            await asyncio.sleep(0.01)
        until, samples, held = time.monotonic() + seconds, 0, 0
        while time.monotonic() < until:
            held += await conn.fetchval(
                "SELECT exists (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1"
                " AND granted)", _CHAIN_LOCK_KEY)
            samples += 1
        return held / max(samples, 1)
    finally:
        await conn.close()


async def run_one(tree: Path, processes: int, args: argparse.Namespace) -> dict:
    import time

    name = f"fc_bench_commit_{secrets.token_hex(3)}"
    url = await sync_common.fresh_database(name)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            await _python(tree, _VERIFY, url, data_dir, str(HERE))  # migrate with this tree's migrations
            start_at = time.time() + 6 + 2 * processes  # every writer starts its clock at the same instant
            writers = asyncio.gather(*(
                _python(tree, _WRITER, url, data_dir, str(args.tasks), str(args.seconds), str(HERE), str(start_at))
                for _ in range(processes)))
            held = await _lock_duty(url, start_at, args.seconds)
            outputs = await writers
            verified = (await _python(tree, _VERIFY, url, data_dir, str(HERE))).split("VERIFY", 1)[1].split()
    finally:
        await sync_common.drop_database(name)
    latencies = sorted(x for out in outputs for line in out.splitlines() if line.startswith("RESULT ")
                       for x in json.loads(line[7:]))
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)  # noqa: E731
    return {"tree": str(tree), "processes": processes, "transactions": len(latencies),
            "tx_per_s": round(len(latencies) / args.seconds, 1), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "chain_ok": verified[0] == "True", "chain_entries": int(verified[1]),
            "lock_held_share": round(held, 3),
            "lock_held_ms_per_tx": round(held * args.seconds * 1000 / max(len(latencies), 1), 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--baseline-tree", default="/work/main")
    args = parser.parse_args()
    baseline = Path(args.baseline_tree)
    trees = [HERE] + ([baseline] if (baseline / "server" / "database").is_dir() and baseline.resolve() != HERE else [])
    results = []
    for processes in (int(p) for p in args.processes.split(",")):
        for tree in trees:
            row = await run_one(tree, processes, args)
            results.append(row)
            label = "this tree" if tree == HERE else f"baseline {tree}"
            print(f"{processes} process(es) x {args.tasks} tasks, {label:>20}: {row['tx_per_s']:7.1f} tx/s, commit p50 "
                  f"{row['p50_ms']:6.1f} ms, p99 {row['p99_ms']:7.1f} ms; chain lock held {row['lock_held_share']:.0%} of "
                  f"the time = {row['lock_held_ms_per_tx']:.2f} ms a transaction; chain ok={row['chain_ok']} "
                  f"({row['chain_entries']} entries, {row['transactions']} transactions)", flush=True)
    by = {(r["tree"], r["processes"]): r for r in results}
    for r in results:
        notes = []
        one = by.get((r["tree"], 1))
        if one and r["processes"] > 1:
            notes.append(f"vs 1 process {r['tx_per_s'] / one['tx_per_s']:.2f}x")
        base = by.get((str(baseline), r["processes"]))
        if base and r["tree"] == str(HERE):
            notes.append(f"vs baseline {r['tx_per_s'] / base['tx_per_s']:.2f}x")
        if notes:
            print(f"{r['processes']} process(es), {Path(r['tree']).name}: " + "; ".join(notes))
    out = Path(__file__).parent / "results" / "commit_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
