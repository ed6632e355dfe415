"""HTTP for the phone app: its page, files, service worker, precache list and vocabulary (no data: that is sync)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.params import FromPath

from server.deps import AppSettings
from server.errors import NotFound
from server.phone_app import shell

#: The shell must be re-checked on every load (the service worker decides what is fresh); no page is framed.
_FRESH = {"cache-control": "no-cache", "x-frame-options": "DENY", "referrer-policy": "same-origin"}
#: Nothing but this server: scripts, styles, images (camera photos and the signature are blob:/data:), API calls.
_CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' blob: data:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class PhoneAppController(Controller):
    """The inspectors' offline-first web app (web/app/), installable from /app/."""

    path = "/app"
    include_in_schema = False

    @get("/", security=[])
    async def page(self, settings: AppSettings) -> Response[bytes]:
        return self._file(settings, "index.html")

    @get("/sw.js", security=[])
    async def service_worker(self, settings: AppSettings) -> Response[bytes]:
        answer = Response((settings.web.web_dir / "app" / "sw.js").read_bytes(), media_type="text/javascript")
        answer.headers.update({**_FRESH, "service-worker-allowed": "/app/"})
        return answer

    @get("/shell.json", security=[])
    async def precache(self, settings: AppSettings) -> dict:
        return shell.shell(settings.web.web_dir / "app", settings.web.vendor_dir, settings.hazards.timezone)

    @get("/vant.css", security=[])
    async def vant_css(self, settings: AppSettings) -> Response[bytes]:
        answer = Response(shell.vant_css(settings.web.vendor_dir), media_type="text/css; charset=utf-8")
        answer.headers.update(_FRESH)
        return answer

    @get("/vocab.json", security=[])
    async def vocab(self, settings: AppSettings) -> dict:
        return shell.vocabulary(settings.hazards.timezone)

    @get("/{name:path}", security=[])
    async def asset(self, settings: AppSettings, name: FromPath[str]) -> Response[bytes]:
        return self._file(settings, name.lstrip("/"))

    @staticmethod
    def _file(settings: AppSettings, name: str) -> Response[bytes]:
        media_type = shell.APP_FILES.get(name)
        if media_type is None:
            raise NotFound("文件不存在", "no such file")
        answer = Response((settings.web.web_dir / "app" / name).read_bytes(), media_type=media_type)
        answer.headers.update(_FRESH)
        if name == "index.html":
            answer.headers["content-security-policy"] = _CSP
        return answer
