"""The console's routes in one Router, behind its guard and error pages (see ``server.console.web``)."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from server.console import (
    auth_pages,
    checklist_pages,
    checks,
    conflict_pages,
    document_pages,
    enforcement,
    enterprise_pages,
    hazards,
    people_pages,
    registry_pages,
    signature_pages,
    spotchecks,
    violations,
    web,
)
from server.settings import Settings

#: Every page group's routes. A group appends its module's ROUTES here.
PAGE_GROUPS: list[list[Any]] = [
    auth_pages.ROUTES,
    registry_pages.ROUTES,
    enterprise_pages.ROUTES,
    people_pages.ROUTES,
    conflict_pages.ROUTES,
    checklist_pages.ROUTES,
    checks.ROUTES,
    spotchecks.ROUTES,
    hazards.ROUTES,
    enforcement.ROUTES,
    violations.ROUTES,
    document_pages.ROUTES,
    signature_pages.ROUTES,
]


def console_routers(settings: Settings) -> list[Any]:
    """The pages under /console and their css/js under /console/static (no session needed for those)."""
    pages = Router(
        path="/",
        route_handlers=[handler for group in PAGE_GROUPS for handler in group],
        guards=[web.console_guard],
        exception_handlers=web.EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/console/static", directories=[web.static_dir(settings)], include_in_schema=False
    )
    return [static, pages]
