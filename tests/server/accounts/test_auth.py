"""Login, tokens, throttling and role guards over HTTP on PostgreSQL."""

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
from argon2 import PasswordHasher

from schemas.accounts import LoginRequest, RefreshRequest, TokenPair
from schemas.vocab import Role
from server import database
from server.accounts import service as accounts_service
from server.accounts.auth import issue_access_token
from server.accounts.policy import Actor, password_problem
from server.accounts.service import LoginRefused
from server.accounts.tables import Department, LoginThrottle, User
from server.app import create_app
from server.audit.tables import AuditEntry
from server.errors import NotAuthenticated
from server.settings import AuthSettings
from tests.conftest import PASSWORD, login, make_department, make_user, username_of
from tests.server.sync.conftest import sqlite_app  # noqa: F401 (the embedded app fixture)


async def test_login_returns_tokens_and_me(client):
    user_id = await make_user(Role.INSPECTOR, username="inspector-a")
    response = await client.post("/api/v1/auth/login", json={"username": "inspector-a", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] and body["refresh_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == str(user_id)


async def test_wrong_password_is_401_with_stable_code(client):
    await make_user(Role.INSPECTOR, username="inspector-b")
    response = await client.post("/api/v1/auth/login", json={"username": "inspector-b", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "bad_credentials"
    unknown = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "nope"})
    assert unknown.status_code == 401 and unknown.json()["code"] == "bad_credentials"


async def test_repeated_failures_throttle_the_account(client, settings):
    await make_user(Role.INSPECTOR, username="inspector-c")
    for _ in range(settings.auth.max_failed_logins):
        response = await client.post("/api/v1/auth/login", json={"username": "inspector-c", "password": "wrong"})
        assert response.status_code == 401
    # Even the right password is refused while the account is throttled.
    response = await client.post("/api/v1/auth/login", json={"username": "inspector-c", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) > 0


async def test_expired_and_tampered_tokens_are_401(client, settings):
    user_id = await make_user(Role.ADMIN)
    actor = Actor(user_id=user_id, role=Role.ADMIN)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    expired = issue_access_token(actor, secret=settings.auth.secret_key, ttl_s=60, now=old)
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["code"] == "token_expired"

    forged = jwt.encode({"sub": str(user_id), "typ": "access", "role": "admin", "iat": 0, "exp": 2**31}, "another-signing-key-that-is-long-enough-0123456789")
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"

    unsigned = jwt.encode({"sub": str(user_id), "typ": "access", "role": "admin", "iat": 0, "exp": 2**31}, None, algorithm="none")
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {unsigned}"})
    assert response.status_code == 401


async def test_refresh_rotates_and_logout_revokes(client):
    await make_user(Role.INSPECTOR, username="inspector-d")
    pair = (await client.post("/api/v1/auth/login", json={"username": "inspector-d", "password": PASSWORD})).json()
    rotated = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code == 401
    new = rotated.json()
    headers = {"Authorization": f"Bearer {new['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": new["refresh_token"]}, headers=headers)).status_code == 204
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})).status_code == 401


async def test_inspector_and_leader_cannot_call_admin_endpoints(client):
    for role in (Role.INSPECTOR, Role.LEADER, Role.SUPERVISOR):
        headers = await login(client, await username_of(await make_user(role)))
        response = await client.post("/api/v1/departments/", json={"code": "x1", "name": "某科"}, headers=headers)
        assert response.status_code == 403, role
        assert response.json()["code"] == "forbidden"
    assert await Department.count() == 0


async def test_malformed_and_oversized_bodies_name_the_field_and_write_nothing(client, settings):
    headers = await login(client, await username_of(await make_user(Role.ADMIN)))
    before = await User.count()
    bad_role = await client.post(
        "/api/v1/users/",
        json={"username": "u1", "display_name": "甲", "password": "longenough", "role": "king"},
        headers=headers,
    )
    assert bad_role.status_code == 400 and bad_role.json()["field"] == "role"
    privileged = await client.post(
        "/api/v1/users/",
        json={"username": "u1", "display_name": "甲", "password": "longenough", "role": "inspector", "id": str(uuid.uuid4())},
        headers=headers,
    )
    assert privileged.status_code == 400 and privileged.json()["field"] == "id"
    huge = await client.post(
        "/api/v1/users/",
        content=b'{"username": "' + b"a" * (settings.server.max_body_bytes + 10) + b'"}',
        headers={**headers, "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert await User.count() == before


async def test_login_is_audited(client):
    await make_user(Role.INSPECTOR, username="inspector-e")
    await client.post("/api/v1/auth/login", json={"username": "inspector-e", "password": "bad"})
    await client.post("/api/v1/auth/login", json={"username": "inspector-e", "password": PASSWORD})
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.seq)]
    assert actions == ["auth.login_failed", "auth.login"]


async def test_concurrent_wrong_passwords_check_at_most_the_limit(client, settings):
    await make_user(Role.INSPECTOR, username="inspector-f")
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/login", json={"username": "inspector-f", "password": "wrong"}) for _ in range(20))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(401) <= settings.auth.max_failed_logins
    assert set(codes) <= {401, 429} and codes.count(429) >= 20 - settings.auth.max_failed_logins
    checked = await AuditEntry.count().where(AuditEntry.action == "auth.login_failed")
    assert checked <= settings.auth.max_failed_logins


async def test_concurrent_refreshes_rotate_once(client, settings):
    await make_user(Role.INSPECTOR, username="inspector-g")
    pair = (await client.post("/api/v1/auth/login", json={"username": "inspector-g", "password": PASSWORD})).json()

    async def rotate() -> object:
        try:
            async with database.transaction():
                return await accounts_service.refresh(RefreshRequest(refresh_token=pair["refresh_token"]), settings.auth)
        except NotAuthenticated as error:
            return error

    outcomes = await asyncio.gather(*(rotate() for _ in range(5)))
    assert sum(isinstance(o, TokenPair) for o in outcomes) == 1


async def test_replaying_a_rotated_refresh_token_revokes_the_family(client):
    await make_user(Role.INSPECTOR, username="inspector-h")
    pair = (await client.post("/api/v1/auth/login", json={"username": "inspector-h", "password": PASSWORD})).json()
    first = (await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})).json()
    second = (await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert replay.status_code == 401
    # The newest token, descended from the replayed one, no longer works either.
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})).status_code == 401


async def _failures_until_throttled(client, username: str, limit: int) -> list[int]:
    return [
        (await client.post("/api/v1/auth/login", json={"username": username, "password": "wrong"})).status_code
        for _ in range(limit + 1)
    ]


async def test_unknown_deactivated_and_known_usernames_answer_alike(client, settings):
    limit = settings.auth.max_failed_logins
    await make_user(Role.INSPECTOR, username="inspector-i")
    gone = await make_user(Role.INSPECTOR, username="inspector-j")
    await User.update({User.active: False}).where(User.id == gone)
    expected = [401] * limit + [429]
    assert await _failures_until_throttled(client, "inspector-i", limit) == expected
    assert await _failures_until_throttled(client, "inspector-j", limit) == expected
    assert await _failures_until_throttled(client, f"nobody-{uuid.uuid4().hex[:6]}", limit) == expected


async def test_deactivated_account_costs_an_argon2_check(client):
    await make_user(Role.INSPECTOR, username="inspector-k")
    gone = await make_user(Role.INSPECTOR, username="inspector-l")
    await User.update({User.active: False}).where(User.id == gone)

    async def elapsed(username: str) -> float:
        start = time.perf_counter()
        await client.post("/api/v1/auth/login", json={"username": username, "password": "wrong"})
        return time.perf_counter() - start

    active = sorted([await elapsed("inspector-k") for _ in range(3)])[1]
    deactivated = sorted([await elapsed("inspector-l") for _ in range(3)])[1]
    # Without argon2 the deactivated answer was ~25x faster; a loose ratio keeps the test steady on a busy machine.
    assert deactivated > active * 0.4


def test_password_policy_refuses_common_and_trivial_passwords():
    for weak in ("password", "12345678", " " * 8, "aaaaaaaa", "Password", "inspector-m", "xinspector-m1"):
        assert password_problem(weak, "inspector-m") is not None, weak
    assert password_problem("风险-巡查-2026-秋", "inspector-m") is None


async def test_weak_passwords_are_refused_on_create_reset_and_change(client):
    admin_headers = await login(client, await username_of(await make_user(Role.ADMIN)))
    create = await client.post(
        "/api/v1/users/",
        json={"username": "u-weak", "display_name": "甲", "password": "12345678", "role": "inspector"},
        headers=admin_headers,
    )
    assert create.status_code == 422 and create.json()["code"] == "weak_password"
    user_id = await make_user(Role.INSPECTOR, username="inspector-n")
    reset = await client.patch(f"/api/v1/users/{user_id}", json={"password": "password"}, headers=admin_headers)
    assert reset.status_code == 422 and reset.json()["code"] == "weak_password"
    headers = await login(client, "inspector-n")
    change = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": " " * 8}, headers=headers
    )
    assert change.status_code == 422 and change.json()["code"] == "weak_password"
    wrong = await client.post(
        "/api/v1/auth/password", json={"current_password": "not-it", "new_password": "河道巡查-秋季-07"}, headers=headers
    )
    assert wrong.status_code == 401
    ok = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "河道巡查-秋季-07"}, headers=headers
    )
    assert ok.status_code == 204
    relogin = await client.post("/api/v1/auth/login", json={"username": "inspector-n", "password": "河道巡查-秋季-07"})
    assert relogin.status_code == 200


async def _session(client, username: str, device_id: uuid.UUID | None = None) -> dict:
    body = {"username": username, "password": PASSWORD} | ({"device_id": str(device_id)} if device_id else {})
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    pair = response.json()
    return pair | {"headers": {"Authorization": f"Bearer {pair['access_token']}"}}


async def _me_status(client, session: dict) -> tuple[int, str | None]:
    response = await client.get("/api/v1/auth/me", headers=session["headers"])
    return response.status_code, response.json().get("code") if response.status_code != 200 else None


async def test_logout_ends_access_tokens_at_once(client):
    await make_user(Role.INSPECTOR, username="inspector-v1")
    phone, tablet = await _session(client, "inspector-v1"), await _session(client, "inspector-v1")
    assert await _me_status(client, phone) == (200, None)
    logout = await client.post("/api/v1/auth/logout", json={"refresh_token": phone["refresh_token"]}, headers=phone["headers"])
    assert logout.status_code == 204
    assert await _me_status(client, phone) == (401, "token_expired")
    # The other device's access token ends too, but its refresh token brings a working one.
    assert await _me_status(client, tablet) == (401, "token_expired")
    fresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": tablet["refresh_token"]})
    assert fresh.status_code == 200
    assert await _me_status(client, {"headers": {"Authorization": f"Bearer {fresh.json()['access_token']}"}}) == (200, None)


async def test_deactivation_role_and_scope_changes_end_access_tokens(client):
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    department = await make_department()
    user_id = await make_user(Role.INSPECTOR, username="inspector-v2")
    for change in ({"role": "supervisor"}, {"department_id": str(department)}, {"districts": ["haiyuan"]}):
        session = await _session(client, "inspector-v2")
        assert (await client.patch(f"/api/v1/users/{user_id}", json=change, headers=admin)).status_code == 200
        assert await _me_status(client, session) == (401, "token_expired"), change
        # A refresh brings a token that speaks for the new role and scope.
        fresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
        assert fresh.status_code == 200, change
        claims = jwt.decode(fresh.json()["access_token"], options={"verify_signature": False})
        assert await _me_status(client, {"headers": {"Authorization": f"Bearer {fresh.json()['access_token']}"}}) == (200, None)
    assert claims["role"] == "supervisor" and claims["dep"] == str(department) and claims["dis"] == ["haiyuan"]
    # Saving a field with its current value ends nothing.
    session = await _session(client, "inspector-v2")
    assert (await client.patch(f"/api/v1/users/{user_id}", json={"role": "supervisor"}, headers=admin)).status_code == 200
    assert await _me_status(client, session) == (200, None)

    session = await _session(client, "inspector-v2")
    assert (await client.patch(f"/api/v1/users/{user_id}", json={"active": False}, headers=admin)).status_code == 200
    assert (await _me_status(client, session))[0] == 401
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})).status_code == 401


async def test_password_reset_ends_every_session(client):
    admin = await login(client, await username_of(await make_user(Role.ADMIN)))
    user_id = await make_user(Role.INSPECTOR, username="inspector-v3")
    session = await _session(client, "inspector-v3", uuid.uuid4())
    reset = await client.patch(f"/api/v1/users/{user_id}", json={"password": "河道巡查-重置-08"}, headers=admin)
    assert reset.status_code == 200
    assert await _me_status(client, session) == (401, "token_expired")
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})).status_code == 401


async def test_changing_ones_password_ends_other_sessions_and_keeps_this_device(client):
    await make_user(Role.INSPECTOR, username="inspector-v4")
    this_device, other_device = uuid.uuid4(), uuid.uuid4()
    here = await _session(client, "inspector-v4", this_device)
    there = await _session(client, "inspector-v4", other_device)
    web = await _session(client, "inspector-v4")
    change = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "河道巡查-秋季-09"}, headers=here["headers"]
    )
    assert change.status_code == 204
    for session in (here, there, web):
        assert await _me_status(client, session) == (401, "token_expired")
    for session in (there, web):
        assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})).status_code == 401
    # This device refreshes past the bumped version and carries on without typing the password again.
    kept = await client.post("/api/v1/auth/refresh", json={"refresh_token": here["refresh_token"]})
    assert kept.status_code == 200
    assert await _me_status(client, {"headers": {"Authorization": f"Bearer {kept.json()['access_token']}"}}) == (200, None)


@contextlib.asynccontextmanager
async def _caller(app, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests arrive from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://fieldcheck.test") as caller:
        yield caller


async def _try(caller, username: str, password: str = "wrong", headers: dict | None = None) -> int:
    body = {"username": username, "password": password}
    return (await caller.post("/api/v1/auth/login", json=body, headers=headers or {})).status_code


async def test_a_strangers_guesses_do_not_lock_the_owner_out_from_elsewhere(client, app, settings):
    limit = settings.auth.max_failed_logins
    await make_user(Role.INSPECTOR, username="inspector-t1")
    async with _caller(app, "203.0.113.7") as attacker, _caller(app, "198.51.100.2") as owner:
        assert [await _try(attacker, "inspector-t1") for _ in range(limit + 1)] == [401] * limit + [429]
        # The right password from the attacker's address waits out the backoff like any other try...
        response = await attacker.post("/api/v1/auth/login", json={"username": "inspector-t1", "password": PASSWORD})
        assert response.status_code == 429 and int(response.headers["retry-after"]) > settings.auth.lockout_s // 2
        # ...while the owner, elsewhere, signs in.
        assert await _try(owner, "inspector-t1", PASSWORD) == 200


async def test_a_right_password_resets_the_count_of_its_source(client, app, settings):
    limit = settings.auth.max_failed_logins
    await make_user(Role.INSPECTOR, username="inspector-t2")
    async with _caller(app, "198.51.100.3") as owner:
        assert [await _try(owner, "inspector-t2") for _ in range(limit - 1)] == [401] * (limit - 1)
        assert await _try(owner, "inspector-t2", PASSWORD) == 200
        assert [await _try(owner, "inspector-t2") for _ in range(limit + 1)] == [401] * limit + [429]


async def _service_try(username: str, source: str, at: dt.datetime, auth_settings: AuthSettings) -> int:
    """A wrong password for ``username`` from ``source`` at ``at``; the seconds to wait if refused, else 0."""
    request = LoginRequest(username=username, password="wrong")
    async with database.transaction():
        begun = await accounts_service.begin_login(request, auth_settings, source=source, now=at)
    if isinstance(begun, LoginRefused):
        return begun.error.retry_after_s
    ok = await accounts_service.check_password(begun)
    async with database.transaction():
        await accounts_service.finish_login(begun, ok, auth_settings, now=at)
    return 0


async def test_the_backoff_doubles_and_a_source_spraying_names_is_throttled(client):
    await make_user(Role.INSPECTOR, username="inspector-t3")
    auth_settings = AuthSettings(secret_key="k" * 40, max_failed_logins=2, max_failed_logins_per_source=5, lockout_s=60)
    t0 = dt.datetime.now(dt.UTC)

    async def attempt(username: str, source: str, at: dt.datetime) -> int:
        return await _service_try(username, source, at, auth_settings)

    assert [await attempt("inspector-t3", "192.0.2.1", t0) for _ in range(3)] == [0, 0, 61]
    # After each wait one more try, and a wait twice as long.
    waits = []
    at = t0
    for _ in range(3):
        at += dt.timedelta(seconds=await attempt("inspector-t3", "192.0.2.1", at) or 1)
        assert await attempt("inspector-t3", "192.0.2.1", at) == 0
        waits.append(await attempt("inspector-t3", "192.0.2.1", at))
    assert waits == [121, 241, 481]

    # One address guessing many names is held back whatever the name, known or not; another address is not.
    later = at + dt.timedelta(hours=2)
    sprayed = [await attempt(f"nobody-{n}", "192.0.2.9", later) for n in range(6)]
    assert sprayed[:5] == [0] * 5 and sprayed[5] > 0
    assert await attempt("inspector-t3", "192.0.2.9", later) > 0
    assert await attempt("inspector-t3", "192.0.2.10", later) == 0


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(client, settings):
    limit = settings.auth.max_failed_logins
    await make_user(Role.INSPECTOR, username="inspector-t4")
    behind_proxy = create_app(dataclasses.replace(settings, auth=dataclasses.replace(settings.auth, trusted_proxies="10.0.0.0/8, fd00::/8")))
    async with _caller(behind_proxy, "10.0.0.5") as proxy, _caller(behind_proxy, "203.0.113.8") as direct:
        def via(client_address: str) -> dict:
            return {"X-Forwarded-For": f"{client_address}, 10.0.0.9"}

        # Through the proxy, each client behind it is its own source.
        assert [await _try(proxy, "inspector-t4", headers=via("198.51.100.20")) for _ in range(limit + 1)] == [401] * limit + [429]
        assert await _try(proxy, "inspector-t4", PASSWORD, headers=via("198.51.100.21")) == 200
        # A caller that is not a proxy cannot pose as another address: its own is counted.
        for _ in range(limit):
            await _try(direct, "inspector-t4", headers=via("198.51.100.22"))
        assert await _try(direct, "inspector-t4", PASSWORD, headers=via("198.51.100.22")) == 429
        assert await _try(proxy, "inspector-t4", PASSWORD, headers=via("198.51.100.22")) == 200
    logins = await AuditEntry.select(AuditEntry.changes).where(AuditEntry.action == "auth.login").order_by(AuditEntry.seq)
    sources = [json.loads(r["changes"]).get("source") if isinstance(r["changes"], str) else r["changes"].get("source") for r in logins]
    assert sources == ["198.51.100.21", "198.51.100.22"]


async def test_throttling_and_token_versions_on_the_embedded_default(sqlite_app):
    embedded = sqlite_app
    limit = embedded.state.settings.auth.max_failed_logins
    await make_user(Role.INSPECTOR, username="inspector-s1")
    async with _caller(embedded, "203.0.113.7") as attacker, _caller(embedded, "198.51.100.2") as owner:
        assert [await _try(attacker, "inspector-s1") for _ in range(limit + 1)] == [401] * limit + [429]
        assert await _try(attacker, "inspector-s1", PASSWORD) == 429
        session = await _session(owner, "inspector-s1")
        assert await _me_status(owner, session) == (200, None)
        await owner.post("/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]}, headers=session["headers"])
        assert await _me_status(owner, session) == (401, "token_expired")
    # A counter idle for a day is forgotten.
    auth_settings = AuthSettings(secret_key="k" * 40, max_failed_logins=2, lockout_s=60)
    t0 = dt.datetime.now(dt.UTC)
    assert [await _service_try("inspector-s1", "192.0.2.1", t0, auth_settings) for _ in range(3)] == [0, 0, 61]
    assert await _service_try("inspector-s1", "192.0.2.1", t0 + dt.timedelta(days=2), auth_settings) == 0
    # ...and dropped: only the counters of the last try are left.
    keys = {r["key"] for r in await LoginThrottle.select(LoginThrottle.key)}
    assert keys == {"user:inspector-s1@192.0.2.1", "addr:192.0.2.1"}


class _WatchingHasher(PasswordHasher):
    """argon2 as usual, noting for each call whether the caller's unit of work was open and the SQLite file write-locked."""

    def __init__(self, sqlite_path: Path) -> None:
        super().__init__()
        self.sqlite_path = sqlite_path
        self.calls: list[tuple[str, bool, bool]] = []

    def _note(self, what: str) -> None:
        try:
            database.current()
            in_transaction = True
        except RuntimeError:
            in_transaction = False
        probe = sqlite3.connect(self.sqlite_path, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            locked = False
        except sqlite3.OperationalError:
            locked = True
        finally:
            probe.close()
        self.calls.append((what, in_transaction, locked))

    def hash(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self._note("hash")
        return super().hash(*args, **kwargs)

    def verify(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self._note("verify")
        return super().verify(*args, **kwargs)


async def test_argon2_runs_outside_the_write_transaction(sqlite_app, monkeypatch):
    embedded = sqlite_app
    hasher = _WatchingHasher(embedded.state.settings.server.data_dir / "fieldcheck.sqlite3")
    await make_user(Role.ADMIN, username="admin-h1")
    monkeypatch.setattr(accounts_service, "_hasher", hasher)
    async with _caller(embedded, "198.51.100.30") as caller:
        admin = (await _session(caller, "admin-h1"))["headers"]
        created = await caller.post(
            "/api/v1/users/",
            json={"username": "inspector-h1", "display_name": "甲", "password": "河道巡查-新建-01", "role": "inspector"},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        reset = await caller.patch(f"/api/v1/users/{user_id}", json={"password": "河道巡查-重置-02"}, headers=admin)
        assert reset.status_code == 200
        login_response = await caller.post("/api/v1/auth/login", json={"username": "inspector-h1", "password": "河道巡查-重置-02"})
        headers = {"Authorization": f"Bearer {login_response.json()['access_token']}"}
        change = await caller.post(
            "/api/v1/auth/password",
            json={"current_password": "河道巡查-重置-02", "new_password": "河道巡查-改密-03"},
            headers=headers,
        )
        assert change.status_code == 204
        assert await _try(caller, "inspector-h1", "河道巡查-改密-03") == 200
    # login (x2), create, reset, change (proof of the current password, then the new hash)
    assert [what for what, _, _ in hasher.calls] == ["verify", "hash", "hash", "verify", "verify", "hash", "verify"]
    assert [call for call in hasher.calls if call[1] or call[2]] == []


async def _refresh(client, token: str, device_id: uuid.UUID | None = None) -> httpx.Response:
    body = {"refresh_token": token} | ({"device_id": str(device_id)} if device_id else {})
    return await client.post("/api/v1/auth/refresh", json=body)


async def test_a_refresh_whose_answer_was_lost_is_retried_from_its_device(client):
    await make_user(Role.INSPECTOR, username="inspector-r1")
    device = uuid.uuid4()
    session = await _session(client, "inspector-r1", device)
    assert (await _refresh(client, session["refresh_token"], device)).status_code == 200  # its answer is lost
    retried = await _refresh(client, session["refresh_token"], device)
    assert retried.status_code == 200
    # The retried pair is a working session, and it rotates on as usual.
    assert await _me_status(client, {"headers": {"Authorization": f"Bearer {retried.json()['access_token']}"}}) == (200, None)
    onward = await _refresh(client, retried.json()["refresh_token"], device)
    assert onward.status_code == 200
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.seq)]
    assert "auth.refresh_retried" in actions and "auth.refresh_reused" not in actions

    # The same token from another device (or from no device) is a replay: the whole family ends.
    assert (await _refresh(client, session["refresh_token"], uuid.uuid4())).status_code == 401
    assert (await _refresh(client, onward.json()["refresh_token"], device)).status_code == 401


async def test_a_rotated_token_after_the_grace_or_after_logout_is_refused(client, settings):
    await make_user(Role.INSPECTOR, username="inspector-r2")
    device = uuid.uuid4()
    first = await _session(client, "inspector-r2", device)
    grace = settings.auth.refresh_grace_s

    async def refresh_at(token: str, seconds_later: float) -> object:
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_later)
        async with database.transaction():
            return await accounts_service.refresh(RefreshRequest(refresh_token=token, device_id=device), settings.auth, now=at)

    rotated = await refresh_at(first["refresh_token"], 0)
    assert isinstance(rotated, TokenPair)
    late = await refresh_at(first["refresh_token"], grace + 1)
    assert isinstance(late, LoginRefused)
    # Too late counts as a replay: the token the rotation issued is revoked with its family.
    assert (await _refresh(client, rotated.refresh_token, device)).status_code == 401

    second = await _session(client, "inspector-r2", device)
    rotated = (await _refresh(client, second["refresh_token"], device)).json()
    headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]}, headers=headers)).status_code == 204
    # Logged out: the grace brings nothing back.
    assert (await _refresh(client, second["refresh_token"], device)).status_code == 401
