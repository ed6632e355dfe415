"""The dashboard in Debian's headless Chromium, driven over the DevTools protocol (a websocket, no extra deps).

The app is served by uvicorn on a free loopback port, on the test session's
database and event loop. The browser must: load the page with no request
leaving 127.0.0.1, log in, draw the charts (a screenshot goes to
tests/output/), change its figures when a filter changes, and open the
records behind a figure.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from tests.browser import Tab, external_requests, serve_app, tab  # noqa: F401  (tab is a fixture)
from tests.conftest import PASSWORD, username_of
from tests.server.stats.conftest import City

pytestmark = pytest.mark.browser


@pytest.fixture
async def served(app: Litestar, city: City) -> AsyncIterator[str]:
    async with serve_app(app) as url:
        yield url


def _kpi(name: str) -> str:
    return f"document.querySelector('[data-kpi=\"{name}\"]').dataset.value"


async def test_dashboard_in_headless_chromium(served: str, tab: Tab, city: City) -> None:
    await tab.send("Page.navigate", url=f"{served}/dashboard")
    await tab.until("document.readyState === 'complete' && typeof echarts === 'object'")

    username = await username_of(city.users["L"])
    await tab.js(
        f"document.getElementById('username').value = {json.dumps(username)};"
        f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
        "document.getElementById('login-form').requestSubmit(); true"
    )
    await tab.until("window.fieldcheckDashboard.loads >= 1")
    # The board opens on the current year; the fixture city lives in 2025.
    await tab.js("const p = document.getElementById('period'); p.value = '2025'; p.dispatchEvent(new Event('change')); true")
    await tab.until("window.fieldcheckDashboard.loads >= 2")

    assert await tab.js(_kpi("checks")) == "6"  # HAND["checks"]: I1 I2 I3 I4 I7 I8
    assert await tab.js(_kpi("coverage_rate")) == "50"
    assert await tab.js("document.querySelector('[data-kpi=\"checks\"] .name').textContent") == "检查次数"
    # Charts drew on their canvases, with the API's figures.
    assert await tab.js("[...document.querySelectorAll('.chart')].every(c => c.querySelector('canvas'))")
    trend = await tab.js("echarts.getInstanceByDom(document.getElementById('chart-trend')).getOption().series[0].data")
    assert sum(trend) == 6 and trend[2] == 1 and trend[3] == 1  # March (I1) and April (I2) 2025
    painted = await tab.js(
        "(() => { const c = document.querySelector('#chart-sector canvas'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++;"
        " return n; })()"
    )
    assert painted > 1000
    shot = await tab.screenshot("dashboard.png")
    assert shot.stat().st_size > 20_000

    # A filter changes the figures.
    await tab.js("const d = document.getElementById('district'); d.value = 'zhongning'; d.dispatchEvent(new Event('change')); true")
    await tab.until("window.fieldcheckDashboard.loads >= 3")
    assert await tab.js(_kpi("checks")) == "3"  # I3 I7 I8 of E3
    assert await tab.js(_kpi("hazards_found")) == "2"  # H3 H4

    # A drill-down opens the records behind a figure.
    await tab.js("document.querySelector('[data-kpi=\"hazards_found\"]').click(); true")
    await tab.until("!!document.querySelector('#drill-table table')")
    assert await tab.js("document.querySelector('#drill-table table').dataset.total") == "2"
    assert await tab.js("document.querySelectorAll('#drill-table tr').length") == 3
    assert "发现隐患数" in await tab.js("document.getElementById('drill-title').textContent")
    cells = await tab.js("[...document.querySelectorAll('#drill-table td')].map(td => td.textContent)")
    assert "中宁县宁钢冶金有限公司" in cells and "重大隐患" in cells
    # …and from a table cell: the district table's 检查次数 for 中宁县.
    await tab.js("document.getElementById('district').value = ''; document.getElementById('district').dispatchEvent(new Event('change')); true")
    await tab.until("window.fieldcheckDashboard.loads >= 4")
    await tab.js("document.querySelector('#table-district td[data-indicator=\"checks\"][data-group=\"zhongning\"]').click(); true")
    await tab.until("window.fieldcheckDashboard.drillResult && window.fieldcheckDashboard.drillResult.indicator === 'checks'")
    assert await tab.js("window.fieldcheckDashboard.drillResult.total") == 3
    await tab.screenshot("dashboard-drilldown.png")

    # Nothing left the machine: every request went to the app itself.
    external = external_requests(tab, served)
    assert external == [], external
    assert any(u.endswith("/static/vendor/echarts/echarts.min.js") for u in tab.requests)
