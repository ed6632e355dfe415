"""HTTP for leader statistics (GET only) and the dashboard page with its local assets."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import File, Response, Stream

from schemas import stats as wire
from schemas.vocab import District, Role, Sector
from server.accounts.auth import requires_role
from server.api_docs import Bodies
from server.deps import AppSettings, CurrentActor
from server.errors import InvalidInput, NotFound
from server import exports
from server.stats import drilldown as stats_drill
from server.stats import query as stats_query
from server.stats import views as stats_views
from server.stats.definitions import Dim
from server.settings import Settings
from server.stats.periods import Grain

READERS = requires_role(Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
PeriodText = Annotated[str, QueryParameter(max_length=7, pattern=r"^\d{4}(-Q[1-4]|-\d{2})?$")]
IndicatorKey = Annotated[str, QueryParameter(max_length=64, pattern=r"^[a-z_]+$")]
GroupText = Annotated[str, QueryParameter(max_length=64)]
Page = Annotated[int, QueryParameter(ge=1, le=100_000)]
PageSize = Annotated[int, QueryParameter(ge=1, le=stats_drill.MAX_PAGE_SIZE)]

_ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css", "zhongwei-districts.geojson": "application/geo+json"}


def _page_dir(settings: Settings) -> Path:
    """The dashboard's files: ``web/dashboard`` (FIELDCHECK_WEB_DIR)."""
    return Path(settings.web.web_dir) / "dashboard"


class StatsController(Controller):
    path = "/api/v1/stats"
    tags = ["统计 statistics"]
    guards = [READERS]
    opt = {"errors": (503,)}  # a recount that cannot finish answers 503

    @get("/indicators")
    async def list_indicators(self) -> list[wire.IndicatorDefinition]:
        """全部统计指标及其指标口径。"""
        return stats_views.list_indicators()

    @get("/summary")
    async def summary(
        self,
        actor: CurrentActor,
        period: FromQuery[PeriodText | None] = None,
        district: FromQuery[District | None] = None,
        sector: FromQuery[Sector | None] = None,
        department_id: FromQuery[uuid.UUID | None] = None,
    ) -> wire.Summary:
        """本期各项指标及上年同期、同比（期间：2025 / 2025-Q2 / 2025-03）。"""
        return await stats_views.summary(actor, stats_query.query_from(period, district, sector, department_id))

    @get("/breakdown")
    async def breakdown(
        self,
        actor: CurrentActor,
        by: FromQuery[Dim],
        period: FromQuery[PeriodText | None] = None,
        grain: FromQuery[Grain | None] = None,
        district: FromQuery[District | None] = None,
        sector: FromQuery[Sector | None] = None,
        department_id: FromQuery[uuid.UUID | None] = None,
    ) -> wire.Breakdown:
        """按期间（月/季/年趋势）、区县、行业、科室或检查人员分组的各项指标。"""
        query = stats_query.query_from(period, district, sector, department_id)
        return await stats_views.breakdown(actor, query, by, grain=grain)

    @get("/dashboard")
    async def dashboard(
        self,
        actor: CurrentActor,
        period: FromQuery[PeriodText | None] = None,
        trend_grain: FromQuery[Grain | None] = None,
        district: FromQuery[District | None] = None,
        sector: FromQuery[Sector | None] = None,
        department_id: FromQuery[uuid.UUID | None] = None,
    ) -> wire.Dashboard:
        """驾驶舱一次取齐：概要、趋势、按区县/行业/科室/检查人员分组。"""
        query = stats_query.query_from(period, district, sector, department_id)
        return await stats_views.dashboard(actor, query, trend_grain=trend_grain or Grain.MONTH)

    @get("/drilldown")
    async def drilldown(
        self,
        actor: CurrentActor,
        indicator: FromQuery[IndicatorKey],
        period: FromQuery[PeriodText | None] = None,
        district: FromQuery[District | None] = None,
        sector: FromQuery[Sector | None] = None,
        department_id: FromQuery[uuid.UUID | None] = None,
        by: FromQuery[Dim | None] = None,
        group: FromQuery[GroupText | None] = None,
        page: Page = 1,
        page_size: PageSize = 50,
    ) -> wire.DrillDown:
        """钻取：列出某个数字背后的全部记录（分页）；比率指标标明每条是否计入分子。"""
        query = stats_query.query_from(period, district, sector, department_id)
        return await stats_drill.drilldown(
            actor, query, indicator, by=by, group=group, page=page, page_size=page_size
        )

    @get(
        "/export",
        opt={
            "doc": Bodies(
                responses={200: {media: None for media in exports.MEDIA_TYPES.values()}},
                headers={200: {"content-disposition": "attachment; filename*=UTF-8''…"}},
            )
        },
    )
    async def export(
        self,
        actor: CurrentActor,
        view: FromQuery[Literal["summary", "breakdown", "drilldown"]],
        format: FromQuery[Literal["csv", "xlsx"]] = "csv",
        period: FromQuery[PeriodText | None] = None,
        grain: FromQuery[Grain | None] = None,
        district: FromQuery[District | None] = None,
        sector: FromQuery[Sector | None] = None,
        department_id: FromQuery[uuid.UUID | None] = None,
        by: FromQuery[Dim | None] = None,
        group: FromQuery[GroupText | None] = None,
        indicator: FromQuery[IndicatorKey | None] = None,
    ) -> Stream:
        """导出任一视图为 CSV 或 XLSX（中文表头，流式输出）。"""
        query = stats_query.query_from(period, district, sector, department_id)
        if view == "drilldown":
            if not indicator:
                raise InvalidInput("导出明细须指定指标", "indicator is required", field="indicator")
            title, headers, rows = await stats_drill.iter_drilldown(actor, query, indicator, by=by, group=group)
            table: object = rows
        else:
            if view == "summary":
                result: wire.Summary | wire.Breakdown = await stats_views.summary(actor, query)
                title = f"统计概要（{result.scope.period_label}）"
            else:
                result = await stats_views.breakdown(actor, query, by or Dim.DISTRICT, grain=grain)
                title = f"按{result.by_label}统计（{result.scope.period_label}）"
            headers, table = stats_drill.figure_rows(result)
        writer = exports.csv_stream if format == "csv" else exports.xlsx_stream
        return Stream(
            writer(title, headers, table),  # type: ignore[arg-type]
            media_type=exports.MEDIA_TYPES[format],
            headers={"content-disposition": exports.content_disposition(title, format)},
        )


class DashboardController(Controller):
    """The dashboard page: a static shell that logs in and calls the API with its token."""

    path = "/"
    include_in_schema = False

    @get("/dashboard", media_type="text/html", security=[])
    async def page(self, settings: AppSettings) -> Response[bytes]:
        return Response((_page_dir(settings) / "dashboard.html").read_bytes(), media_type="text/html")

    @get("/static/stats/{name:str}", security=[])
    async def asset(self, name: FromPath[str], settings: AppSettings) -> File:
        if name not in _ASSETS:
            raise NotFound("文件不存在", "no such asset")
        return File(_page_dir(settings) / name, content_disposition_type="inline", media_type=_ASSETS[name])
