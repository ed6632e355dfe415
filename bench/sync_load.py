"""Load: simulated phones syncing back to back against 1, 2 or 3 ``fieldcheck serve`` processes on one PostgreSQL.

    .venv/bin/python bench/sync_load.py [--phones 50,100,200] [--processes 1,2,3] [--seconds 20]
                                        [--baseline-tree /work/main]

For each (tree, processes, phones): a fresh throw-away database, one inspector per phone with
``--inspections`` planned checks of a ``--items``-item checklist, N ``fieldcheck serve`` processes
(``FIELDCHECK_JOBS=false``) started from that source tree on it, and each phone logged in. Then every
phone runs a closed loop for ``--seconds``: push the results of one of its checks (``--items``
``record_item_result`` mutations, MessagePack, one request), then pull until caught up; requests go to
the processes in turn. Reported per run: push and pull latency p50/p95/p99 (one pull = every page
until ``has_more`` is false), mutations applied per second, requests that failed (non-200, transport
errors, or a mutation not applied).

The baseline is the same load, same run, against ``--baseline-tree`` (a checkout of an earlier
commit, e.g. ``git worktree add /tmp/base 1ddba08``; by default the main checkout), when that folder
exists. Everything runs
on this machine: the phones' own Python process competes with the servers and PostgreSQL for the
same cores, so figures are for comparison within one run, not capacity claims.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import sync_common  # noqa: E402
from schemas import sync as wire  # noqa: E402
from schemas.inspections import RecordItemResult  # noqa: E402
from schemas.vocab import InspectionStatus, Role  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
MSGPACK = {"content-type": "application/msgpack", "accept": "application/msgpack"}


@dataclass
class Tally:
    push_s: list[float] = field(default_factory=list)
    pull_s: list[float] = field(default_factory=list)
    applied: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def fail(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _world(url: str, phones: int, inspections: int, items: int) -> list[dict]:
    """One department, enterprise and checklist; ``phones`` inspectors with ``inspections`` planned checks each."""
    from server.accounts.service import hash_password

    conn = await asyncpg.connect(url)
    now = dt.datetime.now(dt.UTC)
    department, enterprise, template = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute("INSERT INTO department (id, code, name, created_at) VALUES ($1, 'load', '执法支队', $2)",
                       department, now)
    await conn.execute(
        "INSERT INTO enterprise (id, credit_code, name, sector, district, address, risk_grade, standardization_level,"
        " major_hazard_source, operating_status, created_at, updated_at)"
        " VALUES ($1, '91640500MA7XXXXXX0', '压测企业有限公司', 'industry_trade', 'shapotou', '中卫市', 'B', 'level_3',"
        " false, 'operating', $2, $2)", enterprise, now)
    await conn.execute(
        "INSERT INTO checklist_template (id, code, version, sector, title, basis, is_current, created_at)"
        " VALUES ($1, 'load', 1, 'industry_trade', '压测检查表', '', true, $2)", template, now)
    item_ids = [uuid.uuid4() for _ in range(items)]
    await conn.executemany(
        "INSERT INTO checklist_item (id, template, position, code, category, text, legal_basis, is_major_criterion)"
        " VALUES ($1, $2, $3, $4, '', $5, '', false)",
        [(i, template, n, str(n), f"检查项{n}") for n, i in enumerate(item_ids)])
    password = await hash_password(sync_common.PASSWORD)
    people = []
    for p in range(phones):
        user = uuid.uuid4()
        people.append({"user": user, "username": f"load-{p}-{user.hex[:6]}", "items": item_ids,
                       "inspections": [uuid.uuid4() for _ in range(inspections)]})
    await conn.executemany(
        "INSERT INTO app_user (id, username, display_name, password_hash, role, department, districts, active,"
        " failed_logins, created_at, updated_at) VALUES ($1, $2, '压测用户', $3, $4, $5, '{}', true, 0, $6, $6)",
        [(p["user"], p["username"], password, str(Role.INSPECTOR), department, now) for p in people])
    await conn.executemany(
        "INSERT INTO inspection (id, kind, status, enterprise, template, department, summary, signed_by_name,"
        " created_at, updated_at, version) VALUES ($1, 'routine', $2, $3, $4, $5, '', '', $6, $6, 1)",
        [(i, str(InspectionStatus.IN_PROGRESS), enterprise, template, department, now)
         for p in people for i in p["inspections"]])
    await conn.executemany(
        "INSERT INTO inspection_inspector (id, inspection, \"user\", is_lead, assigned_at) VALUES ($1, $2, $3, true, $4)",
        [(uuid.uuid4(), i, p["user"], now) for p in people for i in p["inspections"]])
    await conn.execute("ANALYZE")
    await conn.close()
    return people


class Servers:
    """``count`` server processes from ``tree`` on one database; requests go to each in turn."""

    def __init__(self, tree: Path, count: int, url: str, data_dir: Path) -> None:
        settings = sync_common.settings_for(url, data_dir)
        self.env = {
            **os.environ, "PYTHONPATH": str(tree), "DATABASE_URL": url, "FIELDCHECK_DATA_DIR": str(data_dir),
            "FIELDCHECK_SECRET_KEY": settings.auth.secret_key, "FIELDCHECK_ID_HASH_KEY": settings.privacy.id_hash_key,
            "FIELDCHECK_AUDIT_KEY": settings.audit.checkpoint_key, "FIELDCHECK_JOBS": "false",
            "DATABASE_POOL_MAX": "20",
        }
        self.tree, self.ports = tree, [_free_port() for _ in range(count)]
        self.procs: list[asyncio.subprocess.Process] = []
        self.turn = 0

    async def start(self) -> None:
        for port in self.ports:  # one after the other: the first migrates
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                cwd=self.tree, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            self.procs.append(proc)
            async with httpx.AsyncClient() as probe:
                for _ in range(1200):
                    try:
                        if (await probe.get(f"http://127.0.0.1:{port}/health")).status_code < 500:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.05)
                else:
                    raise RuntimeError(f"server on port {port} did not start")

    def next_url(self) -> str:
        port, self.turn = self.ports[self.turn], (self.turn + 1) % len(self.ports)
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _pull(http: httpx.AsyncClient, servers: Servers, device: uuid.UUID, headers: dict, cursors: dict[str, int],
                tally: Tally, *, timed: bool) -> dict[str, int]:
    started = time.perf_counter()
    while True:
        body = msgspec.msgpack.encode(wire.PullRequest(device_id=device, cursors=cursors, limit=1000))
        try:
            response = await http.post(f"{servers.next_url()}/api/v1/sync/pull", content=body, headers=headers)
        except httpx.HTTPError as exc:
            tally.fail(type(exc).__name__)
            return cursors
        if response.status_code != 200:
            tally.fail(f"pull {response.status_code}")
            return cursors
        page = msgspec.msgpack.decode(response.content, type=wire.PullResponse)
        cursors = page.cursors
        if not page.has_more:
            break
    if timed:
        tally.pull_s.append(time.perf_counter() - started)
    return cursors


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run_one(tree: Path, processes: int, phones: int, args: argparse.Namespace) -> dict:
    name = f"fc_bench_load_{secrets.token_hex(3)}"
    url = await sync_common.fresh_database(name)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            servers = Servers(tree, processes, url, Path(data_dir))
            try:
                await servers.start()  # migrates the fresh database with this tree's own migrations
                people = await _world(url, phones, args.inspections, args.items)
                tally = Tally()
                limits = httpx.Limits(max_connections=phones + 10, max_keepalive_connections=phones + 10)
                async with httpx.AsyncClient(limits=limits, timeout=120) as http:
                    gate = asyncio.Semaphore(8)
                    # the clock starts once every phone has logged in and made its initial sync
                    ready = [asyncio.create_task(_login_and_wait(http, servers, p, gate)) for p in people]
                    sessions = await asyncio.gather(*ready)
                    started = time.monotonic()
                    until = started + args.seconds
                    await asyncio.gather(*(_loop(http, servers, s, until, tally) for s in sessions if s is not None))
                    elapsed = time.monotonic() - started
                tally.errors += sum(1 for s in sessions if s is None)
            finally:
                await servers.stop()
    finally:
        await sync_common.drop_database(name)
    return {
        "tree": str(tree), "processes": processes, "phones": phones, "seconds": round(elapsed, 1),
        "pushes": len(tally.push_s), "pulls": len(tally.pull_s),
        "push_ms": {q: round(_pct(tally.push_s, v), 1) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "pull_ms": {q: round(_pct(tally.pull_s, v), 1) for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "mutations_per_s": round(tally.applied / elapsed, 1), "errors": tally.errors, "error_kinds": tally.error_kinds,
    }


@dataclass
class Session:
    person: dict
    device: uuid.UUID
    headers: dict[str, str]
    cursors: dict[str, int]


async def _login_and_wait(http: httpx.AsyncClient, servers: Servers, person: dict,
                          gate: asyncio.Semaphore) -> Session | None:
    device = uuid.uuid4()
    async with gate:
        login = await http.post(f"{servers.next_url()}/api/v1/auth/login", json={
            "username": person["username"], "password": sync_common.PASSWORD, "device_id": str(device)})
        if login.status_code != 200:
            return None
        headers = {"authorization": f"Bearer {login.json()['access_token']}", **MSGPACK}
        cursors = await _pull(http, servers, device, headers, {}, Tally(), timed=False)
    return Session(person, device, headers, cursors)


async def _loop(http: httpx.AsyncClient, servers: Servers, session: Session, until: float, tally: Tally) -> None:
    """Push one check's results, then pull until caught up; again until the time is up."""
    seq, cursors = 1, session.cursors
    for inspection in session.person["inspections"]:
        if time.monotonic() >= until:
            return
        mutations = [
            msgspec.Raw(msgspec.msgpack.encode(RecordItemResult(
                seq=seq + n, id=uuid.uuid4(), inspection_id=inspection, item_id=item, outcome="pass", note="消防通道畅通")))
            for n, item in enumerate(session.person["items"])
        ]
        seq += len(mutations)
        body = msgspec.msgpack.encode(wire.PushRequest(device_id=session.device, mutations=mutations))
        started = time.perf_counter()
        try:
            response = await http.post(f"{servers.next_url()}/api/v1/sync/push", content=body, headers=session.headers)
        except httpx.HTTPError as exc:
            tally.fail(type(exc).__name__)
            continue
        tally.push_s.append(time.perf_counter() - started)
        if response.status_code != 200:
            tally.fail(f"push {response.status_code}")
            continue
        outcomes = msgspec.msgpack.decode(response.content, type=wire.PushResponse).outcomes
        applied = sum(isinstance(o, wire.Applied) for o in outcomes)
        tally.applied += applied
        if applied != len(outcomes):
            tally.fail("mutation not applied")
        cursors = await _pull(http, servers, session.device, session.headers, cursors, tally, timed=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phones", default="50,100,200")
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--inspections", type=int, default=40, help="checks per phone (one push each at most)")
    parser.add_argument("--items", type=int, default=20, help="items per check = mutations per push")
    parser.add_argument("--baseline-tree", default="/work/main")
    args = parser.parse_args()
    trees = [HERE]
    baseline = Path(args.baseline_tree)
    if baseline.is_dir() and baseline.resolve() != HERE:
        trees.append(baseline)
    results = []
    for phones in (int(p) for p in args.phones.split(",")):
        for processes in (int(p) for p in args.processes.split(",")):
            for tree in trees:
                row = await run_one(tree, processes, phones, args)
                results.append(row)
                label = "this tree" if tree == HERE else f"baseline {tree}"
                print(f"{phones:>4} phones, {processes} process(es), {label:>22}: push p50/p95/p99 "
                      f"{row['push_ms']['p50']:7.1f}/{row['push_ms']['p95']:7.1f}/{row['push_ms']['p99']:7.1f} ms, "
                      f"pull {row['pull_ms']['p50']:7.1f}/{row['pull_ms']['p95']:7.1f}/{row['pull_ms']['p99']:7.1f} ms, "
                      f"{row['mutations_per_s']:7.1f} mutations/s, {row['pushes']} pushes, errors {row['errors']}"
                      f" {row['error_kinds'] or ''}", flush=True)
    by = {(r["tree"], r["phones"], r["processes"]): r for r in results}
    for r in results:
        one = by.get((r["tree"], r["phones"], 1))
        base = by.get((str(baseline), r["phones"], r["processes"]))
        notes = []
        if one and r["processes"] > 1 and one["mutations_per_s"]:
            notes.append(f"throughput vs 1 process {r['mutations_per_s'] / one['mutations_per_s']:.2f}x")
        if base and r["tree"] == str(HERE) and base["mutations_per_s"]:
            notes.append(f"vs baseline {r['mutations_per_s'] / base['mutations_per_s']:.2f}x")
        if notes:
            print(f"{r['phones']:>4} phones, {r['processes']} process(es), {Path(r['tree']).name}: " + "; ".join(notes))
    out = Path(__file__).parent / "results" / "sync_load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
