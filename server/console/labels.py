"""Chinese words for the states the office pages show that the shared vocabulary does not name."""

from __future__ import annotations

from schemas.documents import DocumentStatus, StatementOutcome
from schemas.enforcement import ActionOrigin, ActionStatus
from schemas.hazards import RecheckReason, RecheckStatus
from server.hazards.policy import STEP_LABELS

ACTION_STATUS = {
    ActionStatus.PROPOSED: "待决定",
    ActionStatus.AWAITING_REVIEW: "待法制审核",
    ActionStatus.IN_EFFECT: "已生效",
    ActionStatus.REJECTED: "不予决定/审核未通过",
    ActionStatus.TRANSFERRED: "已移送",
}
ACTION_ORIGIN = {
    ActionOrigin.INSPECTOR: "检查人员提出",
    ActionOrigin.SUPERVISOR: "负责人提出",
    ActionOrigin.ESCALATION: "隐患逾期升级",
    ActionOrigin.SECTION_113: "第一百一十三条计数",
}
RECHECK_STATUS = {
    RecheckStatus.PENDING: "待复查",
    RecheckStatus.PASSED: "复查合格",
    RecheckStatus.FAILED: "复查不合格",
    RecheckStatus.CANCELLED: "已取消",
}
RECHECK_REASON = {
    RecheckReason.RECTIFICATION_REPORTED: "企业报告整改完成",
    RecheckReason.DEADLINE_PASSED: "整改期限届满",
    RecheckReason.LOOKBACK: "回头看专项",
    RecheckReason.ORDERED: "负责人安排复查",
}
TASK_STATUS = {"drawn": "已抽取（未发布）", "released": "已发布", "done": "已完成", "cancelled": "已取消"}
CAMPAIGN_STATUS = {"planned": "待抽取", "committed": "已承诺（待揭晓）", "drawn": "已抽取"}
VERIFY_CHECKS = {
    "seed_hash": "种子与承诺的种子哈希一致",
    "pool_snapshot": "名录快照可读取",
    "pool_hash": "名录快照与承诺的名录哈希一致",
    "algorithm_version": "算法版本可复核",
    "commitment_recorded": "审计链中有抽取承诺",
    "commitment_matches": "抽取记录与承诺一致",
    "result_recorded": "审计链中有抽取结果",
    "committed_before_revealed": "先承诺、后揭晓",
    "result_hash": "抽取结果与结果哈希一致",
    "rerun": "按公开算法重新运行抽取",
}
AUDIT_ACTIONS = {
    "inspection.create": "分派检查",
    "inspection.assign": "指派检查组",
    "inspection.start": "开始检查",
    "inspection.open_patrol": "发起巡查",
    "inspection.item_results": "填写检查项结果",
    "inspection.item_conflict": "检查项结果冲突",
    "inspection.resolve_conflict": "裁定冲突",
    "inspection.note": "备注",
    "inspection.amend": "签字后补充",
    "inspection.submit": "签字提交",
    "inspection.review_approve": "审核通过",
    "inspection.review_return": "退回修改",
    "hazard.open": "登记隐患",
    "hazard.start_rectification": "开始整改",
    "hazard.report_rectification": "报告整改完成",
    "hazard.recheck": "复查",
    "hazard.reopen": "复查不合格，重新整改",
    "hazard.close": "销号",
    "hazard.escalate": "逾期升级",
    "recheck.create": "生成复查任务",
    "recheck.result": "填报复查结果",
    "recheck.cancel": "取消复查任务",
    "enforcement.propose": "提出执法措施",
    "enforcement.decide": "作出决定",
    "enforcement.legal_review": "法制审核",
    "enforcement.refusal": "登记拒不执行",
    "enforcement.transfer": "登记移送",
    **{f"step.{k}": v for k, v in STEP_LABELS.items()},
}


def of(table: dict, value: object) -> str:
    """The label of ``value`` in ``table``, or the value itself when the table does not name it."""
    return table.get(value, str(value) if value is not None else "")

DOCUMENT_STATUS = {
    DocumentStatus.ISSUED: "有效",
    DocumentStatus.VOIDED: "已作废",
    DocumentStatus.SUPERSEDED: "已被更正",
}
STATEMENT_OUTCOME = {
    StatementOutcome.WAIVED: "当事人明确放弃陈述申辩",
    StatementOutcome.HEARD: "已听取陈述申辩（听证）",
}
