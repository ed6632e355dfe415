"""The registry on the embedded SQLite default: search (LIKE instead of ILIKE), paging, validation, duplicates."""

from schemas.vocab import Role
from server.audit import service as audit_service
from server.registry.tables import Enterprise
from tests.conftest import login, make_user, random_credit_code, username_of


async def test_registry_on_sqlite(sqlite_client):
    client = sqlite_client
    headers = await login(client, await username_of(await make_user(Role.ADMIN)))
    for i in range(7):
        body = {
            "credit_code": random_credit_code(),
            "name": f"中宁县Ningxia{i}枸杞食品有限公司",
            "sector": "industry_trade",
            "district": "zhongning",
        }
        response = await client.post("/api/v1/enterprises/", json=body, headers=headers)
        assert response.status_code == 201, response.text
    wrong = random_credit_code()
    wrong = wrong[:17] + ("0" if wrong[17] != "0" else "1")
    bad = await client.post(
        "/api/v1/enterprises/", json={"credit_code": wrong, "name": "x有限公司", "sector": "metallurgy", "district": "haiyuan"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_credit_code" and bad.json()["field"] == "credit_code"
    first = (await client.get("/api/v1/enterprises/", params={"limit": 1}, headers=headers)).json()
    duplicate = await client.post(
        "/api/v1/enterprises/",
        json={"credit_code": first["items"][0]["credit_code"], "name": "重复有限公司", "sector": "metallurgy", "district": "haiyuan"},
        headers=headers,
    )
    assert duplicate.status_code == 409

    # SQLite has no ILIKE: the service falls back to LIKE, which is case-insensitive for ASCII.
    found = (await client.get("/api/v1/enterprises/", params={"q": "ningxia3"}, headers=headers)).json()["items"]
    assert [e["name"] for e in found] == ["中宁县Ningxia3枸杞食品有限公司"]
    wildcard = (await client.get("/api/v1/enterprises/", params={"q": "%"}, headers=headers)).json()["items"]
    assert len(wildcard) == 7  # a lone wildcard is dropped, not interpreted

    names, cursor = [], None
    while True:
        page = (await client.get("/api/v1/enterprises/", params={"limit": 3} | ({"cursor": cursor} if cursor else {}), headers=headers)).json()
        names += [e["name"] for e in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert names == sorted(names) and len(names) == 7
    assert await Enterprise.count() == 7
    assert (await audit_service.verify()).ok
