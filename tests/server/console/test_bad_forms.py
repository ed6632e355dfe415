"""Every console POST, from every office role and an inspector, with forms no page would send: never a 5xx.

The routes are read from the app (a new POST is covered without listing it); path parameters are ids of
nothing; the forms are empty, over-long, of the wrong type, or not forms at all. Refusals (4xx, or a page
that shows the error) are the expected answers; a 500 is a bug on bad input.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from schemas.vocab import Role
from tests.conftest import PASSWORD, make_department, make_user, username_of

#: Every field name the console's templates send (web/console/templates), each given each bad value below.
FIELDS = (
    "action_id active amount_yuan approve back badge_number basis choose code covert credit_code deadline_date "
    "decision department_id display_name districts drawn enforcement exclude_inspected_within_days expected_version "
    "hazard_id id_number inspection_id items kind label lead legal_basis match_district member name next note "
    "opinion outcome password period_end period_start reason receiving_agency recheck_id release_time role "
    "sample_mode sample_value sector sectors stratify_by team_size title type user_id username value weekdays"
).split()

BAD_VALUES = ("", "not-a-uuid", "-1", "99999999999999999999999", "2026-02-30", "x" * 20_000, "\x00", "<script>")

_CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')
_PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _console_posts(app: Litestar) -> list[str]:
    paths = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/console") and "POST" in route.methods:
            if route.path not in ("/console/login", "/console/logout"):
                paths.append(route.path)
    return sorted(set(paths))


def _concrete(path: str) -> str:
    """The path with each parameter an id (or name) of nothing."""
    return _PARAM.sub(lambda m: str(uuid.uuid4()) if m.group(2) == "uuid" else "nothing-here", path)


async def _login(client: httpx.AsyncClient, user_id: uuid.UUID) -> str:
    client.cookies.clear()
    answer = await client.post("/console/login", data={"username": await username_of(user_id), "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    match = _CSRF.search((await client.get("/console")).text)
    assert match, "no CSRF token on the console's home page"
    return match.group(1)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.LEADER, Role.INSPECTOR], ids=str)
async def test_no_console_post_answers_a_bad_form_with_a_server_error(
    client: httpx.AsyncClient, app: Litestar, role: Role
) -> None:
    department = await make_department("bad-forms", "检验科")
    user = await make_user(role, department_id=department)
    token = await _login(client, user)
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    paths = _console_posts(app)
    assert len(paths) > 20, paths  # the console's POSTs were found
    failures = []
    for template in paths:
        path = _concrete(template)
        forms = [{}] + [{f: value for f in FIELDS} for value in BAD_VALUES]
        for form in forms:
            answer = await client.post(path, data=form, headers=headers)
            if answer.status_code >= 500:
                failures.append((template, next(iter(form.values()), "{}")[:20], answer.status_code, answer.text[:200]))
        for raw in (b"\xff\xfe not a form", b"--x\r\nContent-Disposition: form-data\r\n\r\n"):
            answer = await client.post(path, content=raw, headers={**headers, "content-type": "multipart/form-data; boundary=x"})
            if answer.status_code >= 500:
                failures.append((template, "raw multipart", answer.status_code, answer.text[:200]))
    assert failures == [], failures
