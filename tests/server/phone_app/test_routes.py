"""The phone app's files are served by the API without a token; the precache list names exactly what exists."""

from __future__ import annotations

from schemas.identifiers import id_number_refusal
from server.phone_app import shell


async def test_the_page_and_its_files_are_served_without_a_token(client):
    page = await client.get("/app/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-cache"
    assert (await client.get("/app")).status_code == 200
    worker = await client.get("/app/sw.js")
    assert worker.status_code == 200 and worker.headers["service-worker-allowed"] == "/app/"
    manifest = await client.get("/app/manifest.webmanifest")
    assert manifest.json()["start_url"] == "/app/" and manifest.json()["display"] == "standalone"


async def test_only_the_apps_own_files_are_served(client):
    for name in ("../server/settings.py", "sw.js.bak", "icons/../../pyproject.toml", "nothing.js"):
        assert (await client.get(f"/app/{name}")).status_code == 404, name


async def test_the_precache_list_names_every_shell_file_and_changes_with_them(client, settings, tmp_path):
    listed = (await client.get("/app/shell.json")).json()
    for url in listed["urls"]:
        answer = await client.get(url)
        assert answer.status_code == 200, url
    assert "/static/vendor/vue/vue.global.prod.js" in listed["urls"]
    assert "/static/vendor/signature_pad/signature_pad.umd.min.js" in listed["urls"]
    assert {f"/app/{n}" for n in shell.APP_FILES if n != "index.html"} <= set(listed["urls"])
    # One changed byte in one file gives a new version (the service worker takes a new cache).
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    for name in shell.APP_FILES:
        (app_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (app_dir / name).write_bytes((settings.web.web_dir / "app" / name).read_bytes())
    before = shell.shell(app_dir, settings.web.vendor_dir)["version"]
    (app_dir / "app.js").write_bytes((app_dir / "app.js").read_bytes() + b"\n")
    assert shell.shell(app_dir, settings.web.vendor_dir)["version"] != before
    assert before == listed["version"]


async def test_the_vocabulary_carries_the_servers_own_rule_messages(client):
    vocab = (await client.get("/app/vocab.json")).json()
    assert vocab["labels"]["ItemOutcome"] == {"pass": "符合", "fail": "不符合", "not_applicable": "不适用"}
    assert vocab["messages"]["invalid_id_number"] == id_number_refusal("x").message
    assert "{count}" in vocab["messages"]["items_unanswered"] and "{items}" in vocab["messages"]["items_unanswered"]


async def test_vants_stylesheet_is_served_without_its_cdn_font(client):
    css = (await client.get("/app/vant.css")).text
    assert "@font-face" in css and "data:font/woff2" in css
    assert "alicdn" not in css and "//at." not in css


async def test_the_phone_shows_times_in_the_bureaus_time_zone_whatever_its_own(tmp_path):
    """vocab.json carries FIELDCHECK_TIMEZONE; the app formats every time in it (app.js ``when``)."""
    import dataclasses

    import httpx

    from server.app import create_app
    from server.settings import HazardSettings
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, hazards=dataclasses.replace(HazardSettings(), timezone="Asia/Urumqi"))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://fieldcheck.test") as client:
        vocab = (await client.get("/app/vocab.json")).json()
    assert vocab["timezone"] == "Asia/Urumqi"
    assert "timeZone: vocab.timezone" in (settings.web.web_dir / "app" / "app.js").read_text()
