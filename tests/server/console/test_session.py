"""The console's session: login through the accounts service, the cookie, CSRF, roles, refresh and logout."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from schemas.vocab import Role
from server.accounts.auth import issue_access_token
from server.accounts.tables import User
from server.console import session
from server.settings import Settings
from tests.conftest import PASSWORD, make_user, username_of
from tests.server.console.browser import Console


async def _login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/console/login", data={"username": username, "password": password, "next": "/console"})


def _csrf(page: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def test_login_sets_a_strict_httponly_cookie_and_home_shows_the_role(client: httpx.AsyncClient) -> None:
    admin = await username_of(await make_user(Role.ADMIN))
    answer = await _login(client, admin)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE}=") and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert "Path=/console" in cookie and "Secure" not in cookie  # plain http in the test; https sets Secure
    home = await client.get("/console")
    assert home.status_code == 200 and "系统管理员" in home.text and admin in home.text
    assert home.headers["cache-control"] == "no-store"
    client.cookies.clear()


async def test_behind_a_trusted_tls_proxy_the_cookie_is_secure(client: httpx.AsyncClient) -> None:
    admin = await username_of(await make_user(Role.ADMIN))
    # The test client's peer is 127.0.0.1, not a trusted proxy: its X-Forwarded-Proto is not believed.
    answer = await client.post(
        "/console/login", data={"username": admin, "password": PASSWORD}, headers={"x-forwarded-proto": "https"}
    )
    assert "Secure" not in answer.headers["set-cookie"]
    answer = await client.post("https://fieldcheck.test/console/login", data={"username": admin, "password": PASSWORD})
    assert "Secure" in answer.headers["set-cookie"]
    client.cookies.clear()


async def test_wrong_password_is_refused_and_throttled_as_the_api_does(client: httpx.AsyncClient, settings: Settings) -> None:
    admin = await username_of(await make_user(Role.ADMIN))
    for _ in range(settings.auth.max_failed_logins):
        answer = await _login(client, admin, "wrong-password-1")
        assert answer.status_code == 401 and "用户名或密码错误" in answer.text
        assert session.COOKIE not in answer.headers.get("set-cookie", "")
    answer = await _login(client, admin)  # the right password, but this account is in backoff from this address
    assert answer.status_code == 429 and "登录失败次数过多" in answer.text
    # The API shares the counter: it is the same service.
    api = await client.post("/api/v1/auth/login", json={"username": admin, "password": PASSWORD})
    assert api.status_code == 429


async def test_pages_need_a_session_and_a_forged_cookie_is_none(client: httpx.AsyncClient) -> None:
    answer = await client.get("/console")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    client.cookies.set(session.COOKIE, "eyJhIjoiYSJ9.0000", path="/console")
    answer = await client.get("/console")
    assert answer.status_code == 303
    client.cookies.clear()


async def test_a_post_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    admin = await username_of(await make_user(Role.ADMIN))
    await _login(client, admin)
    token = _csrf((await client.get("/console")).text)
    refused = await client.post("/console/logout")
    assert refused.status_code == 403 and "页面已过期" in refused.text
    wrong = await client.post("/console/logout", headers={"x-csrf-token": token[:-1] + "x"})
    assert wrong.status_code == 403
    cross = await client.post("/console/logout", headers={"x-csrf-token": token, "sec-fetch-site": "cross-site"})
    assert cross.status_code == 403 and "其他网站" in cross.text
    assert (await client.get("/console")).status_code == 200  # still logged in
    done = await client.post("/console/logout", headers={"x-csrf-token": token})
    assert done.status_code == 303 and done.headers["location"] == "/console/login"
    assert (await client.get("/console")).status_code == 303
    client.cookies.clear()


async def test_an_inspector_s_console_is_their_cases_documents_and_their_signature(client: httpx.AsyncClient) -> None:
    inspector = await username_of(await make_user(Role.INSPECTOR))
    await _login(client, inspector)
    home = await client.get("/console")
    assert home.status_code == 200
    assert re.findall(r'<a class="card tile" href="([^"]+)"', home.text) == ["/console/cases", "/console/signature"]
    for office_page in ("/console/inspections", "/console/hazards", "/console/enforcement", "/console/people"):
        answer = await client.get(office_page)
        assert answer.status_code == 403 and "当前角色无权访问此页面" in answer.text, office_page
    client.cookies.clear()


async def test_a_deactivated_account_is_out_at_its_next_request(client: httpx.AsyncClient) -> None:
    user_id = await make_user(Role.SUPERVISOR)
    await _login(client, await username_of(user_id))
    assert (await client.get("/console")).status_code == 200
    await User.update({User.active: False, User.token_version: User.token_version + 1}).where(User.id == user_id)
    answer = await client.get("/console")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?reason=")
    client.cookies.clear()


async def test_an_expired_access_token_is_refreshed_and_the_cookie_renewed(client: httpx.AsyncClient, settings: Settings) -> None:
    username = await username_of(await make_user(Role.LEADER))
    await _login(client, username)
    opened = session.decode(client.cookies.get(session.COOKIE), settings)
    assert opened is not None
    # The same session with an access token that expired an hour ago.
    actor = await session.resolve(opened, settings)
    stale = issue_access_token(actor.actor, secret=settings.auth.secret_key, ttl_s=60, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    client.cookies.set(session.COOKIE, session.encode(session.Session(stale, opened.refresh_token, opened.csrf, username), settings), path="/console")
    answer = await client.get("/console")
    assert answer.status_code == 200
    renewed = session.decode(answer.cookies.get(session.COOKIE), settings)
    assert renewed is not None and renewed.refresh_token != opened.refresh_token and renewed.csrf == opened.csrf
    client.cookies.clear()


async def test_unknown_console_page_is_a_chinese_404(client: httpx.AsyncClient) -> None:
    answer = await client.get("/console/no-such-page")
    assert answer.status_code == 404 and "页面不存在" in answer.text and "<html" in answer.text


@pytest.mark.browser
async def test_login_and_logout_in_chromium(console: Console) -> None:
    leader = await username_of(await make_user(Role.LEADER))
    await console.open("/console")
    assert console.page.url.endswith("/console/login")
    await console.login(leader, "not-the-password")
    assert await console.page.text_content("#login-error") == "用户名或密码错误"
    await console.shot("console-login-refused.png")
    await console.login(leader)
    assert console.page.url == console.url + "/console"
    assert await console.page.text_content(".readonly") == "只读"
    await console.shot("console-home-leader.png")
    # A leader's POST is refused even with the page's own token (logout, ending only the own session, is allowed).
    assert await console.csrf()
    await console.open("/console/nothing-here")
    assert await console.page.text_content("#error-message") == "页面不存在"
    await console.shot("console-404.png")
    await console.open("/console")
    await console.logout()
    await console.open("/console")
    assert console.page.url.endswith("/console/login")
    assert console.external_requests() == []
    assert any(u.endswith("/static/vendor/htmx.org/htmx.min.js") for u in console.requests)


async def test_a_post_route_that_lets_leaders_in_by_mistake_still_refuses_them(client: httpx.AsyncClient, app) -> None:
    """Defence in depth: the guard refuses every write by a read-only role, whatever a route's roles say."""
    from litestar import Litestar, Router, post

    from server.console import web

    @post("/console/probe", opt={"roles": frozenset(Role)}, include_in_schema=False)
    async def probe() -> str:
        return "written"

    probe_app = Litestar(
        route_handlers=[Router(path="/", route_handlers=[probe], guards=[web.console_guard], exception_handlers=web.EXCEPTION_HANDLERS)],
        template_config=web.template_config(app.state.settings),
    )
    probe_app.state.settings = app.state.settings
    tokens = {}
    for role in (Role.LEADER, Role.SUPERVISOR):
        await _login(client, await username_of(await make_user(role)))
        tokens[role] = (client.cookies.get(session.COOKIE), _csrf((await client.get("/console")).text))
        client.cookies.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=probe_app), base_url="http://fieldcheck.test") as probe_client:
        for role, expected in ((Role.LEADER, 403), (Role.SUPERVISOR, 201)):
            cookie, token = tokens[role]
            answer = await probe_client.post(
                "/console/probe", headers={"x-csrf-token": token, "cookie": f"{session.COOKIE}={cookie}"}
            )
            assert answer.status_code == expected, (role, answer.text[:200])
            if expected == 403:
                assert "只读" in answer.text
