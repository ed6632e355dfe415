"""Evidence upload benchmark: photos through the upload API vs direct ``put_object``, and server memory.

    .venv/bin/python bench/evidence_upload.py [--photos 20] [--rounds 3] [--big-mb 50]

Starts, as child processes on loopback: moto's S3 server (``--store checking``: one that refuses a
wrong checksum as S3 and MinIO do, ``bench/checking_s3.py``), and the API
(``fieldcheck serve``, uvicorn) on a throw-away PostgreSQL database with its
evidence in an object-lock bucket on that moto server. Then, in one run:

1. Throughput of 2 MB JPEGs (distinct photos, so nothing is deduplicated):
   - baseline: ``put_object`` of the same bytes straight to the same moto server
     (minio SDK, one request per photo);
   - API: ``PUT /api/v1/evidence/blobs/{sha256}`` (a file of one chunk in one
     request; larger files go through a session chunk by chunk); the server checks the bytes, inspects the image header and EXIF,
     stores it under object lock with its SHA-256 as the write's checksum, reads it back to verify hash
     and size unless the store has shown it checks that checksum (``server.evidence.store_trust``),
     and marks the evidence stored.
   - context: ``put_object`` followed by ``get_object`` and a SHA-256 of what
     came back, i.e. the least any store-then-verify path must do.
   - the same API path served by ``--baseline-tree`` (default the main checkout: its code, this
     database and store), as the before figure, with other photos of the same sizes.
   Rounds alternate the modes; each is run one photo at a time and with 4 at
   once. Prints medians, MB/s and the ratios API / direct (goal >= 0.7) and API / put + read-back
   (goal >= 0.9).
2. Peak memory of the API process during a ``--big-mb`` upload (and one of
   half that size) in 5 MiB chunks: its peak RSS is reset (``/proc/<pid>/clear_refs``) before the upload
   and read after (``VmHWM``); printed against the chunk and the file size.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import io
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import msgspec
from minio import Minio
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas import sync as sync_wire  # noqa: E402
from schemas.evidence import CHUNK_HASH_HEADER, AttachEvidence  # noqa: E402

PG = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "bench-pass-123"
CHUNK = 5 * 1024 * 1024
#: moto checks no signatures; production refuses a weak S3_SECRET_KEY, so the server gets a strong one.
BENCH_S3_SECRET = secrets.token_urlsafe(48)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def noise_jpeg(target_bytes: int, seed: int) -> bytes:
    """A real JPEG of about ``target_bytes``: noise compresses badly, so the size follows the pixel count."""
    side = int((target_bytes / 0.93) ** 0.5)
    image = Image.effect_noise((side, side), 50 + seed % 20).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


async def seed_people(db_url: str) -> tuple[str, str, uuid.UUID]:
    """A department, a supervisor, an inspector and an enterprise; their usernames and the enterprise id."""
    from schemas.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
    from schemas.vocab import District, OperatingStatus, RiskGrade, Sector, StandardizationLevel
    from server.accounts.service import hash_password

    body = "91640500" + "".join(secrets.choice(CREDIT_CODE_ALPHABET) for _ in range(9))

    conn = await asyncpg.connect(db_url)
    now = dt.datetime.now(dt.UTC)
    department, enterprise = uuid.uuid4(), uuid.uuid4()
    password_hash = await hash_password(PASSWORD)
    await conn.execute(
        "INSERT INTO department (id, code, name, created_at) VALUES ($1, $2, $3, $4)", department, "bench", "基准测试科", now
    )
    names = []
    for role in ("supervisor", "inspector"):
        name = f"bench-{role}-{secrets.token_hex(2)}"
        names.append(name)
        await conn.execute(
            "INSERT INTO app_user (id, username, display_name, password_hash, role, department, badge_number, districts,"
            " active, failed_logins, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,true,0,$9,$9)",
            uuid.uuid4(), name, name, password_hash, role, department,
            "64050000001" if role == "inspector" else None, [], now,
        )
    await conn.execute(
        "INSERT INTO enterprise (id, credit_code, name, sector, district, address, risk_grade, standardization_level,"
        " major_hazard_source, operating_status, created_at, updated_at)"
        " VALUES ($1,$2,$3,$4,$5,'中卫市沙坡头区',$6,$7,false,$8,$9,$9)",
        enterprise, body + credit_code_check_char(body), "基准测试有限公司", str(Sector.INDUSTRY_TRADE),
        str(District.SHAPOTOU), str(RiskGrade.B), str(StandardizationLevel.LEVEL_3), str(OperatingStatus.OPERATING), now,
    )
    await conn.close()
    return names[0], names[1], enterprise


async def login(api: httpx.AsyncClient, username: str, device: uuid.UUID | None = None) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD}
    if device:
        body["device_id"] = str(device)
    response = await api.post("/api/v1/auth/login", json=body)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Phone:
    def __init__(self, api: httpx.AsyncClient, headers: dict[str, str], device: uuid.UUID, inspection: uuid.UUID):
        self.api, self.headers, self.device, self.inspection, self.seq = api, headers, device, inspection, 0

    async def attach(self, photos: list[bytes]) -> None:
        mutations = []
        for data in photos:
            self.seq += 1
            mutations.append(msgspec.Raw(msgspec.json.encode(AttachEvidence(
                seq=self.seq, id=uuid.uuid4(), inspection_id=self.inspection, sha256=hashlib.sha256(data).hexdigest(),
                size=len(data), captured_at=dt.datetime.now(dt.UTC),
            ))))
        body = msgspec.json.encode(sync_wire.PushRequest(device_id=self.device, mutations=mutations))
        response = await self.api.post("/api/v1/sync/push", content=body,
                                       headers={**self.headers, "content-type": "application/json"})
        response.raise_for_status()
        outcomes = msgspec.json.decode(response.content, type=sync_wire.PushResponse).outcomes
        assert all(isinstance(o, sync_wire.Applied) for o in outcomes), outcomes

    async def upload(self, data: bytes) -> None:
        if len(data) <= CHUNK:  # one request: the server opens the session and stores the only chunk
            digest = hashlib.sha256(data).hexdigest()
            response = await self.api.put(f"/api/v1/evidence/blobs/{digest}", content=data,
                                          headers={**self.headers, "content-type": "application/octet-stream"})
            response.raise_for_status()
            assert response.json()["status"] == "complete", response.text
            return
        session = await self.api.post("/api/v1/evidence/uploads", headers=self.headers,
                                      json={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
        session.raise_for_status()
        state = session.json()
        for number in range(1, state["part_count"] + 1):
            piece = data[(number - 1) * state["chunk_bytes"] : number * state["chunk_bytes"]]
            response = await self.api.put(
                f"/api/v1/evidence/uploads/{state['id']}/parts/{number}", content=piece,
                headers={**self.headers, CHUNK_HASH_HEADER: hashlib.sha256(piece).hexdigest(),
                         "content-type": "application/octet-stream"},
            )
            response.raise_for_status()
        assert response.json()["status"] == "complete", response.text


async def timed(run, items: list[bytes], concurrency: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Per-item seconds; ``concurrency`` items in flight at once."""
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []

    async def one(data: bytes) -> None:
        async with gate:
            start = time.perf_counter()
            await run(data)
            times.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(one(d) for d in items))
    times.append(time.perf_counter() - started)  # last entry: wall time of the whole batch
    return times


async def more_photos(phone: Phone, like: list[bytes]) -> list[bytes]:
    """As many other photos of the same sizes, their records synced (distinct bytes: nothing is deduplicated)."""
    photos = [noise_jpeg(len(p), seed=secrets.randbelow(10**9)) for p in like]
    await phone.attach(photos)
    return photos


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20, help="photos per round and mode")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=50)
    parser.add_argument("--store", choices=("moto", "checking"), default="moto",
                        help="moto as it is (checks no checksum: the API reads every photo back), or moto refusing a"
                             " wrong x-amz-checksum-sha256 as S3 and MinIO do (bench/checking_s3.py)")
    parser.add_argument("--baseline-tree", type=Path, default=Path("/work/main"),
                        help="a checkout whose API also uploads the same way, same run (skipped if absent)")
    args = parser.parse_args()

    db_name = f"fieldcheck_bench_{os.getpid()}"
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    await admin.close()
    db_url = f"{PG}/{db_name}"
    s3_port, api_port = free_port(), free_port()
    children: list[subprocess.Popen] = []
    data_dir = tempfile.mkdtemp(prefix="fieldcheck-bench-")
    try:
        venv_bin = Path(sys.executable).parent
        s3_server = [str(venv_bin / "moto_server")] if args.store == "moto" else [
            sys.executable, str(ROOT / "bench" / "checking_s3.py")]
        children.append(subprocess.Popen(
            [*s3_server, "-H", "127.0.0.1", "-p", str(s3_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        wait_for(f"http://127.0.0.1:{s3_port}/moto-api/")
        env = {
            **os.environ,
            "DATABASE_URL": db_url, "FIELDCHECK_DATA_DIR": data_dir,
            "FIELDCHECK_SECRET_KEY": secrets.token_urlsafe(48), "FIELDCHECK_ID_HASH_KEY": secrets.token_urlsafe(48),
            "FIELDCHECK_AUDIT_KEY": secrets.token_urlsafe(48),
            "S3_ENDPOINT": f"127.0.0.1:{s3_port}", "S3_ACCESS_KEY": "bench", "S3_SECRET_KEY": BENCH_S3_SECRET,
            "S3_BUCKET": "bench-evidence", "S3_OBJECT_LOCK": "true", "S3_RETENTION_DAYS": "1",
            "EVIDENCE_MAX_BYTES": str((args.big_mb + 10) * 1024 * 1024), "EVIDENCE_MAX_PIXELS": "80000000",
            "EVIDENCE_CHUNK_BYTES": str(CHUNK),
        }
        api_log = Path(data_dir) / "api.log"
        with open(api_log, "wb") as log:
            api_proc = subprocess.Popen(
                [str(venv_bin / "fieldcheck"), "serve", "--port", str(api_port)],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )
        children.append(api_proc)
        try:
            wait_for(f"http://127.0.0.1:{api_port}/health", timeout=60)
        except RuntimeError:
            print(api_log.read_text()[-3000:], file=sys.stderr)
            raise
        baseline_port = None
        if args.baseline_tree.exists() and args.baseline_tree.resolve() != ROOT:  # same database, started second
            baseline_port = free_port()
            with open(Path(data_dir) / "baseline.log", "wb") as log:
                children.append(subprocess.Popen(
                    [sys.executable, "-m", "server.cli", "serve", "--port", str(baseline_port)],
                    env={**env, "PYTHONPATH": str(args.baseline_tree.resolve())}, cwd=args.baseline_tree,
                    stdout=log, stderr=subprocess.STDOUT,
                ))
            wait_for(f"http://127.0.0.1:{baseline_port}/health", timeout=60)

        supervisor, inspector, enterprise = await seed_people(db_url)
        device = uuid.uuid4()
        s3 = Minio(f"127.0.0.1:{s3_port}", access_key="bench", secret_key=BENCH_S3_SECRET, secure=False)
        if not s3.bucket_exists("bench-direct"):
            s3.make_bucket("bench-direct")
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=120, limits=limits) as api:
            boss = await login(api, supervisor)
            inspector_id = (await api.get("/api/v1/auth/me", headers=await login(api, inspector))).json()["id"]
            created = await api.post("/api/v1/inspections/", headers=boss,
                                     json={"enterprise_id": str(enterprise), "inspector_ids": [inspector_id]})
            created.raise_for_status()
            phone = Phone(api, await login(api, inspector, device), device, uuid.UUID(created.json()["id"]))
            modes = ["direct", "put+get", "api"]
            if baseline_port is not None:  # the same uploads, same session, through the baseline tree's server
                modes.append("api@base")
                other = httpx.AsyncClient(base_url=f"http://127.0.0.1:{baseline_port}", timeout=120, limits=limits)
                base_upload = Phone(other, phone.headers, device, phone.inspection).upload

            def direct_put(data: bytes) -> None:
                s3.put_object("bench-direct", f"direct/{uuid.uuid4().hex}", io.BytesIO(data), len(data),
                              content_type="image/jpeg")

            async def direct(data: bytes) -> None:
                await asyncio.to_thread(direct_put, data)

            def verified_put(data: bytes) -> None:
                key = f"verified/{uuid.uuid4().hex}"
                s3.put_object("bench-direct", key, io.BytesIO(data), len(data), content_type="image/jpeg")
                response = s3.get_object("bench-direct", key)
                try:
                    assert hashlib.sha256(response.read()).hexdigest() == hashlib.sha256(data).hexdigest()
                finally:
                    response.close()
                    response.release_conn()

            async def verified(data: bytes) -> None:
                await asyncio.to_thread(verified_put, data)

            print(f"store: {args.store}; photos: {args.photos} per round and mode, {args.rounds} rounds; moto_server and the API are child "
                  f"processes on loopback; {os.cpu_count()} CPUs", flush=True)
            results: dict[tuple[str, int], list[list[float]]] = {}
            size_total = 0
            for round_no in range(args.rounds):
                for concurrency in (1, 4):
                    photos = [noise_jpeg(2 * 1024 * 1024, seed=round_no * 1000 + concurrency * 100 + i)
                              for i in range(args.photos)]
                    size_total = sum(len(p) for p in photos)
                    await phone.attach(photos)  # the records sync first, as on a phone; not timed
                    results.setdefault(("direct", concurrency), []).append(await timed(direct, photos, concurrency))
                    results.setdefault(("put+get", concurrency), []).append(await timed(verified, photos, concurrency))
                    if "api@base" in modes and round_no % 2:
                        results.setdefault(("api@base", concurrency), []).append(
                            await timed(base_upload, await more_photos(phone, photos), concurrency))
                    results.setdefault(("api", concurrency), []).append(await timed(phone.upload, photos, concurrency))
                    if "api@base" in modes and not round_no % 2:
                        results.setdefault(("api@base", concurrency), []).append(
                            await timed(base_upload, await more_photos(phone, photos), concurrency))
            if "api@base" in modes:
                await other.aclose()
            mb = size_total / 1e6
            print(f"2 MB photos ({size_total / args.photos / 1e6:.2f} MB average):")
            for concurrency in (1, 4):
                row = {}
                for mode in modes:
                    runs = results[(mode, concurrency)]
                    per_photo = statistics.median(t for run in runs for t in run[:-1]) * 1000
                    throughput = statistics.median(mb / run[-1] for run in runs)
                    row[mode] = throughput
                    print(f"  {mode:7} x{concurrency}: median {per_photo:6.1f} ms/photo, {throughput:6.1f} MB/s "
                          f"(median of {len(runs)} rounds)")
                print(f"  ratio API / direct put_object, {concurrency} in flight: {row['api'] / row['direct']:.2f}x "
                      f"(goal >= 0.70); API / (put + read-back hash, the floor of a verified store): "
                      f"{row['api'] / row['put+get']:.2f}x (goal >= 0.9)")
                if "api@base" in row:
                    print(f"  baseline tree {args.baseline_tree}, same run: API / direct {row['api@base'] / row['direct']:.2f}x, "
                          f"API / (put + read-back hash) {row['api@base'] / row['put+get']:.2f}x")

            for size_mb in (args.big_mb // 2, args.big_mb):  # growth must not follow the file size
                big = noise_jpeg(size_mb * 1024 * 1024, seed=size_mb)
                await phone.attach([big])
                pid = api_proc.pid
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak RSS of the API process
                before = rss_kb(pid, "VmRSS")
                start = time.perf_counter()
                await phone.upload(big)
                seconds = time.perf_counter() - start
                peak = rss_kb(pid, "VmHWM")
                delta_mb = (peak - before) / 1024
                print(f"{len(big) / 1e6:.1f} MB upload in {CHUNK // (1024 * 1024)} MiB chunks: {seconds:.2f} s; API "
                      f"process RSS {before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB")
                print(f"  peak RSS growth {delta_mb:.1f} MiB = {delta_mb / (CHUNK / 2**20):.1f}x the chunk size, "
                      f"{delta_mb / (len(big) / 2**20):.2f}x the file size (goal <= 4x chunk)")
    finally:
        for child in reversed(children):
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        admin = await asyncpg.connect(f"{PG}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
