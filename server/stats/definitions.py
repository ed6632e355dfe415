"""Every indicator, with its written 指标口径, and the SQL that counts it.

This module is the single source of truth for what a figure means. The same
:class:`Source` and :class:`Measure` definitions generate

- the rollup refresh (``stats_monthly`` / ``stats_inspector_monthly``),
- the direct count over the base tables (the naive path the benchmark compares with),
- the drill-down that lists the records behind a figure,

so a figure, its recount and its records cannot drift apart.

Counting rules shared by all indicators (通用口径):

- 统计口径时间按北京时间划分月、季、年；每条记录按下面各来源写明的日期归属期间。
- 区县、行业取被检查企业在企业名录中的当前登记。
- 科室取记录所属检查的承办科室；没有所属检查的三违记录和执法措施取录入人/提出人所在科室。
- 同比 = (本期 − 上年同期) ÷ 上年同期；上年同期为 0 时不计算。
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from schemas.vocab import EnforcementKind, InspectionKind, ViolationType, label
from server.spotchecks import covert


class Dim(StrEnum):
    """What a breakdown groups by."""

    PERIOD = "period"
    DISTRICT = "district"
    SECTOR = "sector"
    DEPARTMENT = "department"
    INSPECTOR = "inspector"


DIM_LABELS = {
    Dim.PERIOD: "期间",
    Dim.DISTRICT: "区县",
    Dim.SECTOR: "行业",
    Dim.DEPARTMENT: "科室",
    Dim.INSPECTOR: "检查人员",
}


@dataclass(frozen=True)
class Source:
    """One kind of base record, joined to its enterprise (alias ``e``) and inspection (``i``)."""

    key: str
    name: str
    from_sql: str
    moment: str  # when the record counts: a timestamptz expression, or a date when moment_is_date
    where: str  # which records count at all
    department: str
    inspector_join: str | None  # extra join that attributes the record to inspectors
    inspector: str | None
    id_column: str
    columns: tuple[tuple[str, str], ...]  # drill-down columns: (中文表头, SQL expression)
    moment_is_date: bool = False
    rule: str = ""  # the source's own 口径 sentence
    link: str = "NULL"  # SQL: the console page of the record behind a drill-down row

    def month_sql(self) -> str:
        """The first day of the record's month, in the bureau's zone (macros: ``server.stats.dialect``)."""
        if self.moment_is_date:
            return f"@trunc_month({self.moment})"
        return f"@month({self.moment})"

    def day_sql(self) -> str:
        if self.moment_is_date:
            return self.moment
        return f"@day({self.moment})"


def _local(ts: str) -> str:
    return f"@minute({ts})"


_ENTERPRISE_COLUMNS = (
    ("企业名称", "e.name"),
    ("统一社会信用代码", "e.credit_code"),
    ("区县", "e.district"),
    ("行业", "e.sector"),
)
_DEPARTMENT_NAME = "(SELECT d.name FROM department d WHERE d.id = {dep})"
_USER_NAME = "(SELECT u.display_name FROM app_user u WHERE u.id = {user})"
_TEAM = "@team(i.id)"

INSPECTION = Source(
    key="inspection",
    link="'/console/inspections/' || CAST(i.id AS TEXT)",
    name="检查记录",
    from_sql="inspection i JOIN enterprise e ON e.id = i.enterprise",
    moment="i.submitted_at",
    where="i.status IN ('submitted', 'reviewed') AND i.submitted_at IS NOT NULL",
    department="i.department",
    inspector_join='JOIN inspection_inspector ii ON ii.inspection = i.id',
    inspector='ii."user"',
    id_column="i.id",
    columns=(
        ("检查编号", "CAST(i.id AS TEXT)"),
        ("检查时间", _local("i.submitted_at")),
        *_ENTERPRISE_COLUMNS,
        ("检查类型", "i.kind"),
        ("状态", "i.status"),
        ("承办科室", _DEPARTMENT_NAME.format(dep="i.department")),
        ("检查人员", _TEAM),
    ),
    rule="已提交或已审核的检查，按提交时间归期；一次检查计一家次。",
)

ITEM = Source(
    key="item",
    link="'/console/inspections/' || CAST(i.id AS TEXT)",
    name="检查项目结果",
    from_sql="item_result r JOIN inspection i ON i.id = r.inspection JOIN enterprise e ON e.id = i.enterprise",
    moment="i.submitted_at",
    where="i.status IN ('submitted', 'reviewed') AND i.submitted_at IS NOT NULL",
    department="i.department",
    inspector_join=None,
    inspector=None,
    id_column="r.id",
    columns=(
        ("结果编号", "CAST(r.id AS TEXT)"),
        ("检查编号", "CAST(i.id AS TEXT)"),
        ("检查时间", _local("i.submitted_at")),
        *_ENTERPRISE_COLUMNS,
        ("检查项", "(SELECT c.code || ' ' || c.text FROM checklist_item c WHERE c.id = r.item)"),
        ("结果", "r.outcome"),
        ("备注", "r.note"),
    ),
    rule="已提交或已审核检查中的检查项结果，按所属检查的提交时间归期。",
)

HAZARD = Source(
    key="hazard",
    link="'/console/hazards/' || CAST(h.id AS TEXT)",
    name="隐患",
    from_sql="hazard h JOIN enterprise e ON e.id = h.enterprise LEFT JOIN inspection i ON i.id = h.inspection",
    moment="h.found_at",
    where="TRUE",
    department="i.department",
    inspector_join=None,
    inspector="h.found_by",
    id_column="h.id",
    columns=(
        ("隐患编号", "CAST(h.id AS TEXT)"),
        ("发现时间", _local("h.found_at")),
        *_ENTERPRISE_COLUMNS,
        ("隐患等级", "h.level"),
        ("隐患描述", "h.description"),
        ("整改期限", "CAST(h.deadline_date AS TEXT)"),
        ("状态", "h.status"),
        ("挂牌督办", "CASE WHEN h.listed_supervision THEN '是' ELSE '否' END"),
        ("销号时间", f"COALESCE({_local('h.closed_at')}, '')"),
        ("发现人", _USER_NAME.format(user="h.found_by")),
    ),
    rule="检查中发现的隐患，按发现时间归期；一条隐患计一项。",
)

VIOLATION = Source(
    key="violation",
    link="CASE WHEN v.inspection IS NULL THEN '/console/enterprises/' || CAST(e.id AS TEXT) ELSE '/console/inspections/' || CAST(v.inspection AS TEXT) END",
    name="三违记录",
    from_sql=(
        "violation_record v JOIN enterprise e ON e.id = v.enterprise"
        " LEFT JOIN inspection i ON i.id = v.inspection LEFT JOIN app_user ru ON ru.id = v.recorded_by"
    ),
    moment="v.recorded_at",
    where="TRUE",
    department="COALESCE(i.department, ru.department)",
    inspector_join=None,
    inspector="v.recorded_by",
    id_column="v.id",
    columns=(
        ("记录编号", "CAST(v.id AS TEXT)"),
        ("查处时间", _local("v.recorded_at")),
        *_ENTERPRISE_COLUMNS,
        ("姓名", "v.person_name"),
        ("身份证号", "v.id_number_masked"),
        ("岗位", "v.post"),
        ("三违类型", "v.violation_type"),
        ("违章情形", "v.description"),
        ("录入人", _USER_NAME.format(user="v.recorded_by")),
    ),
    rule="登记的三违记录，按查处时间归期；一人一次计一人次。",
)

ACTION = Source(
    key="action",
    link="'/console/enforcement/' || CAST(a.id AS TEXT)",
    name="执法措施",
    from_sql=(
        "enforcement_action a JOIN enterprise e ON e.id = a.enterprise"
        " LEFT JOIN inspection i ON i.id = a.inspection LEFT JOIN app_user pu ON pu.id = a.proposed_by"
    ),
    moment="COALESCE(a.effective_at, a.decided_at)",
    where="a.status IN ('in_effect', 'transferred') AND COALESCE(a.effective_at, a.decided_at) IS NOT NULL",
    department="COALESCE(i.department, pu.department)",
    inspector_join=None,
    inspector="a.proposed_by",
    id_column="a.id",
    columns=(
        ("措施编号", "CAST(a.id AS TEXT)"),
        ("生效时间", _local("COALESCE(a.effective_at, a.decided_at)")),
        *_ENTERPRISE_COLUMNS,
        ("措施类型", "a.kind"),
        ("罚款金额（元）", "COALESCE(CAST(a.amount_yuan AS TEXT), '')"),
        ("文书编号", "a.document_number"),
        ("状态", "a.status"),
        ("提出人", _USER_NAME.format(user="a.proposed_by")),
    ),
    rule="已生效（含已移送司法）的执法措施，按生效时间（无则按决定时间）归期。",
)

RECHECK = Source(
    key="recheck",
    link="'/console/hazards/' || CAST(rh.id AS TEXT)",
    name="回头看复查",
    from_sql=(
        "recheck r JOIN enterprise e ON e.id = r.enterprise JOIN hazard rh ON rh.id = r.hazard"
        " LEFT JOIN inspection i ON i.id = rh.inspection"
    ),
    moment="r.result_at",
    where="r.status IN ('passed', 'failed') AND r.result_at IS NOT NULL",
    department="i.department",
    inspector_join=None,
    inspector="r.result_by",
    id_column="r.id",
    columns=(
        ("复查编号", "CAST(r.id AS TEXT)"),
        ("复查时间", _local("r.result_at")),
        *_ENTERPRISE_COLUMNS,
        ("隐患描述", "rh.description"),
        ("复查结论", "CASE WHEN r.status = 'passed' THEN '合格' ELSE '不合格' END"),
        ("复查人", _USER_NAME.format(user="r.result_by")),
    ),
    rule="已出结论（合格或不合格）的复查，按出结论时间归期；隐患所属科室为复查科室。",
)

SPOT_TASK = Source(
    key="spot_task",
    link="'/console/spotchecks/' || CAST(c.id AS TEXT)",
    name="抽查任务",
    from_sql=(
        "spot_check_task t JOIN spot_check_campaign c ON c.id = t.campaign JOIN enterprise e ON e.id = t.enterprise"
    ),
    moment="t.planned_date",
    moment_is_date=True,
    where=f"t.status <> 'cancelled' AND {covert.shown_task_sql('t', 'c')}",
    department="c.department",
    inspector_join=None,
    inspector=None,
    id_column="t.id",
    columns=(
        ("任务编号", "CAST(t.id AS TEXT)"),
        ("计划日期", "CAST(t.planned_date AS TEXT)"),
        ("抽查计划", "c.name"),
        *_ENTERPRISE_COLUMNS,
        ("暗访", "CASE WHEN c.covert THEN '是' ELSE '否' END"),
        ("任务状态", "t.status"),
    ),
    rule="抽查计划抽中的任务（不含已取消；暗访任务自发布起计入，发布前不计），按计划检查日期归期。",
)

SOURCES = {s.key: s for s in (INSPECTION, ITEM, HAZARD, VIOLATION, ACTION, RECHECK, SPOT_TASK)}


@dataclass(frozen=True)
class Measure:
    """An additive count (or sum) over one source: the rollup stores one column per measure."""

    key: str
    source: Source
    condition: str = "TRUE"
    value: str = "1"


def _measures() -> list[Measure]:
    m = [Measure("checks", INSPECTION)]
    m += [Measure(f"checks_{k}", INSPECTION, f"i.kind = '{k}'") for k in InspectionKind]
    m += [
        Measure("items_checked", ITEM, "r.outcome <> 'not_applicable'"),
        Measure("items_failed", ITEM, "r.outcome = 'fail'"),
        Measure("hazards_found", HAZARD),
        Measure("hazards_general", HAZARD, "h.level = 'general'"),
        Measure("hazards_major", HAZARD, "h.level = 'major'"),
        Measure("hazards_rectified", HAZARD, "h.status = 'closed'"),
        Measure(
            "hazards_rectified_on_time",
            HAZARD,
            "h.status = 'closed' AND @day(h.closed_at) <= h.deadline_date",
        ),
        Measure("major_listed", HAZARD, "h.level = 'major' AND h.listed_supervision"),
        Measure("major_closed", HAZARD, "h.level = 'major' AND h.status = 'closed'"),
        Measure("major_open", HAZARD, "h.level = 'major' AND h.status <> 'closed'"),
        Measure("violations", VIOLATION),
    ]
    m += [Measure(f"violations_{t}", VIOLATION, f"v.violation_type = '{t}'") for t in ViolationType]
    m += [Measure("actions", ACTION)]
    m += [Measure(f"actions_{k}", ACTION, f"a.kind = '{k}'") for k in EnforcementKind]
    m += [
        Measure("fines_yuan", ACTION, "a.kind = 'fine'", "COALESCE(a.amount_yuan, 0)"),
        Measure("rechecks_done", RECHECK),
        Measure("rechecks_passed", RECHECK, "r.status = 'passed'"),
        Measure("spot_tasks", SPOT_TASK),
        Measure("spot_tasks_done", SPOT_TASK, "t.status = 'done'"),
        Measure("spot_tasks_covert", SPOT_TASK, "c.covert"),
    ]
    return m


MEASURES: dict[str, Measure] = {m.key: m for m in _measures()}


class Kind(StrEnum):
    COUNT = "count"  # a rollup measure
    RATIO = "ratio"  # numerator ÷ denominator (×100 for %, ×1000 for 每千家次)
    LIVE = "live"  # counted from the base tables at read time (distinct counts, today-dependent)


@dataclass(frozen=True)
class Indicator:
    key: str
    name: str
    unit: str
    definition: str  # 指标口径
    kind: Kind
    group: str
    measure: str | None = None  # COUNT
    numerator: str | None = None  # RATIO: indicator keys
    denominator: str | None = None
    scale: int = 100
    dims: frozenset[Dim] = field(
        default=frozenset({Dim.PERIOD, Dim.DISTRICT, Dim.SECTOR, Dim.DEPARTMENT, Dim.INSPECTOR})
    )

    @property
    def better(self) -> str:
        """Which way a change is good news for the bureau: ``up``, ``down`` or ``""`` (neither, e.g. hazards found)."""
        return BETTER.get(self.key, "")


_NO_INSPECTOR = frozenset({Dim.PERIOD, Dim.DISTRICT, Dim.SECTOR, Dim.DEPARTMENT})


def _count(key: str, name: str, unit: str, group: str, definition: str, **kw: object) -> Indicator:
    return Indicator(key, name, unit, definition, Kind.COUNT, group, measure=key, **kw)  # type: ignore[arg-type]


def _ratio(
    key: str, name: str, group: str, num: str, den: str, definition: str, scale: int = 100, unit: str = "", **kw: object
) -> Indicator:
    unit = unit or ("%" if scale == 100 else "项次/千家次")
    return Indicator(key, name, unit, definition, Kind.RATIO, group, numerator=num, denominator=den, scale=scale, **kw)  # type: ignore[arg-type]


def _indicators() -> list[Indicator]:
    out: list[Indicator] = [
        Indicator(
            "enterprises_inspected", "检查企业数", "家",
            "期内至少接受过一次已提交检查的企业数，同一企业多次检查只计一家。", Kind.LIVE, "检查",
            dims=_NO_INSPECTOR,
        ),
        Indicator(
            "registry_enterprises", "在册企业数", "家",
            "企业名录中经营状态不是“关闭”的企业数（按区县、行业筛选），取当前名录，不随期间变化。", Kind.LIVE, "检查",
            dims=frozenset({Dim.PERIOD, Dim.DISTRICT, Dim.SECTOR, Dim.DEPARTMENT}),
        ),
        _ratio(
            "coverage_rate", "检查覆盖率", "检查", "enterprises_inspected_in_registry", "registry_enterprises",
            "期内检查过的在册企业数 ÷ 在册企业数 × 100%。钻取列出全部在册企业并标明是否计入分子。",
            dims=_NO_INSPECTOR,
        ),
        _count("checks", "检查次数", "家次", "检查", "期内已提交或已审核的检查次数，一次检查计一家次；按检查人员统计时，检查组每名成员各计一次（人次）。"),
    ]
    for kind in InspectionKind:
        out.append(
            _count(f"checks_{kind}", f"{label(kind)}次数", "家次", "检查", f"检查次数中检查类型为“{label(kind)}”的部分。")
        )
    out += [
        _count("hazards_found", "发现隐患数", "项次", "隐患", "期内检查发现并登记的隐患条数（一般隐患与重大隐患合计），按发现时间归期。"),
        _count("hazards_general", "发现一般隐患数", "项次", "隐患", "发现隐患数中等级为一般隐患的部分。"),
        _count("hazards_major", "发现重大隐患数", "项次", "隐患", "发现隐患数中等级为重大事故隐患的部分。"),
        _count("hazards_rectified", "已整改销号隐患数", "项次", "隐患", "期内发现的隐患中，截至统计时已复查合格销号的条数。"),
        _ratio(
            "rectification_rate", "隐患整改率", "隐患", "hazards_rectified", "hazards_found",
            "期内发现的隐患中已销号的条数 ÷ 期内发现隐患数 × 100%（动态整改率，截至统计时）。",
        ),
        _count(
            "hazards_rectified_on_time", "按期整改隐患数", "项次", "隐患",
            "期内发现的隐患中，销号日期（北京时间）不晚于整改期限的条数。",
        ),
        _ratio(
            "on_time_rate", "按期整改率", "隐患", "hazards_rectified_on_time", "hazards_found",
            "期内发现的隐患中按期销号的条数 ÷ 期内发现隐患数 × 100%。",
        ),
        Indicator(
            "hazards_overdue", "逾期未整改数", "项", "期内发现的隐患中，截至今天（北京时间）已过整改期限、仍处于“已发现”或“整改中”（企业尚未报告整改完成）的条数；已报整改待复查的不计入。",
            Kind.LIVE, "隐患",
        ),
        _count("major_listed", "重大隐患挂牌督办数", "项", "隐患", "期内发现的重大事故隐患中已挂牌督办的条数。"),
        _count("major_closed", "重大隐患已销号数", "项", "隐患", "期内发现的重大事故隐患中截至统计时已销号的条数。"),
        _count("major_open", "重大隐患未销号数", "项", "隐患", "期内发现的重大事故隐患中截至统计时尚未销号的条数（动态清零的剩余量）。"),
        _ratio(
            "major_clearance_rate", "重大隐患清零率", "隐患", "major_closed", "hazards_major",
            "期内发现的重大事故隐患中已销号的条数 ÷ 期内发现重大隐患数 × 100%（动态清零进度）。",
        ),
        _count("violations", "三违查处人次", "人次", "三违", "期内登记的三违记录数，一人一次计一人次。"),
    ]
    for vt in ViolationType:
        out.append(_count(f"violations_{vt}", f"{label(vt)}人次", "人次", "三违", f"三违查处人次中类型为“{label(vt)}”的部分。"))
    out += [
        Indicator(
            "repeat_offenders", "重复违章人员数", "人",
            "期内（按筛选条件）有两次及以上三违记录的人员数，按身份证号匹配（跨企业）；钻取列出这些人员的全部记录。",
            Kind.LIVE, "三违",
        ),
        _count("actions", "执法措施数", "次", "执法", "期内生效（含已移送）的执法措施次数，按生效时间归期。"),
    ]
    for ek in EnforcementKind:
        out.append(_count(f"actions_{ek}", f"{label(ek)}次数", "次", "执法", f"执法措施中类型为“{label(ek)}”的部分。"))
    out += [
        _count("fines_yuan", "罚款金额", "元", "执法", "期内生效的罚款决定的罚款金额合计（元）。"),
        _count("rechecks_done", "回头看复查次数", "次", "复查", "期内已出结论（合格或不合格）的回头看复查次数。"),
        _count("rechecks_passed", "复查合格次数", "次", "复查", "回头看复查次数中结论为合格的部分。"),
        _ratio(
            "recheck_pass_rate", "复查合格率", "复查", "rechecks_passed", "rechecks_done",
            "复查合格次数 ÷ 回头看复查次数 × 100%。",
        ),
        _count("spot_tasks", "抽查计划任务数", "家次", "抽查", "期内计划检查的抽查任务数（不含已取消；暗访任务自发布起计入），按计划日期归期。", dims=_NO_INSPECTOR),
        _count("spot_tasks_done", "抽查任务完成数", "家次", "抽查", "抽查计划任务中已完成检查的部分。", dims=_NO_INSPECTOR),
        _ratio(
            "spot_completion_rate", "抽查计划完成率", "抽查", "spot_tasks_done", "spot_tasks",
            "抽查任务完成数 ÷ 抽查计划任务数 × 100%。", dims=_NO_INSPECTOR,
        ),
        _count("spot_tasks_covert", "暗访抽查任务数", "家次", "抽查", "抽查计划任务中属于暗访计划的部分（只计已发布的暗访任务）。", dims=_NO_INSPECTOR),
        _count("items_checked", "检查项目数", "项次", "检查", "已提交检查中结果为符合或不符合的检查项条数（不含不适用）。", dims=_NO_INSPECTOR),
        _count("items_failed", "不符合项数", "项次", "检查", "已提交检查中结果为不符合的检查项条数。", dims=_NO_INSPECTOR),
        _ratio(
            "item_fail_rate", "检查项不符合率", "检查", "items_failed", "items_checked",
            "不符合项数 ÷ 检查项目数 × 100%。", dims=_NO_INSPECTOR,
        ),
        _ratio(
            "per_thousand_hazards", "每千家次检查发现隐患", "隐患", "hazards_found", "checks",
            "发现隐患数 ÷ 检查次数 × 1000（项次/千家次）。", scale=1000,
        ),
        _ratio(
            "per_thousand_major", "每千家次检查查处重大事故隐患", "隐患", "hazards_major", "checks",
            "发现重大隐患数 ÷ 检查次数 × 1000（项次/千家次）。", scale=1000,
        ),
        _ratio(
            "per_thousand_violations", "每千家次检查查处三违", "三违", "violations", "checks",
            "三违查处人次 ÷ 检查次数 × 1000（人次/千家次）。", scale=1000, unit="人次/千家次",
        ),
    ]
    return out


INDICATORS: dict[str, Indicator] = {i.key: i for i in _indicators()}

#: Not shown on its own: the coverage numerator (inspected enterprises still in the registry).
HIDDEN_PARTS = {"enterprises_inspected_in_registry"}

#: Which way a 同比 change is good news (the dashboard colours it so); the rest are neither.
BETTER: dict[str, str] = {
    **{key: "up" for key in (
        "enterprises_inspected", "coverage_rate", "checks", "hazards_rectified", "rectification_rate",
        "hazards_rectified_on_time", "on_time_rate", "major_closed", "major_clearance_rate", "rechecks_passed",
        "recheck_pass_rate", "spot_tasks_done", "spot_completion_rate",
    )},
    **{key: "down" for key in ("hazards_overdue", "major_open", "repeat_offenders")},
}

#: The cards the dashboard shows first, in order.
HEADLINE = (
    "enterprises_inspected",
    "coverage_rate",
    "checks",
    "hazards_found",
    "hazards_major",
    "rectification_rate",
    "on_time_rate",
    "hazards_overdue",
    "major_listed",
    "major_clearance_rate",
    "violations",
    "repeat_offenders",
    "actions",
    "fines_yuan",
    "rechecks_done",
    "recheck_pass_rate",
    "spot_completion_rate",
    "checks_covert",
    "per_thousand_hazards",
    "per_thousand_major",
)


def supports(indicator: Indicator, dim: Dim | None) -> bool:
    return dim is None or dim in indicator.dims
