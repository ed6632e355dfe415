"""The API documentation at /schema, rendered by Debian's headless Chromium from assets this server serves."""

from __future__ import annotations

import pytest
from litestar import Litestar

from tests.browser import Tab, external_requests, serve_app, tab  # noqa: F401  (tab is a fixture)

pytestmark = pytest.mark.browser


async def test_schema_page_renders_every_operation_from_local_assets(app: Litestar, tab: Tab) -> None:
    async with serve_app(app) as served:
        await tab.send("Page.navigate", url=f"{served}/schema")
        # Swagger UI draws one block per operation once it has read the OpenAPI 3.1 document.
        drawn = await tab.until("document.querySelectorAll('.opblock').length")
        document = await tab.js("fetch('/schema/openapi.json').then(r => r.json())")
        await tab.screenshot("api-docs.png")

    operations = sum(
        1 for item in document["paths"].values() for method in item if method in {"get", "post", "put", "patch", "delete"}
    )
    assert document["openapi"].startswith("3.1")
    assert drawn == operations and operations > 50
    page_text = await tab.js("document.body.innerText")
    assert "Unable to render this definition" not in page_text
    assert "fieldcheck" in page_text
    assert external_requests(tab, served) == []
    assert any(u.endswith("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js") for u in tab.requests)


async def test_handler_docstrings_are_operation_descriptions(client) -> None:  # type: ignore[no-untyped-def]
    document = (await client.get("/schema/openapi.json")).json()
    described = [op for item in document["paths"].values() for op in item.values() if isinstance(op, dict) and op.get("description")]
    assert len(described) > 20
