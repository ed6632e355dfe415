"""The dashboard a new user opens: embedded SQLite after ``fieldcheck demo``, in headless Chromium, kept open.

Figures are non-zero and equal to a hand count of the records; the board opens
on the current period with its partial month marked; 同比 is coloured by
whether the change is good news; the district map and bars drill down to rows
that link to the console; the login renews itself silently and ends cleanly;
the page reads at phone width. Screenshots go to tests/output/.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from server import demo
from server.inspections.tables import Inspection
from tests.dates import BUREAU_TZ as TZ
from tests.browser import Tab, external_requests, serve_app, tab  # noqa: F401  (tab is a fixture)
from tests.server.sync.conftest import sqlite_app  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def _kpi(name: str) -> str:
    return f"document.querySelector('[data-kpi=\"{name}\"]').dataset.value"


async def test_the_first_dashboard_is_alive_on_the_embedded_default(sqlite_app, tab: Tab) -> None:  # noqa: F811
    await demo.load(sqlite_app.state.settings, password="demo-pass-123")
    today = dt.datetime.now(TZ).date()
    start = dt.datetime(today.year, 1, 1, tzinfo=TZ)
    hand = await Inspection.count().where(Inspection.status.is_in(["submitted", "reviewed"]) & (Inspection.submitted_at >= start))
    assert hand > 0

    async with serve_app(sqlite_app) as served:
        await tab.send("Page.navigate", url=f"{served}/dashboard")
        await tab.until("document.readyState === 'complete' && typeof echarts === 'object'")
        await tab.js(
            "document.getElementById('username').value = 'leader1';"
            "document.getElementById('password').value = 'demo-pass-123';"
            "document.getElementById('login-form').requestSubmit(); true"
        )
        await tab.until("window.fieldcheckDashboard.loads >= 1 && window.fieldcheckDashboard.mapDrawn", timeout=60)
        # Opens on the current period, figures equal to the hand count.
        assert await tab.js("document.getElementById('period').value") == str(today.year)
        assert await tab.js(_kpi("checks")) == str(hand)
        assert float(await tab.js(_kpi("hazards_found"))) > 0 and float(await tab.js(_kpi("violations"))) > 0
        assert "数据截至" in await tab.js("document.getElementById('as-of').textContent")
        assert "本期未结束" in await tab.js("document.getElementById('scope-label').textContent")
        labels = await tab.js("echarts.getInstanceByDom(document.getElementById('chart-trend')).getOption().xAxis[0].data")
        assert labels[today.month - 1].endswith("（未满）") and not any(label.endswith("（未满）") for label in labels[: today.month - 1])
        # 同比: the sign once, and the colour says good or bad news for that indicator.
        overdue, overdue_text = await tab.js(
            "(e => e ? [e.dataset.change, e.textContent] : ['', ''])(document.querySelector('[data-kpi=\"hazards_overdue\"] .change'))"
        )
        changes = await tab.js("[...document.querySelectorAll('.kpi .change')].map(e => [e.dataset.change, e.textContent])")
        assert all(text.count("+") + text.count("−") <= 1 for _, text in changes)
        # 逾期未整改 has a direction (fewer is better): coloured good or bad, neutral only when it did not change.
        assert overdue in ("", "good", "bad") or (overdue == "neutral" and overdue_text == "0.0%"), (overdue, overdue_text)
        await tab.screenshot("dashboard-embedded.png")

        # The map's districts drill down; the rows link to the console's record pages.
        await tab.js(
            "echarts.getInstanceByDom(document.getElementById('chart-map')).trigger('click',"
            " {name: '中宁县', seriesIndex: 0, componentType: 'series'}); true"
        )
        await tab.until("window.fieldcheckDashboard.drillResult && window.fieldcheckDashboard.drillResult.indicator === 'hazards_found'")
        drill = await tab.js("window.fieldcheckDashboard.drillResult")
        assert drill["by"] == "district" and drill["group"] == "zhongning" and drill["total"] > 0
        assert all(link.startswith("/console/hazards/") for link in drill["links"])
        assert (await tab.js("document.querySelector('#drill-table a').getAttribute('href')")).startswith("/console/hazards/")
        await tab.screenshot("dashboard-embedded-drilldown.png")

        # The access token expires under a board kept open: the next read renews it silently.
        await tab.js("window.fieldcheckDashboard.token = 'expired'; document.getElementById('sector').dispatchEvent(new Event('change')); true")
        await tab.until("window.fieldcheckDashboard.loads >= 2 && window.fieldcheckDashboard.refreshes >= 1")
        assert await tab.js("document.getElementById('board').hidden") is False

        # At phone width nothing spills sideways.
        await tab.send("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
        await tab.js("window.dispatchEvent(new Event('resize')); true")
        assert await tab.js("document.documentElement.scrollWidth") <= 400
        await tab.screenshot("dashboard-phone.png")
        await tab.send("Emulation.clearDeviceMetricsOverride")

        # Logging out ends the session on the server: the refresh token no longer works.
        refresh = await tab.js("window.fieldcheckDashboard.refresh")
        await tab.js("document.getElementById('logout').click(); true")
        await tab.until("!document.getElementById('login-panel').hidden")
        async with httpx.AsyncClient(base_url=served) as http:
            again = await http.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
        assert again.status_code == 401, again.text
        assert external_requests(tab, served) == []
        assert json.dumps(await tab.js("sessionStorage.getItem('fc.refresh')")) == "null"
