"""The OpenAPI document describes the answers the server really gives (server/api_docs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import api_docs
from server.app import create_app
from server import exports
from tests.conftest import make_settings

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def doc():
    app = create_app(make_settings(Path("/nonexistent"), database_url="postgresql://unused@127.0.0.1:1/unused"))
    return api_docs.document(app)


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_error_answer_is_the_problem_body(doc):
    assert doc["components"]["schemas"]["Problem"]["required"] == ["status", "code", "message", "message_en"]
    for method, path, operation in _operations(doc):
        for status, answer in operation["responses"].items():
            if int(status) >= 400 and path != "/health":  # health answers its report, degraded or not
                assert answer["content"] == {api_docs.PROBLEM_MEDIA: {"schema": PROBLEM}}, (method, path, status)


def test_every_authenticated_operation_lists_its_errors(doc):
    for method, path, operation in _operations(doc):
        statuses = set(operation["responses"])
        if path == "/health" or path.startswith(("/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/public/")):
            assert operation["security"] == [], path
            continue
        assert "security" not in operation, path  # the document's default: a bearer token
        assert {"401", "403"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if method != "GET":
            assert "409" in statuses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= statuses, (method, path)
    login = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"401", "429"} <= set(login) and "retry-after" in login["429"]["headers"]
    assert "503" in doc["paths"]["/api/v1/stats/summary"]["get"]["responses"]


def test_sync_push_and_pull_bodies_are_negotiated_json_or_msgpack(doc):
    for name, request, response in (("push", "PushRequest", "PushResponse"), ("pull", "PullRequest", "PullResponse")):
        operation = doc["paths"][f"/api/v1/sync/{name}"]["post"]
        media = {"application/json", "application/msgpack"}
        assert set(operation["requestBody"]["content"]) == media
        assert operation["requestBody"]["content"]["application/msgpack"]["schema"]["$ref"].endswith(request)
        assert "201" not in operation["responses"]
        assert set(operation["responses"]["200"]["content"]) == media
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(response)
        assert "415" in operation["responses"]
    # The push document names every mutation kind, so a reader (or a fuzzer) can build a valid one.
    items = doc["components"]["schemas"]["PushRequest"]["properties"]["mutations"]["items"]
    assert "add_hazard" in items["discriminator"]["mapping"] and "StartInspection" in doc["components"]["schemas"]


def test_downloads_have_their_real_content_types(doc):
    paths = doc["paths"]
    export = paths["/api/v1/stats/export"]["get"]["responses"]["200"]
    assert set(export["content"]) == set(exports.MEDIA_TYPES.values())
    assert all(body["schema"] == api_docs.BINARY for body in export["content"].values())
    csv = paths["/api/v1/spot-checks/campaigns/{campaign_id}/results.csv"]["get"]["responses"]["200"]
    assert list(csv["content"]) == ["text/csv"]
    thumbnail = paths["/api/v1/evidence/{evidence_id}/thumbnail"]["get"]["responses"]["200"]
    assert list(thumbnail["content"]) == ["image/jpeg"] and "x-content-type-options" in thumbnail["headers"]
    content = paths["/api/v1/evidence/{evidence_id}/content"]["get"]["responses"]
    assert {"image/jpeg", "image/png"} <= set(content["200"]["content"])
    assert "location" in content["307"]["headers"]
    upload = paths["/api/v1/evidence/blobs/{sha256}"]["put"]
    assert upload["requestBody"]["content"] == {"application/octet-stream": {"schema": api_docs.BINARY}}
    assert {"413", "415", "503"} <= set(upload["responses"])
    health = paths["/health"]["get"]["responses"]
    assert set(health) == {"200", "503"}


async def test_the_served_document_is_the_described_one(client):
    served = (await client.get("/schema/openapi.json")).json()
    assert served["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"]["application/msgpack"]
    assert served["paths"]["/api/v1/enterprises"]["get"]["responses"]["401"]["content"][api_docs.PROBLEM_MEDIA]
    page = (await client.get("/schema")).text
    assert "application/msgpack" in page or "openapi.json" in page
