"""SQL text for the statistics, generated from ``definitions`` (pure: strings and parameter lists).

One text for both engines: the SQL PostgreSQL and SQLite share, with the
``@macro(...)`` spellings of ``server.stats.dialect`` where they differ.
Parameters are numbered ``$n``. Every builder takes a :class:`Params` and
returns text that refers to the values it appended.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from server.hazards.policy import OPEN_STATES
from server.stats.definitions import HAZARD, INSPECTION, MEASURES, SOURCES, VIOLATION, Dim, Measure, Source
from server.stats.dialect import in_list
from server.stats.periods import Grain, Period, Span

#: Sentinel a drill-down or export uses for "no department recorded".
NONE_GROUP = "none"


class Params:
    """Collects positional parameters; calling it with a value returns its placeholder.

    ``zone`` is the bureau's time zone, in which a period's bounds become instants.
    """

    def __init__(self, zone: str) -> None:
        self.values: list[Any] = []
        self.zone = zone

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True)
class Filters:
    district: str | None = None
    sector: str | None = None
    department_id: uuid.UUID | None = None


def measures_of(source: Source) -> list[Measure]:
    return [m for m in MEASURES.values() if m.source is source]


def sum_columns(measures: list[Measure]) -> str:
    return ", ".join(f"CAST(SUM(CASE WHEN {m.condition} THEN {m.value} ELSE 0 END) AS BIGINT) AS {m.key}" for m in measures)


def moment_range(source: Source, periods: list[Period | Span], p: Params) -> str:
    """Records whose moment falls in any of ``periods``."""
    parts = []
    for period in periods:
        if source.moment_is_date:
            parts.append(f"({source.moment} >= {p(period.start)} AND {source.moment} < {p(period.end)})")
        else:
            parts.append(
                f"({source.moment} >= {p(period.start_at(p.zone))} AND {source.moment} < {p(period.end_at(p.zone))})"
            )
    return "(" + " OR ".join(parts) + ")"


def base_filters(source: Source, filters: Filters, p: Params) -> list[str]:
    out = []
    if filters.district:
        out.append(f"e.district = {p(filters.district)}")
    if filters.sector:
        out.append(f"e.sector = {p(filters.sector)}")
    if filters.department_id:
        out.append(f"{source.department} = {p(filters.department_id)}")
    return out


def rollup_filters(filters: Filters, p: Params) -> list[str]:
    out = []
    if filters.district:
        out.append(f"district = {p(filters.district)}")
    if filters.sector:
        out.append(f"sector = {p(filters.sector)}")
    if filters.department_id:
        out.append(f"department_id = {p(filters.department_id)}")
    return out


def base_group(source: Source, dim: Dim | None, grain: Grain) -> str | None:
    """The group expression over a base source; None when the source cannot be split so."""
    if dim is None:
        return "CAST(NULL AS TEXT)"
    if dim is Dim.PERIOD:
        return f"CAST(@trunc_{grain}({source.month_sql()}) AS TEXT)"
    if dim is Dim.DISTRICT:
        return "e.district"
    if dim is Dim.SECTOR:
        return "e.sector"
    if dim is Dim.DEPARTMENT:
        return f"CAST({source.department} AS TEXT)"
    return f"CAST({source.inspector} AS TEXT)" if source.inspector else None


def rollup_group(dim: Dim | None, grain: Grain) -> str:
    if dim is None:
        return "CAST(NULL AS TEXT)"
    if dim is Dim.PERIOD:
        return f"CAST(@trunc_{grain}(month) AS TEXT)"
    if dim is Dim.DEPARTMENT:
        return "CAST(department_id AS TEXT)"
    if dim is Dim.INSPECTOR:
        return "CAST(inspector_id AS TEXT)"
    return str(dim)


def from_clause(source: Source, dim: Dim | None) -> str:
    """The source's joins, plus the inspector attribution when splitting by inspector."""
    if dim is Dim.INSPECTOR and source.inspector_join:
        return f"{source.from_sql} {source.inspector_join}"
    return source.from_sql


def current_flag(source: Source, current: Period | Span, p: Params) -> str:
    if source.moment_is_date:
        return f"({source.moment} >= {p(current.start)})"
    return f"({source.moment} >= {p(current.start_at(p.zone))})"


def base_aggregate(
    source: Source, current: Period | Span, previous: Period | Span, filters: Filters, dim: Dim | None, grain: Grain, p: Params
) -> str | None:
    """The naive count: one GROUP BY over the base tables for this period and last year's."""
    group = base_group(source, dim, grain)
    if group is None:
        return None
    where = [source.where, moment_range(source, [previous, current], p), *base_filters(source, filters, p)]
    return (
        f"SELECT {current_flag(source, current, p)} AS cur, {group} AS grp, {sum_columns(measures_of(source))} "
        f"FROM {from_clause(source, dim)} WHERE {' AND '.join(where)} GROUP BY 1, 2"
    )


def rollup_aggregate(
    current: Period | Span,
    previous: Period | Span,
    filters: Filters,
    dim: Dim | None,
    grain: Grain,
    p: Params,
    *,
    months: list[dt.date] | None = None,
) -> str:
    """The same sums from the monthly rollup (the inspector table when splitting by inspector), per month ``m``.

    Per month, so a reader can keep them and count again only the months recounted since
    (``months``: only those).
    """
    table = "stats_monthly"
    if dim is Dim.INSPECTOR:
        # Unfiltered by place or sector, the much smaller per-inspector totals answer the same sums.
        table = "stats_inspector_monthly" if filters.district or filters.sector else "stats_inspector_total_monthly"
    sums = ", ".join(f"CAST(SUM({key}) AS BIGINT) AS {key}" for key in MEASURES)
    where = [
        f"((month >= {p(previous.start)} AND month < {p(previous.end)}) OR "
        f"(month >= {p(current.start)} AND month < {p(current.end)}))",
        *rollup_filters(filters, p),
    ]
    if months is not None:
        where.append(f"month IN {in_list(months, p)}")
    return (
        f"SELECT CAST(month AS TEXT) AS m, (month >= {p(current.start)}) AS cur, {rollup_group(dim, grain)} AS grp, {sums} "
        f"FROM {table} WHERE {' AND '.join(where)} GROUP BY 1, 2, 3"
    )


def month_range(month: dt.date | None, source: Source, p: Params) -> str:
    if month is None:
        return "TRUE"
    return moment_range(source, [Period(month, Grain.MONTH)], p)


def _all_columns(source: Source) -> str:
    """Every measure column, this source's summed and the others' zero, so sources can be UNIONed."""
    own = {m.key for m in measures_of(source)}
    return ", ".join(
f"CAST(SUM(CASE WHEN {m.condition} THEN {m.value} ELSE 0 END) AS BIGINT) AS {m.key}" if m.key in own else f"0 AS {m.key}"
        for m in MEASURES.values()
    )


def rollup_insert(month: dt.date | None, p: Params) -> str:
    """Recount ``stats_monthly`` for one month (or all months when ``month`` is None): one row per cell, all sources."""
    parts = [
        f"SELECT {source.month_sql()} AS month, e.district, e.sector, {source.department} AS department_id, "
        f"{_all_columns(source)} FROM {source.from_sql} "
        f"WHERE {source.where} AND {month_range(month, source, p)} GROUP BY 1, 2, 3, 4"
        for source in SOURCES.values()
    ]
    columns = ", ".join(MEASURES)
    sums = ", ".join(f"SUM({key})" for key in MEASURES)
    return (
        f"INSERT INTO stats_monthly (month, district, sector, department_id, {columns}) "
        f"SELECT month, district, sector, department_id, {sums} FROM ({' UNION ALL '.join(parts)}) cells "
        "GROUP BY 1, 2, 3, 4"
    )


def inspector_rollup_insert(month: dt.date | None, p: Params) -> str:
    """The same for ``stats_inspector_monthly``, over the sources that credit inspectors."""
    parts = [
        f"SELECT {source.month_sql()} AS month, {source.inspector} AS inspector_id, e.district, e.sector, "
        f"{source.department} AS department_id, {_all_columns(source)} FROM {from_clause(source, Dim.INSPECTOR)} "
        f"WHERE {source.where} AND {month_range(month, source, p)} GROUP BY 1, 2, 3, 4, 5"
        for source in SOURCES.values()
        if source.inspector is not None
    ]
    columns = ", ".join(MEASURES)
    sums = ", ".join(f"SUM({key})" for key in MEASURES)
    return (
        f"INSERT INTO stats_inspector_monthly (month, inspector_id, district, sector, department_id, {columns}) "
        f"SELECT month, inspector_id, district, sector, department_id, {sums} FROM ({' UNION ALL '.join(parts)}) cells "
        "GROUP BY 1, 2, 3, 4, 5"
    )


def inspector_total_insert(month: dt.date | None, p: Params) -> str:
    """``stats_inspector_total_monthly`` from ``stats_inspector_monthly`` (run after it)."""
    columns = ", ".join(MEASURES)
    sums = ", ".join(f"SUM({key})" for key in MEASURES)
    where = f"month = {p(month)}" if month is not None else "TRUE"
    return (
        f"INSERT INTO stats_inspector_total_monthly (month, inspector_id, department_id, {columns}) "
        f"SELECT month, inspector_id, department_id, {sums} FROM stats_inspector_monthly WHERE {where} GROUP BY 1, 2, 3"
    )


#: 逾期未整改 counts hazards whose fix is still owed, as the hazard loop decides it (found, rectifying):
#: one reported as rectified and awaiting its recheck is not "未整改".
UNRECTIFIED_SQL = "h.status IN ({})".format(", ".join(f"'{s}'" for s in sorted(OPEN_STATES)))


def open_hazard_insert(month: dt.date | None, p: Params) -> str:
    h = HAZARD
    return (
        "INSERT INTO stats_open_hazard (month, district, sector, department_id, inspector_id, deadline_date, hazards) "
        f"SELECT {h.month_sql()}, e.district, e.sector, {h.department}, {h.inspector}, h.deadline_date, count(*) "
        f"FROM {h.from_sql} WHERE {UNRECTIFIED_SQL} AND {month_range(month, h, p)} GROUP BY 1, 2, 3, 4, 5, 6"
    )


def person_insert(month: dt.date | None, p: Params) -> str:
    v = VIOLATION
    return (
        "INSERT INTO stats_person_monthly (month, district, sector, department_id, inspector_id, person_key, records) "
        f"SELECT {v.month_sql()}, e.district, e.sector, {v.department}, {v.inspector}, "
        "@person_key(v.id_number_hash), count(*) "
        f"FROM {v.from_sql} WHERE {month_range(month, v, p)} GROUP BY 1, 2, 3, 4, 5, 6"
    )


#: The dimensions a cube (every subset of them, SQLite has no CUBE) is kept over, and the bit of each in ``grouping``.
_COVERAGE_DIMS = ("district", "sector", "department")
_REPEAT_DIMS = ("district", "sector", "department", "inspector")


def _grouping_sets(dims: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
    """(GROUPING bits, dimensions kept) of every subset of ``dims``; a set bit means that dimension is summed over."""
    bits = {name: 1 << (len(dims) - 1 - n) for n, name in enumerate(dims)}
    return [
        (sum(bit for name, bit in bits.items() if name not in kept), kept)
        for kept in (
            tuple(name for name, keep in zip(dims, mask, strict=True) if keep)
            for mask in itertools.product((True, False), repeat=len(dims))
        )
    ]


_COVERAGE_SETS = _grouping_sets(_COVERAGE_DIMS)
_REPEAT_SETS = _grouping_sets(_REPEAT_DIMS)


def enterprise_month_insert(month: dt.date | None, p: Params) -> str:
    """Recount ``stats_enterprise_month`` for one month (or all): the enterprises each department checked, with checks."""
    i = INSPECTION
    return (
        "INSERT INTO stats_enterprise_month (month, enterprise, department_id, district, sector, registered, checks) "
        f"SELECT {i.month_sql()}, i.enterprise, {i.department}, e.district, e.sector, "
        "e.operating_status <> 'closed', count(*) "
        f"FROM {i.from_sql} WHERE {i.where} AND {month_range(month, i, p)} GROUP BY 1, 2, 3, 4, 5, 6"
    )


def coverage_insert(grain: Grain, period: Period | None, p: Params) -> str:
    """Distinct inspected enterprises for one period (or every period of ``grain``), for every subset of dims.

    Counted from ``stats_enterprise_month`` (refreshed first, month by month), not from the
    checks: a year's coverage reads a few rows per enterprise and month. The distinct
    (period, enterprise, department) pairs are taken once, and the enterprises once more without
    the department; district, sector and ``registered`` follow the enterprise (its registry entry;
    a change of it queues a full recount), so each of the eight groupings is a plain count of one
    of the two instead of a COUNT(DISTINCT) sort. (The eight are spelled out: SQLite has no CUBE.)
    """
    where = ["TRUE"]
    if period is not None:
        where.append(f"month >= {p(period.start)} AND month < {p(period.end)}")
    pairs = (
        f"SELECT DISTINCT @trunc_{grain}(month) AS period_start, enterprise, district, sector, department_id AS department, "
        f"CASE WHEN registered THEN 1 ELSE 0 END AS registered FROM stats_enterprise_month WHERE {' AND '.join(where)}"
    )
    enterprises = "SELECT DISTINCT period_start, enterprise, district, sector, registered FROM pairs"
    selects = []
    for bits, kept in _COVERAGE_SETS:
        columns = [name if name in kept else "NULL" for name in _COVERAGE_DIMS]
        selects.append(
            f"SELECT '{grain}', period_start, {bits}, {', '.join(columns)}, count(*), SUM(registered) "
            f"FROM {'pairs' if 'department' in kept else 'enterprises'} GROUP BY {', '.join(['period_start', *kept])}"
        )
    return (
        f"WITH pairs AS ({pairs}), enterprises AS ({enterprises}) "
        "INSERT INTO stats_coverage (grain, period_start, grouping, district, sector, department_id, "
        "enterprises, enterprises_in_registry) "
        + " UNION ALL ".join(selects)
    )


def repeat_insert(grain: Grain, period: Period | None, p: Params) -> str:
    """重复违章人员数 for one period (or every period of ``grain``), for every subset of district, sector,
    department and recorder: people with two or more 三违 records in that cell, from ``stats_person_monthly``."""
    where = ["TRUE"]
    if period is not None:
        where.append(f"month >= {p(period.start)} AND month < {p(period.end)}")
    people = (
        f"SELECT @trunc_{grain}(month) AS period_start, district, sector, department_id AS department, "
        f"inspector_id AS inspector, person_key, SUM(records) AS records FROM stats_person_monthly "
        f"WHERE {' AND '.join(where)} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    selects = []
    for bits, kept in _REPEAT_SETS:
        columns = [name if name in kept else "NULL" for name in _REPEAT_DIMS]
        group = ", ".join(["period_start", *kept])
        selects.append(
            f"SELECT '{grain}', period_start, {bits}, {', '.join(columns)}, count(*) FROM "
            f"(SELECT {group}, person_key FROM people GROUP BY {group}, person_key HAVING SUM(records) >= 2) x "
            f"GROUP BY {group}"
        )
    return (
        f"WITH people AS ({people}) "
        "INSERT INTO stats_repeat_offenders (grain, period_start, grouping, district, sector, department_id, inspector_id, people) "
        + " UNION ALL ".join(selects)
    )


def cube_grouping(filters: Filters, dim: Dim | None, *, inspector: bool = False) -> int:
    """The GROUPING() bits of the cube row that answers these filters split by ``dim``.

    The coverage cube is kept over district, sector and department; with ``inspector`` the
    repeat-offender cube's last dimension (the recorder) is a fourth, lowest bit.
    """
    keep_district = bool(filters.district) or dim is Dim.DISTRICT
    keep_sector = bool(filters.sector) or dim is Dim.SECTOR
    keep_department = bool(filters.department_id) or dim is Dim.DEPARTMENT
    bits = (0 if keep_district else 4) | (0 if keep_sector else 2) | (0 if keep_department else 1)
    if not inspector:
        return bits
    return bits << 1 | (0 if dim is Dim.INSPECTOR else 1)


def local_day(ts: str) -> str:
    return f"@day({ts})"
