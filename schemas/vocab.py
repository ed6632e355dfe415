"""The domain's closed vocabularies, shared by wire types, tables and exports.

Values are stable English identifiers; ``LABELS`` gives the Chinese a person
reads. A value is never renamed or reused; new ones are appended.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    LEADER = "leader"
    ADMIN = "admin"
    LEGAL_REVIEWER = "legal_reviewer"


class Sector(enum.StrEnum):
    HAZARDOUS_CHEMICALS = "hazardous_chemicals"
    METALLURGY = "metallurgy"
    MINING = "mining"
    NON_COAL_MINING = "non_coal_mining"
    COAL_MINING = "coal_mining"
    INDUSTRY_TRADE = "industry_trade"


class District(enum.StrEnum):
    SHAPOTOU = "shapotou"
    ZHONGNING = "zhongning"
    HAIYUAN = "haiyuan"


class RiskGrade(enum.StrEnum):
    """风险等级, low to major (A … D as in the provincial grade tables)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class StandardizationLevel(enum.StrEnum):
    LEVEL_1 = "level_1"
    LEVEL_2 = "level_2"
    LEVEL_3 = "level_3"
    UNGRADED = "ungraded"


class OperatingStatus(enum.StrEnum):
    OPERATING = "operating"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class InspectionKind(enum.StrEnum):
    ROUTINE = "routine"
    SPOT_CHECK = "spot_check"
    COVERT = "covert"
    RECHECK = "recheck"
    CAMPAIGN = "campaign"
    ENFORCEMENT = "enforcement"


class InspectionStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    CANCELLED = "cancelled"


class ItemOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


class HazardLevel(enum.StrEnum):
    GENERAL = "general"
    MAJOR = "major"


class HazardStatus(enum.StrEnum):
    FOUND = "found"
    RECTIFYING = "rectifying"
    RECTIFICATION_REPORTED = "rectification_reported"
    RECHECKED = "rechecked"
    CLOSED = "closed"


class ViolationType(enum.StrEnum):
    ILLEGAL_COMMAND = "illegal_command"
    ILLEGAL_OPERATION = "illegal_operation"
    LABOR_DISCIPLINE = "labor_discipline"


class EnforcementKind(enum.StrEnum):
    RECTIFY_ORDER = "rectify_order"
    FINE = "fine"
    SUSPENSION = "suspension"
    CLOSURE_REQUEST = "closure_request"
    JUDICIAL_TRANSFER = "judicial_transfer"
    ADMONITION = "admonition"
    PUBLIC_NOTICE = "public_notice"


#: Kinds that are 行政处罚 under the 安全生产法: §113 counts them, 行政处罚法 §42 wants two officers behind them.
PENALTY_KINDS = frozenset({EnforcementKind.FINE, EnforcementKind.SUSPENSION})


class EvidenceKind(enum.StrEnum):
    PHOTO = "photo"
    SIGNATURE = "signature"


LABELS: dict[enum.StrEnum, str] = {
    Role.INSPECTOR: "执法检查人员",
    Role.SUPERVISOR: "科室/支队负责人",
    Role.LEADER: "局领导",
    Role.ADMIN: "系统管理员",
    Role.LEGAL_REVIEWER: "法制审核人员",
    Sector.HAZARDOUS_CHEMICALS: "危险化学品",
    Sector.METALLURGY: "冶金",
    Sector.MINING: "矿山",
    Sector.NON_COAL_MINING: "非煤矿山",
    Sector.COAL_MINING: "煤矿",
    Sector.INDUSTRY_TRADE: "工贸",
    District.SHAPOTOU: "沙坡头区",
    District.ZHONGNING: "中宁县",
    District.HAIYUAN: "海原县",
    RiskGrade.A: "低风险",
    RiskGrade.B: "一般风险",
    RiskGrade.C: "较大风险",
    RiskGrade.D: "重大风险",
    StandardizationLevel.LEVEL_1: "一级",
    StandardizationLevel.LEVEL_2: "二级",
    StandardizationLevel.LEVEL_3: "三级",
    StandardizationLevel.UNGRADED: "未定级",
    OperatingStatus.OPERATING: "正常生产",
    OperatingStatus.SUSPENDED: "停产停业",
    OperatingStatus.CLOSED: "关闭",
    InspectionKind.ROUTINE: "日常巡查",
    InspectionKind.SPOT_CHECK: "随机抽查",
    InspectionKind.COVERT: "暗访检查",
    InspectionKind.RECHECK: "回头看复查",
    InspectionKind.CAMPAIGN: "专项检查",
    InspectionKind.ENFORCEMENT: "执法检查",
    InspectionStatus.PLANNED: "待检查",
    InspectionStatus.IN_PROGRESS: "检查中",
    InspectionStatus.SUBMITTED: "已提交",
    InspectionStatus.REVIEWED: "已审核",
    InspectionStatus.CANCELLED: "已取消",
    ItemOutcome.PASS: "符合",
    ItemOutcome.FAIL: "不符合",
    ItemOutcome.NOT_APPLICABLE: "不适用",
    HazardLevel.GENERAL: "一般隐患",
    HazardLevel.MAJOR: "重大隐患",
    HazardStatus.FOUND: "已发现",
    HazardStatus.RECTIFYING: "整改中",
    HazardStatus.RECTIFICATION_REPORTED: "已报整改",
    HazardStatus.RECHECKED: "已复查",
    HazardStatus.CLOSED: "已销号",
    ViolationType.ILLEGAL_COMMAND: "违章指挥",
    ViolationType.ILLEGAL_OPERATION: "违章作业",
    ViolationType.LABOR_DISCIPLINE: "违反劳动纪律",
    EnforcementKind.RECTIFY_ORDER: "责令限期整改",
    EnforcementKind.FINE: "罚款",
    EnforcementKind.SUSPENSION: "责令停产停业整顿",
    EnforcementKind.CLOSURE_REQUEST: "提请关闭",
    EnforcementKind.JUDICIAL_TRANSFER: "移送司法",
    EnforcementKind.ADMONITION: "约谈",
    EnforcementKind.PUBLIC_NOTICE: "通报",
    EvidenceKind.PHOTO: "现场照片",
    EvidenceKind.SIGNATURE: "企业负责人签名",
}


def label(value: enum.StrEnum) -> str:
    """The Chinese label of a vocabulary value."""
    return LABELS[value]
