"""Drill-down: the records behind a figure, a page at a time or streamed for export, and figures as tables.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from schemas import stats as wire
from schemas.enforcement import ActionStatus
from schemas.vocab import (
    LABELS,
    District,
    EnforcementKind,
    HazardLevel,
    HazardStatus,
    InspectionKind,
    InspectionStatus,
    ItemOutcome,
    Sector,
    ViolationType,
)
from server import database
from server.accounts.policy import Actor
from server.errors import InvalidInput
from server.stats import sql
from server.stats.definitions import (
    DIM_LABELS,
    HAZARD,
    INDICATORS,
    INSPECTION,
    MEASURES,
    SOURCES,
    VIOLATION,
    Dim,
    Indicator,
    Kind,
    Source,
    supports,
)
from server.stats.dialect import connect
from server.stats.periods import Period, local_today, parse_period
from server.stats.query import StatsQuery, scope_of, scoped
from server.stats.rollup import read_freshness
from server.stats.sql import NONE_GROUP, Params


MAX_PAGE_SIZE = 500

_ACTION_STATUS_LABELS = {
    ActionStatus.PROPOSED: "待决定",
    ActionStatus.AWAITING_REVIEW: "待法制审核",
    ActionStatus.IN_EFFECT: "已生效",
    ActionStatus.REJECTED: "不予决定",
    ActionStatus.TRANSFERRED: "已移送",
}
_TASK_STATUS_LABELS = {"drawn": "已抽取", "released": "已下达", "done": "已完成", "cancelled": "已取消"}


def _labels(enum_cls: Any) -> dict[str, str]:
    return {str(v): LABELS[v] for v in enum_cls}


#: Drill-down cells shown in Chinese: (source key, column header) → value → label.
_CELL_LABELS: dict[tuple[str, str], dict[str, str]] = {}
for _source in SOURCES.values():
    _CELL_LABELS[(_source.key, "区县")] = _labels(District)
    _CELL_LABELS[(_source.key, "行业")] = _labels(Sector)
_CELL_LABELS[("inspection", "检查类型")] = _labels(InspectionKind)
_CELL_LABELS[("inspection", "状态")] = _labels(InspectionStatus)
_CELL_LABELS[("item", "结果")] = _labels(ItemOutcome)
_CELL_LABELS[("hazard", "隐患等级")] = _labels(HazardLevel)
_CELL_LABELS[("hazard", "状态")] = _labels(HazardStatus)
_CELL_LABELS[("violation", "三违类型")] = _labels(ViolationType)
_CELL_LABELS[("action", "措施类型")] = _labels(EnforcementKind)
_CELL_LABELS[("action", "状态")] = {str(k): v for k, v in _ACTION_STATUS_LABELS.items()}
_CELL_LABELS[("spot_task", "任务状态")] = _TASK_STATUS_LABELS
_CELL_LABELS[("enterprise", "区县")] = _labels(District)
_CELL_LABELS[("enterprise", "行业")] = _labels(Sector)


@dataclass(frozen=True)
class _Drill:
    """A drill-down as SQL: the listing query (ordered), its count, and how rows read."""

    source_key: str
    columns: list[str]
    select: str
    from_where: str
    order: str
    params: list[Any]
    counted: str | None = None  # SQL boolean: the row is in the numerator
    person: str | None = None  # SQL expression naming the person (repeat offenders)
    link: str = "NULL"  # SQL: the row's record page in the console


def _select(columns: Iterable[str]) -> str:
    """Drill-down cells as text, each named (two unnamed columns would collide in a row mapping)."""
    return ", ".join(f"CAST(({expr}) AS TEXT) AS c{n}" for n, expr in enumerate(columns))


def _drill_period(query: StatsQuery, by: Dim | None, group: str | None) -> Period:
    if by is Dim.PERIOD and group:
        try:
            return parse_period(group)
        except ValueError as exc:
            raise InvalidInput("分组期间格式有误", str(exc), field="group") from None
    return query.period


def _drill_plan(query: StatsQuery, indicator: Indicator, by: Dim | None, group: str | None) -> _Drill:
    if not supports(indicator, by):
        raise InvalidInput(f"指标“{indicator.name}”不按{DIM_LABELS[by]}统计", "indicator not split by this dimension")  # type: ignore[index]
    period = _drill_period(query, by, group)
    if indicator.key in ("coverage_rate", "enterprises_inspected", "registry_enterprises"):
        return _enterprise_drill(query, period, indicator, by, group)
    if indicator.kind is Kind.RATIO:
        numerator, denominator = MEASURES.get(indicator.numerator or ""), MEASURES.get(indicator.denominator or "")
        assert numerator is not None and denominator is not None
        if numerator.source is denominator.source:
            return _record_drill(query, period, denominator.source, denominator.condition, by, group, counted=numerator.condition)
        # 每千家次: the records of the numerator (the checks are its own figure).
        return _record_drill(query, period, numerator.source, numerator.condition, by, group)
    if indicator.key == "hazards_overdue":
        today = query.today or local_today(database.timezone())
        return _record_drill(
            query, period, HAZARD, sql.UNRECTIFIED_SQL + " AND h.deadline_date < {today}", by, group, today=today
        )
    if indicator.key == "repeat_offenders":
        return _repeat_drill(query, period, by, group)
    measure = MEASURES[indicator.measure or indicator.key]
    return _record_drill(query, period, measure.source, measure.condition, by, group)


def _group_condition(source: Source, by: Dim | None, group: str | None, p: Params) -> list[str]:
    if by is None or group is None or by is Dim.PERIOD:
        return []
    expr = {
        Dim.DISTRICT: "e.district",
        Dim.SECTOR: "e.sector",
        Dim.DEPARTMENT: source.department,
        Dim.INSPECTOR: source.inspector,
    }[by]
    if expr is None:
        raise InvalidInput("该指标不按检查人员统计", "no inspector attribution")
    if group == NONE_GROUP:
        return [f"{expr} IS NULL"]
    if by in (Dim.DEPARTMENT, Dim.INSPECTOR):
        try:
            return [f"{expr} = {p(uuid.UUID(group))}"]
        except ValueError:
            raise InvalidInput("分组编号格式有误", "group is not a UUID", field="group") from None
    return [f"{expr} = {p(group)}"]


def _record_drill(
    query: StatsQuery,
    period: Period,
    source: Source,
    condition: str,
    by: Dim | None,
    group: str | None,
    *,
    counted: str | None = None,
    today: dt.date | None = None,
) -> _Drill:
    p = Params(database.timezone())
    if today is not None:
        condition = condition.format(today=p(today))
    where = [source.where, condition, sql.moment_range(source, [period], p), *sql.base_filters(source, query.filters, p)]
    where += _group_condition(source, by, group, p)
    return _Drill(
        source_key=source.key,
        columns=[c for c, _ in source.columns],
        select=_select(expr for _, expr in source.columns),
        from_where=f"FROM {sql.from_clause(source, by)} WHERE {' AND '.join(where)}",
        order=f"{source.moment}, {source.id_column}",
        params=p.values,
        counted=counted,
        link=source.link,
    )


def _repeat_drill(query: StatsQuery, period: Period, by: Dim | None, group: str | None) -> _Drill:
    p = Params(database.timezone())
    where = [sql.moment_range(VIOLATION, [period], p), *sql.base_filters(VIOLATION, query.filters, p)]
    where += _group_condition(VIOLATION, by, group, p)
    scope = " AND ".join(where)
    # The same scope twice: once to find the people with two or more records, once to list those records.
    people = f"SELECT v.id_number_hash FROM {VIOLATION.from_sql} WHERE {scope} GROUP BY 1 HAVING count(*) >= 2"
    return _Drill(
        source_key=VIOLATION.key,
        columns=["人员序号", *[c for c, _ in VIOLATION.columns]],
        select=_select(["dense_rank() OVER (ORDER BY v.id_number_hash)", *(expr for _, expr in VIOLATION.columns)]),
        from_where=f"FROM {VIOLATION.from_sql} WHERE {scope} AND v.id_number_hash IN ({people})",
        order="v.id_number_hash, v.recorded_at, v.id",
        params=p.values,
        person="v.id_number_hash",
        link=VIOLATION.link,
    )


def _enterprise_drill(query: StatsQuery, period: Period, indicator: Indicator, by: Dim | None, group: str | None) -> _Drill:
    p = Params(database.timezone())
    f = query.filters
    checks_where = [INSPECTION.where, sql.moment_range(INSPECTION, [period], p)]
    department = f.department_id
    if by is Dim.DEPARTMENT and group is not None:
        checks_where += _group_condition(INSPECTION, by, group, p)
    if department:
        checks_where.append(f"i.department = {p(department)}")
    checks = (
        "LEFT JOIN (SELECT i.enterprise AS enterprise, count(*) AS n FROM inspection i "
        f"WHERE {' AND '.join(checks_where)} GROUP BY i.enterprise) checks ON checks.enterprise = e.id"
    )
    n = "COALESCE(checks.n, 0)"
    where = []
    if f.district:
        where.append(f"e.district = {p(f.district)}")
    if f.sector:
        where.append(f"e.sector = {p(f.sector)}")
    if by in (Dim.DISTRICT, Dim.SECTOR) and group is not None:
        where.append(f"e.{by} = {p(group)}")
    if indicator.key == "enterprises_inspected":
        where.append(f"{n} > 0")
    else:
        where.append("e.operating_status <> 'closed'")
    columns = [("企业名称", "e.name"), ("统一社会信用代码", "e.credit_code"), ("区县", "e.district"), ("行业", "e.sector"),
               ("期内检查次数", n)]
    return _Drill(
        source_key="enterprise",
        columns=[c for c, _ in columns],
        select=_select(expr for _, expr in columns),
        from_where=f"FROM enterprise e {checks} WHERE {' AND '.join(where)}",
        order=f"{n} DESC, e.name, e.id",
        params=p.values,
        counted=f"{n} > 0" if indicator.key == "coverage_rate" else None,
        link="'/console/enterprises/' || CAST(e.id AS TEXT)",
    )


def _translate(source_key: str, columns: list[str], row: Iterable[Any]) -> list[str]:
    out = []
    for header, cell in zip(columns, row, strict=True):
        text = "" if cell is None else str(cell)
        labels = _CELL_LABELS.get((source_key, header))
        out.append(labels.get(text, text) if labels else text)
    return out


def _indicator(key: str) -> Indicator:
    indicator = INDICATORS.get(key)
    if indicator is None:
        raise InvalidInput(f"没有这个指标：{key}", f"unknown indicator {key}", field="indicator")
    return indicator


async def drilldown(
    actor: Actor,
    query: StatsQuery,
    indicator_key: str,
    *,
    by: Dim | None = None,
    group: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> wire.DrillDown:
    """One page of the records behind a figure (every row is counted in it; see ``counted`` for ratios)."""
    query = scoped(actor, query)
    indicator = _indicator(indicator_key)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    plan = _drill_plan(query, indicator, by, group)
    counted_col = f", ({plan.counted}) AS counted__" if plan.counted else ""
    n = len(plan.params)
    listing = (
        f"SELECT {plan.select}{counted_col}, {plan.link} AS link__ {plan.from_where} ORDER BY {plan.order} "
        f"LIMIT ${n + 1} OFFSET ${n + 2}"
    )
    async with connect() as conn, conn.transaction(write=False):
        fresh = await read_freshness(conn, "base", [])
        total = await conn.fetchval(f"SELECT count(*) {plan.from_where}", *plan.params)
        rows = await conn.fetch(listing, *plan.params, page_size, (page - 1) * page_size)
        people = None
        if plan.person:
            people = await conn.fetchval(f"SELECT count(DISTINCT {plan.person}) {plan.from_where}", *plan.params)
    width = len(plan.columns)
    return wire.DrillDown(
        indicator=indicator.key,
        title=_drill_title(indicator, query, by, group),
        scope=scope_of(query),
        by=str(by) if by else None,
        group=group,
        columns=plan.columns,
        rows=[_translate(plan.source_key, plan.columns, list(r.values())[:width]) for r in rows],
        counted=[bool(r["counted__"]) for r in rows] if plan.counted else None,
        distinct_people=people,
        total=total,
        page=page,
        page_size=page_size,
        links=[r["link__"] for r in rows],
        freshness=fresh,
    )


async def iter_drilldown(
    actor: Actor, query: StatsQuery, indicator_key: str, *, by: Dim | None = None, group: str | None = None
) -> tuple[str, list[str], AsyncIterator[list[str]]]:
    """Every record behind a figure, read with a server-side cursor (constant memory): title, headers, rows."""
    query = scoped(actor, query)
    indicator = _indicator(indicator_key)
    plan = _drill_plan(query, indicator, by, group)
    columns = plan.columns + (["计入分子"] if plan.counted else [])
    counted_col = f", ({plan.counted}) AS counted__" if plan.counted else ""
    text = f"SELECT {plan.select}{counted_col} {plan.from_where} ORDER BY {plan.order}"
    width = len(plan.columns)

    async def rows() -> AsyncIterator[list[str]]:
        async with connect() as conn, conn.transaction(write=False):
            async for values in conn.rows(text, *plan.params):
                out = _translate(plan.source_key, plan.columns, values[:width])
                if plan.counted:
                    out.append("是" if values[width] else "否")
                yield out

    return _drill_title(indicator, query, by, group), columns, rows()


def _drill_title(indicator: Indicator, query: StatsQuery, by: Dim | None, group: str | None) -> str:
    """发现隐患数（2025年，中宁县）: the figure, its period and the place or sector it was split by."""
    parts = [_drill_period(query, by, group).label]
    place = {**{str(d): LABELS[d] for d in District}, **{str(s): LABELS[s] for s in Sector}}
    if by in (Dim.DISTRICT, Dim.SECTOR) and group in place:
        parts.append(place[group])
    return f"{indicator.name}（{'，'.join(parts)}）"


def figure_rows(view: wire.Summary | wire.Breakdown) -> tuple[list[str], list[list[str]]]:
    """A summary or breakdown as a table for export: one row per indicator (or group × indicator)."""
    headers = ["指标", "单位", "本期", "上年同期", "同比"]
    if isinstance(view, wire.Summary):
        return headers + ["指标口径"], [_figure_cells(f) + [INDICATORS[f.key].definition] for f in view.figures]
    out = []
    for row in view.rows:
        for f in row.figures:
            if f.value is None and f.previous is None and not supports(INDICATORS[f.key], Dim(view.by)):
                continue
            out.append([row.label, *_figure_cells(f)])
    return [view.by_label, *headers], out


def _figure_cells(f: wire.Figure) -> list[str]:
    indicator = INDICATORS[f.key]

    def show(v: float | None) -> str:
        if v is None:
            return ""
        return f"{v:.2f}" if indicator.kind is Kind.RATIO else f"{v:g}" if isinstance(v, float) else str(v)

    change = "" if f.change is None else f"{f.change * 100:+.1f}%"
    return [indicator.name, indicator.unit, show(f.value), show(f.previous), change]
