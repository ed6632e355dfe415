"""Shared fixtures: a real PostgreSQL database, a real S3 server, the app, people and places.

- PostgreSQL: each pytest session creates its own database on the server
  named by ``FIELDCHECK_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432``)
  and drops it at the end, so parallel runs never share state. A missing
  server is an error, never a skip.
- S3: moto's server over HTTP on 127.0.0.1 (it checks no signatures or
  checksums; the system verifies what it stores itself).
- ``client`` empties every table before the test, so each test starts from
  nothing and builds what it needs with the factories below.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from schemas.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
from schemas.vocab import District, OperatingStatus, RiskGrade, Role, Sector, StandardizationLevel
from server import database
from server.accounts.service import hash_password
from server.accounts.tables import Department, User
from server.app import create_app
from server.context import Context, FixedClock
from server.documents.verify_limit import VerifyLimiter
from server.registry.tables import Enterprise
from server.settings import (
    AuditSettings,
    AuthSettings,
    DatabaseSettings,
    PrivacySettings,
    ServerSettings,
    Settings,
    StorageSettings,
)

PG_SERVER = os.environ.get("FIELDCHECK_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "pw-test-123"


@pytest.fixture(scope="session")
def tmp_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fieldcheck-data")


async def create_database(prefix: str = "fieldcheck_test") -> str:
    """Create a new, empty database on ``PG_SERVER`` and return its URL (drop it with :func:`drop_database`)."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL is required for the tests and is not reachable at {PG_SERVER}: {exc}. "
            "Start it (see .ci/run) or point FIELDCHECK_TEST_PG at one."
        ) from exc
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return f"{PG_SERVER}/{name}"


async def drop_database(url: str) -> None:
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for this session."""
    url = await create_database()
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``host:port`` of a moto S3 server on loopback (access and secret key: ``testing``)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """End a subprocess the test started: terminate, then kill if it has not exited within ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def make_settings(data_dir: Path, *, database_url: str = "", **groups: Any) -> Settings:
    """Test settings: fixed secrets, the given database, everything else default."""
    settings = Settings(
        server=ServerSettings(data_dir=data_dir),
        database=DatabaseSettings(url=database_url, pool_min=1, pool_max=10),
        auth=AuthSettings(secret_key="test-token-signing-key-0123456789-" + "x" * 16),
        privacy=PrivacySettings(id_hash_key="test-id-hash-key-0123456789-" + "y" * 16),
        audit=AuditSettings(checkpoint_key="test-audit-key-0123456789-" + "z" * 16),
        storage=StorageSettings(),
    )
    return dataclasses.replace(settings, **groups) if groups else settings


@pytest.fixture(scope="session")
def settings(pg_url: str, tmp_data_dir: Path) -> Settings:
    return make_settings(tmp_data_dir, database_url=pg_url)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app on the session's PostgreSQL database, started once (migrations applied)."""
    application = create_app(settings)
    # The lifespan's own steps, run on the session's loop where the asyncpg pool
    # must live (anyio's lifespan task group cannot span pytest-asyncio's
    # separate setup and teardown tasks).
    application.state.engine = await database.start(application.state.settings)
    yield application
    await database.stop()


@pytest.fixture(scope="session")
async def _session_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fieldcheck.test") as client:
        yield client


async def truncate_all() -> None:
    """Empty every table but Piccolo's migration record (TRUNCATE bypasses the audit row triggers)."""
    rows = await database.get_engine().run_ddl(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration'"
    )
    names = ", ".join(f'"{r["tablename"]}"' for r in rows)
    # A task the previous test left running (a page's last request, a webhook kick) may still hold a table:
    # PostgreSQL then picks one side of the deadlock, and it is this one; it goes again once that task is done.
    for attempt in range(5):
        try:
            await database.get_engine().run_ddl(f"TRUNCATE {names} CASCADE")
            return
        except asyncpg.exceptions.DeadlockDetectedError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))


def app_of(client: httpx.AsyncClient) -> Litestar:
    """The app an in-process test client talks to (its settings, context, sync registry)."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport), "not an in-process client"
    return transport.app  # type: ignore[return-value]


def context_at(client: httpx.AsyncClient, moment: dt.datetime | None = None) -> Context:
    """The context of ``client``'s app: its settings, and a clock stopped at ``moment`` (the wall clock if None)."""
    settings = app_of(client).state.settings
    return Context(settings) if moment is None else Context(settings, FixedClock(moment))


@pytest.fixture
async def client(app: Litestar, _session_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """An HTTP client on the PostgreSQL app, with every table emptied first and the public verify limit's
    counts forgotten (the app lives for the session, and every test calls from the same address)."""
    database.activate(app.state.engine)
    await truncate_all()
    app.state.verify_limiter = VerifyLimiter(app.state.settings.documents.verify_per_minute)
    return _session_client


# ---------------------------------------------------------------- factories


async def make_department(code: str | None = None, name: str | None = None) -> uuid.UUID:
    code = code or f"dep-{secrets.token_hex(3)}"
    row = Department(id=uuid.uuid4(), code=code, name=name or f"科室{code}", created_at=dt.datetime.now(dt.UTC))
    await Department.insert(row)
    return row.id


_password_hash: str | None = None


async def make_user(
    role: Role = Role.INSPECTOR,
    *,
    username: str | None = None,
    department_id: uuid.UUID | None = None,
    badge_number: str | None = None,
    districts: list[District] | None = None,
) -> uuid.UUID:
    """A user whose password is ``PASSWORD``; inspectors get a 执法证 number unless given one."""
    global _password_hash
    if _password_hash is None:
        _password_hash = await hash_password(PASSWORD)
    now = dt.datetime.now(dt.UTC)
    if badge_number is None and role == Role.INSPECTOR:
        badge_number = f"64050{secrets.randbelow(10**6):06d}"
    row = User(
        id=uuid.uuid4(),
        username=username or f"{role}-{secrets.token_hex(3)}",
        display_name=f"测试{role}",
        password_hash=_password_hash,
        role=role,
        department=department_id,
        badge_number=badge_number,
        districts=[str(d) for d in (districts or [])],
        created_at=now,
        updated_at=now,
    )
    await User.insert(row)
    return row.id


def random_credit_code() -> str:
    body = "91" + "640500" + "".join(secrets.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


async def make_enterprise(**overrides: Any) -> uuid.UUID:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "credit_code": random_credit_code(),
        "name": f"测试企业{secrets.token_hex(2)}有限公司",
        "sector": Sector.INDUSTRY_TRADE,
        "district": District.SHAPOTOU,
        "address": "中卫市沙坡头区测试路1号",
        "risk_grade": RiskGrade.B,
        "standardization_level": StandardizationLevel.LEVEL_3,
        "major_hazard_source": False,
        "operating_status": OperatingStatus.OPERATING,
        "created_at": now,
        "updated_at": now,
    }
    values.update(overrides)
    row = Enterprise(**values)
    await Enterprise.insert(row)
    return row.id


async def login(client: httpx.AsyncClient, username: str, *, device_id: uuid.UUID | None = None) -> dict[str, str]:
    """Log in as ``username`` (password ``PASSWORD``) and return the Authorization header."""
    body: dict[str, Any] = {"username": username, "password": PASSWORD}
    if device_id is not None:
        body["device_id"] = str(device_id)
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def username_of(user_id: uuid.UUID) -> str:
    row = await User.select(User.username).where(User.id == user_id).first()
    return row["username"]
