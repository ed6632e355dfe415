"""Lighthouse-style facts of the phone app, measured on loopback and printed (no timed assertion: see bench/).

First load on a fresh phone: bytes transferred, time until the login screen answers a tap, and that every
request stayed on the server's origin. Second load (service worker installed): how many of those bytes
still come over the network. Screenshots of the login screen at the narrowest and widest phone sizes.
"""

from __future__ import annotations

import time

import pytest

from tests.phone_app.conftest import Phone, new_phone

pytestmark = pytest.mark.browser


async def test_first_load_facts(served, browser):
    context = await new_phone(browser)
    page = await context.new_page()
    finished: list = []
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("requestfinished", lambda r: finished.append(r))
    started = time.perf_counter()
    await page.goto(f"{served}/app/")
    await page.wait_for_selector("[data-testid=login]:not([disabled])")
    await page.wait_for_function("window.FC && FC.app && FC.app.ready")
    interactive_ms = (time.perf_counter() - started) * 1000
    navigation_ms = await page.evaluate("performance.now()")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.wait_for_function("caches.keys().then(k => k.some(n => n.startsWith('fieldcheck-shell-')))")
    page_bytes = 0
    for request in finished:
        if request.service_worker is None and request.frame is not None:
            sizes = await request.sizes()
            page_bytes += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    foreign = [u for u in requested if not u.startswith(served) and not u.startswith(("data:", "blob:"))]
    assert foreign == [], foreign
    assert any(u.endswith("/static/vendor/vant/vant.min.js") for u in requested)

    # Second load: the service worker answers the shell; count what still crossed the network.
    finished.clear()
    started = time.perf_counter()
    await page.reload()
    await page.wait_for_function("window.FC && FC.app && FC.app.ready")
    second_ms = (time.perf_counter() - started) * 1000
    from_network = 0
    for request in finished:
        response = await request.response()
        if response is not None and not response.from_service_worker:
            sizes = await request.sizes()
            from_network += sizes["responseBodySize"]
    print(f"\nphone app first load: {page_bytes / 1024:.0f} KiB transferred by the page, interactive after "
          f"{interactive_ms:.0f} ms on loopback (page clock {navigation_ms:.0f} ms), {len(requested)} requests, "
          f"all on {served}; reload with the service worker: {second_ms:.0f} ms, {from_network / 1024:.0f} KiB "
          f"reached the page from the network (the worker answered from its cache, re-checking the app's own files)")
    p = Phone(page, served, "sizes")
    await p.shot("login-390")
    for width, height in ((360, 640), (414, 896)):
        await page.set_viewport_size({"width": width, "height": height})
        await p.shot(f"login-{width}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the phone
    await context.close()
