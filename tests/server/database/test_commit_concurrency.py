"""Many writers in several processes on one PostgreSQL database: the audit chain and the change feed hold.

Three writer processes, each with eight concurrent transactions at a time,
record audit entries and publish feed entries in the same transactions (some
roll back), while this process pulls the feed in small pages the whole time
and signs audit checkpoints between pages. At the end the chain verifies
against the last checkpoint, holds exactly the committed entries with no gap,
and the reader, whose cursor only ever moved forward, received every
committed record exactly once and nothing of a rolled-back one.

The commit path (``server.database``) is what this exercises: commits that take
no lock, and settles that number and append under a lock living only inside
one message to the server. No writer's settle may fail (the lock, not a
unique violation, is what keeps two settles apart).
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import uuid

from schemas import sync as wire
from schemas.vocab import Role
from server import database
from server.accounts.policy import Actor
from server.audit import service as audit_service
from server.audit.tables import AuditEntry
from server.sync import scopes
from server.sync.pull import pull
from storage.filesystem import FilesystemStore

PROCESSES = 3
TASKS = 8
TRANSACTIONS = 30  # per task: 3 × 8 × 30 = 720 transactions
SECRET = "commit-concurrency-key-" + uuid.uuid4().hex

_WRITER = textwrap.dedent(
    """
    import asyncio, logging, random, sys, uuid
    from pathlib import Path
    import msgspec
    from schemas.vocab import Role
    from server import database
    from server.accounts.policy import Actor
    from server.audit import service as audit_service
    from server.sync import service as sync_service
    from tests.conftest import make_settings

    class Thing(msgspec.Struct):
        n: int

    class Abandon(Exception):
        pass

    async def main():
        url, data_dir, scope, process = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
        tasks, count = int(sys.argv[5]), int(sys.argv[6])
        failures = []
        handler = logging.Handler(logging.WARNING)
        handler.emit = failures.append
        logging.getLogger("fieldcheck.database").addHandler(handler)
        await database.start(make_settings(data_dir, database_url=url))
        actor = Actor(user_id=uuid.uuid4(), role=Role.SUPERVISOR)
        rng = random.Random(process)
        kept, dropped = [], []

        async def task(t):
            for i in range(count):
                ids = [uuid.uuid4() for _ in range(rng.randint(1, 4))]
                abandon = rng.random() < 0.1
                try:
                    async with database.transaction():
                        for n, entity_id in enumerate(ids):
                            await sync_service.publish("thing", entity_id, Thing(n=n), scope=scope)
                            audit_service.record(actor, "test.concurrent", "thing", entity_id, {"p": process, "t": t})
                        await asyncio.sleep(rng.random() * 0.003)
                        if abandon:
                            raise Abandon
                except Abandon:
                    dropped.extend(ids)
                else:
                    kept.extend(ids)

        await asyncio.gather(*(task(t) for t in range(tasks)))
        await database.stop()
        print(" ".join(["kept", *map(str, kept)]))
        print(" ".join(["dropped", *map(str, dropped)]))
        print("failures", len(failures))

    asyncio.run(main())
    """
)


async def test_writers_in_several_processes_keep_the_chain_and_the_feed(app, client, settings, tmp_path):
    reader = Actor(user_id=uuid.uuid4(), role=Role.INSPECTOR)
    scope = scopes.user(reader.user_id)
    store = FilesystemStore(tmp_path / "store")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WRITER, settings.database.url, str(tmp_path / f"w{p}"), scope, str(p),
            str(TASKS), str(TRANSACTIONS), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for p in range(PROCESSES)
    ]
    finished = asyncio.gather(*(proc.communicate() for proc in procs))

    seen: list[uuid.UUID] = []
    cursors: dict[str, int] = {}
    last_seq, checkpoints = 0, 0
    while True:
        done = finished.done()
        async with database.transaction():
            page = await pull(app.state.context, app.state.sync_registry, reader, wire.PullRequest(device_id=uuid.uuid4(), cursors=cursors, limit=7))
        for change in page.changes:
            assert isinstance(change, wire.Put)
            assert change.seq > last_seq, "a position came back below one already read"
            last_seq = change.seq
            seen.append(change.entity_id)
        cursors = page.cursors
        if checkpoints < 20 and len(seen) > checkpoints * 60:
            written = await audit_service.write_checkpoint(store, SECRET)
            assert written.ok, written.reason
            checkpoints += 1
        if done and not page.has_more:
            break
        if not page.changes:
            await asyncio.sleep(0.002)

    kept: set[uuid.UUID] = set()
    dropped: set[uuid.UUID] = set()
    for proc, (out, err) in zip(procs, await finished, strict=True):
        assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
        for line in out.decode().splitlines():
            label, *ids = line.split() or [""]
            if label == "failures":
                assert ids == ["0"], f"{ids[0]} settles failed in writer process (see the fieldcheck.database log)"
            if label in ("kept", "dropped"):
                (kept if label == "kept" else dropped).update(uuid.UUID(i) for i in ids)
    assert dropped, "no transaction rolled back: the test would not show rolled-back items stay out"
    assert checkpoints > 1, "no checkpoint was signed while the writers ran"

    assert len(seen) == len(set(seen)), "a record arrived twice"
    assert set(seen) == kept, f"missed {len(kept - set(seen))}, extra {len(set(seen) - kept)}"

    report = await audit_service.verify(store, SECRET)
    assert report.ok, report.reason
    assert report.checked == len(kept) == await AuditEntry.count()
    rows = await AuditEntry.select(AuditEntry.seq, AuditEntry.entity_id).order_by(AuditEntry.seq)
    assert [r["seq"] for r in rows] == list(range(1, len(kept) + 1))
    assert {uuid.UUID(r["entity_id"]) for r in rows} == kept
    assert (await audit_service.write_checkpoint(store, SECRET)).checkpoint.seq == len(kept)
    assert report.checkpoint is not None and report.checkpoint.seq > 0  # checked against a checkpoint taken mid-run
