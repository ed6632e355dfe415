"""``fieldcheck generate``: a synthetic city at benchmark scale, loaded with COPY.

Years of checks with their item results, hazards, 三违 records, enforcement
actions, rechecks and spot-check plans, drawn from skewed distributions
(high-risk enterprises are checked more often, June's 安全生产月 is busy and
the Spring Festival month quiet, most hazards are closed on time, a few
people break the rules again and again). Deterministic for a given seed.

Rows go in with ``copy_records_to_table`` in chunks while the session runs
with ``session_replication_role = replica``: the data is generated
consistent, so foreign-key and statistics triggers are skipped during the
load and the rollups are rebuilt once at the end.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from schemas.identifiers import CREDIT_CODE_ALPHABET, credit_code_check_char
from schemas.vocab import District, EnforcementKind, InspectionKind, RiskGrade, Role, Sector, ViolationType
from server import database, localtime

#: Departments that inspect (codes shared with ``fieldcheck demo``), with the share of inspectors.
INSPECTING_DEPARTMENTS = {
    "enforcement": ("执法支队", 40),
    "hazchem": ("危险化学品安全监督管理科", 15),
    "basic-safety": ("安全生产基础科", 15),
    "supervision": ("综合监督及救灾保障科", 10),
}
#: Which department checks which sector, with weights.
SECTOR_DEPARTMENTS = {
    Sector.HAZARDOUS_CHEMICALS: (("hazchem", 6), ("enforcement", 4)),
    Sector.MINING: (("basic-safety", 6), ("enforcement", 4)),
    Sector.NON_COAL_MINING: (("basic-safety", 6), ("enforcement", 4)),
    Sector.COAL_MINING: (("basic-safety", 7), ("enforcement", 3)),
    Sector.METALLURGY: (("enforcement", 7), ("supervision", 3)),
    Sector.INDUSTRY_TRADE: (("enforcement", 6), ("supervision", 4)),
}
SECTOR_SHARE = {
    Sector.INDUSTRY_TRADE: 50, Sector.HAZARDOUS_CHEMICALS: 20, Sector.NON_COAL_MINING: 10,
    Sector.METALLURGY: 8, Sector.MINING: 7, Sector.COAL_MINING: 5,
}
DISTRICT_SHARE = {District.SHAPOTOU: 50, District.ZHONGNING: 30, District.HAIYUAN: 20}
RISK_SHARE = {RiskGrade.A: 40, RiskGrade.B: 35, RiskGrade.C: 18, RiskGrade.D: 7}
RISK_CHECK_WEIGHT = {RiskGrade.A: 0.6, RiskGrade.B: 1.0, RiskGrade.C: 2.0, RiskGrade.D: 4.0}
KIND_SHARE = {
    InspectionKind.ROUTINE: 55, InspectionKind.SPOT_CHECK: 12, InspectionKind.COVERT: 5,
    InspectionKind.RECHECK: 10, InspectionKind.CAMPAIGN: 10, InspectionKind.ENFORCEMENT: 8,
}
#: Relative activity by month (Spring Festival in Jan/Feb, 安全生产月 in June, year-end push in Q4).
MONTH_WEIGHT = {1: 0.7, 2: 0.5, 3: 1.0, 4: 1.1, 5: 1.1, 6: 1.5, 7: 1.0, 8: 0.9, 9: 1.1, 10: 0.8, 11: 1.2, 12: 1.2}
ACTION_SHARE = {
    EnforcementKind.RECTIFY_ORDER: 55, EnforcementKind.FINE: 25, EnforcementKind.SUSPENSION: 5,
    EnforcementKind.CLOSURE_REQUEST: 1, EnforcementKind.JUDICIAL_TRANSFER: 1, EnforcementKind.ADMONITION: 8,
    EnforcementKind.PUBLIC_NOTICE: 5,
}
_NAMES_A = "金沙 银河 宏达 天元 瑞丰 恒信 鑫源 华宇 黄河 长城 祥瑞 兴盛 博远 汇丰 嘉泰 中盛 安顺 广源 泰和 宁鑫".split()
_NAMES_B = {
    Sector.HAZARDOUS_CHEMICALS: "化工 精细化工 气体 新材料".split(),
    Sector.METALLURGY: "冶金 铁合金 硅业 碳素".split(),
    Sector.INDUSTRY_TRADE: "机械制造 建材 枸杞食品 造纸 铝型材 粮油加工".split(),
    Sector.NON_COAL_MINING: "石料 砂石 石膏矿业".split(),
    Sector.COAL_MINING: "煤业".split(),
    Sector.MINING: "矿产开发".split(),
}
_DIVISION = {District.SHAPOTOU: "640502", District.ZHONGNING: "640521", District.HAIYUAN: "640522"}
_SURNAMES = "马王李张刘杨田周丁金何冯赵陈吴孙朱高郭罗"
_GIVEN = "建华 海军 玉兰 志勇 国庆 学军 红梅 小平 文龙 秀英 永胜 晓燕 立军 春花".split()


@dataclass(frozen=True)
class Plan:
    enterprises: int = 20_000
    inspections: int = 1_000_000
    items_per_inspection: int = 5
    years: int = 5
    seed: int = 20231
    chunk: int = 50_000
    today: dt.date | None = None


@dataclass
class Report:
    rows: dict[str, int]
    seconds: float

    def summary(self) -> str:
        total = sum(self.rows.values())
        parts = "，".join(f"{k} {v:,}" for k, v in self.rows.items())
        return f"生成完毕：共 {total:,} 行（{parts}），用时 {self.seconds:.1f} 秒，{total / max(self.seconds, 1e-9):,.0f} 行/秒"


class Progress:
    """A one-line progress bar on stderr (stdlib only)."""

    def __init__(self, label: str, total: int, enabled: bool = True) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.done, self.started = 0, time.perf_counter()

    def advance(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        share = self.done / max(self.total, 1)
        rate = self.done / max(time.perf_counter() - self.started, 1e-9)
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {share:6.1%} {self.done:,}/{self.total:,} {rate:,.0f}/s")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _weighted(rng: random.Random, share: dict[Any, float], k: int) -> list[Any]:
    return rng.choices(list(share), weights=list(share.values()), k=k)


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.bits = rng.getrandbits

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=self.bits(128), version=4)


async def _copy(conn: asyncpg.Connection, table: str, columns: list[str], rows: list[tuple], counts: dict[str, int]) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=columns)
        counts[table] = counts.get(table, 0) + len(rows)


async def generate(
    conn: asyncpg.Connection, plan: Plan, *, password_hash: str, progress: bool = True,
    rebuild: Callable[[asyncpg.Connection], Any] | None = None,
) -> Report:
    """Load a synthetic city into the (migrated) database behind ``conn`` (the active one: its time zone)."""
    zone = localtime.zone(database.timezone())
    started = time.perf_counter()
    rng = random.Random(plan.seed)
    new_id = _Ids(rng)
    counts: dict[str, int] = {}
    today = plan.today or dt.datetime.now(zone).date()
    now = dt.datetime.now(dt.UTC)
    await conn.execute("SET session_replication_role = replica")
    await conn.execute("SET statement_timeout = 0")
    deferred = await _drop_secondary_indexes(conn) if await _empty(conn) else []

    try:
        # Departments (get or create) and inspectors.
        departments: dict[str, uuid.UUID] = {}
        for code, (name, _) in INSPECTING_DEPARTMENTS.items():
            found = await conn.fetchval("SELECT id FROM department WHERE code = $1", code)
            if found is None:
                found = new_id()
                await conn.execute("INSERT INTO department (id, code, name, created_at) VALUES ($1, $2, $3, $4)", found, code, name, now)
            departments[code] = found
        tag = f"g{plan.seed}"
        inspectors: dict[str, list[uuid.UUID]] = {}
        user_rows = []
        for code, (_, share) in INSPECTING_DEPARTMENTS.items():
            inspectors[code] = []
            for n in range(share * 2):
                user_id = new_id()
                inspectors[code].append(user_id)
                name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
                user_rows.append((user_id, f"{tag}-{code}-{n + 1:03d}", name, password_hash, str(Role.INSPECTOR),
                                  departments[code], f"640{rng.randrange(10**8):08d}", [], True, 0, now, now))
        user_rows.append((new_id(), f"{tag}-leader", "统计演示局领导", password_hash, str(Role.LEADER), None, None, [], True, 0, now, now))
        await _copy(conn, "app_user", ["id", "username", "display_name", "password_hash", "role", "department", "badge_number",
                                       "districts", "active", "failed_logins", "created_at", "updated_at"], user_rows, counts)

        # Checklists: one template per sector, 20 items each.
        templates: dict[Sector, tuple[uuid.UUID, list[uuid.UUID]]] = {}
        template_rows, item_rows = [], []
        for sector in Sector:
            template_id = new_id()
            items = [new_id() for _ in range(20)]
            templates[sector] = (template_id, items)
            template_rows.append((template_id, f"{tag}-{sector}", 1, str(sector), f"{sector}检查表（合成）", True, now))
            for position, item_id in enumerate(items):
                item_rows.append((item_id, template_id, position, f"{position + 1}", f"检查项{position + 1}", position < 2))
        await _copy(conn, "checklist_template", ["id", "code", "version", "sector", "title", "is_current", "created_at"], template_rows, counts)
        await _copy(conn, "checklist_item", ["id", "template", "position", "code", "text", "is_major_criterion"], item_rows, counts)

        # Enterprises.
        bar = Progress("企业名录", plan.enterprises, progress)
        enterprises: list[tuple[uuid.UUID, Sector, District, RiskGrade]] = []
        rows = []
        codes: set[str] = set()
        for n in range(plan.enterprises):
            sector = _weighted(rng, SECTOR_SHARE, 1)[0]
            district = _weighted(rng, DISTRICT_SHARE, 1)[0]
            risk = _weighted(rng, RISK_SHARE, 1)[0]
            code = ""
            while not code or code in codes:
                body = "91" + _DIVISION[district] + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
                code = body + credit_code_check_char(body)
            codes.add(code)
            status = rng.choices(["operating", "suspended", "closed"], weights=[92, 5, 3])[0]
            enterprise_id = new_id()
            enterprises.append((enterprise_id, sector, district, risk))
            name = f"{rng.choice(_NAMES_A)}{rng.choice(_NAMES_B[sector])}{n + 1:05d}有限公司"
            rows.append((enterprise_id, code, name, str(sector), str(district), str(risk), "level_3", risk is RiskGrade.D,
                         status, 1, now, now))
        await _copy(conn, "enterprise", ["id", "credit_code", "name", "sector", "district", "risk_grade", "standardization_level",
                                         "major_hazard_source", "operating_status", "version", "created_at", "updated_at"], rows, counts)
        bar.advance(plan.enterprises)

        # Days of the period, weighted by month; enterprises weighted by risk.
        first = dt.date(today.year - plan.years + 1, 1, 1)
        days = [first + dt.timedelta(d) for d in range((today - first).days)]
        day_weights = [MONTH_WEIGHT[d.month] * (0.35 if d.weekday() >= 5 else 1.0) for d in days]
        day_cum = list(_accumulate(day_weights))
        ent_cum = list(_accumulate([RISK_CHECK_WEIGHT[e[3]] for e in enterprises]))
        people = [(f"{rng.getrandbits(64):016x}", rng.choice(_SURNAMES) + rng.choice(_GIVEN)) for _ in range(max(100, plan.inspections // 30))]
        people_cum = list(_accumulate([1 / (i + 1) ** 0.6 for i in range(len(people))]))  # a few people reoffend often

        bar = Progress("检查及其记录", plan.inspections, progress)
        for start in range(0, plan.inspections, plan.chunk):
            n = min(plan.chunk, plan.inspections - start)
            await _chunk(conn, rng, new_id, n, plan, enterprises, ent_cum, days, day_cum, departments, inspectors,
                         templates, people, people_cum, today, counts, zone)
            bar.advance(n)

        await _spot_checks(conn, rng, new_id, enterprises, departments, first, today, counts, zone)
    finally:
        # Rebuilt even when the load fails half-way, so the database is never left without its indexes.
        bar = Progress("重建索引", max(len(deferred), 1), progress and bool(deferred))
        for definition in deferred:
            await conn.execute(definition)
            bar.advance(1)
    await conn.execute("SET session_replication_role = DEFAULT")
    # Fresh planner statistics: without them the first dashboard read and phone pulls
    # over a just-loaded city plan as if every table were empty.
    await conn.execute("ANALYZE")
    if rebuild is not None:
        t0 = time.perf_counter()
        await rebuild(conn)
        if progress:
            sys.stderr.write(f"统计汇总重建完成，用时 {time.perf_counter() - t0:.1f} 秒\n")
    return Report(counts, time.perf_counter() - started)


#: The big tables whose secondary indexes are built once after a fresh load instead of row by row.
BULK_TABLES = ("inspection", "inspection_inspector", "item_result", "hazard", "recheck", "violation_record", "enforcement_action")


async def _empty(conn: asyncpg.Connection) -> bool:
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM inspection) OR EXISTS (SELECT 1 FROM item_result)")


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """Drop the non-primary-key indexes of the empty bulk tables; return their definitions to recreate."""
    rows = await conn.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
        "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[]) "
        "AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)",
        list(BULK_TABLES),
    )
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


def _accumulate(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _at(day: dt.date, rng: random.Random, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8 + rng.randrange(10), rng.randrange(60)), zone)


async def _chunk(
    conn: asyncpg.Connection, rng: random.Random, new_id: _Ids, n: int, plan: Plan,
    enterprises: list[tuple[uuid.UUID, Sector, District, RiskGrade]], ent_cum: list[float],
    days: list[dt.date], day_cum: list[float], departments: dict[str, uuid.UUID],
    inspectors: dict[str, list[uuid.UUID]], templates: dict[Sector, tuple[uuid.UUID, list[uuid.UUID]]],
    people: list[tuple[str, str]], people_cum: list[float], today: dt.date, counts: dict[str, int], zone: ZoneInfo,
) -> None:
    picks = rng.choices(enterprises, cum_weights=ent_cum, k=n)
    when = rng.choices(days, cum_weights=day_cum, k=n)
    kinds = _weighted(rng, KIND_SHARE, n)
    inspections, team_rows, item_rows, hazards, violations, actions, rechecks = [], [], [], [], [], [], []
    for (enterprise_id, sector, _, _), day, kind in zip(picks, when, kinds, strict=True):
        inspection_id = new_id()
        department_code = rng.choices(*zip(*SECTOR_DEPARTMENTS[sector], strict=True))[0]
        team = rng.sample(inspectors[department_code], 2)
        submitted = _at(day, rng, zone)
        status = rng.choices(["reviewed", "submitted", "in_progress", "cancelled"], weights=[70, 27, 2, 1])[0]
        template_id, items = templates[sector]
        inspections.append((inspection_id, str(kind), status, enterprise_id, template_id, departments[department_code],
                            day, submitted - dt.timedelta(hours=2), submitted if status in ("reviewed", "submitted") else None,
                            team[0], submitted, submitted))
        team_rows += [(new_id(), inspection_id, team[0], True, submitted), (new_id(), inspection_id, team[1], False, submitted)]
        chosen = rng.sample(items, plan.items_per_inspection)
        for item_id in chosen:
            outcome = rng.choices(["pass", "fail", "not_applicable"], weights=[85, 8, 7])[0]
            item_rows.append((new_id(), inspection_id, item_id, outcome, "{}", 1, team[0], submitted))
            if outcome == "fail" and rng.random() < 0.9:
                hazards.append(_hazard(rng, new_id, inspection_id, enterprise_id, item_id, submitted, team, today, rechecks))
        if rng.random() < 0.05:
            person_hash, person_name = rng.choices(people, cum_weights=people_cum)[0]
            violation_type = rng.choices(list(ViolationType), weights=[20, 60, 20])[0]
            violations.append((new_id(), inspection_id, enterprise_id, person_name, person_hash, "640502********123X",
                               "sealed", str(violation_type), "违章情形（合成）", team[0], submitted, submitted, submitted))
        if rng.random() < 0.06:
            action_kind = _weighted(rng, ACTION_SHARE, 1)[0]
            amount = rng.choice([5000, 10000, 20000, 30000, 50000, 100000, 200000]) if action_kind == EnforcementKind.FINE else None
            decided = submitted + dt.timedelta(days=rng.randrange(1, 15))
            action_status = rng.choices(["in_effect", "proposed", "rejected"], weights=[88, 7, 5])[0]
            if action_kind == EnforcementKind.JUDICIAL_TRANSFER and action_status == "in_effect":
                action_status = "transferred"
            effective = decided if action_status in ("in_effect", "transferred") and decided.date() < today else None
            actions.append((new_id(), str(action_kind), action_status if effective else "proposed", "inspector",
                            enterprise_id, inspection_id, amount, team[0], submitted, decided if effective else None,
                            effective, submitted))
    await _copy(conn, "inspection", ["id", "kind", "status", "enterprise", "template", "department", "planned_date",
                                     "started_at", "submitted_at", "created_by", "created_at", "updated_at"], inspections, counts)
    await _copy(conn, "inspection_inspector", ["id", "inspection", "user", "is_lead", "assigned_at"], team_rows, counts)
    await _copy(conn, "item_result", ["id", "inspection", "item", "outcome", "field_versions", "version", "updated_by",
                                      "updated_at"], item_rows, counts)
    await _copy(conn, "hazard", ["id", "inspection", "enterprise", "item", "level", "status", "description", "deadline_date",
                                 "found_at", "found_by", "listed_supervision", "listed_at", "rectification_evidence_ids",
                                 "closed_at", "closed_by", "created_at", "updated_at"], hazards, counts)
    await _copy(conn, "violation_record", ["id", "inspection", "enterprise", "person_name", "id_number_hash",
                                           "id_number_masked", "id_number_protected", "violation_type", "description",
                                           "recorded_by", "recorded_at", "created_at", "updated_at"], violations, counts)
    await _copy(conn, "enforcement_action", ["id", "kind", "status", "origin", "enterprise", "inspection", "amount_yuan",
                                             "proposed_by", "proposed_at", "decided_at", "effective_at", "updated_at"],
                actions, counts)
    await _copy(conn, "recheck", ["id", "hazard", "enterprise", "reason", "status", "due_date", "passed", "evidence_ids",
                                  "result_by", "result_at", "created_at"], rechecks, counts)


def _hazard(
    rng: random.Random, new_id: _Ids, inspection_id: uuid.UUID, enterprise_id: uuid.UUID, item_id: uuid.UUID,
    found: dt.datetime, team: list[uuid.UUID], today: dt.date, rechecks: list[tuple],
) -> tuple:
    hazard_id = new_id()
    major = rng.random() < 0.04
    deadline = found.date() + dt.timedelta(days=rng.choice([7, 15, 30, 60] if major else [3, 7, 15, 30]))
    # Rectification takes a log-normal number of days; most finish before the deadline.
    took = max(1, int(math.exp(rng.gauss(math.log((deadline - found.date()).days * 0.6), 0.5))))
    closed = found + dt.timedelta(days=took)
    is_closed = closed.date() < today and rng.random() < 0.97
    status = "closed" if is_closed else rng.choice(["found", "rectifying", "rectification_reported"])
    if is_closed:
        if rng.random() < 0.1:  # a failed recheck first
            rechecks.append((new_id(), hazard_id, enterprise_id, "rectification_reported", "failed",
                             closed.date(), False, [], team[0], closed - dt.timedelta(days=3), closed - dt.timedelta(days=5)))
        rechecks.append((new_id(), hazard_id, enterprise_id, "rectification_reported", "passed",
                         closed.date(), True, [], team[0], closed, closed - dt.timedelta(days=2)))
    return (hazard_id, inspection_id, enterprise_id, item_id, "major" if major else "general", status,
            "检查发现的隐患（合成）", deadline, found, team[0], major and rng.random() < 0.85, found if major else None, [],
            closed if is_closed else None, team[0] if is_closed else None, found, closed if is_closed else found)


async def _spot_checks(
    conn: asyncpg.Connection, rng: random.Random, new_id: _Ids,
    enterprises: list[tuple[uuid.UUID, Sector, District, RiskGrade]], departments: dict[str, uuid.UUID],
    first: dt.date, today: dt.date, counts: dict[str, int], zone: ZoneInfo,
) -> None:
    """Quarterly 双随机 plans per inspecting department, one in four of them covert."""
    campaigns, draws, tasks = [], [], []
    now = dt.datetime.now(dt.UTC)
    quarter = dt.date(first.year, 1, 1)
    while quarter <= today:
        for code in INSPECTING_DEPARTMENTS:
            campaign_id, draw_id = new_id(), new_id()
            covert = rng.random() < 0.25
            campaigns.append((campaign_id, f"{quarter.year}年第{(quarter.month - 1) // 3 + 1}季度{'暗访' if covert else '双随机'}抽查",
                              covert, quarter, quarter + dt.timedelta(days=89), departments[code], "drawn", now))
            draws.append((draw_id, campaign_id, 1, "fc-draw-v1", "00", "00", "[]", "00", "[]", "00", now))
            for enterprise in rng.sample(enterprises, min(40, len(enterprises))):
                planned = quarter + dt.timedelta(days=rng.randrange(85))
                status = ("done" if rng.random() < 0.9 else "released") if planned < today else "drawn"
                if rng.random() < 0.03:
                    status = "cancelled"
                release_at = dt.datetime.combine(planned, dt.time(), zone)
                # As the release job leaves them: a task past "drawn" was released at its release time.
                released_at = None if status in ("drawn", "cancelled") else release_at
                tasks.append((new_id(), campaign_id, draw_id, enterprise[0], str(enterprise[2]), "[]", planned,
                              release_at, released_at, status))
        quarter = dt.date(quarter.year + (quarter.month + 2) // 12, (quarter.month + 2) % 12 + 1, 1)
    await _copy(conn, "spot_check_campaign", ["id", "name", "covert", "period_start", "period_end", "department", "status",
                                              "created_at"], campaigns, counts)
    await _copy(conn, "spot_check_draw", ["id", "campaign", "attempt", "algorithm_version", "seed_hex", "seed_hash",
                                          "pool_snapshot", "pool_hash", "result", "result_hash", "drawn_at"], draws, counts)
    await _copy(conn, "spot_check_task", ["id", "campaign", "draw", "enterprise", "district", "team", "planned_date",
                                          "release_at", "released_at", "status"], tasks, counts)
