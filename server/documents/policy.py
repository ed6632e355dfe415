"""The rules of enforcement documents, pure: which types exist, who issues and voids them, what each
one needs before it may be issued, and how it is numbered.

Every path that issues a document calls :func:`refusal` (through ``service.issue``); a refusal names
what is missing. The prerequisite graph follows the 总局 catalogue (domain notes §2.4)::

    现场检查记录 (check signed and submitted)
      ├── 责令限期整改指令书 (an open hazard with a deadline)
      │     └── 整改复查意见书 (the recheck's result recorded) ── or after a 现场处理措施决定书
      ├── 现场处理措施决定书 (a 停产停业 measure in effect)
      ├── 行政处罚告知书 (a fine in effect: decided, and 法制审核 passed where required)
      │     └── 行政处罚决定书（单位 / 个人）(the notice to the same party, and its 陈述申辩 period
      │           passed, or the party's waiver or hearing recorded: :func:`decision_possible_from`)
      └── 案件移送书 (a 移送 decided, the receiving agency named)

Every document names two officers with their 执法证 numbers (行政处罚法 art. 42), so a team with
fewer is refused whatever the type. One live document per type and source: a second one is a
correction and must say which it supersedes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from schemas.documents import DocumentStatus, DocumentType
from schemas.documents import sign_refusal as signing_refusal
from schemas.enforcement import ActionStatus
from schemas.problems import ErrorCode, Refusal
from schemas.vocab import EnforcementKind, InspectionStatus, Role


@dataclass(frozen=True)
class Spec:
    title: str
    #: The series of the number (应急<series>〔year〕n号); both penalty decisions share 罚.
    series: str
    #: Handed over on site by the inspectors of the check themselves; the others are a supervisor's (the
    #: recheck opinion too: the rechecking inspectors are usually not on the check's team, whose records it cites).
    on_site: bool
    #: The party's remedies the document must state: 陈述申辩 (before a decision), 复议/诉讼 (after one).
    rights: str = ""
    #: Signed by the two officers themselves (the records of their own work on site); the others bear the seal.
    officer_signatures: bool = False


SPECS: dict[DocumentType, Spec] = {
    DocumentType.INSPECTION_RECORD: Spec("现场检查记录", "检记", on_site=True, officer_signatures=True),
    DocumentType.RECTIFICATION_ORDER: Spec("责令限期整改指令书", "责改", on_site=True, rights="review", officer_signatures=True),
    DocumentType.RECHECK_OPINION: Spec("整改复查意见书", "复查", on_site=False, officer_signatures=True),
    DocumentType.ON_SITE_MEASURES: Spec("现场处理措施决定书", "现决", on_site=True, rights="review", officer_signatures=True),
    DocumentType.PENALTY_NOTICE: Spec("行政处罚告知书", "罚告", on_site=False, rights="statement"),
    DocumentType.PENALTY_DECISION_UNIT: Spec("行政处罚决定书（单位）", "罚", on_site=False, rights="review"),
    DocumentType.PENALTY_DECISION_PERSON: Spec("行政处罚决定书（个人）", "罚", on_site=False, rights="review"),
    DocumentType.CASE_TRANSFER: Spec("案件移送书", "移", on_site=False),
}

PENALTY_DECISIONS = (DocumentType.PENALTY_DECISION_UNIT, DocumentType.PENALTY_DECISION_PERSON)
#: 行政处罚法 art. 67: a fine is paid within 15 days of the decision being served.
PAYMENT_DAYS = 15
#: 行政复议法 art. 20 / 行政诉讼法 art. 46.
REVIEW_DAYS, LITIGATION_MONTHS = 60, 6
#: The statement period this bureau's 告知书 gives (days after service).
STATEMENT_DAYS = 3
#: 行政处罚法 art. 64(1): a hearing is asked for within 5 days of the notice.
HEARING_DAYS = 5
#: Fines from which the party may ask for a hearing (听证); local amounts (宁夏 standards), kept here as one place.
HEARING_FROM_YUAN = {"unit": 50_000, "person": 10_000}


# --- the 陈述申辩 period ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Which days are working days: Monday to Friday, less the public holidays, plus the weekend days
    worked in their place (调休); the two lists are the bureau's settings, from the State Council's notice."""

    holidays: frozenset[dt.date] = frozenset()
    working_weekend_days: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_weekend_days:
            return True
        return day.weekday() < 5 and day not in self.holidays


def add_working_days(start: dt.date, days: int, calendar: Calendar) -> dt.date:
    """The ``days``-th working day after ``start`` (the day of service itself is not counted)."""
    day, counted = start, 0
    while counted < days:
        day += dt.timedelta(days=1)
        counted += calendar.is_working_day(day)
    return day


def hearing_right(amount_yuan: int, *, person: bool) -> bool:
    return amount_yuan >= HEARING_FROM_YUAN["person" if person else "unit"]


def decision_possible_from(served_on: dt.date, *, hearing: bool, calendar: Calendar) -> dt.date:
    """The first day a decision may be made without a waiver: the day after the period the notice gave.

    行政处罚法 art. 85: its 三日 and 五日 are working days. The notice gives STATEMENT_DAYS for 陈述申辩,
    and HEARING_DAYS to ask for a hearing where the fine allows one (art. 63-64); the longer one runs.
    """
    days = max(STATEMENT_DAYS, HEARING_DAYS) if hearing else STATEMENT_DAYS
    return add_working_days(served_on, days, calendar) + dt.timedelta(days=1)


@dataclass(frozen=True)
class StatementPeriod:
    """The live notice to the decision's party, as the decision rule needs it."""

    #: The bureau-local day the notice was issued (served on the spot or the same day).
    served_on: dt.date
    #: The bureau-local day of the decision being asked for.
    today: dt.date
    hearing: bool
    #: The party's waiver or hearing is recorded on the notice.
    closed: bool
    calendar: Calendar = Calendar()


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def statement_refusal(period: StatementPeriod) -> Refusal | None:
    """A decision before the period is out and with no waiver or hearing recorded: refused, naming the day."""
    if period.closed:
        return None
    possible = decision_possible_from(period.served_on, hearing=period.hearing, calendar=period.calendar)
    if period.today >= possible:
        return None
    what = "陈述申辩及听证" if period.hearing else "陈述申辩"
    return Refusal(
        field="action_id",
        message=(f"尚不能签发：缺少当事人{what}期限届满（告知书{_date(period.served_on)}签发，"
                 f"{_date(possible)}起方可作出决定）；当事人明确放弃或已听取其陈述申辩的，请先在告知书上登记"),
        message_en=f"cannot issue yet: missing the end of the statement period (a decision is possible from {possible.isoformat()}), "
                   "or a recorded waiver or hearing",
        code=ErrorCode.PREREQUISITE_MISSING,
    )


def may_record_statement(role: Role, *, on_team: bool, manages_department: bool) -> bool:
    """The case's officers or a supervisor of its department record the party's waiver or hearing."""
    return (role == Role.SUPERVISOR and manages_department) or (role == Role.INSPECTOR and on_team)


def number(abbreviation: str, series: str, year: int, seq: int) -> str:
    """The customary form: （中卫）应急罚〔2026〕15号."""
    return f"（{abbreviation}）应急{series}〔{year}〕{seq}号"


def local_year(moment: dt.datetime, timezone: dt.tzinfo) -> int:
    return moment.astimezone(timezone).year


# --- who ---------------------------------------------------------------------------------


def may_issue(doc_type: DocumentType, role: Role, *, on_team: bool, manages_department: bool) -> bool:
    """Inspectors of the team issue the on-site documents; a supervisor of the department issues any."""
    if role == Role.SUPERVISOR and manages_department:
        return True
    return role == Role.INSPECTOR and on_team and SPECS[doc_type].on_site


def may_void(role: Role, *, manages_department: bool) -> bool:
    """Voiding (and so correcting by supersession) is a supervisor's, of the document's department."""
    return role == Role.SUPERVISOR and manages_department


# --- what first ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Officer:
    name: str
    badge_number: str


@dataclass(frozen=True)
class Facts:
    """What the rules look at, gathered by the service from the other domains."""

    officers: tuple[Officer, ...]
    inspection_status: InspectionStatus
    #: The source of the document to issue: ``inspection:<id>``, ``recheck:<id>``, ``action:<id>/party:unit``
    #: or ``action:<id>/party:<三违 record id>`` (a notice and its decision share the key).
    source_key: str
    #: (type, source key) of every live (issued, not voided or superseded) document of the case.
    live: frozenset[tuple[DocumentType, str]] = frozenset()
    open_hazards_with_deadline: int = 0
    recheck_recorded: bool = False
    action_kind: EnforcementKind | None = None
    action_status: ActionStatus | None = None
    #: A penalty names a person (a 三违 record) as its party, and that record belongs to this case.
    party_person: bool = False
    person_in_case: bool = False
    receiving_agency: str = ""
    #: The document a correction replaces: (type, source key, status); None when not a correction.
    supersedes: tuple[DocumentType, str, DocumentStatus] | None = None
    #: For a penalty decision: the live notice to the same party and its 陈述申辩 period.
    statement: StatementPeriod | None = None

    def live_types(self) -> set[DocumentType]:
        return {t for t, _ in self.live}


def _missing(what: str, what_en: str, field_name: str) -> Refusal:
    return Refusal(
        field=field_name,
        message=f"尚不能签发：缺少{what}",
        message_en=f"cannot issue yet: missing {what_en}",
        code=ErrorCode.PREREQUISITE_MISSING,
    )


_IN_EFFECT = (ActionStatus.IN_EFFECT,)


def _action_refusal(facts: Facts, kind: EnforcementKind, label: str, states: tuple[ActionStatus, ...] = _IN_EFFECT) -> Refusal | None:
    if facts.action_kind != kind:
        return Refusal(field="action_id", message=f"该执法措施不是{label}", message_en=f"the action is not a {kind}")
    if facts.action_status not in states:
        return _missing(f"已生效的{label}决定（经负责人决定，须法制审核的已审核通过）", f"a {kind} decided and in effect", "action_id")
    return None


def refusal(doc_type: DocumentType, facts: Facts) -> Refusal | None:
    """Why this document may not be issued now (naming what is missing), or None."""
    certified = [o for o in facts.officers if o.badge_number.strip()]
    if len(certified) < 2:
        return _missing("两名持执法证的执法人员（检查组现有 %d 名）" % len(certified),
                        "two officers holding an enforcement certificate", "inspector_ids")
    if facts.supersedes is not None:
        old_type, old_source, old_status = facts.supersedes
        if old_type != doc_type or old_source != facts.source_key:
            return Refusal(field="supersedes_id", message="更正文书须与被更正文书的种类和事项相同",
                           message_en="a correction has the type and source of the document it replaces")
        if old_status != DocumentStatus.ISSUED:
            return Refusal(field="supersedes_id", message="被更正的文书已作废或已被更正",
                           message_en="the document to correct is no longer in force", code=ErrorCode.STATE_CONFLICT)
    elif (doc_type, facts.source_key) in facts.live:
        return Refusal(field="type", message=f"该事项的{SPECS[doc_type].title}已签发；更正须注明所更正的文书",
                       message_en="already issued for this record; a correction names the document it supersedes",
                       code=ErrorCode.DUPLICATE)
    if facts.inspection_status not in (InspectionStatus.SUBMITTED, InspectionStatus.REVIEWED):
        return _missing("经签字提交的检查记录", "a signed and submitted inspection", "inspection_id")
    if doc_type == DocumentType.INSPECTION_RECORD:
        return None
    live = facts.live_types()
    if doc_type == DocumentType.RECHECK_OPINION:
        if not live & {DocumentType.RECTIFICATION_ORDER, DocumentType.ON_SITE_MEASURES}:
            return _missing("已签发的责令限期整改指令书或现场处理措施决定书",
                            "an issued rectification order or on-site measures decision", "recheck_id")
        if not facts.recheck_recorded:
            return _missing("复查结果（复查人员尚未登记复查结论）", "the recheck's recorded result", "recheck_id")
        return None
    if DocumentType.INSPECTION_RECORD not in live:
        return _missing("已签发的现场检查记录", "an issued on-site inspection record", "inspection_id")
    if doc_type == DocumentType.RECTIFICATION_ORDER:
        if facts.open_hazards_with_deadline == 0:
            return _missing("未整改销号且有整改期限的隐患", "an open hazard with a deadline", "inspection_id")
        return None
    if doc_type == DocumentType.ON_SITE_MEASURES:
        return _action_refusal(facts, EnforcementKind.SUSPENSION, "停产停业整顿")
    if doc_type == DocumentType.CASE_TRANSFER:
        refused = _action_refusal(facts, EnforcementKind.JUDICIAL_TRANSFER, "移送司法",
                                  (ActionStatus.IN_EFFECT, ActionStatus.TRANSFERRED))
        if refused is None and not facts.receiving_agency.strip():
            return _missing("接收移送的机关", "the receiving agency", "receiving_agency")
        return refused
    # penalty notice and decisions
    refused = _action_refusal(facts, EnforcementKind.FINE, "罚款")
    if refused is not None:
        return refused
    if doc_type == DocumentType.PENALTY_DECISION_PERSON and not facts.party_person:
        return _missing("被处罚人（本案的三违记录）", "the person's 三违 record", "violation_id")
    if doc_type == DocumentType.PENALTY_DECISION_UNIT and facts.party_person:
        return Refusal(field="violation_id", message="单位的行政处罚决定书不指定个人",
                       message_en="a decision on the unit names no person")
    if facts.party_person and not facts.person_in_case:
        return Refusal(field="violation_id", message="该三违记录不属于本案", message_en="the 三违 record is not of this case",
                       code=ErrorCode.UNKNOWN_REFERENCE)
    if doc_type in PENALTY_DECISIONS:
        if (DocumentType.PENALTY_NOTICE, facts.source_key) not in facts.live or facts.statement is None:
            return _missing("已向同一当事人签发的行政处罚告知书", "an issued penalty notice to the same party", "action_id")
        return statement_refusal(facts.statement)
    return None



def sign_refusal(
    doc_type: DocumentType,
    status: DocumentStatus,
    *,
    same_inspection: bool,
    hash_matches: bool,
    signed_already: bool,
    successor_number: str = "",
) -> Refusal | None:
    """Why the party may not sign this document on the phone now, or None (the rule is
    :func:`schemas.documents.sign_refusal`, which the phone library calls too)."""
    spec = SPECS[doc_type]
    return signing_refusal(status, title=spec.title, on_site=spec.on_site, same_inspection=same_inspection,
                           hash_matches=hash_matches, signed_already=signed_already, successor_number=successor_number)
