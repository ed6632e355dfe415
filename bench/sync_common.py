"""Shared set-up of the sync benchmarks: a throw-away PostgreSQL database with the app's schema and a team."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.vocab import InspectionStatus, Role  # noqa: E402
from server import database  # noqa: E402
from server.settings import (  # noqa: E402
    AuditSettings,
    AuthSettings,
    DatabaseSettings,
    PrivacySettings,
    ServerSettings,
    Settings,
    SyncSettings,
)

PG = os.environ.get("FIELDCHECK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PASSWORD = "bench-password-1"


async def fresh_database(name: str) -> str:
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return f"{PG}/{name}"


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(f"{PG}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(
        server=ServerSettings(data_dir=data_dir, max_body_bytes=16 * 1024 * 1024),
        database=DatabaseSettings(url=url, pool_min=1, pool_max=10),
        auth=AuthSettings(secret_key="bench-token-signing-key-0123456789-" + "x" * 8),
        privacy=PrivacySettings(id_hash_key="bench-id-hash-key-0123456789-" + "y" * 8),
        audit=AuditSettings(checkpoint_key="bench-audit-key-0123456789-" + "z" * 16),
        sync=SyncSettings(pull_page_size=5000),  # pages as large as the pull benchmark asks for
    )


async def make_team(conn: asyncpg.Connection, *, inspections: int, items: int) -> dict:
    """One inspector with ``inspections`` planned inspections of one enterprise over one template of ``items`` items."""
    from server.accounts.service import hash_password

    now = dt.datetime.now(dt.UTC)
    department, inspector, supervisor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    enterprise, template = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO department (id, code, name, created_at) VALUES ($1, $2, $3, $4)",
        department, f"b{secrets.token_hex(3)}", f"执法支队{secrets.token_hex(2)}", now,
    )
    password = await hash_password(PASSWORD)
    for user, role in ((inspector, Role.INSPECTOR), (supervisor, Role.SUPERVISOR)):
        await conn.execute(
            "INSERT INTO app_user (id, username, display_name, password_hash, role, department, districts, active,"
            " failed_logins, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, '{}', true, 0, $7, $7)",
            user, f"{role}-{user.hex[:8]}", "压测用户", password, str(role), department, now,
        )
    await conn.execute(
        "INSERT INTO enterprise (id, credit_code, name, sector, district, address, risk_grade, standardization_level,"
        " major_hazard_source, operating_status, created_at, updated_at)"
        " VALUES ($1, '91640500MA7XXXXXX0', '压测企业有限公司', 'industry_trade', 'shapotou', '中卫市', 'B', 'level_3',"
        " false, 'operating', $2, $2)",
        enterprise, now,
    )
    await conn.execute(
        "INSERT INTO checklist_template (id, code, version, sector, title, basis, is_current, created_at)"
        " VALUES ($1, 'bench', 1, 'industry_trade', '压测检查表', '', true, $2)",
        template, now,
    )
    item_ids = [uuid.uuid4() for _ in range(items)]
    await conn.executemany(
        "INSERT INTO checklist_item (id, template, position, code, category, text, legal_basis, is_major_criterion)"
        " VALUES ($1, $2, $3, $4, '', $5, '', false)",
        [(i, template, n, str(n), f"检查项{n}") for n, i in enumerate(item_ids)],
    )
    inspection_ids = [uuid.uuid4() for _ in range(inspections)]
    await conn.executemany(
        "INSERT INTO inspection (id, kind, status, enterprise, template, department, summary, signed_by_name,"
        " created_at, updated_at, version) VALUES ($1, 'routine', $2, $3, $4, $5, '', '', $6, $6, 1)",
        [(i, str(InspectionStatus.IN_PROGRESS), enterprise, template, department, now) for i in inspection_ids],
    )
    await conn.executemany(
        "INSERT INTO inspection_inspector (id, inspection, \"user\", is_lead, assigned_at) VALUES ($1, $2, $3, true, $4)",
        [(uuid.uuid4(), i, inspector, now) for i in inspection_ids],
    )
    username = await conn.fetchval("SELECT username FROM app_user WHERE id = $1", inspector)
    return {"inspector": inspector, "username": username, "inspections": inspection_ids, "items": item_ids,
            "template": template, "enterprise": enterprise}


async def start(settings: Settings) -> None:
    await database.start(settings)
